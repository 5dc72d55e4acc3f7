//! Where things are: the workspace (BENCHMARKS.md, `Cargo.lock`, the root package and its
//! examples) and the profile directory of the running bench binary (the servers it builds, its
//! scratch files).

use std::path::{Path, PathBuf};

/// The workspace root, where BENCHMARKS.md and the root package `minireactor` are.
pub fn workspace_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("minireactor-benches lies in a directory of the workspace")
}

/// The profile directory the running bench was built into (`<target>/release`): a bench
/// binary is `<target>/release/deps/NAME-HASH`, whatever `CARGO_TARGET_DIR` says.
pub fn profile_dir() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("locating the bench binary: {e}"))?;
    exe.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .ok_or_else(|| format!("unexpected bench binary location {}", exe.display()))
}

/// `<target>/release/NAME`, created if needed: a bench's scratch directory.
pub fn work_dir(name: &str) -> Result<PathBuf, String> {
    let dir = profile_dir()?.join(name);
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    Ok(dir)
}
