//! [`Interval`]: ticks at a fixed period, with a choice of what to do about missed ticks.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::sleep::{sleep_until, Sleep};

/// Ticks every `period`, the first tick at once.
///
/// # Panics
/// If `period` is zero.
pub fn interval(period: Duration) -> Interval {
    interval_at(super::now(), period)
}

/// Ticks every `period`, the first tick at `start`.
///
/// ```
/// use std::time::Duration;
/// use minireactor::time::{self, MissedTickBehavior};
///
/// minireactor::block_on(async {
///     time::pause();
///     let start = time::now() + Duration::from_secs(1);
///     let mut ticks = time::interval_at(start, Duration::from_secs(1));
///     ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
///     assert_eq!(ticks.tick().await, start);
///     assert_eq!(ticks.tick().await, start + Duration::from_secs(1));
/// });
/// ```
///
/// # Panics
/// If `period` is zero.
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(
        !period.is_zero(),
        "minireactor: interval period must be non-zero"
    );
    Interval {
        period,
        sleep: sleep_until(start),
        missed: MissedTickBehavior::default(),
    }
}

/// What an [`Interval`] does when a tick is at least a whole period late (the task was busy).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum MissedTickBehavior {
    /// Fire the missed ticks at once, one after the other, until back on schedule. The default.
    #[default]
    Burst,
    /// Start a new schedule from the late tick: the next one is a whole period after it.
    Delay,
    /// Drop the missed ticks: the next one is the next on the original schedule.
    Skip,
}

/// Returned by [`interval`] and [`interval_at`].
#[derive(Debug)]
pub struct Interval {
    period: Duration,
    /// Its deadline is the next tick's scheduled instant.
    sleep: Sleep,
    missed: MissedTickBehavior,
}

impl Interval {
    /// Waits for the next tick and returns the instant it was scheduled for.
    pub async fn tick(&mut self) -> Instant {
        std::future::poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick.
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        let scheduled = self.sleep.deadline();
        std::task::ready!(Pin::new(&mut self.sleep).poll(cx));
        let next = next_tick(scheduled, super::now(), self.period, self.missed);
        self.sleep.reset(next);
        Poll::Ready(scheduled)
    }

    /// Restarts the schedule: the next tick is one period from now.
    pub fn reset(&mut self) {
        self.reset_at(super::deadline_after(self.period));
    }

    /// Restarts the schedule: the next tick is at `deadline`, then every period after it.
    pub fn reset_at(&mut self, deadline: Instant) {
        self.sleep.reset(deadline);
    }

    /// The period between ticks.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// What happens to missed ticks.
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed
    }

    /// Chooses what happens to missed ticks.
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed = behavior;
    }
}

impl futures_core::Stream for Interval {
    type Item = Instant;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        self.get_mut().poll_tick(cx).map(Some)
    }
}

/// The tick after the one `scheduled` for, fired at `now`.
fn next_tick(
    scheduled: Instant,
    now: Instant,
    period: Duration,
    missed: MissedTickBehavior,
) -> Instant {
    let on_schedule = super::saturating_add(scheduled, period);
    if now < on_schedule {
        return on_schedule;
    }
    match missed {
        MissedTickBehavior::Burst => on_schedule,
        MissedTickBehavior::Delay => super::saturating_add(now, period),
        MissedTickBehavior::Skip => {
            // In u128 nanoseconds: a tiny period after a long stall skips billions of ticks.
            let period_nanos = period.as_nanos();
            let behind = now.saturating_duration_since(scheduled).as_nanos();
            let ahead = (behind / period_nanos + 1) * period_nanos;
            super::saturating_add(scheduled, duration_from_nanos(ahead))
        }
    }
}

/// A `Duration` of `nanos` nanoseconds, saturating at `Duration::MAX`.
fn duration_from_nanos(nanos: u128) -> Duration {
    const NANOS_PER_SEC: u128 = 1_000_000_000;
    match u64::try_from(nanos / NANOS_PER_SEC) {
        Ok(secs) => Duration::new(secs, (nanos % NANOS_PER_SEC) as u32),
        Err(_) => Duration::MAX,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PERIOD: Duration = Duration::from_millis(10);

    fn after(start: Instant, millis: u64) -> Instant {
        start + Duration::from_millis(millis)
    }

    #[test]
    fn on_time_ticks_follow_the_schedule_whatever_the_behaviour() {
        let start = Instant::now();
        for missed in [
            MissedTickBehavior::Burst,
            MissedTickBehavior::Delay,
            MissedTickBehavior::Skip,
        ] {
            assert_eq!(
                next_tick(start, after(start, 3), PERIOD, missed),
                after(start, 10)
            );
        }
    }

    #[test]
    fn a_late_tick_bursts_delays_or_skips() {
        let start = Instant::now();
        let now = after(start, 35);
        assert_eq!(
            next_tick(start, now, PERIOD, MissedTickBehavior::Burst),
            after(start, 10)
        );
        assert_eq!(
            next_tick(start, now, PERIOD, MissedTickBehavior::Delay),
            after(start, 45)
        );
        assert_eq!(
            next_tick(start, now, PERIOD, MissedTickBehavior::Skip),
            after(start, 40)
        );
    }

    /// Regression: the skipped-period count saturated at u32::MAX, so a 1 ns interval after a
    /// 4.6 s stall scheduled its next tick in the past and burst.
    #[test]
    fn skip_after_a_stall_of_more_than_four_billion_periods_lands_in_the_future() {
        let start = Instant::now();
        let now = start + Duration::from_secs(5);
        let next = next_tick(
            start,
            now,
            Duration::from_nanos(1),
            MissedTickBehavior::Skip,
        );
        assert_eq!(next, now + Duration::from_nanos(1));
    }
}
