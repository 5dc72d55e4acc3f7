//! The wakers handed to tasks and to the `block_on` future.
//!
//! Both are `Arc`s implementing `futures_task::ArcWake`, so they are `Send + Sync` and stay safe
//! to call after the runtime is gone. A wake on the runtime's own thread, while it runs, pushes
//! to the local run queue: no lock, no syscall. Any other wake pushes to the runtime's locked
//! remote queue and unparks its reactor.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use futures_task::ArcWake;

use crate::context;
use crate::scheduler::{Shared, TaskId};

/// The waker of one spawned task.
pub(crate) struct TaskWaker {
    /// Slab key and generation of the task; a stale id is skipped by the scheduler.
    pub(crate) id: TaskId,
    /// Set while the task sits in a run queue. A wake that finds it set does nothing, so one
    /// poll answers any number of wakes; the scheduler clears it just before polling, so a wake
    /// during the poll queues the task again to be polled afterwards.
    scheduled: AtomicBool,
    shared: Arc<Shared>,
}

impl TaskWaker {
    /// A waker for a task that is queued as it is created.
    pub(crate) fn new_scheduled(id: TaskId, shared: Arc<Shared>) -> TaskWaker {
        TaskWaker {
            id,
            scheduled: AtomicBool::new(true),
            shared,
        }
    }

    /// Called by the scheduler just before it polls the task.
    pub(crate) fn unschedule(&self) {
        self.scheduled.store(false, Ordering::SeqCst);
    }
}

impl ArcWake for TaskWaker {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        if arc_self.scheduled.swap(true, Ordering::SeqCst) {
            return;
        }
        let id = arc_self.id;
        let queued_locally =
            context::with_scheduler_of(&arc_self.shared, |scheduler| scheduler.push_local(id));
        if queued_locally.is_none() {
            arc_self.shared.push_remote(id);
        }
    }
}

/// The waker of the future passed to `block_on`, which is not a task: it is polled by the loop
/// itself whenever `woken` is set.
pub(crate) struct MainWaker {
    woken: AtomicBool,
    shared: Arc<Shared>,
}

impl MainWaker {
    /// Starts woken, so the future is polled once at the start.
    pub(crate) fn new(shared: Arc<Shared>) -> MainWaker {
        MainWaker {
            woken: AtomicBool::new(true),
            shared,
        }
    }

    /// Consumes a pending wake.
    pub(crate) fn take_woken(&self) -> bool {
        self.woken.swap(false, Ordering::SeqCst)
    }

    pub(crate) fn is_woken(&self) -> bool {
        self.woken.load(Ordering::SeqCst)
    }
}

impl ArcWake for MainWaker {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        arc_self.woken.store(true, Ordering::SeqCst);
        // The loop checks `woken` before it parks; only another thread has to interrupt a park.
        if context::with_scheduler_of(&arc_self.shared, |_| ()).is_none() {
            arc_self.shared.unpark();
        }
    }
}
