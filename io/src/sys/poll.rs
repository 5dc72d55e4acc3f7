//! `poll(2)` on one fd: how a pool thread waits for an fd that another process made
//! non-blocking (`O_NONBLOCK` belongs to the open file description, which they share).

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

use minireactor_reactor::syscall;

/// Blocks until `fd` is readable (or writable, with `writable`), or has an error or a hang-up
/// to report, which the operation tried next then returns.
pub(crate) fn wait_until_ready(fd: BorrowedFd<'_>, writable: bool) -> io::Result<()> {
    let events = if writable {
        libc::POLLOUT
    } else {
        libc::POLLIN
    };
    let mut pollfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events,
        revents: 0,
    };
    loop {
        match syscall!(
            // SAFETY: `pollfd` is a valid array of one entry for the call; the fd is borrowed,
            // so open.
            unsafe { libc::poll(&mut pollfd, 1, -1) }
        ) {
            Ok(_) => return Ok(()),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
}
