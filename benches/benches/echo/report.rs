//! The Markdown of the throughput run: the conditions, a table of every cell and server, and
//! the paired ratios between servers.

use std::fmt::Write as _;

use minireactor_benches::report::machine;

use crate::throughput::{median, Results};
use crate::{Options, SERVER_CPU};

/// The Markdown of the throughput run.
pub fn throughput(options: &Options, results: &Results) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "Measured on {}.", machine());
    let _ = writeln!(
        md,
        "Command: `{}` ({} repetitions; {:.2} s warm-up and {:.2} s measured per run).",
        options.command,
        options.reps,
        options.warmup.as_secs_f64(),
        options.measure.as_secs_f64()
    );
    let background = results
        .runs
        .iter()
        .flatten()
        .flatten()
        .map(|run| run.background)
        .fold(0.0, f64::max);
    let _ = writeln!(
        md,
        "Server on CPU {SERVER_CPU}, client on CPU {}. 1-minute load average at the start: {}; \
         other processes used at most {:.0}% of a CPU during a measured window.",
        options.client_cpu,
        results.load_before,
        background * 100.0
    );
    let _ = writeln!(
        md,
        "Medians over the repetitions; [min–max] for round trips/s. Server CPU time comes in \
         ticks of {:.0} ms.\n",
        1000.0 / results.ticks_per_sec as f64
    );
    md.push_str("| cell | server | round trips/s [min–max] | server CPU µs/round trip | p50 µs | p99 µs | peak RSS KiB |\n");
    md.push_str("|---|---|---:|---:|---:|---:|---:|\n");
    for (c, cell) in results.cells.iter().enumerate() {
        for (s, kind) in results.servers.iter().enumerate() {
            let runs = &results.runs[c][s];
            let rates: Vec<f64> = runs.iter().map(|r| r.round_trips_per_sec).collect();
            let low = rates.iter().copied().fold(f64::INFINITY, f64::min);
            let high = rates.iter().copied().fold(0.0, f64::max);
            let of = |f: fn(&crate::throughput::Run) -> f64| median(runs.iter().map(f).collect());
            let _ = writeln!(
                md,
                "| {} | {} | {:.0} [{low:.0}–{high:.0}] | {:.2} | {:.1} | {:.1} | {:.0} |",
                cell.label(),
                kind.name,
                median(rates.clone()),
                of(|r| r.cpu_us_per_round_trip),
                of(|r| r.p50_us),
                of(|r| r.p99_us),
                of(|r| r.peak_rss_kib as f64),
            );
        }
    }

    let names: Vec<&str> = results.servers.iter().map(|k| k.name).collect();
    let pairs: Vec<(usize, usize)> = [
        ("minireactor", "tokio"),
        ("minireactor", "raw"),
        ("tokio", "raw"),
    ]
    .into_iter()
    .filter_map(|(a, b)| {
        Some((
            names.iter().position(|n| *n == a)?,
            names.iter().position(|n| *n == b)?,
        ))
    })
    .collect();
    if pairs.is_empty() {
        return md;
    }
    md.push_str(
        "\nRatios, paired per repetition, then the median (round trips/s: above 1 is faster; \
         CPU/round trip: below 1 is cheaper):\n\n| cell |",
    );
    for &(a, b) in &pairs {
        let _ = write!(md, " {0}/{1} rt/s | {0}/{1} CPU/rt |", names[a], names[b]);
    }
    md.push_str("\n|---|");
    md.push_str(&"---:|---:|".repeat(pairs.len()));
    md.push('\n');
    for (c, cell) in results.cells.iter().enumerate() {
        let _ = write!(md, "| {} |", cell.label());
        for &(a, b) in &pairs {
            let runs = &results.runs[c];
            let ratio = |f: fn(&crate::throughput::Run) -> f64| {
                median(
                    runs[a]
                        .iter()
                        .zip(&runs[b])
                        .map(|(x, y)| f(x) / f(y))
                        .collect(),
                )
            };
            let _ = write!(
                md,
                " {:.2} | {:.2} |",
                ratio(|r| r.round_trips_per_sec),
                ratio(|r| r.cpu_us_per_round_trip)
            );
        }
        md.push('\n');
    }
    md
}
