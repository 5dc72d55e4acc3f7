//! Unit tests: each primitive polled by hand with counting wakers, so every wake is observed,
//! plus model-based property tests (`model`) and runtime stress tests (`stress`).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

mod broadcast;
mod cancellation_token;
mod closed_error;
mod coop;
mod model;
mod mpsc;
mod mutex;
mod notify;
mod oneshot;
mod remote;
mod rwlock;
mod semaphore;
mod stress;
mod watch;

/// A waker that counts its wakes.
#[derive(Default)]
struct WakeCounter(AtomicUsize);

impl Wake for WakeCounter {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// One simulated task: a waker whose wakes are counted, and a way to poll with it.
pub(crate) struct Probe {
    counter: Arc<WakeCounter>,
    waker: Waker,
}

impl Probe {
    pub(crate) fn new() -> Probe {
        let counter = Arc::new(WakeCounter::default());
        Probe {
            waker: Waker::from(counter.clone()),
            counter,
        }
    }

    pub(crate) fn wakes(&self) -> usize {
        self.counter.0.load(Ordering::SeqCst)
    }

    pub(crate) fn waker(&self) -> &Waker {
        &self.waker
    }

    pub(crate) fn poll<F: Future + Unpin>(&self, future: &mut F) -> Poll<F::Output> {
        Pin::new(future).poll(&mut Context::from_waker(&self.waker))
    }

    pub(crate) fn poll_next<S: futures_core::Stream + Unpin>(
        &self,
        stream: &mut S,
    ) -> Poll<Option<S::Item>> {
        Pin::new(stream).poll_next(&mut Context::from_waker(&self.waker))
    }
}

/// Runs `body` on a fresh runtime with a watchdog: a hang fails the test instead of stalling it.
pub(crate) fn run<F: Future>(body: F) -> F::Output {
    minireactor::block_on(async {
        minireactor::time::timeout(std::time::Duration::from_secs(60), body)
            .await
            .expect("watchdog: the test hung")
    })
}
