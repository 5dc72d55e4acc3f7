//! An edge-triggered epoll instance: the poller of the echo bench's client and of the
//! `raw_echo` baseline server. Every `unsafe` of it is in this file.

use std::io;
use std::os::fd::{AsRawFd as _, BorrowedFd, FromRawFd as _, OwnedFd};
use std::ptr;
use std::time::Duration;

fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// An epoll instance, close-on-exec.
pub struct Epoll(OwnedFd);

impl Epoll {
    /// A new epoll instance, watching nothing.
    pub fn new() -> io::Result<Epoll> {
        // SAFETY: no pointers involved.
        let fd = cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        // SAFETY: `fd` is fresh from the kernel and owned by nothing else.
        Ok(Epoll(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// Watches `fd`, edge-triggered, for reading, writing and hang-up, under `token`.
    #[inline]
    pub fn add(&self, fd: BorrowedFd<'_>, token: u64) -> io::Result<()> {
        let events = libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLET;
        let mut event = libc::epoll_event {
            events: events as u32,
            u64: token,
        };
        // SAFETY: `event` is valid for the call; the kernel copies it.
        cvt(unsafe {
            libc::epoll_ctl(
                self.0.as_raw_fd(),
                libc::EPOLL_CTL_ADD,
                fd.as_raw_fd(),
                &mut event,
            )
        })?;
        Ok(())
    }

    /// Stops watching `fd`.
    #[inline]
    pub fn delete(&self, fd: BorrowedFd<'_>) -> io::Result<()> {
        // SAFETY: a null event is allowed for EPOLL_CTL_DEL.
        cvt(unsafe {
            libc::epoll_ctl(
                self.0.as_raw_fd(),
                libc::EPOLL_CTL_DEL,
                fd.as_raw_fd(),
                ptr::null_mut(),
            )
        })?;
        Ok(())
    }

    /// Waits until events arrive, or at most `timeout` (rounded up to whole milliseconds, so
    /// that a sub-millisecond timeout does not turn into a busy poll); replaces the contents of
    /// `events` with them, as many as its capacity holds. EINTR counts as no events.
    #[inline]
    pub fn wait(
        &self,
        events: &mut Vec<libc::epoll_event>,
        timeout: Option<Duration>,
    ) -> io::Result<()> {
        events.clear();
        let capacity = events.capacity().min(libc::c_int::MAX as usize) as libc::c_int;
        let ms = timeout.map_or(-1, |timeout| {
            timeout.as_micros().div_ceil(1000).min(i32::MAX as u128) as libc::c_int
        });
        // SAFETY: the pointer and capacity describe the vector's spare capacity, where the
        // kernel writes at most `capacity` entries.
        let n = unsafe { libc::epoll_wait(self.0.as_raw_fd(), events.as_mut_ptr(), capacity, ms) };
        match cvt(n) {
            // SAFETY: the kernel initialised the first `n` entries.
            Ok(n) => unsafe { events.set_len(n as usize) },
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
        Ok(())
    }
}
