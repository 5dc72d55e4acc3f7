//! The halves of a split [`StreamSocket`]: borrowed ([`ReadHalf`], [`WriteHalf`], from
//! [`StreamSocket::split`]) and owned ([`OwnedReadHalf`], [`OwnedWriteHalf`], from
//! [`StreamSocket::into_split`], sharing the socket through an `Rc`).
//!
//! A read half reads and a write half writes; each waits in its own direction, so a reader task
//! and a writer task never take each other's wakeups. Both kinds implement `futures_io`'s
//! `AsyncRead` or `AsyncWrite`; closing a write half (`poll_close`) shuts the write side down,
//! and so does dropping an [`OwnedWriteHalf`] (unless it is [`reunite`](OwnedReadHalf::reunite)d),
//! so the peer sees EOF when the writer task ends.

use std::error::Error;
use std::fmt;
use std::io::{self, IoSlice, IoSliceMut};
use std::net::Shutdown;
use std::rc::Rc;

use crate::net::protocol::StreamProtocol;
use crate::net::StreamSocket;

/// The reading methods of a read half, delegating to its socket.
macro_rules! read_methods {
    () => {
        /// Reads into `buf`; see [`StreamSocket::read`].
        pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
            self.socket().read(buf).await
        }

        /// Reads into several buffers; see [`StreamSocket::read_vectored`].
        pub async fn read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
            self.socket().read_vectored(bufs).await
        }

        /// Reads without consuming; see [`StreamSocket::peek`].
        pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
            self.socket().peek(buf).await
        }

        /// Reads without waiting; see [`StreamSocket::try_read`].
        pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
            self.socket().try_read(buf)
        }

        /// Reads into several buffers without waiting; see [`StreamSocket::try_read_vectored`].
        pub fn try_read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
            self.socket().try_read_vectored(bufs)
        }

        /// Waits until the socket is readable; see [`StreamSocket::readable`].
        pub async fn readable(&self) -> io::Result<()> {
            self.socket().readable().await
        }

        /// The local address.
        pub fn local_addr(&self) -> io::Result<P::Addr> {
            self.socket().local_addr()
        }

        /// The remote address.
        pub fn peer_addr(&self) -> io::Result<P::Addr> {
            self.socket().peer_addr()
        }
    };
}

/// The writing methods of a write half, delegating to its socket.
macro_rules! write_methods {
    () => {
        /// Writes some of `buf`; see [`StreamSocket::write`].
        pub async fn write(&self, buf: &[u8]) -> io::Result<usize> {
            self.socket().write(buf).await
        }

        /// Writes some of several buffers; see [`StreamSocket::write_vectored`].
        pub async fn write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            self.socket().write_vectored(bufs).await
        }

        /// Writes all of `buf`; see [`StreamSocket::write_all`].
        pub async fn write_all(&self, buf: &[u8]) -> io::Result<()> {
            self.socket().write_all(buf).await
        }

        /// Writes without waiting; see [`StreamSocket::try_write`].
        pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
            self.socket().try_write(buf)
        }

        /// Writes from several buffers without waiting; see
        /// [`StreamSocket::try_write_vectored`].
        pub fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            self.socket().try_write_vectored(bufs)
        }

        /// Waits until the socket is writable; see [`StreamSocket::writable`].
        pub async fn writable(&self) -> io::Result<()> {
            self.socket().writable().await
        }

        /// The local address.
        pub fn local_addr(&self) -> io::Result<P::Addr> {
            self.socket().local_addr()
        }

        /// The remote address.
        pub fn peer_addr(&self) -> io::Result<P::Addr> {
            self.socket().peer_addr()
        }
    };
}

/// The read half of a [`StreamSocket::split`], borrowing the socket.
///
/// ```
/// use minireactor::net::UnixStream;
///
/// minireactor::block_on(async {
///     let (mut a, b) = UnixStream::pair()?;
///     let (reader, writer) = a.split();
///     writer.write_all(b"ping").await?;
///     let mut buf = [0; 4];
///     b.read(&mut buf).await?;
///     b.write_all(b"pong").await?;
///     let n = reader.read(&mut buf).await?;
///     assert_eq!(&buf[..n], b"pong");
///     Ok::<_, std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct ReadHalf<'a, P: StreamProtocol>(&'a StreamSocket<P>);

/// The write half of a [`StreamSocket::split`], borrowing the socket; see [`ReadHalf`].
///
/// Closing it through `futures_io::AsyncWrite::poll_close` shuts the write side down:
///
/// ```
/// use std::future::poll_fn;
/// use std::pin::Pin;
/// use futures_io::AsyncWrite;
/// use minireactor::net::UnixStream;
///
/// minireactor::block_on(async {
///     let (mut a, b) = UnixStream::pair()?;
///     let (_reader, mut writer) = a.split();
///     writer.write_all(b"last words").await?;
///     poll_fn(|cx| Pin::new(&mut writer).poll_close(cx)).await?;
///     let mut buf = [0; 16];
///     assert_eq!(b.read(&mut buf).await?, 10);
///     assert_eq!(b.read(&mut buf).await?, 0); // EOF
///     Ok::<_, std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct WriteHalf<'a, P: StreamProtocol>(&'a StreamSocket<P>);

impl<'a, P: StreamProtocol> ReadHalf<'a, P> {
    pub(crate) fn new(socket: &'a StreamSocket<P>) -> ReadHalf<'a, P> {
        ReadHalf(socket)
    }

    pub(crate) fn socket(&self) -> &'a StreamSocket<P> {
        self.0
    }

    read_methods!();
}

impl<'a, P: StreamProtocol> WriteHalf<'a, P> {
    pub(crate) fn new(socket: &'a StreamSocket<P>) -> WriteHalf<'a, P> {
        WriteHalf(socket)
    }

    pub(crate) fn socket(&self) -> &'a StreamSocket<P> {
        self.0
    }

    write_methods!();
}

/// The read half of a [`StreamSocket::into_split`], owning the socket together with its
/// [`OwnedWriteHalf`].
///
/// ```
/// use minireactor::net::UnixStream;
///
/// minireactor::block_on(async {
///     let (a, b) = UnixStream::pair()?;
///     let (reader, writer) = a.into_split();
///     let writing = minireactor::spawn(async move {
///         writer.write_all(b"from another task").await
///         // Dropping the write half shuts the write side down: the peer sees EOF.
///     });
///     let mut buf = [0; 32];
///     let n = b.read(&mut buf).await?;
///     assert_eq!(&buf[..n], b"from another task");
///     assert_eq!(b.read(&mut buf).await?, 0);
///     writing.await??;
///     b.write_all(b"back").await?;
///     assert_eq!(reader.read(&mut buf).await?, 4);
///     Ok::<_, std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct OwnedReadHalf<P: StreamProtocol> {
    socket: Rc<StreamSocket<P>>,
}

/// The write half of a [`StreamSocket::into_split`]; see [`OwnedReadHalf`].
///
/// Dropping it shuts the write side down (unless it was reunited), so the peer sees EOF; the
/// read half goes on reading.
///
/// ```
/// use minireactor::net::UnixStream;
///
/// minireactor::block_on(async {
///     let (a, b) = UnixStream::pair()?;
///     let (reader, writer) = a.into_split();
///     writer.write_all(b"bye").await?;
///     drop(writer);
///     let mut buf = [0; 8];
///     assert_eq!(b.read(&mut buf).await?, 3);
///     assert_eq!(b.read(&mut buf).await?, 0); // EOF
///     b.write_all(b"but I still talk").await?;
///     assert_eq!(reader.read(&mut buf).await?, 8);
///     Ok::<_, std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct OwnedWriteHalf<P: StreamProtocol> {
    socket: Rc<StreamSocket<P>>,
    shutdown_on_drop: bool,
}

impl<P: StreamProtocol> OwnedReadHalf<P> {
    pub(crate) fn new(socket: Rc<StreamSocket<P>>) -> OwnedReadHalf<P> {
        OwnedReadHalf { socket }
    }

    pub(crate) fn socket(&self) -> &StreamSocket<P> {
        &self.socket
    }

    read_methods!();

    /// Puts the socket back together from its two halves; fails, returning both, if they come
    /// from different sockets.
    ///
    /// ```
    /// use minireactor::net::UnixStream;
    ///
    /// minireactor::block_on(async {
    ///     let (a, _b) = UnixStream::pair()?;
    ///     let (reader, writer) = a.into_split();
    ///     let whole = reader.reunite(writer).expect("halves of one socket");
    ///     whole.write_all(b"still open").await
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn reunite(self, mut other: OwnedWriteHalf<P>) -> Result<StreamSocket<P>, ReuniteError<P>> {
        if !Rc::ptr_eq(&self.socket, &other.socket) {
            return Err(ReuniteError(self, other));
        }
        other.shutdown_on_drop = false;
        drop(other);
        Ok(Rc::try_unwrap(self.socket)
            .unwrap_or_else(|_| unreachable!("only the two halves hold the socket")))
    }
}

impl<P: StreamProtocol> OwnedWriteHalf<P> {
    pub(crate) fn new(socket: Rc<StreamSocket<P>>) -> OwnedWriteHalf<P> {
        OwnedWriteHalf {
            socket,
            shutdown_on_drop: true,
        }
    }

    pub(crate) fn socket(&self) -> &StreamSocket<P> {
        &self.socket
    }

    write_methods!();

    /// Puts the socket back together; see [`OwnedReadHalf::reunite`].
    pub fn reunite(self, other: OwnedReadHalf<P>) -> Result<StreamSocket<P>, ReuniteError<P>> {
        other.reunite(self)
    }
}

impl<P: StreamProtocol> Drop for OwnedWriteHalf<P> {
    fn drop(&mut self) {
        if self.shutdown_on_drop {
            // The peer may be gone already (`ENOTCONN`): nothing to tell it then.
            if let Err(err) = self.socket.shutdown(Shutdown::Write) {
                tracing::trace!(%err, "shutdown of a dropped write half");
            }
        }
    }
}

/// The halves given to [`OwnedReadHalf::reunite`] came from different sockets; here they are
/// back.
///
/// ```
/// use minireactor::net::UnixStream;
///
/// minireactor::block_on(async {
///     let (first, second) = UnixStream::pair()?;
///     let (read_first, _write_first) = first.into_split();
///     let (_read_second, write_second) = second.into_split();
///     let err = read_first.reunite(write_second).unwrap_err();
///     let (_read_first, _write_second) = (err.0, err.1); // Nothing was lost.
///     Ok::<_, std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct ReuniteError<P: StreamProtocol>(pub OwnedReadHalf<P>, pub OwnedWriteHalf<P>);

impl<P: StreamProtocol> fmt::Display for ReuniteError<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tried to reunite halves that are not from the same socket")
    }
}

impl<P: StreamProtocol + fmt::Debug> Error for ReuniteError<P> {}
