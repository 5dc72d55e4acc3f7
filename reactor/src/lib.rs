//! The reactor of minireactor: one edge-triggered epoll instance per thread, the readiness of
//! every registered fd, the timers, the cooperative budget, and a way for other threads to
//! interrupt a blocking wait.
//!
//! Reading order:
//! 1. `sys` — every raw syscall (epoll, eventfd, fcntl, atfork), in one file.
//! 2. `readiness` — the readiness bits and how epoll's event mask maps onto them.
//! 3. `source` — per-fd state in the slab: readiness stamped with a tick, and the waiters.
//! 4. `reactor` — the thread-local [`Reactor`] and its [`Reactor::turn`]; `fork` — how a
//!    forked child stops using its parent's.
//! 5. `registration` — [`Registration`], what an I/O resource holds, and [`Readiness`], the
//!    future that waits on it.
//! 6. [`coop`] — the budget that makes a task with always-ready resources yield.
//! 7. `timers` and [`time`] — the arena of timers and min-heap of deadlines, the clock (real or paused),
//!    and the `Sleep`/`Timeout`/`Interval` futures.
//! 8. `unpark` — [`Unparker`], the cross-thread wake through an eventfd.
//! 9. [`free_blocks`] — [`FreeBlocks`](free_blocks::FreeBlocks), lists of freed memory blocks
//!    by size class, handed out again without the global allocator; [`local_rc`] —
//!    [`LocalRc`](local_rc::LocalRc), the `Rc` of the sync primitives made per operation (a
//!    `oneshot` per request), whose blocks a per-thread `FreeBlocks` recycles. The executor
//!    recycles its task blocks through a `FreeBlocks` too.
//!
//! The contract with I/O resources, in one paragraph: every fd is registered once,
//! edge-triggered, for all directions. Readiness, once seen, stays set until the resource
//! observes `EAGAIN`/`WouldBlock` and clears it with the [`ReadyEvent`] it acted on; a clear is
//! ignored if a newer event arrived meanwhile. So the I/O loop is always: wait for readiness, try
//! the operation, and on `WouldBlock` clear and wait again.

pub mod coop;
mod fork;
pub mod free_blocks;
pub mod local_rc;
mod reactor;
mod readiness;
mod registration;
mod source;
mod sync;
#[doc(hidden)]
pub mod sys;
#[cfg(test)]
mod test_waker;
pub mod time;
mod timers;
mod unpark;

pub use reactor::{Reactor, DEFAULT_EVENT_CAPACITY};
pub use readiness::{Interest, Ready, ReadyEvent};
pub use registration::{Readiness, Registration};
pub use unpark::Unparker;
