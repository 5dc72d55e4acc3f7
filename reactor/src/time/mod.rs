//! Timers: [`sleep`], [`sleep_until`], [`timeout`], [`timeout_at`], [`interval`],
//! [`interval_at`], and a clock that tests can [`pause`] and [`advance`].
//!
//! A [`Sleep`] adds an entry to the reactor of the thread that polls it, the first time it is
//! polled before its deadline, and removes it when dropped; the reactor wakes it once the
//! deadline has passed. A timer never completes early: completion is decided by comparing the
//! clock with the deadline, never by the fact that a wake arrived. Deadlines are kept to the
//! nanosecond.
//!
//! ```
//! use std::time::Duration;
//! use minireactor::time;
//!
//! minireactor::block_on(async {
//!     time::sleep(Duration::from_millis(5)).await;
//!     let slow = time::timeout(Duration::from_millis(1), time::sleep(Duration::from_secs(60)));
//!     assert!(slow.await.is_err());
//! });
//! ```
//!
//! # A paused clock for tests
//!
//! [`pause`] stops this thread's clock: [`now`] stands still, and whenever the runtime has
//! nothing to do but wait for a timer, the clock jumps straight to that timer's deadline. Tests
//! of timing logic become instant and exact. Take your instants from [`now`] (not
//! `Instant::now()`) while paused.
//!
//! ```
//! use std::time::Duration;
//! use minireactor::time;
//!
//! minireactor::block_on(async {
//!     time::pause();
//!     let start = time::now();
//!     time::sleep(Duration::from_secs(3600)).await; // No real waiting.
//!     assert_eq!(time::now() - start, Duration::from_secs(3600));
//! });
//! ```
//!
//! Auto-advance only knows about this thread's timers and fds: work on other threads (the
//! blocking pool, a thread sending on a channel) does not hold the clock back, so a timeout
//! around such work fires as soon as nothing else is runnable.

mod clock;
mod interval;
mod sleep;
mod timeout;

use std::time::{Duration, Instant};

pub(crate) use clock::Clock;
pub use interval::{interval, interval_at, Interval, MissedTickBehavior};
pub use sleep::{sleep, sleep_until, Sleep};
pub use timeout::{timeout, timeout_at, Elapsed, Timeout};

use crate::reactor::Reactor;

/// This thread's reactor, for the timer functions that cannot report an error.
///
/// # Panics
/// If the reactor cannot be created (out of file descriptors; inside a runtime it already
/// exists) or the thread is exiting.
fn reactor() -> std::rc::Rc<Reactor> {
    Reactor::current().unwrap_or_else(|err| reactor_unusable(err))
}

/// Runs `f` with this thread's reactor without cloning its `Rc` (see `Reactor::with_current`:
/// `f` must not drop or wake a waker). Panics as [`reactor`].
#[inline(always)]
fn with_reactor<R>(f: impl FnOnce(&Reactor) -> R) -> R {
    Reactor::with_current(f).unwrap_or_else(|err| reactor_unusable(err))
}

fn reactor_unusable(err: std::io::Error) -> ! {
    panic!("minireactor: cannot use this thread's reactor: {err}")
}

/// The current instant of this thread's timer clock: the real monotonic clock, unless [`pause`]d.
///
/// # Panics
/// As [`Sleep`]'s poll: if this thread's reactor cannot be created.
pub fn now() -> Instant {
    with_reactor(|reactor| reactor.clock().now())
}

/// Pauses this thread's timer clock; see the [module documentation](self#a-paused-clock-for-tests).
/// Pausing a paused clock does nothing.
pub fn pause() {
    with_reactor(|reactor| reactor.clock().pause());
}

/// Lets a paused clock run again, at the real rate, from the instant it showed.
pub fn resume() {
    with_reactor(|reactor| reactor.clock().resume());
}

/// Moves a paused clock forward by `duration`, then yields until the reactor has fired every
/// timer that became due.
///
/// # Panics
/// If the clock is not paused: advancing a real clock is a bug in the test.
pub async fn advance(duration: Duration) {
    let reactor = reactor();
    let clock = reactor.clock();
    let target = saturating_add(clock.now(), duration);
    assert!(
        clock.advance_to(target),
        "minireactor: time::advance needs a paused clock; call time::pause() first"
    );
    let mut deferred = false;
    std::future::poll_fn(|cx| {
        if deferred {
            return std::task::Poll::Ready(());
        }
        deferred = true;
        reactor.defer(cx.waker());
        std::task::Poll::Pending
    })
    .await;
}

/// `instant + duration`, or the latest instant representable after `instant` if that overflows
/// (then the deadline is centuries away, and never reached).
fn saturating_add(instant: Instant, duration: Duration) -> Instant {
    if let Some(sum) = instant.checked_add(duration) {
        return sum;
    }
    let mut step = duration;
    let mut latest = instant;
    while !step.is_zero() {
        match latest.checked_add(step) {
            Some(later) => latest = later,
            None => step /= 2,
        }
    }
    latest
}

/// A deadline `duration` after this clock's now, saturating.
fn deadline_after(duration: Duration) -> Instant {
    saturating_add(now(), duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: the far-future fallback could itself overflow.
    #[test]
    fn saturating_add_never_overflows() {
        let now = Instant::now();
        let latest = saturating_add(now, Duration::MAX);
        assert!(latest > now);
        assert_eq!(saturating_add(latest, Duration::MAX), latest);
        assert_eq!(
            saturating_add(now, Duration::from_secs(1)),
            now + Duration::from_secs(1)
        );
    }
}
