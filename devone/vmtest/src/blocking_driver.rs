//! Checks of the driver's two blocking-driver parameters, with plain
//! syscalls: `read_delay_ms` (every read sleeps in the driver, even on an
//! O_NONBLOCK file, and never says EAGAIN for it) and `poll_always_ready`
//! (poll always reports readable and writable and never calls poll_wait).
//! Together they are the book's devone as ymgyt/drivers rebuilt it, the
//! driver that froze our single-threaded runtime; these checks pin what our
//! own driver does in that mode, so that the runtime can be tested on it.
//!
//! Listed in [`CHECKS`], which runs after `checks::CHECKS`; each check sets
//! all four parameters before it opens the device.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use crate::checks::{
    expect_errno, params, read_exact_n, wait_readable, Check, CheckResult, Context, EARLY, LATENCY,
};
use crate::sys::{self, NoopSignalHandler, SleepingRead};

/// All blocking-driver checks, in the order they run.
pub const CHECKS: &[Check] = &[
    check!(read_delay_nonblocking_read_sleeps_then_returns_data),
    check!(read_delay_comes_before_the_latency_rules),
    check!(read_delay_signal_gives_eintr_and_keeps_readiness),
    check!(read_delay_sa_restart_restarts_the_whole_delay),
    check!(read_delay_close_other_fd_during_read),
    check!(read_delay_close_last_fd_during_read),
    check!(poll_always_ready_reports_ready_before_the_data),
    check!(poll_always_ready_epoll_et_one_edge_at_add),
    check!(blocking_params_are_read_at_open),
];

/// The read delay of most checks: longer than [`LATENCY`], as ymgyt's
/// second is, so that a delayed read of a latency file finds data.
const DELAY: Duration = Duration::from_millis(300);
/// How late a delayed read may return: generous, yet short of a second
/// delay, so a read that slept twice is caught.  (The driver sleeps one
/// jiffy more than asked, 4 ms at HZ=250.)
const DELAY_LATE: Duration = Duration::from_millis(200);
/// "At once": well short of any delay or latency here.
const AT_ONCE: Duration = Duration::from_millis(50);
/// The signal that interrupts a sleeping read.
const SIGNAL: libc::c_int = libc::SIGUSR1;

/// Sets every parameter the driver reads at open (pollable stays on: a
/// lying poll needs a poll method).
pub(crate) fn blocking_params(
    latency_ms: u32,
    read_delay_ms: u32,
    poll_always_ready: bool,
) -> CheckResult {
    params(latency_ms, true)?;
    sys::set_blocking_params(read_delay_ms, poll_always_ready).ctx("set blocking-driver parameters")
}

pub(crate) fn ms(d: Duration) -> u32 {
    d.as_millis() as u32
}

/// Asserts that `elapsed` is about `want`, by the [`DELAY_LATE`] window.
pub(crate) fn ensure_about(elapsed: Duration, want: Duration, what: &str) -> CheckResult {
    ensure!(
        elapsed + EARLY >= want && elapsed <= want + DELAY_LATE,
        "{what} after {elapsed:?}, wanted about {want:?}"
    );
    Ok(())
}

/// Asserts that a finished [`SleepingRead`] gave 8 bytes of 0xff.
fn ensure_read_0xff(outcome: std::io::Result<Vec<u8>>, what: &str) -> CheckResult {
    let buf = outcome.ctx(what)?;
    ensure!(buf == [0xff; 8], "{what}: read {buf:02x?}, wanted 8 x 0xff");
    Ok(())
}

fn read_delay_nonblocking_read_sleeps_then_returns_data() -> CheckResult {
    blocking_params(0, ms(DELAY), false)?;
    let mut f = sys::open_device(true).ctx("open")?;
    // Non-blocking or not, every read sleeps and then has data: never EAGAIN.
    for round in 0..2 {
        let start = Instant::now();
        let buf = read_exact_n(&mut f, 8)?;
        ensure!(buf == [0xff; 8], "round {round}: read {buf:02x?}");
        ensure_about(start.elapsed(), DELAY, &format!("round {round}: read"))?;
    }
    // Even a read of nothing pays the delay.
    let start = Instant::now();
    let n = f.read(&mut []).ctx("read of 0 bytes")?;
    ensure!(n == 0, "read of 0 bytes returned {n}");
    ensure_about(start.elapsed(), DELAY, "read of 0 bytes")?;
    // Writes are not delayed.
    let start = Instant::now();
    let n = f.write(b"w").ctx("write")?;
    ensure!(n == 1, "write returned {n}");
    ensure!(
        start.elapsed() < AT_ONCE,
        "write took {:?}",
        start.elapsed()
    );
    Ok(())
}

fn read_delay_comes_before_the_latency_rules() -> CheckResult {
    // A delay shorter than the latency: the delayed read still finds no
    // data, so a non-blocking one fails (after the delay) and a blocking
    // one waits for the timer.
    let delay = Duration::from_millis(50);
    blocking_params(ms(LATENCY), ms(delay), false)?;
    let opened = Instant::now();
    let mut f = sys::open_device(true).ctx("open non-blocking")?;
    let mut buf = [0u8; 8];
    let start = Instant::now();
    expect_errno(f.read(&mut buf), libc::EAGAIN, "read before ready")?;
    ensure_about(start.elapsed(), delay, "EAGAIN")?;
    // poll still tells the truth, and the delay does not move the timer.
    wait_readable(&f, 2000)?;
    ensure_about(opened.elapsed(), LATENCY, "readable")?;
    let start = Instant::now();
    read_exact_n(&mut f, 8)?;
    ensure_about(start.elapsed(), delay, "read when ready")?;

    let opened = Instant::now();
    let mut f = sys::open_device(false).ctx("open blocking")?;
    let buf = read_exact_n(&mut f, 8)?;
    ensure!(buf == [0xff; 8], "blocking read {buf:02x?}");
    ensure_about(opened.elapsed(), LATENCY, "blocking read (the longer wait)")
}

fn read_delay_signal_gives_eintr_and_keeps_readiness() -> CheckResult {
    blocking_params(ms(LATENCY), ms(DELAY), false)?;
    let _handler = NoopSignalHandler::install(SIGNAL, false).ctx("sigaction")?;
    let f = sys::open_device(true).ctx("open")?;
    wait_readable(&f, 2000)?;
    let read = SleepingRead::start(f, 8).ctx("start the read")?;
    let signalled = Instant::now();
    read.signal(SIGNAL).ctx("pthread_kill")?;
    let (outcome, file) = read.join();
    expect_errno(outcome, libc::EINTR, "the interrupted read")?;
    ensure!(
        signalled.elapsed() < AT_ONCE,
        "EINTR {:?} after the signal, wanted at once",
        signalled.elapsed()
    );
    let mut f = file.ok_or("the file was closed")?;
    // The interrupted read took nothing: the file is still readable, and
    // the next read (after its own delay) gets the data.
    let revents = sys::poll_one(&f, libc::POLLIN, 0).ctx("poll")?;
    ensure!(
        revents & libc::POLLIN != 0,
        "not readable after the interrupted read: {revents:#x}"
    );
    let start = Instant::now();
    let buf = read_exact_n(&mut f, 8)?;
    ensure!(buf == [0xff; 8], "read {buf:02x?} after EINTR");
    ensure_about(start.elapsed(), DELAY, "read after EINTR")
}

fn read_delay_sa_restart_restarts_the_whole_delay() -> CheckResult {
    blocking_params(0, ms(DELAY), false)?;
    let _handler = NoopSignalHandler::install(SIGNAL, true).ctx("sigaction")?;
    let f = sys::open_device(true).ctx("open")?;
    let start = Instant::now();
    let read = SleepingRead::start(f, 8).ctx("start the read")?;
    let before_signal = Duration::from_millis(100);
    std::thread::sleep(before_signal);
    read.signal(SIGNAL).ctx("pthread_kill")?;
    let (outcome, _file) = read.join();
    ensure_read_0xff(outcome, "the restarted read")?;
    // Interrupted, then started over: a whole delay after the signal.
    ensure_about(
        start.elapsed(),
        before_signal + DELAY,
        "the restarted read returned",
    )
}

fn read_delay_close_other_fd_during_read() -> CheckResult {
    blocking_params(0, ms(DELAY), false)?;
    let before = sys::module_refcount().ctx("refcnt")?;
    let f = sys::open_device(true).ctx("open")?;
    let open_refs = sys::module_refcount().ctx("refcnt")?;
    let other = f.try_clone().ctx("dup")?;
    let start = Instant::now();
    let read = SleepingRead::start(f, 8).ctx("start the read")?;
    drop(other);
    let (outcome, file) = read.join();
    ensure_read_0xff(outcome, "the read")?;
    ensure_about(start.elapsed(), DELAY, "the read")?;
    let f = file.ok_or("the reader's fd was closed")?;
    let v = sys::valget(&f).ctx("VALGET on the remaining fd")?;
    ensure!(v == 0xff, "VALGET {v:#x}");
    let n = sys::module_refcount().ctx("refcnt")?;
    ensure!(
        n == open_refs,
        "refcnt {n} with one fd left, wanted {open_refs}"
    );
    drop(f);
    let n = sys::module_refcount().ctx("refcnt")?;
    ensure!(
        n == before,
        "refcnt {n} after the last close, wanted {before}"
    );
    Ok(())
}

fn read_delay_close_last_fd_during_read() -> CheckResult {
    // Regression guard for a use-after-free: release must wait for the read
    // that sleeps on the file, however its fds go away.
    blocking_params(0, ms(DELAY), false)?;
    let before = sys::module_refcount().ctx("refcnt")?;
    let f = sys::open_device(true).ctx("open")?;
    let open_refs = sys::module_refcount().ctx("refcnt")?;
    let start = Instant::now();
    let mut read = SleepingRead::start(f, 8).ctx("start the read")?;
    read.close_fd().ctx("close the last fd")?;
    // No fd left, but the read holds the open file: no release yet.
    let n = sys::module_refcount().ctx("refcnt")?;
    ensure!(
        n == open_refs,
        "refcnt {n} after closing the last fd during a read, wanted {open_refs} (released under the read?)"
    );
    let (outcome, _closed) = read.join();
    ensure_read_0xff(outcome, "the read whose fd was closed")?;
    ensure_about(start.elapsed(), DELAY, "the read")?;
    let n = sys::module_refcount().ctx("refcnt")?;
    ensure!(n == before, "refcnt {n} after the read, wanted {before}");
    Ok(())
}

fn poll_always_ready_reports_ready_before_the_data() -> CheckResult {
    blocking_params(ms(LATENCY), 0, true)?;
    let mut f = sys::open_device(true).ctx("open")?;
    let both = libc::POLLIN | libc::POLLOUT;
    let revents = sys::poll_one(&f, both, 0).ctx("poll")?;
    ensure!(
        revents & both == both,
        "poll revents {revents:#x} right after open, wanted POLLIN|POLLOUT"
    );
    // The lie: "readable", yet the data comes only with the timer.
    let mut buf = [0u8; 8];
    expect_errno(f.read(&mut buf), libc::EAGAIN, "read after a readable poll")?;
    let revents = sys::poll_one(&f, libc::POLLIN, 0).ctx("poll")?;
    ensure!(
        revents & libc::POLLIN != 0,
        "poll revents {revents:#x} after EAGAIN, wanted POLLIN still"
    );
    Ok(())
}

fn poll_always_ready_epoll_et_one_edge_at_add() -> CheckResult {
    // With a latency the timer fires after open and after each read; the
    // honest poll turns each into an edge (latency_epoll_edge_triggered_rearms),
    // the lying one never registered a waiter for it to wake.
    blocking_params(ms(LATENCY), 0, true)?;
    let mut f = sys::open_device(true).ctx("open")?;
    let ep = sys::Epoll::new().ctx("epoll_create1")?;
    let interest = (libc::EPOLLIN | libc::EPOLLET) as u32;
    ep.add(&f, interest, 9).ctx("epoll_ctl ADD")?;
    let events = ep.wait(0).ctx("epoll_wait")?;
    ensure!(
        matches!(events[..], [(9, ev)] if ev & libc::EPOLLIN as u32 != 0),
        "epoll_wait after ADD gave {events:x?}, wanted one EPOLLIN for token 9"
    );
    let wait_ms = ms(LATENCY * 2) as i32;
    let events = ep.wait(wait_ms).ctx("epoll_wait")?;
    ensure!(
        events.is_empty(),
        "an edge after the one at ADD, with no read: {events:x?}"
    );
    // The timer did fire: the data is there.
    read_exact_n(&mut f, 8)?;
    let events = ep.wait(wait_ms).ctx("epoll_wait")?;
    ensure!(events.is_empty(), "an edge after a read: {events:x?}");
    read_exact_n(&mut f, 8)?;
    Ok(())
}

fn blocking_params_are_read_at_open() -> CheckResult {
    blocking_params(ms(LATENCY), ms(DELAY), true)?;
    let mut slow = sys::open_device(true).ctx("open slow")?;
    blocking_params(ms(LATENCY), 0, false)?;
    let mut plain = sys::open_device(true).ctx("open plain")?;
    let r_slow = sys::poll_one(&slow, libc::POLLIN, 0).ctx("poll slow")?;
    let r_plain = sys::poll_one(&plain, libc::POLLIN, 0).ctx("poll plain")?;
    ensure!(
        r_slow & libc::POLLIN != 0,
        "poll_always_ready file not readable at once ({r_slow:#x})"
    );
    ensure!(
        r_plain == 0,
        "file opened after the reset readable at once ({r_plain:#x})"
    );
    let mut buf = [0u8; 8];
    let start = Instant::now();
    expect_errno(plain.read(&mut buf), libc::EAGAIN, "plain read")?;
    ensure!(
        start.elapsed() < AT_ONCE,
        "plain read took {:?}",
        start.elapsed()
    );
    let start = Instant::now();
    read_exact_n(&mut slow, 8)?;
    ensure_about(start.elapsed(), DELAY, "slow read")
}
