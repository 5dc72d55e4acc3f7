//! `ioctl` requests: their number encoding and the call.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

use minireactor_reactor::syscall;

/// The `_IOC` request-number encoding of `<asm-generic/ioctl.h>`, which x86 uses:
/// `direction << 30 | size << 16 | type << 8 | number`.
pub(crate) mod ioc {
    /// User space writes, the driver reads (`_IOC_WRITE`).
    pub(crate) const WRITE: u32 = 1;
    /// The driver writes, user space reads (`_IOC_READ`).
    pub(crate) const READ: u32 = 2;

    /// `_IOC(direction, ty, number, size)`.
    pub(crate) const fn encode(direction: u32, ty: u8, number: u8, size: usize) -> libc::c_ulong {
        assert!(
            size < (1 << 14),
            "ioctl argument too large for the size field"
        );
        ((direction << 30) | ((size as u32) << 16) | ((ty as u32) << 8) | number as u32)
            as libc::c_ulong
    }
}

/// `ioctl(fd, request, arg)` for a request whose argument is a `T` read or written by the driver.
///
/// # Safety
/// `request` must be one whose argument is exactly a `T` (as its `_IOC` size field says), so
/// that the driver reads or writes no more than `arg` holds.
pub(crate) unsafe fn ioctl_with<T>(
    fd: BorrowedFd<'_>,
    request: libc::c_ulong,
    arg: &mut T,
) -> io::Result<()> {
    syscall!(
        // SAFETY: the caller guarantees the request's argument is a `T`; `arg` is live and
        // exclusive.
        unsafe { libc::ioctl(fd.as_raw_fd(), request, arg as *mut T) }
    )?;
    Ok(())
}
