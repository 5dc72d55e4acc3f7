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
///
/// Between two polls, a task is queued at most once locally and at most once remotely, so any
/// number of wakes costs at most two polls (one if they all come from one side). Each queue has
/// its own flag, set when the task is queued and cleared just before it is polled, so a wake
/// during the poll queues it again, to be polled afterwards. The local flag is only touched
/// on the runtime's thread, so it needs no read-modify-write; only the remote flag pays for a
/// locked instruction, and only when it is set.
pub(crate) struct TaskWaker {
    /// Slab key and generation of the task; a stale id is skipped by the scheduler.
    pub(crate) id: TaskId,
    /// In the local run queue. Accessed only on the runtime's thread, with plain loads and stores.
    queued_locally: AtomicBool,
    /// In the remote queue. Set by other threads with a swap, so only one of them queues it.
    queued_remotely: AtomicBool,
    shared: Arc<Shared>,
}

impl TaskWaker {
    /// A waker for a task that is queued locally as it is created.
    pub(crate) fn new_scheduled(id: TaskId, shared: Arc<Shared>) -> TaskWaker {
        TaskWaker {
            id,
            queued_locally: AtomicBool::new(true),
            queued_remotely: AtomicBool::new(false),
            shared,
        }
    }

    /// Called by the scheduler, on the runtime's thread, just before it polls the task.
    pub(crate) fn unschedule(&self) {
        self.queued_locally.store(false, Ordering::Relaxed);
        // Usually clear already, and a plain load is cheap. If it reads a stale `false`, the
        // remote queue still holds this task, and the poll that entry causes clears the flag:
        // the scheduler drains that queue under its mutex, after the swap that set the flag.
        if self.queued_remotely.load(Ordering::Relaxed) {
            // A swap, not a store: it synchronises with the waking thread's swap, so the poll
            // that follows sees whatever that thread wrote before waking.
            self.queued_remotely.swap(false, Ordering::SeqCst);
        }
    }
}

impl ArcWake for TaskWaker {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        let id = arc_self.id;
        let local = context::with_scheduler_of(&arc_self.shared, |scheduler| {
            if !arc_self.queued_locally.load(Ordering::Relaxed) {
                arc_self.queued_locally.store(true, Ordering::Relaxed);
                scheduler.push_local(id);
            }
        });
        if local.is_none() && !arc_self.queued_remotely.swap(true, Ordering::SeqCst) {
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
