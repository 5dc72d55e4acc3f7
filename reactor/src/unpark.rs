//! Waking a reactor that is blocked in `epoll_wait` from another thread.
//!
//! An eventfd is registered edge-triggered with the reactor's epoll instance. Each write to it is
//! a new edge, so it never needs draining; it is reset only if a write would overflow its counter.
//!
//! Writes are coalesced by two flags, with this handshake:
//! - the reactor sets `parked`, then reads `notified`; if set, it does not block;
//! - an unparker sets `notified`, then reads `parked`; if set, it writes the eventfd.
//!
//! Each side has a `SeqCst` fence between its store and its load, so the two fences are ordered
//! one way or the other and the side whose fence comes second sees the other's flag: whatever
//! the interleaving, a notification is never lost. (Without an ordering both loads may read the
//! old `false`, store buffering on x86 included, and the reactor sleeps with work queued.
//! `SeqCst` on the four accesses would do as well, but loom models `SeqCst` fences and not
//! `SeqCst` loads and stores; on x86 the reactor's fence costs what its `SeqCst` store did, and
//! an unparker pays one fence more, only when it is the first since the reactor woke.) Only
//! the first notification after the reactor last woke writes, so there is at most one write per
//! wake-up of the reactor, and never more writes than notifications. (A notification that lands
//! just after the wait returned, before `parked` is cleared, still writes: the next blocking
//! wait then returns at once, a spurious wake and nothing worse.) The reactor clears `notified`
//! when it wakes, *before* its caller looks at whatever the notifier queued, and the two swaps
//! of `notified` synchronise, so work queued before the clear is seen then and work queued after
//! it sets `notified` afresh.
//!
//! Loom checks all of this (`loom_tests`, run with
//! `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 cargo test -p minireactor-reactor --release
//! --lib loom`). Loom does not see the eventfd: the model reads `eventfd_writes`, incremented
//! just before each write, as the kernel's counter.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::Arc;

use crate::sync::{fence, AtomicBool, AtomicU64, Ordering};
use crate::sys;

#[cfg(all(test, loom))]
mod loom_tests;

/// State shared between a reactor and its [`Unparker`]s.
#[derive(Debug)]
struct Shared {
    eventfd: OwnedFd,
    /// The reactor is in (or about to enter) a blocking wait.
    parked: AtomicBool,
    /// A notification arrived since the reactor last woke.
    notified: AtomicBool,
    /// How many times the eventfd was written; exposed so tests can prove coalescing (and read
    /// by the loom models as the eventfd itself).
    eventfd_writes: AtomicU64,
}

/// Wakes the reactor of another thread. Cheap to clone; `Send + Sync`.
#[derive(Clone, Debug)]
pub struct Unparker {
    shared: Arc<Shared>,
}

impl Unparker {
    pub(crate) fn new() -> io::Result<Unparker> {
        Ok(Unparker {
            shared: Arc::new(Shared {
                eventfd: sys::eventfd()?,
                parked: AtomicBool::new(false),
                notified: AtomicBool::new(false),
                eventfd_writes: AtomicU64::new(0),
            }),
        })
    }

    /// The eventfd to register with the reactor's epoll instance.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.shared.eventfd.as_fd()
    }

    /// Makes the reactor's current or next `turn` return promptly. Call it after queueing the
    /// work the reactor's thread should look at.
    pub fn unpark(&self) {
        let shared = &*self.shared;
        // Release: whoever consumes this notification (`end_park`) sees the work queued before.
        if shared.notified.swap(true, Ordering::AcqRel) {
            return; // Already notified since the reactor last woke; that wake covers this one.
        }
        fence(Ordering::SeqCst); // The handshake: see the module documentation.
        if !shared.parked.load(Ordering::Relaxed) {
            return; // The reactor is awake and will see `notified` before it blocks.
        }
        shared.eventfd_writes.fetch_add(1, Ordering::Relaxed);
        let fd = shared.eventfd.as_fd();
        if let Err(err) = sys::eventfd_write(fd) {
            if err.kind() == io::ErrorKind::WouldBlock {
                // The counter is full (after ~2^64 writes): reset it and write again.
                let _ = sys::eventfd_reset(fd);
                let _ = sys::eventfd_write(fd);
            } else {
                tracing::error!(%err, "failed to write the unpark eventfd");
            }
        }
    }

    /// How many times this reactor's eventfd has been written: at most one write per wake-up of
    /// the reactor, and never more than the number of `unpark` calls.
    pub fn eventfd_writes(&self) -> u64 {
        self.shared.eventfd_writes.load(Ordering::Relaxed)
    }

    /// Called by the reactor before a wait that may block: returns `false` if a notification is
    /// already pending, in which case the wait must not block.
    pub(crate) fn begin_park(&self) -> bool {
        self.shared.parked.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst); // The handshake: see the module documentation.
        !self.shared.notified.load(Ordering::Relaxed)
    }

    /// Called by the reactor after every wait: consumes pending notifications and says whether
    /// there was one.
    pub(crate) fn end_park(&self) -> bool {
        self.shared.parked.store(false, Ordering::Relaxed);
        // Acquire: the caller then looks at the work queued before the notifications it consumes.
        self.shared.notified.swap(false, Ordering::AcqRel)
    }
}
