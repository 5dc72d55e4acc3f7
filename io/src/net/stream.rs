//! The read and write loops of stream sockets (TCP and Unix) on an `AsyncFd`, and their connect.
//!
//! These loops are `AsyncFd::poll_io` plus two shortcuts, used only here and only where they are
//! sound: a short TCP read and a short send clear the readiness at once. On a TCP socket a
//! `recv` that returns fewer bytes than asked has copied everything the socket had queued (the
//! kernel fills the buffer from its queue until the queue is empty), and any byte that arrives
//! later raises a new `EPOLLIN` edge; so the readiness can be cleared right away, skipping the
//! extra `recv` that would only return `EAGAIN`. Two cases break the premise,
//! and keep the plain read-until-`EAGAIN` rule:
//! - TCP urgent data: a `recv` stops at the urgent mark with bytes still queued behind it. Urgent
//!   data raises `EPOLLPRI`, so the shortcut is off once the socket has shown `PRIORITY`.
//! - Unix streams: a `recv` stops after a chunk that carried file descriptors (`SCM_RIGHTS`) or
//!   credentials, with the next chunk already queued. They never take the shortcut.
//!
//! A short `send` is trusted on both: it means the send buffer is full, and `EPOLLOUT` fires when
//! space frees up. Pipes, character devices and datagram sockets never take a shortcut.
//!
//! Vectored reads and writes follow the same rules, with "fewer bytes than asked" measured
//! against the buffers actually passed to the kernel (the first `MAX_IOV`). `peek` and the
//! `try_*` attempts never take the shortcut: a peek drains nothing, and an attempt is the plain
//! rule by definition.

use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::task::{ready, Context, Poll};

use minireactor_reactor::{Interest, Readiness, Ready};

use crate::sys::{self, RawSockAddr};
use crate::{AsyncFd, AsyncFdReadyGuard};

/// Connects `socket` (a new non-blocking stream socket) to `addr`: starts the connect, registers
/// the socket, waits for writability if the connect is in progress, then reads `SO_ERROR` to
/// learn how it ended (e.g. `ConnectionRefused`).
pub(crate) async fn connect<S: AsFd + From<OwnedFd>>(
    socket: OwnedFd,
    addr: &RawSockAddr,
) -> io::Result<AsyncFd<S>> {
    let in_progress = match sys::connect(socket.as_fd(), addr) {
        Ok(()) => false,
        Err(err) if err.raw_os_error() == Some(libc::EINPROGRESS) => true,
        Err(err) => return Err(err),
    };
    let fd = AsyncFd::new_nonblocking(S::from(socket))?;
    if in_progress {
        drop(fd.writable().await?);
        if let Some(err) = sys::take_socket_error(fd.as_fd())? {
            return Err(err);
        }
    }
    Ok(fd)
}

/// What a short `recv` proves about a stream socket; see the module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShortRead {
    /// TCP: the queue is drained, unless urgent data was seen.
    Drains,
    /// Unix streams: nothing; read until `EAGAIN`.
    ProvesNothing,
}

/// Reads into `buf`, waiting for readability through `waiter` (an owned waiter for `read`, the
/// shared one for `AsyncRead::poll_read`).
pub(crate) fn poll_read<S: AsFd>(
    fd: &AsyncFd<S>,
    waiter: &mut Readiness<'_>,
    cx: &mut Context<'_>,
    buf: &mut [u8],
    short_read: ShortRead,
) -> Poll<io::Result<usize>> {
    let wanted = buf.len();
    poll_read_with(fd, waiter, cx, wanted, short_read, |socket| {
        sys::recv(socket, buf, 0)
    })
}

/// Reads into the first `MAX_IOV` of `bufs`; as [`poll_read`].
pub(crate) fn poll_read_vectored<S: AsFd>(
    fd: &AsyncFd<S>,
    waiter: &mut Readiness<'_>,
    cx: &mut Context<'_>,
    bufs: &mut [IoSliceMut<'_>],
    short_read: ShortRead,
) -> Poll<io::Result<usize>> {
    let passed = bufs.len().min(sys::MAX_IOV);
    let bufs = &mut bufs[..passed];
    let wanted = bufs.iter().map(|buf| buf.len()).sum();
    poll_read_with(fd, waiter, cx, wanted, short_read, |socket| {
        sys::recv_vectored(socket, bufs)
    })
}

/// The read loop: `recv` asks for `wanted` bytes.
#[inline]
fn poll_read_with<S: AsFd>(
    fd: &AsyncFd<S>,
    waiter: &mut Readiness<'_>,
    cx: &mut Context<'_>,
    wanted: usize,
    short_read: ShortRead,
    recv: impl FnMut(BorrowedFd<'_>) -> io::Result<usize>,
) -> Poll<io::Result<usize>> {
    if wanted == 0 {
        return Poll::Ready(Ok(0)); // A zero-length recv would look like EOF.
    }
    poll_io_with(fd, waiter, cx, recv, |n, all_ready| {
        n > 0 && n < wanted && short_read == ShortRead::Drains && !all_ready.is_priority()
    })
}

/// Writes some of `buf`, waiting for writability through `waiter`.
pub(crate) fn poll_write<S: AsFd>(
    fd: &AsyncFd<S>,
    waiter: &mut Readiness<'_>,
    cx: &mut Context<'_>,
    buf: &[u8],
) -> Poll<io::Result<usize>> {
    poll_write_with(fd, waiter, cx, buf.len(), |socket| sys::send(socket, buf))
}

/// Writes some of the first `MAX_IOV` of `bufs`; as [`poll_write`].
pub(crate) fn poll_write_vectored<S: AsFd>(
    fd: &AsyncFd<S>,
    waiter: &mut Readiness<'_>,
    cx: &mut Context<'_>,
    bufs: &[IoSlice<'_>],
) -> Poll<io::Result<usize>> {
    let bufs = &bufs[..bufs.len().min(sys::MAX_IOV)];
    let offered = bufs.iter().map(|buf| buf.len()).sum();
    poll_write_with(fd, waiter, cx, offered, |socket| {
        sys::send_vectored(socket, bufs)
    })
}

/// The write loop: `send` offers `offered` bytes.
fn poll_write_with<S: AsFd>(
    fd: &AsyncFd<S>,
    waiter: &mut Readiness<'_>,
    cx: &mut Context<'_>,
    offered: usize,
    send: impl FnMut(BorrowedFd<'_>) -> io::Result<usize>,
) -> Poll<io::Result<usize>> {
    // A short send means the send buffer is full: see the module documentation.
    poll_io_with(fd, waiter, cx, send, |n, _| n < offered)
}

/// The loop both directions share: `op` until it does not answer `WouldBlock` (clearing the
/// readiness on that) or `Interrupted`. A transfer of `n` bytes that `proves_drained(n, every
/// readiness bit)` accepts as proof that the direction is exhausted clears the readiness at
/// once (see the module documentation).
///
/// Inlined into each direction's loop: out of line, the shared loop cost 2 instructions more a
/// round trip of the executor bench's `asyncfd_ping_pong` than the two loops it replaced;
/// inlined, 56 fewer.
#[inline]
fn poll_io_with<S: AsFd>(
    fd: &AsyncFd<S>,
    waiter: &mut Readiness<'_>,
    cx: &mut Context<'_>,
    mut op: impl FnMut(BorrowedFd<'_>) -> io::Result<usize>,
    proves_drained: impl Fn(usize, Ready) -> bool,
) -> Poll<io::Result<usize>> {
    loop {
        let mut guard = AsyncFdReadyGuard::new(fd, ready!(waiter.poll_ready(cx))?);
        match op(fd.as_fd()) {
            Ok(n) if proves_drained(n, guard.all_ready()) => {
                clear_unless_error_or_closed(&mut guard);
                return Poll::Ready(Ok(n));
            }
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => guard.clear_ready_unspent(),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            result => return Poll::Ready(result),
        }
    }
}

/// The shortcut's clear, skipped while an error or a closed direction is pending: only a
/// syscall that reports them may clear them, or the task would wait for an edge already sent.
fn clear_unless_error_or_closed<S: AsFd>(guard: &mut AsyncFdReadyGuard<'_, S>) {
    let ready = guard.ready();
    if !(ready.is_error() || ready.is_read_closed() || ready.is_write_closed()) {
        guard.clear_ready();
    }
}

/// Writes all of `buf` through a waiter of its own: the body of the streams' `write_all`.
pub(crate) async fn write_all<S: AsFd>(fd: &AsyncFd<S>, mut buf: &[u8]) -> io::Result<()> {
    let mut waiter = fd.waiter(Interest::Writable);
    while !buf.is_empty() {
        let n = std::future::poll_fn(|cx| poll_write(fd, &mut waiter, cx, buf)).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        buf = &buf[n..];
    }
    Ok(())
}

/// Reads without consuming (`MSG_PEEK`): the body of the streams' `peek`.
pub(crate) async fn peek<S: AsFd>(fd: &AsyncFd<S>, buf: &mut [u8]) -> io::Result<usize> {
    if buf.is_empty() {
        return Ok(0);
    }
    fd.async_io(Interest::Readable, |socket| {
        sys::recv(socket.as_fd(), buf, libc::MSG_PEEK)
    })
    .await
}
