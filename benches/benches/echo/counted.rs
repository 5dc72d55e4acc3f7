//! The counting modes: a fixed number of round trips under strace (syscalls) or callgrind
//! (instructions), minus a baseline run with the same connections and no round trip, divided
//! by the number of round trips. The baseline takes away startup, accepting, registering and
//! closing, so what is left is the steady state of one round trip.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::Duration;

use minireactor_benches::callgrind;
use minireactor_benches::report::{first_line, machine};

use crate::client::{self, Load, Window};
use crate::server::{Built, Running, Wrap};
use crate::{Options, SERVER_CPU};

/// Connection counts of the counting modes; messages are 64 bytes.
const CONNS: [usize; 2] = [1, 50];
const MSG_LEN: usize = 64;

/// Syscall groups, in table order; anything else is reported by name.
const GROUPS: [(&str, &[&str]); 4] = [
    ("read", &["read", "recvfrom", "recvmsg", "readv"]),
    ("write", &["write", "sendto", "sendmsg", "writev"]),
    ("epoll_wait", &["epoll_wait", "epoll_pwait", "epoll_pwait2"]),
    ("epoll_ctl", &["epoll_ctl"]),
];

/// Calls and failed calls of one syscall.
#[derive(Clone, Copy, Default)]
struct Calls {
    calls: f64,
    errors: f64,
}

pub fn syscalls(options: &Options, servers: &[Built], work: &Path) -> Result<String, String> {
    let n = options.round_trips;
    let mut md = String::new();
    let _ = writeln!(
        md,
        "Measured on {}, {}.",
        machine(),
        first_line("strace", &["-V"])
    );
    let _ = writeln!(
        md,
        "Command: `{}`. Counted by `strace -f -c`: a run of {n} round trips of {MSG_LEN} bytes \
         minus a run with the same connections and no round trip, divided by {n}, with the \
         syscalls actually used. strace slows the server down, so at C=50 more events arrive \
         per `epoll_wait` than in the throughput run.\n",
        options.command
    );
    md.push_str("| server | C | read | write | epoll_wait | epoll_ctl | others | total |\n");
    md.push_str("|---|---:|---:|---:|---:|---:|---|---:|\n");
    each_counted(
        options,
        servers,
        work,
        "strace",
        Wrap::Strace,
        parse_strace,
        |server, conns, base, full| {
            let mut per_rt: BTreeMap<String, Calls> = BTreeMap::new();
            for (name, calls) in &full {
                let before = base.get(name).copied().unwrap_or_default();
                let per = Calls {
                    calls: (calls.calls - before.calls) / n as f64,
                    errors: (calls.errors - before.errors) / n as f64,
                };
                per_rt.insert(name.clone(), per);
            }
            md.push_str(&syscall_row(server.kind.name, conns, per_rt));
        },
    )?;
    Ok(md)
}

/// One table row: the groups, then the other syscalls by name (those above 0.005 per round
/// trip), then the total.
fn syscall_row(server: &str, conns: usize, mut per_rt: BTreeMap<String, Calls>) -> String {
    let total: f64 = per_rt.values().map(|c| c.calls).sum();
    let mut row = format!("| {server} | {conns} |");
    for (_, members) in GROUPS {
        let mut sum = Calls::default();
        let mut names = Vec::new();
        for member in members {
            if let Some(calls) = per_rt.remove(*member) {
                sum.calls += calls.calls;
                sum.errors += calls.errors;
                if calls.calls.abs() >= 0.005 {
                    names.push(*member);
                }
            }
        }
        let _ = write!(row, " {:.2}", sum.calls);
        if !names.is_empty() {
            let _ = write!(row, " {}", names.join("+"));
        }
        if sum.errors.abs() >= 0.005 {
            let _ = write!(row, " ({:.2} failed)", sum.errors);
        }
        row.push_str(" |");
    }
    let others: Vec<String> = per_rt
        .iter()
        .filter(|(_, c)| c.calls.abs() >= 0.005)
        .map(|(name, c)| format!("{name} {:.2}", c.calls))
        .collect();
    let others = if others.is_empty() {
        "–".to_owned()
    } else {
        others.join(", ")
    };
    let _ = writeln!(row, " {others} | {total:.2} |");
    row
}

/// Reads the table of `strace -c`: `% time, seconds, usecs/call, calls, [errors,] syscall`.
fn parse_strace(path: &Path) -> Result<BTreeMap<String, Calls>, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let mut counts = BTreeMap::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(calls), Some(name)) = (fields.get(3), fields.last()) else {
            continue;
        };
        let Ok(calls) = calls.parse::<f64>() else {
            continue; // the header and the rules
        };
        if *name == "total" {
            continue;
        }
        let errors = match fields.len() {
            6 => fields[4].parse().unwrap_or(0.0),
            _ => 0.0,
        };
        counts.insert(name.to_string(), Calls { calls, errors });
    }
    if counts.is_empty() {
        return Err(format!("no syscall counts in {}", path.display()));
    }
    Ok(counts)
}

pub fn callgrind(options: &Options, servers: &[Built], work: &Path) -> Result<String, String> {
    let n = options.round_trips;
    let mut md = String::new();
    let _ = writeln!(md, "Measured on {}, {}.", machine(), callgrind::version());
    let _ = writeln!(
        md,
        "Command: `{}`. User-space instructions (callgrind's Ir; the kernel is not counted) of \
         a run of {n} round trips of {MSG_LEN} bytes minus a run with the same connections and \
         no round trip, divided by {n}.\n",
        options.command
    );
    md.push_str("| server | C | instructions/round trip | baseline run (instructions) |\n");
    md.push_str("|---|---:|---:|---:|\n");
    each_counted(
        options,
        servers,
        work,
        "callgrind",
        Wrap::Callgrind,
        callgrind::total_instructions,
        |server, conns, base, full| {
            let per_rt = (full as f64 - base as f64) / n as f64;
            let name = server.kind.name;
            let _ = writeln!(md, "| {name} | {conns} | {per_rt:.0} | {base} |");
        },
    )?;
    Ok(md)
}

/// For every server and connection count, reads what the tool of `wrap` counted (`read` of its
/// output file) in a run of `--round-trips` round trips and in a baseline run with none, and
/// hands both to `row`.
fn each_counted<T>(
    options: &Options,
    servers: &[Built],
    work: &Path,
    tool: &str,
    wrap: fn(PathBuf) -> Wrap,
    read: fn(&Path) -> Result<T, String>,
    mut row: impl FnMut(&Built, usize, T, T),
) -> Result<(), String> {
    for server in servers {
        for conns in CONNS {
            let out = work.join(format!("{}.{tool}", server.kind.name));
            let count = |round_trips| {
                counted_run(
                    options.client_cpu,
                    server,
                    &wrap(out.clone()),
                    conns,
                    round_trips,
                    work,
                )?;
                read(&out)
            };
            let base = count(0)?;
            let full = count(options.round_trips)?;
            row(server, conns, base, full);
            eprintln!("counted {} at C={conns} under {tool}", server.kind.name);
        }
    }
    Ok(())
}

/// Runs `server` under `wrap` for `round_trips` round trips over `conns` connections, the
/// client on `client_cpu`, then stops it, so that the wrapper writes its counts.
fn counted_run(
    client_cpu: usize,
    server: &Built,
    wrap: &Wrap,
    conns: usize,
    round_trips: u64,
    work: &Path,
) -> Result<(), String> {
    let running = Running::start(server, wrap, SERVER_CPU, work)?;
    let load = Load {
        addr: running.addr,
        conns,
        msg_len: MSG_LEN,
    };
    client::run(client_cpu, load, Window::Count(round_trips), || Ok(0))
        .map_err(|e| format!("{} at C={conns}: {e}", server.kind.name))?;
    // The connections are reset now; let the server see it before it is stopped, so that
    // closing them is counted in the run and in its baseline alike.
    thread::sleep(Duration::from_millis(500));
    running.stop()
}
