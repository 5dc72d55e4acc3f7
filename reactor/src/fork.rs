//! Noticing that this process is a forked child, so that it stops using its parent's reactor.
//!
//! After `fork` the child has copies of the parent's reactor objects, and its copy of the epoll
//! fd refers to the *same* epoll instance as the parent's: waiting on it would steal the parent's
//! events, and deleting from it would remove the parent's fds. So a `pthread_atfork` handler
//! counts forks in the child, every reactor remembers the count at its creation, and a reactor
//! whose count is stale is the parent's: it refuses to wait or register (with an error that says
//! so), deletes nothing from epoll, and `Reactor::current` builds the child a new one.
//!
//! The handler only increments an atomic, which is async-signal-safe, as a handler run in the
//! child of a multi-threaded process must be.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use crate::sys;

/// How many times this process has been forked off its parent (and theirs): 0 in the process
/// that installed the handler, one more in each generation of children.
static FORKS: AtomicU64 = AtomicU64::new(0);

unsafe extern "C" fn count_fork_in_child() {
    FORKS.fetch_add(1, Ordering::Relaxed);
}

/// Installs the fork handler (once per process); reactors call it before they are created.
pub(crate) fn watch() -> io::Result<()> {
    static INSTALLED: OnceLock<Result<(), i32>> = OnceLock::new();
    let installed = INSTALLED.get_or_init(|| {
        sys::at_fork_in_child(count_fork_in_child)
            .map_err(|err| err.raw_os_error().unwrap_or(libc::ENOMEM))
    });
    installed.map_err(io::Error::from_raw_os_error)
}

/// The current fork count; see [`FORKS`].
#[inline(always)]
pub(crate) fn count() -> u64 {
    FORKS.load(Ordering::Relaxed)
}
