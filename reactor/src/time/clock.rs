//! What time it is for the timers of one reactor: the real monotonic clock, or a paused one.
//!
//! A paused clock stands still until [`advance`](crate::time::advance) moves it, or until the
//! reactor has nothing else to do and jumps it to the earliest timer's deadline (auto-advance);
//! so a test that sleeps an hour finishes at once, and every timer still fires in deadline
//! order, at exactly its deadline to the nanosecond. Resuming continues from the paused instant.
//!
//! Invariants: `now()` never goes backwards, paused or not; `last_read()` is the latest instant
//! `now()` returned (or the frozen one), so it is never later than the true now — a timer whose
//! deadline is not after it is certainly due, and one whose deadline is after it needs a real
//! read only when it is polled again after its wake.

use std::cell::Cell;
use std::time::Instant;

/// One reactor's clock.
#[derive(Debug)]
pub(crate) struct Clock {
    /// While paused, the instant the clock shows.
    frozen: Cell<Option<Instant>>,
    /// After a pause ends: the real instant it ended and the virtual one it showed, from which
    /// virtual time runs on at the real rate. `None`: the clock was never paused.
    resumed: Cell<Option<(Instant, Instant)>>,
    /// What `now()` last returned.
    last_read: Cell<Instant>,
}

impl Clock {
    pub(crate) fn new() -> Clock {
        Clock {
            frozen: Cell::new(None),
            resumed: Cell::new(None),
            last_read: Cell::new(Instant::now()),
        }
    }

    /// The current instant of this clock.
    pub(crate) fn now(&self) -> Instant {
        if let Some(frozen) = self.frozen.get() {
            return frozen;
        }
        let real = Instant::now();
        let now = match self.resumed.get() {
            None => real,
            Some((real_then, virtual_then)) => {
                super::saturating_add(virtual_then, real.saturating_duration_since(real_then))
            }
        };
        self.last_read.set(now);
        now
    }

    /// The instant `now()` last returned: a lower bound of now that costs no clock read.
    pub(crate) fn last_read(&self) -> Instant {
        self.frozen.get().unwrap_or(self.last_read.get())
    }

    pub(crate) fn is_paused(&self) -> bool {
        self.frozen.get().is_some()
    }

    pub(crate) fn pause(&self) {
        if !self.is_paused() {
            self.frozen.set(Some(self.now()));
        }
    }

    pub(crate) fn resume(&self) {
        if let Some(frozen) = self.frozen.take() {
            self.resumed.set(Some((Instant::now(), frozen)));
            self.last_read.set(frozen); // What `last_read()` showed while paused.
        }
    }

    /// Moves a paused clock forward to `instant`, if that is later than now. Returns `false`
    /// (and does nothing) if the clock is not paused.
    pub(crate) fn advance_to(&self, instant: Instant) -> bool {
        match self.frozen.get() {
            Some(frozen) => {
                self.frozen.set(Some(frozen.max(instant)));
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Regression: `last_read` kept the read from before the pause after `resume`, an hour of
    /// virtual time behind what the clock had shown.
    #[test]
    fn last_read_after_resume_is_the_instant_the_paused_clock_showed() {
        let clock = Clock::new();
        clock.pause();
        let shown = clock.now() + Duration::from_secs(3600);
        assert!(clock.advance_to(shown));
        clock.resume();
        assert!(clock.last_read() >= shown, "last_read went back in time");
        assert!(clock.now() >= shown);
    }
}
