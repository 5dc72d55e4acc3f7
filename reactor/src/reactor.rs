//! The thread-local reactor: one epoll instance, the slab of registrations, the timers.
//!
//! Invariants:
//! - Each thread has at most one reactor, created on first use and kept until the thread exits.
//! - Every registered fd is added once, edge-triggered, and deleted from epoll before it is
//!   closed (see [`crate::Registration`]).
//! - An epoll token is `generation << 32 | slab key`; an event whose generation does not match
//!   the slot's current owner is stale and dropped.
//! - No `RefCell` borrow is held while a waker is woken or dropped: wakers are collected into a
//!   list first, then woken after every borrow is released, so a woken task that registers,
//!   deregisters or sleeps cannot hit a `BorrowMutError`.

use std::cell::{Cell, OnceCell, RefCell};
use std::fmt;
use std::io;
use std::os::fd::RawFd;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use slab::Slab;

use crate::readiness::{Interest, Ready, ReadyEvent};
use crate::source::Source;
use crate::sys::Epoll;
use crate::timers::{TimerKey, Timers};
use crate::unpark::Unparker;

/// The epoll token of the unparker's eventfd; slab keys never reach it.
const UNPARK_TOKEN: u64 = u64::MAX;

/// How many events one `epoll_wait` can return. More ready fds are returned by the next turn.
const EVENTS_CAPACITY: usize = 1024;

thread_local! {
    static CURRENT: OnceCell<Rc<Reactor>> = const { OnceCell::new() };
}

/// A registration's position in the slab, as encoded in its epoll token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SlotId {
    pub(crate) key: usize,
    pub(crate) generation: u32,
}

impl SlotId {
    fn token(self) -> u64 {
        (u64::from(self.generation) << 32) | self.key as u64
    }

    fn from_token(token: u64) -> SlotId {
        SlotId {
            key: (token & u64::from(u32::MAX)) as usize,
            generation: (token >> 32) as u32,
        }
    }
}

/// This thread's epoll instance, registrations and timers.
pub struct Reactor {
    /// The epoll instance; every registration and the unparker's eventfd are added to it.
    epoll: Epoll,
    /// Per-registration readiness and waiters, indexed by the low half of the epoll token.
    sources: RefCell<Slab<Source>>,
    /// Generation for the next registration; a slot reused later gets a different one.
    next_generation: Cell<u32>,
    /// Counts completed turns; stamps readiness so a clear can detect newer events.
    tick: Cell<u32>,
    /// Reused buffer for `epoll_wait`, taken out of the cell for the duration of a wait.
    events: Cell<Vec<libc::epoll_event>>,
    /// Reused buffer of wakers collected during a turn, woken after all borrows are released.
    to_wake: Cell<Vec<Waker>>,
    /// Pending timers.
    timers: RefCell<Timers>,
    /// Wakers to wake after the next turn's events (see [`Reactor::defer`]); while any are
    /// here, a turn does not block.
    deferred: RefCell<Vec<Waker>>,
    /// Lets other threads interrupt a blocking turn.
    unparker: Unparker,
}

impl Reactor {
    fn new() -> io::Result<Reactor> {
        let epoll = Epoll::new()?;
        let unparker = Unparker::new()?;
        epoll.add(unparker.fd(), UNPARK_TOKEN)?;
        tracing::debug!(unpark_fd = unparker.fd(), "reactor created");
        Ok(Reactor {
            epoll,
            sources: RefCell::new(Slab::new()),
            next_generation: Cell::new(0),
            tick: Cell::new(0),
            events: Cell::new(Vec::with_capacity(EVENTS_CAPACITY)),
            to_wake: Cell::new(Vec::new()),
            timers: RefCell::new(Timers::new()),
            deferred: RefCell::new(Vec::new()),
            unparker,
        })
    }

    /// This thread's reactor, created on first use.
    ///
    /// Fails only if the epoll instance or the eventfd cannot be created (e.g. `EMFILE`).
    pub fn current() -> io::Result<Rc<Reactor>> {
        CURRENT.with(|cell| {
            if let Some(reactor) = cell.get() {
                return Ok(reactor.clone());
            }
            let reactor = Rc::new(Reactor::new()?);
            Ok(cell.get_or_init(|| reactor).clone())
        })
    }

    /// A handle other threads use to interrupt this reactor's blocking turns.
    pub fn unparker(&self) -> Unparker {
        self.unparker.clone()
    }

    /// Waits for I/O events or the earliest timer, for at most `timeout` (`None`: no limit other
    /// than the timers), then wakes every task whose fd or timer became ready.
    ///
    /// A `Some(Duration::ZERO)` turn never blocks. A turn that may block returns early if an
    /// [`Unparker`] was used since the last turn. Returns the number of epoll events received,
    /// stale ones included (a count for tests and tracing, not a count of wakes).
    pub fn turn(&self, timeout: Option<Duration>) -> io::Result<usize> {
        let timeout = if self.deferred.borrow().is_empty() {
            self.timeout_until_next_timer(timeout)
        } else {
            Some(Duration::ZERO)
        };
        let may_block = timeout != Some(Duration::ZERO);
        let timeout = if may_block && !self.unparker.begin_park() {
            Some(Duration::ZERO)
        } else {
            timeout
        };

        let mut events = self.events.take();
        if events.capacity() == 0 {
            // Only if `turn` was re-entered from a waker: the outer call holds the buffer.
            events.reserve(EVENTS_CAPACITY);
        }
        let waited = self.epoll.wait(&mut events, timeout);
        self.unparker.end_park();
        let tick = self.tick.get().wrapping_add(1);
        self.tick.set(tick);
        tracing::trace!(?timeout, events = events.len(), tick, "reactor turn");

        let mut to_wake = self.to_wake.take();
        self.dispatch(&events, tick, &mut to_wake);
        self.events.set(events);
        self.expire_timers(&mut to_wake);
        to_wake.append(&mut self.deferred.borrow_mut());

        // Every borrow is released: wakers may now re-enter the reactor.
        for waker in to_wake.drain(..) {
            waker.wake();
        }
        self.to_wake.set(to_wake);
        waited
    }

    /// Collects the wakers of due timers; reads the clock only if a timer is pending.
    fn expire_timers(&self, to_wake: &mut Vec<Waker>) {
        let mut timers = self.timers.borrow_mut();
        if timers.len() > 0 {
            timers.expire(Instant::now(), to_wake);
        }
    }

    /// The caller's timeout shortened to the earliest timer's deadline.
    fn timeout_until_next_timer(&self, timeout: Option<Duration>) -> Option<Duration> {
        let Some(deadline) = self.timers.borrow_mut().next_deadline() else {
            return timeout;
        };
        let until_deadline = deadline.saturating_duration_since(Instant::now());
        Some(timeout.map_or(until_deadline, |t| t.min(until_deadline)))
    }

    /// Records each event's readiness on its source and collects the wakers it satisfies.
    fn dispatch(&self, events: &[libc::epoll_event], tick: u32, to_wake: &mut Vec<Waker>) {
        let mut sources = self.sources.borrow_mut();
        for event in events {
            let token = event.u64;
            if token == UNPARK_TOKEN {
                continue; // Its only job was to end the wait.
            }
            let id = SlotId::from_token(token);
            match sources.get_mut(id.key) {
                Some(source) if source.generation == id.generation => {
                    source.record(Ready::from_epoll(event.events), tick, to_wake);
                }
                _ => tracing::trace!(token, "dropped a stale event for a reused slot"),
            }
        }
    }

    // ----- registrations -----

    /// Adds `fd` to epoll and allocates its slot. On failure the slot is released again, so a
    /// failed registration leaves nothing behind.
    pub(crate) fn register(&self, fd: RawFd) -> io::Result<SlotId> {
        let generation = self.next_generation.get();
        self.next_generation.set(generation.wrapping_add(1));
        let key = self
            .sources
            .borrow_mut()
            .insert(Source::new(fd, generation));
        let id = SlotId { key, generation };
        if let Err(err) = self.epoll.add(fd, id.token()) {
            self.sources.borrow_mut().remove(key);
            tracing::debug!(fd, %err, "registration failed");
            return Err(err);
        }
        tracing::debug!(fd, token = id.token(), "registered");
        Ok(id)
    }

    /// Deletes the fd from epoll and frees its slot. Waiters still stored are dropped, after
    /// the borrow is released.
    pub(crate) fn deregister(&self, id: SlotId) -> io::Result<()> {
        let source = {
            let mut sources = self.sources.borrow_mut();
            match sources.get(id.key) {
                Some(source) if source.generation == id.generation => sources.remove(id.key),
                _ => return Ok(()),
            }
        };
        tracing::debug!(fd = source.fd, token = id.token(), "deregistered");
        self.epoll.delete(source.fd)
    }

    pub(crate) fn poll_ready(
        &self,
        id: SlotId,
        interest: Interest,
        cx: &mut Context<'_>,
    ) -> Poll<ReadyEvent> {
        let mut sources = self.sources.borrow_mut();
        sources[id.key].poll_ready(interest, cx)
    }

    pub(crate) fn clear_readiness(&self, id: SlotId, event: ReadyEvent) {
        self.sources.borrow_mut()[id.key].clear(event);
    }

    pub(crate) fn readiness(&self, id: SlotId) -> Ready {
        self.sources.borrow()[id.key].readiness()
    }

    /// Wakes `waker` after the next turn has looked at epoll and the timers, and keeps that
    /// turn from blocking: how a task that yields lets I/O and timers in before it runs again.
    pub fn defer(&self, waker: &Waker) {
        let waker = waker.clone(); // Before the borrow: cloning a waker may run arbitrary code.
        self.deferred.borrow_mut().push(waker);
    }

    /// Number of live registrations.
    pub fn registrations(&self) -> usize {
        self.sources.borrow().len()
    }

    // ----- timers -----

    pub(crate) fn insert_timer(&self, deadline: Instant, waker: Waker) -> TimerKey {
        self.timers.borrow_mut().insert(deadline, waker)
    }

    pub(crate) fn update_timer_waker(&self, key: TimerKey, waker: &Waker) -> bool {
        let replaced = self.timers.borrow_mut().update_waker(key, waker);
        // The replaced waker, if any, is dropped here, after the borrow.
        replaced.is_some()
    }

    pub(crate) fn remove_timer(&self, key: TimerKey) {
        let waker = self.timers.borrow_mut().remove(key);
        drop(waker); // After the borrow: dropping a waker may run arbitrary code.
    }

    /// Number of pending timers.
    pub fn pending_timers(&self) -> usize {
        self.timers.borrow().len()
    }
}

impl fmt::Debug for Reactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reactor")
            .field("epoll", &self.epoll)
            .field("registrations", &self.registrations())
            .field("pending_timers", &self.pending_timers())
            .field("tick", &self.tick.get())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    struct CountingWaker(AtomicUsize);
    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Regression: an event for a freed slot must not reach the slot's next owner.
    ///
    /// The stale event is produced for real: A's fd is closed *without* `EPOLL_CTL_DEL` while a
    /// dup keeps its open file description alive, so the kernel keeps A's epoll item and its old
    /// token; B then reuses A's slab slot.
    #[test]
    #[cfg_attr(
        miri,
        ignore = "needs the kernel's epoll semantics for a closed, dup'ed fd"
    )]
    fn stale_event_after_slot_reuse_is_dropped() {
        let reactor = Reactor::current().unwrap();
        let (a, mut a_peer) = UnixStream::pair().unwrap();
        let a_dup = a.try_clone().unwrap();
        let a_id = reactor.register(a.as_raw_fd()).unwrap();
        drop(a);
        let deleted = reactor.deregister(a_id);
        assert!(
            deleted.is_err(),
            "the fd was closed, so EPOLL_CTL_DEL cannot find it"
        );

        let (b, _b_peer) = UnixStream::pair().unwrap();
        let b_id = reactor.register(b.as_raw_fd()).unwrap();
        assert_eq!(
            b_id.key, a_id.key,
            "B must reuse A's slot for this test to mean anything"
        );
        assert_ne!(b_id.generation, a_id.generation);
        reactor.turn(Some(Duration::ZERO)).unwrap(); // Initial EPOLLOUT edges of A and B.

        let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
        let waker = Waker::from(counter.clone());
        let poll = reactor.poll_ready(b_id, Interest::Readable, &mut Context::from_waker(&waker));
        assert!(poll.is_pending());

        a_peer.write_all(b"stale").unwrap();
        let events = reactor.turn(Some(Duration::from_secs(5))).unwrap();
        assert_eq!(events, 1, "the kernel should report A's old token once");
        assert_eq!(
            counter.0.load(Ordering::SeqCst),
            0,
            "B was woken by A's event"
        );
        assert!(!reactor.readiness(b_id).is_readable());

        reactor.deregister(b_id).unwrap();
        drop(a_dup);
    }

    #[test]
    fn token_round_trips_key_and_generation() {
        let id = SlotId {
            key: 12345,
            generation: 0xdead_beef,
        };
        assert_eq!(SlotId::from_token(id.token()), id);
        assert_ne!(id.token(), UNPARK_TOKEN);
    }
}
