//! [`Runtime`], [`block_on`], [`spawn`] and [`spawn_blocking`]: the public face of the executor.

use std::cell::Cell;
use std::future::{poll_fn, Future};
use std::io;
use std::panic::resume_unwind;
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::context::{self, Mode};
use crate::scheduler::Scheduler;
use crate::task::JoinHandle;
use crate::Builder;

/// A single-threaded runtime: an executor for local tasks, driven by this thread's reactor, and
/// a pool of threads for blocking work.
///
/// Most programs call [`block_on`]; create a `Runtime` (or configure one with a [`Builder`]) to
/// get the creation error instead of a panic, or to run several `block_on` calls over the same
/// set of spawned tasks.
///
/// Dropping the runtime drops every task that has not finished (each exactly once); their
/// `JoinHandle`s then report a cancellation, and wakers still held elsewhere stay safe to call.
/// Then it waits for the writes still in flight of files and stdio handles that were dropped
/// (theirs or the tasks'), so that a write reported done is not lost when the program exits
/// right after. As a blocking write would, this waits for as long as the write takes: a write
/// that cannot finish — to a pipe that only this thread reads, or that a process reads only
/// after this one has exited — makes the drop wait for ever (logging a warning every 10 s);
/// [`shutdown_timeout`](Self::shutdown_timeout) bounds it. It never waits for a
/// [`spawn_blocking`] closure or a read: one still running finishes on its thread, and its
/// result is dropped there (a write queued behind them gets a thread of its own).
///
/// A task is one allocation. A runtime keeps the blocks of its finished tasks (those of up to
/// 1 KiB) for its next spawns, so that a spawn costs no `malloc` and no `free` in the steady
/// state: while it is busy, and between two `block_on` calls, it keeps at most as many as it had
/// tasks at once; from the moment it waits for events with nothing to run, at most 64; its drop
/// frees them.
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
    /// How long the drop waits for the writes of dropped files: for ever, unless
    /// `shutdown_timeout` set a deadline.
    writes_deadline: Cell<Option<Instant>>,
}

impl Runtime {
    /// Creates a runtime on this thread (and the thread's reactor, on first use), with the
    /// [`Builder`]'s defaults.
    pub fn new() -> io::Result<Runtime> {
        Builder::new().build()
    }

    pub(crate) fn from_scheduler(scheduler: Scheduler) -> Runtime {
        Runtime {
            scheduler: Rc::new(scheduler),
            writes_deadline: Cell::new(None),
        }
    }

    /// Runs `future` to completion on this thread, along with every spawned task, and returns
    /// its output. A panic in `future` propagates to the caller.
    ///
    /// # Panics
    /// If called while a runtime is already running on this thread (a nested `block_on`), in a
    /// forked child on a runtime created before the fork (the child makes a runtime of its own),
    /// or if the reactor cannot wait for events.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        if let Err(err) = self.scheduler.reactor().check_not_inherited() {
            panic!("minireactor: this runtime cannot run: {err}");
        }
        let _running = context::enter(self.scheduler.clone(), Mode::Running);
        let _pool = minireactor_blocking::enter(self.scheduler.pool().clone());
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

    /// Runs `f` on this runtime's blocking pool; see [`spawn_blocking`].
    pub fn spawn_blocking<F, T>(&self, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        spawn_blocking_on(&self.scheduler, f)
    }

    /// Number of tasks spawned on this runtime that have not finished yet.
    pub fn live_tasks(&self) -> usize {
        self.scheduler.live_tasks()
    }

    /// How many threads this runtime's blocking pool has right now.
    pub fn blocking_threads(&self) -> usize {
        self.scheduler.pool().threads()
    }

    /// Shuts down gracefully: runs the runtime until every spawned task has finished, for at
    /// most `timeout`, then drops the runtime, cancelling whatever is left. Returns whether
    /// every task finished in time.
    ///
    /// Tasks must be told to stop first (a `CancellationToken`, a closed channel): this only
    /// lets them finish. As with `drop`, running `spawn_blocking` closures are not waited for;
    /// the writes of dropped files are, but only until the same deadline (a warning is logged
    /// if some are still running then).
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let runtime = minireactor::Runtime::new()?;
    /// runtime.spawn(minireactor::time::sleep(Duration::from_millis(5)));
    /// assert!(runtime.shutdown_timeout(Duration::from_secs(5)));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown_timeout(self, timeout: Duration) -> bool {
        // The pool's threads run in real time, whatever the runtime's clock: `Instant::now`.
        self.writes_deadline
            .set(Instant::now().checked_add(timeout));
        let scheduler = self.scheduler.clone();
        let drained = poll_fn(|cx| scheduler.poll_drained(cx));
        let finished = self
            .block_on(minireactor_reactor::time::timeout(timeout, drained))
            .is_ok();
        if !finished {
            tracing::debug!(
                live_tasks = self.live_tasks(),
                "shutdown timeout elapsed; cancelling the rest"
            );
        }
        finished
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        // While its tasks are dropped, their destructors may `spawn` (they get a cancelled
        // handle) or `block_on` another runtime (unless this drop runs inside a `block_on`).
        {
            let _shutting_down = context::enter(self.scheduler.clone(), Mode::ShuttingDown);
            self.scheduler.shutdown();
        }
        // In a forked child the pool's threads, which would run the writes, are the parent's.
        if self.scheduler.reactor().check_not_inherited().is_ok() {
            self.scheduler
                .pool()
                .wait_for_detached(self.writes_deadline.get());
        }
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
/// Dropping the returned handle detaches the task, which runs on.
///
/// ```
/// minireactor::block_on(async {
///     let handle = minireactor::spawn(async { "done" });
///     assert_eq!(handle.await.unwrap(), "done");
/// });
/// ```
///
/// Called from a destructor that the runtime's own shutdown runs, it returns a handle whose task
/// is already cancelled (the future is dropped at once).
///
/// # Panics
/// If no runtime is running on this thread (call it from inside `block_on`).
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    current_scheduler("spawn").spawn(future)
}

/// Runs `f` on a thread of the current runtime's blocking pool, and returns a handle to await
/// its result: for work that would otherwise stop every task — a blocking syscall, a driver that
/// ignores `O_NONBLOCK`, a long computation.
///
/// The pool starts threads as needed, up to a cap (64 unless the [`Builder`] says otherwise);
/// closures beyond it wait in a queue. A panic in `f` reaches the handle as a [`JoinError`]
/// whose `is_panic()` is true. Aborting the handle (or dropping the runtime) before `f` starts
/// means `f` never runs; once it has started, it runs to the end on its thread, nothing waits
/// for it, and its result is dropped there.
///
/// If the pool has no thread and none can be started (the process is at its thread limit),
/// `f` runs at once on the calling thread instead of waiting for a thread that may never
/// come — blocking the reactor thread, and every task, until it returns (logged as a warning).
///
/// ```
/// minireactor::block_on(async {
///     let sum = minireactor::spawn_blocking(|| (1..=100u64).sum::<u64>());
///     assert_eq!(sum.await.unwrap(), 5050);
/// });
/// ```
///
/// [`JoinError`]: crate::JoinError
///
/// # Panics
/// If no runtime is running on this thread.
pub fn spawn_blocking<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    spawn_blocking_on(&current_scheduler("spawn_blocking"), f)
}

fn spawn_blocking_on<F, T>(scheduler: &Scheduler, f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let mut blocking = scheduler.pool().spawn(f);
    // A panic in `f` is resumed inside the task, whose harness turns it into its JoinError.
    scheduler.spawn(async move {
        match poll_fn(|cx| blocking.poll_catch(cx)).await {
            Ok(value) => value,
            Err(payload) => resume_unwind(payload),
        }
    })
}

/// The runtime this thread is running (or shutting down).
///
/// # Panics
/// If there is none.
fn current_scheduler(what: &str) -> Rc<Scheduler> {
    context::current().unwrap_or_else(|| {
        panic!(
            "minireactor: `{what}` called outside a runtime; call it from a future run by \
             `block_on`, or use `Runtime::{what}`"
        )
    })
}
