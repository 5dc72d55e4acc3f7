//! [`Sleep`]: a future that completes at a deadline.
//!
//! A `Sleep` names the reactor its timer is registered with by the reactor's identity, not by a
//! reference, so it is `Send + Sync` (what hyper's `Timer` asks of a sleep): polled on another
//! thread it registers there, and dropped on a thread whose reactor does not hold its timer, it
//! leaves that timer to fire once, harmlessly, in the reactor that holds it.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::coop;
use crate::reactor::Reactor;
use crate::timers::TimerKey;

/// Waits until `duration` has elapsed.
pub fn sleep(duration: Duration) -> Sleep {
    sleep_until(super::deadline_after(duration))
}

/// Waits until `deadline` (an instant of [`now`](super::now)'s clock).
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        deadline,
        entry: None,
    }
}

/// Future returned by [`sleep`] and [`sleep_until`].
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct Sleep {
    deadline: Instant,
    /// The timer, while one is registered.
    entry: Option<TimerEntry>,
}

/// A timer registered with the reactor whose identity is `reactor`.
#[derive(Clone, Copy, Debug)]
struct TimerEntry {
    reactor: u64,
    key: TimerKey,
}

impl Sleep {
    /// The instant at which this sleep completes.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether the deadline has passed (reading the clock).
    pub fn is_elapsed(&self) -> bool {
        super::now() >= self.deadline
    }

    /// Moves the deadline; the sleep may be polled again afterwards, even if it completed.
    pub fn reset(&mut self, deadline: Instant) {
        self.cancel();
        self.deadline = deadline;
    }

    fn cancel(&mut self) {
        if let Some(entry) = self.entry.take() {
            let waker = Reactor::with_existing(|reactor| {
                (reactor.id() == entry.reactor)
                    .then(|| reactor.remove_timer(entry.key))
                    .flatten()
            });
            drop(waker); // Outside the reactor's borrows: dropping a waker may run any code.
        }
    }
}

/// # Panics
/// On a poll, if this thread's reactor cannot be created (its epoll
/// instance or eventfd, e.g. when out of file descriptors). Inside a runtime it already exists.
impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        // `Ok(replaced waker)` while the timer waits, `Err(())` once it is due.
        let waiting = super::with_reactor(|reactor| {
            // The clock as last read, not a new read: if the deadline is later, the timer is
            // (re)armed, and a deadline that passed since fires at the next turn.
            if this.deadline <= reactor.clock().last_read() {
                return Err(());
            }
            let replaced = match this.entry {
                Some(entry) if entry.reactor == reactor.id() => {
                    reactor.update_timer_waker(entry.key, cx.waker())
                }
                _ => None,
            };
            Ok(replaced.unwrap_or_else(|| {
                let key = reactor.insert_timer(this.deadline, cx.waker().clone());
                this.entry = Some(TimerEntry {
                    reactor: reactor.id(),
                    key,
                });
                None
            }))
        });
        if let Ok(replaced) = waiting {
            drop(replaced); // Outside the reactor's borrows: dropping a waker may run any code.
            return Poll::Pending;
        }
        std::task::ready!(coop::poll_proceed(cx));
        this.cancel();
        Poll::Ready(())
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.cancel();
    }
}
