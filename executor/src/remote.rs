//! Wakes from other threads: the locked queue they push to ([`RemoteQueue`], one per runtime)
//! and the flag that keeps an entry from being pushed twice ([`QueuedFlag`], one per task and
//! one for the `block_on` future).
//!
//! The protocol:
//! - a waker on another thread [`mark`](QueuedFlag::mark)s the entry's flag (a swap) and, if it
//!   was clear, [`push`](RemoteQueue::push)es the entry (under the lock, then sets `has_entries`),
//!   then unparks the reactor (the `block_on` future's waker marks the same flag for local wakes
//!   too, so that a local and a remote wake never both queue it; a task's local wakes use a
//!   flag of their own instead);
//! - the runtime's thread [`take`](RemoteQueue::take)s the entries (clears `has_entries` with a
//!   swap, then empties the vector under the lock) and [`clear`](QueuedFlag::clear)s each
//!   entry's flag just before it polls it.
//!
//! What it guarantees, checked by loom (`loom_tests`, run with `RUSTFLAGS="--cfg loom"
//! LOOM_MAX_PREEMPTIONS=3 cargo test -p minireactor-executor --release --lib loom`):
//! - a wake is never lost: the poll that follows it sees everything the waker wrote before
//!   waking;
//! - a wake pushes only if no wake has marked the flag since its last clear, so an entry has at
//!   most two pushes waiting for a poll: a wake that marked just before a clear pushes just after
//!   it, and the next wake may push again (one spurious poll, never more);
//! - a take that starts after a push has returned sees that push's entry, unless an earlier take
//!   returned it already.
//!
//! The models also run once with [`QueuedFlag::clear`] replaced by a relaxed store of `false`,
//! the form the `block_on` future's flag had, and must then find a lost wake (see `loom_tests`).

use crate::sync::{AtomicBool, Mutex, MutexGuard, Ordering};

/// Entries woken from other threads, drained by the runtime's thread.
pub(crate) struct RemoteQueue<T> {
    queue: Mutex<Queue<T>>,
    /// Set when `entries` may be non-empty, so the runtime's thread locks only when there is
    /// work.
    has_entries: AtomicBool,
}

struct Queue<T> {
    entries: Vec<T>,
    /// Set by [`RemoteQueue::close`]: a push after it hands its entry back. Under the lock, so
    /// that no push can slip in between a close and its drain and stay queued forever (a task
    /// left there would keep the runtime's shared state, and so itself, alive: a leaked cycle).
    closed: bool,
}

impl<T> RemoteQueue<T> {
    pub(crate) fn new() -> RemoteQueue<T> {
        RemoteQueue {
            queue: Mutex::new(Queue {
                entries: Vec::new(),
                closed: false,
            }),
            has_entries: AtomicBool::new(false),
        }
    }

    /// Queues `entry`, or hands it back if the queue is closed (the caller drops it, outside the
    /// lock: its destructor may wake another entry). The flag is set after the push (and after
    /// the lock is released), so a take that clears it before the push still finds it set
    /// afterwards.
    pub(crate) fn push(&self, entry: T) -> Result<(), T> {
        {
            let mut queue = self.lock();
            if queue.closed {
                return Err(entry);
            }
            queue.entries.push(entry);
        }
        self.has_entries.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// Every entry pushed since the last take, or `None` without locking if there is none.
    ///
    /// Inlined, with the locking part out of line: the runtime checks once per turn, and the
    /// queue is nearly always empty.
    #[inline]
    pub(crate) fn take(&self) -> Option<Vec<T>> {
        // A plain load first: the swap is a locked instruction.
        if !self.has_entries.load(Ordering::SeqCst) {
            return None;
        }
        self.take_flagged()
    }

    #[cold]
    #[inline(never)]
    fn take_flagged(&self) -> Option<Vec<T>> {
        if !self.has_entries.swap(false, Ordering::SeqCst) {
            return None;
        }
        Some(std::mem::take(&mut self.lock().entries))
    }

    /// Whether entries may be waiting: if not, the runtime may block (an entry pushed after this
    /// answer also unparks the reactor).
    pub(crate) fn may_have_entries(&self) -> bool {
        self.has_entries.load(Ordering::SeqCst)
    }

    /// Refuses every later push and returns every entry still queued: for shutdown.
    pub(crate) fn close(&self) -> Vec<T> {
        let mut queue = self.lock();
        queue.closed = true;
        std::mem::take(&mut queue.entries)
    }

    fn lock(&self) -> MutexGuard<'_, Queue<T>> {
        // Nothing panics while the lock is held, so a poisoned queue is still consistent.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Whether an entry is in a [`RemoteQueue`] (or was taken from it and not yet polled).
pub(crate) struct QueuedFlag(AtomicBool);

impl QueuedFlag {
    pub(crate) fn new(marked: bool) -> QueuedFlag {
        QueuedFlag(AtomicBool::new(marked))
    }

    /// Marks the entry queued, from any thread. `true` if it was not: the caller must now push
    /// it. A swap, so that it synchronises with the `clear` before the poll it comes after.
    pub(crate) fn mark(&self) -> bool {
        !self.0.swap(true, Ordering::AcqRel)
    }

    /// Called on the runtime's thread just before the entry is polled: a wake from now on queues
    /// it again.
    ///
    /// A task's flag is usually clear already (its local wakes do not set it), and a plain load
    /// is cheap; the `block_on` future's is set by every wake, so its clear is the swap. If the
    /// load reads a stale `false`, the remote queue still holds this entry, and the poll that
    /// entry causes clears the flag: the runtime drains that queue under its mutex, after the
    /// swap that set the flag. The clear itself is a swap, not a store: it synchronises with the
    /// waking thread's swap, so the poll that follows sees whatever that thread wrote before
    /// waking. After a relaxed store, a wake whose swap came just before it would find the flag
    /// set and push nothing, and the poll need not see what it wrote: a lost wake.
    #[inline]
    pub(crate) fn clear(&self) {
        if self.0.load(Ordering::Relaxed) {
            self.0.swap(false, Ordering::AcqRel);
        }
    }
}

#[cfg(all(test, loom))]
mod loom_tests;
