//! The footprint mode: how long a clean release build of each echo server takes and how big
//! its stripped binary is.
//!
//! Building the examples inside this package would compile every dev-dependency for each
//! (tokio for minireactor's echo too), so each server gets a throwaway package under
//! `<target>/footprint/` with only its own dependencies, its own fresh target directory, and a
//! copy of `Cargo.lock` so that both use the versions the benchmark used.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use crate::report::{load_average, machine};
use crate::server::{package_dir, profile_dir};
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
        "Command: `{}`. Wall time of `cargo build --release` of each server alone, in a fresh \
         target directory, dependencies included, on all CPUs; the load average just before \
         each build tells whether other work competed.\n",
        options.command
    );
    md.push_str(
        "| server | dependencies | clean build s | binary KiB | stripped KiB | load before |\n",
    );
    md.push_str("|---|---|---:|---:|---:|---:|\n");
    for (name, example) in [("minireactor", "echo"), ("tokio", "tokio_echo")] {
        if !options.servers.iter().any(|k| k.name == name) {
            continue;
        }
        let source = package_dir().join(format!("examples/{example}.rs"));
        if !source.exists() {
            eprintln!(
                "skipping minireactor: {} does not exist yet",
                source.display()
            );
            let _ = writeln!(md, "| {name} | – | – | – | – | – |");
            continue;
        }
        let text = fs::read_to_string(&source)
            .map_err(|e| format!("reading {}: {e}", source.display()))?;
        let dependencies = dependencies(&text)?;
        let names: Vec<&str> = dependencies
            .lines()
            .filter_map(|line| line.split_whitespace().next())
            .collect();
        let load = load_average();
        let (secs, size, stripped) = build_alone(&root.join(example), example, &dependencies)?;
        let _ = writeln!(
            md,
            "| {name} | {} | {secs:.1} | {} | {} | {load} |",
            names.join(", "),
            size / 1024,
            stripped / 1024
        );
    }
    Ok(md)
}

/// tokio with what `tokio_echo.rs` needs: the dev-dependency line may enable more features for
/// other tests and benches, which the server should not pay for.
const TOKIO_FOR_ECHO: &str =
    r#"{ version = "1", features = ["rt", "net", "io-util", "macros", "signal"] }"#;

/// The `[dependencies]` of a server's throwaway package: minireactor itself if the source uses
/// it, and each dev-dependency of this package that it uses (`name::` in the source) as the
/// root `Cargo.toml` declares it, `name.workspace = true` resolved from
/// `[workspace.dependencies]` (tokio excepted, see [`TOKIO_FOR_ECHO`]). A line-based reading
/// that fits this manifest's style.
fn dependencies(source: &str) -> Result<String, String> {
    let path = package_dir().join("Cargo.toml");
    let manifest =
        fs::read_to_string(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let mut workspace = Vec::new();
    let mut dev = Vec::new();
    let mut section = "";
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line;
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        match section {
            "[workspace.dependencies]" => workspace.push((key, value)),
            "[dev-dependencies]" => dev.push((key, value)),
            _ => {}
        }
    }
    let uses = |name: &str| source.contains(&format!("{}::", name.replace('-', "_")));
    let mut lines = String::new();
    if uses("minireactor") {
        let root = package_dir().display().to_string();
        lines.push_str(&format!("minireactor = {{ path = {root:?} }}\n"));
    }
    for (key, value) in dev {
        let name = key.trim_end_matches(".workspace");
        if !uses(name) {
            continue;
        }
        let value = if name == "tokio" {
            TOKIO_FOR_ECHO
        } else if key == name {
            value
        } else {
            workspace
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| *v)
                .ok_or_else(|| format!("{name} is not in [workspace.dependencies]"))?
        };
        lines.push_str(&format!("{name} = {value}\n"));
    }
    Ok(lines)
}

/// Builds `example` alone in the fresh package `dir`. Returns the wall time in seconds, and the
/// binary's size before and after `strip`, in bytes.
fn build_alone(dir: &Path, example: &str, dependencies: &str) -> Result<(f64, u64, u64), String> {
    let io = |what: &str, e: std::io::Error| format!("{what} {}: {e}", dir.display());
    if dir.exists() {
        fs::remove_dir_all(dir).map_err(|e| io("removing", e))?;
    }
    fs::create_dir_all(dir).map_err(|e| io("creating", e))?;
    let source = package_dir().join(format!("examples/{example}.rs"));
    let manifest = format!(
        "[package]\nname = \"footprint-{example}\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\
         publish = false\n\n# A workspace of its own: this directory lies inside minireactor's.\n\
         [workspace]\n\n[[bin]]\nname = \"{example}\"\npath = {:?}\n\n[dependencies]\n{dependencies}",
        source.display().to_string()
    );
    fs::write(dir.join("Cargo.toml"), manifest).map_err(|e| io("writing the manifest in", e))?;
    let lock = package_dir().join("Cargo.lock");
    if lock.exists() {
        fs::copy(&lock, dir.join("Cargo.lock")).map_err(|e| io("copying Cargo.lock to", e))?;
    }

    eprintln!("clean build of {example} alone");
    let start = Instant::now();
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["build", "--release", "--quiet"])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .status()
        .map_err(|e| format!("running cargo: {e}"))?;
    let secs = start.elapsed().as_secs_f64();
    if !status.success() {
        return Err(format!(
            "the clean build of {example} in {} failed (see above)",
            dir.display()
        ));
    }

    let bin = dir.join("target/release").join(example);
    let stripped = dir.join(format!("{example}.stripped"));
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
    Ok((secs, size(&bin)?, size(&stripped)?))
}
