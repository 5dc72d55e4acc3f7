//! Sockets: creation, connection set-up, addresses, and the data syscalls.
//!
//! Every socket created here is non-blocking and close-on-exec from its first instant
//! (`SOCK_NONBLOCK | SOCK_CLOEXEC` on `socket`, `socketpair` and `accept4`), so no `fcntl`
//! follows and no child of a concurrent `fork` + `exec` inherits it. Every send passes
//! `MSG_NOSIGNAL`: a peer that is gone is an `EPIPE` error, never SIGPIPE.

use std::io::{self, IoSlice, IoSliceMut};
use std::net::Shutdown;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use minireactor_reactor::syscall;

use super::RawSockAddr;

/// The most buffers one vectored call passes (`UIO_MAXIOV`); the kernel refuses more with
/// `EMSGSIZE`, so callers pass the first `MAX_IOV` and let the caller loop for the rest.
pub(crate) const MAX_IOV: usize = 1024;

/// `socket(domain, ty | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)`.
pub(crate) fn socket(domain: libc::c_int, ty: libc::c_int) -> io::Result<OwnedFd> {
    let fd = syscall!(
        // SAFETY: no pointers; the fd it returns is owned just below.
        unsafe { libc::socket(domain, ty | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0) }
    )?;
    // SAFETY: `fd` was just returned by `socket` and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `socketpair(AF_UNIX, ty | SOCK_NONBLOCK | SOCK_CLOEXEC)`: a connected pair.
pub(crate) fn socketpair(ty: libc::c_int) -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [-1; 2];
    syscall!(
        // SAFETY: `fds` is a live out-array of two ints.
        unsafe {
            libc::socketpair(
                libc::AF_UNIX,
                ty | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                0,
                fds.as_mut_ptr(),
            )
        }
    )?;
    // SAFETY: both fds were just returned by `socketpair` and nothing else owns them.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

pub(crate) fn bind(fd: BorrowedFd<'_>, addr: &RawSockAddr) -> io::Result<()> {
    syscall!(
        // SAFETY: the address points at `addr.len()` initialised bytes.
        unsafe { libc::bind(fd.as_raw_fd(), addr.as_ptr(), addr.len()) }
    )?;
    Ok(())
}

pub(crate) fn listen(fd: BorrowedFd<'_>, backlog: libc::c_int) -> io::Result<()> {
    syscall!(
        // SAFETY: no pointers.
        unsafe { libc::listen(fd.as_raw_fd(), backlog) }
    )?;
    Ok(())
}

/// Starts a connect; on a non-blocking socket `EINPROGRESS` (or `EAGAIN` for a full Unix
/// listener) comes back as the error.
pub(crate) fn connect(fd: BorrowedFd<'_>, addr: &RawSockAddr) -> io::Result<()> {
    syscall!(
        // SAFETY: the address points at `addr.len()` initialised bytes.
        unsafe { libc::connect(fd.as_raw_fd(), addr.as_ptr(), addr.len()) }
    )?;
    Ok(())
}

/// `accept4` with `SOCK_NONBLOCK | SOCK_CLOEXEC`: the new socket needs no further syscalls, and
/// the peer's address comes with it.
pub(crate) fn accept(fd: BorrowedFd<'_>) -> io::Result<(OwnedFd, RawSockAddr)> {
    let mut addr = RawSockAddr::empty();
    let (storage, len) = addr.as_mut_parts();
    let new_fd = syscall!(
        // SAFETY: the storage and its length are live out-parameters sized for any address.
        unsafe {
            libc::accept4(
                fd.as_raw_fd(),
                storage,
                len,
                libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            )
        }
    )?;
    // SAFETY: `new_fd` was just returned by `accept4` and nothing else owns it.
    Ok((unsafe { OwnedFd::from_raw_fd(new_fd) }, addr))
}

/// The socket's own address (`getsockname`).
pub(crate) fn local_addr(fd: BorrowedFd<'_>) -> io::Result<RawSockAddr> {
    let mut addr = RawSockAddr::empty();
    let (storage, len) = addr.as_mut_parts();
    syscall!(
        // SAFETY: the storage and its length are live out-parameters sized for any address.
        unsafe { libc::getsockname(fd.as_raw_fd(), storage, len) }
    )?;
    Ok(addr)
}

pub(crate) fn shutdown(fd: BorrowedFd<'_>, how: Shutdown) -> io::Result<()> {
    let how = match how {
        Shutdown::Read => libc::SHUT_RD,
        Shutdown::Write => libc::SHUT_WR,
        Shutdown::Both => libc::SHUT_RDWR,
    };
    syscall!(
        // SAFETY: no pointers.
        unsafe { libc::shutdown(fd.as_raw_fd(), how) }
    )?;
    Ok(())
}

/// `send` with `MSG_NOSIGNAL`. Inlined, as `recv`: each is on every stream's I/O path, and out
/// of line in a caller's crate the two cost 16 instructions an echo round trip (callgrind).
#[inline]
pub(crate) fn send(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    let n = syscall!(
        // SAFETY: the buffer is valid for `buf.len()` bytes.
        unsafe {
            libc::send(
                fd.as_raw_fd(),
                buf.as_ptr().cast(),
                buf.len(),
                libc::MSG_NOSIGNAL,
            )
        }
    )?;
    Ok(n as usize)
}

/// `recv` with `flags` (`0`, or `MSG_PEEK`).
#[inline]
pub(crate) fn recv(fd: BorrowedFd<'_>, buf: &mut [u8], flags: libc::c_int) -> io::Result<usize> {
    let n = syscall!(
        // SAFETY: the buffer is valid for writes of `buf.len()` bytes.
        unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), flags) }
    )?;
    Ok(n as usize)
}

/// `sendto` with `MSG_NOSIGNAL`.
pub(crate) fn send_to(fd: BorrowedFd<'_>, buf: &[u8], addr: &RawSockAddr) -> io::Result<usize> {
    let n = syscall!(
        // SAFETY: the buffer is valid for `buf.len()` bytes; the address for `addr.len()`.
        unsafe {
            libc::sendto(
                fd.as_raw_fd(),
                buf.as_ptr().cast(),
                buf.len(),
                libc::MSG_NOSIGNAL,
                addr.as_ptr(),
                addr.len(),
            )
        }
    )?;
    Ok(n as usize)
}

/// `recvfrom` with `flags` (`0`, or `MSG_PEEK`): the datagram and its source.
pub(crate) fn recv_from(
    fd: BorrowedFd<'_>,
    buf: &mut [u8],
    flags: libc::c_int,
) -> io::Result<(usize, RawSockAddr)> {
    let mut addr = RawSockAddr::empty();
    let (storage, len) = addr.as_mut_parts();
    let n = syscall!(
        // SAFETY: the buffer is valid for writes of `buf.len()` bytes; the address storage and
        // its length are live out-parameters sized for any address.
        unsafe {
            libc::recvfrom(
                fd.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                flags,
                storage,
                len,
            )
        }
    )?;
    Ok((n as usize, addr))
}

/// `sendmsg` of the first [`MAX_IOV`] buffers, with `MSG_NOSIGNAL`.
pub(crate) fn send_vectored(fd: BorrowedFd<'_>, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    // SAFETY: msghdr is plain data; zeroed is a valid empty value (no name, no control).
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    // `IoSlice` is ABI-compatible with `iovec` (documented by std); the kernel only reads them.
    msg.msg_iov = bufs.as_ptr() as *mut libc::iovec;
    msg.msg_iovlen = bufs.len().min(MAX_IOV);
    let n = syscall!(
        // SAFETY: `msg` points at `msg_iovlen` live iovecs, each valid for its length.
        unsafe { libc::sendmsg(fd.as_raw_fd(), &msg, libc::MSG_NOSIGNAL) }
    )?;
    Ok(n as usize)
}

/// `recvmsg` into the first [`MAX_IOV`] buffers.
pub(crate) fn recv_vectored(fd: BorrowedFd<'_>, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
    // SAFETY: msghdr is plain data; zeroed is a valid empty value (no name, no control).
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    // `IoSliceMut` is ABI-compatible with `iovec` (documented by std).
    msg.msg_iov = bufs.as_mut_ptr().cast();
    msg.msg_iovlen = bufs.len().min(MAX_IOV);
    let n = syscall!(
        // SAFETY: `msg` points at `msg_iovlen` live iovecs, each valid for writes of its length.
        unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msg, 0) }
    )?;
    Ok(n as usize)
}
