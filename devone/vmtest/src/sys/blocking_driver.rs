//! The raw side of the blocking-driver checks (`crate::blocking_driver`): the
//! `read_delay_ms` and `poll_always_ready` parameters, a `read(2)` left
//! asleep in the driver on a thread of its own, and the signal that
//! interrupts it.
//!
//! Invariant of [`SleepingRead`]: its thread makes exactly one syscall on
//! the fd, one `read(2)`, and the fd is closed only after that read has
//! looked the number up (its thread is seen asleep in it) or has returned.
//! So the read never meets a closed fd, nor a reused number; a signal
//! handler with `SA_RESTART` makes the kernel look the number up again,
//! which is why [`SleepingRead::close_fd`] waits for the read once more.

use std::fs::{self, File};
use std::io;
use std::mem;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::thread::JoinHandleExt;
use std::ptr;
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::{cvt, PARAMS_DIR};

/// How long [`SleepingRead`] waits to see its thread asleep in the read.
/// Seconds of guest time for what takes a millisecond: only a watchdog.
const ASLEEP_WATCHDOG: Duration = Duration::from_secs(5);

/// Sets the blocking-driver parameters that the next `open` of the device will
/// use.  [`super::set_params`] puts them back to these defaults: `0, false`.
pub fn set_blocking_params(read_delay_ms: u32, poll_always_ready: bool) -> io::Result<()> {
    fs::write(
        format!("{PARAMS_DIR}/read_delay_ms"),
        read_delay_ms.to_string(),
    )?;
    fs::write(
        format!("{PARAMS_DIR}/poll_always_ready"),
        if poll_always_ready { "1" } else { "0" },
    )?;
    Ok(())
}

/// What the thread of a [`SleepingRead`] returns: the bytes read.
type ReadOutcome = io::Result<Vec<u8>>;

/// One `read(2)` of the device, running on a thread of its own and, once
/// [`start`](Self::start) returns, asleep in the driver.
///
/// Dropping it waits for the read to return, then closes the file.
pub struct SleepingRead {
    /// The file read from; `None` once [`close_fd`](Self::close_fd) closed it.
    fd: Option<OwnedFd>,
    /// The number of `fd`, which the reader thread reads from.
    raw: RawFd,
    /// The reader thread's id, to find it under `/proc/self/task`.
    tid: libc::pid_t,
    /// The reader thread; `None` only once joined.
    thread: Option<JoinHandle<ReadOutcome>>,
}

impl SleepingRead {
    /// Starts a `read(2)` of `len` bytes from `file` on a new thread and
    /// returns once that thread is asleep in it.  Fails if the read returned
    /// before it was seen asleep (its result is in the message).
    pub fn start(file: File, len: usize) -> io::Result<Self> {
        let fd = OwnedFd::from(file);
        let raw = fd.as_raw_fd();
        let (tid_tx, tid_rx) = mpsc::channel();
        let thread = thread::spawn(move || {
            // SAFETY: gettid takes no arguments and cannot fail.
            let tid = unsafe { libc::gettid() };
            // The receiver waits for this send, so it cannot fail.
            let _ = tid_tx.send(tid);
            let mut buf = vec![0u8; len];
            // SAFETY: `buf` is writable for `len` bytes.  `raw` is open: the
            // SleepingRead owns it and closes it only once this read has
            // looked it up (the invariant in the module doc).
            let n = unsafe { libc::read(raw, buf.as_mut_ptr().cast(), len) };
            buf.truncate(cvt(n)? as usize);
            Ok(buf)
        });
        let tid = tid_rx
            .recv()
            .map_err(|_| io::Error::other("the reader thread died before it started"))?;
        let read = Self {
            fd: Some(fd),
            raw,
            tid,
            thread: Some(thread),
        };
        if !read.wait_asleep_in_read()? {
            let (outcome, _file) = read.join();
            return Err(io::Error::other(format!(
                "the read returned before it was seen asleep: {outcome:?}"
            )));
        }
        Ok(read)
    }

    /// Sends `signal` to the reader thread (to this thread only, not the
    /// process).
    pub fn signal(&self, signal: libc::c_int) -> io::Result<()> {
        let thread = self
            .thread
            .as_ref()
            .expect("only join and drop take the thread");
        // SAFETY: the thread has not been joined (its JoinHandle is here), so
        // its pthread_t is still valid; pthread_kill takes no pointers.
        let ret = unsafe { libc::pthread_kill(thread.as_pthread_t(), signal) };
        if ret == 0 {
            Ok(())
        } else {
            Err(io::Error::from_raw_os_error(ret))
        }
    }

    /// Closes the file's fd here while the read is asleep on it.  If this was
    /// the file's last fd, only the read's own reference keeps the open file
    /// alive from then on.
    pub fn close_fd(&mut self) -> io::Result<()> {
        // After an SA_RESTART signal the read may be on its way back into
        // the kernel: the number must have been looked up again first.
        self.wait_asleep_in_read()?;
        self.fd = None;
        Ok(())
    }

    /// Waits for the read to return; gives its result and the file, unless
    /// [`close_fd`](Self::close_fd) closed it.
    pub fn join(mut self) -> (ReadOutcome, Option<File>) {
        let outcome = self.join_thread();
        (outcome, self.fd.take().map(File::from))
    }

    fn join_thread(&mut self) -> ReadOutcome {
        match self.thread.take() {
            Some(thread) => thread
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the reader thread panicked"))),
            None => Err(io::Error::other("already joined")),
        }
    }

    /// Waits until the reader thread is asleep in `read(2)` on our fd
    /// (`Ok(true)`) or has returned from it (`Ok(false)`).
    ///
    /// `/proc/<tid>/syscall` shows a sleeping task's syscall number and
    /// arguments (`0 0x<fd> ...` for read) and `running` for a task on a
    /// CPU; a task asleep in the read has looked its fd up already.
    fn wait_asleep_in_read(&self) -> io::Result<bool> {
        let path = format!("/proc/self/task/{}/syscall", self.tid);
        let asleep_in_read = format!("0 {:#x} ", self.raw);
        let start = Instant::now();
        loop {
            let finished = self.thread.as_ref().is_none_or(JoinHandle::is_finished);
            if finished {
                return Ok(false);
            }
            // The file is gone once the thread has exited: seen as finished
            // on the next round.
            if let Ok(text) = fs::read_to_string(&path) {
                if text.starts_with(&asleep_in_read) {
                    return Ok(true);
                }
            }
            if start.elapsed() > ASLEEP_WATCHDOG {
                return Err(io::Error::other(format!(
                    "the reader thread was not seen asleep in read({}) within {ASLEEP_WATCHDOG:?}",
                    self.raw
                )));
            }
            thread::sleep(Duration::from_millis(1));
        }
    }
}

impl Drop for SleepingRead {
    fn drop(&mut self) {
        // Join first: the fd field, dropped after this, must outlive the read.
        if self.thread.is_some() {
            let _ = self.join_thread();
        }
    }
}

/// A handler that does nothing, installed for one signal while this value
/// lives; the signal's previous action comes back on drop.
pub struct NoopSignalHandler {
    signal: libc::c_int,
    previous: libc::sigaction,
}

impl NoopSignalHandler {
    /// Installs it for `signal`, with `SA_RESTART` if `restart` (so that an
    /// interrupted `read` is restarted instead of failing with `EINTR`).
    pub fn install(signal: libc::c_int, restart: bool) -> io::Result<Self> {
        // SAFETY: an all-zero sigaction is a valid value (no flags, empty
        // mask); the handler is set below before it is used.
        let mut action: libc::sigaction = unsafe { mem::zeroed() };
        action.sa_sigaction = do_nothing as extern "C" fn(libc::c_int) as libc::sighandler_t;
        if restart {
            action.sa_flags = libc::SA_RESTART;
        }
        // SAFETY: as above, a valid value, overwritten by sigaction.
        let mut previous: libc::sigaction = unsafe { mem::zeroed() };
        // SAFETY: both point to live sigactions; the handler does nothing,
        // which is async-signal-safe.
        cvt(unsafe { libc::sigaction(signal, &action, &mut previous) })?;
        Ok(Self { signal, previous })
    }
}

impl Drop for NoopSignalHandler {
    fn drop(&mut self) {
        // SAFETY: `previous` is the action sigaction gave us for this signal.
        unsafe { libc::sigaction(self.signal, &self.previous, ptr::null_mut()) };
    }
}

extern "C" fn do_nothing(_signal: libc::c_int) {}
