//! Pending timers, ordered by deadline.
//!
//! A `BTreeMap` keyed by `(deadline, id)` gives insert, cancel and pop-earliest in O(log n); the
//! id makes keys unique when deadlines tie. Invariant: every entry belongs to a live, registered
//! `Sleep`; a `Sleep` removes its entry when dropped, and an entry is removed when it fires, so
//! nothing outlives its timer.

use std::collections::BTreeMap;
use std::task::Waker;
use std::time::Instant;

/// Identifies one pending timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct TimerKey {
    deadline: Instant,
    id: u64,
}

/// The reactor's pending timers.
#[derive(Debug, Default)]
pub(crate) struct Timers {
    entries: BTreeMap<TimerKey, Waker>,
    next_id: u64,
}

impl Timers {
    /// Adds a timer that wakes `waker` once `deadline` has passed.
    pub(crate) fn insert(&mut self, deadline: Instant, waker: Waker) -> TimerKey {
        let key = TimerKey {
            deadline,
            id: self.next_id,
        };
        self.next_id += 1;
        self.entries.insert(key, waker);
        key
    }

    /// Replaces the waker of a pending timer, unless it already wakes the same task. Returns
    /// `false` if the timer is no longer pending.
    pub(crate) fn update_waker(&mut self, key: TimerKey, waker: &Waker) -> bool {
        match self.entries.get_mut(&key) {
            Some(stored) => {
                if !stored.will_wake(waker) {
                    stored.clone_from(waker);
                }
                true
            }
            None => false,
        }
    }

    /// Cancels a timer; the returned waker (if it was pending) must be dropped by the caller
    /// after releasing its borrow of the reactor.
    pub(crate) fn remove(&mut self, key: TimerKey) -> Option<Waker> {
        self.entries.remove(&key)
    }

    /// The earliest pending deadline.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.entries.first_key_value().map(|(key, _)| key.deadline)
    }

    /// Moves the wakers of every timer whose deadline is at or before `now` into `wake`.
    pub(crate) fn expire(&mut self, now: Instant, wake: &mut Vec<Waker>) {
        while let Some(entry) = self.entries.first_entry() {
            if entry.key().deadline > now {
                break;
            }
            wake.push(entry.remove());
        }
    }

    /// Number of pending timers.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn noop_waker() -> Waker {
        Waker::noop().clone()
    }

    #[test]
    fn expires_in_deadline_order_and_only_what_is_due() {
        let mut timers = Timers::default();
        let now = Instant::now();
        timers.insert(now + Duration::from_millis(20), noop_waker());
        timers.insert(now + Duration::from_millis(10), noop_waker());
        timers.insert(now + Duration::from_millis(10), noop_waker());
        assert_eq!(
            timers.next_deadline(),
            Some(now + Duration::from_millis(10))
        );
        let mut wake = Vec::new();
        timers.expire(now + Duration::from_millis(10), &mut wake);
        assert_eq!(wake.len(), 2, "both ties fire, the later one does not");
        assert_eq!(timers.len(), 1);
    }

    #[test]
    fn cancelled_timers_leave_nothing_behind() {
        let mut timers = Timers::default();
        let now = Instant::now();
        let keys: Vec<_> = (0..1000)
            .map(|i| timers.insert(now + Duration::from_millis(i % 7), noop_waker()))
            .collect();
        for key in keys {
            assert!(timers.remove(key).is_some());
        }
        assert_eq!(timers.len(), 0);
        assert_eq!(timers.next_deadline(), None);
    }
}
