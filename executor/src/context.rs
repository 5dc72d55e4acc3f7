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
//! scheduler is borrowed on a wake.
//!
//! Invariant: `RUNNING` is non-null exactly while a `block_on` runs on this thread, and then
//! `RUN_QUEUE` holds that runtime's queue.
//!
//! Every access uses `try_with`: at thread exit these slots may be destroyed before a runtime or
//! a task stored in another thread-local is dropped, and that drop must still work.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;

use crate::scheduler::{Runnable, Scheduler, Shared};

/// What this thread is doing with a runtime.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Inside `block_on`: tasks are polled, wakes are local pushes.
    Running,
    /// Inside the runtime's drop: tasks are being dropped; `spawn` gives a cancelled handle,
    /// and `block_on` (of another runtime) is allowed.
    ShuttingDown,
}

thread_local! {
    static CURRENT: RefCell<Option<(Rc<Scheduler>, Mode)>> = const { RefCell::new(None) };
    /// The `Shared` of the runtime running here, as an identity: compared, never dereferenced.
    static RUNNING: Cell<*const Shared> = const { Cell::new(std::ptr::null()) };
    /// The running runtime's run queue.
    static RUN_QUEUE: RefCell<VecDeque<Runnable>> = const { RefCell::new(VecDeque::new()) };
}

/// Makes `scheduler` this thread's current runtime in `mode` until the guard is dropped; to run
/// it, also moves its run queue here.
///
/// Shutting down is always allowed, even inside another runtime's `block_on` (a runtime dropped
/// by a task, or while a nested `block_on` unwinds): its tasks' destructors then see their own
/// runtime, and the outer one is restored after.
///
/// # Panics
/// Entering to run while a runtime is already running on this thread (a nested `block_on`).
pub(crate) fn enter(scheduler: Rc<Scheduler>, mode: Mode) -> EnterGuard {
    let previous = CURRENT.try_with(|current| {
        let mut current = current.borrow_mut();
        if mode == Mode::Running && matches!(&*current, Some((_, Mode::Running))) {
            return Err(());
        }
        Ok(current.replace((scheduler.clone(), mode)))
    });
    let previous = match previous {
        Ok(Ok(previous)) => previous,
        Ok(Err(())) => panic!(
            "minireactor: cannot call `block_on` while a runtime is already running on this \
             thread: the inner call would block the thread that drives every task. \
             Use `.await` on the future, or `spawn` it, instead."
        ),
        // The thread is exiting and the slot is gone: run without it (wakes go remote).
        Err(_) => {
            return EnterGuard {
                previous: None,
                entered: None,
            }
        }
    };
    let running = mode == Mode::Running;
    if running {
        RUNNING.set(Arc::as_ptr(scheduler.shared()));
        let queue = scheduler.take_run_queue();
        RUN_QUEUE.with_borrow_mut(|run_queue| *run_queue = queue);
    }
    EnterGuard {
        previous,
        entered: Some((scheduler, running)),
    }
}

/// Restores the previous current runtime when dropped, and gives a running runtime its queue
/// back.
pub(crate) struct EnterGuard {
    previous: Option<(Rc<Scheduler>, Mode)>,
    /// The runtime entered, and whether to run; `None` if the thread-locals were gone.
    entered: Option<(Rc<Scheduler>, bool)>,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let Some((scheduler, running)) = self.entered.take() else {
            return;
        };
        if running {
            RUNNING.set(std::ptr::null());
            let queue = RUN_QUEUE
                .try_with(|run_queue| std::mem::take(&mut *run_queue.borrow_mut()))
                .unwrap_or_default();
            scheduler.give_back_run_queue(queue);
        }
        let previous = self.previous.take();
        let replaced = CURRENT.try_with(|current| current.replace(previous));
        drop(replaced); // After the borrow: dropping the scheduler may drop tasks.
    }
}

/// The runtime this thread is running or shutting down, if any.
pub(crate) fn current() -> Option<Rc<Scheduler>> {
    CURRENT
        .try_with(|current| {
            current
                .borrow()
                .as_ref()
                .map(|(scheduler, _)| scheduler.clone())
        })
        .ok()
        .flatten()
}

/// Whether this thread is inside a `block_on` (not only shutting a runtime down).
pub(crate) fn is_running() -> bool {
    !RUNNING.get().is_null()
}

/// Whether the runtime that owns `shared` is the one running on this thread.
#[inline]
pub(crate) fn is_running_here(shared: &Arc<Shared>) -> bool {
    std::ptr::eq(RUNNING.get(), Arc::as_ptr(shared))
}

/// Queues an entry for the running runtime. Only call it after [`is_running_here`].
#[inline]
pub(crate) fn push_local(runnable: Runnable) {
    RUN_QUEUE.with_borrow_mut(|run_queue| run_queue.push_back(runnable));
}

/// The next entry of the running runtime's queue.
#[inline]
pub(crate) fn pop_local() -> Option<Runnable> {
    RUN_QUEUE.with_borrow_mut(VecDeque::pop_front)
}

/// Whether the running runtime's queue is empty.
#[inline]
pub(crate) fn local_is_empty() -> bool {
    RUN_QUEUE.with_borrow(VecDeque::is_empty)
}

/// Appends entries woken from other threads to the running runtime's queue.
pub(crate) fn extend_local(woken: Vec<Runnable>) {
    RUN_QUEUE.with_borrow_mut(|run_queue| run_queue.extend(woken));
}
