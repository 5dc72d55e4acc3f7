//! [`RunQueue`]: the entries ready to be polled, in wake order.
//!
//! The queue stores its entries as `ManuallyDrop<Runnable>`, a type with no drop glue, and
//! drops them itself. The reason is the wake path. A wake on the runtime's thread pushes
//! through a thread-local (`context::push_local`). A closure that owns a value with drop glue
//! gets a cleanup path for each way it can panic, and the compiler then left that push out of
//! line. That cost about 18 instructions a wake (`local_wake_ping_pong` in BENCHMARKS.md). So
//! `push` takes an entry that is already `ManuallyDrop`.
//!
//! Invariant: each entry holds the reference to its task that it was pushed with, and gives it
//! up exactly once: `pop` hands it back as a [`Runnable`], and the queue's drop drops the
//! entries left. That drop runs none of the tasks' code: an entry that is a task's last
//! reference only frees the block, the future and the output having been dropped on the
//! runtime's thread before (see `task::raw`). If a push panics (its allocation failing), that
//! one entry is leaked: its task block is never freed, and nothing is freed twice.

use std::collections::VecDeque;
use std::mem::ManuallyDrop;

use crate::scheduler::Runnable;

/// A FIFO of run-queue entries that owns them; see the module documentation.
#[derive(Default)]
pub(crate) struct RunQueue(VecDeque<ManuallyDrop<Runnable>>);

impl RunQueue {
    pub(crate) const fn new() -> RunQueue {
        RunQueue(VecDeque::new())
    }

    /// Appends `entry`, which the queue owns from now on.
    #[inline]
    pub(crate) fn push(&mut self, entry: ManuallyDrop<Runnable>) {
        self.0.push_back(entry);
    }

    /// The oldest entry, handed back to the caller.
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<Runnable> {
        self.0.pop_front().map(ManuallyDrop::into_inner)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Appends `woken`, in order.
    pub(crate) fn extend(&mut self, woken: Vec<Runnable>) {
        self.0.extend(woken.into_iter().map(ManuallyDrop::new));
    }

    /// Moves every entry of `other` to the end of this queue.
    pub(crate) fn append(&mut self, other: &mut RunQueue) {
        self.0.append(&mut other.0);
    }

    /// Removes the entries of the `block_on` future. They are `None`, so there is nothing to
    /// drop.
    pub(crate) fn remove_main_entries(&mut self) {
        self.0.retain(|entry| entry.is_some());
    }
}

impl Drop for RunQueue {
    fn drop(&mut self) {
        while let Some(entry) = self.pop() {
            drop(entry);
        }
    }
}
