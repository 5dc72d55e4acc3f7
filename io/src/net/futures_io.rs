//! `futures_io::AsyncRead` and `AsyncWrite` for stream sockets and their halves.
//!
//! The `poll_*` methods share one waker per direction (see `AsyncFd::poll_ready`): one task
//! polls reads and one polls writes, as the halves make natural. `poll_flush` has nothing to do
//! (writes go straight to the kernel); `poll_close` shuts the write side down.

use std::io::{self, IoSlice, IoSliceMut};
use std::net::Shutdown;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

use crate::net::protocol::StreamProtocol;
use crate::net::split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, WriteHalf};
use crate::net::StreamSocket;

/// Implements `AsyncRead` for `$ty` (with generics `$generics`), whose socket `$socket` gives
/// from `$this: &$ty`.
macro_rules! impl_async_read {
    ([$($generics:tt)*] $ty:ty, |$this:ident| $socket:expr) => {
        impl<$($generics)*> AsyncRead for $ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                let $this = &*self;
                $socket.poll_read_shared(cx, buf)
            }

            fn poll_read_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &mut [IoSliceMut<'_>],
            ) -> Poll<io::Result<usize>> {
                let $this = &*self;
                $socket.poll_read_vectored_shared(cx, bufs)
            }
        }
    };
}

/// Implements `AsyncWrite` for `$ty`; as [`impl_async_read`].
macro_rules! impl_async_write {
    ([$($generics:tt)*] $ty:ty, |$this:ident| $socket:expr) => {
        impl<$($generics)*> AsyncWrite for $ty {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                let $this = &*self;
                $socket.poll_write_shared(cx, buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                let $this = &*self;
                $socket.poll_write_vectored_shared(cx, bufs)
            }

            fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }

            fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                let $this = &*self;
                Poll::Ready($socket.shutdown(Shutdown::Write))
            }
        }
    };
}

impl_async_read!([P: StreamProtocol] StreamSocket<P>, |socket| socket);
impl_async_write!([P: StreamProtocol] StreamSocket<P>, |socket| socket);
impl_async_read!(['a, P: StreamProtocol] &'a StreamSocket<P>, |socket| *socket);
impl_async_write!(['a, P: StreamProtocol] &'a StreamSocket<P>, |socket| *socket);
impl_async_read!(['a, P: StreamProtocol] ReadHalf<'a, P>, |half| half.socket());
impl_async_write!(['a, P: StreamProtocol] WriteHalf<'a, P>, |half| half.socket());
impl_async_read!([P: StreamProtocol] OwnedReadHalf<P>, |half| half.socket());
impl_async_write!([P: StreamProtocol] OwnedWriteHalf<P>, |half| half.socket());
