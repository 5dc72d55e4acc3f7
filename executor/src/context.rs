//! Which runtime, if any, this thread is running or shutting down right now, and the running
//! runtime's local run queue.
//!
//! Set by `block_on` for its duration, and by a runtime's shutdown, through a guard that restores
//! the previous state even if the future panics. A wake on this thread for the running runtime
//! goes straight into its run queue; any other wake takes the cross-thread path.
//!
//! The wake path is the hottest code of the executor, so what it needs sits in two thread-locals
//! of its own: `RUNNING`, the identity of the running runtime (a pointer only compared, never
//! followed), and `RUN_QUEUE`, the running runtime's queue, moved here from its scheduler for
//! the duration of its `block_on` and moved back after. No `Rc` is cloned and no `Option` of a
//! scheduler is borrowed on a wake. The running runtime's recycled task blocks
//! (`TASK_BLOCKS`) move here the same way, for spawns and the frees of the last references.
//!
//! Invariants: `RUNNING` is non-null exactly while a `block_on` runs on this thread, and then
//! `RUN_QUEUE` holds that runtime's queue and `TASK_BLOCKS` its recycled task blocks; at most
//! one `block_on` runs on a thread at a time, even inside a runtime's shutdown. Outside
//! `block_on` and shutdown, `CURRENT` is `None`, and `RUN_QUEUE` and `TASK_BLOCKS` are empty,
//! with no allocation.
//!
//! None of these thread-locals has a destructor (their values are `ManuallyDrop`, and by the
//! invariants above there is nothing in them to drop when a thread exits), so they are never
//! destroyed: a runtime, a task or a `block_on` in another thread-local's destructor works at
//! thread exit, whatever order the thread-locals are destroyed in.

use std::cell::{Cell, RefCell};
use std::mem::ManuallyDrop;
use std::rc::Rc;
use std::sync::Arc;

use crate::run_queue::{QueuedTask, RunQueue};
use crate::scheduler::{Runnable, Scheduler, Shared, TaskBlocks};
use crate::task::raw::Marked;

/// What this thread is doing with a runtime.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Inside `block_on`: tasks are polled, wakes are local pushes.
    Running,
    /// Inside the runtime's drop: tasks are being dropped; `spawn` gives a cancelled handle,
    /// and `block_on` (of another runtime) is allowed unless a `block_on` is running around the
    /// shutdown.
    ShuttingDown,
}

/// The runtime this thread is running or shutting down, and which of the two.
type Entered = (Rc<Scheduler>, Mode);

thread_local! {
    static CURRENT: RefCell<ManuallyDrop<Option<Entered>>> =
        const { RefCell::new(ManuallyDrop::new(None)) };
    /// The `Shared` of the runtime running here, as an identity: compared, never dereferenced.
    static RUNNING: Cell<*const Shared> = const { Cell::new(std::ptr::null()) };
    /// The running runtime's run queue.
    static RUN_QUEUE: ManuallyDrop<RunQueue> = const { ManuallyDrop::new(RunQueue::new()) };
    /// The running runtime's recycled task blocks.
    static TASK_BLOCKS: ManuallyDrop<TaskBlocks> = const { ManuallyDrop::new(TaskBlocks::new()) };
}

/// Makes `scheduler` this thread's current runtime in `mode` until the guard is dropped; to run
/// it, also moves its run queue here.
///
/// Shutting down is always allowed, even inside another runtime's `block_on` (a runtime dropped
/// by a task, or while a nested `block_on` unwinds): its tasks' destructors then see their own
/// runtime, and the outer one is restored after.
///
/// # Panics
/// Entering to run while a `block_on` is already running on this thread (a nested `block_on`,
/// also one in a destructor that the shutdown of a runtime dropped inside it runs).
pub(crate) fn enter(scheduler: Rc<Scheduler>, mode: Mode) -> EnterGuard {
    let running = mode == Mode::Running;
    if running && is_running() {
        panic!(
            "minireactor: cannot call `block_on` while a runtime is already running on this \
             thread: the inner call would block the thread that drives every task. \
             Use `.await` on the future, or `spawn` it, instead."
        );
    }
    let previous = CURRENT.with_borrow_mut(|current| current.replace((scheduler.clone(), mode)));
    if running {
        RUNNING.set(Arc::as_ptr(scheduler.shared()));
        let queue = scheduler.take_run_queue();
        RUN_QUEUE.with(|run_queue| {
            debug_assert!(run_queue.is_empty(), "no block_on was running");
            run_queue.append(queue);
        });
        TASK_BLOCKS.with(|blocks| {
            debug_assert!(blocks.is_empty(), "no block_on was running");
            blocks.swap(scheduler.task_blocks());
        });
    }
    EnterGuard {
        previous,
        scheduler,
        running,
    }
}

/// Restores the previous current runtime when dropped, and gives a running runtime its queue
/// back.
pub(crate) struct EnterGuard {
    previous: Option<Entered>,
    scheduler: Rc<Scheduler>,
    running: bool,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        if self.running {
            // First: from here on, a freed task block goes to the global allocator, not to
            // `TASK_BLOCKS`, which must be left empty.
            RUNNING.set(std::ptr::null());
            TASK_BLOCKS.with(|blocks| blocks.swap(self.scheduler.task_blocks()));
            let queue = RUN_QUEUE.with(|run_queue| run_queue.take());
            self.scheduler.give_back_run_queue(queue);
        }
        let previous = self.previous.take();
        let replaced =
            CURRENT.with_borrow_mut(|current| std::mem::replace(&mut **current, previous));
        drop(replaced); // After the borrow: dropping the scheduler may drop tasks.
    }
}

/// The runtime this thread is running or shutting down, if any.
#[inline]
pub(crate) fn current() -> Option<Rc<Scheduler>> {
    CURRENT.with_borrow(|current| current.as_ref().map(|(scheduler, _)| scheduler.clone()))
}

/// Whether this thread is inside a `block_on` (not only shutting a runtime down).
#[inline]
pub(crate) fn is_running() -> bool {
    !RUNNING.get().is_null()
}

/// Whether the runtime that owns `shared` is the one running on this thread.
#[inline]
pub(crate) fn is_running_here(shared: &Arc<Shared>) -> bool {
    std::ptr::eq(RUNNING.get(), Arc::as_ptr(shared))
}

/// Queues a task for the running runtime. Only call it after [`is_running_here`] (for the
/// task's runtime).
#[inline]
pub(crate) fn push_local_task(task: Marked) {
    RUN_QUEUE.with(move |run_queue| run_queue.push_task(task));
}

/// Queues the running `block_on`'s future. Only call it after [`is_running_here`].
#[inline]
pub(crate) fn push_local_main() {
    RUN_QUEUE.with(|run_queue| run_queue.push_main());
}

/// The next entry of the running runtime's queue.
#[inline]
pub(crate) fn pop_local() -> Option<Option<QueuedTask>> {
    RUN_QUEUE.with(|run_queue| run_queue.pop())
}

/// Whether the running runtime's queue is empty.
#[inline]
pub(crate) fn local_is_empty() -> bool {
    RUN_QUEUE.with(|run_queue| run_queue.is_empty())
}

/// Calls `f` with the running runtime's recycled task blocks. Only call it after
/// [`is_running_here`]: a runtime recycles only its own tasks' blocks.
#[inline]
pub(crate) fn with_task_blocks<R>(f: impl FnOnce(&TaskBlocks) -> R) -> R {
    debug_assert!(
        is_running(),
        "task blocks are recycled only while a runtime runs"
    );
    TASK_BLOCKS.with(|blocks| f(blocks))
}

/// How many recycled task blocks the running runtime holds.
#[inline]
pub(crate) fn task_blocks_listed() -> usize {
    TASK_BLOCKS.with(|blocks| blocks.len())
}

/// Frees the running runtime's recycled task blocks beyond `keep`; how many it freed.
pub(crate) fn trim_task_blocks(keep: usize) -> usize {
    TASK_BLOCKS.with(|blocks| blocks.trim(keep))
}

/// Appends entries woken from other threads to the running runtime's queue.
pub(crate) fn extend_local(woken: Vec<Runnable>) {
    RUN_QUEUE.with(|run_queue| run_queue.extend(woken));
}
