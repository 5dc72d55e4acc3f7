//! A property test of the slab, its tokens and their generations: random sequences of
//! registrations, deregistrations (with a live id, or again with the id of a source deregistered
//! since, whose slot a later registration may own) and events — for a live token, for a stale
//! one, or for a live slot with any generation — with the generation counter started just below
//! `u32::MAX`, so that it wraps.
//!
//! The real [`Reactor`] runs it: every source is a real eventfd, registered with a real epoll
//! instance, and the events are built by hand and handed to `dispatch`, as `epoll_wait` would.
//! The property: an event is delivered to a source (its readiness set, its stored waker woken)
//! exactly when its token's key and generation are that source's, and never to a later owner of
//! the slot; a stale id deregisters nothing.

use std::os::fd::{AsFd, OwnedFd};
use std::task::{Context, Poll, Waker};

use proptest::prelude::*;

use super::{Reactor, SlotId};
use crate::readiness::Interest;
use crate::source::WaitSlot;
use crate::sys;

/// What a step of the sequence does. Indices pick among the live or the deregistered sources
/// (modulo their number); a step that has nothing to pick from does nothing.
#[derive(Clone, Debug)]
enum Step {
    Register,
    Deregister(usize),
    /// Deregisters a deregistered source's id again.
    DeregisterStale(usize),
    /// An event with a live source's current token.
    EventForLive(usize),
    /// An event with the token a deregistered source had.
    EventForStale(usize),
    /// An event for a live source's slot, with an arbitrary generation.
    EventForSlot(usize, u32),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => Just(Step::Register),
        2 => any::<usize>().prop_map(Step::Deregister),
        1 => any::<usize>().prop_map(Step::DeregisterStale),
        2 => any::<usize>().prop_map(Step::EventForLive),
        2 => any::<usize>().prop_map(Step::EventForStale),
        1 => (any::<usize>(), any::<u32>()).prop_map(|(i, g)| Step::EventForSlot(i, g)),
    ]
}

/// A registered eventfd; a waker is stored for its readability between steps.
struct Live {
    id: SlotId,
    /// Kept open until the registration is gone, as `Registration::new` requires.
    _fd: OwnedFd,
}

struct Harness {
    reactor: Reactor,
    live: Vec<Live>,
    /// Ids of deregistered sources, whose tokens are now stale.
    stale: Vec<SlotId>,
}

impl Harness {
    fn new(first_generation: u32) -> Harness {
        let reactor = Reactor::new().unwrap();
        reactor.next_generation.set(first_generation);
        Harness {
            reactor,
            live: Vec::new(),
            stale: Vec::new(),
        }
    }

    fn register(&mut self) {
        let fd = sys::eventfd().unwrap();
        let id = self.reactor.register(fd.as_fd()).unwrap();
        assert!(
            self.live.iter().all(|live| live.id != id),
            "{id:?} handed out twice"
        );
        self.wait_for_readable(id);
        self.live.push(Live { id, _fd: fd });
    }

    fn deregister(&mut self, index: usize) {
        let Live { id, _fd } = self.live.swap_remove(index);
        self.reactor.deregister(id).unwrap();
        self.stale.push(id);
    }

    /// Stores a waker for readability; the source must not be readable.
    fn wait_for_readable(&self, id: SlotId) {
        let poll = self.reactor.poll_ready(
            id,
            Interest::Readable,
            &mut WaitSlot::Polled,
            &mut Context::from_waker(Waker::noop()),
        );
        assert!(
            poll.is_pending(),
            "{id:?} is readable before any event for it"
        );
    }

    /// Dispatches one readable event for `token` and checks which sources it reached.
    fn event(&mut self, token: u64) {
        let event = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: token,
        };
        let tick = self.reactor.tick.get() + 1;
        self.reactor.tick.set(tick);
        let mut woken = Vec::new();
        self.reactor.dispatch(&[event], tick, &mut woken);
        let target = SlotId::from_token(token);
        let owner = self.live.iter().find(|live| live.id == target);
        assert_eq!(
            woken.len(),
            usize::from(owner.is_some()),
            "an event for {target:?} woke {} wakers; live: {:?}",
            woken.len(),
            self.live.iter().map(|live| live.id).collect::<Vec<_>>()
        );
        for live in &self.live {
            let poll = self.reactor.poll_ready(
                live.id,
                Interest::Readable,
                &mut WaitSlot::Polled,
                &mut Context::from_waker(Waker::noop()),
            );
            match poll {
                Poll::Ready(event) => {
                    assert_eq!(
                        live.id, target,
                        "an event for {target:?} reached {:?}",
                        live.id
                    );
                    // As an I/O resource does on `WouldBlock`: clear, and wait again.
                    self.reactor.clear_readiness(live.id, event.unwrap());
                    self.wait_for_readable(live.id);
                }
                Poll::Pending => {
                    assert_ne!(live.id, target, "the event for {target:?} was lost");
                }
            }
        }
    }

    fn run(&mut self, step: Step) {
        match step {
            Step::Register => self.register(),
            Step::Deregister(i) if !self.live.is_empty() => self.deregister(i % self.live.len()),
            Step::DeregisterStale(i) if !self.stale.is_empty() => {
                // A no-op, whoever owns the slot now: the count check below sees a freed owner.
                let id = self.stale[i % self.stale.len()];
                self.reactor.deregister(id).unwrap();
            }
            Step::EventForLive(i) if !self.live.is_empty() => {
                self.event(self.live[i % self.live.len()].id.token());
            }
            Step::EventForStale(i) if !self.stale.is_empty() => {
                self.event(self.stale[i % self.stale.len()].token());
            }
            Step::EventForSlot(i, generation) if !self.live.is_empty() => {
                let key = self.live[i % self.live.len()].id.key;
                self.event(SlotId { key, generation }.token());
            }
            _ => {}
        }
        assert_eq!(self.reactor.registrations(), self.live.len());
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        for live in self.live.drain(..) {
            let _ = self.reactor.deregister(live.id);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: if cfg!(miri) { 4 } else { 256 },
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Stale events and stale ids never reach a slot's next owner, across a generation wrap.
    #[test]
    fn events_reach_only_the_current_owner_of_a_slot_across_a_generation_wrap(
        below_wrap in 0u32..16,
        steps in prop::collection::vec(step(), 1..64),
    ) {
        let mut harness = Harness::new(u32::MAX - below_wrap);
        for step in steps {
            harness.run(step);
        }
    }
}
