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
    run_with_watchdog(WATCHDOG, async {
        let reactor = Reactor::current().unwrap();
        let before = reactor.pending_timers();
        let mut sleeps: Vec<_> = (0..100_000u64)
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
        assert_eq!(reactor.pending_timers(), before + 100_000);
        drop(sleeps);
        assert_eq!(reactor.pending_timers(), before);
    });
}

#[test]
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
