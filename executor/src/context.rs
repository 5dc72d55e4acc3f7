//! Which runtime, if any, this thread is running or shutting down right now.
//!
//! Set by `block_on` for its duration, and by a runtime's shutdown, through a guard that restores
//! the previous state even if the future panics. A wake on this thread for the running runtime
//! goes straight into its run queue; any other wake takes the cross-thread path.
//!
//! Every access uses `try_with`: at thread exit this slot may be destroyed before a runtime or a
//! task stored in another thread-local is dropped, and that drop must still work.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use crate::scheduler::{Scheduler, Shared};

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
}

/// Makes `scheduler` this thread's current runtime in `mode` until the guard is dropped.
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
        Ok(current.replace((scheduler, mode)))
    });
    match previous {
        Ok(Ok(previous)) => EnterGuard {
            previous,
            entered: true,
        },
        Ok(Err(())) => panic!(
            "minireactor: cannot call `block_on` while a runtime is already running on this \
             thread: the inner call would block the thread that drives every task. \
             Use `.await` on the future, or `spawn` it, instead."
        ),
        // The thread is exiting and the slot is gone: run without it (wakes go remote).
        Err(_) => EnterGuard {
            previous: None,
            entered: false,
        },
    }
}

/// Restores the previous current runtime when dropped.
pub(crate) struct EnterGuard {
    previous: Option<(Rc<Scheduler>, Mode)>,
    entered: bool,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        if !self.entered {
            return;
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
    CURRENT
        .try_with(|current| matches!(&*current.borrow(), Some((_, Mode::Running))))
        .unwrap_or(false)
}

/// Runs `f` with the running runtime if it is the one that owns `shared`.
pub(crate) fn with_running<R>(shared: &Arc<Shared>, f: impl FnOnce(&Scheduler) -> R) -> Option<R> {
    CURRENT
        .try_with(|current| match &*current.borrow() {
            Some((scheduler, Mode::Running)) if Arc::ptr_eq(scheduler.shared(), shared) => {
                Some(f(scheduler))
            }
            _ => None,
        })
        .ok()
        .flatten()
}
