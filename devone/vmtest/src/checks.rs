//! The checks, one function each, listed in [`CHECKS`] in the order they run.
//!
//! Every check sets the module parameters it needs before it opens the
//! device (the driver reads them at each open), so checks do not depend on
//! each other.  To add one: write a `fn() -> CheckResult` and list it.

use std::fs::File;
use std::future::Future;
use std::io::{self, PipeReader, PipeWriter, Read, Write};
use std::rc::Rc;
use std::thread;
use std::time::{Duration, Instant};

use minireactor::devone::ioctl::{encode, Direction, IoctlCmd, IOC_MAGIC};
use minireactor::devone::Devone;
use minireactor::io::{AsyncFd, Interest};
use minireactor::time::{sleep, timeout};

use crate::sys::{self, DEVICE_PATH};

/// What a check returns: `Err` carries the reason it failed.
pub type CheckResult = Result<(), String>;

/// A named check.
pub struct Check {
    /// Printed in the PASS/FAIL line; also what the command-line filter matches.
    pub name: &'static str,
    /// Runs the check.
    pub run: fn() -> CheckResult,
}

/// `check!(f)` makes a [`Check`] named after the function.
macro_rules! check {
    ($f:ident) => {
        Check {
            name: stringify!($f),
            run: $f,
        }
    };
}

/// Fails the check with a formatted message unless `cond` holds.
macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

/// All checks, in the order they run.
pub const CHECKS: &[Check] = &[
    // latency_ms=0, pollable=1: the book's device.
    check!(read_returns_0xff),
    check!(write_sets_value),
    check!(ioctl_valget_valset_round_trip),
    check!(opens_keep_separate_values),
    check!(unknown_ioctl_is_enotty),
    check!(ioctl_wrong_size_is_einval),
    check!(valset_over_255_is_einval),
    check!(valset_without_cap_sys_admin_is_eperm),
    check!(read_to_bad_address_is_efault),
    check!(always_ready_without_latency),
    // latency_ms=200: readiness comes from a kernel timer.
    check!(latency_nonblocking_read_before_ready_is_eagain),
    check!(latency_poll_readable_after_200ms),
    check!(latency_read_consumes_readiness),
    check!(latency_blocking_read_waits),
    check!(latency_epoll_edge_triggered_rearms),
    check!(latency_is_read_at_open),
    check!(latency_close_while_timer_pending),
    // pollable=0: no poll method.
    check!(nopoll_epoll_ctl_add_is_eperm),
    check!(nopoll_read_write_still_work),
    check!(nopoll_open_close_keeps_module_refcount),
    // The runtime's public async API (minireactor) on the device.
    check!(async_latency0_devone_read_write_value),
    check!(async_latency0_readable_at_once),
    check!(async_latency0_opens_keep_separate_values),
    check!(async_latency200_devone_read_waits),
    check!(async_latency200_edge_trigger_contract),
    check!(async_device_does_not_block_runtime),
    check!(async_pollable0_try_new_is_eperm),
    check!(async_pollable0_devone_falls_back),
    check!(async_pollable0_latency200_read_retries),
    check!(async_drop_pending_read_then_rmmod),
    // Last: every file above is closed.
    check!(module_refcount_is_zero),
];

/// Adds what was being done to an `io::Error`.
pub(crate) trait Context<T> {
    fn ctx(self, what: &str) -> Result<T, String>;
}

impl<T> Context<T> for io::Result<T> {
    fn ctx(self, what: &str) -> Result<T, String> {
        self.map_err(|e| format!("{what}: {e}"))
    }
}

/// The latency used by the latency checks.
pub(crate) const LATENCY: Duration = Duration::from_millis(200);
/// How early a timer may seem to fire: the kernel counts in jiffies (4 ms at
/// Debian's HZ=250), so an open just before a tick loses up to one.
pub(crate) const EARLY: Duration = Duration::from_millis(10);
/// How late it may fire: generous for a loaded machine, yet short of a
/// second latency, so a timer armed twice over would be caught.  (In the VM
/// the guest clock is virtual and timers come 4 ms late at most.)
const LATE: Duration = Duration::from_millis(150);

pub(crate) fn params(latency_ms: u32, pollable: bool) -> CheckResult {
    sys::set_params(latency_ms, pollable).ctx("set module parameters")
}

pub(crate) fn read_exact_n(f: &mut std::fs::File, n: usize) -> Result<Vec<u8>, String> {
    let mut buf = vec![0u8; n];
    let got = f.read(&mut buf).ctx("read")?;
    ensure!(got == n, "read returned {got} bytes, wanted {n}");
    Ok(buf)
}

pub(crate) fn expect_errno<T: std::fmt::Debug>(
    res: io::Result<T>,
    errno: i32,
    what: &str,
) -> CheckResult {
    match res {
        Err(e) if e.raw_os_error() == Some(errno) => Ok(()),
        other => Err(format!(
            "{what}: wanted {}, got {other:?}",
            io::Error::from_raw_os_error(errno)
        )),
    }
}

/// Asserts that `elapsed` is about one [`LATENCY`].
fn ensure_about_latency(elapsed: Duration, what: &str) -> CheckResult {
    ensure!(
        elapsed + EARLY >= LATENCY && elapsed <= LATENCY + LATE,
        "{what} after {elapsed:?}, wanted about {LATENCY:?}"
    );
    Ok(())
}

/// Polls for `POLLIN` until it is reported; returns how long that took.
pub(crate) fn wait_readable(f: &std::fs::File, timeout_ms: i32) -> Result<Duration, String> {
    let start = Instant::now();
    let revents = sys::poll_one(f, libc::POLLIN, timeout_ms).ctx("poll")?;
    ensure!(
        revents & libc::POLLIN != 0,
        "not readable within {timeout_ms} ms (revents {revents:#x})"
    );
    Ok(start.elapsed())
}

// ---- latency_ms=0, pollable=1 ------------------------------------------------

fn read_returns_0xff() -> CheckResult {
    params(0, true)?;
    let mut f = sys::open_device(false).ctx("open")?;
    let buf = read_exact_n(&mut f, 8)?;
    ensure!(buf == [0xff; 8], "read {buf:02x?}, wanted 8 x 0xff");
    Ok(())
}

fn write_sets_value() -> CheckResult {
    params(0, true)?;
    let mut f = sys::open_device(false).ctx("open")?;
    // The first byte counts; the whole count is reported as written.
    let n = f.write(b"ABC").ctx("write")?;
    ensure!(n == 3, "write returned {n}, wanted 3");
    let buf = read_exact_n(&mut f, 8)?;
    ensure!(buf == *b"AAAAAAAA", "read {buf:02x?}, wanted AAAAAAAA");
    Ok(())
}

fn ioctl_valget_valset_round_trip() -> CheckResult {
    params(0, true)?;
    let mut f = sys::open_device(false).ctx("open")?;
    let v = sys::valget(&f).ctx("VALGET")?;
    ensure!(v == 0xff, "VALGET after open gave {v:#x}, wanted 0xff");
    sys::valset(&f, 0x5a).ctx("VALSET")?;
    let v = sys::valget(&f).ctx("VALGET")?;
    ensure!(v == 0x5a, "VALGET after VALSET 0x5a gave {v:#x}");
    let buf = read_exact_n(&mut f, 4)?;
    ensure!(buf == [0x5a; 4], "read {buf:02x?} after VALSET 0x5a");
    f.write_all(b"z").ctx("write")?;
    let v = sys::valget(&f).ctx("VALGET")?;
    ensure!(v == u32::from(b'z'), "VALGET after writing 'z' gave {v:#x}");
    Ok(())
}

fn opens_keep_separate_values() -> CheckResult {
    params(0, true)?;
    let mut a = sys::open_device(false).ctx("open a")?;
    let mut b = sys::open_device(false).ctx("open b")?;
    a.write_all(b"x").ctx("write a")?;
    let got_b = read_exact_n(&mut b, 2)?;
    ensure!(got_b == [0xff; 2], "b read {got_b:02x?} after writing to a");
    let got_a = read_exact_n(&mut a, 2)?;
    ensure!(got_a == *b"xx", "a read {got_a:02x?}");
    Ok(())
}

fn unknown_ioctl_is_enotty() -> CheckResult {
    params(0, true)?;
    let f = sys::open_device(false).ctx("open")?;
    let mut cmd = IoctlCmd::default();
    // Our magic, an unused number.
    let unused = encode(Direction::None, IOC_MAGIC, 99, 0);
    expect_errno(
        sys::ioctl(&f, unused, &mut cmd),
        libc::ENOTTY,
        "ioctl nr 99",
    )?;
    // Another driver's command (a terminal's TCGETS).
    expect_errno(
        sys::ioctl(&f, libc::TCGETS as libc::c_ulong, &mut cmd),
        libc::ENOTTY,
        "TCGETS",
    )
}

fn ioctl_wrong_size_is_einval() -> CheckResult {
    params(0, true)?;
    let f = sys::open_device(false).ctx("open")?;
    let mut cmd = IoctlCmd::default();
    // VALGET's type and number, but claiming a 4-byte argument.
    let short_get = encode(Direction::Read, IOC_MAGIC, 2, 4);
    expect_errno(
        sys::ioctl(&f, short_get, &mut cmd),
        libc::EINVAL,
        "4-byte VALGET",
    )
}

fn valset_over_255_is_einval() -> CheckResult {
    params(0, true)?;
    let f = sys::open_device(false).ctx("open")?;
    expect_errno(sys::valset(&f, 0x100), libc::EINVAL, "VALSET 0x100")?;
    let v = sys::valget(&f).ctx("VALGET")?;
    ensure!(v == 0xff, "value changed to {v:#x} by a refused VALSET");
    Ok(())
}

fn valset_without_cap_sys_admin_is_eperm() -> CheckResult {
    params(0, true)?;
    // Opened as root; the child keeps the fd but loses its capabilities.
    let f = sys::open_device(false).ctx("open")?;
    let status = sys::run_as_nobody(|| {
        let set = sys::valset(&f, 1);
        let get = sys::valget(&f);
        match (set, get) {
            (Err(e), Ok(0xff)) if e.raw_os_error() == Some(libc::EPERM) => 0,
            (Err(_), _) => 2,
            (Ok(()), _) => 3,
        }
    })
    .ctx("fork")?;
    ensure!(
        status == 0,
        "child as nobody: status {status} (2: VALSET failed without EPERM or VALGET failed, 3: VALSET succeeded, 125: setuid failed)"
    );
    Ok(())
}

fn read_to_bad_address_is_efault() -> CheckResult {
    params(0, true)?;
    let mut f = sys::open_device(false).ctx("open")?;
    expect_errno(
        sys::read_into_unmapped(&f, 8),
        libc::EFAULT,
        "read to page 0",
    )?;
    // The fault must not have broken the file.
    let buf = read_exact_n(&mut f, 8)?;
    ensure!(buf == [0xff; 8], "read {buf:02x?} after EFAULT");
    Ok(())
}

fn always_ready_without_latency() -> CheckResult {
    params(0, true)?;
    let mut f = sys::open_device(true).ctx("open")?;
    for round in 0..3 {
        let revents = sys::poll_one(&f, libc::POLLIN | libc::POLLOUT, 0).ctx("poll")?;
        ensure!(
            revents & (libc::POLLIN | libc::POLLOUT) == libc::POLLIN | libc::POLLOUT,
            "round {round}: poll revents {revents:#x}, wanted POLLIN|POLLOUT"
        );
        read_exact_n(&mut f, 1)?;
    }
    Ok(())
}

// ---- latency_ms=200 ----------------------------------------------------------

fn latency_nonblocking_read_before_ready_is_eagain() -> CheckResult {
    params(200, true)?;
    let mut f = sys::open_device(true).ctx("open")?;
    let mut buf = [0u8; 8];
    expect_errno(f.read(&mut buf), libc::EAGAIN, "read right after open")
}

fn latency_poll_readable_after_200ms() -> CheckResult {
    params(200, true)?;
    let opened = Instant::now();
    let mut f = sys::open_device(true).ctx("open")?;
    // Writable at once, whatever the latency.
    let revents = sys::poll_one(&f, libc::POLLOUT, 0).ctx("poll POLLOUT")?;
    ensure!(
        revents & libc::POLLOUT != 0,
        "not writable at open: {revents:#x}"
    );
    let n = f.write(b"Q").ctx("write before ready")?;
    ensure!(n == 1, "write before ready returned {n}");
    // Not readable for the first 50 ms.
    let revents = sys::poll_one(&f, libc::POLLIN, 50).ctx("poll 50 ms")?;
    ensure!(
        revents == 0,
        "poll reported {revents:#x} within 50 ms of open"
    );
    wait_readable(&f, 2000)?;
    ensure_about_latency(opened.elapsed(), "readable")?;
    let buf = read_exact_n(&mut f, 8)?;
    ensure!(buf == *b"QQQQQQQQ", "read {buf:02x?}, wanted QQQQQQQQ");
    Ok(())
}

fn latency_read_consumes_readiness() -> CheckResult {
    params(200, true)?;
    let mut f = sys::open_device(true).ctx("open")?;
    wait_readable(&f, 2000)?;
    let read_at = Instant::now();
    read_exact_n(&mut f, 8)?;
    let mut buf = [0u8; 8];
    expect_errno(f.read(&mut buf), libc::EAGAIN, "second read")?;
    let revents = sys::poll_one(&f, libc::POLLIN, 0).ctx("poll")?;
    ensure!(revents == 0, "still readable after a read: {revents:#x}");
    // The read re-armed the timer: ready again one latency later.
    wait_readable(&f, 2000)?;
    ensure_about_latency(read_at.elapsed(), "readable again")
}

fn latency_blocking_read_waits() -> CheckResult {
    params(200, true)?;
    let start = Instant::now();
    let mut f = sys::open_device(false).ctx("open")?;
    for round in 0..2 {
        let round_start = Instant::now();
        let buf = read_exact_n(&mut f, 8)?;
        ensure!(buf == [0xff; 8], "round {round}: read {buf:02x?}");
        let from = if round == 0 { start } else { round_start };
        ensure_about_latency(from.elapsed(), &format!("round {round}: read returned"))?;
    }
    Ok(())
}

fn latency_epoll_edge_triggered_rearms() -> CheckResult {
    params(200, true)?;
    let mut f = sys::open_device(true).ctx("open")?;
    let ep = sys::Epoll::new().ctx("epoll_create1")?;
    let interest = (libc::EPOLLIN | libc::EPOLLET) as u32;
    ep.add(&f, interest, 7).ctx("epoll_ctl ADD")?;
    for round in 0..2 {
        let start = Instant::now();
        let events = ep.wait(2000).ctx("epoll_wait")?;
        ensure!(
            matches!(events[..], [(7, ev)] if ev & libc::EPOLLIN as u32 != 0),
            "round {round}: epoll_wait gave {events:x?}, wanted EPOLLIN for token 7"
        );
        if round > 0 {
            ensure_about_latency(start.elapsed(), &format!("round {round}: EPOLLIN"))?;
        }
        read_exact_n(&mut f, 8)?;
        // Edge-triggered and drained: nothing until the timer fires again.
        let events = ep.wait(0).ctx("epoll_wait 0")?;
        ensure!(
            events.is_empty(),
            "round {round}: event right after read: {events:x?}"
        );
    }
    Ok(())
}

fn latency_is_read_at_open() -> CheckResult {
    params(200, true)?;
    let slow = sys::open_device(true).ctx("open slow")?;
    params(0, true)?;
    let fast = sys::open_device(true).ctx("open fast")?;
    let r_fast = sys::poll_one(&fast, libc::POLLIN, 0).ctx("poll fast")?;
    let r_slow = sys::poll_one(&slow, libc::POLLIN, 0).ctx("poll slow")?;
    ensure!(r_fast & libc::POLLIN != 0, "latency 0 file not readable");
    ensure!(
        r_slow == 0,
        "latency 200 file readable at once ({r_slow:#x})"
    );
    Ok(())
}

fn latency_close_while_timer_pending() -> CheckResult {
    // Closing races the timer callback; a bug here shows up as an oops in
    // dmesg, which the VM's /init checks after rmmod.
    params(1, true)?;
    for i in 0..100u32 {
        let f = sys::open_device(true).ctx("open")?;
        thread::sleep(Duration::from_micros(u64::from(i % 4) * 500));
        drop(f);
    }
    let mut f = sys::open_device(false).ctx("open")?;
    read_exact_n(&mut f, 1)?;
    Ok(())
}

// ---- pollable=0 --------------------------------------------------------------

fn nopoll_epoll_ctl_add_is_eperm() -> CheckResult {
    params(0, false)?;
    let f = sys::open_device(true).ctx("open")?;
    let ep = sys::Epoll::new().ctx("epoll_create1")?;
    expect_errno(
        ep.add(&f, libc::EPOLLIN as u32, 1),
        libc::EPERM,
        "epoll_ctl ADD without a poll method",
    )
}

fn nopoll_read_write_still_work() -> CheckResult {
    params(0, false)?;
    let mut f = sys::open_device(false).ctx("open")?;
    let buf = read_exact_n(&mut f, 4)?;
    ensure!(buf == [0xff; 4], "read {buf:02x?}");
    f.write_all(b"n").ctx("write")?;
    let buf = read_exact_n(&mut f, 4)?;
    ensure!(buf == *b"nnnn", "read {buf:02x?} after writing 'n'");
    Ok(())
}

fn nopoll_open_close_keeps_module_refcount() -> CheckResult {
    // Regression: the pollable=0 open swaps the file's operations table, and
    // got the module reference for the new table wrong, so that each close
    // dropped the module's refcount by one (and rmmod hit a kernel BUG).
    let before = sys::module_refcount().ctx("refcnt")?;
    // How many references one open file holds (the cdev and the operations
    // table each hold one), measured on an ordinary pollable file.
    params(0, true)?;
    let f = sys::open_device(false).ctx("open pollable")?;
    let per_file = sys::module_refcount().ctx("refcnt")? - before;
    drop(f);
    params(0, false)?;
    for round in 0..3 {
        let f = sys::open_device(false).ctx("open")?;
        let during = sys::module_refcount().ctx("refcnt")?;
        ensure!(
            during == before + per_file,
            "round {round}: refcnt {during} with a pollable=0 file open, wanted {}",
            before + per_file
        );
        drop(f);
    }
    let after = sys::module_refcount().ctx("refcnt")?;
    ensure!(
        after == before,
        "refcnt went from {before} to {after} over 3 open/close"
    );
    Ok(())
}

fn module_refcount_is_zero() -> CheckResult {
    let n = sys::module_refcount().ctx("refcnt")?;
    ensure!(n == 0, "refcnt {n} with no file open");
    Ok(())
}

// ---- the runtime's async API -------------------------------------------------
//
// Each check runs one future in `minireactor::block_on`, under a `timeout`
// (the runtime's own timer), so a wait that never ends is a FAIL; a hang of
// the runtime itself is left to the process watchdog in main.rs.

/// The watchdog of each async check, and of each single wait in one.
const ASYNC_WATCHDOG: Duration = Duration::from_secs(5);
/// "Resolves at once": well short of one latency.
pub(crate) const AT_ONCE: Duration = Duration::from_millis(50);
/// A readiness that is due after one [`LATENCY`] must be seen in the window
/// `ASYNC_EARLIEST..=ASYNC_LATEST`: no earlier than the driver's timer can
/// fire (one jiffy early at most), nor so late that the runtime slept
/// through it.
const ASYNC_EARLIEST: Duration = Duration::from_millis(190);
/// The end of the window of [`ASYNC_EARLIEST`].
const ASYNC_LATEST: Duration = Duration::from_millis(400);

/// Runs `check` on a new runtime, failing it if it takes over
/// [`ASYNC_WATCHDOG`].
pub(crate) fn run_async(check: impl Future<Output = CheckResult>) -> CheckResult {
    minireactor::block_on(async {
        match timeout(ASYNC_WATCHDOG, check).await {
            Ok(result) => result,
            Err(_elapsed) => Err(format!(
                "did not finish within {ASYNC_WATCHDOG:?} (runtime watchdog)"
            )),
        }
    })
}

/// Awaits `fut` for at most [`ASYNC_WATCHDOG`]; `what` names the wait in
/// the failure.
pub(crate) async fn within<F: Future>(what: &str, fut: F) -> Result<F::Output, String> {
    timeout(ASYNC_WATCHDOG, fut)
        .await
        .map_err(|_| format!("{what}: not done within {ASYNC_WATCHDOG:?}"))
}

/// Asserts that `elapsed` is about one [`LATENCY`], by the async window.
pub(crate) fn ensure_async_latency(elapsed: Duration, what: &str) -> CheckResult {
    ensure!(
        (ASYNC_EARLIEST..=ASYNC_LATEST).contains(&elapsed),
        "{what} after {elapsed:?}, wanted {ASYNC_EARLIEST:?}..={ASYNC_LATEST:?}"
    );
    Ok(())
}

/// `Devone::read` of `n` bytes, which must all be returned.
pub(crate) async fn devone_read_n(dev: &Devone, n: usize) -> Result<Vec<u8>, String> {
    let mut buf = vec![0u8; n];
    let got = within("Devone::read", dev.read(&mut buf))
        .await?
        .ctx("Devone::read")?;
    ensure!(got == n, "Devone::read returned {got} bytes, wanted {n}");
    Ok(buf)
}

/// The device opened non-blocking by hand and registered as an `AsyncFd`.
fn async_fd_device() -> Result<AsyncFd<File>, String> {
    let file = sys::open_device(true).ctx("open")?;
    AsyncFd::new(file).ctx("AsyncFd::new")
}

/// One non-blocking read of 8 bytes, as `try_io`/`async_io` closures do it.
fn read8(mut file: &File) -> io::Result<[u8; 8]> {
    let mut buf = [0u8; 8];
    let n = file.read(&mut buf)?;
    if n != 8 {
        return Err(io::Error::other(format!(
            "read returned {n} bytes, wanted 8"
        )));
    }
    Ok(buf)
}

fn async_latency0_devone_read_write_value() -> CheckResult {
    params(0, true)?;
    run_async(async {
        let dev = Devone::open(DEVICE_PATH).ctx("Devone::open")?;
        ensure!(dev.is_pollable(), "Devone::open fell back to always-ready");
        let start = Instant::now();
        let buf = devone_read_n(&dev, 8).await?;
        let waited = start.elapsed();
        ensure!(waited < AT_ONCE, "first read took {waited:?}");
        ensure!(buf == [0xff; 8], "read {buf:02x?}, wanted 8 x 0xff");
        let n = within("Devone::write", dev.write(b"A"))
            .await?
            .ctx("Devone::write")?;
        ensure!(n == 1, "write returned {n}, wanted 1");
        let buf = devone_read_n(&dev, 8).await?;
        ensure!(buf == *b"AAAAAAAA", "read {buf:02x?} after writing 'A'");
        let v = dev.value().await.ctx("value")?;
        ensure!(v == b'A', "value() {v:#x} after writing 'A'");
        dev.set_value(0x5a).await.ctx("set_value")?;
        let v = dev.value().await.ctx("value")?;
        ensure!(v == 0x5a, "value() {v:#x} after set_value(0x5a)");
        let buf = devone_read_n(&dev, 3).await?;
        ensure!(buf == [0x5a; 3], "read {buf:02x?} after set_value(0x5a)");
        Ok(())
    })
}

fn async_latency0_readable_at_once() -> CheckResult {
    params(0, true)?;
    run_async(async {
        let fd = async_fd_device()?;
        let start = Instant::now();
        let mut guard = within("readable", fd.readable())
            .await?
            .map_err(|e| e.to_string())?;
        let waited = start.elapsed();
        ensure!(waited < AT_ONCE, "readable() took {waited:?}");
        ensure!(
            guard.ready().is_readable(),
            "readable() resolved with {:?}",
            guard.ready()
        );
        match guard.try_io(read8) {
            Ok(Ok(buf)) => ensure!(buf == [0xff; 8], "read {buf:02x?}"),
            Ok(Err(e)) => return Err(format!("read: {e}")),
            Err(_) => return Err("read after readable() would block".into()),
        }
        // Always readable: nothing to clear, the next wait is immediate too.
        ensure!(
            fd.readiness().is_readable(),
            "readiness {:?} after a successful read",
            fd.readiness()
        );
        let guard = within("writable", fd.writable())
            .await?
            .map_err(|e| e.to_string())?;
        ensure!(
            guard.ready().is_writable(),
            "writable() resolved with {:?}",
            guard.ready()
        );
        Ok(())
    })
}

fn async_latency0_opens_keep_separate_values() -> CheckResult {
    params(0, true)?;
    run_async(async {
        let a = Devone::open(DEVICE_PATH).ctx("Devone::open a")?;
        let b = Devone::open(DEVICE_PATH).ctx("Devone::open b")?;
        within("write a", a.write(b"x")).await?.ctx("write a")?;
        b.set_value(0x11).await.ctx("set_value b")?;
        let got_a = devone_read_n(&a, 2).await?;
        ensure!(got_a == *b"xx", "a read {got_a:02x?}, wanted xx");
        let got_b = devone_read_n(&b, 2).await?;
        ensure!(got_b == [0x11; 2], "b read {got_b:02x?}, wanted 11 11");
        let (va, vb) = (
            a.value().await.ctx("value a")?,
            b.value().await.ctx("value b")?,
        );
        ensure!(
            va == b'x' && vb == 0x11,
            "values a {va:#x}, b {vb:#x}, wanted 0x78, 0x11"
        );
        Ok(())
    })
}

fn async_latency200_devone_read_waits() -> CheckResult {
    params(200, true)?;
    run_async(async {
        let opened = Instant::now();
        let dev = Devone::open(DEVICE_PATH).ctx("Devone::open")?;
        ensure!(dev.is_pollable(), "Devone::open fell back to always-ready");
        let mut buf = [0u8; 8];
        let early = timeout(Duration::from_millis(50), dev.read(&mut buf)).await;
        ensure!(
            early.is_err(),
            "read resolved within 50 ms of open: {early:?}"
        );
        let buf = devone_read_n(&dev, 8).await?;
        ensure_async_latency(opened.elapsed(), "first read returned")?;
        ensure!(buf == [0xff; 8], "read {buf:02x?}, wanted 8 x 0xff");
        // The read re-armed the driver's timer: the next one waits again.
        let read_at = Instant::now();
        let buf = devone_read_n(&dev, 8).await?;
        ensure_async_latency(read_at.elapsed(), "second read returned")?;
        ensure!(buf == [0xff; 8], "second read {buf:02x?}");
        Ok(())
    })
}

fn async_latency200_edge_trigger_contract() -> CheckResult {
    params(200, true)?;
    run_async(async {
        let opened = Instant::now();
        let fd = async_fd_device()?;
        ensure!(
            timeout(Duration::from_millis(50), fd.readable())
                .await
                .is_err(),
            "readable() resolved within 50 ms of open"
        );
        let mut guard = within("readable", fd.readable())
            .await?
            .map_err(|e| e.to_string())?;
        ensure_async_latency(opened.elapsed(), "readable()")?;
        let read_at = Instant::now();
        match guard.try_io(read8) {
            Ok(Ok(buf)) => ensure!(buf == [0xff; 8], "read {buf:02x?}"),
            Ok(Err(e)) => return Err(format!("first read: {e}")),
            Err(_) => return Err("first read after readable() would block".into()),
        }
        // A successful read is no proof that the data is gone: the
        // readiness stays until an operation says EAGAIN.
        ensure!(
            fd.readiness().is_readable(),
            "readiness {:?} after a successful read; only WouldBlock may clear it",
            fd.readiness()
        );
        let mut guard = match timeout(Duration::ZERO, fd.readable()).await {
            Ok(guard) => guard.map_err(|e| e.to_string())?,
            Err(_) => return Err("readable() did not resolve at once on kept readiness".into()),
        };
        match guard.try_io(read8) {
            Err(_would_block) => {}
            Ok(other) => return Err(format!("second read: wanted EAGAIN, got {other:?}")),
        }
        ensure!(
            !fd.readiness().is_readable(),
            "readiness {:?} after try_io hit EAGAIN; it should be cleared",
            fd.readiness()
        );
        // No new edge until the timer that the first read re-armed fires.
        ensure!(
            timeout(Duration::from_millis(100), fd.readable())
                .await
                .is_err(),
            "readable() resolved within 100 ms of the read, before the timer"
        );
        let mut guard = within("readable again", fd.readable())
            .await?
            .map_err(|e| e.to_string())?;
        ensure_async_latency(read_at.elapsed(), "next readiness edge")?;
        match guard.try_io(read8) {
            Ok(Ok(buf)) => ensure!(buf == [0xff; 8], "read {buf:02x?}"),
            other => return Err(format!("read on the next edge: {other:?}")),
        }
        // async_io runs the same loop: EAGAIN, clear, wait, read.
        let again_at = Instant::now();
        let buf = within("async_io", fd.async_io(Interest::Readable, read8))
            .await?
            .ctx("async_io read")?;
        ensure_async_latency(again_at.elapsed(), "async_io read")?;
        ensure!(buf == [0xff; 8], "async_io read {buf:02x?}");
        Ok(())
    })
}

/// `rounds` one-byte round trips over two pipes, each end an `AsyncFd`:
/// this task writes, a spawned task echoes.  Returns when it finished.
async fn pipe_ping_pong(rounds: u8) -> Result<Instant, String> {
    let (to_echo_r, to_echo_w) = io::pipe().ctx("pipe")?;
    let (back_r, back_w) = io::pipe().ctx("pipe")?;
    let to_echo_w = AsyncFd::new(to_echo_w).ctx("AsyncFd pipe")?;
    let back_r = AsyncFd::new(back_r).ctx("AsyncFd pipe")?;
    let echo_r = AsyncFd::new(to_echo_r).ctx("AsyncFd pipe")?;
    let echo_w = AsyncFd::new(back_w).ctx("AsyncFd pipe")?;

    async fn read_byte(fd: &AsyncFd<PipeReader>) -> io::Result<u8> {
        let mut b = [0u8; 1];
        let n = fd
            .async_io(Interest::Readable, |mut r| r.read(&mut b))
            .await?;
        if n == 1 {
            Ok(b[0])
        } else {
            Err(io::Error::new(io::ErrorKind::UnexpectedEof, "pipe closed"))
        }
    }
    async fn write_byte(fd: &AsyncFd<PipeWriter>, b: u8) -> io::Result<()> {
        let n = fd
            .async_io(Interest::Writable, |mut w| w.write(&[b]))
            .await?;
        if n == 1 {
            Ok(())
        } else {
            Err(io::Error::new(io::ErrorKind::WriteZero, "pipe write of 0"))
        }
    }

    let echo = minireactor::spawn(async move {
        for _ in 0..rounds {
            let b = read_byte(&echo_r).await?;
            write_byte(&echo_w, b).await?;
        }
        io::Result::Ok(())
    });
    for i in 0..rounds {
        write_byte(&to_echo_w, i).await.ctx("ping write")?;
        let b = read_byte(&back_r).await.ctx("pong read")?;
        ensure!(b == i, "round {i}: echoed {b}");
    }
    echo.await
        .map_err(|e| format!("echo task: {e}"))?
        .ctx("echo task")?;
    Ok(Instant::now())
}

fn async_device_does_not_block_runtime() -> CheckResult {
    params(200, true)?;
    run_async(async {
        let opened = Instant::now();
        let dev = Devone::open(DEVICE_PATH).ctx("Devone::open")?;
        let device = minireactor::spawn(async move {
            let buf = devone_read_n(&dev, 8).await;
            (buf, Instant::now())
        });
        let timers = minireactor::spawn(async {
            for _ in 0..10 {
                sleep(Duration::from_millis(5)).await;
            }
            Instant::now()
        });
        let ping_pong = minireactor::spawn(pipe_ping_pong(100));

        let timers_done = timers.await.map_err(|e| format!("timer task: {e}"))?;
        let ping_pong_done = ping_pong
            .await
            .map_err(|e| format!("ping-pong task: {e}"))??;
        ensure!(
            !device.is_finished(),
            "the device read finished before the timers and the ping-pong"
        );
        let (buf, device_done) = device.await.map_err(|e| format!("device task: {e}"))?;
        let buf = buf?;
        ensure!(buf == [0xff; 8], "device read {buf:02x?}");
        ensure_async_latency(device_done - opened, "device read returned")?;
        let timers_took = timers_done - opened;
        ensure!(
            timers_took >= Duration::from_millis(50) && timers_done < device_done,
            "10 x 5 ms of sleeps done after {timers_took:?}, device read after {:?}",
            device_done - opened
        );
        ensure!(
            ping_pong_done < device_done,
            "ping-pong done after {:?}, device read after {:?}",
            ping_pong_done - opened,
            device_done - opened
        );
        Ok(())
    })
}

fn async_pollable0_try_new_is_eperm() -> CheckResult {
    params(0, false)?;
    run_async(async {
        let file = sys::open_device(true).ctx("open")?;
        let (mut file, err) = match AsyncFd::try_new(file) {
            Ok(_) => return Err("AsyncFd::try_new registered a file without poll".into()),
            Err(err) => err.into_parts(),
        };
        ensure!(
            err.kind() == io::ErrorKind::PermissionDenied,
            "try_new failed with kind {:?} ({err}), wanted PermissionDenied",
            err.kind()
        );
        ensure!(
            err.to_string().contains("EPERM"),
            "try_new's message does not mention EPERM: {err}"
        );
        // The file came back intact and still works.
        let buf = read_exact_n(&mut file, 8)?;
        ensure!(buf == [0xff; 8], "read {buf:02x?} on the returned file");
        Ok(())
    })
}

fn async_pollable0_devone_falls_back() -> CheckResult {
    params(0, false)?;
    run_async(async {
        let dev = Devone::open(DEVICE_PATH).ctx("Devone::open")?;
        ensure!(!dev.is_pollable(), "is_pollable() true with pollable=0");
        let buf = devone_read_n(&dev, 8).await?;
        ensure!(buf == [0xff; 8], "read {buf:02x?}");
        within("Devone::write", dev.write(b"n"))
            .await?
            .ctx("Devone::write")?;
        let buf = devone_read_n(&dev, 4).await?;
        ensure!(buf == *b"nnnn", "read {buf:02x?} after writing 'n'");
        let v = dev.value().await.ctx("value")?;
        ensure!(v == b'n', "value() {v:#x}");
        Ok(())
    })
}

fn async_pollable0_latency200_read_retries() -> CheckResult {
    // No poll method and a latency: EAGAIN with no readiness to await, so
    // the fallback retries; the read must still come at the timer.
    params(200, false)?;
    run_async(async {
        let opened = Instant::now();
        let dev = Devone::open(DEVICE_PATH).ctx("Devone::open")?;
        ensure!(!dev.is_pollable(), "is_pollable() true with pollable=0");
        let buf = devone_read_n(&dev, 8).await?;
        ensure_async_latency(opened.elapsed(), "read returned")?;
        ensure!(buf == [0xff; 8], "read {buf:02x?}");
        Ok(())
    })
}

fn async_drop_pending_read_then_rmmod() -> CheckResult {
    // Files dropped with a read pending and the driver's timer armed; /init
    // then unloads the module and scans the kernel log.
    params(5000, true)?;
    let before = sys::module_refcount().ctx("refcnt")?;
    let refcount_is = |want: u32, when: &str| -> CheckResult {
        let n = sys::module_refcount().ctx("refcnt")?;
        ensure!(n == want, "refcnt {n} {when}, wanted {want}");
        Ok(())
    };
    run_async(async {
        // A task awaiting a read, aborted; then the device is dropped.
        let dev = Rc::new(Devone::open(DEVICE_PATH).ctx("Devone::open")?);
        let open_refs = sys::module_refcount().ctx("refcnt")?;
        ensure!(open_refs > before, "refcnt {open_refs} with the file open");
        let reader = Rc::clone(&dev);
        let task = minireactor::spawn(async move {
            let mut buf = [0u8; 8];
            reader.read(&mut buf).await
        });
        sleep(Duration::from_millis(50)).await;
        ensure!(
            !task.is_finished(),
            "a read at latency 5000 finished within 50 ms"
        );
        task.abort();
        match within("the aborted task's JoinHandle", task).await? {
            Err(e) if e.is_cancelled() => {}
            other => return Err(format!("aborted task gave {other:?}, wanted cancelled")),
        }
        ensure!(
            Rc::strong_count(&dev) == 1,
            "the aborted task still holds the device"
        );
        refcount_is(open_refs, "after the abort, device still open")?;
        drop(dev);
        refcount_is(before, "after dropping the device")?;

        // A read dropped by a timeout, with the device kept: it still works
        // afterwards, then it is dropped with the timer armed.
        let dev = Devone::open(DEVICE_PATH).ctx("Devone::open")?;
        let mut buf = [0u8; 8];
        let early = timeout(Duration::from_millis(50), dev.read(&mut buf)).await;
        ensure!(early.is_err(), "read at latency 5000 resolved: {early:?}");
        dev.set_value(7)
            .await
            .ctx("set_value after a dropped read")?;
        drop(dev);
        refcount_is(before, "after dropping the second device")?;

        // The runtime is still fine.
        within("sleep after the drops", sleep(Duration::from_millis(5))).await?;
        Ok(())
    })
}
