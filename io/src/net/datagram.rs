//! The datagram operations shared by [`UdpSocket`](crate::net::UdpSocket) and
//! [`UnixDatagram`](crate::net::UnixDatagram), on an `AsyncFd` and in the kernel's address
//! layout; each type converts addresses to its own kind.
//!
//! A datagram socket never takes a short-read shortcut: every datagram is its own `recv`, so
//! readiness is cleared only on `EAGAIN`. A datagram larger than the buffer is truncated (the
//! rest is discarded), as with `recv(2)`; a zero-length datagram is data, not EOF.

use std::io;
use std::os::fd::AsFd;

use minireactor_reactor::Interest;

use crate::net::try_io::try_io;
use crate::sys::{self, RawSockAddr};
use crate::AsyncFd;

pub(crate) async fn send<S: AsFd>(fd: &AsyncFd<S>, buf: &[u8]) -> io::Result<usize> {
    fd.async_io(Interest::Writable, |socket| sys::send(socket.as_fd(), buf))
        .await
}

/// `recv` with `flags` (`0`, or `MSG_PEEK`).
pub(crate) async fn recv<S: AsFd>(
    fd: &AsyncFd<S>,
    buf: &mut [u8],
    flags: libc::c_int,
) -> io::Result<usize> {
    fd.async_io(Interest::Readable, |socket| {
        sys::recv(socket.as_fd(), buf, flags)
    })
    .await
}

pub(crate) async fn send_to<S: AsFd>(
    fd: &AsyncFd<S>,
    buf: &[u8],
    target: &RawSockAddr,
) -> io::Result<usize> {
    fd.async_io(Interest::Writable, |socket| {
        sys::send_to(socket.as_fd(), buf, target)
    })
    .await
}

/// `recvfrom` with `flags` (`0`, or `MSG_PEEK`).
pub(crate) async fn recv_from<S: AsFd>(
    fd: &AsyncFd<S>,
    buf: &mut [u8],
    flags: libc::c_int,
) -> io::Result<(usize, RawSockAddr)> {
    fd.async_io(Interest::Readable, |socket| {
        sys::recv_from(socket.as_fd(), buf, flags)
    })
    .await
}

pub(crate) fn try_send_to<S: AsFd>(
    fd: &AsyncFd<S>,
    buf: &[u8],
    target: &RawSockAddr,
) -> io::Result<usize> {
    try_io(fd, Interest::Writable, |socket| {
        sys::send_to(socket.as_fd(), buf, target)
    })
}

pub(crate) fn try_recv_from<S: AsFd>(
    fd: &AsyncFd<S>,
    buf: &mut [u8],
) -> io::Result<(usize, RawSockAddr)> {
    try_io(fd, Interest::Readable, |socket| {
        sys::recv_from(socket.as_fd(), buf, 0)
    })
}
