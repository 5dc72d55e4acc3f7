//! [`MiniIo`]: hyper's [`Read`] and [`Write`] over any `futures_io` stream, such as minireactor's
//! [`TcpStream`](minireactor::net::TcpStream) and [`UnixStream`](minireactor::net::UnixStream).
//!
//! # Reading into hyper's buffer
//!
//! hyper hands `poll_read` a [`ReadBufCursor`] over the spare capacity of its read buffer,
//! which is uninitialised memory, while `futures_io::AsyncRead::poll_read` takes an initialised
//! `&mut [u8]`. Handing it the uninitialised memory as `&mut [u8]` would be sound only for a
//! reader known never to read from its buffer, which a generic `T` is not. Of the two sound
//! ways, this module takes the second; the crate's `BENCHMARKS.md` has the measurements:
//!
//! - initialise the cursor, then read into it: hyper offers 8 KiB or more per read (hundreds of
//!   KiB while a body streams in), and a `poll_read` that ends `Pending` has zeroed it for
//!   nothing. On the hello-world server that is ~24 KiB of `memset` per request (three reads
//!   per request, two of them `Pending`); on bulk bodies it zeroes ~40 times what it reads;
//! - read into a scratch buffer initialised once per thread, then copy what was read into the
//!   cursor ([`ReadBufCursor::put_slice`]): a `Pending` read costs nothing and a read costs a
//!   copy of the bytes read. On small messages it matches reading into uninitialised memory
//!   (instructions per request within noise); bulk reads pay one `memcpy` per byte, and are
//!   capped at the scratch's size, [`SCRATCH_SIZE`].
//!
//! The scratch is one per thread (minireactor runs every connection of a runtime on one thread,
//! so one buffer serves them all), taken out of its thread-local while a read uses it: a reader
//! that reads another `MiniIo` from inside its `poll_read` gets a fresh one instead of a
//! `RefCell` panic. No `unsafe` is needed. The scratch holds what earlier reads left there,
//! possibly from other connections: as `std::io::Read` already warns, a reader must not look
//! at the buffer it is given, only write to it.
//!
//! # Writing
//!
//! `poll_write_vectored` goes to the stream's own, and [`is_write_vectored`](Write::is_write_vectored)
//! is `true`, so hyper sends a response's head and body in one call (one `sendmsg` on
//! minireactor's sockets) instead of copying the body behind the head. For a stream whose
//! `poll_write_vectored` is `futures_io`'s default (it writes only the first buffer), turn
//! hyper's vectored writes off with its builders' `writev(false)`. `poll_shutdown` is
//! `poll_close`: on minireactor's sockets, a shutdown of the write side.

use std::cell::Cell;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

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

/// Size of the per-thread scratch buffer, and so the most one read hands hyper.
///
/// 64 KiB: hyper's first reads on a connection are 8 KiB and grow only while they come back
/// full; past 64 KiB a larger read saves a syscall per 64 KiB, noise beside copying them.
const SCRATCH_SIZE: usize = 64 * 1024;

thread_local! {
    /// This thread's scratch buffer, while no read is using it.
    static SCRATCH: Cell<Option<Box<[u8]>>> = const { Cell::new(None) };
}

impl<T: AsyncRead> Read for MiniIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let mut scratch = SCRATCH
            .try_with(Cell::take)
            .ok()
            .flatten()
            .unwrap_or_else(|| vec![0; SCRATCH_SIZE].into_boxed_slice());
        let wanted = buf.remaining().min(scratch.len());
        let result = match self.project().inner.poll_read(cx, &mut scratch[..wanted]) {
            Poll::Ready(Ok(filled)) if filled > wanted => Poll::Ready(Err(io::Error::other(
                format!("the stream claims to have read {filled} bytes into {wanted}"),
            ))),
            Poll::Ready(Ok(filled)) => {
                buf.put_slice(&scratch[..filled]);
                Poll::Ready(Ok(()))
            }
            other => other.map_ok(drop),
        };
        // At thread exit the thread-local may be gone: then the scratch is simply freed.
        let _ = SCRATCH.try_with(|slot| slot.set(Some(scratch)));
        result
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

#[cfg(test)]
mod tests {
    use std::io;
    use std::pin::Pin;
    use std::task::{Context, Poll, Waker};

    use futures_io::AsyncRead;
    use hyper::rt::{Read, ReadBuf};

    use super::{MiniIo, SCRATCH_SIZE};

    /// A reader that fills what it is given with `byte` and claims `extra` bytes more.
    struct Filler {
        byte: u8,
        extra: usize,
    }

    impl AsyncRead for Filler {
        fn poll_read(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut [u8],
        ) -> Poll<io::Result<usize>> {
            buf.fill(self.byte);
            Poll::Ready(Ok(buf.len() + self.extra))
        }
    }

    fn read_once(reader: Filler, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let mut io = MiniIo::new(reader);
        Pin::new(&mut io).poll_read(&mut Context::from_waker(Waker::noop()), buf.unfilled())
    }

    #[test]
    fn read_bytes_land_in_hyper_buffer_and_reads_stop_at_the_scratch_size() {
        let mut memory = vec![0; 3];
        let mut buf = ReadBuf::new(&mut memory);
        assert!(matches!(
            read_once(Filler { byte: 7, extra: 0 }, &mut buf),
            Poll::Ready(Ok(()))
        ));
        assert_eq!(buf.filled(), [7, 7, 7]);

        let mut memory = vec![0; SCRATCH_SIZE + 100];
        let mut buf = ReadBuf::new(&mut memory);
        assert!(matches!(
            read_once(Filler { byte: 9, extra: 0 }, &mut buf),
            Poll::Ready(Ok(()))
        ));
        assert_eq!(buf.filled().len(), SCRATCH_SIZE);
        assert!(buf.filled().iter().all(|&byte| byte == 9));
    }

    #[test]
    fn a_reader_claiming_more_than_it_was_given_is_an_error_not_a_panic() {
        let mut memory = vec![0; 16];
        let mut buf = ReadBuf::new(&mut memory);
        let result = read_once(Filler { byte: 1, extra: 1 }, &mut buf);
        assert!(matches!(result, Poll::Ready(Err(_))));
        assert!(buf.filled().is_empty());
    }
}
