//! Every raw syscall of this crate: devone's two ioctls and a zero-timeout `poll(2)`. Reads and
//! writes go through `std::fs::File`. Each wrapper is safe; its `unsafe` block and the
//! `// SAFETY:` justification are at the call, through the reactor's `syscall!`.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd};

use minireactor_reactor::syscall;

use crate::ioctl::{IoctlCmd, IOCTL_VALGET, IOCTL_VALSET};

/// One of devone's requests, each of which takes a [`IoctlCmd`]: the type that keeps the
/// `ioctl(2)` below sound (no request with another argument type can be named).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Request {
    /// `IOCTL_VALGET`: the driver fills in `val`.
    ValGet,
    /// `IOCTL_VALSET`: the driver reads `val`.
    ValSet,
}

/// `ioctl(file, request, &mut cmd)`; returns `cmd` as the driver left it.
pub(crate) fn ioctl(file: &File, request: Request, mut cmd: IoctlCmd) -> io::Result<IoctlCmd> {
    let number = match request {
        Request::ValGet => IOCTL_VALGET,
        Request::ValSet => IOCTL_VALSET,
    };
    syscall!(
        // SAFETY: both requests take a `struct ioctl_cmd`, which `IoctlCmd` mirrors (`repr(C)`,
        // the size encoded in the request); `cmd` is live and exclusive for the call, and the
        // fd is open as long as `file` is borrowed.
        unsafe { libc::ioctl(file.as_fd().as_raw_fd(), number, &mut cmd as *mut IoctlCmd) }
    )?;
    Ok(cmd)
}

/// Whether the driver's `poll` says `file` is ready for `events` right now (`poll(2)` with a
/// zero timeout).
pub(crate) fn polls_ready(file: &File, events: libc::c_short) -> io::Result<bool> {
    let mut pollfd = libc::pollfd {
        fd: file.as_fd().as_raw_fd(),
        events,
        revents: 0,
    };
    syscall!(
        // SAFETY: `pollfd` is one live, exclusively borrowed pollfd and the count is 1; the fd is
        // open as long as `file` is borrowed.
        unsafe { libc::poll(&mut pollfd, 1, 0) }
    )?;
    Ok(pollfd.revents & events != 0)
}
