//! `devone-vmtest`: checks of the devone driver (`devone/module/devone.c`).
//!
//! Runs as root on a machine where `devone.ko` is loaded, normally inside
//! the test VM that `devone/vm/run.sh` boots.  It changes the module
//! parameters under `/sys/module/devone/parameters/` as each check needs
//! and puts them back to the defaults at the end.
//!
//! Output: one `PASS name (ms)` or `FAIL name: reason` line per check, then
//! `devone-vmtest: N passed, M failed`.  Exit status 0 only if all passed.
//! A check that panics fails; one that hangs for [`WATCHDOG_SECS`] ends the
//! program with a `FAIL name: watchdog` line (and exit status 1).
//!
//! Usage: `devone-vmtest [SUBSTRING]` runs the checks whose name contains
//! SUBSTRING (all of them without an argument); `devone-vmtest --list`
//! prints the names.

// First, so that its `check!` and `ensure!` serve the other check lists.
#[macro_use]
mod checks;

mod blocking_driver;
mod offload;
mod sys;

use std::panic;
use std::process::ExitCode;
use std::time::Instant;

/// How long one check may run before the process watchdog ends the
/// program.  No check needs more than a few seconds (the longest does three
/// reads of a second each); the async checks have their own, shorter,
/// timeouts inside the runtime.
const WATCHDOG_SECS: u32 = 20;

/// Every check, in the order they run.
fn all_checks() -> impl Iterator<Item = &'static checks::Check> {
    checks::CHECKS
        .iter()
        .chain(blocking_driver::CHECKS)
        .chain(offload::CHECKS)
}

fn main() -> ExitCode {
    let arg = std::env::args().nth(1);
    if arg.as_deref() == Some("--list") {
        for check in all_checks() {
            println!("{}", check.name);
        }
        return ExitCode::SUCCESS;
    }

    let selected = all_checks().filter(|c| match arg.as_deref() {
        Some(filter) => c.name.contains(filter),
        None => true,
    });
    let (mut passed, mut failed) = (0u32, 0u32);
    for check in selected {
        let start = Instant::now();
        if let Err(e) = sys::arm_watchdog(check.name, WATCHDOG_SECS) {
            println!("FAIL {}: cannot arm the watchdog: {e}", check.name);
            failed += 1;
            continue;
        }
        // The panic message itself goes to stderr through the default hook.
        let outcome = panic::catch_unwind(check.run).unwrap_or_else(|payload| {
            let message = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
                .unwrap_or("(no message)");
            Err(format!("panicked: {message}"))
        });
        sys::disarm_watchdog();
        match outcome {
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
