//! The executor of minireactor: local tasks polled on one thread, parked in the reactor when
//! there is nothing to run, and a pool of threads for blocking work.
//!
//! Reading order:
//! 1. `runtime` — [`Runtime`], [`block_on`], [`spawn`], [`spawn_blocking`]; `builder` — its
//!    settings.
//! 2. `scheduler` — the live tasks, the run queue, the recycled task blocks, the `block_on`
//!    loop, shutdown; `run_queue` — the queue, linked through the tasks' headers, and who drops
//!    its entries; `remote` — the queue and flags of wakes from other threads (modelled with
//!    loom).
//! 3. `task` — a task in one allocation (`task::raw`, with `run_queue` the only unsafe code
//!    here), its waker, [`JoinHandle`], [`AbortHandle`], [`JoinError`], [`Id`].
//! 4. `join_set` — [`JoinSet`], a set of tasks joined as they finish.
//! 5. `context` — which runtime runs on this thread, with its run queue and recycled task
//!    blocks while it runs; nested `block_on` detection.
//! 6. `yield_now` — [`yield_now`], which lets the reactor turn first.
//!
//! The loop, in short: poll the queued entries — tasks, and the `block_on` future when woken —
//! up to a batch of 128, each with a cooperative budget; turn the reactor — without blocking if
//! anything is still runnable, otherwise until an fd, a timer or another thread wakes something.

mod builder;
mod context;
mod join_set;
mod remote;
mod run_queue;
mod runtime;
mod scheduler;
mod sync;
pub mod task;
mod yield_now;

pub use builder::{Builder, DEFAULT_TASK_BATCH};
pub use join_set::JoinSet;
pub use runtime::{block_on, spawn, spawn_blocking, Runtime};
pub use task::{AbortHandle, Id, JoinError, JoinHandle};
pub use yield_now::yield_now;
