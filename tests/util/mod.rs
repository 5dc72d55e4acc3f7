//! Shared fixtures for the integration tests: a counting waker, a watchdog, and the few raw
//! syscalls the tests need (pty, signals), gathered here.
#![allow(dead_code)] // Each test binary uses a different subset.

use std::fs::File;
use std::future::Future;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Wake, Waker};
use std::time::Duration;

/// A waker that counts its wakes.
pub struct CountingWaker(AtomicUsize);

impl CountingWaker {
    pub fn new() -> (Waker, Arc<CountingWaker>) {
        let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
        (Waker::from(counter.clone()), counter)
    }

    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Runs `future` on a fresh runtime, failing the test instead of hanging if it takes longer than
/// `limit` — a watchdog, not a performance assertion.
pub fn run_with_watchdog<F: Future>(limit: Duration, future: F) -> F::Output {
    minireactor::block_on(async {
        minireactor::time::timeout(limit, future)
            .await
            .unwrap_or_else(|_| panic!("watchdog: test did not finish within {limit:?}"))
    })
}

/// Opens a pty pair in raw mode: (master, slave).
pub fn openpty_raw() -> io::Result<(File, File)> {
    let mut master: libc::c_int = -1;
    let mut slave: libc::c_int = -1;
    // SAFETY: both out-pointers are valid; name, termios and winsize may be null.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    if rc == -1 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: openpty returned two fresh fds that nothing else owns.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    // Raw mode: no echo, no line buffering, so bytes pass through unchanged.
    // SAFETY: termios is plain data; zeroed is a valid starting value for tcgetattr to fill.
    let mut termios: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: the fd is open and `termios` is a valid out-pointer.
    if unsafe { libc::tcgetattr(std::os::fd::AsRawFd::as_raw_fd(&slave), &mut termios) } == -1 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `termios` was filled by tcgetattr.
    unsafe { libc::cfmakeraw(&mut termios) };
    // SAFETY: the fd is open and `termios` is valid.
    if unsafe {
        libc::tcsetattr(
            std::os::fd::AsRawFd::as_raw_fd(&slave),
            libc::TCSANOW,
            &termios,
        )
    } == -1
    {
        return Err(io::Error::last_os_error());
    }
    Ok((File::from(master), File::from(slave)))
}

extern "C" fn ignore_signal(_: libc::c_int) {}

/// Installs a do-nothing SIGUSR1 handler without `SA_RESTART`, so that a signal interrupts a
/// blocking `epoll_wait` with `EINTR` instead of killing the process.
pub fn install_sigusr1_handler() {
    // SAFETY: sigaction is plain data; zeroed means no flags and an empty mask.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = ignore_signal as extern "C" fn(libc::c_int) as usize;
    // SAFETY: `action` is fully initialised and the old-action pointer may be null.
    let rc = unsafe { libc::sigaction(libc::SIGUSR1, &action, std::ptr::null_mut()) };
    assert_eq!(rc, 0, "sigaction: {}", io::Error::last_os_error());
}

/// The calling thread's pthread handle, to aim signals at it.
pub fn current_thread() -> libc::pthread_t {
    // SAFETY: pthread_self has no preconditions.
    unsafe { libc::pthread_self() }
}

/// Sends SIGUSR1 to `thread`.
pub fn send_sigusr1(thread: libc::pthread_t) {
    // SAFETY: `thread` is a live thread of this process (the test keeps it alive).
    let rc = unsafe { libc::pthread_kill(thread, libc::SIGUSR1) };
    assert_eq!(rc, 0);
}
