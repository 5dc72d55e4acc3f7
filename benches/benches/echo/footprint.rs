//! The footprint mode: what a first build of each echo server costs (crates compiled, wall
//! time) and how big its stripped binary is.
//!
//! Each server is built with the command a user would run (`cargo build --release -p PACKAGE
//! --example/--bin NAME`) in a target directory of its own, emptied first, so that it compiles
//! exactly the dependencies of that one target, at the versions of the workspace's
//! `Cargo.lock`. The cargo registry is not emptied: downloads are not counted.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use minireactor_benches::dirs::profile_dir;
use minireactor_benches::report::{load_average, machine};

use crate::server::{self, Kind};
use crate::Options;

pub fn measure(options: &Options) -> Result<String, String> {
    let root = profile_dir()?
        .parent()
        .map(|target| target.join("footprint"))
        .ok_or("no target directory above the profile directory")?;
    let mut md = String::new();
    let _ = writeln!(md, "Measured on {}.", machine());
    let _ = writeln!(
        md,
        "Command: `{}`. Each server built alone with the command shown, in an empty target \
         directory, on all CPUs (the cargo registry cache stays warm); the load average just \
         before each build tells whether other work competed.\n",
        options.command
    );
    md.push_str(
        "| server | `cargo build --release` | crates compiled | clean build s | binary KiB | stripped KiB | load before |\n",
    );
    md.push_str("|---|---|---:|---:|---:|---:|---:|\n");
    // raw_echo is left out: it only shows what libc and std cost.
    let measured = options.servers.iter().filter(|kind| kind.name != "raw");
    for kind in measured {
        let load = load_average();
        let build = build_alone(kind, &root.join(kind.name))?;
        let _ = writeln!(
            md,
            "| {} | `{}` | {} | {:.1} | {} | {} | {load} |",
            kind.name,
            kind.cargo_args().join(" "),
            build.crates,
            build.secs,
            build.size / 1024,
            build.stripped / 1024
        );
    }
    Ok(md)
}

/// What one clean build cost and made.
struct Build {
    /// Crates compiled, dependencies included.
    crates: usize,
    /// Wall time of the build.
    secs: f64,
    /// Size of the binary as built, in bytes.
    size: u64,
    /// Size of the binary after `strip`, in bytes.
    stripped: u64,
}

/// Builds `kind` alone with the target directory `dir`, emptied first.
fn build_alone(kind: &Kind, dir: &Path) -> Result<Build, String> {
    let io = |what: &str, e: std::io::Error| format!("{what} {}: {e}", dir.display());
    if dir.exists() {
        fs::remove_dir_all(dir).map_err(|e| io("removing", e))?;
    }
    eprintln!("clean build of {} alone", kind.name);
    let start = Instant::now();
    let out = server::cargo_build(&kind.cargo_args())
        .args(["--color", "never"])
        .env("CARGO_TARGET_DIR", dir)
        .output()
        .map_err(|e| format!("running cargo: {e}"))?;
    let secs = start.elapsed().as_secs_f64();
    let log = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!("the clean build of {} failed:\n{log}", kind.name));
    }
    let crates = log
        .lines()
        .filter(|line| line.trim_start().starts_with("Compiling "))
        .count();

    let bin = kind.binary_in(&dir.join("release"));
    let stripped = dir.join(format!("{}.stripped", kind.name));
    let status = Command::new("strip")
        .arg("-o")
        .arg(&stripped)
        .arg(&bin)
        .status()
        .map_err(|e| format!("running strip (install binutils): {e}"))?;
    if !status.success() {
        return Err(format!("strip {} failed", bin.display()));
    }
    let size = |path: &Path| {
        fs::metadata(path)
            .map(|m| m.len())
            .map_err(|e| format!("{}: {e}", path.display()))
    };
    Ok(Build {
        crates,
        secs,
        size: size(&bin)?,
        stripped: size(&stripped)?,
    })
}
