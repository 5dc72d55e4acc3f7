//! Counting user-space instructions with `valgrind --tool=callgrind`: the words to put in front
//! of a program's command line, and the total that the profile of a finished run holds.
//!
//! Callgrind counts every instruction the process executes in user space (its `Ir`), so two
//! runs of the same work give nearly the same figure (within 1 % here), whatever else the
//! machine is doing; the kernel's share of a syscall is not counted. To count one piece of
//! work, the drivers run it twice with different amounts of work and take the difference, so
//! that startup and teardown cancel out.

use std::ffi::OsString;
use std::fs;
use std::path::Path;

use crate::report::first_line;

/// What to tell a user whose machine has no valgrind.
pub const INSTALL_HINT: &str = "install it: apt-get install -y valgrind";

/// `valgrind -q --tool=callgrind --callgrind-out-file=OUT`: run the program after these words
/// and its profile goes to `out`.
pub fn command_prefix(out: &Path) -> Vec<OsString> {
    let mut words: Vec<OsString> = ["valgrind", "-q", "--tool=callgrind"]
        .map(OsString::from)
        .into();
    let mut arg = OsString::from("--callgrind-out-file=");
    arg.push(out);
    words.push(arg);
    words
}

/// The total instruction count of the profile at `out` (its `totals:` line or, in older
/// versions of valgrind, `summary:`).
pub fn total_instructions(out: &Path) -> Result<u64, String> {
    let text = fs::read_to_string(out).map_err(|e| format!("reading {}: {e}", out.display()))?;
    text.lines()
        .find_map(|line| {
            line.strip_prefix("totals:")
                .or(line.strip_prefix("summary:"))
        })
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| format!("no totals in {}", out.display()))
}

/// The version valgrind reports, e.g. `valgrind-3.19.0`, or `?` without valgrind.
pub fn version() -> String {
    first_line("valgrind", &["--version"])
}
