//! [`Runtime`], [`block_on`] and [`spawn`]: the public face of the executor.

use std::future::Future;
use std::io;
use std::rc::Rc;

use crate::context;
use crate::join::JoinHandle;
use crate::scheduler::Scheduler;

/// A single-threaded runtime: an executor for local tasks, driven by this thread's reactor.
///
/// Most programs call [`block_on`]; create a `Runtime` to get the creation error instead of a
/// panic, or to run several `block_on` calls over the same set of spawned tasks.
///
/// Dropping the runtime drops every task that has not finished (each exactly once); their
/// `JoinHandle`s then report a cancellation, and wakers still held elsewhere stay safe to call.
///
/// ```
/// let runtime = minireactor::Runtime::new()?;
/// let answer = runtime.block_on(async {
///     let task = minireactor::spawn(async { 21 });
///     task.await.unwrap() * 2
/// });
/// assert_eq!(answer, 42);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Runtime {
    scheduler: Rc<Scheduler>,
}

impl Runtime {
    /// Creates a runtime on this thread (and the thread's reactor, on first use).
    pub fn new() -> io::Result<Runtime> {
        Ok(Runtime {
            scheduler: Rc::new(Scheduler::new()?),
        })
    }

    /// Runs `future` to completion on this thread, along with every spawned task, and returns
    /// its output. A panic in `future` propagates to the caller.
    ///
    /// # Panics
    /// If called while a runtime is already running on this thread (a nested `block_on`).
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let _running = context::enter(self.scheduler.clone());
        self.scheduler.block_on(future)
    }

    /// Spawns a task on this runtime; it runs during this runtime's `block_on` calls.
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.scheduler.spawn(future)
    }

    /// Number of tasks spawned on this runtime that have not finished yet.
    pub fn live_tasks(&self) -> usize {
        self.scheduler.live_tasks()
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        // Let destructors of dropped futures call `spawn` on this runtime; if another runtime
        // is running here (this one dropped inside its `block_on`), they must do without.
        let _running = context::try_enter(self.scheduler.clone());
        self.scheduler.shutdown();
    }
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("live_tasks", &self.live_tasks())
            .finish()
    }
}

/// Runs `future` to completion on a new runtime on this thread.
///
/// ```
/// let value = minireactor::block_on(async { 1 + 1 });
/// assert_eq!(value, 2);
/// ```
///
/// # Panics
/// If the thread's reactor cannot be created (e.g. out of file descriptors; use
/// [`Runtime::new`] to get that error instead), or if called from within a running runtime.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let runtime = Runtime::new()
        .unwrap_or_else(|err| panic!("minireactor: cannot create the runtime: {err}"));
    runtime.block_on(future)
}

/// Spawns a task on the runtime running on this thread. The future need not be `Send`.
///
/// ```
/// minireactor::block_on(async {
///     let handle = minireactor::spawn(async { "done" });
///     assert_eq!(handle.await.unwrap(), "done");
/// });
/// ```
///
/// # Panics
/// If no runtime is running on this thread (call it from inside `block_on`).
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    match context::current() {
        Some(scheduler) => scheduler.spawn(future),
        None => panic!(
            "minireactor: `spawn` called outside a runtime; call it from a future run by \
             `block_on`, or use `Runtime::spawn`"
        ),
    }
}
