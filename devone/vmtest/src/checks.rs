//! The checks, one function each, listed in [`CHECKS`] in the order they run.
//!
//! Every check sets the module parameters it needs before it opens the
//! device (the driver reads them at each open), so checks do not depend on
//! each other.  To add one: write a `fn() -> CheckResult` and list it.

use std::io::{self, Read, Write};
use std::thread;
use std::time::{Duration, Instant};

use crate::sys::{self, ioc, IOC_MAGIC};

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
    // Last: every file above is closed.
    check!(module_refcount_is_zero),
];

/// Adds what was being done to an `io::Error`.
trait Context<T> {
    fn ctx(self, what: &str) -> Result<T, String>;
}

impl<T> Context<T> for io::Result<T> {
    fn ctx(self, what: &str) -> Result<T, String> {
        self.map_err(|e| format!("{what}: {e}"))
    }
}

/// The latency used by the latency checks.
const LATENCY: Duration = Duration::from_millis(200);
/// How early a timer may seem to fire: the kernel counts in jiffies (4 ms at
/// Debian's HZ=250), so an open just before a tick loses up to one.
const EARLY: Duration = Duration::from_millis(10);
/// How late it may fire: generous for a loaded machine, yet short of a
/// second latency, so a timer armed twice over would be caught.  (In the VM
/// the guest clock is virtual and timers come 4 ms late at most.)
const LATE: Duration = Duration::from_millis(150);

fn params(latency_ms: u32, pollable: bool) -> CheckResult {
    sys::set_params(latency_ms, pollable).ctx("set module parameters")
}

fn read_exact_n(f: &mut std::fs::File, n: usize) -> Result<Vec<u8>, String> {
    let mut buf = vec![0u8; n];
    let got = f.read(&mut buf).ctx("read")?;
    ensure!(got == n, "read returned {got} bytes, wanted {n}");
    Ok(buf)
}

fn expect_errno<T: std::fmt::Debug>(res: io::Result<T>, errno: i32, what: &str) -> CheckResult {
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
fn wait_readable(f: &std::fs::File, timeout_ms: i32) -> Result<Duration, String> {
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
    let mut cmd = sys::IoctlCmd::default();
    // Our magic, an unused number.
    let unused = ioc::encode(ioc::NONE, IOC_MAGIC, 99, 0);
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
    let mut cmd = sys::IoctlCmd::default();
    // VALGET's type and number, but claiming a 4-byte argument.
    let short_get = ioc::encode(ioc::READ, IOC_MAGIC, 2, 4);
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
