//! Every waiter lives exactly as long as the future that waits: a cancelled wait leaves no waker
//! behind and costs nothing later — for fd readiness, timers and join handles.

#[path = "util/counting_alloc.rs"]
mod counting_alloc;
mod util;

use std::future::{poll_fn, Future};
use std::os::unix::net::UnixStream;
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use counting_alloc::allocations;
use minireactor::io::AsyncFd;
use minireactor::reactor::Reactor;
use minireactor::time::{sleep, timeout};
use minireactor::{spawn, yield_now};

/// Polls `future` once, then drops it: a wait cancelled after it registered.
async fn poll_once_then_cancel(future: impl Future) {
    let mut future = pin!(future);
    poll_fn(|cx| {
        let _ = future.as_mut().poll(cx);
        Poll::Ready(())
    })
    .await;
}

/// Regression: a waiter was removed from a registration only when an event for its direction
/// arrived, so on an idle fd every cancelled `readable()` left its waker behind, and every new
/// wait scanned them all (4 batches of 20,000 took 94 → 224 → 368 → 626 ms; RSS grew 5.2 MB).
#[test]
fn a_hundred_thousand_cancelled_waits_on_an_idle_fd_leave_nothing_and_cost_the_same() {
    // Ten batches of a hundred under Miri, where 100,000 waits take more than four minutes.
    const BATCH: usize = if cfg!(miri) { 100 } else { 10_000 };
    minireactor::block_on(async {
        let reactor = Reactor::current().unwrap();
        let (ours, _theirs) = UnixStream::pair().unwrap();
        let fd = AsyncFd::new(ours).unwrap();
        // The initial EPOLLOUT edge only; nothing to read, ever.
        yield_now().await;
        let mut batch_allocations = Vec::new();
        for _ in 0..10 {
            let before = allocations();
            for _ in 0..BATCH {
                poll_once_then_cancel(fd.readable()).await;
                assert!(timeout(Duration::ZERO, fd.readable()).await.is_err());
            }
            batch_allocations.push(allocations() - before);
            assert_eq!(reactor.io_waiters(), 0, "a cancelled wait left its waker");
        }
        let (first, last) = (batch_allocations[0], batch_allocations[9]);
        assert!(
            last <= first,
            "the last {BATCH} waits allocated {last}, the first {first}: {batch_allocations:?}"
        );
    });
}

#[test]
#[cfg_attr(
    miri,
    ignore = "std's UnixStream writes with send(2), which Miri does not emulate"
)]
fn many_tasks_waiting_on_one_fd_are_all_woken_and_leave_nothing() {
    minireactor::block_on(async {
        let reactor = Reactor::current().unwrap();
        let (ours, mut theirs) = UnixStream::pair().unwrap();
        let fd = Rc::new(AsyncFd::new(ours).unwrap());
        let waiters: Vec<_> = (0..50)
            .map(|_| {
                let fd = fd.clone();
                spawn(async move { fd.readable().await.map(|guard| guard.ready()) })
            })
            .collect();
        yield_now().await;
        assert_eq!(reactor.io_waiters(), 50);
        std::io::Write::write_all(&mut theirs, b"!").unwrap();
        for waiter in waiters {
            assert!(waiter.await.unwrap().unwrap().is_readable());
        }
        assert_eq!(reactor.io_waiters(), 0);
    });
}

#[test]
fn cancelled_timers_leave_nothing() {
    // A thousand under Miri, where 100,000 take more than four minutes.
    const TIMERS: u64 = if cfg!(miri) { 1_000 } else { 100_000 };
    minireactor::block_on(async {
        let reactor = Reactor::current().unwrap();
        for i in 0..TIMERS {
            poll_once_then_cancel(sleep(Duration::from_secs(3600 + i % 97))).await;
        }
        assert_eq!(reactor.pending_timers(), 0);
    });
}

/// A `JoinHandle` re-polled from new contexts keeps one waker (the latest), and a dropped one
/// none: each waker's reference count says whether the task still stores it.
#[test]
fn a_join_handle_keeps_only_the_latest_waker_and_a_dropped_one_none() {
    minireactor::block_on(async {
        let mut target = spawn(sleep(Duration::from_secs(3600)));
        let counters: Vec<_> = (0..1_000)
            .map(|_| {
                let (waker, counter) = util::CountingWaker::new();
                assert!(Pin::new(&mut target)
                    .poll(&mut Context::from_waker(&waker))
                    .is_pending());
                counter
            })
            .collect();
        // Each counter is held by the test and by its `Waker` (dropped above): 1 if released.
        let stored = |counter: &std::sync::Arc<util::CountingWaker>| {
            std::sync::Arc::strong_count(counter) - 1
        };
        assert!(counters[..999].iter().all(|c| stored(c) == 0));
        assert_eq!(stored(&counters[999]), 1, "the latest waker is kept");
        target.abort();
        drop(target);
        assert_eq!(stored(&counters[999]), 0, "a dropped handle keeps no waker");
    });
}

/// The same class seen from the waker's side, with no runtime internals: every cancelled wait
/// used to keep a clone of its waker until the fd next became readable.
#[test]
fn a_cancelled_readable_keeps_no_clone_of_its_waker() {
    minireactor::block_on(async {
        let (ours, _theirs) = UnixStream::pair().unwrap();
        let fd = AsyncFd::new(ours).unwrap();
        yield_now().await; // Past the initial EPOLLOUT edge.
        let (waker, counter) = util::CountingWaker::new();
        // A thousand under Miri, where 10,000 take a minute.
        let waits = if cfg!(miri) { 1_000 } else { 10_000 };
        for _ in 0..waits {
            let mut wait = pin!(fd.readable());
            assert!(wait
                .as_mut()
                .poll(&mut Context::from_waker(&waker))
                .is_pending());
        }
        drop(waker);
        assert_eq!(
            std::sync::Arc::strong_count(&counter),
            1,
            "cancelled waits kept clones of their waker"
        );
    });
}
