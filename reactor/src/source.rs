//! The per-registration state kept in the reactor's slab: readiness, its tick, and the waiters.
//!
//! Two kinds of waiter, so that nothing is ever stored that outlives the wait it belongs to:
//! - **Owned**: a readiness future ([`crate::Readiness`] made by `Registration::ready`) owns a
//!   slot from a `Pending` until it resolves or is dropped; re-polls update the slot in place,
//!   an event takes the waker out and leaves the slot, and the poll that finds the readiness,
//!   or dropping the future, frees it. The first
//!   owned waiter of a direction gets the direction's inline slot (the common case: one task
//!   reads, one writes, no slab work at all); more wait in the `waiters` slab. Any number of
//!   tasks can wait on one fd this way, and a cancelled wait (a `select`, a `timeout`) leaves
//!   nothing behind.
//! - **Polled**: the `poll_*` methods, which have nowhere to keep a slot, share one waker per
//!   direction; a new poll replaces it, so only the last task to poll a direction is woken (the
//!   same rule as tokio's `poll_read_ready`).
//!
//! Invariants:
//! - `tick` is the reactor tick at which `readiness` last gained bits; a clear carries the tick it
//!   observed and is ignored if an event arrived since, so a clear never erases a newer edge.
//! - The number of stored wakers is at most the number of live readiness futures plus two.

use std::os::fd::RawFd;
use std::task::Waker;

use slab::Slab;

use crate::readiness::{Direction, Interest, Ready, ReadyEvent};

/// Which waiter a poll stores its waker in; see the module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WaitSlot {
    /// The direction's shared waker.
    Polled,
    /// An owned waiter that has not waited yet.
    Unassigned,
    /// The direction's inline owned slot, held by this future.
    Inline,
    /// A slot of the `waiters` slab, held by this future.
    Slab(usize),
}

impl WaitSlot {
    /// The owned slot this future holds, if any, leaving it `Unassigned`.
    #[inline]
    pub(crate) fn take_held(&mut self) -> Option<WaitSlot> {
        match *self {
            WaitSlot::Polled | WaitSlot::Unassigned => None,
            held => {
                *self = WaitSlot::Unassigned;
                Some(held)
            }
        }
    }
}

/// The inline owned slot of one direction.
#[derive(Debug, Default)]
struct InlineWaiter {
    /// Held by a future (which may have had its waker taken by an event).
    held: bool,
    waker: Option<Waker>,
}

/// One owned waiter.
#[derive(Debug)]
struct Waiter {
    direction: Direction,
    /// Taken by an event, put back by the next poll.
    waker: Option<Waker>,
}

/// State of one registered fd.
#[derive(Debug)]
pub(crate) struct Source {
    /// The fd, kept for tracing and for `EPOLL_CTL_DEL`. The registration's creator promised
    /// (`Registration::new` is `unsafe`) that it stays open while registered.
    pub(crate) fd: RawFd,
    /// Distinguishes this registration from earlier ones that used the same slab slot; part of
    /// the epoll token, so events for a previous owner of the slot are recognised and dropped.
    pub(crate) generation: u32,
    /// Readiness seen and not yet cleared.
    readiness: Ready,
    /// Reactor tick of the last change to `readiness`.
    tick: u64,
    /// The shared wakers of the `poll_*` methods, by [`Direction`].
    polled: [Option<Waker>; 2],
    /// The first owned waiter of each direction, by [`Direction`].
    inline: [InlineWaiter; 2],
    /// More owned waiters, each slot owned by one future.
    waiters: Slab<Waiter>,
}

impl Source {
    pub(crate) fn new(fd: RawFd, generation: u32) -> Source {
        Source {
            fd,
            generation,
            readiness: Ready::EMPTY,
            tick: 0,
            polled: [None, None],
            inline: [InlineWaiter::default(), InlineWaiter::default()],
            waiters: Slab::new(),
        }
    }

    /// The readiness for `interest`, if there is any.
    #[inline(always)]
    pub(crate) fn ready_for(&self, interest: Interest) -> Option<ReadyEvent> {
        let ready = self.readiness.intersection(interest.mask());
        (!ready.is_empty()).then_some(ReadyEvent {
            ready,
            all: self.readiness,
            tick: self.tick,
        })
    }

    /// Stores the task's waker in `slot`, for a wait that [`ready_for`](Self::ready_for) just
    /// found unsatisfied. Events are only recorded during a reactor turn, never concurrently
    /// with this call, so checking and then storing cannot miss an event.
    ///
    /// Returns the waker this replaced, for the caller to drop once its borrow of the reactor is
    /// released (dropping a waker may run arbitrary code).
    #[inline]
    pub(crate) fn store_waiter(
        &mut self,
        direction: Direction,
        slot: &mut WaitSlot,
        waker: &Waker,
    ) -> Option<Waker> {
        let stored = match *slot {
            WaitSlot::Polled => &mut self.polled[direction as usize],
            WaitSlot::Inline => &mut self.inline[direction as usize].waker,
            WaitSlot::Slab(key) => &mut self.waiters[key].waker,
            WaitSlot::Unassigned => {
                self.assign_waiter(direction, slot, waker);
                return None;
            }
        };
        match stored {
            Some(stored) if stored.will_wake(waker) => None,
            stored => stored.replace(waker.clone()),
        }
    }

    /// A future's first wait: gives it the inline slot of its direction, or a slab entry if a
    /// future holds that. Out of line: inlined, it made `store_waiter` too large to inline into
    /// `poll_ready`'s callers. As a call it costs 17 fewer instructions an echo round trip
    /// (callgrind), although there every wait is a first one (each `read` is a new future).
    #[inline(never)]
    fn assign_waiter(&mut self, direction: Direction, slot: &mut WaitSlot, waker: &Waker) {
        let waker = Some(waker.clone());
        let inline = &mut self.inline[direction as usize];
        if inline.held {
            let key = self.waiters.insert(Waiter { direction, waker });
            *slot = WaitSlot::Slab(key);
        } else {
            *inline = InlineWaiter { held: true, waker };
            *slot = WaitSlot::Inline;
        }
    }

    /// Frees the owned slot a future of `direction` held; returns its waker for the caller to
    /// drop after its borrow.
    #[inline]
    pub(crate) fn remove_waiter(&mut self, slot: WaitSlot, direction: Direction) -> Option<Waker> {
        match slot {
            WaitSlot::Inline => std::mem::take(&mut self.inline[direction as usize]).waker,
            WaitSlot::Slab(key) => self.waiters.try_remove(key).and_then(|waiter| waiter.waker),
            WaitSlot::Polled | WaitSlot::Unassigned => None,
        }
    }

    /// Records an event at `tick` and moves the wakers it satisfies into `wake`.
    #[inline]
    pub(crate) fn record(&mut self, ready: Ready, tick: u64, wake: &mut Vec<Waker>) {
        self.readiness |= ready;
        self.tick = tick;
        for direction in [Direction::Read, Direction::Write] {
            if ready.intersects(direction.wakes_on()) {
                let index = direction as usize;
                if let Some(waker) = self.polled[index].take() {
                    wake.push(waker);
                }
                if let Some(waker) = self.inline[index].waker.take() {
                    wake.push(waker);
                }
            }
        }
        if self.waiters.is_empty() {
            return;
        }
        for (_, waiter) in &mut self.waiters {
            if ready.intersects(waiter.direction.wakes_on()) {
                if let Some(waker) = waiter.waker.take() {
                    wake.push(waker);
                }
            }
        }
    }

    /// Clears the bits of `event`, unless readiness changed since it was observed.
    #[inline]
    pub(crate) fn clear(&mut self, event: ReadyEvent) {
        if self.tick == event.tick {
            self.readiness = self.readiness.without(event.ready);
        }
    }

    /// Readiness seen and not yet cleared.
    pub(crate) fn readiness(&self) -> Ready {
        self.readiness
    }

    /// How many waiters are stored, owned (slots held) and polled (wakers kept): what a
    /// cancelled wait must not leave behind.
    pub(crate) fn stored_wakers(&self) -> usize {
        let polled = self.polled.iter().flatten().count();
        let inline = self.inline.iter().filter(|inline| inline.held).count();
        polled + inline + self.waiters.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_waker::counting_waker;

    /// What the reactor's `poll_ready` does with a source: the readiness if any, otherwise the
    /// waker stored. `true` if ready.
    fn poll(source: &mut Source, interest: Interest, slot: &mut WaitSlot, waker: &Waker) -> bool {
        if source.ready_for(interest).is_some() {
            return true;
        }
        drop(source.store_waiter(interest.direction(), slot, waker));
        false
    }

    #[test]
    fn clear_ignores_readiness_newer_than_the_observation() {
        let mut source = Source::new(0, 0);
        let mut wake = Vec::new();
        source.record(Ready::READABLE, 1, &mut wake);
        let observed = source
            .ready_for(Interest::Readable)
            .expect("readable after an EPOLLIN event");
        // A new edge arrives between the observation and the clear.
        source.record(Ready::READABLE, 2, &mut wake);
        source.clear(observed);
        assert!(
            source.readiness().is_readable(),
            "the newer edge was erased"
        );
        let latest = source
            .ready_for(Interest::Readable)
            .expect("still readable");
        source.clear(latest);
        assert!(!source.readiness().is_readable());
    }

    #[test]
    fn closed_bits_survive_until_a_clear() {
        let mut source = Source::new(0, 0);
        source.record(Ready::READABLE | Ready::READ_CLOSED, 1, &mut Vec::new());
        let (waker, _) = counting_waker();
        // Still ready after any number of polls: EOF is reported, never waited for.
        for _ in 0..3 {
            assert!(poll(
                &mut source,
                Interest::Readable,
                &mut WaitSlot::Polled,
                &waker
            ));
        }
        let observed = source.ready_for(Interest::Readable).expect("readable");
        // Only an operation that answered EAGAIN clears, and then the fd is open again.
        source.clear(observed);
        assert!(!poll(
            &mut source,
            Interest::Readable,
            &mut WaitSlot::Polled,
            &waker
        ));
    }

    #[test]
    fn only_the_matching_direction_wakes() {
        let mut source = Source::new(0, 0);
        let (reader, reads) = counting_waker();
        let (writer, writes) = counting_waker();
        let mut reader_slot = WaitSlot::Unassigned;
        poll(&mut source, Interest::Readable, &mut reader_slot, &reader);
        poll(
            &mut source,
            Interest::Writable,
            &mut WaitSlot::Polled,
            &writer,
        );
        let mut wake = Vec::new();
        source.record(Ready::WRITABLE, 1, &mut wake);
        wake.drain(..).for_each(Waker::wake);
        assert_eq!((reads.count(), writes.count()), (0, 1));
        source.record(Ready::READABLE, 2, &mut wake);
        wake.drain(..).for_each(Waker::wake);
        assert_eq!((reads.count(), writes.count()), (1, 1));
    }

    #[test]
    fn every_owned_waiter_is_woken_and_keeps_its_slot_until_freed() {
        let mut source = Source::new(0, 0);
        let counters: Vec<_> = (0..3).map(|_| counting_waker()).collect();
        let slots: Vec<_> = counters
            .iter()
            .map(|(waker, _)| {
                let mut slot = WaitSlot::Unassigned;
                poll(&mut source, Interest::Readable, &mut slot, waker);
                slot
            })
            .collect();
        assert_eq!(
            slots[0],
            WaitSlot::Inline,
            "the first waiter takes the inline slot"
        );
        assert!(matches!(slots[1], WaitSlot::Slab(_)));
        let mut wake = Vec::new();
        source.record(Ready::READABLE, 1, &mut wake);
        wake.drain(..).for_each(Waker::wake);
        assert!(counters.iter().all(|(_, counter)| counter.count() == 1));
        assert_eq!(source.stored_wakers(), 3, "the slots stay held until freed");
        for slot in slots {
            assert!(
                source.remove_waiter(slot, Direction::Read).is_none(),
                "the event took it"
            );
        }
        assert_eq!(source.stored_wakers(), 0);
    }

    /// Regression: a waiter was removed only when an event for its direction arrived, so
    /// cancelled waits on an idle fd piled up (and every new wait scanned them all).
    #[test]
    fn cancelled_waits_on_an_idle_fd_leave_no_waker_behind() {
        let mut source = Source::new(0, 0);
        let (holder, _) = counting_waker();
        let mut held = WaitSlot::Unassigned; // Keeps the inline slot, so the slab is used too.
        assert!(!poll(&mut source, Interest::Readable, &mut held, &holder));
        // Under Miri, 10,000 rounds take over three minutes; a hundred show the same leak.
        let rounds = if cfg!(miri) { 100 } else { 10_000 };
        for _ in 0..rounds {
            let (waker, _) = counting_waker();
            let mut slot = WaitSlot::Unassigned;
            assert!(!poll(&mut source, Interest::Readable, &mut slot, &waker));
            assert!(slot != WaitSlot::Unassigned, "a pending poll takes a slot");
            assert!(source.remove_waiter(slot, Direction::Read).is_some());
        }
        assert!(source.remove_waiter(held, Direction::Read).is_some());
        assert_eq!(source.stored_wakers(), 0);
    }

    #[test]
    fn repolls_replace_the_stored_waker_in_place() {
        let mut source = Source::new(0, 0);
        let (first, first_count) = counting_waker();
        let (second, second_count) = counting_waker();
        let mut slot = WaitSlot::Unassigned;
        poll(&mut source, Interest::Readable, &mut slot, &first);
        poll(&mut source, Interest::Readable, &mut slot, &second);
        poll(
            &mut source,
            Interest::Writable,
            &mut WaitSlot::Polled,
            &first,
        );
        poll(
            &mut source,
            Interest::Writable,
            &mut WaitSlot::Polled,
            &second,
        );
        assert_eq!(source.stored_wakers(), 2);
        let mut wake = Vec::new();
        source.record(Ready::READABLE | Ready::WRITABLE, 1, &mut wake);
        wake.drain(..).for_each(Waker::wake);
        assert_eq!((first_count.count(), second_count.count()), (0, 2));
    }
}
