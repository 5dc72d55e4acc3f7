//! Passing file descriptors (`SCM_RIGHTS`), shared by `UnixStream` and `UnixDatagram`.
//!
//! What a user can rely on (the syscall side is in `sys::cmsg`):
//! - received fds are owned (`OwnedFd`) and close-on-exec;
//! - a message whose fds did not all arrive (the process out of fds: `MSG_CTRUNC`), or that
//!   carried more than the `max_fds` asked for, is an error, and the fds of it that did arrive
//!   are closed: none leaks, none is handed out half a set;
//! - credentials, pidfds or security labels the socket was set to receive (`SO_PASSCRED`,
//!   `SO_PASSPIDFD`, `SO_PASSSEC`) do not take the fds' room: a pidfd is closed, the others are
//!   ignored;
//! - on a Unix *stream*, the fds travel with the first byte of the data sent with them, and a
//!   receive stops after the bytes that carried fds, so fds of two sends are never merged. A
//!   receive without room for fds (`read`) discards the fds of the bytes it reads (the kernel
//!   closes them).

use std::future::poll_fn;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::task::{Context, Poll};

use minireactor_reactor::{Interest, Readiness};

use crate::sys;
use crate::AsyncFd;

/// The most file descriptors one message can carry (`SCM_MAX_FD`), and the room
/// `recv_with_fds` gives them.
pub const MAX_FDS: usize = sys::MAX_FDS;

/// `sendmsg` of `buf` with `fds` attached, waiting for writability through `waiter`.
fn poll_send<S: AsFd>(
    fd: &AsyncFd<S>,
    waiter: &mut Readiness<'_>,
    cx: &mut Context<'_>,
    buf: &[u8],
    fds: &[BorrowedFd<'_>],
) -> Poll<io::Result<usize>> {
    fd.poll_io_with(waiter, cx, |socket| {
        sys::send_with_fds(socket.as_fd(), buf, fds)
    })
}

/// `recvmsg` into `buf`, appending the fds received (room for `max_fds`) to `fds`, waiting for
/// readability through `waiter`.
fn poll_recv<S: AsFd>(
    fd: &AsyncFd<S>,
    waiter: &mut Readiness<'_>,
    cx: &mut Context<'_>,
    buf: &mut [u8],
    fds: &mut Vec<OwnedFd>,
    max_fds: usize,
) -> Poll<io::Result<usize>> {
    fd.poll_io_with(waiter, cx, |socket| {
        sys::recv_with_fds(socket.as_fd(), buf, fds, max_fds)
    })
}

/// The body of the sockets' `send_with_fds`: a waiter of its own.
pub(crate) async fn send_with_fds<S: AsFd>(
    fd: &AsyncFd<S>,
    buf: &[u8],
    fds: &[BorrowedFd<'_>],
) -> io::Result<usize> {
    let mut waiter = fd.waiter(Interest::Writable);
    poll_fn(|cx| poll_send(fd, &mut waiter, cx, buf, fds)).await
}

/// The body of the sockets' `recv_with_max_fds`: a waiter of its own.
pub(crate) async fn recv_with_fds<S: AsFd>(
    fd: &AsyncFd<S>,
    buf: &mut [u8],
    fds: &mut Vec<OwnedFd>,
    max_fds: usize,
) -> io::Result<usize> {
    let mut waiter = fd.waiter(Interest::Readable);
    poll_fn(|cx| poll_recv(fd, &mut waiter, cx, buf, fds, max_fds)).await
}

/// The body of the sockets' `poll_send_with_fds`: the write direction's shared waiter.
pub(crate) fn poll_send_with_fds<S: AsFd>(
    fd: &AsyncFd<S>,
    cx: &mut Context<'_>,
    buf: &[u8],
    fds: &[BorrowedFd<'_>],
) -> Poll<io::Result<usize>> {
    poll_send(fd, &mut fd.polled(Interest::Writable), cx, buf, fds)
}

/// The body of the sockets' `poll_recv_with_fds` (room for [`MAX_FDS`]): the read direction's
/// shared waiter.
pub(crate) fn poll_recv_with_fds<S: AsFd>(
    fd: &AsyncFd<S>,
    cx: &mut Context<'_>,
    buf: &mut [u8],
    fds: &mut Vec<OwnedFd>,
) -> Poll<io::Result<usize>> {
    poll_recv(
        fd,
        &mut fd.polled(Interest::Readable),
        cx,
        buf,
        fds,
        MAX_FDS,
    )
}
