//! Executor micro-benchmarks: minireactor against tokio's `current_thread` runtime, the same
//! workload code on both (see [`workloads`]); each runtime is created once, outside the
//! measured loop.
//!
//! ```text
//! cargo bench -p minireactor-benches --bench executor                 # criterion, wall time
//! cargo bench -p minireactor-benches --bench executor -- --quick      # a fast pass
//! cargo bench -p minireactor-benches --bench executor -- --callgrind  # instructions per iteration
//! ```
//!
//! `--callgrind` (add `--write` to update BENCHMARKS.md) counts instructions under callgrind,
//! see [`callgrind`]. To run one workload without criterion (under a profiler, say), set
//! `MINIREACTOR_BENCH_ONE=WORKLOAD:RUNTIME[:REPEAT]` and run the bench binary directly, e.g.
//! `MINIREACTOR_BENCH_ONE=spawn_join_100k:minireactor:3 target/release/deps/executor-<hash>`:
//! the runtime is created once and the workload run REPEAT times (default 1), each run's wall
//! time going to stderr.

mod callgrind;
mod workloads;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use criterion::{BenchmarkGroup, Criterion};

use minireactor_benches::tokio_runtime;
use workloads::{minireactor_runtime, Workload, WORKLOADS};

/// The variable that selects the run-one mode.
const BENCH_ONE: &str = "MINIREACTOR_BENCH_ONE";

fn main() -> ExitCode {
    let outcome = if let Ok(spec) = std::env::var(BENCH_ONE) {
        run_one(&spec)
    } else {
        // `cargo bench` passes `--bench` to every bench binary.
        let args: Vec<String> = std::env::args()
            .skip(1)
            .filter(|arg| arg != "--bench")
            .collect();
        if args.iter().any(|arg| arg == "--callgrind") {
            callgrind::run(&args)
        } else {
            run_criterion();
            Ok(())
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("executor bench: {e}");
            ExitCode::FAILURE
        }
    }
}

type Group<'a> = BenchmarkGroup<'a, criterion::measurement::WallTime>;

fn group<'a>(c: &'a mut Criterion, name: &str, measure: Duration) -> Group<'a> {
    let mut group = c.benchmark_group(name);
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(measure);
    group
}

fn run_criterion() {
    let mut c = Criterion::default().configure_from_args();
    for workload in &WORKLOADS {
        match workload.measure {
            Some(measure) => bench_whole(&mut c, workload, measure),
            None => bench_cross_thread(&mut c, workload.name),
        }
    }
    c.final_summary();
}

/// Times whole iterations of `workload` on both runtimes.
fn bench_whole(c: &mut Criterion, workload: &Workload, measure: Duration) {
    let mr = minireactor_runtime();
    let tk = tokio_runtime();
    let mut group = group(c, workload.name, measure);
    group.bench_function("minireactor", |b| b.iter(|| (workload.minireactor)(&mr)));
    group.bench_function("tokio", |b| b.iter(|| (workload.tokio)(&tk)));
    group.finish();
}

/// Times the cross-thread wake per round trip: criterion picks the number of rounds.
fn bench_cross_thread(c: &mut Criterion, name: &str) {
    let mr = minireactor_runtime();
    let tk = tokio_runtime();
    let mut group = group(c, name, Duration::from_secs(4));
    group.sample_size(20);
    group.bench_function("minireactor", |b| {
        b.iter_custom(|rounds| workloads::cross_thread_minireactor(&mr, rounds))
    });
    group.bench_function("tokio", |b| {
        b.iter_custom(|rounds| workloads::cross_thread_tokio(&tk, rounds))
    });
    group.finish();
}

/// Runs one workload REPEAT times on one runtime, created once, without criterion, printing
/// each run's wall time to stderr. `spec` is `WORKLOAD:RUNTIME[:REPEAT]`.
fn run_one(spec: &str) -> Result<(), String> {
    let bad = |what: &str| format!("{BENCH_ONE}={spec}: {what}");
    let mut parts = spec.splitn(3, ':');
    let (Some(name), Some(runtime)) = (parts.next(), parts.next()) else {
        return Err(bad("expected WORKLOAD:RUNTIME[:REPEAT]"));
    };
    let workload = workloads::workload(name).map_err(|e| bad(&e))?;
    let repeat: u32 = match parts.next() {
        None => 1,
        Some(n) => n.parse().map_err(|_| bad("REPEAT must be a number"))?,
    };
    let timed = |run: &dyn Fn()| {
        for _ in 0..repeat {
            let start = Instant::now();
            run();
            eprintln!("{name}:{runtime}: {:?}", start.elapsed());
        }
    };
    match runtime {
        "minireactor" => {
            let rt = minireactor_runtime();
            timed(&|| (workload.minireactor)(&rt));
        }
        "tokio" => {
            let rt = tokio_runtime();
            timed(&|| (workload.tokio)(&rt));
        }
        _ => return Err(bad("RUNTIME must be minireactor or tokio")),
    }
    Ok(())
}
