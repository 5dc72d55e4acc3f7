//! [`MiniTimer`]: hyper's [`Timer`] on minireactor's timers, for hyper's timeouts
//! (`header_read_timeout`, keep-alive idle timers).
//!
//! Every sleep is a [`minireactor::time::Sleep`], registered with the reactor of the thread that
//! polls it. [`Timer::reset`] moves the deadline of that same sleep (no new allocation) when the
//! sleep is one of ours, and [`Timer::now`] is [`minireactor::time::now`], so that deadlines
//! hyper computes follow a [paused](minireactor::time::pause) clock in tests.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper::rt::{Sleep, Timer};
use minireactor::time;

/// hyper's [`Timer`] on minireactor's timers: pass it to the connection builders' `timer`.
///
/// ```
/// use std::time::Duration;
/// use hyper::rt::Timer;
/// use minireactor_hyper::MiniTimer;
///
/// minireactor::block_on(async {
///     let start = minireactor::time::now();
///     MiniTimer::new().sleep(Duration::from_millis(5)).await;
///     assert!(minireactor::time::now() - start >= Duration::from_millis(5));
/// });
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct MiniTimer(());

impl MiniTimer {
    /// A timer; all of them share the polling thread's reactor.
    pub fn new() -> MiniTimer {
        MiniTimer(())
    }
}

impl Timer for MiniTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Sleep>> {
        Box::pin(MiniSleep(time::sleep(duration)))
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn Sleep>> {
        Box::pin(MiniSleep(time::sleep_until(deadline)))
    }

    fn now(&self) -> Instant {
        time::now()
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<MiniSleep>() {
            Some(ours) => ours.get_mut().0.reset(new_deadline),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

/// A minireactor sleep as hyper's [`Sleep`] (which must be a local type to be implemented).
struct MiniSleep(time::Sleep);

impl Future for MiniSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.get_mut().0).poll(cx)
    }
}

impl Sleep for MiniSleep {}
