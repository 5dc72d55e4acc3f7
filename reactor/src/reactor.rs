//! The thread-local reactor: one epoll instance, the slab of registrations, the timers.
//!
//! Invariants:
//! - Each thread has at most one current reactor, created on first use and kept until the thread
//!   exits (or replaced after a `fork`, see `fork`). Everything that holds on to it holds an
//!   `Rc`, so a reactor outlives its thread-local slot while anything still uses it.
//! - Every registered fd is added once, edge-triggered, and deleted from epoll before it is
//!   closed (see [`crate::Registration`]).
//! - An epoll token is `generation << 32 | slab key`; an event whose generation does not match
//!   the slot's current owner is stale and dropped.
//! - No `RefCell` borrow is held while a waker is woken or dropped — both may run arbitrary
//!   code (a task's wake, a destructor chain): wakers are collected into a list first, then
//!   woken after every borrow is released, so a woken task that registers, deregisters or
//!   sleeps cannot hit a `BorrowMutError`. A waker that panics does not keep the others of its
//!   turn from being woken: the turn wakes them all, then resumes the first panic.
//! - A waker *is* cloned under a borrow, as in every runtime (tokio clones under its driver's
//!   lock): a clone bumps a reference count, and one that panics unwinds before anything was
//!   changed. A waker whose clone re-entered the reactor would get a `BorrowMutError` panic.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use slab::Slab;

use crate::fork;
use crate::readiness::{Interest, Ready, ReadyEvent};
use crate::source::{Source, WaitSlot};
use crate::sys::Epoll;
use crate::time::Clock;
use crate::timers::{TimerKey, Timers};
use crate::unpark::Unparker;

/// The epoll token of the unparker's eventfd; slab keys never reach it.
const UNPARK_TOKEN: u64 = u64::MAX;

/// How many events one `epoll_wait` can return unless configured otherwise; more ready fds are
/// returned by the next turn.
pub const DEFAULT_EVENT_CAPACITY: usize = 1024;

thread_local! {
    static CURRENT: RefCell<Option<Rc<Reactor>>> = const { RefCell::new(None) };
}

/// Gives every reactor of the process a distinct identity (64 bits: never wraps).
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

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
    /// Distinguishes this reactor from every other of the process, so that a timer can tell
    /// whether it is registered with the reactor of the thread that polls or drops it.
    id: u64,
    /// The fork count (see `fork`) when this reactor was created: if it changed, this is the
    /// parent's reactor, inherited by a forked child, and must not touch the shared epoll.
    forks_at_creation: u64,
    /// The epoll instance; every registration and the unparker's eventfd are added to it.
    epoll: Epoll,
    /// Per-registration readiness and waiters, indexed by the low half of the epoll token.
    sources: RefCell<Slab<Source>>,
    /// Generation for the next registration; a slot reused later gets a different one. It wraps
    /// after 2^32 registrations, which is harmless: a stale event exists only while the kernel
    /// still holds an item that was never deleted, and would need that many registrations of the
    /// same slot in between to be mistaken for the current one.
    next_generation: Cell<u32>,
    /// Counts completed turns; stamps readiness so a clear can detect newer events.
    tick: Cell<u64>,
    /// Reused buffer for `epoll_wait`, borrowed for the duration of a wait and its dispatch. Its
    /// capacity is how many events a turn can receive: allocated by the first turn, and again by
    /// the first after a change of capacity.
    events: RefCell<Vec<libc::epoll_event>>,
    /// The capacity `events` gets.
    event_capacity: Cell<usize>,
    /// Reused buffer of wakers collected during a turn, woken after all borrows are released.
    to_wake: Cell<Vec<Waker>>,
    /// Pending timers.
    timers: RefCell<Timers>,
    /// What time it is for the timers: the real clock, or a paused one (`time::pause`).
    clock: Clock,
    /// Wakers to wake after the next turn's events (see [`Reactor::defer`]); while any are
    /// here, a turn does not block.
    deferred: RefCell<Vec<Waker>>,
    /// Lets other threads interrupt a blocking turn.
    unparker: Unparker,
    /// The epoll fd was handed out ([`AsFd`]), e.g. to nest this reactor in another event
    /// loop. That loop sees the fd readable while any event waits uncollected, so from then on
    /// every turn waits, even one that cannot block with no fd registered.
    fd_exposed: Cell<bool>,
}

impl Reactor {
    fn new() -> io::Result<Reactor> {
        fork::watch()?;
        let forks_at_creation = fork::count();
        let epoll = Epoll::new()?;
        let unparker = Unparker::new()?;
        epoll.add(unparker.fd(), UNPARK_TOKEN)?;
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(reactor = id, "reactor created");
        Ok(Reactor {
            id,
            forks_at_creation,
            epoll,
            sources: RefCell::new(Slab::new()),
            next_generation: Cell::new(0),
            tick: Cell::new(0),
            events: RefCell::new(Vec::new()),
            event_capacity: Cell::new(DEFAULT_EVENT_CAPACITY),
            to_wake: Cell::new(Vec::new()),
            timers: RefCell::new(Timers::new()),
            clock: Clock::new(),
            deferred: RefCell::new(Vec::new()),
            unparker,
            fd_exposed: Cell::new(false),
        })
    }

    /// This thread's reactor, created on first use (and created afresh in a forked child).
    ///
    /// Fails if the epoll instance or the eventfd cannot be created (e.g. `EMFILE`), or if the
    /// thread is exiting and its reactor is already gone.
    pub fn current() -> io::Result<Rc<Reactor>> {
        let existing = CURRENT
            .try_with(|current| current.borrow().clone())
            .map_err(|_| thread_exiting())?;
        match existing {
            Some(reactor) if !reactor.is_inherited() => Ok(reactor),
            _ => {
                let reactor = Rc::new(Reactor::new()?);
                let replaced = CURRENT
                    .try_with(|current| current.replace(Some(reactor.clone())))
                    .map_err(|_| thread_exiting())?;
                drop(replaced); // After the borrow.
                Ok(reactor)
            }
        }
    }

    /// Runs `f` with this thread's reactor, created on first use (as [`current`](Self::current)),
    /// without cloning its `Rc`: for the timers' hot paths. `f` runs under a borrow of the
    /// thread-local, so it must not drop or wake a waker (cloning one is fine).
    #[inline(always)]
    pub(crate) fn with_current<R>(f: impl FnOnce(&Reactor) -> R) -> io::Result<R> {
        let existing = CURRENT
            .try_with(|current| match &*current.borrow() {
                Some(reactor) if !reactor.is_inherited() => Ok(f(reactor)),
                _ => Err(f),
            })
            .map_err(|_| thread_exiting())?;
        match existing {
            Ok(result) => Ok(result),
            Err(f) => Self::with_new(f),
        }
    }

    /// [`with_current`](Self::with_current) when the reactor does not exist yet (or is the
    /// parent's): out of line, so that the common path has `f` inlined at its only call.
    #[cold]
    #[inline(never)]
    fn with_new<R>(f: impl FnOnce(&Reactor) -> R) -> io::Result<R> {
        Ok(f(&*Reactor::current()?))
    }

    /// Runs `f` with this thread's reactor if it exists already (and is not the parent's, after
    /// a fork); never creates one. For drop paths, which must not fail or allocate an epoll.
    /// As in [`with_current`](Self::with_current), `f` runs under a borrow of the thread-local
    /// and must not drop or wake a waker.
    #[inline]
    pub(crate) fn with_existing<R>(f: impl FnOnce(&Reactor) -> R) -> Option<R> {
        CURRENT
            .try_with(|current| match &*current.borrow() {
                Some(reactor) if !reactor.is_inherited() => Some(f(reactor)),
                _ => None,
            })
            .ok()?
    }

    /// This reactor's identity, distinct from every other reactor's in the process.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Whether this is the parent's reactor, seen from a forked child: it then refuses to wait
    /// or register, and deletes nothing from the epoll instance it shares with the parent.
    #[inline(always)]
    pub(crate) fn is_inherited(&self) -> bool {
        fork::count() != self.forks_at_creation
    }

    /// An error (saying so) if this is the parent's reactor, seen from a forked child.
    #[inline]
    pub fn check_not_inherited(&self) -> io::Result<()> {
        if self.is_inherited() {
            return Err(inherited_across_fork());
        }
        Ok(())
    }

    /// A handle other threads use to interrupt this reactor's blocking turns.
    pub fn unparker(&self) -> Unparker {
        self.unparker.clone()
    }

    /// Sets how many events one turn can receive (at least 1). More ready fds than that are
    /// simply returned by the next turn.
    pub fn set_event_capacity(&self, capacity: usize) {
        let capacity = capacity.max(1);
        if self.event_capacity.replace(capacity) != capacity {
            *self.events.borrow_mut() = Vec::new();
        }
    }

    /// Waits for I/O events or the earliest timer, for at most `timeout` (`None`: no limit other
    /// than the timers), then wakes every task whose fd or timer became ready, and every task
    /// [`defer`](Self::defer)red before the turn.
    ///
    /// A `Some(Duration::ZERO)` turn never blocks; neither does one while deferred wakers wait.
    /// Such a turn makes no syscall while no fd is registered, unless the epoll fd was handed
    /// out ([`AsFd`]): it could only collect events that no registration owns, and drop them.
    /// A turn that may block returns early if an [`Unparker`] was used since the last turn. With
    /// the clock paused and nothing else to do, a turn that may block advances the clock to the
    /// earliest timer instead of waiting for it. Returns the number of epoll events received,
    /// stale ones included, and 0 when the wait was skipped (a count for tests and tracing, not
    /// a count of wakes).
    ///
    /// # Errors
    /// The epoll wait's error (named after the syscall), or this being the parent's reactor in a
    /// forked child. A waker that panics is not an error: every other waker of the turn is woken,
    /// then the panic resumes.
    pub fn turn(&self, timeout: Option<Duration>) -> io::Result<usize> {
        self.check_not_inherited()?;
        let may_block = timeout != Some(Duration::ZERO) && !self.has_deferred();
        let (wait, auto_advance_to) = if may_block {
            self.blocking_wait(timeout)
        } else {
            (Some(Duration::ZERO), None)
        };

        let mut to_wake = self.to_wake.take();
        // Nothing re-enters the reactor while the events are borrowed: recording readiness only
        // moves wakers into `to_wake` (none is woken, cloned or dropped here).
        let mut events = self.events.borrow_mut();
        if events.capacity() < self.event_capacity.get() {
            events.reserve_exact(self.event_capacity.get());
        }
        let waited = if wait == Some(Duration::ZERO)
            && !self.fd_exposed.get()
            && self.sources.borrow().is_empty()
        {
            // With no fd registered, the wait could collect only events that no registration
            // owns (the unparker eventfd's edges: its initial one and those of writes while it
            // was parked; an fd whose deletion failed), which `dispatch` drops. Left in epoll,
            // they end the next blocking wait at once, one spurious return. So a yield with no
            // fd registered costs no syscall.
            events.clear();
            Ok(0)
        } else {
            self.epoll.wait(&mut events, wait)
        };
        let unparked = self.unparker.end_park();
        let tick = self.tick.get() + 1;
        self.tick.set(tick);
        if !events.is_empty() {
            self.dispatch(&events, tick, &mut to_wake);
        }
        let received = events.len();
        drop(events);
        tracing::trace!(?wait, events = received, tick, "reactor turn");
        let nothing_happened = received == 0 && !unparked;

        if let Some(deadline) = auto_advance_to.filter(|_| nothing_happened) {
            self.clock.advance_to(deadline);
        }
        self.expire_timers(&mut to_wake);
        let mut deferred = self.deferred.borrow_mut();
        if to_wake.is_empty() {
            // The common case after a yield: trade buffers rather than copy.
            std::mem::swap(&mut to_wake, &mut *deferred);
        } else {
            to_wake.append(&mut deferred);
        }
        drop(deferred);

        // Every borrow is released: wakers may now re-enter the reactor.
        let panicked = wake_all(&mut to_wake);
        let left = self.to_wake.replace(to_wake);
        if left.capacity() == 0 {
            // What `take` left, unless a waker turned the reactor meanwhile: nothing to free,
            // so its drop (a loop over no wakers) is skipped.
            std::mem::forget(left);
        }
        if let Some(payload) = panicked {
            resume_unwind(payload);
        }
        waited
    }

    /// How long a turn that may block waits: until `timeout` or the earliest timer (or, if that
    /// is more than a second after the last clock read, possibly an earlier cancelled timer's
    /// deadline: see `timers`), or not at all if an [`Unparker`] was used since the last turn;
    /// and, with the clock paused, the exact deadline to advance it to if nothing happens (it
    /// then does not wait either).
    fn blocking_wait(&self, timeout: Option<Duration>) -> (Option<Duration>, Option<Instant>) {
        let paused = self.clock.is_paused();
        // Paused, the deadline must be exact: the clock jumps to it, and no earlier one may
        // stand in for it.
        let now = (!paused).then(|| self.clock.last_read());
        let next_deadline = self.timers.borrow_mut().next_deadline(now);
        let wait = if paused {
            if let Some(deadline) = next_deadline {
                return (Some(Duration::ZERO), Some(deadline));
            }
            timeout // Paused time does not pass while the thread waits.
        } else {
            self.shorten_to_deadline(timeout, next_deadline)
        };
        if wait != Some(Duration::ZERO) && !self.unparker.begin_park() {
            return (Some(Duration::ZERO), None);
        }
        (wait, None)
    }

    /// Collects the wakers of due timers; reads the clock only if a timer is pending.
    fn expire_timers(&self, to_wake: &mut Vec<Waker>) {
        let mut timers = self.timers.borrow_mut();
        if timers.len() > 0 {
            timers.expire(self.clock.now(), to_wake);
        }
    }

    /// The caller's timeout shortened to the earliest timer's deadline.
    fn shorten_to_deadline(
        &self,
        timeout: Option<Duration>,
        deadline: Option<Instant>,
    ) -> Option<Duration> {
        let Some(deadline) = deadline else {
            return timeout;
        };
        let until_deadline = deadline.saturating_duration_since(self.clock.now());
        Some(timeout.map_or(until_deadline, |t| t.min(until_deadline)))
    }

    /// Records each event's readiness on its source and collects the wakers it satisfies.
    fn dispatch(&self, events: &[libc::epoll_event], tick: u64, to_wake: &mut Vec<Waker>) {
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

    /// Whether a waker is [`defer`](Self::defer)red to the next turn, which then does not block.
    #[inline]
    pub fn has_deferred(&self) -> bool {
        !self.deferred.borrow().is_empty()
    }

    /// Wakes `waker` after the next turn has looked at epoll and the timers, and keeps that
    /// turn from blocking: how a task that yields lets I/O and timers in before it runs again.
    pub fn defer(&self, waker: &Waker) {
        let waker = waker.clone(); // Before the borrow: cloning a waker may run arbitrary code.
        self.deferred.borrow_mut().push(waker);
    }

    /// [`defer`](Self::defer) on this thread's reactor (created on first use, as
    /// [`current`](Self::current)), without cloning its `Rc`: what a yield does every time.
    /// An error if there is no reactor and none can be created, or the thread is exiting;
    /// `waker` is then not deferred.
    pub fn defer_current(waker: &Waker) -> io::Result<()> {
        let waker = waker.clone(); // Before the borrow: cloning a waker may run arbitrary code.
        Self::with_current(|reactor| reactor.deferred.borrow_mut().push(waker))
    }

    /// [`defer`](Self::defer) on this thread's reactor if it has one (none is created for it);
    /// false, and `waker` not deferred, if it has none.
    pub(crate) fn defer_existing(waker: &Waker) -> bool {
        let waker = waker.clone(); // Before the borrow: cloning a waker may run arbitrary code.
        Self::with_existing(|reactor| reactor.deferred.borrow_mut().push(waker)).is_some()
    }

    // ----- registrations -----

    /// Adds `fd` to epoll and allocates its slot. On failure the slot is released again, so a
    /// failed registration leaves nothing behind.
    pub(crate) fn register(&self, fd: BorrowedFd<'_>) -> io::Result<SlotId> {
        use std::os::fd::AsRawFd;
        let raw = fd.as_raw_fd();
        let generation = self.next_generation.get();
        self.next_generation.set(generation.wrapping_add(1));
        let key = self
            .sources
            .borrow_mut()
            .insert(Source::new(raw, generation));
        let id = SlotId { key, generation };
        if let Err(err) = self.epoll.add(fd, id.token()) {
            self.sources.borrow_mut().remove(key);
            tracing::debug!(fd = raw, %err, "registration failed");
            return Err(err);
        }
        tracing::debug!(fd = raw, token = id.token(), "registered");
        Ok(id)
    }

    /// Deletes the fd from epoll and frees its slot. Waiters still stored are dropped, after
    /// the borrow is released. In a forked child, the parent's epoll instance is left alone.
    pub(crate) fn deregister(&self, id: SlotId) -> io::Result<()> {
        let source = {
            let mut sources = self.sources.borrow_mut();
            match sources.get(id.key) {
                Some(source) if source.generation == id.generation => sources.remove(id.key),
                _ => return Ok(()),
            }
        };
        if self.is_inherited() {
            return Ok(()); // The epoll instance is the parent's: deleting would steal its fd.
        }
        tracing::debug!(fd = source.fd, token = id.token(), "deregistered");
        // SAFETY: `Registration::new`'s contract keeps the fd open until this deregistration.
        let fd = unsafe { BorrowedFd::borrow_raw(source.fd) };
        self.epoll.delete(fd)
    }

    /// Readiness for `interest`, or the task's waker stored in `slot`, both under one borrow of
    /// the sources and one lookup of this one.
    ///
    /// Readiness that resolves frees the waiter slot `slot` held (a later `Pending` takes one
    /// again), so a readiness future that completes has nothing left to free when dropped.
    #[inline(always)]
    pub(crate) fn poll_ready(
        &self,
        id: SlotId,
        interest: Interest,
        slot: &mut WaitSlot,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<ReadyEvent>> {
        let mut sources = self.sources.borrow_mut();
        let source = &mut sources[id.key];
        let Some(event) = source.ready_for(interest) else {
            self.check_not_inherited()?;
            let replaced = source.store_waiter(interest.direction(), slot, cx.waker());
            drop(sources);
            drop(replaced); // After the borrow: dropping a waker may run arbitrary code.
            return Poll::Pending;
        };
        let released = slot
            .take_held()
            .and_then(|held| source.remove_waiter(held, interest.direction()));
        drop(sources);
        drop(released); // After the borrow.
        self.check_not_inherited()?;
        std::task::ready!(crate::coop::poll_proceed(cx));
        Poll::Ready(Ok(event))
    }

    #[inline]
    pub(crate) fn remove_waiter(&self, id: SlotId, slot: WaitSlot, interest: Interest) {
        let waker = self.sources.borrow_mut()[id.key].remove_waiter(slot, interest.direction());
        drop(waker); // After the borrow.
    }

    #[inline]
    pub(crate) fn clear_readiness(&self, id: SlotId, event: ReadyEvent) {
        self.sources.borrow_mut()[id.key].clear(event);
    }

    pub(crate) fn readiness(&self, id: SlotId) -> Ready {
        self.sources.borrow()[id.key].readiness()
    }

    /// Number of live registrations.
    pub fn registrations(&self) -> usize {
        self.sources.borrow().len()
    }

    /// Number of wakers stored by all registrations: tasks waiting for readiness. A cancelled
    /// wait leaves none behind.
    pub fn io_waiters(&self) -> usize {
        self.sources
            .borrow()
            .iter()
            .map(|(_, source)| source.stored_wakers())
            .sum()
    }

    // ----- timers -----

    #[inline]
    pub(crate) fn insert_timer(&self, deadline: Instant, waker: Waker) -> TimerKey {
        self.timers.borrow_mut().insert(deadline, waker)
    }

    /// Stores `waker` for the timer `key`; `None` if the key is stale, else the waker it
    /// replaced, for the caller to drop after its own borrows.
    pub(crate) fn update_timer_waker(&self, key: TimerKey, waker: &Waker) -> Option<Option<Waker>> {
        self.timers.borrow_mut().update_waker(key, waker)
    }

    /// Cancels the timer `key`; returns its waker, if it was pending, for the caller to drop
    /// after its own borrows (dropping a waker may run arbitrary code).
    #[must_use = "drop the waker after every borrow is released"]
    #[inline]
    pub(crate) fn remove_timer(&self, key: TimerKey) -> Option<Waker> {
        self.timers.borrow_mut().remove(key)
    }

    /// Number of pending timers.
    pub fn pending_timers(&self) -> usize {
        self.timers.borrow().len()
    }

    pub(crate) fn clock(&self) -> &Clock {
        &self.clock
    }
}

/// Wakes every waker in `to_wake`, even if some panic; returns the first panic's payload.
fn wake_all(to_wake: &mut Vec<Waker>) -> Option<Box<dyn std::any::Any + Send>> {
    let mut first_panic = None;
    // Reversed, then popped from the back: in order, and cheaper per turn than a `Drain`.
    to_wake.reverse();
    while let Some(waker) = to_wake.pop() {
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| waker.wake())) {
            first_panic.get_or_insert(payload);
        }
    }
    first_panic
}

#[cold]
fn inherited_across_fork() -> io::Error {
    io::Error::other(
        "registered in the parent process before fork: a forked child has a reactor of its own; \
         create the child's I/O objects and runtime after the fork",
    )
}

fn thread_exiting() -> io::Error {
    io::Error::other("this thread is exiting: its reactor is already gone")
}

impl fmt::Debug for Reactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reactor")
            .field("id", &self.id)
            .field("epoll", &self.epoll)
            .field("registrations", &self.registrations())
            .field("pending_timers", &self.pending_timers())
            .field("tick", &self.tick.get())
            .finish_non_exhaustive()
    }
}

impl AsFd for Reactor {
    /// The epoll instance, e.g. to nest this reactor in another event loop. From then on every
    /// turn collects its events, so the fd does not stay readable with nothing to do.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd_exposed.set(true);
        self.epoll.as_fd()
    }
}

#[cfg(test)]
mod prop_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::net::UnixStream;
    use std::sync::Arc;
    use std::task::Wake;

    use crate::test_waker::counting_waker;

    /// With the clock paused, a turn advances it exactly to the earliest pending deadline, also
    /// behind a cancelled timer far ahead (which a turn on the running clock may wait for).
    #[test]
    fn a_paused_clock_jumps_past_a_far_cancelled_timer_to_the_live_one() {
        let reactor = Reactor::current().unwrap();
        reactor.clock().pause();
        let start = reactor.clock().now();
        let live = start + Duration::from_secs(60);
        reactor.insert_timer(live, Waker::noop().clone());
        let cancelled =
            reactor.insert_timer(start + Duration::from_secs(30), Waker::noop().clone());
        drop(reactor.remove_timer(cancelled));
        reactor.turn(None).unwrap();
        assert_eq!(
            reactor.clock().now(),
            live,
            "advanced to the wrong deadline"
        );
        assert_eq!(
            reactor.pending_timers(),
            0,
            "the live timer fired in that turn"
        );
    }

    /// A turn that cannot block, with no fd registered, does not call `epoll_wait`: the
    /// unparker's initial edge (its eventfd is writable) is still there for the first turn that
    /// does, once a socket is registered.
    #[test]
    #[cfg_attr(miri, ignore = "needs the kernel's epoll")]
    fn a_non_blocking_turn_with_no_fd_registered_makes_no_epoll_wait() {
        let reactor = Reactor::new().unwrap();
        assert_eq!(reactor.turn(Some(Duration::ZERO)).unwrap(), 0);
        let (socket, _peer) = UnixStream::pair().unwrap();
        let id = reactor.register(socket.as_fd()).unwrap();
        assert_eq!(
            reactor.turn(Some(Duration::ZERO)).unwrap(),
            2,
            "the unparker's initial edge and the socket's"
        );
        reactor.deregister(id).unwrap();
    }

    /// Regression (found in review of the skip the test above pins): a reactor nested in
    /// another event loop through its epoll fd kept the unparker's initial edge uncollected, so
    /// with no fd registered that fd stayed readable and a level-triggered outer loop spun. Once
    /// the fd is handed out, a turn that cannot block collects.
    #[test]
    #[cfg_attr(miri, ignore = "needs the kernel's epoll")]
    fn a_nested_reactor_collects_its_events_with_no_fd_registered() {
        let reactor = Reactor::new().unwrap();
        let _nested_in_another_loop = reactor.as_fd();
        assert_eq!(
            reactor.turn(Some(Duration::ZERO)).unwrap(),
            1,
            "the unparker's initial edge"
        );
        assert_eq!(reactor.turn(Some(Duration::ZERO)).unwrap(), 0);
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
        let a_id = reactor.register(a.as_fd()).unwrap();
        drop(a);
        let deleted = reactor.deregister(a_id);
        assert!(
            deleted.is_err(),
            "the fd was closed, so EPOLL_CTL_DEL cannot find it"
        );

        let (b, _b_peer) = UnixStream::pair().unwrap();
        let b_id = reactor.register(b.as_fd()).unwrap();
        assert_eq!(
            b_id.key, a_id.key,
            "B must reuse A's slot for this test to mean anything"
        );
        assert_ne!(b_id.generation, a_id.generation);
        reactor.turn(Some(Duration::ZERO)).unwrap(); // Initial EPOLLOUT edges of A and B.

        let (waker, counter) = counting_waker();
        let poll = reactor.poll_ready(
            b_id,
            Interest::Readable,
            &mut WaitSlot::Polled,
            &mut Context::from_waker(&waker),
        );
        assert!(poll.is_pending());

        a_peer.write_all(b"stale").unwrap();
        let events = reactor.turn(Some(Duration::from_secs(5))).unwrap();
        assert_eq!(events, 1, "the kernel should report A's old token once");
        assert_eq!(counter.count(), 0, "B was woken by A's event");
        assert!(!reactor.readiness(b_id).is_readable());

        reactor.deregister(b_id).unwrap();
        drop(a_dup);
    }

    /// Regression: lowering the event capacity did not take effect (the buffer kept the larger
    /// capacity it had grown to, and a turn received that many).
    #[test]
    #[cfg_attr(miri, ignore = "needs the kernel's epoll")]
    fn a_turn_receives_at_most_the_event_capacity_and_the_rest_next_turn() {
        let reactor = Reactor::current().unwrap();
        let sockets: Vec<_> = (0..3).map(|_| UnixStream::pair().unwrap()).collect();
        let ids: Vec<_> = sockets
            .iter()
            .map(|(socket, _)| reactor.register(socket.as_fd()).unwrap())
            .collect();
        reactor.turn(Some(Duration::ZERO)).unwrap(); // The initial EPOLLOUT edges.
        reactor.set_event_capacity(8);
        reactor.turn(Some(Duration::ZERO)).unwrap(); // Nothing ready; the buffer now holds 8.
        reactor.set_event_capacity(2);
        for (_, peer) in &sockets {
            let mut peer: &UnixStream = peer;
            peer.write_all(b"x").unwrap();
        }
        assert_eq!(reactor.turn(Some(Duration::ZERO)).unwrap(), 2);
        assert_eq!(
            reactor.turn(Some(Duration::ZERO)).unwrap(),
            1,
            "the third, next turn"
        );
        for id in ids {
            reactor.deregister(id).unwrap();
        }
        reactor.set_event_capacity(DEFAULT_EVENT_CAPACITY);
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

    /// Regression: a waker that panicked during a turn lost the other wakes of that turn.
    #[test]
    fn a_panicking_waker_does_not_lose_the_other_wakes_of_its_turn() {
        struct Panicking;
        impl Wake for Panicking {
            fn wake(self: Arc<Self>) {
                panic!("a waker that panics");
            }
        }
        let reactor = Reactor::current().unwrap();
        let (counting, counter) = counting_waker();
        reactor.defer(&counting);
        reactor.defer(&Waker::from(Arc::new(Panicking)));
        reactor.defer(&counting);
        let turned = catch_unwind(AssertUnwindSafe(|| reactor.turn(Some(Duration::ZERO))));
        assert!(turned.is_err(), "the panic reaches the caller of turn");
        assert_eq!(counter.count(), 2, "a wake was lost");
        reactor.turn(Some(Duration::ZERO)).unwrap(); // The reactor is still usable.
    }
}
