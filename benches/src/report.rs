//! The Markdown the drivers print: the line saying where the figures were measured, and the
//! generated sections of BENCHMARKS.md, which a driver rewrites only when asked (`--write`).

use std::fs;
use std::process::Command;

use crate::dirs::workspace_dir;

/// One line saying where and on what the figures were measured: CPU, kernel, compiler and the
/// commit of minireactor (`-dirty` if the worktree has changes).
pub fn machine() -> String {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .and_then(|rest| rest.split_once(':'))
        .map_or("unknown CPU", |(_, name)| name.trim());
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let rustc = first_line("rustc", &["-V"]);
    let workspace = workspace_dir().to_string_lossy();
    let commit = first_line(
        "git",
        &["-C", &workspace, "describe", "--always", "--dirty"],
    );
    format!(
        "{model}, {cpus} CPUs, Linux {}, {rustc}; minireactor at {commit}",
        kernel.trim()
    )
}

/// The 1-minute load average, as `/proc/loadavg` has it: other work skews wall-clock figures.
pub fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| Some(text.split_whitespace().next()?.to_owned()))
        .unwrap_or_else(|| "?".to_owned())
}

/// The first line a tool prints, or `?` if it cannot be run.
pub fn first_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.lines().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

/// Replaces the generated section `name` of BENCHMARKS.md with `text`, or appends it under a
/// heading `## {name}` if the file does not have it yet. Everything outside the section's
/// markers (`<!-- begin generated: NAME -->`, `<!-- end generated: NAME -->`) is left alone.
pub fn write_section(name: &str, text: &str) -> Result<(), String> {
    let path = workspace_dir().join("BENCHMARKS.md");
    let begin = format!("<!-- begin generated: {name} -->\n");
    let end = format!("<!-- end generated: {name} -->\n");
    let old = fs::read_to_string(&path).unwrap_or_else(|_| "# Benchmarks\n".to_owned());
    let new = match (old.find(&begin), old.find(&end)) {
        (Some(b), Some(e)) if b < e => format!("{}{begin}{text}{}", &old[..b], &old[e..]),
        _ => format!(
            "{}\n\n## {name}\n\n{begin}{text}{end}",
            old.trim_end_matches('\n')
        ),
    };
    fs::write(&path, new).map_err(|e| format!("writing {}: {e}", path.display()))?;
    eprintln!("wrote the {name} section of {}", path.display());
    Ok(())
}
