//! The callgrind mode: user-space instructions per iteration of every workload whose count
//! means something ([`Workload::counted`]), on both runtimes, and their ratio.
//!
//! Each figure comes from two runs of this very binary in the run-one mode under callgrind:
//! `MINIREACTOR_BENCH_ONE=WORKLOAD:RUNTIME:3` minus `WORKLOAD:RUNTIME:1`, halved. Both runs
//! create the runtime, run the workload once while the allocations that later runs reuse grow
//! to size, and tear everything down; their difference is two steady-state iterations.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use minireactor_benches::callgrind::{command_prefix, total_instructions, version, INSTALL_HINT};
use minireactor_benches::dirs;
use minireactor_benches::report::{machine, write_section};

use crate::workloads::{Workload, WORKLOADS};
use crate::BENCH_ONE;

const COMMAND: &str = "cargo bench -p minireactor-benches --bench executor -- --callgrind";
const USAGE: &str = "\
usage: cargo bench -p minireactor-benches --bench executor -- --callgrind [--write]
  --write    also write the table into its section of BENCHMARKS.md";

/// Counts every counted workload on both runtimes and prints the table; `args` are the
/// bench's arguments, `--callgrind` among them.
pub fn run(args: &[String]) -> Result<(), String> {
    let mut write = false;
    for arg in args {
        match arg.as_str() {
            "--callgrind" => {}
            "--write" => write = true,
            "--help" | "-h" => {
                println!("{USAGE}");
                return Ok(());
            }
            _ => {
                return Err(format!(
                    "unknown argument {arg:?} with --callgrind\n\n{USAGE}"
                ))
            }
        }
    }
    let exe = std::env::current_exe().map_err(|e| format!("locating the bench binary: {e}"))?;
    let work = dirs::work_dir("executor-callgrind")?;

    let left_out: Vec<String> = WORKLOADS
        .iter()
        .filter(|w| !w.counted)
        .map(|w| format!("`{}`", w.name))
        .collect();
    let mut md = String::new();
    let _ = writeln!(md, "Measured on {}, {}.", machine(), version());
    let _ = writeln!(
        md,
        "Command: `{COMMAND}`. User-space instructions (callgrind's Ir; the kernel is not \
         counted) of one iteration: a run of the bench binary with \
         `{BENCH_ONE}=WORKLOAD:RUNTIME:3` (one runtime, the workload run 3 times) minus one \
         with `:1`, halved. Left out: {}, whose count depends on timing.\n",
        left_out.join(", ")
    );
    md.push_str("| workload | one iteration | minireactor | tokio | minireactor/tokio |\n");
    md.push_str("|---|---|---:|---:|---:|\n");
    for workload in WORKLOADS.iter().filter(|w| w.counted) {
        let minireactor = per_iteration(&exe, &work, workload, "minireactor")?;
        let tokio = per_iteration(&exe, &work, workload, "tokio")?;
        let (units, unit) = workload.units;
        let cell = |instructions: f64| {
            format!(
                "{instructions:.0} ({:.1}/{unit})",
                instructions / units as f64
            )
        };
        let _ = writeln!(
            md,
            "| {} | {units} {unit}s | {} | {} | {:.2} |",
            workload.name,
            cell(minireactor),
            cell(tokio),
            minireactor / tokio
        );
    }
    println!("{md}");
    if write {
        write_section("executor callgrind", &md)?;
    }
    Ok(())
}

/// Instructions of one steady-state iteration of `workload` on `runtime`.
fn per_iteration(
    exe: &Path,
    work: &Path,
    workload: &Workload,
    runtime: &str,
) -> Result<f64, String> {
    let spec = |repeat: u32| format!("{}:{runtime}:{repeat}", workload.name);
    let once = instructions(exe, work, &spec(1))?;
    let thrice = instructions(exe, work, &spec(3))?;
    Ok((thrice as f64 - once as f64) / 2.0)
}

/// The instructions of `exe` run under callgrind in the run-one mode with `spec`.
fn instructions(exe: &Path, work: &Path, spec: &str) -> Result<u64, String> {
    let out = work.join(format!("{}.callgrind", spec.replace(':', "-")));
    let words = command_prefix(&out);
    eprintln!("counting {BENCH_ONE}={spec}");
    let output = Command::new(&words[0])
        .args(&words[1..])
        .arg(exe)
        .env(BENCH_ONE, spec)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("starting valgrind: {e} ({INSTALL_HINT})"))?;
    if !output.status.success() {
        return Err(format!(
            "{spec} under callgrind ended badly ({}); its stderr:\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    total_instructions(&out)
}
