//! The scheduler: the task slab, the local run queue, and the loop that `block_on` runs.
//!
//! Invariants:
//! - A task is in the slab from `spawn` until it completes, is aborted and reaped, or the
//!   runtime shuts down; between two polls its id (slab key and generation) is queued at most
//!   once locally and once remotely (see `TaskWaker`).
//! - No `RefCell` borrow is held while a task is polled or dropped: a task may spawn, wake,
//!   or drop other tasks' handles from inside its poll or its destructor.
//! - Each pass of the loop polls at most [`BATCH`] tasks, then turns the reactor (without
//!   blocking if work remains), so a task that keeps waking itself cannot starve I/O or timers.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_task::waker_ref;
use minireactor_reactor::{Reactor, Unparker};
use slab::Slab;

use crate::join::JoinHandle;
use crate::task::{Task, TaskCell};
use crate::waker::{MainWaker, TaskWaker};

/// A task's slab key in the low 32 bits, its generation in the high 32.
pub(crate) type TaskId = u64;

/// How many tasks one pass polls before the reactor is turned again.
const BATCH: usize = 128;

/// The part of a runtime that other threads reach through wakers.
pub(crate) struct Shared {
    /// Tasks woken from other threads, drained by the runtime's thread.
    remote: Mutex<Vec<TaskId>>,
    /// Set when `remote` may be non-empty, so the runtime only locks when there is work.
    has_remote: AtomicBool,
    /// Set once the runtime is dropped: later remote wakes are ignored.
    closed: AtomicBool,
    unparker: Unparker,
}

impl Shared {
    /// Queues a task woken from outside the runtime's thread and interrupts a blocking turn.
    pub(crate) fn push_remote(&self, id: TaskId) {
        if self.closed.load(Ordering::SeqCst) {
            return;
        }
        self.remote
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(id);
        self.has_remote.store(true, Ordering::SeqCst);
        self.unparker.unpark();
    }

    pub(crate) fn unpark(&self) {
        self.unparker.unpark();
    }
}

/// The runtime's state that lives on its thread.
pub(crate) struct Scheduler {
    shared: Arc<Shared>,
    reactor: Rc<Reactor>,
    /// Every live task.
    tasks: RefCell<Slab<Rc<dyn Task>>>,
    /// Generation for the next spawned task.
    next_generation: Cell<u32>,
    /// Tasks ready to be polled, in wake order.
    run_queue: RefCell<VecDeque<TaskId>>,
}

impl Scheduler {
    pub(crate) fn new() -> std::io::Result<Scheduler> {
        let reactor = Reactor::current()?;
        Ok(Scheduler {
            shared: Arc::new(Shared {
                remote: Mutex::new(Vec::new()),
                has_remote: AtomicBool::new(false),
                closed: AtomicBool::new(false),
                unparker: reactor.unparker(),
            }),
            reactor,
            tasks: RefCell::new(Slab::new()),
            next_generation: Cell::new(0),
            run_queue: RefCell::new(VecDeque::new()),
        })
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    pub(crate) fn push_local(&self, id: TaskId) {
        self.run_queue.borrow_mut().push_back(id);
    }

    /// Number of live tasks.
    pub(crate) fn live_tasks(&self) -> usize {
        self.tasks.borrow().len()
    }

    pub(crate) fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let generation = self.next_generation.get();
        self.next_generation.set(generation.wrapping_add(1));
        let mut tasks = self.tasks.borrow_mut();
        let entry = tasks.vacant_entry();
        let key = u32::try_from(entry.key()).expect("minireactor: more than 2^32 live tasks");
        let id = (u64::from(generation) << 32) | u64::from(key);
        let waker = Arc::new(TaskWaker::new_scheduled(id, self.shared.clone()));
        let cell = Rc::new(TaskCell::new(future, waker));
        entry.insert(cell.clone());
        drop(tasks);
        self.push_local(id);
        tracing::trace!(task.id = id, "spawn");
        JoinHandle::new(cell)
    }

    /// Runs `future` to completion, driving every task and the reactor meanwhile.
    pub(crate) fn block_on<F: Future>(&self, future: F) -> F::Output {
        let main_waker = Arc::new(MainWaker::new(self.shared.clone()));
        let waker = waker_ref(&main_waker);
        let mut cx = Context::from_waker(&waker);
        let mut future = std::pin::pin!(future);
        loop {
            if main_waker.take_woken() {
                if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                    return output;
                }
            }
            self.run_batch();
            let idle = self.run_queue.borrow().is_empty()
                && !main_waker.is_woken()
                && !self.shared.has_remote.load(Ordering::SeqCst);
            let timeout = if idle { None } else { Some(Duration::ZERO) };
            if let Err(err) = self.reactor.turn(timeout) {
                panic!("minireactor: epoll_wait failed: {err}");
            }
        }
    }

    /// Polls up to [`BATCH`] queued tasks.
    fn run_batch(&self) {
        self.take_remote();
        for _ in 0..BATCH {
            let Some(id) = self.run_queue.borrow_mut().pop_front() else {
                return;
            };
            self.run_task(id);
        }
    }

    /// Moves tasks woken from other threads into the local run queue.
    fn take_remote(&self) {
        // A plain load first: the swap is a locked instruction, and the queue is nearly always
        // empty.
        if !self.shared.has_remote.load(Ordering::SeqCst)
            || !self.shared.has_remote.swap(false, Ordering::SeqCst)
        {
            return;
        }
        let woken =
            std::mem::take(&mut *self.shared.remote.lock().unwrap_or_else(|e| e.into_inner()));
        self.run_queue.borrow_mut().extend(woken);
    }

    fn run_task(&self, id: TaskId) {
        let key = (id & u64::from(u32::MAX)) as usize;
        let task: *const dyn Task = match self.tasks.borrow().get(key) {
            Some(task) if task.waker().id == id => Rc::as_ptr(task),
            _ => return, // Completed or aborted since it was queued.
        };
        // SAFETY: the slab's `Rc` keeps the task alive until this function removes it below:
        // nothing else takes a task out of the slab while the runtime is running (only
        // `shutdown`, from `Runtime::drop`, which cannot run while `block_on` borrows the
        // runtime). The slab borrow itself is released, so the task may spawn while polled,
        // which can move the slab's `Rc`s but not the tasks they point to.
        let task = unsafe { &*task };
        let task_waker = task.waker();
        task_waker.unschedule();
        let waker = waker_ref(task_waker);
        let mut cx = Context::from_waker(&waker);
        tracing::trace!(task.id = id, "poll");
        if task.poll(&mut cx).is_ready() {
            let removed = self.tasks.borrow_mut().remove(key);
            drop(removed); // After the borrow: the output may be dropped here.
            tracing::trace!(task.id = id, "complete");
        }
    }

    /// Drops every task exactly once (cancelling it for its joiner) and refuses later wakes.
    pub(crate) fn shutdown(&self) {
        self.shared.closed.store(true, Ordering::SeqCst);
        loop {
            // Take the tasks out first: a future's destructor may spawn or drop other handles.
            let tasks: Vec<_> = self.tasks.borrow_mut().drain().collect();
            if tasks.is_empty() {
                break;
            }
            for task in tasks {
                task.cancel();
            }
        }
        self.run_queue.borrow_mut().clear();
        self.shared
            .remote
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}
