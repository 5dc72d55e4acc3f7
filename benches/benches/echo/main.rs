//! The benchmark against tokio (issue 3): minireactor's echo server (`examples/echo.rs` of the
//! root package) against the same server on tokio's `current_thread` runtime (the bin
//! `tokio_echo` of this package) and a hand-written raw-epoll server (the bin `raw_echo`), the
//! limit.
//!
//! ```text
//! cargo bench -p minireactor-benches --bench echo                # round trips/s, CPU, latency, memory (~4 min)
//! cargo bench -p minireactor-benches --bench echo -- --quick     # the same, one short repetition (~30 s)
//! cargo bench -p minireactor-benches --bench echo -- --syscalls  # syscalls per round trip, under strace
//! cargo bench -p minireactor-benches --bench echo -- --callgrind # user-space instructions per round trip
//! cargo bench -p minireactor-benches --bench echo -- --footprint # clean build time and stripped binary size
//! cargo bench -p minireactor-benches --bench echo -- --help      # every option
//! ```
//!
//! Each server runs as a child process pinned to CPU 0; the client runs in this process on a
//! thread pinned to CPU 1. Servers take turns (A B C, A B C, ...) so that drift hits all alike.
//! Results go to stdout; with `--write`, also into their sections of BENCHMARKS.md.

mod client;
mod counted;
mod footprint;
mod report;
mod server;
mod sys;
mod throughput;

use std::process::ExitCode;
use std::time::Duration;

use minireactor_benches::{dirs, report::write_section};
use server::Kind;
use throughput::Cell;

/// Where the servers run.
const SERVER_CPU: usize = 0;
/// Where the client runs.
const CLIENT_CPU: usize = 1;

/// How this bench is run, for usage and reports.
const COMMAND: &str = "cargo bench -p minireactor-benches --bench echo";

const USAGE: &str = "\
usage: cargo bench -p minireactor-benches --bench echo -- [OPTIONS]

modes (default: the throughput run):
  --syscalls         syscalls per round trip of each server, counted by strace -c
  --callgrind        user-space instructions per round trip, counted by callgrind
  --footprint        clean release build time and stripped size of the echo servers

throughput run:
  --quick            1 repetition, 0.25 s warm-up, 1 s measured (default 3, 0.5 s, 3 s)
  --reps N           repetitions of every cell and server
  --warmup SECS      warm-up before each measured window
  --secs SECS        measured window (CPU time is counted in 10 ms ticks: keep it >= 1 s)
  --cells LIST       e.g. 1x64,50x4096: connections x message bytes (default all of
                     1,50,500 x 64,4096)

all modes:
  --servers LIST     e.g. tokio,raw (default minireactor,tokio,raw)
  --same-cpu         run the client on the server's CPU 0 instead of CPU 1: no cross-CPU
                     wake-ups (slow on some VMs), but client and server share the CPU
  --round-trips N    round trips of the --syscalls and --callgrind runs (default 20000)
  --write            also write the results into their sections of BENCHMARKS.md";

/// What to run, from the command line.
pub struct Options {
    /// Repetitions of every cell and server in the throughput run.
    pub reps: usize,
    /// Load before each measured window, unmeasured.
    pub warmup: Duration,
    /// The measured window of each throughput run.
    pub measure: Duration,
    /// The loads of the throughput run.
    pub cells: Vec<Cell>,
    /// Where the client runs: [`CLIENT_CPU`], or with `--same-cpu` the server's CPU.
    pub client_cpu: usize,
    /// The servers to compare, in table order.
    pub servers: Vec<Kind>,
    /// Whether to count syscalls per round trip.
    pub syscalls: bool,
    /// Whether to count instructions per round trip.
    pub callgrind: bool,
    /// Whether to measure build time and binary size.
    pub footprint: bool,
    /// Round trips of each counting run.
    pub round_trips: u64,
    /// Whether to write the results into BENCHMARKS.md.
    pub write: bool,
    /// The command line as given, for the report.
    pub command: String,
}

impl Options {
    fn parse(args: Vec<String>) -> Result<Self, String> {
        let mut options = Options {
            reps: 3,
            warmup: Duration::from_millis(500),
            measure: Duration::from_secs(3),
            cells: [1, 50, 500]
                .into_iter()
                .flat_map(|conns| [64, 4096].map(|msg_len| Cell { conns, msg_len }))
                .collect(),
            client_cpu: CLIENT_CPU,
            servers: server::ALL.to_vec(),
            syscalls: false,
            callgrind: false,
            footprint: false,
            round_trips: 20_000,
            write: false,
            command: String::new(),
        };
        // `cargo bench` passes `--bench` to every bench binary.
        let args: Vec<String> = args.into_iter().filter(|a| a != "--bench").collect();
        // The command that gave the figures, without `--write`, which changes none of them.
        let shown: Vec<&str> = args
            .iter()
            .map(String::as_str)
            .filter(|a| *a != "--write")
            .collect();
        options.command = match shown[..] {
            [] => COMMAND.to_owned(),
            _ => format!("{COMMAND} -- {}", shown.join(" ")),
        };
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let mut value = || args.next().ok_or(format!("{arg} needs a value"));
            match arg.as_str() {
                "--syscalls" => options.syscalls = true,
                "--callgrind" => options.callgrind = true,
                "--footprint" => options.footprint = true,
                "--write" => options.write = true,
                "--same-cpu" => options.client_cpu = SERVER_CPU,
                "--quick" => {
                    options.reps = 1;
                    options.warmup = Duration::from_millis(250);
                    options.measure = Duration::from_secs(1);
                }
                "--reps" => options.reps = parse_in(&value()?, 1..=100, "--reps")?,
                "--round-trips" => {
                    options.round_trips = parse_in(&value()?, 1..=10_000_000, "--round-trips")?
                }
                "--warmup" => options.warmup = parse_secs(&value()?, 0.0)?,
                "--secs" => options.measure = parse_secs(&value()?, 0.1)?,
                "--cells" => options.cells = parse_cells(&value()?)?,
                "--servers" => options.servers = parse_servers(&value()?)?,
                _ => return Err(format!("unknown argument {arg:?}\n\n{USAGE}")),
            }
        }
        Ok(options)
    }

    /// Whether to run the throughput run: unless another mode was asked for.
    fn throughput(&self) -> bool {
        !(self.syscalls || self.callgrind || self.footprint)
    }
}

fn parse_in<T>(text: &str, range: std::ops::RangeInclusive<T>, what: &str) -> Result<T, String>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Debug,
{
    match text.parse::<T>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(format!(
            "{what}: expected a number in {range:?}, got {text:?}"
        )),
    }
}

fn parse_secs(text: &str, min: f64) -> Result<Duration, String> {
    match text.parse::<f64>() {
        Ok(secs) if (min..=600.0).contains(&secs) => Ok(Duration::from_secs_f64(secs)),
        _ => Err(format!("expected seconds in {min}..=600, got {text:?}")),
    }
}

fn parse_cells(text: &str) -> Result<Vec<Cell>, String> {
    text.split(',')
        .map(|cell| {
            let (conns, msg_len) = cell
                .split_once('x')
                .ok_or(format!("--cells: expected CONNSxBYTES, got {cell:?}"))?;
            Ok(Cell {
                conns: parse_in(conns, 1..=1000, "--cells connections")?,
                msg_len: parse_in(msg_len, 1..=1 << 20, "--cells message bytes")?,
            })
        })
        .collect()
}

fn parse_servers(text: &str) -> Result<Vec<Kind>, String> {
    let wanted: Vec<&str> = text.split(',').collect();
    if let Some(unknown) = wanted
        .iter()
        .find(|w| !server::ALL.iter().any(|k| k.name == **w))
    {
        return Err(format!("--servers: unknown server {unknown:?}"));
    }
    // Table order, whatever the order given.
    Ok(server::ALL
        .into_iter()
        .filter(|kind| wanted.contains(&kind.name))
        .collect())
}

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("echo bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Vec<String>) -> Result<(), String> {
    if args.iter().any(|arg| arg == "--help" || arg == "-h") {
        println!("{USAGE}");
        return Ok(());
    }
    let options = Options::parse(args)?;
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    if cpus < 2 {
        return Err(format!(
            "needs 2 CPUs (server and client apart), this process has {cpus}"
        ));
    }
    let work = dirs::work_dir("echo-bench")?;
    let needs_servers = options.throughput() || options.syscalls || options.callgrind;
    let servers = if needs_servers {
        server::build(&options.servers)?
    } else {
        Vec::new()
    };

    let mut sections = Vec::new();
    if options.throughput() {
        let results = throughput::measure(&options, &servers, &work)?;
        sections.push(("throughput", report::throughput(&options, &results)));
    }
    if options.syscalls {
        sections.push(("syscalls", counted::syscalls(&options, &servers, &work)?));
    }
    if options.callgrind {
        sections.push(("callgrind", counted::callgrind(&options, &servers, &work)?));
    }
    if options.footprint {
        sections.push(("footprint", footprint::measure(&options)?));
    }
    for (name, text) in &sections {
        println!("{text}");
        if options.write {
            write_section(name, text)?;
        }
    }
    Ok(())
}
