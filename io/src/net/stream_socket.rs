//! [`StreamSocket`]: a connected stream socket, the one implementation behind
//! [`TcpStream`](crate::net::TcpStream) and [`UnixStream`](crate::net::UnixStream).
//!
//! Everything both protocols do the same way lives here: reading and writing (plain,
//! vectored, peeking, non-blocking attempts), readiness waits, shutdown, addresses, splitting,
//! and the std and fd conversions. What differs is in `tcp::stream` and `unix::stream`.
//!
//! Invariants: the socket is registered with the reactor from construction to drop (or
//! [`into_std`](StreamSocket::into_std), which deregisters first); every method takes `&self`,
//! so one task can read while another writes.

use std::fmt;
use std::io::{self, IoSlice, IoSliceMut};
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::rc::Rc;
use std::task::{Context, Poll};

use minireactor_reactor::{Interest, Ready};

use crate::net::protocol::StreamProtocol;
use crate::net::split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, WriteHalf};
use crate::net::{stream, try_io};
use crate::sys;
use crate::AsyncFd;

/// A connected stream socket of protocol `P`: use it as [`TcpStream`](crate::net::TcpStream)
/// or [`UnixStream`](crate::net::UnixStream).
///
/// Methods take `&self`, so one task can read while another writes (share the socket with
/// `Rc`, or [`split`](Self::split) it). It implements `futures_io::AsyncRead` and `AsyncWrite`,
/// for itself and for `&StreamSocket`.
///
/// ```
/// use minireactor::net::UnixStream;
///
/// minireactor::block_on(async {
///     let (a, b) = UnixStream::pair()?;
///     a.write_all(b"over the pair").await?;
///     let mut buf = [0; 32];
///     let n = b.read(&mut buf).await?;
///     assert_eq!(&buf[..n], b"over the pair");
///     Ok::<_, std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct StreamSocket<P: StreamProtocol> {
    pub(crate) fd: AsyncFd<P::Std>,
}

impl<P: StreamProtocol> StreamSocket<P> {
    /// Registers a socket created non-blocking by this crate.
    pub(crate) fn from_nonblocking(socket: OwnedFd) -> io::Result<StreamSocket<P>> {
        Ok(StreamSocket {
            fd: AsyncFd::new_nonblocking(P::Std::from(socket))?,
        })
    }

    /// Reads into `buf`; `Ok(0)` means the peer closed its write side (or `buf` is empty).
    ///
    /// # Cancel safety
    /// Cancel-safe: if the future is dropped before it resolves, no data was read.
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        let mut waiter = self.fd.waiter(Interest::Readable);
        std::future::poll_fn(|cx| stream::poll_read(&self.fd, &mut waiter, cx, buf, P::SHORT_READ))
            .await
    }

    /// Reads into several buffers in one `recvmsg`, filling them in order.
    ///
    /// ```
    /// use std::io::IoSliceMut;
    /// use minireactor::net::UnixStream;
    ///
    /// minireactor::block_on(async {
    ///     let (a, b) = UnixStream::pair()?;
    ///     a.write_all(b"headbody").await?;
    ///     let (mut head, mut body) = ([0; 4], [0; 4]);
    ///     let n = b
    ///         .read_vectored(&mut [IoSliceMut::new(&mut head), IoSliceMut::new(&mut body)])
    ///         .await?;
    ///     assert_eq!((n, &head, &body), (8, b"head", b"body"));
    ///     Ok::<_, std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        let mut waiter = self.fd.waiter(Interest::Readable);
        std::future::poll_fn(|cx| {
            stream::poll_read_vectored(&self.fd, &mut waiter, cx, bufs, P::SHORT_READ)
        })
        .await
    }

    /// Writes some of `buf`; returns how much. A peer that is gone gives `EPIPE` or
    /// `ECONNRESET`, never SIGPIPE.
    pub async fn write(&self, buf: &[u8]) -> io::Result<usize> {
        let mut waiter = self.fd.waiter(Interest::Writable);
        std::future::poll_fn(|cx| stream::poll_write(&self.fd, &mut waiter, cx, buf)).await
    }

    /// Writes some of several buffers in one `sendmsg`; returns how much.
    ///
    /// ```
    /// use std::io::IoSlice;
    /// use minireactor::net::UnixStream;
    ///
    /// minireactor::block_on(async {
    ///     let (a, b) = UnixStream::pair()?;
    ///     let n = a.write_vectored(&[IoSlice::new(b"head"), IoSlice::new(b"body")]).await?;
    ///     assert_eq!(n, 8);
    ///     let mut buf = [0; 8];
    ///     assert_eq!(b.read(&mut buf).await?, 8);
    ///     assert_eq!(&buf, b"headbody");
    ///     Ok::<_, std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let mut waiter = self.fd.waiter(Interest::Writable);
        std::future::poll_fn(|cx| stream::poll_write_vectored(&self.fd, &mut waiter, cx, bufs))
            .await
    }

    /// Writes all of `buf`.
    ///
    /// # Cancel safety
    /// Not cancel-safe: dropped midway, an unknown prefix of `buf` has been written.
    pub async fn write_all(&self, buf: &[u8]) -> io::Result<()> {
        stream::write_all(&self.fd, buf).await
    }

    /// Reads into `buf` without removing the bytes from the socket: the next read sees them
    /// again.
    ///
    /// ```
    /// use minireactor::net::UnixStream;
    ///
    /// minireactor::block_on(async {
    ///     let (a, b) = UnixStream::pair()?;
    ///     a.write_all(b"peekaboo").await?;
    ///     let mut buf = [0; 4];
    ///     assert_eq!(b.peek(&mut buf).await?, 4);
    ///     assert_eq!(&buf, b"peek");
    ///     let mut all = [0; 8];
    ///     assert_eq!(b.read(&mut all).await?, 8);
    ///     assert_eq!(&all, b"peekaboo");
    ///     Ok::<_, std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        stream::peek(&self.fd, buf).await
    }

    /// Reads what is there now, without waiting: `WouldBlock` if the socket has not been seen
    /// readable, or turns out to have nothing (which clears its readiness, so the next
    /// [`readable`](Self::readable) waits for new data). See
    /// [non-blocking attempts](crate::net#non-blocking-attempts).
    ///
    /// ```
    /// use std::io::ErrorKind;
    /// use minireactor::net::UnixStream;
    ///
    /// minireactor::block_on(async {
    ///     let (a, b) = UnixStream::pair()?;
    ///     let mut buf = [0; 8];
    ///     a.write_all(b"now").await?;
    ///     b.readable().await?;
    ///     assert_eq!(b.try_read(&mut buf)?, 3);
    ///     assert_eq!(b.try_read(&mut buf).unwrap_err().kind(), ErrorKind::WouldBlock);
    ///     Ok::<_, std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        try_io::try_recv(&self.fd, buf)
    }

    /// [`try_read`](Self::try_read) into several buffers.
    pub fn try_read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        try_io::try_io(&self.fd, Interest::Readable, |socket| {
            sys::recv_vectored(socket.as_fd(), bufs)
        })
    }

    /// Writes what fits now, without waiting: `WouldBlock` if the socket has not been seen
    /// writable, or its send buffer turns out to be full (which clears its readiness).
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        try_io::try_send(&self.fd, buf)
    }

    /// [`try_write`](Self::try_write) from several buffers.
    pub fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        try_io::try_io(&self.fd, Interest::Writable, |socket| {
            sys::send_vectored(socket.as_fd(), bufs)
        })
    }

    /// Waits until the socket is readable (or at EOF, or has an error); pair it with
    /// [`try_read`](Self::try_read). Cancel-safe.
    pub async fn readable(&self) -> io::Result<()> {
        self.ready(Interest::Readable).await.map(drop)
    }

    /// Waits until the socket is writable (or closed, or has an error); pair it with
    /// [`try_write`](Self::try_write). Cancel-safe.
    pub async fn writable(&self) -> io::Result<()> {
        self.ready(Interest::Writable).await.map(drop)
    }

    /// Waits until the socket is ready for `interest` and returns the readiness seen (which
    /// may include `READ_CLOSED`, `ERROR`, ...). Readiness stays until a `try_*` answers
    /// `WouldBlock`. Cancel-safe.
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        try_io::ready(&self.fd, interest).await
    }

    /// Shuts down the read side, the write side, or both.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        sys::shutdown(self.fd.as_fd(), how)
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<P::Addr> {
        P::local_addr(self.fd.get_ref())
    }

    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<P::Addr> {
        P::peer_addr(self.fd.get_ref())
    }

    /// Splits the socket into a read half and a write half that borrow it, for two tasks (or
    /// two futures joined in one task) to read and write at once.
    pub fn split(&mut self) -> (ReadHalf<'_, P>, WriteHalf<'_, P>) {
        (ReadHalf::new(self), WriteHalf::new(self))
    }

    /// Splits the socket into halves that own it together (through an `Rc`), to move into
    /// different tasks; [`OwnedReadHalf::reunite`] puts them back together.
    pub fn into_split(self) -> (OwnedReadHalf<P>, OwnedWriteHalf<P>) {
        let shared = Rc::new(self);
        (
            OwnedReadHalf::new(shared.clone()),
            OwnedWriteHalf::new(shared),
        )
    }

    /// Wraps a connected std stream (`std::net::TcpStream`, `std::os::unix::net::UnixStream`),
    /// making it non-blocking and registering it. `TryFrom` does the same.
    pub fn from_std(stream: P::Std) -> io::Result<StreamSocket<P>> {
        Ok(StreamSocket {
            fd: AsyncFd::new(stream)?,
        })
    }

    /// Deregisters the socket and returns the std stream. Its flags are as they were when it
    /// was handed to [`from_std`](Self::from_std) (blocking again, if it was blocking then); a
    /// socket this crate created stays non-blocking.
    pub fn into_std(self) -> P::Std {
        self.fd.into_inner()
    }

    /// The std stream, for what this type does not offer, e.g. `socket2::SockRef::from` to set
    /// an option. Do not make it blocking, and do not read or write through it while a task
    /// waits on this socket.
    pub fn get_ref(&self) -> &P::Std {
        self.fd.get_ref()
    }

    pub(crate) fn poll_read_shared(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut waiter = self.fd.polled(Interest::Readable);
        stream::poll_read(&self.fd, &mut waiter, cx, buf, P::SHORT_READ)
    }

    pub(crate) fn poll_read_vectored_shared(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        let mut waiter = self.fd.polled(Interest::Readable);
        stream::poll_read_vectored(&self.fd, &mut waiter, cx, bufs, P::SHORT_READ)
    }

    pub(crate) fn poll_write_shared(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let mut waiter = self.fd.polled(Interest::Writable);
        stream::poll_write(&self.fd, &mut waiter, cx, buf)
    }

    pub(crate) fn poll_write_vectored_shared(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let mut waiter = self.fd.polled(Interest::Writable);
        stream::poll_write_vectored(&self.fd, &mut waiter, cx, bufs)
    }
}

impl<P: StreamProtocol> AsFd for StreamSocket<P> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl<P: StreamProtocol> AsRawFd for StreamSocket<P> {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// Deregisters the socket, then hands its fd over.
impl<P: StreamProtocol> From<StreamSocket<P>> for OwnedFd {
    fn from(socket: StreamSocket<P>) -> OwnedFd {
        socket.into_std().into()
    }
}

impl<P: StreamProtocol> fmt::Debug for StreamSocket<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple(P::STREAM_NAME)
            .field(self.fd.get_ref())
            .finish()
    }
}
