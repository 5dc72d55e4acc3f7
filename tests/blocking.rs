//! `spawn_blocking`: closures on the pool, its cap, panics, and a runtime that does not wait.

mod util;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use minireactor::time::{interval, sleep, MissedTickBehavior};
use minireactor::{spawn_blocking, Builder, Runtime};
use util::on_thread_with_watchdog;

const WATCHDOG: Duration = Duration::from_secs(120);

/// Counts closures running at once, and the most ever seen.
#[derive(Default)]
struct Concurrency {
    now: AtomicUsize,
    peak: AtomicUsize,
}

impl Concurrency {
    fn enter(&self) {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
    }

    fn exit(&self) {
        self.now.fetch_sub(1, Ordering::SeqCst);
    }
}

#[test]
fn ten_thousand_closures_complete_and_the_pool_never_exceeds_its_cap() {
    const CAP: usize = 8;
    // Two hundred under Miri, where 10,000 outlast the watchdog.
    const CLOSURES: u64 = if cfg!(miri) { 200 } else { 10_000 };
    on_thread_with_watchdog(WATCHDOG, || {
        let runtime = Builder::new().max_blocking_threads(CAP).build().unwrap();
        let running = Arc::new(Concurrency::default());
        let threads_seen = Arc::new(AtomicUsize::new(0));
        let sum = runtime.block_on(async {
            let handles: Vec<_> = (0..CLOSURES)
                .map(|i| {
                    let running = running.clone();
                    spawn_blocking(move || {
                        running.enter();
                        std::thread::sleep(Duration::from_micros(50));
                        running.exit();
                        i
                    })
                })
                .collect();
            let mut sum = 0;
            for handle in handles {
                sum += handle.await.unwrap();
                threads_seen.fetch_max(runtime.blocking_threads(), Ordering::SeqCst);
            }
            sum
        });
        assert_eq!(sum, (0..CLOSURES).sum::<u64>());
        assert!(running.peak.load(Ordering::SeqCst) <= CAP);
        assert!(
            running.peak.load(Ordering::SeqCst) > 1,
            "the closures never ran in parallel"
        );
        assert!(runtime.blocking_threads() <= CAP);
        assert!(threads_seen.load(Ordering::SeqCst) <= CAP);
        assert_eq!(runtime.live_tasks(), 0);
    });
}

#[test]
fn a_panicking_closure_reaches_its_joiner_as_a_panic() {
    minireactor::block_on(async {
        let err = spawn_blocking(|| -> u8 { panic!("in the pool") })
            .await
            .expect_err("the closure panicked");
        assert!(err.is_panic(), "{err}");
        assert_eq!(
            err.into_panic().downcast_ref::<&str>(),
            Some(&"in the pool")
        );
        // The pool is still usable.
        assert_eq!(spawn_blocking(|| 3).await.unwrap(), 3);
    });
}

/// Regression guard: dropping the runtime must not wait for a closure that is still running.
#[test]
#[cfg_attr(
    miri,
    ignore = "leaves its closure's thread running at exit, which Miri reports as an error"
)]
fn dropping_the_runtime_with_a_five_second_closure_running_returns_at_once() {
    let runtime = Runtime::new().unwrap();
    let started = Arc::new(Barrier::new(2));
    let finished = Arc::new(AtomicUsize::new(0));
    runtime.block_on({
        let (started, finished) = (started.clone(), finished.clone());
        async move {
            let _detached = spawn_blocking(move || {
                started.wait();
                std::thread::sleep(Duration::from_secs(5));
                finished.fetch_add(1, Ordering::SeqCst);
            });
        }
    });
    started.wait();
    let dropping = Instant::now();
    drop(runtime);
    assert!(
        dropping.elapsed() < Duration::from_secs(2),
        "drop(runtime) waited {:?} for the closure",
        dropping.elapsed()
    );
    assert_eq!(
        finished.load(Ordering::SeqCst),
        0,
        "still running, not waited for"
    );
}

#[test]
fn an_aborted_closure_that_has_not_started_never_runs() {
    let runtime = Builder::new().max_blocking_threads(1).build().unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    runtime.block_on(async {
        let gate = Arc::new(Barrier::new(2));
        let busy = spawn_blocking({
            let gate = gate.clone();
            move || gate.wait()
        });
        let queued = spawn_blocking({
            let ran = ran.clone();
            move || ran.fetch_add(1, Ordering::SeqCst)
        });
        // Let the queued task run once, so its closure is in the pool's queue, then abort it.
        sleep(Duration::from_millis(10)).await;
        queued.abort();
        assert!(queued.await.unwrap_err().is_cancelled());
        gate.wait();
        busy.await.unwrap();
        assert_eq!(spawn_blocking(|| 1).await.unwrap(), 1);
    });
    assert_eq!(ran.load(Ordering::SeqCst), 0);
}

/// What the pool is for: a closure that blocks its thread for a while does not stop the timers.
#[test]
#[cfg_attr(
    miri,
    ignore = "measures what real time allows, and under Miri a poll takes milliseconds"
)]
fn an_interval_keeps_ticking_while_closures_block() {
    on_thread_with_watchdog(WATCHDOG, || {
        minireactor::block_on(async {
            let blockers: Vec<_> = (0..3)
                .map(|_| spawn_blocking(|| std::thread::sleep(Duration::from_millis(300))))
                .collect();
            let mut ticks = interval(Duration::from_millis(10));
            ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
            let start = Instant::now();
            let mut count = 0;
            while start.elapsed() < Duration::from_millis(300) {
                ticks.tick().await;
                count += 1;
            }
            for blocker in blockers {
                blocker.await.unwrap();
            }
            assert!(count >= 20, "{count} ticks in 300 ms");
        });
    });
}

#[test]
fn a_zero_cap_is_a_clear_error() {
    let err = Builder::new().max_blocking_threads(0).build().unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("max_blocking_threads"), "{err}");
}
