//! Which runtime, if any, is running on this thread right now.
//!
//! Set by `block_on` for its duration (and by a runtime's shutdown), through a guard that
//! restores the previous state even if the future panics. A wake on this thread for the current
//! runtime goes straight into its run queue; anything else takes the cross-thread path.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;

use crate::scheduler::{Scheduler, Shared};

thread_local! {
    static CURRENT: RefCell<Option<Rc<Scheduler>>> = const { RefCell::new(None) };
    /// The same scheduler as a plain pointer, for the wake path, which runs on every local wake:
    /// reading a `Cell` costs less than borrowing the `RefCell` and checking the `Option`.
    /// Invariant: non-null exactly while `CURRENT` holds the `Rc` it points into.
    static CURRENT_PTR: Cell<*const Scheduler> = const { Cell::new(std::ptr::null()) };
}

/// Marks `scheduler` as this thread's running runtime until the guard is dropped.
///
/// # Panics
/// If a runtime is already running on this thread (a nested `block_on`).
pub(crate) fn enter(scheduler: Rc<Scheduler>) -> EnterGuard {
    try_enter(scheduler).unwrap_or_else(|| {
        panic!(
            "minireactor: cannot call `block_on` while a runtime is already running on this \
             thread: the inner call would block the thread that drives every task. \
             Use `.await` on the future, or `spawn` it, instead."
        )
    })
}

/// Like [`enter`], but returns `None` instead of panicking if a runtime is already running.
pub(crate) fn try_enter(scheduler: Rc<Scheduler>) -> Option<EnterGuard> {
    CURRENT.with(|current| {
        let mut current = current.borrow_mut();
        if current.is_some() {
            return None;
        }
        CURRENT_PTR.with(|ptr| ptr.set(Rc::as_ptr(&scheduler)));
        *current = Some(scheduler);
        Some(EnterGuard(()))
    })
}

/// Clears the current runtime when dropped.
pub(crate) struct EnterGuard(());

impl Drop for EnterGuard {
    fn drop(&mut self) {
        // `try_with`: during thread teardown the slot may already be gone.
        let _ = CURRENT_PTR.try_with(|ptr| ptr.set(std::ptr::null()));
        let previous = CURRENT.try_with(|current| current.borrow_mut().take());
        drop(previous); // After the borrow: dropping the scheduler may drop tasks.
    }
}

/// The runtime running on this thread, if any.
pub(crate) fn current() -> Option<Rc<Scheduler>> {
    CURRENT
        .try_with(|current| current.borrow().clone())
        .ok()
        .flatten()
}

/// Runs `f` with the current runtime if it is the one that owns `shared`.
pub(crate) fn with_scheduler_of<R>(
    shared: &Arc<Shared>,
    f: impl FnOnce(&Scheduler) -> R,
) -> Option<R> {
    let ptr = CURRENT_PTR.try_with(Cell::get).ok()?;
    if ptr.is_null() {
        return None;
    }
    // SAFETY: a non-null `CURRENT_PTR` points into the `Rc<Scheduler>` that `CURRENT` holds
    // (see the invariant on `CURRENT_PTR`); it stays alive for this call, which cannot clear
    // `CURRENT` since only `EnterGuard::drop` does, and no guard is dropped by `f`, which only
    // pushes to a queue.
    let scheduler = unsafe { &*ptr };
    Arc::ptr_eq(scheduler.shared(), shared).then(|| f(scheduler))
}
