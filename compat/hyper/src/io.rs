//! [`MiniIo`]: hyper's [`Read`] and [`Write`] over any `futures_io` stream, such as minireactor's
//! [`TcpStream`](minireactor::net::TcpStream) and [`UnixStream`](minireactor::net::UnixStream).
//!
//! # Reading into hyper's buffer
//!
//! hyper hands `poll_read` a [`ReadBufCursor`] over the spare capacity of its read buffer, which
//! is uninitialised memory, while `futures_io::AsyncRead::poll_read` takes an initialised
//! `&mut [u8]`. Passing uninitialised memory as `&mut [u8]` would be sound only for a reader
//! known never to read from its buffer, which a generic `T` is not; so the cursor is initialised
//! first ([`ReadBufCursor::initialize_unfilled`], which zeroes it) and the reader reads into it.
//! The one `unsafe` left is telling the cursor how many of those (initialised) bytes were filled.
//! The zeroing costs about as much as one `memset` of hyper's read chunk (8 KiB unless a body
//! makes hyper read more) per read; the crate's benchmark notes (`BENCHMARKS.md`) give the
//! measured cost against a reader that skips it.
//!
//! # Writing
//!
//! `poll_write_vectored` goes to the stream's own, and [`is_write_vectored`](Write::is_write_vectored)
//! is `true`, so hyper sends a response's head and body in one call (one `sendmsg` on
//! minireactor's sockets) instead of copying the body behind the head. For a stream whose
//! `poll_write_vectored` is `futures_io`'s default (it writes only the first buffer), turn
//! hyper's vectored writes off with its builders' `writev(false)`. `poll_shutdown` is
//! `poll_close`: on minireactor's sockets, a shutdown of the write side.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};
use hyper::rt::{Read, ReadBufCursor, Write};

pin_project_lite::pin_project! {
    /// A stream that hyper can use: wrap a connection in it and hand it to
    /// `hyper::server::conn::http1::Builder::serve_connection` or
    /// `hyper::client::conn::http1::handshake`.
    ///
    /// `T` is any `futures_io::AsyncRead + AsyncWrite`: minireactor's TCP and Unix streams,
    /// their halves, or a wrapper around them (TLS, metering, ...).
    ///
    /// ```
    /// use minireactor::net::UnixStream;
    /// use minireactor_hyper::MiniIo;
    ///
    /// let (ours, _theirs) = minireactor::block_on(async { UnixStream::pair() })?;
    /// let io = MiniIo::new(ours);
    /// let ours: UnixStream = io.into_inner();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[derive(Debug)]
    pub struct MiniIo<T> {
        #[pin]
        inner: T,
    }
}

impl<T> MiniIo<T> {
    /// Wraps `inner`.
    pub fn new(inner: T) -> MiniIo<T> {
        MiniIo { inner }
    }

    /// The wrapped stream.
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// The wrapped stream, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// Unwraps the stream.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T: AsyncRead> Read for MiniIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let unfilled = buf.initialize_unfilled();
        let capacity = unfilled.len();
        let filled = ready!(self.project().inner.poll_read(cx, unfilled))?;
        if filled > capacity {
            return Poll::Ready(Err(io::Error::other(format!(
                "the stream claims to have read {filled} bytes into a {capacity}-byte buffer"
            ))));
        }
        // SAFETY: `initialize_unfilled` initialised all `capacity` bytes of the unfilled part,
        // and `filled <= capacity`.
        unsafe { buf.advance(filled) };
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite> Write for MiniIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_close(cx)
    }
}
