//! The executor of minireactor: local tasks polled on one thread, parked in the reactor when
//! there is nothing to run.
//!
//! Reading order:
//! 1. `runtime` — [`Runtime`], [`block_on`], [`spawn`].
//! 2. `scheduler` — the task slab, the run queue, the `block_on` loop and its fairness batch.
//! 3. `task` — a task's future and output in one cell; panics are caught per poll.
//! 4. `join` — [`JoinHandle`] and [`JoinError`].
//! 5. `waker` — task and `block_on` wakers: local wakes are a queue push, remote wakes lock a
//!    queue and unpark the reactor.
//! 6. `context` — which runtime runs on this thread; nested `block_on` detection.
//!
//! The loop, in short: poll the `block_on` future if it was woken; poll up to 128 queued tasks;
//! turn the reactor — without blocking if anything is still runnable, otherwise until an fd, a
//! timer or another thread wakes something.

mod context;
mod join;
mod runtime;
mod scheduler;
mod task;
mod waker;
mod yield_now;

pub use join::{JoinError, JoinHandle};
pub use runtime::{block_on, spawn, Runtime};
pub use yield_now::yield_now;
