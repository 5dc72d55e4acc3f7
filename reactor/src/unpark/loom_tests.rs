//! Loom models of the park/unpark handshake, run with
//! `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 cargo test -p minireactor-reactor --release --lib loom`.
//!
//! The reactor's thread runs the executor's loop in miniature: look for work, `begin_park`,
//! wait, `end_park`, look again. Its wait stands in for `epoll_wait` on the edge-triggered
//! eventfd: it returns at once if the eventfd was written since the previous wait returned, and
//! otherwise blocks until a write. Blocking is modelled by joining every unparker thread: if
//! nothing wrote the eventfd by the time they have all finished, nothing ever will, and the real
//! reactor would sleep forever with work queued.

use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread::{self, JoinHandle};

use super::Unparker;

/// The eventfd's counter as the kernel sees it. A read-modify-write, so that loom returns the
/// latest value (a plain load could return an older one, which the kernel never does).
fn eventfd_writes(unparker: &Unparker) -> u64 {
    unparker
        .shared
        .eventfd_writes
        .fetch_add(0, Ordering::AcqRel)
}

/// The reactor's side: turns until it has seen `expected` units of work.
struct ReactorThread {
    unparker: Unparker,
    /// The eventfd's counter when the last wait returned: writes up to it are consumed edges.
    consumed_writes: u64,
    /// How many times `begin_park` was called.
    parks: u64,
    /// The unparker threads, until a wait that has to block joins them.
    unparkers: Vec<JoinHandle<()>>,
}

impl ReactorThread {
    fn run_until(&mut self, work: &AtomicUsize, expected: usize) {
        // Each turn that does not block consumes a notification, and after a blocking one every
        // unparker has finished: one turn per unparker and one more is the most it may take.
        let max_parks = self.parks + expected as u64 + 1;
        while work.load(Ordering::Relaxed) < expected {
            assert!(
                self.parks < max_parks,
                "the reactor turned {} times without seeing the work",
                self.parks
            );
            self.turn();
        }
    }

    /// One turn that may block.
    fn turn(&mut self) {
        self.parks += 1;
        if self.unparker.begin_park() && eventfd_writes(&self.unparker) == self.consumed_writes {
            for unparker in self.unparkers.drain(..) {
                unparker.join().unwrap();
            }
            assert!(
                eventfd_writes(&self.unparker) > self.consumed_writes,
                "lost wake-up: the reactor blocks, work is queued, and the eventfd is not written"
            );
        }
        // A wait, blocking or not, returns the eventfd's pending edge.
        self.consumed_writes = eventfd_writes(&self.unparker);
        self.unparker.end_park();
    }
}

/// Two threads queue work and unpark while the reactor turns: the reactor always sees the work
/// (a notification is never lost, and the work queued before it is visible once it is
/// consumed), and the eventfd is written at most once per park and per notification.
#[test]
fn loom_unpark_is_never_lost_and_writes_are_coalesced() {
    const UNPARKERS: usize = 2;
    loom::model(|| {
        let unparker = Unparker::new().unwrap();
        let work = Arc::new(AtomicUsize::new(0));
        let unparkers = (0..UNPARKERS)
            .map(|_| {
                let unparker = unparker.clone();
                let work = work.clone();
                thread::spawn(move || {
                    // Relaxed: the notification itself must carry the work to the reactor.
                    work.fetch_add(1, Ordering::Relaxed);
                    unparker.unpark();
                })
            })
            .collect();
        let mut reactor = ReactorThread {
            unparker,
            consumed_writes: 0,
            parks: 0,
            unparkers,
        };
        reactor.run_until(&work, UNPARKERS);
        for unparker in reactor.unparkers.drain(..) {
            unparker.join().unwrap();
        }
        let writes = eventfd_writes(&reactor.unparker);
        assert!(
            writes <= reactor.parks,
            "{writes} eventfd writes for {} parks",
            reactor.parks
        );
        assert!(
            writes <= UNPARKERS as u64,
            "{writes} eventfd writes for {UNPARKERS} unparks"
        );
    });
}
