//! The signal handler, and the per-signal state it touches: statics made of atomics only, since
//! a handler may run on any thread, at any instruction, and may use nothing that locks or
//! allocates.
//!
//! Per signal, a [`Slot`] holds:
//! - the eventfd the handler writes (created once, before the handler is first installed, and
//!   never closed, so a handler can never write a closed or reused fd number);
//! - the [`Ring`] of recent deliveries;
//! - the [`Chain`]: the handler that was installed before ours, which ours calls.
//!
//! The handler records the delivery, writes the eventfd, then calls the previous handler, and
//! restores `errno` before returning. It is async-signal-safe: atomics, `write(2)`, and the
//! previous handler (which was async-signal-safe before we came, or it was already broken).

use std::os::fd::BorrowedFd;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};

use super::ring::{Record, Ring};
use crate::sys::{self, SignalAction};

/// Highest signal number Linux has (`SIGRTMAX`).
pub(crate) const MAX_SIGNAL: usize = 64;

/// What the handler knows of one signal. See the module documentation.
pub(crate) struct Slot {
    /// The eventfd; -1 until the first listener for the signal creates it.
    eventfd: AtomicI32,
    pub(crate) ring: Ring,
    pub(crate) chain: Chain,
}

static SLOTS: [Slot; MAX_SIGNAL + 1] = [const {
    Slot {
        eventfd: AtomicI32::new(-1),
        ring: Ring::new(),
        chain: Chain::new(),
    }
}; MAX_SIGNAL + 1];

/// The slot of signal number `signal`, if it has one (1 to [`MAX_SIGNAL`]).
pub(crate) fn slot(signal: libc::c_int) -> Option<&'static Slot> {
    usize::try_from(signal)
        .ok()
        .filter(|&n| n >= 1)
        .and_then(|n| SLOTS.get(n))
}

impl Slot {
    /// The signal's eventfd, if it was created.
    pub(crate) fn eventfd(&self) -> Option<BorrowedFd<'static>> {
        let fd = self.eventfd.load(Ordering::Acquire);
        // SAFETY: a stored eventfd is never closed (see `set_eventfd`), so it is open for
        // 'static.
        (fd >= 0).then(|| unsafe { BorrowedFd::borrow_raw(fd) })
    }

    /// Stores the signal's eventfd, which from now on lives as long as the process. Called
    /// once per signal, under the registry's lock, before the handler is first installed.
    pub(crate) fn set_eventfd(&self, eventfd: std::os::fd::OwnedFd) {
        let raw = std::os::fd::IntoRawFd::into_raw_fd(eventfd);
        self.eventfd.store(raw, Ordering::Release);
    }
}

/// The handler ours replaced, to be called after ours.
///
/// Written only by the registry (under its lock), read by the handler: two buffers and an index
/// to the current one, so that a handler run never reads half of an old target and half of a
/// new one unless the target is replaced twice during that run — which takes two complete
/// restore-and-reinstall cycles of the signal while one handler runs.
pub(crate) struct Chain {
    current: AtomicUsize,
    targets: [ChainTarget; 2],
}

struct ChainTarget {
    /// A handler's address, or `SIG_DFL`/`SIG_IGN` (nothing to call).
    handler: AtomicUsize,
    takes_siginfo: AtomicBool,
}

impl Chain {
    const fn new() -> Chain {
        Chain {
            current: AtomicUsize::new(0),
            targets: [const {
                ChainTarget {
                    handler: AtomicUsize::new(libc::SIG_DFL),
                    takes_siginfo: AtomicBool::new(false),
                }
            }; 2],
        }
    }

    /// Makes `previous` the handler to chain to. Registry only, under its lock.
    ///
    /// `SIG_DFL` and `SIG_IGN` chain to nothing: an ignored signal stays ignored, and a default
    /// action cannot be run from inside a handler — while a listener exists, listening *is*
    /// the signal's action (that is the point of listening for SIGINT or SIGTERM). Our own
    /// handler is never a target (that would be a loop).
    pub(crate) fn set(&self, previous: &SignalAction) {
        let handler = match previous.handler() {
            address if address == on_signal as sys::SigInfoHandler as usize => libc::SIG_DFL,
            address => address,
        };
        let spare = 1 - self.current.load(Ordering::Relaxed);
        let target = &self.targets[spare];
        target.handler.store(handler, Ordering::Relaxed);
        target
            .takes_siginfo
            .store(previous.takes_siginfo(), Ordering::Relaxed);
        self.current.store(spare, Ordering::Release);
    }

    fn call(&self, signal: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
        let target = &self.targets[self.current.load(Ordering::Acquire)];
        let handler = target.handler.load(Ordering::Relaxed);
        if handler == libc::SIG_DFL || handler == libc::SIG_IGN {
            return;
        }
        let takes_siginfo = target.takes_siginfo.load(Ordering::Relaxed);
        // SAFETY: `handler` is the address of a handler that sigaction reported as installed
        // before ours, with SA_SIGINFO exactly if `takes_siginfo` (see `set`); we are in a
        // signal handler, passing on the kernel's own arguments.
        unsafe { sys::call_signal_handler(handler, takes_siginfo, signal, info, context) };
    }
}

/// The handler installed for every signal that has listeners. See the module documentation.
pub(crate) extern "C" fn on_signal(
    signal: libc::c_int,
    info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) {
    let errno = sys::SavedErrno::save();
    if let Some(slot) = slot(signal) {
        // SAFETY: installed with SA_SIGINFO, so `info` is the kernel's siginfo for this signal.
        let sender = unsafe { sys::siginfo_sender(info) };
        // Record first, then write: a listener woken by the edge finds the record complete.
        slot.ring.record(Record { sender });
        if let Some(eventfd) = slot.eventfd() {
            sys::eventfd_notify_from_signal_handler(eventfd);
        }
        slot.chain.call(signal, info, context);
    }
    errno.restore();
}
