//! The per-registration state kept in the reactor's slab: readiness, its tick, and the waiters.
//!
//! Invariants:
//! - `tick` is the reactor tick at which `readiness` last gained bits; a clear carries the tick it
//!   observed and is ignored if an event arrived since, so a clear never erases a newer edge.
//! - A waiter list holds at most one waker per task (`Waker::will_wake` dedupes re-polls), and
//!   is emptied each time an event for its direction arrives.

use std::os::fd::RawFd;
use std::task::{Context, Poll, Waker};

use crate::readiness::{Direction, Interest, Ready, ReadyEvent};

/// State of one registered fd.
#[derive(Debug)]
pub(crate) struct Source {
    /// The fd, kept for tracing and for `EPOLL_CTL_DEL`.
    pub(crate) fd: RawFd,
    /// Distinguishes this registration from earlier ones that used the same slab slot; part of
    /// the epoll token, so events for a previous owner of the slot are recognised and dropped.
    pub(crate) generation: u32,
    /// Readiness seen and not yet cleared.
    readiness: Ready,
    /// Reactor tick of the last change to `readiness`.
    tick: u32,
    /// Tasks waiting for [`Interest::Readable`] or [`Interest::Priority`].
    readers: Vec<Waker>,
    /// Tasks waiting for [`Interest::Writable`].
    writers: Vec<Waker>,
}

impl Source {
    pub(crate) fn new(fd: RawFd, generation: u32) -> Source {
        Source {
            fd,
            generation,
            readiness: Ready::EMPTY,
            tick: 0,
            readers: Vec::new(),
            writers: Vec::new(),
        }
    }

    /// Returns the readiness for `interest` if any, otherwise stores the waker and returns
    /// `Pending`. Events are only recorded during a reactor turn, never concurrently with this
    /// call, so checking and then storing cannot miss an event.
    pub(crate) fn poll_ready(
        &mut self,
        interest: Interest,
        cx: &mut Context<'_>,
    ) -> Poll<ReadyEvent> {
        let ready = self.readiness.intersection(interest.mask());
        if !ready.is_empty() {
            return Poll::Ready(ReadyEvent {
                ready,
                all: self.readiness,
                tick: self.tick,
            });
        }
        let waiters = match interest.direction() {
            Direction::Read => &mut self.readers,
            Direction::Write => &mut self.writers,
        };
        if !waiters.iter().any(|w| w.will_wake(cx.waker())) {
            waiters.push(cx.waker().clone());
        }
        Poll::Pending
    }

    /// Records an event at `tick` and moves the wakers it satisfies into `wake`.
    pub(crate) fn record(&mut self, ready: Ready, tick: u32, wake: &mut Vec<Waker>) {
        self.readiness |= ready;
        self.tick = tick;
        if ready.intersects(Direction::Read.wakes_on()) {
            wake.append(&mut self.readers);
        }
        if ready.intersects(Direction::Write.wakes_on()) {
            wake.append(&mut self.writers);
        }
    }

    /// Clears the bits of `event`, unless readiness changed since it was observed.
    pub(crate) fn clear(&mut self, event: ReadyEvent) {
        if self.tick == event.tick {
            self.readiness = self.readiness.without(event.ready);
        }
    }

    /// Readiness seen and not yet cleared.
    pub(crate) fn readiness(&self) -> Ready {
        self.readiness
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_test_waker::counting_waker;

    /// A minimal counting waker, so these unit tests need no dependency.
    mod futures_test_waker {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        use std::task::{Wake, Waker};

        pub(super) struct Counter(pub(super) AtomicUsize);
        impl Wake for Counter {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        pub(super) fn counting_waker() -> (Waker, Arc<Counter>) {
            let counter = Arc::new(Counter(AtomicUsize::new(0)));
            (Waker::from(counter.clone()), counter)
        }
    }

    #[test]
    fn clear_ignores_readiness_newer_than_the_observation() {
        let mut source = Source::new(0, 0);
        let mut wake = Vec::new();
        source.record(Ready::READABLE, 1, &mut wake);
        let (waker, _) = counting_waker();
        let mut cx = Context::from_waker(&waker);
        let Poll::Ready(observed) = source.poll_ready(Interest::Readable, &mut cx) else {
            panic!("readable after an EPOLLIN event");
        };
        // A new edge arrives between the observation and the clear.
        source.record(Ready::READABLE, 2, &mut wake);
        source.clear(observed);
        assert!(
            source.readiness().is_readable(),
            "the newer edge was erased"
        );
        let Poll::Ready(latest) = source.poll_ready(Interest::Readable, &mut cx) else {
            panic!("still readable");
        };
        source.clear(latest);
        assert!(!source.readiness().is_readable());
    }

    #[test]
    fn closed_bits_survive_until_a_clear() {
        let mut source = Source::new(0, 0);
        source.record(Ready::READABLE | Ready::READ_CLOSED, 1, &mut Vec::new());
        let (waker, _) = counting_waker();
        let mut cx = Context::from_waker(&waker);
        // Still ready after any number of polls: EOF is reported, never waited for.
        for _ in 0..3 {
            assert!(source.poll_ready(Interest::Readable, &mut cx).is_ready());
        }
        let Poll::Ready(observed) = source.poll_ready(Interest::Readable, &mut cx) else {
            panic!("readable");
        };
        // Only an operation that answered EAGAIN clears, and then the fd is open again.
        source.clear(observed);
        assert!(source.poll_ready(Interest::Readable, &mut cx).is_pending());
    }

    #[test]
    fn only_the_matching_direction_wakes() {
        let mut source = Source::new(0, 0);
        let (reader, reads) = counting_waker();
        let (writer, writes) = counting_waker();
        let _ = source.poll_ready(Interest::Readable, &mut Context::from_waker(&reader));
        let _ = source.poll_ready(Interest::Writable, &mut Context::from_waker(&writer));
        let mut wake = Vec::new();
        source.record(Ready::WRITABLE, 1, &mut wake);
        wake.drain(..).for_each(Waker::wake);
        assert_eq!(reads.0.load(std::sync::atomic::Ordering::SeqCst), 0);
        assert_eq!(writes.0.load(std::sync::atomic::Ordering::SeqCst), 1);
        source.record(Ready::READABLE, 2, &mut wake);
        wake.drain(..).for_each(Waker::wake);
        assert_eq!(reads.0.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[test]
    #[cfg_attr(
        miri,
        ignore = "Miri makes Waker::will_wake answer no at random, by design"
    )]
    fn repolls_by_one_task_store_one_waker() {
        let mut source = Source::new(0, 0);
        let (reader, _) = counting_waker();
        for _ in 0..3 {
            let _ = source.poll_ready(Interest::Readable, &mut Context::from_waker(&reader));
        }
        let mut wake = Vec::new();
        source.record(Ready::READABLE, 1, &mut wake);
        assert_eq!(wake.len(), 1);
    }
}
