//! Awaiting Unix signals: [`ctrl_c`] for SIGINT, [`signal`] for any other (SIGTERM, SIGHUP…).
//!
//! # Mechanism
//!
//! The first listener for a signal installs a process-wide handler for it (`sigaction`,
//! `SA_RESTART`) and creates one eventfd for it. The handler does only async-signal-safe work:
//! it bumps the signal's delivery counter (an atomic) and writes 1 to the eventfd. The eventfd is
//! never read, so its counter stays non-zero and every write is a new edge that *every* epoll
//! instance watching it sees; each listener watches its own `dup` of it through an
//! [`AsyncFd`], and compares the delivery counter with the value it last saw. So any number of
//! listeners, on any threads, each see every delivery.
//!
//! # Caveats
//!
//! - Once a listener for a signal has been created, the handler stays for the life of the
//!   process: the signal's default action (for SIGINT and SIGTERM, terminating the process)
//!   no longer happens, even after every listener is dropped. A server that awaits `ctrl_c`
//!   must exit by itself.
//! - Deliveries that happen close together may be reported as one (as the kernel itself merges
//!   pending standard signals); a listener sees at least one wake after each delivery that
//!   happens after it was created, not one wake per delivery.
//! - SIGKILL and SIGSTOP cannot be caught; SIGSEGV, SIGBUS, SIGILL and SIGFPE are refused,
//!   since returning from their handler would re-run the faulting instruction.
//!
//! ```no_run
//! minireactor::block_on(async {
//!     minireactor::signal::ctrl_c().await?;
//!     println!("interrupted, shutting down");
//!     Ok::<_, std::io::Error>(())
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```

use std::io;
use std::os::fd::{BorrowedFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::Mutex;

use crate::sys;
use crate::AsyncFd;

/// Highest signal number Linux has (`SIGRTMAX`).
const MAX_SIGNAL: usize = 64;

/// Per-signal state reached from the handler: only atomics, which are async-signal-safe.
struct SignalSlot {
    /// The eventfd the handler writes; -1 until the handler is installed.
    eventfd: AtomicI32,
    /// How many times the handler ran.
    deliveries: AtomicU64,
}

static SLOTS: [SignalSlot; MAX_SIGNAL + 1] = [const {
    SignalSlot {
        eventfd: AtomicI32::new(-1),
        deliveries: AtomicU64::new(0),
    }
}; MAX_SIGNAL + 1];

/// Serialises handler installation.
static INSTALL: Mutex<()> = Mutex::new(());

extern "C" fn on_signal(signal: libc::c_int) {
    let Some(slot) = usize::try_from(signal).ok().and_then(|s| SLOTS.get(s)) else {
        return;
    };
    // Count first, then write: a listener that sees the edge is sure to see the count.
    slot.deliveries.fetch_add(1, Ordering::SeqCst);
    let fd = slot.eventfd.load(Ordering::SeqCst);
    if fd >= 0 {
        sys::eventfd_notify_from_signal_handler(fd);
    }
}

/// A signal to listen for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SignalKind(libc::c_int);

impl SignalKind {
    /// SIGINT (Ctrl-C in a terminal).
    pub fn interrupt() -> SignalKind {
        SignalKind(libc::SIGINT)
    }

    /// SIGTERM (the polite request to stop, e.g. from `kill` or a service manager).
    pub fn terminate() -> SignalKind {
        SignalKind(libc::SIGTERM)
    }

    /// SIGHUP.
    pub fn hangup() -> SignalKind {
        SignalKind(libc::SIGHUP)
    }

    /// Any signal number; [`signal`] rejects the ones that cannot be handled.
    pub fn from_raw(signal: libc::c_int) -> SignalKind {
        SignalKind(signal)
    }

    /// The signal number.
    pub fn as_raw(self) -> libc::c_int {
        self.0
    }
}

/// Listens for deliveries of one signal. See the [module documentation](self).
#[derive(Debug)]
pub struct Signal {
    kind: SignalKind,
    /// This listener's `dup` of the signal's eventfd.
    fd: AsyncFd<OwnedFd>,
    /// The delivery count last reported.
    seen: u64,
}

/// Starts listening for `kind`, installing its handler if this is the first listener.
///
/// Only deliveries after this call are reported.
pub fn signal(kind: SignalKind) -> io::Result<Signal> {
    let slot = slot_for(kind)?;
    let eventfd = install_handler(kind, slot)?;
    // SAFETY: the eventfd is stored in SLOTS and never closed, so it is open for this borrow.
    let own_copy = unsafe { BorrowedFd::borrow_raw(eventfd) }.try_clone_to_owned()?;
    Ok(Signal {
        kind,
        fd: AsyncFd::new(own_copy)?,
        seen: slot.deliveries.load(Ordering::SeqCst),
    })
}

fn slot_for(kind: SignalKind) -> io::Result<&'static SignalSlot> {
    const FORBIDDEN: [libc::c_int; 6] = [
        libc::SIGKILL,
        libc::SIGSTOP,
        libc::SIGSEGV,
        libc::SIGBUS,
        libc::SIGILL,
        libc::SIGFPE,
    ];
    let slot = usize::try_from(kind.0)
        .ok()
        .filter(|&n| n >= 1 && !FORBIDDEN.contains(&kind.0))
        .and_then(|n| SLOTS.get(n));
    slot.ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("signal {} cannot be listened for", kind.0),
        )
    })
}

/// Installs the handler once per signal; returns the signal's eventfd.
fn install_handler(kind: SignalKind, slot: &SignalSlot) -> io::Result<RawFd> {
    let _installing = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    let existing = slot.eventfd.load(Ordering::SeqCst);
    if existing >= 0 {
        return Ok(existing);
    }
    let eventfd: OwnedFd = minireactor_reactor::sys::eventfd()?;
    let raw = std::os::fd::IntoRawFd::into_raw_fd(eventfd); // Lives as long as the process.
    slot.eventfd.store(raw, Ordering::SeqCst);
    if let Err(err) = sys::install_signal_handler(kind.0, on_signal) {
        slot.eventfd.store(-1, Ordering::SeqCst);
        // SAFETY: `raw` came from `into_raw_fd` above and was published to no one but the
        // handler, which is not installed.
        drop(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(raw) });
        return Err(err);
    }
    tracing::debug!(signal = kind.0, "signal handler installed");
    Ok(raw)
}

impl Signal {
    /// Waits for the next delivery of the signal.
    pub async fn recv(&mut self) {
        let slot = &SLOTS[self.kind.0 as usize];
        loop {
            let deliveries = slot.deliveries.load(Ordering::SeqCst);
            if deliveries != self.seen {
                self.seen = deliveries;
                return;
            }
            // The eventfd is never drained (see the module documentation), so readiness is an
            // edge, not a level: clear it, then re-check the count before waiting again. A
            // delivery racing with the clear bumped the count first, so the re-check sees it.
            // An error here means the listener was inherited across a fork: its eventfd still
            // works, but the registration does not; wait no more.
            let Ok(mut guard) = self.fd.readable().await else {
                return;
            };
            guard.clear_ready();
        }
    }

    /// Which signal this listens for.
    pub fn kind(&self) -> SignalKind {
        self.kind
    }
}

/// Waits for SIGINT (Ctrl-C). See the [module documentation](self) for the caveats.
pub async fn ctrl_c() -> io::Result<()> {
    signal(SignalKind::interrupt())?.recv().await;
    Ok(())
}
