//! [`StreamListener`]: a listening stream socket, the one implementation behind
//! [`TcpListener`](crate::net::TcpListener) and [`UnixListener`](crate::net::UnixListener),
//! and the default listen backlog.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::task::{Context, Poll};

use minireactor_reactor::Interest;

use crate::net::protocol::StreamProtocol;
use crate::net::StreamSocket;
use crate::sys;
use crate::AsyncFd;

/// The backlog `TcpListener::bind` and `UnixListener::bind` listen with: as large as the system
/// allows.
///
/// The kernel caps `listen`'s backlog at `net.core.somaxconn` (4096 by default since Linux 5.4)
/// at the moment of the call, so asking for `c_int::MAX` gets exactly the system's limit, follows
/// an administrator's tuning, and costs nothing; reading `/proc/sys/net/core/somaxconn` instead
/// would cost a file open per bind and fail where `/proc` is not mounted. A fixed 1024 (this
/// crate's old value, and tokio's) made a burst of connections beyond it wait for SYN
/// retransmissions, or be reset.
pub(crate) const DEFAULT_BACKLOG: u32 = libc::c_int::MAX as u32;

/// A stream socket listening for connections of protocol `P`: use it as
/// [`TcpListener`](crate::net::TcpListener) or [`UnixListener`](crate::net::UnixListener).
///
/// ```
/// use minireactor::net::{TcpListener, TcpStream};
///
/// minireactor::block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let addr = listener.local_addr()?;
///     let client = minireactor::spawn(async move {
///         let stream = TcpStream::connect(addr).await?;
///         stream.write_all(b"hi").await
///     });
///     let (stream, peer) = listener.accept().await?;
///     assert_eq!(peer, stream.peer_addr()?);
///     let mut buf = [0; 2];
///     let n = stream.read(&mut buf).await?;
///     assert_eq!(&buf[..n], b"hi");
///     client.await??;
///     Ok::<_, std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct StreamListener<P: StreamProtocol> {
    fd: AsyncFd<P::StdListener>,
}

impl<P: StreamProtocol> StreamListener<P> {
    /// Starts listening on `socket` (created non-blocking by this crate, and bound), and
    /// registers it. A `backlog` above `c_int::MAX` is `c_int::MAX`: the kernel caps it anyway.
    pub(crate) fn listen(socket: OwnedFd, backlog: u32) -> io::Result<StreamListener<P>> {
        let backlog = libc::c_int::try_from(backlog).unwrap_or(libc::c_int::MAX);
        sys::listen(socket.as_fd(), backlog)?;
        Ok(StreamListener {
            fd: AsyncFd::new_nonblocking(P::StdListener::from(socket))?,
        })
    }

    /// Waits for a connection; returns it and the peer's address (both from one `accept4`, but
    /// for a Unix path that fills all of `sun_path`: see `protocol`).
    /// The new socket is non-blocking and close-on-exec from the start.
    ///
    /// Errors such as `EMFILE` (out of fds) are returned as they are; the listener stays usable.
    /// A server should then back off briefly rather than retry at once: the pending connection
    /// keeps the listener readable, so an immediate retry would spin.
    ///
    /// # Cancel safety
    /// Cancel-safe: dropped before it resolves, no connection was taken from the queue.
    pub async fn accept(&self) -> io::Result<(StreamSocket<P>, P::Addr)> {
        let (socket, addr) = self
            .fd
            .async_io(Interest::Readable, |listener| sys::accept(listener.as_fd()))
            .await?;
        Self::accepted(socket, addr)
    }

    /// Polls for a connection; the waker is shared with other `poll_accept` callers (the last
    /// one is woken). Use [`accept`](Self::accept) from several tasks instead.
    pub fn poll_accept(
        &self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<(StreamSocket<P>, P::Addr)>> {
        self.fd
            .poll_io(Interest::Readable, cx, |listener| {
                sys::accept(listener.as_fd())
            })
            .map(|accepted| accepted.and_then(|(socket, addr)| Self::accepted(socket, addr)))
    }

    /// The connections as a `futures_core::Stream`; see [`Incoming`](crate::net::Incoming).
    pub fn incoming(&self) -> crate::net::Incoming<'_, P> {
        crate::net::Incoming::new(self)
    }

    pub(crate) fn fd(&self) -> &AsyncFd<P::StdListener> {
        &self.fd
    }

    pub(crate) fn accepted(
        socket: OwnedFd,
        addr: sys::RawSockAddr,
    ) -> io::Result<(StreamSocket<P>, P::Addr)> {
        let stream = StreamSocket::from_nonblocking(socket)?;
        tracing::trace!(fd = stream.as_raw_fd(), "accepted");
        // An address std can hold but not be given (see `protocol`): std asks the kernel again.
        let addr = P::addr_from_raw(&addr).or_else(|_| stream.peer_addr())?;
        Ok((stream, addr))
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> io::Result<P::Addr> {
        P::listener_addr(self.fd.get_ref())
    }

    /// Wraps a listening std socket (`std::net::TcpListener`,
    /// `std::os::unix::net::UnixListener`), making it non-blocking and registering it.
    /// `TryFrom` does the same.
    pub fn from_std(listener: P::StdListener) -> io::Result<StreamListener<P>> {
        Ok(StreamListener {
            fd: AsyncFd::new(listener)?,
        })
    }

    /// Deregisters the listener and returns the std one, its flags as they were handed to
    /// [`from_std`](Self::from_std) (a listener this crate created stays non-blocking).
    pub fn into_std(self) -> P::StdListener {
        self.fd.into_inner()
    }

    /// The std listener, e.g. for `socket2::SockRef::from`. Do not make it blocking.
    pub fn get_ref(&self) -> &P::StdListener {
        self.fd.get_ref()
    }
}

impl<P: StreamProtocol> AsFd for StreamListener<P> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl<P: StreamProtocol> AsRawFd for StreamListener<P> {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// Deregisters the listener, then hands its fd over.
impl<P: StreamProtocol> From<StreamListener<P>> for OwnedFd {
    fn from(listener: StreamListener<P>) -> OwnedFd {
        listener.into_std().into()
    }
}

impl<P: StreamProtocol> fmt::Debug for StreamListener<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple(P::LISTENER_NAME)
            .field(self.fd.get_ref())
            .finish()
    }
}
