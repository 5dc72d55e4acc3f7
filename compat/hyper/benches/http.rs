//! The hello-world benchmark: the `http` example (hyper on minireactor) against `tokio_http`
//! (the same server on tokio's `current_thread` runtime with hyper-util), driven by `wrk`.
//!
//! ```text
//! cargo bench -p minireactor-hyper --bench http            # 3 cells x 5 repetitions x 2 (~3 min)
//! cargo bench -p minireactor-hyper --bench http -- 1 2     # 1 repetition of 2 s per cell
//! ```
//!
//! Each server runs pinned to CPU 0 (`taskset -c 0`) and `wrk -t1 -cC -dDs --latency` pinned to
//! CPU 1, for C in 1, 50, 500. The servers alternate (minireactor first in even repetitions,
//! tokio first in odd ones). Per run: requests/s and p99 latency as wrk reports them, server
//! CPU per request (utime + stime from `/proc/PID/stat` around the wrk run, divided by the
//! requests wrk completed), the user-space part of it (utime alone: the kernel's part is the
//! same syscalls on both servers), and the server's peak RSS (`VmHWM`). The table gives
//! medians; the ratio columns are medians of the per-repetition ratios. `wrk` is installed with
//! apt-get when missing.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const CONNECTIONS: [u32; 3] = [1, 50, 500];
const SERVERS: [&str; 2] = ["http", "tokio_http"];

/// What one wrk run against one server measured.
#[derive(Clone, Copy, Default)]
struct Run {
    requests_per_sec: f64,
    cpu_us_per_request: f64,
    user_us_per_request: f64,
    p99_ms: f64,
    peak_rss_kib: f64,
}

fn main() {
    let mut args = std::env::args().skip(1).filter(|arg| arg != "--bench");
    let reps: usize = args.next().map_or(5, |n| n.parse().expect("repetitions"));
    let secs: u32 = args.next().map_or(5, |n| n.parse().expect("seconds"));
    ensure_wrk();
    let binaries = build_servers();
    let ticks_per_sec: f64 = command_output(Command::new("getconf").arg("CLK_TCK"))
        .trim()
        .parse()
        .expect("CLK_TCK");

    // Other processes on the machine skew wall-clock figures: say how busy it was.
    let load = || std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average at start: {}", load().trim());
    println!(
        "| C | runtime | requests/s | server CPU µs/request | of which user space | p99 latency | peak RSS |"
    );
    println!("|---|---|---|---|---|---|---|");
    for connections in CONNECTIONS {
        let mut runs: [Vec<Run>; 2] = Default::default();
        for rep in 0..reps {
            let order = if rep % 2 == 0 { [0, 1] } else { [1, 0] };
            for server in order {
                let run = measure(&binaries[server], connections, secs, ticks_per_sec);
                runs[server].push(run);
            }
        }
        for (server, name) in SERVERS.iter().enumerate() {
            let runs = &runs[server];
            println!(
                "| {connections} | {name} | {:.0} | {:.2} | {:.2} | {:.2} ms | {:.0} KiB |",
                median(runs.iter().map(|run| run.requests_per_sec)),
                median(runs.iter().map(|run| run.cpu_us_per_request)),
                median(runs.iter().map(|run| run.user_us_per_request)),
                median(runs.iter().map(|run| run.p99_ms)),
                median(runs.iter().map(|run| run.peak_rss_kib)),
            );
        }
        let pairs = || runs[0].iter().zip(&runs[1]);
        println!(
            "| {connections} | minireactor / tokio | {:.3}× | {:.3}× | {:.3}× | {:.3}× | {:.3}× |",
            median(pairs().map(|(ours, theirs)| ours.requests_per_sec / theirs.requests_per_sec)),
            median(
                pairs().map(|(ours, theirs)| ours.cpu_us_per_request / theirs.cpu_us_per_request)
            ),
            median(
                pairs().map(|(ours, theirs)| ours.user_us_per_request / theirs.user_us_per_request)
            ),
            median(pairs().map(|(ours, theirs)| ours.p99_ms / theirs.p99_ms)),
            median(pairs().map(|(ours, theirs)| ours.peak_rss_kib / theirs.peak_rss_kib)),
        );
    }
    println!("load average at end: {}", load().trim());
}

/// Starts `binary` on CPU 0, runs wrk against it on CPU 1, stops it.
fn measure(binary: &Path, connections: u32, secs: u32, ticks_per_sec: f64) -> Run {
    let (mut server, addr) = start_server(binary);
    let cpu_before = cpu_ticks(server.id());
    let report = command_output(Command::new("taskset").args([
        "-c",
        "1",
        "wrk",
        "-t1",
        &format!("-c{connections}"),
        &format!("-d{secs}s"),
        "--latency",
        &format!("http://{addr}/"),
    ]));
    let cpu_after = cpu_ticks(server.id());
    let (user_ticks, system_ticks) = (cpu_after.0 - cpu_before.0, cpu_after.1 - cpu_before.1);
    let peak_rss_kib = status_kib(server.id(), "VmHWM:");
    let status = Command::new("kill")
        .args(["-INT", &server.id().to_string()])
        .status();
    assert!(status.expect("kill").success(), "could not stop the server");
    server.wait().expect("server exit");

    let requests = wrk_field(&report, "requests in", |line| {
        line.split_whitespace().next()
    });
    Run {
        requests_per_sec: wrk_field(&report, "Requests/sec:", |line| {
            line.split_whitespace().nth(1)
        }),
        cpu_us_per_request: (user_ticks + system_ticks) / ticks_per_sec * 1e6 / requests,
        user_us_per_request: user_ticks / ticks_per_sec * 1e6 / requests,
        p99_ms: wrk_latency_ms(&report, "99%"),
        peak_rss_kib,
    }
}

/// Starts a server on an ephemeral port, pinned to CPU 0; returns it and its address, read
/// from its `listening on ADDR` line.
fn start_server(binary: &Path) -> (Child, String) {
    let mut server = Command::new("taskset")
        .args(["-c", "0"])
        .arg(binary)
        .arg("127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null()) // Connections wrk cuts off at the end are reported there.
        .spawn()
        .expect("start the server");
    let mut line = String::new();
    let stdout = server.stdout.take().expect("stdout");
    BufReader::new(stdout).read_line(&mut line).expect("read");
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .expect("listening line");
    (server, addr.to_string())
}

/// utime and stime of `pid`, in clock ticks.
fn cpu_ticks(pid: u32) -> (f64, f64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat[stat.rfind(')').expect("comm") + 2..]
        .split(' ')
        .collect();
    let field = |n: usize| fields[n - 3].parse::<f64>().expect("tick count");
    (field(14), field(15))
}

/// A `/proc/PID/status` line's value in KiB.
fn status_kib(pid: u32, key: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let line = status.lines().find(|line| line.starts_with(key));
    let value = line.and_then(|line| line.split_whitespace().nth(1));
    value.expect(key).parse().expect("KiB")
}

/// The number `pick` finds in the line of wrk's report that contains `marker`.
fn wrk_field(report: &str, marker: &str, pick: impl Fn(&str) -> Option<&str>) -> f64 {
    let line = report.lines().find(|line| line.contains(marker));
    let value = line.and_then(pick);
    let value = value.unwrap_or_else(|| panic!("no {marker:?} in wrk's report:\n{report}"));
    value.parse().expect("number")
}

/// A percentile of wrk's latency distribution (`99%    1.23ms`), in ms.
fn wrk_latency_ms(report: &str, percentile: &str) -> f64 {
    let value = report
        .lines()
        .map(str::split_whitespace)
        .find_map(|mut words| {
            (words.next() == Some(percentile))
                .then(|| words.next())
                .flatten()
        })
        .unwrap_or_else(|| panic!("no {percentile} latency in wrk's report:\n{report}"));
    let (number, unit) = value.split_at(value.find(|c: char| c.is_alphabetic()).expect("unit"));
    let scale = match unit {
        "us" => 1e-3,
        "ms" => 1.0,
        "s" => 1e3,
        _ => panic!("unknown latency unit in {value:?}"),
    };
    number.parse::<f64>().expect("latency") * scale
}

fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.collect();
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Installs wrk from Debian's packages if it is not on the PATH.
fn ensure_wrk() {
    if Command::new("wrk").arg("--version").output().is_ok() {
        return;
    }
    eprintln!("wrk not found: installing it with apt-get");
    let installed = Command::new("sh")
        .args(["-c", "apt-get update && apt-get install -y wrk"])
        .status();
    assert!(
        installed.expect("apt-get").success(),
        "could not install wrk"
    );
}

/// Builds both servers in release mode; returns their paths.
fn build_servers() -> [PathBuf; 2] {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let built = Command::new(cargo)
        .args(["build", "--release", "-p", "minireactor-hyper"])
        .args(SERVERS.iter().flat_map(|server| ["--example", server]))
        .status();
    assert!(
        built.expect("cargo").success(),
        "could not build the servers"
    );
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"),
        PathBuf::from,
    );
    SERVERS.map(|server| target.join("release/examples").join(server))
}

fn command_output(command: &mut Command) -> String {
    let output = command.output().expect("run a command");
    assert!(output.status.success(), "{command:?} failed");
    String::from_utf8(output.stdout).expect("utf-8")
}
