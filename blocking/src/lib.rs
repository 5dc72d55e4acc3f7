//! The blocking pool of minireactor: threads for the work that would otherwise stop the reactor
//! thread — a regular file (which epoll refuses), a DNS lookup, a driver that ignores
//! `O_NONBLOCK`, a computation that takes a while.
//!
//! [`unblock`] runs a closure on a pool thread and returns a future of its result; the result
//! comes back through the awaiting task's waker, which for a minireactor task is the runtime's
//! cross-thread wake (a queue push and at most one eventfd write per sleep). It does not depend
//! on the executor: any executor whose wakers work from other threads can await it.
//!
//! Reading order: `pool` ([`Pool`]: the threads, started lazily up to a cap, exiting when idle),
//! then `job` (one closure and its result in one allocation; [`Blocking`], the future).
//!
//! Which pool: the one of the runtime running on this thread (the executor [`enter`]s it for the
//! duration of `block_on`), else a process-wide default pool with the default settings.
//!
//! ```
//! minireactor::block_on(async {
//!     let len = minireactor_blocking::unblock(|| std::fs::read("/proc/self/stat").map(|b| b.len()));
//!     assert!(len.await? > 0);
//!     Ok::<_, std::io::Error>(())
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```

mod job;
mod pool;

use std::cell::RefCell;
use std::sync::OnceLock;

pub use job::Blocking;
pub use pool::{Pool, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_THREADS};

thread_local! {
    /// The pool of the runtime running on this thread, if any.
    static CURRENT: RefCell<Option<Pool>> = const { RefCell::new(None) };
}

/// Runs `f` on a thread of the current pool (see the [crate documentation](crate)).
///
/// A panic in `f` is resumed in the task that awaits the result. Dropping the future before `f`
/// has started means `f` never runs; once started, `f` runs to the end and its result is dropped.
///
/// If the pool has no thread and none can be started (the process is at its thread limit),
/// `f` runs at once on the calling thread instead — blocking it until `f` returns (logged as a
/// warning) — rather than wait for a thread that may never come.
pub fn unblock<F, T>(f: F) -> Blocking<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    current().spawn(f)
}

/// The pool [`unblock`] uses on this thread.
pub fn current() -> Pool {
    CURRENT
        .try_with(|current| current.borrow().clone())
        .ok()
        .flatten()
        .unwrap_or_else(|| {
            static DEFAULT: OnceLock<Pool> = OnceLock::new();
            DEFAULT.get_or_init(Pool::default).clone()
        })
}

/// Makes `pool` this thread's current pool until the guard is dropped; the executor calls it
/// for the duration of a `block_on`.
pub fn enter(pool: Pool) -> EnterGuard {
    let previous = CURRENT
        .try_with(|current| current.replace(Some(pool)))
        .ok()
        .flatten();
    EnterGuard { previous }
}

/// Restores the previous current pool when dropped.
#[derive(Debug)]
pub struct EnterGuard {
    previous: Option<Pool>,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        // `try_with`: at thread exit the slot may already be gone, and then there is nothing to
        // restore. The replaced pool is dropped after the borrow.
        let replaced = CURRENT.try_with(|current| current.replace(previous));
        drop(replaced);
    }
}
