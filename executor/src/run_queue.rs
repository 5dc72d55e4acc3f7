//! [`RunQueue`]: the entries ready to be polled, in wake order.
//!
//! An intrusive FIFO: each queued task's header holds the link to the next entry (see
//! `raw::queue_link`), so a push or a pop is a few loads and stores to `Cell`s. No allocation,
//! no capacity check, no borrow flag: a push or a pop runs no code but ours, so none is
//! re-entered, and the queue needs no `RefCell`. Where the queue drops an entry (a duplicate
//! from another thread in `extend`, the entries left in its drop), that entry is already
//! unlinked, so whatever its drop runs finds the queue consistent. The `block_on` future, which
//! has no header, is a sentinel entry ([`MAIN`], never dereferenced) whose link the queue keeps
//! itself.
//!
//! Invariants:
//! - A task is linked only while its "queued locally" flag is set (whoever links it sets the flag
//!   first; see `raw::schedule` and [`RunQueue::extend`]), so it is in at most one queue, once.
//! - Each linked task holds the counted reference it was pushed with and gives it up exactly
//!   once: [`RunQueue::pop`] hands it back as a [`TaskRef`], and the queue's drop drops the
//!   entries left. That drop runs none of the tasks' code: an entry that is a task's last
//!   reference only frees the block, the future and the output having been dropped on the
//!   runtime's thread before (see `task::raw`).
//! - The sentinel is linked at most once (`main_queued`); its successor is `main_next`.
//!
//! [`RunQueue::push`] takes its entry as `ManuallyDrop`, a type with no drop glue. The reason is
//! the wake path: a wake on the runtime's thread pushes through a thread-local
//! (`context::push_local`), and a closure that owns a value with drop glue gets a cleanup path
//! for each way it can panic, which made the compiler leave that push out of line (about 18
//! instructions a wake, `local_wake_ping_pong` in BENCHMARKS.md).

use std::cell::Cell;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;

use crate::scheduler::Runnable;
use crate::task::raw::{queue_link, Header, TaskRef};

/// A linked entry: a task's header, or [`MAIN`].
type Link = Option<NonNull<Header>>;

/// The sentinel entry of the `block_on` future: an address no task block has, only compared.
const MAIN: NonNull<Header> = NonNull::dangling();

/// A FIFO of run-queue entries that owns them; see the module documentation.
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

    /// Appends `entry`, which the queue owns from now on. A task's "queued locally" flag must
    /// have been set for this push (by the caller, from clear); a second `None` while one is
    /// queued is dropped (a stale wake of an earlier `block_on`'s future, from another thread).
    #[inline]
    pub(crate) fn push(&self, entry: ManuallyDrop<Runnable>) {
        match ManuallyDrop::into_inner(entry) {
            Some(task) => {
                let task = task.into_raw();
                // SAFETY: `task` is a counted reference, now the queue's, so the block is live.
                unsafe { queue_link(task) }.set(None);
                self.link(task);
            }
            None => {
                if self.main_queued.replace(true) {
                    return;
                }
                self.main_next.set(None);
                self.link(MAIN);
            }
        }
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
            // SAFETY: a linked task holds a counted reference (see the invariants).
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

    /// The oldest entry, handed back to the caller.
    #[inline]
    pub(crate) fn pop(&self) -> Option<Runnable> {
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
        // SAFETY: the queue's reference to this task, unlinked just now, is handed over once.
        Some(Some(unsafe { TaskRef::from_raw(entry) }))
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.head.get().is_none()
    }

    /// Appends `woken`, in order: entries woken from other threads. A task already queued here
    /// is not queued twice: its entry from the other thread is dropped, and it is polled once.
    pub(crate) fn extend(&self, woken: Vec<Runnable>) {
        for entry in woken {
            match entry {
                Some(task) if !task.mark_queued_locally() => drop(task),
                entry => self.push(ManuallyDrop::new(entry)),
            }
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

    /// Unlinks the entry of the `block_on` future, if it is queued: nothing to drop.
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
    fn drop(&mut self) {
        while let Some(entry) = self.pop() {
            drop(entry);
        }
    }
}
