//! Fixtures for the fs and stdio tests: watchdogs, a scratch directory, and the few raw
//! syscalls the tests need (pty, FIFO, `fcntl` flags), gathered here.
#![allow(dead_code)] // Each test binary uses a different subset.

use std::fs::File;
use std::future::Future;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::mpsc::RecvTimeoutError;
use std::time::Duration;

/// Runs `future` on a fresh runtime, failing the test instead of hanging if it takes longer than
/// `limit` — a watchdog, not a performance assertion.
pub fn run_with_watchdog<F: Future>(limit: Duration, future: F) -> F::Output {
    minireactor::block_on(async {
        minireactor::time::timeout(limit, future)
            .await
            .unwrap_or_else(|_| panic!("watchdog: test did not finish within {limit:?}"))
    })
}

/// Runs `test` on a thread of its own and fails if it does not finish within `limit`: the
/// watchdog for a test whose failure mode is a blocked runtime thread, where a runtime timeout
/// could never fire.
pub fn on_thread_with_watchdog<T: Send + 'static>(
    limit: Duration,
    test: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (done, finished) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let _ = done.send(test());
    });
    match finished.recv_timeout(limit) {
        Ok(value) => value,
        // It panicked: show its message rather than the watchdog's.
        Err(RecvTimeoutError::Disconnected) => {
            std::panic::resume_unwind(thread.join().unwrap_err())
        }
        Err(RecvTimeoutError::Timeout) => {
            panic!("watchdog: the test thread did not finish within {limit:?} (a blocked runtime?)")
        }
    }
}

/// A directory of its own for one test, removed with everything in it when dropped.
pub struct ScratchDir(PathBuf);

impl ScratchDir {
    pub fn new(test: &str) -> ScratchDir {
        let path =
            std::env::temp_dir().join(format!("minireactor-io-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path); // Left over by a killed run.
        std::fs::create_dir_all(&path).unwrap();
        ScratchDir(path)
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Deterministic bytes (xorshift64), so a copy can be checked byte for byte without an extra
/// crate and every run uses the same data.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut bytes = Vec::with_capacity(len + 8);
    while bytes.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}

/// Whether `O_NONBLOCK` is set on the open file description behind `fd`.
pub fn is_nonblocking(fd: BorrowedFd<'_>) -> bool {
    // SAFETY: F_GETFL takes no argument; `fd` is open for the borrow's lifetime.
    let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
    assert_ne!(flags, -1, "fcntl(F_GETFL): {}", io::Error::last_os_error());
    flags & libc::O_NONBLOCK != 0
}

/// Sets `O_NONBLOCK` on the open file description behind `fd` (what the stdio handles must
/// never do; used to show that the check above sees it through another fd).
pub fn set_nonblocking(fd: BorrowedFd<'_>) {
    // SAFETY: F_GETFL takes no argument; `fd` is open for the borrow's lifetime.
    let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
    assert_ne!(flags, -1, "fcntl(F_GETFL): {}", io::Error::last_os_error());
    // SAFETY: F_SETFL takes an int of flags; `fd` is open.
    let rc = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) };
    assert_ne!(rc, -1, "fcntl(F_SETFL): {}", io::Error::last_os_error());
}

/// Opens a pty pair in raw mode (no echo, no line editing, bytes pass unchanged):
/// (master, slave).
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
    // SAFETY: termios is plain data; zeroed is a valid starting value for tcgetattr to fill.
    let mut termios: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: the fd is open and `termios` is a valid out-pointer.
    if unsafe { libc::tcgetattr(slave.as_raw_fd(), &mut termios) } == -1 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `termios` was filled by tcgetattr.
    unsafe { libc::cfmakeraw(&mut termios) };
    // SAFETY: the fd is open and `termios` is valid.
    if unsafe { libc::tcsetattr(slave.as_raw_fd(), libc::TCSANOW, &termios) } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok((File::from(master), File::from(slave)))
}

/// Creates a named pipe at `path`.
pub fn mkfifo(path: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: `path` is a valid NUL-terminated string.
    let rc = unsafe { libc::mkfifo(path.as_ptr(), 0o600) };
    assert_eq!(rc, 0, "mkfifo: {}", io::Error::last_os_error());
}
