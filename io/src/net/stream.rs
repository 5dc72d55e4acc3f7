//! Reading and writing stream sockets (TCP and Unix) through an `AsyncFd`, shared by both.
//!
//! These loops are `AsyncFd::poll_io` plus one shortcut, used only here and only where it is
//! sound. On a TCP socket a `recv` that returns fewer bytes than asked has copied everything the
//! socket had queued (the kernel fills the buffer from its queue until the queue is empty), and
//! any byte that arrives later raises a new `EPOLLIN` edge; so the readiness can be cleared right
//! away, skipping the extra `recv` that would only return `EAGAIN`. Two cases break the premise,
//! and keep the plain read-until-`EAGAIN` rule:
//! - TCP urgent data: a `recv` stops at the urgent mark with bytes still queued behind it. Urgent
//!   data raises `EPOLLPRI`, so the shortcut is off once the socket has shown `PRIORITY`.
//! - Unix streams: a `recv` stops after a chunk that carried file descriptors (`SCM_RIGHTS`) or
//!   credentials, with the next chunk already queued. They never take the shortcut.
//!
//! A short `send` is trusted on both: it means the send buffer is full, and `EPOLLOUT` fires when
//! space frees up. Pipes, character devices and datagram sockets never take a shortcut.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::task::{ready, Context, Poll};

use minireactor_reactor::{Interest, Readiness};

use crate::sys::{self, RawSockAddr};
use crate::{AsyncFd, AsyncFdReadyGuard};

/// Connects a new non-blocking stream socket of `domain` to `addr`: starts the connect, waits
/// for writability if it is in progress, then reads `SO_ERROR` to learn how it ended (e.g.
/// `ConnectionRefused`).
pub(crate) async fn connect<S: AsFd + From<OwnedFd>>(
    domain: libc::c_int,
    addr: &RawSockAddr,
) -> io::Result<AsyncFd<S>> {
    let socket = sys::socket(domain, libc::SOCK_STREAM)?;
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
pub(crate) enum ShortRead {
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
    if buf.is_empty() {
        return Poll::Ready(Ok(0)); // A zero-length recv would look like EOF.
    }
    loop {
        let mut guard = AsyncFdReadyGuard::new(fd, ready!(waiter.poll_ready(cx))?);
        match sys::recv(fd.as_fd(), buf) {
            Ok(n)
                if n > 0
                    && n < buf.len()
                    && short_read == ShortRead::Drains
                    && !guard.all_ready().is_priority() =>
            {
                clear_unless_error_or_closed(&mut guard); // Drained: see the module documentation.
                return Poll::Ready(Ok(n));
            }
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => guard.clear_ready_unspent(),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            result => return Poll::Ready(result),
        }
    }
}

/// Writes some of `buf`, waiting for writability through `waiter`.
pub(crate) fn poll_write<S: AsFd>(
    fd: &AsyncFd<S>,
    waiter: &mut Readiness<'_>,
    cx: &mut Context<'_>,
    buf: &[u8],
) -> Poll<io::Result<usize>> {
    loop {
        let mut guard = AsyncFdReadyGuard::new(fd, ready!(waiter.poll_ready(cx))?);
        match sys::send(fd.as_fd(), buf) {
            Ok(n) if n < buf.len() => {
                clear_unless_error_or_closed(&mut guard); // Send buffer full: see the module documentation.
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

/// Reads into `buf` through a waiter of its own: the body of the streams' `read`.
pub(crate) async fn read<S: AsFd>(
    fd: &AsyncFd<S>,
    buf: &mut [u8],
    short_read: ShortRead,
) -> io::Result<usize> {
    let mut waiter = fd.waiter(Interest::Readable);
    std::future::poll_fn(|cx| poll_read(fd, &mut waiter, cx, buf, short_read)).await
}

/// Writes some of `buf` through a waiter of its own: the body of the streams' `write`.
pub(crate) async fn write<S: AsFd>(fd: &AsyncFd<S>, buf: &[u8]) -> io::Result<usize> {
    let mut waiter = fd.waiter(Interest::Writable);
    std::future::poll_fn(|cx| poll_write(fd, &mut waiter, cx, buf)).await
}

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

/// Implements `futures_io::AsyncRead` and `AsyncWrite` for a stream type and for a shared
/// reference to it (so a reader task and a writer task can share one stream), through its
/// `fd: AsyncFd<_>` field and the type's [`ShortRead`]. `close` shuts the write side down.
macro_rules! impl_futures_io {
    ($stream:ty, $short_read:expr) => {
        impl_futures_io!(@impl $stream, $short_read);
        impl_futures_io!(@impl &$stream, $short_read);
    };
    // Field access and method calls auto-deref, so one body serves `T` and `&T`.
    (@impl $ty:ty, $short_read:expr) => {
        impl futures_io::AsyncRead for $ty {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let mut waiter = self.fd.polled(minireactor_reactor::Interest::Readable);
                $crate::net::stream::poll_read(&self.fd, &mut waiter, cx, buf, $short_read)
            }
        }

        impl futures_io::AsyncWrite for $ty {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let mut waiter = self.fd.polled(minireactor_reactor::Interest::Writable);
                $crate::net::stream::poll_write(&self.fd, &mut waiter, cx, buf)
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(())) // Writes go straight to the kernel.
            }

            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(self.shutdown(std::net::Shutdown::Write))
            }
        }
    };
}
pub(crate) use impl_futures_io;
