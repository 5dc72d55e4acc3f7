//! [`Id`]: what tells one task from every other of the process.

use std::cell::Cell;
use std::fmt;
use std::num::NonZeroU64;
use std::sync::atomic::{AtomicU64, Ordering};

/// A task's identity: unique among all tasks spawned in this process (a 64-bit counter, which
/// would take centuries to wrap at a billion spawns a second).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(NonZeroU64);

impl Id {
    pub(crate) fn next() -> Id {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        Id(NonZeroU64::new(id).expect("the task id counter started at 1 and does not wrap"))
    }

    /// The number behind the id.
    pub fn as_u64(self) -> u64 {
        self.0.get()
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

thread_local! {
    /// The task being polled on this thread, if any.
    static CURRENT: Cell<Option<Id>> = const { Cell::new(None) };
}

/// Marks `id` as the task being polled while `poll` runs.
#[inline]
pub(crate) fn polling<R>(id: Id, poll: impl FnOnce() -> R) -> R {
    /// Restores the outer task's id (a task polled from inside another's `block_on`).
    struct Restore(Option<Id>);
    impl Drop for Restore {
        #[inline]
        fn drop(&mut self) {
            CURRENT.set(self.0);
        }
    }
    let _restore = Restore(CURRENT.replace(Some(id)));
    poll()
}

/// The id of the task being polled.
///
/// ```
/// minireactor::block_on(async {
///     let handle = minireactor::spawn(async { minireactor::task::id() });
///     let id = handle.id();
///     assert_eq!(handle.await.unwrap(), id);
/// });
/// ```
///
/// # Panics
/// Outside a spawned task (the `block_on` future is not a task); see [`try_id`].
pub fn id() -> Id {
    try_id().expect("minireactor: task::id() called outside a spawned task")
}

/// The id of the task being polled, or `None` outside a spawned task.
pub fn try_id() -> Option<Id> {
    CURRENT.get()
}
