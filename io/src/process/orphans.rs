//! Orphans: children whose [`Child`](super::Child) was dropped before they were reaped. They
//! are kept, per thread, with their exit watch (pidfd or SIGCHLD listener), and reaped when
//! they exit — with no task and no thread: the reactor does it.
//!
//! Every orphan's watch is polled with one waker, [`ReapOrphans`], whose `wake` *is* the
//! reaping: when a watch becomes ready, the reactor's turn wakes that waker, which polls every
//! orphan of the thread again, reaps those that exited, and leaves the others waiting with the
//! same waker. An orphan that has already exited when its `Child` is dropped is reaped at once.
//!
//! So orphans are reaped while this thread's reactor turns — whenever the runtime runs on this
//! thread. When the thread exits, the orphans still running are left alone: they become
//! zombies when they exit, until this process exits (as with tokio once its runtime is gone).
//!
//! Invariants: the list is borrowed only to poll or move orphans, never while anything is
//! woken or dropped; an orphan is in the list only while its watch holds the reaper waker.

use std::cell::RefCell;
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll, Wake, Waker};

use super::unreaped::Unreaped;

thread_local! {
    static ORPHANS: RefCell<Orphans> = const { RefCell::new(Orphans(Vec::new())) };
}

/// This thread's orphans.
struct Orphans(Vec<Unreaped>);

impl Drop for Orphans {
    /// At thread exit: a last look, reaping those that have exited by now.
    fn drop(&mut self) {
        let unreaped = self
            .0
            .iter()
            .filter(|orphan| !matches!(orphan.try_reap(), Ok(Some(_))))
            .count();
        if unreaped > 0 {
            tracing::debug!(
                unreaped,
                "thread exiting: its orphans still running stay unreaped"
            );
        }
    }
}

/// The waker every orphan's watch holds; waking it reaps this thread's orphans.
struct ReapOrphans;

impl Wake for ReapOrphans {
    fn wake(self: Arc<Self>) {
        reap_exited();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        reap_exited();
    }
}

fn reaper() -> &'static Waker {
    static REAPER: LazyLock<Waker> = LazyLock::new(|| Waker::from(Arc::new(ReapOrphans)));
    &REAPER
}

/// Takes over a child whose `Child` is being dropped: reaps it now if it has exited, otherwise
/// keeps it until it does.
pub(crate) fn adopt(mut orphan: Unreaped) {
    if reaped_or_given_up(&mut orphan) {
        return;
    }
    let pid = orphan.pid();
    match ORPHANS.try_with(|orphans| orphans.try_borrow_mut().map(|mut list| list.0.push(orphan))) {
        Ok(Ok(())) => tracing::debug!(pid, "child orphaned: it will be reaped when it exits"),
        // The thread is exiting (or, impossibly, the list is being polled): nobody will reap it.
        _ => tracing::debug!(pid, "child orphaned while its thread exits: left unreaped"),
    }
}

/// Polls `orphan`'s watch with the reaper waker; true if it is done with (reaped, or beyond
/// reaping: e.g. its watch was inherited across a fork).
fn reaped_or_given_up(orphan: &mut Unreaped) -> bool {
    match orphan.poll_reap(&mut Context::from_waker(reaper())) {
        Poll::Pending => false,
        Poll::Ready(Ok(_)) => true,
        Poll::Ready(Err(err)) => {
            tracing::debug!(pid = orphan.pid(), %err, "orphan cannot be reaped; giving it up");
            true
        }
    }
}

/// Reaps the orphans that exited; the rest keep waiting with the reaper waker.
fn reap_exited() {
    let done = ORPHANS
        .try_with(|orphans| {
            let Ok(mut orphans) = orphans.try_borrow_mut() else {
                // Only a wake from inside our own polling could find the list borrowed, and
                // polling a watch never wakes synchronously.
                return Vec::new();
            };
            let (done, waiting) = std::mem::take(&mut orphans.0)
                .into_iter()
                .map(|mut orphan| (reaped_or_given_up(&mut orphan), orphan))
                .partition::<Vec<_>, _>(|(done, _)| *done);
            orphans.0 = waiting.into_iter().map(|(_, orphan)| orphan).collect();
            done
        })
        .unwrap_or_default();
    drop(done); // After the borrow: dropping deregisters their watches.
}
