//! `devone-vmtest`: checks of the devone driver (`devone/module/devone.c`).
//!
//! Runs as root on a machine where `devone.ko` is loaded, normally inside
//! the test VM that `devone/vm/run.sh` boots.  It changes the module
//! parameters under `/sys/module/devone/parameters/` as each check needs
//! and puts them back to the defaults at the end.
//!
//! Output: one `PASS name (ms)` or `FAIL name: reason` line per check, then
//! `devone-vmtest: N passed, M failed`.  Exit status 0 only if all passed.
//!
//! Usage: `devone-vmtest [SUBSTRING]` runs the checks whose name contains
//! SUBSTRING (all of them without an argument); `devone-vmtest --list`
//! prints the names.

mod checks;
mod sys;

use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let arg = std::env::args().nth(1);
    if arg.as_deref() == Some("--list") {
        for check in checks::CHECKS {
            println!("{}", check.name);
        }
        return ExitCode::SUCCESS;
    }

    let selected = checks::CHECKS.iter().filter(|c| match arg.as_deref() {
        Some(filter) => c.name.contains(filter),
        None => true,
    });
    let (mut passed, mut failed) = (0u32, 0u32);
    for check in selected {
        let start = Instant::now();
        match (check.run)() {
            Ok(()) => {
                passed += 1;
                println!("PASS {} ({} ms)", check.name, start.elapsed().as_millis());
            }
            Err(reason) => {
                failed += 1;
                println!("FAIL {}: {reason}", check.name);
            }
        }
    }

    // Leave the module as insmod loaded it, for whatever runs next.
    if let Err(e) = sys::set_params(0, true) {
        failed += 1;
        println!("FAIL restore_default_params: {e}");
    }

    println!("devone-vmtest: {passed} passed, {failed} failed");
    if failed == 0 && passed > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
