//! Which signals have listeners: installing our handler for the first listener of a signal and
//! restoring the previous disposition when the last one goes. Normal code only, serialised by
//! one `Mutex` that the handler never touches.
//!
//! # Races
//!
//! - Installation: the chain target is set to the current disposition *before* our handler is
//!   installed, so a delivery that reaches our handler at once already chains correctly; the
//!   disposition `sigaction` reports as replaced (the truth, read in the same call) then
//!   becomes the target if it differs.
//! - Restoration: a delivery that arrives before `sigaction` restores the previous disposition
//!   runs our handler, which chains to the previous handler; one that arrives after goes to the
//!   previous handler directly. Either way the previous handler sees it exactly once, and a
//!   handler run still in flight on another thread keeps a valid chain target.
//! - Someone else's `sigaction`: if our handler is no longer the installed one when the last
//!   listener goes, whoever replaced it keeps their disposition; we restore nothing.

use std::io;
use std::sync::{Mutex, MutexGuard};

use super::handler::{self, on_signal, MAX_SIGNAL};
use crate::sys::{self, SigInfoHandler, SignalAction};

/// A signal whose handler we installed.
struct Installed {
    listeners: usize,
    /// The disposition ours replaced, restored when `listeners` drops to zero.
    previous: SignalAction,
}

static INSTALLED: Mutex<[Option<Installed>; MAX_SIGNAL + 1]> =
    Mutex::new([const { None }; MAX_SIGNAL + 1]);

fn installed() -> MutexGuard<'static, [Option<Installed>; MAX_SIGNAL + 1]> {
    // Nothing panics under the lock; if something did, the table is still consistent.
    INSTALLED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn our_handler() -> usize {
    on_signal as SigInfoHandler as usize
}

/// One listener's hold on its signal's handler: while any exists, our handler is installed;
/// dropping the last puts back the disposition that was there before the first.
#[derive(Debug)]
pub(crate) struct Listening {
    signal: libc::c_int,
}

impl Listening {
    /// Counts a new listener for `signal` (a number [`handler::slot`] accepts), installing our
    /// handler if it is the first.
    pub(crate) fn start(signal: libc::c_int) -> io::Result<Listening> {
        let slot = handler::slot(signal).expect("the caller validated the signal number");
        let mut table = installed();
        let entry = &mut table[signal as usize];
        if let Some(installed) = entry {
            installed.listeners += 1;
            return Ok(Listening { signal });
        }
        if slot.eventfd().is_none() {
            slot.set_eventfd(minireactor_reactor::sys::eventfd()?);
        }
        let current = sys::signal_action(signal)?;
        slot.chain.set(&current);
        let ours = SignalAction::chaining(on_signal, &current);
        let previous = sys::set_signal_action(signal, &ours)?;
        if previous.handler() != current.handler()
            || previous.takes_siginfo() != current.takes_siginfo()
        {
            slot.chain.set(&previous); // Changed by another thread in between.
        }
        tracing::debug!(signal, ?previous, "signal handler installed");
        *entry = Some(Installed {
            listeners: 1,
            previous,
        });
        Ok(Listening { signal })
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        let mut table = installed();
        let entry = &mut table[self.signal as usize];
        let Some(installed) = entry else {
            return; // Unreachable: every `Listening` was counted.
        };
        installed.listeners -= 1;
        if installed.listeners == 0 {
            let previous = installed.previous;
            *entry = None;
            restore(self.signal, &previous);
        }
    }
}

/// Puts `previous` back, unless someone replaced our handler meanwhile (see the module
/// documentation). Failures are logged: this runs in `drop`.
fn restore(signal: libc::c_int, previous: &SignalAction) {
    match sys::signal_action(signal) {
        Ok(current) if current.handler() == our_handler() => {
            match sys::set_signal_action(signal, previous) {
                Ok(_) => tracing::debug!(signal, ?previous, "signal disposition restored"),
                Err(err) => tracing::debug!(signal, %err, "could not restore the disposition"),
            }
        }
        Ok(current) => tracing::debug!(
            signal,
            ?current,
            "our handler was replaced by someone else's; leaving theirs in place"
        ),
        Err(err) => tracing::debug!(signal, %err, "could not read the disposition"),
    }
}
