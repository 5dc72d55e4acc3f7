//! The scheduler: the set of live tasks, the run queue, and the loop that `block_on` runs.
//!
//! Invariants:
//! - A task is in `live` from `spawn` until it finishes (completes, panics, is aborted) or the
//!   runtime shuts down; between two polls it is queued at most once locally and, remotely, once
//!   plus at most one push that raced with the poll's start (see the flags in `task::raw` and
//!   `remote`).
//! - The `block_on` future is scheduled like a task: its wake puts an entry in the same run
//!   queue, so it is polled in turn with the tasks, never only between batches.
//! - No `RefCell` borrow is held while a task or the `block_on` future is polled or dropped: a
//!   task may spawn, wake, or drop other tasks' handles from inside its poll or its destructor.
//! - Freed task blocks of up to `TaskBlocks::MAX_SIZE` bytes are kept for the next spawns, with
//!   no bound while the runtime is busy (they are at most as many as the tasks that were live at
//!   once) and at most `IDLE_TASK_BLOCKS` from the moment it waits for events with nothing to
//!   run; the runtime's drop frees them.
//! - Each pass polls at most `batch` entries, then turns the reactor (without blocking if work
//!   remains); every poll gets a cooperative budget, so neither a task that keeps waking itself
//!   nor one whose resources are always ready can starve I/O or timers.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::resume_unwind;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures_task::{waker_ref, ArcWake};
use minireactor_reactor::free_blocks::FreeBlocks;
use minireactor_reactor::{coop, Reactor, Unparker};
use slab::Slab;

use crate::context;
use crate::remote::{QueuedFlag, RemoteQueue};
use crate::run_queue::{QueuedTask, RunQueue};
use crate::task::raw::{self, Marked, PollOutcome, TaskRef};
use crate::task::{Id, JoinHandle};

/// Freed task blocks, recycled by the next spawns: those of up to 1 KiB, in 64 size classes.
/// A spawn and join of a small task then costs no `malloc` and no `free`, which were more than a
/// third of its instructions (`spawn_join_100k` in BENCHMARKS.md).
pub(crate) type TaskBlocks = FreeBlocks<64>;

/// The task blocks an idle runtime keeps for its next spawns; those beyond are freed.
const IDLE_TASK_BLOCKS: usize = 64;

/// An entry of the remote queue: a task, with a reference of its own, or `None` for the future
/// of the current `block_on`.
pub(crate) type Runnable = Option<TaskRef>;

/// The part of a runtime that other threads reach through wakers.
pub(crate) struct Shared {
    /// Entries woken from other threads, drained by the runtime's thread; closed when the
    /// runtime shuts down, so that later remote wakes are dropped.
    remote: RemoteQueue<Runnable>,
    unparker: Unparker,
}

impl Shared {
    /// Queues an entry woken from outside the runtime's thread and interrupts a blocking turn.
    pub(crate) fn push_remote(&self, runnable: Runnable) {
        match self.remote.push(runnable) {
            Ok(()) => self.unparker.unpark(),
            // Dropped here: the runtime is gone, nothing will poll it.
            Err(refused) => drop(refused),
        }
    }
}

/// Settings of a scheduler, from the runtime's `Builder`.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    /// Entries polled per pass before the reactor turns.
    pub(crate) batch: usize,
    pub(crate) pool: minireactor_blocking::Pool,
}

/// The runtime's state that lives on its thread.
pub(crate) struct Scheduler {
    shared: Arc<Shared>,
    reactor: Rc<Reactor>,
    config: Config,
    /// Every task that has not finished, each holding a reference to it.
    live: RefCell<Slab<TaskRef>>,
    /// Entries ready to be polled, in wake order, while the runtime is not running (while it
    /// runs, its queue is in `context`).
    run_queue: RunQueue,
    /// Set by the runtime's drop: a task spawned from then on is cancelled at once.
    shutting_down: Cell<bool>,
    /// How deep the drops of futures spawned during shutdown are nested right now.
    shutdown_spawn_depth: Cell<usize>,
    /// Woken when the last live task finishes (`Runtime::shutdown_timeout` waits for it).
    on_drained: RefCell<Option<Waker>>,
    /// Freed task blocks, while the runtime is not running (while it runs, they are in
    /// `context`).
    task_blocks: TaskBlocks,
}

impl Scheduler {
    pub(crate) fn new(config: Config) -> std::io::Result<Scheduler> {
        let reactor = Reactor::current()?;
        Ok(Scheduler {
            shared: Arc::new(Shared {
                remote: RemoteQueue::new(),
                unparker: reactor.unparker(),
            }),
            reactor,
            config,
            live: RefCell::new(Slab::new()),
            run_queue: RunQueue::new(),
            shutting_down: Cell::new(false),
            shutdown_spawn_depth: Cell::new(0),
            on_drained: RefCell::new(None),
            task_blocks: TaskBlocks::new(),
        })
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    pub(crate) fn reactor(&self) -> &Reactor {
        &self.reactor
    }

    pub(crate) fn pool(&self) -> &minireactor_blocking::Pool {
        &self.config.pool
    }

    pub(crate) fn task_blocks(&self) -> &TaskBlocks {
        &self.task_blocks
    }

    /// Hands the run queue to `context` for a `block_on`.
    pub(crate) fn take_run_queue(&self) -> RunQueue {
        self.run_queue.take()
    }

    /// Takes the run queue back after a `block_on`, without its entries for that `block_on`'s
    /// future, which would only cause spurious polls of the next one.
    pub(crate) fn give_back_run_queue(&self, queue: RunQueue) {
        queue.remove_main();
        queue.append(self.run_queue.take()); // Entries queued meanwhile (none, in practice).
        self.run_queue.append(queue);
    }

    /// Queues a newly spawned task.
    fn push(&self, task: Marked) {
        if context::is_running_here(&self.shared) {
            context::push_local_task(task);
        } else {
            self.run_queue.push_task(task);
        }
    }

    /// Number of live tasks.
    pub(crate) fn live_tasks(&self) -> usize {
        self.live.borrow().len()
    }

    pub(crate) fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        if self.shutting_down.get() {
            return self.spawn_during_shutdown(future);
        }
        let id = Id::next();
        let task = raw::allocate(future, id, self.shared.clone());
        let join = JoinHandle::new(task.join);
        let mut live = self.live.borrow_mut();
        task.live.set_live_key(live.vacant_key());
        live.insert(task.live);
        drop(live);
        self.push(task.queued);
        tracing::trace!(task.id = %id, "spawn");
        join
    }

    /// A spawn from a destructor that shutdown runs: the task is cancelled at once, its future
    /// dropped here. If that drop spawns again, and so on, the chain is cut after
    /// [`MAX_SHUTDOWN_SPAWN_DEPTH`] levels by forgetting the future instead of dropping it (a
    /// leak, logged as an error), so that a destructor that always spawns cannot make shutdown
    /// recurse forever.
    fn spawn_during_shutdown<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let depth = self.shutdown_spawn_depth.get();
        if depth >= MAX_SHUTDOWN_SPAWN_DEPTH {
            tracing::error!(
                depth,
                "destructors kept spawning during shutdown; forgetting the future to stop"
            );
            return self.cancelled_at_once(Forgotten(std::mem::ManuallyDrop::new(future)));
        }
        self.shutdown_spawn_depth.set(depth + 1);
        let join = self.cancelled_at_once(future);
        self.shutdown_spawn_depth.set(depth);
        join
    }

    fn cancelled_at_once<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let id = Id::next();
        tracing::debug!(task.id = %id, "spawned during shutdown: cancelled at once");
        let task = raw::allocate(future, id, self.shared.clone());
        // Its joiner is the handle returned below: nobody waits on it yet.
        let _no_joiner = task.live.cancel();
        JoinHandle::new(task.join)
    }

    /// Runs `future` to completion, driving every task and the reactor meanwhile.
    pub(crate) fn block_on<F: Future>(&self, future: F) -> F::Output {
        let main = Arc::new(MainWaker {
            queued: QueuedFlag::new(true),
            shared: self.shared.clone(),
        });
        let waker = waker_ref(&main);
        let _executor = coop::enter_executor(crate::task::raw::waker_vtable(), waker.vtable());
        let mut cx = Context::from_waker(&waker);
        let mut future = std::pin::pin!(future);
        context::push_local_main();
        loop {
            self.take_remote();
            for _ in 0..self.config.batch {
                let Some(entry) = context::pop_local() else {
                    break;
                };
                let Some(task) = entry else {
                    main.queued.clear();
                    if let Poll::Ready(output) = coop::with_budget(|| future.as_mut().poll(&mut cx))
                    {
                        return output;
                    }
                    continue;
                };
                self.run_task(task);
            }
            let idle = context::local_is_empty() && !self.shared.remote.may_have_entries();
            if idle && context::task_blocks_listed() > IDLE_TASK_BLOCKS {
                self.trim_task_blocks();
            }
            let timeout = if idle { None } else { Some(Duration::ZERO) };
            if let Err(err) = self.reactor.turn(timeout) {
                panic!("minireactor: the reactor cannot wait for events: {err}");
            }
        }
    }

    /// Frees the recycled task blocks beyond [`IDLE_TASK_BLOCKS`] if the runtime is about to
    /// wait for events (nothing is deferred to the next turn either): the burst of spawns that
    /// needed them, if any, is over.
    #[cold]
    fn trim_task_blocks(&self) {
        if self.reactor.has_deferred() {
            return;
        }
        let freed = context::trim_task_blocks(IDLE_TASK_BLOCKS);
        tracing::trace!(freed, "idle: freed recycled task blocks");
    }

    /// Moves entries woken from other threads into the local run queue.
    #[inline]
    fn take_remote(&self) {
        if let Some(woken) = self.shared.remote.take() {
            context::extend_local(woken);
        }
    }

    /// Polls one task. Inlined into `block_on`'s loop: as a call, its saved registers and
    /// stack frame were about 12 instructions a poll (`local_wake_ping_pong` in BENCHMARKS.md).
    #[inline(always)]
    fn run_task(&self, task: QueuedTask) {
        if task.state().finished {
            return task.drop_finished();
        }
        task.unschedule();
        let id = task.id();
        tracing::trace!(task.id = %id, "poll");
        // The task's own panics are caught inside `poll`. One it cannot contain (its joiner's
        // waker panicking) is resumed here, once the task is reaped.
        match coop::with_budget(|| crate::task::polling(id, || task.poll())) {
            PollOutcome::Pending => {}
            outcome => {
                self.reap(task);
                tracing::trace!(task.id = %id, "complete");
                if let PollOutcome::JoinerPanicked(payload) = outcome {
                    resume_unwind(*payload);
                }
            }
        }
    }

    /// Removes a finished task from the live set, whose reference it retires.
    fn reap(&self, task: QueuedTask) {
        let removed = self.live.borrow_mut().try_remove(task.live_key());
        let drained = self.live.borrow().is_empty();
        if let Some(removed) = removed {
            removed.retire(); // After the borrow.
        }
        if drained {
            let waiter = self.on_drained.borrow_mut().take();
            if let Some(waiter) = waiter {
                waiter.wake();
            }
        }
    }

    /// `Ready` once no task is live; otherwise stores the waker for the last one to wake.
    pub(crate) fn poll_drained(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.live.borrow().is_empty() {
            return Poll::Ready(());
        }
        let replaced = self.on_drained.borrow_mut().replace(cx.waker().clone());
        drop(replaced);
        Poll::Pending
    }

    /// Drops every task exactly once (cancelling it for its joiner) and refuses later wakes.
    /// Tasks spawned by the destructors it runs are cancelled at once (see `spawn`), so this
    /// ends even if every destructor spawns.
    pub(crate) fn shutdown(&self) {
        self.shutting_down.set(true);
        // The queue's entries of running tasks borrow the live set's references: it goes first.
        // Nothing is queued here again: a wake while the runtime is not running goes to the
        // remote queue, and a spawn from now on is cancelled at once.
        let queued = self.run_queue.take();
        drop(queued);
        // Take the tasks out before cancelling any: a future's destructor may spawn or drop
        // other handles.
        let tasks: Vec<_> = self.live.borrow_mut().drain().collect();
        let mut joiner_panic = None;
        for task in &tasks {
            if let Some(payload) = task.cancel() {
                joiner_panic.get_or_insert(payload);
            }
        }
        drop(tasks);
        let remote = self.shared.remote.close();
        drop(remote);
        let waiter = self.on_drained.borrow_mut().take();
        drop(waiter);
        if let Some(payload) = joiner_panic {
            if std::thread::panicking() {
                // Dropped while unwinding: a second panic would abort the process.
                tracing::error!(
                    "a joiner's waker panicked while the runtime shut down during a panic"
                );
                return;
            }
            resume_unwind(payload); // Every task is dropped: the runtime's state is final.
        }
    }
}

/// How many levels of "a future spawned during shutdown, dropped, spawns again" are followed.
const MAX_SHUTDOWN_SPAWN_DEPTH: usize = 8;

/// A future that is never polled and whose drop does not drop what it holds: the end of a chain
/// of destructors that spawn during shutdown.
struct Forgotten<F>(std::mem::ManuallyDrop<F>);

impl<F: Future> Future for Forgotten<F> {
    type Output = F::Output;

    fn poll(self: std::pin::Pin<&mut Self>, _: &mut Context<'_>) -> Poll<F::Output> {
        Poll::Pending // Never polled: cancelled as it is spawned.
    }
}

/// The waker of the future passed to `block_on`, which is not a task: its wake queues the
/// run-queue entry `None`. One flag serves both paths, so a local and a remote wake never both
/// queue it; its `clear` before each poll is the one tasks use (see `remote`).
struct MainWaker {
    queued: QueuedFlag,
    shared: Arc<Shared>,
}

impl ArcWake for MainWaker {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        if !arc_self.queued.mark() {
            return;
        }
        if context::is_running_here(&arc_self.shared) {
            context::push_local_main();
        } else {
            arc_self.shared.push_remote(None);
        }
    }
}
