//! `Devone` through the runtime's public API on the blocking driver: `read_delay_ms=1000
//! poll_always_ready=1`, ymgyt/drivers' devone, whose every read sleeps a second in the driver
//! even with `O_NONBLOCK`, and whose `poll` always says ready. Before the blocking pool such a
//! driver froze the single-threaded runtime for each read; these checks pin that it no longer
//! does (and, as a control, that `Offload::Inline` still does: the tick counts below can tell).
//!
//! The guest clock is virtual (qemu `-icount shift=0,sleep=off`): it jumps over the time all
//! vCPUs idle, whichever thread is asleep, so a read sleeping 1 s in the driver and a 10 ms
//! interval ticking on the runtime's thread both advance it as on a real clock. A frozen runtime
//! thread shows as missed ticks: the intervals skip missed ticks instead of bursting them out
//! (`MissedTickBehavior::Skip`), so ticks counted over a span of guest time are ticks that ran.
//!
//! Listed in [`CHECKS`], which runs after the other lists; each check sets all four parameters
//! before it opens the device. The measured figures are printed on lines of their own.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use minireactor::devone::{Devone, Offload};
use minireactor::time::{interval, timeout, MissedTickBehavior};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

use crate::blocking_driver::{blocking_params, ensure_about, ms};
use crate::checks::{
    devone_read_n, ensure_async_latency, run_async, within, Check, CheckResult, Context, AT_ONCE,
    LATENCY,
};
use crate::sys::DEVICE_PATH;

/// All checks of `Devone` on the blocking driver, in the order they run.
pub const CHECKS: &[Check] = &[
    check!(async_offload_detect_moves_the_device_to_the_pool_with_one_warning),
    check!(async_offload_interval_keeps_ticking_during_three_slow_reads),
    check!(async_offload_inline_freezes_the_runtime),
    check!(async_offload_two_devices_read_at_the_same_time),
    check!(async_offload_timeout_elapses_and_the_dropped_read_loses_nothing),
    check!(async_offload_lying_poll_with_latency_does_not_hang),
];

/// ymgyt's read delay.
const DELAY: Duration = Duration::from_secs(1);
/// The interval the tick checks count.
const TICK: Duration = Duration::from_millis(10);

/// The blocking driver: every read sleeps [`DELAY`], `poll` always says ready, no latency.
fn ymgyt_params() -> CheckResult {
    blocking_params(0, ms(DELAY), true)
}

/// Counts the warnings the `minireactor_devone` crate logs on this thread while it is the
/// thread's subscriber (`Devone` logs from the task that sees the slow operation, which runs on
/// the runtime's thread).
struct DevoneWarnings(Arc<AtomicUsize>);

impl Subscriber for DevoneWarnings {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        *metadata.level() == Level::WARN && metadata.target().starts_with("minireactor_devone")
    }
    fn new_span(&self, _span: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _span: &Id, _values: &Record<'_>) {}
    fn record_follows_from(&self, _span: &Id, _follows: &Id) {}
    fn event(&self, event: &Event<'_>) {
        if self.enabled(event.metadata()) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    fn enter(&self, _span: &Id) {}
    fn exit(&self, _span: &Id) {}
}

/// Runs `check` as [`run_async`] does, counting `Devone`'s warnings into `warnings`.
fn run_async_counting_warnings(
    warnings: &Arc<AtomicUsize>,
    check: impl std::future::Future<Output = CheckResult>,
) -> CheckResult {
    let subscriber = DevoneWarnings(Arc::clone(warnings));
    tracing::subscriber::with_default(subscriber, || run_async(check))
}

/// Ticks of an `interval(TICK)` task, as the guest instants they ran at.
type Ticks = Rc<RefCell<Vec<Instant>>>;

/// Spawns a task that records each tick of an `interval(TICK)` (missed ticks skipped).
fn spawn_ticker() -> (Ticks, minireactor::JoinHandle<()>) {
    let ticks = Ticks::default();
    let task = minireactor::spawn({
        let ticks = Rc::clone(&ticks);
        async move {
            let mut every = interval(TICK);
            every.set_missed_tick_behavior(MissedTickBehavior::Skip);
            loop {
                every.tick().await;
                ticks.borrow_mut().push(Instant::now());
            }
        }
    });
    (ticks, task)
}

/// How many ticks ran within `start..=end`, and how many were due (one per [`TICK`]).
fn ticks_in(ticks: &Ticks, start: Instant, end: Instant) -> (usize, usize) {
    let ran = ticks
        .borrow()
        .iter()
        .filter(|&&at| (start..=end).contains(&at))
        .count();
    let due = ((end - start).as_nanos() / TICK.as_nanos()) as usize;
    (ran, due)
}

/// Opens the device with `offload`, has a ticker run beside `reads` reads of it, and returns
/// `(ticks ran, ticks due, span)` over the span of the reads.
async fn ticks_during_reads(
    offload: Offload,
    reads: u32,
) -> Result<(usize, usize, Duration), String> {
    let dev = Devone::open_with(DEVICE_PATH, offload).ctx("Devone::open_with")?;
    let (ticks, ticker) = spawn_ticker();
    // Let the ticker start, so the span begins with it running.
    within("first tick", async {
        while ticks.borrow().is_empty() {
            minireactor::yield_now().await;
        }
    })
    .await?;
    let start = Instant::now();
    for round in 0..reads {
        let buf = devone_read_n(&dev, 8).await?;
        ensure!(buf == [0xff; 8], "read {round}: {buf:02x?}");
    }
    let end = Instant::now();
    ticker.abort();
    let (ran, due) = ticks_in(&ticks, start, end);
    Ok((ran, due, end - start))
}

fn async_offload_detect_moves_the_device_to_the_pool_with_one_warning() -> CheckResult {
    ymgyt_params()?;
    let warnings = Arc::new(AtomicUsize::new(0));
    run_async_counting_warnings(&warnings, async {
        let dev = Devone::open(DEVICE_PATH).ctx("Devone::open")?;
        ensure!(dev.is_pollable(), "Devone::open fell back to always-ready");
        ensure!(!dev.is_offloaded(), "offloaded before any operation");
        let start = Instant::now();
        let buf = devone_read_n(&dev, 8).await?;
        ensure!(buf == [0xff; 8], "read {buf:02x?}");
        ensure_about(start.elapsed(), DELAY, "the first read")?;
        ensure!(dev.is_offloaded(), "a read that slept 1 s did not switch");
        // Everything else now goes to the pool too, and works there.
        within("write", dev.write(b"W")).await?.ctx("write")?;
        let v = within("value", dev.value()).await?.ctx("value")?;
        ensure!(v == b'W', "value() {v:#x} after writing 'W'");
        within("set_value", dev.set_value(0x33))
            .await?
            .ctx("set_value")?;
        let start = Instant::now();
        let buf = devone_read_n(&dev, 4).await?;
        ensure!(buf == [0x33; 4], "read {buf:02x?} after set_value(0x33)");
        ensure_about(start.elapsed(), DELAY, "the second read")?;
        Ok(())
    })?;
    let warned = warnings.load(Ordering::SeqCst);
    ensure!(
        warned == 1,
        "minireactor_devone logged {warned} warnings, wanted exactly one"
    );
    Ok(())
}

fn async_offload_interval_keeps_ticking_during_three_slow_reads() -> CheckResult {
    ymgyt_params()?;
    run_async(async {
        let (ran, due, span) = ticks_during_reads(Offload::Detect, 3).await?;
        println!("    detect: {ran} of {due} ticks of {TICK:?} ran during 3 reads, {span:?} of guest time");
        ensure!(
            span + EARLY_SPAN >= DELAY * 3,
            "3 reads took {span:?}: they did not sleep in the driver"
        );
        ensure!(
            ran * 10 >= due * 9,
            "{ran} of {due} ticks ran during the reads ({span:?}); wanted 90 %"
        );
        Ok(())
    })
}

/// How much earlier than asked three sleeps of the driver may seem to end (a jiffy each).
const EARLY_SPAN: Duration = Duration::from_millis(30);

fn async_offload_inline_freezes_the_runtime() -> CheckResult {
    // The control: reads on the runtime's thread stop the ticker, and the count shows it.
    ymgyt_params()?;
    run_async(async {
        let (ran, due, span) = ticks_during_reads(Offload::Inline, 1).await?;
        println!("    inline: {ran} of {due} ticks of {TICK:?} ran during 1 read, {span:?} of guest time");
        ensure_about(span, DELAY, "the inline read")?;
        ensure!(
            ran * 10 <= due,
            "{ran} of {due} ticks ran while the read slept on the runtime's thread; \
             wanted under 10 % (is the tick count meaningful?)"
        );
        Ok(())
    })
}

fn async_offload_two_devices_read_at_the_same_time() -> CheckResult {
    ymgyt_params()?;
    run_async(async {
        let a = Devone::open(DEVICE_PATH).ctx("Devone::open a")?;
        let b = Devone::open(DEVICE_PATH).ctx("Devone::open b")?;
        within("set_value b", b.set_value(0xbb))
            .await?
            .ctx("set_value b")?;
        let start = Instant::now();
        let read_a = minireactor::spawn(async move { devone_read_n(&a, 8).await });
        let read_b = minireactor::spawn(async move { devone_read_n(&b, 8).await });
        let got_a = read_a.await.map_err(|e| format!("task a: {e}"))??;
        let got_b = read_b.await.map_err(|e| format!("task b: {e}"))??;
        let took = start.elapsed();
        println!("    two devices: both 1 s reads done after {took:?} of guest time");
        ensure!(got_a == [0xff; 8], "a read {got_a:02x?}");
        ensure!(got_b == [0xbb; 8], "b read {got_b:02x?}");
        ensure_about(
            took,
            DELAY,
            "both reads (at the same time, not one after the other)",
        )
    })
}

fn async_offload_timeout_elapses_and_the_dropped_read_loses_nothing() -> CheckResult {
    ymgyt_params()?;
    run_async(async {
        let dev = Devone::open(DEVICE_PATH).ctx("Devone::open")?;
        within("write A", dev.write(b"A")).await?.ctx("write A")?;
        let start = Instant::now();
        let mut buf = [0u8; 8];
        let given_up = timeout(Duration::from_millis(100), dev.read(&mut buf)).await;
        let gave_up_after = start.elapsed();
        println!("    timeout(100 ms, read) returned after {gave_up_after:?} of guest time");
        ensure!(
            given_up.is_err(),
            "timeout(100 ms) let a 1 s read finish: {given_up:?}"
        );
        ensure!(
            gave_up_after + EARLY_SPAN >= Duration::from_millis(100)
                && gave_up_after <= Duration::from_millis(100) + AT_ONCE,
            "timeout(100 ms) elapsed after {gave_up_after:?}"
        );
        // The read goes on in the driver, holding "AAAAAAAA"; the write waits for it.
        within("write B", dev.write(b"B")).await?.ctx("write B")?;
        ensure_about(
            start.elapsed(),
            DELAY,
            "the write queued behind the dropped read",
        )?;
        // The dropped read's bytes come first, at once, even after the write.
        let kept_at = Instant::now();
        let first = devone_read_n(&dev, 4).await?;
        let rest = devone_read_n(&dev, 4).await?;
        ensure!(
            kept_at.elapsed() < AT_ONCE,
            "the kept bytes took {:?}",
            kept_at.elapsed()
        );
        ensure!(
            first == *b"AAAA" && rest == *b"AAAA",
            "after the dropped read: {first:02x?} then {rest:02x?}, wanted its AAAAAAAA"
        );
        let fresh_at = Instant::now();
        let fresh = devone_read_n(&dev, 8).await?;
        ensure!(fresh == *b"BBBBBBBB", "then {fresh:02x?}, wanted BBBBBBBB");
        ensure_about(fresh_at.elapsed(), DELAY, "the next read, from the device")
    })
}

fn async_offload_lying_poll_with_latency_does_not_hang() -> CheckResult {
    // A poll that always says ready and data that comes only with the timer: a read after the
    // one edge gets EAGAIN, and no edge ever follows. Devone must notice and retry instead.
    blocking_params(ms(LATENCY), 0, true)?;
    let warnings = Arc::new(AtomicUsize::new(0));
    run_async_counting_warnings(&warnings, async {
        let opened = Instant::now();
        let dev = Devone::open(DEVICE_PATH).ctx("Devone::open")?;
        let buf = devone_read_n(&dev, 8).await?;
        ensure!(buf == [0xff; 8], "read {buf:02x?}");
        ensure_async_latency(opened.elapsed(), "the first read")?;
        let read_at = Instant::now();
        devone_read_n(&dev, 8).await?;
        ensure_async_latency(read_at.elapsed(), "the second read")?;
        ensure!(!dev.is_offloaded(), "offloaded, but no operation was slow");
        Ok(())
    })?;
    let warned = warnings.load(Ordering::SeqCst);
    ensure!(
        warned == 1,
        "minireactor_devone logged {warned} warnings, wanted one (the lying poll)"
    );
    Ok(())
}
