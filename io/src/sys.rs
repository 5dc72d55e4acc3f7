//! Every raw syscall of the I/O crate.

use std::io;
use std::os::fd::RawFd;

/// Calls a libc function and maps a `-1` return to `io::Error::last_os_error()`.
macro_rules! syscall {
    ($fn:ident ( $($arg:expr),* $(,)? )) => {{
        // SAFETY: every caller passes arguments that satisfy the named syscall's contract; the
        // justification for each call sits on the function that invokes this macro.
        let res = unsafe { libc::$fn($($arg),*) };
        if res == -1 {
            Err(io::Error::last_os_error())
        } else {
            Ok(res)
        }
    }};
}

/// Sets `O_NONBLOCK` on `fd` (a no-op if it is already set).
pub(crate) fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // F_GETFL/F_SETFL take no pointers; an invalid fd fails with EBADF.
    let flags = syscall!(fcntl(fd, libc::F_GETFL))?;
    if flags & libc::O_NONBLOCK == 0 {
        syscall!(fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK))?;
    }
    Ok(())
}
