//! The throughput run: every cell (connections × message size) on every server, servers taking
//! turns, repeated; each run measures round trips/s, server CPU per round trip, latency and
//! peak memory.

use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use crate::client::{self, Load, Window};
use crate::server::{self, Built, CpuTimes, Kind, Running, Wrap};
use crate::{Options, SERVER_CPU};

/// One load: `conns` connections, each with one `msg_len`-byte message in flight.
#[derive(Clone, Copy)]
pub struct Cell {
    pub conns: usize,
    pub msg_len: usize,
}

impl Cell {
    pub fn label(&self) -> String {
        format!("C={} M={}", self.conns, self.msg_len)
    }
}

/// What one run of one server on one cell measured.
pub struct Run {
    pub round_trips_per_sec: f64,
    /// Server CPU time (user + system) per round trip, in microseconds.
    pub cpu_us_per_round_trip: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub peak_rss_kib: u64,
    /// User CPU time of other processes (neither the server nor the bench) during the
    /// window, in CPUs: a busy machine skews the comparison.
    pub background: f64,
}

/// Everything the throughput run measured.
pub struct Results {
    pub servers: Vec<Kind>,
    pub cells: Vec<Cell>,
    /// `runs[cell][server]` holds one run per repetition.
    pub runs: Vec<Vec<Vec<Run>>>,
    /// The granularity of the CPU times.
    pub ticks_per_sec: u64,
    /// The 1-minute load average when the run began: other work on the machine skews results.
    pub load_before: String,
}

pub fn measure(options: &Options, servers: &[Built], work: &Path) -> Result<Results, String> {
    let mut results = Results {
        servers: servers.iter().map(|s| s.kind).collect(),
        cells: options.cells.clone(),
        runs: options
            .cells
            .iter()
            .map(|_| servers.iter().map(|_| Vec::new()).collect())
            .collect(),
        ticks_per_sec: crate::sys::clock_ticks_per_sec(),
        load_before: minireactor_benches::report::load_average(),
    };
    let total = options.reps * options.cells.len() * servers.len();
    let per_run = options.warmup + options.measure + Duration::from_millis(700);
    eprintln!(
        "{total} runs of {:.1} s: about {:.0} s",
        per_run.as_secs_f64(),
        (per_run * total as u32).as_secs_f64()
    );
    // Repetition-major order: a cell's repetitions are spread over the whole run, and within
    // one the servers take turns, so slow drift of the machine hits them all alike.
    for rep in 0..options.reps {
        for (c, cell) in options.cells.iter().enumerate() {
            for (s, server) in servers.iter().enumerate() {
                let mut attempt = 1;
                let run = loop {
                    wait_for_quiet(results.ticks_per_sec)?;
                    let run = run_one(server, *cell, options, results.ticks_per_sec, work)
                        .map_err(|e| format!("{} on {}: {e}", server.kind.name, cell.label()))?;
                    if run.background <= MAX_BACKGROUND || attempt == ATTEMPTS {
                        break run;
                    }
                    eprintln!(
                        "other processes used {:.0}% of a CPU during that run; running it again",
                        run.background * 100.0
                    );
                    attempt += 1;
                };
                eprintln!(
                    "rep {}/{} {:<12} {:<11} {:>9.0} rt/s {:>6.2} µs CPU/rt p50 {:>7.1} µs p99 {:>7.1} µs (others {:.0}%)",
                    rep + 1,
                    options.reps,
                    cell.label(),
                    server.kind.name,
                    run.round_trips_per_sec,
                    run.cpu_us_per_round_trip,
                    run.p50_us,
                    run.p99_us,
                    run.background * 100.0
                );
                results.runs[c][s].push(run);
            }
        }
    }
    Ok(results)
}

/// A run whose window saw more than this much CPU (in CPUs) used by other processes is run
/// again, up to [`ATTEMPTS`] times in all; the last attempt counts whatever it saw.
const MAX_BACKGROUND: f64 = 0.1;
const ATTEMPTS: usize = 3;
/// How long to wait for other processes to calm down before a run.
const QUIET_WAIT: Duration = Duration::from_secs(30);

/// Waits, at most [`QUIET_WAIT`], until other processes use less than [`MAX_BACKGROUND`] of a
/// CPU over half a second: on a shared machine, builds come and go.
fn wait_for_quiet(ticks_per_sec: u64) -> Result<(), String> {
    let give_up = Instant::now() + QUIET_WAIT;
    let sample = Duration::from_millis(500);
    loop {
        let user = || -> Result<u64, String> {
            let bench = server::cpu_times(std::process::id())?.user;
            Ok(server::all_user_ticks()?.saturating_sub(bench))
        };
        let before = user()?;
        thread::sleep(sample);
        let others = user()?.saturating_sub(before) as f64 / ticks_per_sec as f64;
        if others / sample.as_secs_f64() <= MAX_BACKGROUND || Instant::now() > give_up {
            return Ok(());
        }
    }
}

/// The clocks read at both ends of a measured window, in ticks.
struct Snapshot {
    server: CpuTimes,
    bench_user: u64,
    all_user: u64,
}

impl Snapshot {
    fn take(server_pid: u32) -> Result<Self, String> {
        Ok(Snapshot {
            server: server::cpu_times(server_pid)?,
            bench_user: server::cpu_times(std::process::id())?.user,
            all_user: server::all_user_ticks()?,
        })
    }
}

fn run_one(
    server: &Built,
    cell: Cell,
    options: &Options,
    ticks_per_sec: u64,
    work: &Path,
) -> Result<Run, String> {
    let running = Running::start(server, &Wrap::Plain, SERVER_CPU, work)?;
    let pid = running.pid();
    let load = Load {
        addr: running.addr,
        conns: cell.conns,
        msg_len: cell.msg_len,
    };
    let window = Window::Timed {
        warmup: options.warmup,
        measure: options.measure,
    };
    let mut outcome = client::run(options.client_cpu, load, window, move || {
        Snapshot::take(pid)
    })?;
    let peak_rss_kib = running.peak_rss_kib()?;
    running.stop()?;

    if outcome.round_trips == 0 {
        return Err("no round trip completed in the measured window".to_owned());
    }
    let (start, end) = &outcome.probes;
    let secs = |ticks: u64| ticks as f64 / ticks_per_sec as f64;
    let server_user = end.server.user.saturating_sub(start.server.user);
    let server_cpu = server_user + end.server.system.saturating_sub(start.server.system);
    let others = (end.all_user.saturating_sub(start.all_user))
        .saturating_sub(server_user)
        .saturating_sub(end.bench_user.saturating_sub(start.bench_user));
    let window_secs = outcome.elapsed.as_secs_f64();
    let round_trips = outcome.round_trips as f64;
    outcome.latencies_ns.sort_unstable();
    let percentile_us = |p: f64| {
        let samples = &outcome.latencies_ns;
        let rank = ((p * samples.len() as f64).ceil() as usize).clamp(1, samples.len());
        f64::from(samples[rank - 1]) / 1000.0
    };
    Ok(Run {
        round_trips_per_sec: round_trips / window_secs,
        cpu_us_per_round_trip: secs(server_cpu) * 1e6 / round_trips,
        p50_us: percentile_us(0.50),
        p99_us: percentile_us(0.99),
        peak_rss_kib,
        background: secs(others) / window_secs,
    })
}

/// The median of `values` (the mean of the middle two for an even count); 0 if empty.
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => 0.0,
        _ if n % 2 == 1 => values[n / 2],
        _ => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}
