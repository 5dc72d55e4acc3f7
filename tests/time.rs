//! Timers: never early, timeouts, cancellation, intervals, and signals during a wait.

mod util;

use std::future::Future;
use std::time::{Duration, Instant};

use minireactor::reactor::Reactor;
use minireactor::time::{interval, sleep, sleep_until, timeout, Elapsed, MissedTickBehavior};
use util::run_with_watchdog;

const WATCHDOG: Duration = Duration::from_secs(30);

#[test]
fn sleep_never_fires_early() {
    run_with_watchdog(WATCHDOG, async {
        for micros in [0, 1, 100, 999, 1_000, 1_500, 3_000, 10_000] {
            let duration = Duration::from_micros(micros);
            let start = Instant::now();
            sleep(duration).await;
            assert!(
                start.elapsed() >= duration,
                "{duration:?} sleep ended early"
            );
        }
    });
}

#[test]
fn many_concurrent_sleeps_each_wait_their_own_deadline() {
    run_with_watchdog(WATCHDOG, async {
        let start = Instant::now();
        let tasks: Vec<_> = (0..200u64)
            .map(|i| {
                let deadline = start + Duration::from_micros(i * 97 % 20_000);
                minireactor::spawn(async move {
                    sleep_until(deadline).await;
                    Instant::now() >= deadline
                })
            })
            .collect();
        for task in tasks {
            assert!(task.await.unwrap(), "a sleep completed before its deadline");
        }
    });
}

/// Timers cancelled more than the timers' one-second horizon ahead stay in the heap as
/// tombstones, and the reactor may wake at their deadlines with nothing due: it must go on
/// waiting for the live sleep behind them, and fire it neither early nor late. (A guard of that
/// path, which this test takes: one wake at 1.05 s under `strace -e epoll_pwait2`. It passes
/// without the path too; the unit tests in `reactor/src/timers.rs` pin the path itself.)
#[test]
fn a_sleep_behind_far_cancelled_timers_fires_on_time() {
    run_with_watchdog(WATCHDOG, async {
        let start = Instant::now();
        let deadline = start + Duration::from_millis(1_200);
        let mut live = std::pin::pin!(sleep_until(deadline));
        let mut cancelled: Vec<_> = [1_050, 1_100, 1_150]
            .map(|millis| Box::pin(sleep_until(start + Duration::from_millis(millis))))
            .into();
        std::future::poll_fn(|cx| {
            assert!(live.as_mut().poll(cx).is_pending());
            for sleep in &mut cancelled {
                assert!(sleep.as_mut().poll(cx).is_pending());
            }
            std::task::Poll::Ready(())
        })
        .await;
        drop(cancelled); // Tombstones now, in front of the live timer.
        live.await;
        let now = Instant::now();
        assert!(now >= deadline, "fired early");
        let late = now - deadline;
        assert!(late < Duration::from_secs(1), "fired {late:?} late");
    });
}

/// A waker that, when its last reference is dropped, arms and polls a sleep of its own.
struct SleepsWhenDropped;

impl std::task::Wake for SleepsWhenDropped {
    fn wake(self: std::sync::Arc<Self>) {}
}

impl Drop for SleepsWhenDropped {
    fn drop(&mut self) {
        let mut inner = std::pin::pin!(sleep(Duration::from_secs(60)));
        let waker = std::task::Waker::noop();
        let polled = inner
            .as_mut()
            .poll(&mut std::task::Context::from_waker(waker));
        assert!(polled.is_pending());
    }
}

/// Dropping a sleep drops its timer's waker, and that may run any code, the timers included:
/// the waker is dropped after the reactor's borrows, whether the sleep is cancelled or its
/// waker replaced by a new poll.
#[test]
fn a_waker_dropped_by_a_sleep_may_use_the_timers() {
    run_with_watchdog(WATCHDOG, async {
        let reactor = Reactor::current().unwrap();
        for replace_first in [false, true] {
            let mut sleeping = Box::pin(sleep(Duration::from_secs(60)));
            let waker = std::task::Waker::from(std::sync::Arc::new(SleepsWhenDropped));
            let polled = sleeping
                .as_mut()
                .poll(&mut std::task::Context::from_waker(&waker));
            assert!(polled.is_pending());
            drop(waker); // The timer holds the last reference.
            if replace_first {
                let noop = std::task::Waker::noop();
                let polled = sleeping
                    .as_mut()
                    .poll(&mut std::task::Context::from_waker(noop));
                assert!(polled.is_pending());
            }
            drop(sleeping);
            assert_eq!(reactor.pending_timers(), 0, "every sleep was dropped");
        }
    });
}

#[test]
fn timeout_returns_elapsed() {
    run_with_watchdog(WATCHDOG, async {
        let start = Instant::now();
        let result = timeout(Duration::from_millis(5), sleep(Duration::from_secs(3600))).await;
        let elapsed: Elapsed = result.expect_err("the sleep outlasts the timeout");
        assert_eq!(elapsed.to_string(), "deadline has elapsed");
        assert!(start.elapsed() >= Duration::from_millis(5));
        let quick = timeout(Duration::from_secs(3600), async { 1 }).await;
        assert_eq!(quick, Ok(1));
    });
}

#[test]
fn dropping_a_hundred_thousand_pending_sleeps_leaves_no_timer() {
    // 250 under Miri, where 100,000 take more than four minutes.
    const SLEEPS: u64 = if cfg!(miri) { 250 } else { 100_000 };
    run_with_watchdog(WATCHDOG, async {
        let reactor = Reactor::current().unwrap();
        let before = reactor.pending_timers();
        let mut sleeps: Vec<_> = (0..SLEEPS)
            .map(|i| Box::pin(sleep(Duration::from_secs(60 + i % 1000))))
            .collect();
        // Poll each once so it registers its timer.
        std::future::poll_fn(|cx| {
            for sleep in &mut sleeps {
                assert!(sleep.as_mut().poll(cx).is_pending());
            }
            std::task::Poll::Ready(())
        })
        .await;
        assert_eq!(reactor.pending_timers(), before + SLEEPS as usize);
        drop(sleeps);
        assert_eq!(reactor.pending_timers(), before);
    });
}

#[test]
#[cfg_attr(
    miri,
    ignore = "measures what real time allows, and under Miri a poll takes milliseconds"
)]
fn interval_ticks_on_schedule_and_skips_missed_ticks() {
    run_with_watchdog(WATCHDOG, async {
        let period = Duration::from_millis(5);
        let mut ticker = interval(period);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let first = ticker.tick().await;
        let second = ticker.tick().await;
        assert_eq!(second - first, period);
        assert!(Instant::now() >= second);
        // Fall behind by several periods: the next tick is not a burst of stale ones.
        std::thread::sleep(period * 4);
        let late = ticker.tick().await;
        let caught_up_at = Instant::now();
        let next = ticker.tick().await;
        assert_eq!(
            late - second,
            period,
            "the missed tick is reported once, as scheduled"
        );
        assert!(next > caught_up_at, "missed ticks came in a burst");
        assert_eq!(
            (next - first).as_nanos() % period.as_nanos(),
            0,
            "schedule drifted"
        );
        assert!(Instant::now() >= next);
    });
}

#[test]
#[cfg_attr(miri, ignore = "Miri does not emulate sigaction")]
fn signal_during_a_blocking_wait_does_not_break_the_runtime() {
    util::install_sigusr1_handler();
    let target = util::current_thread();
    // pthread_t is an integer on Linux; pass it to the sender thread as one.
    let target_id = target as usize;
    let sender = std::thread::spawn(move || {
        for _ in 0..5 {
            std::thread::sleep(Duration::from_millis(20));
            util::send_sigusr1(target_id as libc::pthread_t);
        }
    });
    run_with_watchdog(WATCHDOG, async {
        let start = Instant::now();
        sleep(Duration::from_millis(150)).await;
        assert!(start.elapsed() >= Duration::from_millis(150));
        // And it still works afterwards.
        let task = minireactor::spawn(async { 8 });
        assert_eq!(task.await.unwrap(), 8);
    });
    sender.join().unwrap();
}

// ----- the paused clock -----

/// The wall clock barely moves while an hour passes on the paused one.
#[test]
fn a_one_hour_sleep_completes_at_once_under_pause_and_exactly_on_time() {
    let wall = Instant::now();
    minireactor::block_on(async {
        minireactor::time::pause();
        let start = minireactor::time::now();
        sleep(Duration::from_secs(3600)).await;
        assert_eq!(minireactor::time::now() - start, Duration::from_secs(3600));
    });
    assert!(
        wall.elapsed() < Duration::from_secs(30),
        "it slept for real"
    );
}

#[test]
fn timers_fire_in_deadline_order_to_the_nanosecond_under_pause() {
    minireactor::block_on(async {
        minireactor::time::pause();
        let start = minireactor::time::now();
        let fired = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        // Deadlines out of order, some a nanosecond apart.
        let offsets = [
            5_000_000_003u64,
            7,
            5_000_000_001,
            1_000,
            5_000_000_002,
            3_600_000_000_000,
        ];
        let tasks: Vec<_> = offsets
            .iter()
            .map(|&nanos| {
                let fired = fired.clone();
                minireactor::spawn(async move {
                    sleep_until(start + Duration::from_nanos(nanos)).await;
                    let late = minireactor::time::now() - (start + Duration::from_nanos(nanos));
                    fired.borrow_mut().push((nanos, late));
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        let fired = fired.borrow();
        let mut sorted = offsets;
        sorted.sort_unstable();
        assert_eq!(fired.iter().map(|&(n, _)| n).collect::<Vec<_>>(), sorted);
        assert!(fired.iter().all(|&(_, late)| late.is_zero()), "{fired:?}");
    });
}

#[test]
fn advance_fires_what_became_due_and_nothing_else() {
    minireactor::block_on(async {
        minireactor::time::pause();
        let early = minireactor::spawn(sleep(Duration::from_millis(10)));
        let late = minireactor::spawn(sleep(Duration::from_millis(30)));
        minireactor::yield_now().await; // Both register their timers.
        minireactor::time::advance(Duration::from_millis(20)).await;
        assert!(early.is_finished());
        assert!(!late.is_finished());
        late.abort();
    });
}

/// After ten periods without polling, what each behaviour delivers next, on the paused clock.
fn ticks_after_a_stall(behavior: MissedTickBehavior) -> Vec<Duration> {
    minireactor::block_on(async move {
        minireactor::time::pause();
        let period = Duration::from_millis(10);
        let start = minireactor::time::now();
        let mut ticker = interval(period);
        ticker.set_missed_tick_behavior(behavior);
        assert_eq!(ticker.tick().await, start);
        minireactor::time::advance(period * 10 + Duration::from_millis(5)).await;
        let mut seen = Vec::new();
        for _ in 0..12 {
            seen.push(ticker.tick().await - start);
        }
        seen
    })
}

#[test]
fn interval_burst_delay_and_skip_after_ten_missed_periods() {
    let ms = |n: u64| Duration::from_millis(n);
    // Burst: every missed tick, at once, then on schedule again.
    assert_eq!(
        ticks_after_a_stall(MissedTickBehavior::Burst),
        (1..=12).map(|n| ms(10 * n)).collect::<Vec<_>>()
    );
    // Delay: the late tick (reported at its schedule), then a new schedule from when it fired.
    assert_eq!(
        ticks_after_a_stall(MissedTickBehavior::Delay),
        [ms(10)]
            .into_iter()
            .chain((1..=11).map(|n| ms(105 + 10 * n)))
            .collect::<Vec<_>>()
    );
    // Skip: the late tick, then the next one on the original schedule.
    assert_eq!(
        ticks_after_a_stall(MissedTickBehavior::Skip),
        [ms(10)]
            .into_iter()
            .chain((11..=21).map(|n| ms(10 * n)))
            .collect::<Vec<_>>()
    );
}

#[test]
fn advance_without_pause_is_a_clear_panic() {
    let payload = std::panic::catch_unwind(|| {
        minireactor::block_on(minireactor::time::advance(Duration::from_secs(1)))
    })
    .expect_err("the clock is not paused");
    let message = payload.downcast_ref::<&str>().copied().unwrap_or_default();
    assert!(message.contains("time::pause()"), "{message}");
}

#[test]
fn timeout_at_and_interval_as_a_stream() {
    use futures_core::Stream;
    minireactor::block_on(async {
        minireactor::time::pause();
        let start = minireactor::time::now();
        let deadline = start + Duration::from_secs(5);
        let slow = minireactor::time::timeout_at(deadline, sleep(Duration::from_secs(60)));
        assert_eq!(slow.deadline(), deadline);
        assert!(slow.await.is_err());
        assert_eq!(minireactor::time::now(), deadline);
        let mut ticks = std::pin::pin!(interval(Duration::from_secs(1)));
        let first = std::future::poll_fn(|cx| ticks.as_mut().poll_next(cx)).await;
        assert_eq!(first, Some(deadline));
    });
}
