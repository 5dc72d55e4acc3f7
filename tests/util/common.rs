//! The fixtures both test trees use: the integration tests here (`tests/util`) and the io
//! crate's own (`io/tests/util`, which includes this file by path). Watchdogs, a scratch
//! directory, a deterministic byte source, and the pty and FIFO syscalls.

use std::fs::File;
use std::future::Future;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
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
/// watchdog for a test whose failure mode is a blocked runtime thread or a poll that never
/// returns, where a runtime timeout could never fire. A panic of `test` is the test's failure,
/// with its own message.
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
        Err(RecvTimeoutError::Timeout) => panic!(
            "watchdog: the test thread did not finish within {limit:?} \
             (a blocked runtime, or a poll that never returns?)"
        ),
    }
}

/// A directory of its own for one test, removed with everything in it when dropped.
pub struct ScratchDir(PathBuf);

impl ScratchDir {
    pub fn new(test: &str) -> ScratchDir {
        let path = std::env::temp_dir().join(format!("minireactor-{test}-{}", std::process::id()));
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

/// A small deterministic pseudo-random sequence (xorshift64), so tests need no extra crate
/// and every run uses the same data.
pub struct XorShift(pub u64);

impl XorShift {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A value in `low..=high`.
    pub fn range(&mut self, low: usize, high: usize) -> usize {
        low + (self.next_u64() % (high - low + 1) as u64) as usize
    }
}

/// `len` deterministic bytes from `seed`, so a copy can be checked byte for byte.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = XorShift(seed | 1); // A zero state would stay zero.
    let mut bytes = Vec::with_capacity(len + 8);
    while bytes.len() < len {
        bytes.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    bytes.truncate(len);
    bytes
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

/// The index of the loopback interface, for IPv6 scope ids and multicast.
pub fn loopback_index() -> u32 {
    // SAFETY: the name is a valid NUL-terminated string.
    unsafe { libc::if_nametoindex(c"lo".as_ptr()) }
}

/// Whether this machine has an IPv6 loopback address to bind.
pub fn has_ipv6_loopback() -> bool {
    std::net::TcpListener::bind("[::1]:0").is_ok()
}

/// Polls two futures concurrently in the current task until both finish: for futures that
/// borrow locals and so cannot be spawned.
pub async fn join<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    use std::task::Poll;
    let (mut a, mut b) = (std::pin::pin!(a), std::pin::pin!(b));
    let (mut a_out, mut b_out) = (None, None);
    std::future::poll_fn(|cx| {
        if a_out.is_none() {
            if let Poll::Ready(out) = a.as_mut().poll(cx) {
                a_out = Some(out);
            }
        }
        if b_out.is_none() {
            if let Poll::Ready(out) = b.as_mut().poll(cx) {
                b_out = Some(out);
            }
        }
        if a_out.is_some() && b_out.is_some() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    (a_out.unwrap(), b_out.unwrap())
}
