//! Timers: [`sleep`], [`sleep_until`], [`timeout`] and [`interval`].
//!
//! A [`Sleep`] adds an entry to this thread's reactor the first time it is polled before its
//! deadline, and removes it when dropped; the reactor wakes it once the deadline has passed.
//! A timer never completes early: completion is decided by comparing `Instant::now()` with the
//! deadline, never by the fact that a wake arrived.
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

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::reactor::Reactor;
use crate::timers::TimerKey;

/// Waits until `duration` has elapsed.
pub fn sleep(duration: Duration) -> Sleep {
    sleep_until(deadline_after(duration))
}

/// Waits until `deadline`.
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        deadline,
        entry: None,
    }
}

/// Stands in for a deadline too far away to represent: about 30 years.
const FAR_FUTURE: Duration = Duration::from_secs(60 * 60 * 24 * 365 * 30);

/// A deadline `duration` from now; [`FAR_FUTURE`] from now if the addition overflows.
fn deadline_after(duration: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(duration).unwrap_or(now + FAR_FUTURE)
}

/// Future returned by [`sleep`] and [`sleep_until`].
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct Sleep {
    deadline: Instant,
    /// The reactor entry, present while the timer is registered.
    entry: Option<(Rc<Reactor>, TimerKey)>,
}

impl Sleep {
    /// The instant at which this sleep completes.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether the deadline has passed.
    pub fn is_elapsed(&self) -> bool {
        Instant::now() >= self.deadline
    }

    /// Moves the deadline; the sleep may be polled again afterwards.
    pub fn reset(&mut self, deadline: Instant) {
        self.cancel();
        self.deadline = deadline;
    }

    fn cancel(&mut self) {
        if let Some((reactor, key)) = self.entry.take() {
            reactor.remove_timer(key);
        }
    }
}

/// # Panics
/// On the first poll before the deadline, if this thread's reactor cannot be created (its epoll
/// instance or eventfd, e.g. when out of file descriptors). Inside a runtime it already exists.
impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.is_elapsed() {
            this.cancel();
            return Poll::Ready(());
        }
        if let Some((reactor, key)) = &this.entry {
            if reactor.update_timer_waker(*key, cx.waker()) {
                return Poll::Pending;
            }
        }
        let reactor = Reactor::current().unwrap_or_else(|err| {
            panic!("minireactor: cannot create this thread's reactor: {err}")
        });
        let key = reactor.insert_timer(this.deadline, cx.waker().clone());
        this.entry = Some((reactor, key));
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.cancel();
    }
}

/// Requires `future` to complete within `duration`.
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    Timeout {
        future,
        sleep: sleep(duration),
    }
}

pin_project_lite::pin_project! {
    /// Future returned by [`timeout`].
    #[must_use = "futures do nothing unless polled"]
    #[derive(Debug)]
    pub struct Timeout<F> {
        #[pin]
        future: F,
        sleep: Sleep,
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        // The future goes first: if it is ready at the deadline, its value wins.
        if let Poll::Ready(output) = this.future.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        match Pin::new(this.sleep).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed(()))),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The error of a [`timeout`] whose deadline passed first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl Error for Elapsed {}

impl From<Elapsed> for std::io::Error {
    fn from(elapsed: Elapsed) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::TimedOut, elapsed)
    }
}

/// Ticks every `period`, the first tick at once.
///
/// If ticks are missed because the task was busy, they are skipped, not burst: the next tick is
/// the first multiple of `period` after now, so the schedule stays aligned with the start.
///
/// # Panics
/// If `period` is zero.
pub fn interval(period: Duration) -> Interval {
    assert!(
        !period.is_zero(),
        "minireactor: interval period must be non-zero"
    );
    Interval {
        period,
        sleep: sleep_until(Instant::now()),
    }
}

/// Returned by [`interval`].
#[derive(Debug)]
pub struct Interval {
    period: Duration,
    sleep: Sleep,
}

impl Interval {
    /// Waits for the next tick and returns the instant it was scheduled for.
    pub async fn tick(&mut self) -> Instant {
        std::future::poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick.
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        let scheduled = self.sleep.deadline();
        if Pin::new(&mut self.sleep).poll(cx).is_pending() {
            return Poll::Pending;
        }
        // The first multiple of the period after now (usually the next one), or far in the
        // future if that overflows `Instant`.
        let behind = Instant::now()
            .saturating_duration_since(scheduled)
            .as_nanos();
        let periods = u32::try_from(behind / self.period.as_nanos() + 1).unwrap_or(u32::MAX);
        let next = self
            .period
            .checked_mul(periods)
            .and_then(|ahead| scheduled.checked_add(ahead))
            .unwrap_or_else(|| deadline_after(FAR_FUTURE));
        self.sleep.reset(next);
        Poll::Ready(scheduled)
    }

    /// The period between ticks.
    pub fn period(&self) -> Duration {
        self.period
    }
}
