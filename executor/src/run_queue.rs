//! [`RunQueue`]: the entries ready to be polled, in wake order.
//!
//! An intrusive FIFO: each queued task's header holds the link to the next entry (see
//! `raw::queue_link`), so a push or a pop is a few loads and stores to `Cell`s. No allocation,
//! no capacity check, no borrow flag: a push or a pop runs no code but ours, so none is
//! re-entered, and the queue needs no `RefCell`. Where the queue drops a reference (a duplicate
//! from another thread, in `extend`; a finished task's, in its drop), its entry is already
//! unlinked, so whatever that drop runs finds the queue consistent. The `block_on` future, which
//! has no header, is a sentinel entry ([`MAIN`], never dereferenced) whose link the queue keeps
//! itself.
//!
//! Invariants:
//! - A task is linked only while its "queued locally" flag is set (a [`Marked`] is the proof that
//!   its holder set it from clear), so it is in at most one queue, once.
//! - A linked task that has not finished holds no reference: the scheduler's live set keeps it
//!   alive, and [`RunQueue::pop`] hands it out as a [`QueuedTask`] that borrows that reference.
//!   So a local wake and a poll change no reference count (an atomic each, before: 4
//!   instructions a wake and poll, `local_wake_ping_pong` in BENCHMARKS.md).
//! - A linked task that has finished (woken during the poll that finished it) holds the live
//!   set's reference, handed over by `TaskRef::retire`. Whoever pops it sees it finished and
//!   drops that reference ([`QueuedTask::drop_finished`]) instead of polling it. That drop
//!   runs none of the tasks' code: the last reference only frees the block, the future and the
//!   output having been dropped on the runtime's thread before (see `task::raw`).
//! - The sentinel is linked at most once (`main_queued`); its successor is `main_next`.
//!
//! The pushes take values with no drop glue ([`Marked`], a pointer). The reason is the wake
//! path: a wake on the runtime's thread pushes through a thread-local
//! (`context::push_local_task`), and a closure that owns a value with drop glue gets a cleanup
//! path for each way it can panic, which made the compiler leave that push out of line (about 18
//! instructions a wake, `local_wake_ping_pong` in BENCHMARKS.md).

use std::cell::Cell;
use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::ptr::NonNull;

use crate::scheduler::Runnable;
use crate::task::raw::{queue_link, Header, Marked, TaskRef};

/// A linked entry: a task's header, or [`MAIN`].
type Link = Option<NonNull<Header>>;

/// The sentinel entry of the `block_on` future: an address no task block has, only compared.
const MAIN: NonNull<Header> = NonNull::dangling();

/// A FIFO of run-queue entries; see the module documentation.
pub(crate) struct RunQueue {
    head: Cell<Link>,
    tail: Cell<Link>,
    /// The entry after [`MAIN`], while it is linked.
    main_next: Cell<Link>,
    main_queued: Cell<bool>,
}

impl RunQueue {
    pub(crate) const fn new() -> RunQueue {
        RunQueue {
            head: Cell::new(None),
            tail: Cell::new(None),
            main_next: Cell::new(None),
            main_queued: Cell::new(false),
        }
    }

    /// Appends a task, which its [`Marked`] allows once.
    #[inline]
    pub(crate) fn push_task(&self, task: Marked) {
        let task = task.into_raw();
        // SAFETY: a marked task is not finished, so the live set's reference keeps it alive.
        unsafe { queue_link(task) }.set(None);
        self.link(task);
    }

    /// Appends the `block_on` future's entry, unless it is queued (a stale wake of an earlier
    /// `block_on`'s future, from another thread).
    #[inline]
    pub(crate) fn push_main(&self) {
        if self.main_queued.replace(true) {
            return;
        }
        self.main_next.set(None);
        self.link(MAIN);
    }

    #[inline]
    fn link(&self, entry: NonNull<Header>) {
        match self.tail.get() {
            None => self.head.set(Some(entry)),
            Some(tail) => self.set_next(tail, Some(entry)),
        }
        self.tail.set(Some(entry));
    }

    /// The entry after `entry`, a linked one.
    #[inline]
    fn next(&self, entry: NonNull<Header>) -> Link {
        if entry == MAIN {
            self.main_next.get()
        } else {
            // SAFETY: a linked task is alive (see the invariants).
            unsafe { queue_link(entry) }.get()
        }
    }

    #[inline]
    fn set_next(&self, entry: NonNull<Header>, next: Link) {
        if entry == MAIN {
            self.main_next.set(next);
        } else {
            // SAFETY: as in `next`.
            unsafe { queue_link(entry) }.set(next);
        }
    }

    /// The oldest entry: a task (finished or not), or `None` for the `block_on` future's.
    #[inline]
    pub(crate) fn pop(&self) -> Option<Option<QueuedTask>> {
        let entry = self.head.get()?;
        let next = self.next(entry);
        self.head.set(next);
        if next.is_none() {
            self.tail.set(None);
        }
        if entry == MAIN {
            self.main_queued.set(false);
            return Some(None);
        }
        // SAFETY: unlinked just now: alive, and counted only if the task has finished, when
        // `QueuedTask::drop_finished` takes the reference back.
        Some(Some(QueuedTask(ManuallyDrop::new(unsafe {
            TaskRef::from_queue(entry)
        }))))
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.head.get().is_none()
    }

    /// Appends `woken`, in order: entries woken from other threads, each with a reference of
    /// its own, which is dropped here. A task already queued here (or finished) is not queued
    /// again: it is polled once for both wakes.
    pub(crate) fn extend(&self, woken: Vec<Runnable>) {
        for entry in woken {
            let Some(task) = entry else {
                self.push_main();
                continue;
            };
            if let Some(marked) = task.mark_queued_locally() {
                self.push_task(marked);
            }
            drop(task);
        }
    }

    /// Moves every entry out, into the queue returned, leaving this one empty.
    pub(crate) fn take(&self) -> RunQueue {
        RunQueue {
            head: Cell::new(self.head.take()),
            tail: Cell::new(self.tail.take()),
            main_next: Cell::new(self.main_next.take()),
            main_queued: Cell::new(self.main_queued.take()),
        }
    }

    /// Moves every entry of `other` to the end of this queue, in order (its `block_on` entry
    /// only if this queue has none).
    pub(crate) fn append(&self, other: RunQueue) {
        if self.main_queued.get() {
            other.remove_main();
        }
        let Some(other_head) = other.head.take() else {
            return;
        };
        match self.tail.get() {
            None => self.head.set(Some(other_head)),
            Some(tail) => self.set_next(tail, Some(other_head)),
        }
        self.tail.set(other.tail.take());
        if other.main_queued.take() {
            self.main_queued.set(true);
            self.main_next.set(other.main_next.take());
        }
    }

    /// Unlinks the entry of the `block_on` future, if it is queued.
    pub(crate) fn remove_main(&self) {
        if !self.main_queued.replace(false) {
            return;
        }
        let after = self.main_next.take();
        let mut previous: Link = None;
        let mut entry = self.head.get();
        while let Some(current) = entry {
            if current == MAIN {
                match previous {
                    None => self.head.set(after),
                    Some(previous) => self.set_next(previous, after),
                }
                if after.is_none() {
                    self.tail.set(previous);
                }
                return;
            }
            previous = entry;
            entry = self.next(current);
        }
        unreachable!("a queued `block_on` entry is linked");
    }
}

impl Drop for RunQueue {
    /// Unlinks every entry, dropping the finished tasks' references.
    fn drop(&mut self) {
        while let Some(entry) = self.pop() {
            match entry {
                Some(task) if task.state().finished => task.drop_finished(),
                _ => {}
            }
        }
    }
}

/// A task just taken off the run queue. If it has not finished, it borrows the live set's
/// reference, which lasts until the scheduler reaps the task after the poll that finishes it
/// (nothing else removes a task from the live set while the runtime runs), so it is used only up
/// to then. If it has, it holds the reference the task handed to its entry, which
/// [`drop_finished`](Self::drop_finished) drops.
pub(crate) struct QueuedTask(ManuallyDrop<TaskRef>);

impl QueuedTask {
    /// Drops the entry of a task that finished after it was queued (woken during the poll that
    /// finished it), with the reference it holds.
    #[cold]
    pub(crate) fn drop_finished(self) {
        debug_assert!(
            self.state().finished,
            "only a finished task's entry holds a reference"
        );
        drop(ManuallyDrop::into_inner(self.0));
    }
}

impl Deref for QueuedTask {
    type Target = TaskRef;

    #[inline]
    fn deref(&self) -> &TaskRef {
        &self.0
    }
}
