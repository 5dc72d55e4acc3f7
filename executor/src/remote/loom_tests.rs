//! Loom models of the remote-wake protocol, run with
//! `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 cargo test -p minireactor-executor --release --lib loom`.
//!
//! The runtime's thread does what the scheduler does with these types: it takes the queue's
//! entries and, for each, clears the entry's flag and polls it. A waker thread does what a task
//! waker does off the runtime's thread: it writes what the task will read, marks the flag and,
//! if that marked it, pushes the entry. (The unpark that follows a push is the reactor's
//! concern, modelled in its own crate.)
//!
//! # The mutation
//!
//! [`loom_mutation_a_relaxed_store_as_the_clear_loses_a_wake`] runs the same model with
//! [`QueuedFlag::clear`] replaced by a relaxed store of `false`, the form the `block_on`
//! future's flag had before `QueuedFlag`. It is `should_panic(expected = "lost wake")`: it passes
//! only if loom finds the interleaving in which a wake whose swap came just before the store
//! pushes nothing and the poll after the store does not see what it wrote. It runs with the
//! others, in the same build.

use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;

use super::{QueuedFlag, RemoteQueue};

/// A task as far as remote wakes are concerned.
struct Task {
    queued: QueuedFlag,
    /// What the wakers wrote before waking: the number of wakes so far.
    wakes: AtomicUsize,
    /// Entries pushed and not yet polled: at most two (see the test).
    in_queue: AtomicUsize,
}

/// What the task's waker does on another thread (`task::raw::schedule`).
fn wake(task: &Task, queue: &RemoteQueue<()>) {
    // Relaxed: the flag's swaps must carry it to the poll.
    task.wakes.fetch_add(1, Ordering::Relaxed);
    if task.queued.mark() {
        let already = task.in_queue.fetch_add(1, Ordering::Relaxed);
        assert!(
            already < 2,
            "a task has {} entries in the queue",
            already + 1
        );
        queue.push(()).expect("the model never closes this queue");
    }
}

/// The runtime's thread: takes the queued entries and polls each (`Scheduler::take_remote`,
/// `run_task`), with `clear` as the flag's clear. Returns the wakes seen by the last poll, if it
/// polled.
fn run_queued(task: &Task, queue: &RemoteQueue<()>, clear: fn(&QueuedFlag)) -> Option<usize> {
    let mut seen = None;
    for () in queue.take().into_iter().flatten() {
        task.in_queue.fetch_sub(1, Ordering::Relaxed);
        clear(&task.queued);
        seen = Some(task.wakes.load(Ordering::Relaxed)); // The poll.
    }
    seen
}

/// Wakes from other threads while the runtime polls the task: the last poll sees every wake,
/// and the task never has more than two entries in the queue. (One push per clear of the flag;
/// but a wake that marked the flag just before a clear pushes just after it, so the next wake
/// may push a second entry: one spurious poll, never more.) The runtime's thread polls the task
/// once first (as after a local wake), then runs what is queued, while the wakers run and once
/// after they finished.
#[test]
fn loom_a_remote_wake_is_never_lost_nor_queued_more_than_twice() {
    remote_wakes(QueuedFlag::clear);
}

/// The mutation (see the module documentation): the clear as a relaxed store loses a wake.
#[test]
#[should_panic(expected = "lost wake")]
fn loom_mutation_a_relaxed_store_as_the_clear_loses_a_wake() {
    remote_wakes(|flag| flag.0.store(false, Ordering::Relaxed));
}

fn remote_wakes(clear: fn(&QueuedFlag)) {
    const WAKERS: usize = 3;
    loom::model(move || {
        let task = Arc::new(Task {
            queued: QueuedFlag::new(false),
            wakes: AtomicUsize::new(0),
            in_queue: AtomicUsize::new(0),
        });
        let queue = Arc::new(RemoteQueue::new());
        let wakers: Vec<_> = (0..WAKERS)
            .map(|_| {
                let task = task.clone();
                let queue = queue.clone();
                thread::spawn(move || wake(&task, &queue))
            })
            .collect();

        clear(&task.queued);
        let mut last_seen = task.wakes.load(Ordering::Relaxed); // The first poll.
        for _ in 0..WAKERS {
            if let Some(seen) = run_queued(&task, &queue, clear) {
                last_seen = seen;
            }
        }
        for waker in wakers {
            waker.join().unwrap();
        }
        if let Some(seen) = run_queued(&task, &queue, clear) {
            last_seen = seen;
        }
        assert_eq!(
            last_seen, WAKERS,
            "lost wake: the last poll saw {last_seen} of {WAKERS} wakes"
        );
        assert_eq!(task.in_queue.load(Ordering::Relaxed), 0);
    });
}

/// Two threads push while the runtime's thread takes: every entry is taken exactly once, and
/// once the pushers are done the queue says whether anything is left.
#[test]
fn loom_take_sees_every_pushed_entry() {
    const PUSHERS: usize = 2;
    loom::model(|| {
        let queue = Arc::new(RemoteQueue::new());
        let pushers: Vec<_> = (0..PUSHERS)
            .map(|entry| {
                let queue = queue.clone();
                thread::spawn(move || queue.push(entry).expect("the queue is open"))
            })
            .collect();
        let mut taken = queue.take().unwrap_or_default();
        for pusher in pushers {
            pusher.join().unwrap();
        }
        // Whatever the first take missed, the flag still announces.
        let missed = taken.len() < PUSHERS;
        assert!(
            !missed || queue.may_have_entries(),
            "an entry is queued but the flag says the queue is empty"
        );
        taken.extend(queue.take().into_iter().flatten());
        taken.sort_unstable();
        assert_eq!(
            taken,
            (0..PUSHERS).collect::<Vec<_>>(),
            "an entry was lost or taken twice"
        );
    });
}

/// A thread pushes while the runtime's thread closes the queue (shutdown): the entry is either
/// refused, back in the pusher's hands, or among those the close returns. Never left queued,
/// where nothing would drop it (a task's entry there keeps the runtime's state alive: a leak).
#[test]
fn loom_a_push_racing_the_close_is_refused_or_drained() {
    loom::model(|| {
        let queue = Arc::new(RemoteQueue::new());
        let pusher = {
            let queue = queue.clone();
            thread::spawn(move || queue.push(7).is_err())
        };
        let drained = queue.close();
        let refused = pusher.join().unwrap();
        assert_eq!(
            usize::from(refused) + drained.len(),
            1,
            "the entry was neither refused nor drained, or both"
        );
        assert!(
            queue.take().is_none_or(|left| left.is_empty()),
            "an entry stayed queued after the close"
        );
    });
}
