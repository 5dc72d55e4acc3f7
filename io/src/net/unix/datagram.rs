//! [`UnixDatagram`]: Unix-domain datagram sockets.

use std::fmt;
use std::io;
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::net::{self, SocketAddr};
use std::path::Path;
use std::task::{Context, Poll};

use minireactor_reactor::{Interest, Ready};

use super::fds::{self, MAX_FDS};
use crate::net::{datagram, try_io, UCred};
use crate::sys::{self, RawSockAddr};
use crate::AsyncFd;

/// A Unix-domain datagram socket: reliable, ordered datagrams between processes of one host,
/// addressed by path or abstract name, with file-descriptor passing.
///
/// Unlike UDP, no datagram is dropped: a send to a peer whose queue is full waits. On a
/// connected socket it is woken when the peer reads; an unconnected `send_to` is woken only
/// when datagrams of its own are consumed (a kernel limitation), so connect for steady traffic
/// to one peer. Methods take `&self`.
///
/// ```
/// use minireactor::net::UnixDatagram;
///
/// minireactor::block_on(async {
///     let dir = std::env::temp_dir().join(format!("minireactor-dgram-doc-{}", std::process::id()));
///     std::fs::create_dir_all(&dir)?;
///     let server = UnixDatagram::bind(dir.join("server.sock"))?;
///     let client = UnixDatagram::bind(dir.join("client.sock"))?;
///     client.send_to(b"ping", dir.join("server.sock")).await?;
///     let mut buf = [0; 8];
///     let (n, from) = server.recv_from(&mut buf).await?;
///     assert_eq!(&buf[..n], b"ping");
///     assert_eq!(from.as_pathname(), Some(dir.join("client.sock").as_path()));
///     std::fs::remove_dir_all(&dir)
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UnixDatagram {
    fd: AsyncFd<net::UnixDatagram>,
}

impl UnixDatagram {
    fn from_nonblocking(socket: OwnedFd) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram {
            fd: AsyncFd::new_nonblocking(net::UnixDatagram::from(socket))?,
        })
    }

    /// A socket bound to `path` (which must not exist yet).
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixDatagram> {
        UnixDatagram::bind_raw(&RawSockAddr::from_unix_path(path.as_ref())?)
    }

    /// A socket bound to `addr`: a path or an abstract name (an unnamed `addr` binds to an
    /// abstract name the kernel picks, so that peers can answer).
    ///
    /// ```
    /// use std::os::linux::net::SocketAddrExt;
    /// use std::os::unix::net::SocketAddr;
    /// use minireactor::net::UnixDatagram;
    ///
    /// minireactor::block_on(async {
    ///     let name = format!("minireactor-dgram-doc-{}", std::process::id());
    ///     let addr = SocketAddr::from_abstract_name(name.as_bytes())?;
    ///     let server = UnixDatagram::bind_addr(&addr)?;
    ///     let client = UnixDatagram::unbound()?;
    ///     client.send_to_addr(b"no file", &addr).await?;
    ///     let mut buf = [0; 8];
    ///     let (n, from) = server.recv_from(&mut buf).await?;
    ///     assert_eq!((&buf[..n], from.is_unnamed()), (&b"no file"[..], true));
    ///     Ok::<_, std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind_addr(addr: &SocketAddr) -> io::Result<UnixDatagram> {
        UnixDatagram::bind_raw(&RawSockAddr::from_unix(addr)?)
    }

    fn bind_raw(addr: &RawSockAddr) -> io::Result<UnixDatagram> {
        let socket = sys::socket(libc::AF_UNIX, libc::SOCK_DGRAM)?;
        sys::bind(socket.as_fd(), addr)?;
        UnixDatagram::from_nonblocking(socket)
    }

    /// A socket bound to nothing: it can send, but peers cannot answer it (its address is
    /// unnamed).
    pub fn unbound() -> io::Result<UnixDatagram> {
        UnixDatagram::from_nonblocking(sys::socket(libc::AF_UNIX, libc::SOCK_DGRAM)?)
    }

    /// A pair of sockets connected to each other (`socketpair`).
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = sys::socketpair(libc::SOCK_DGRAM)?;
        Ok((
            UnixDatagram::from_nonblocking(a)?,
            UnixDatagram::from_nonblocking(b)?,
        ))
    }

    /// Sets the default peer of [`send`](Self::send), and the only source
    /// [`recv`](Self::recv) accepts, to the socket at `path`. Completes at once.
    pub fn connect(&self, path: impl AsRef<Path>) -> io::Result<()> {
        sys::connect(
            self.fd.as_fd(),
            &RawSockAddr::from_unix_path(path.as_ref())?,
        )
    }

    /// [`connect`](Self::connect) to a path or an abstract name.
    pub fn connect_addr(&self, addr: &SocketAddr) -> io::Result<()> {
        sys::connect(self.fd.as_fd(), &RawSockAddr::from_unix(addr)?)
    }

    /// Sends one datagram to the connected peer.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        datagram::send(&self.fd, buf).await
    }

    /// Receives one datagram; the excess of a datagram larger than `buf` is discarded.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        datagram::recv(&self.fd, buf, 0).await
    }

    /// Sends one datagram to the socket at `path`.
    pub async fn send_to(&self, buf: &[u8], path: impl AsRef<Path>) -> io::Result<usize> {
        let target = RawSockAddr::from_unix_path(path.as_ref())?;
        datagram::send_to(&self.fd, buf, &target).await
    }

    /// Sends one datagram to `addr`: a path or an abstract name.
    pub async fn send_to_addr(&self, buf: &[u8], addr: &SocketAddr) -> io::Result<usize> {
        let target = RawSockAddr::from_unix(addr)?;
        datagram::send_to(&self.fd, buf, &target).await
    }

    /// Receives one datagram and the sender's address (unnamed if the sender is not bound).
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let (n, from) = datagram::recv_from(&self.fd, buf, 0).await?;
        Ok((n, from.to_unix()?))
    }

    /// Receives the next datagram without removing it from the queue.
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        datagram::recv(&self.fd, buf, libc::MSG_PEEK).await
    }

    /// Receives the next datagram and its sender without removing it from the queue.
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let (n, from) = datagram::recv_from(&self.fd, buf, libc::MSG_PEEK).await?;
        Ok((n, from.to_unix()?))
    }

    /// Sends to the connected peer without waiting: `WouldBlock` if the socket has not been
    /// seen writable or the peer's queue is full (which clears the readiness).
    pub fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
        try_io::try_send(&self.fd, buf)
    }

    /// Receives without waiting: `WouldBlock` if the socket has not been seen readable or
    /// nothing is queued (which clears the readiness).
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        try_io::try_recv(&self.fd, buf)
    }

    /// Sends to `addr` without waiting; see [`try_send`](Self::try_send).
    pub fn try_send_to_addr(&self, buf: &[u8], addr: &SocketAddr) -> io::Result<usize> {
        datagram::try_send_to(&self.fd, buf, &RawSockAddr::from_unix(addr)?)
    }

    /// Receives a datagram and its sender without waiting; see [`try_recv`](Self::try_recv).
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let (n, from) = datagram::try_recv_from(&self.fd, buf)?;
        Ok((n, from.to_unix()?))
    }

    /// Waits until a datagram can be received. Cancel-safe.
    pub async fn readable(&self) -> io::Result<()> {
        self.ready(Interest::Readable).await.map(drop)
    }

    /// Waits until a datagram can be sent. Cancel-safe.
    pub async fn writable(&self) -> io::Result<()> {
        self.ready(Interest::Writable).await.map(drop)
    }

    /// Waits until the socket is ready for `interest`; returns the readiness seen. Cancel-safe.
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        try_io::ready(&self.fd, interest).await
    }

    /// Sends `buf` as one datagram with the file descriptors `fds` attached (at most
    /// [`MAX_FDS`]); see [`UnixStream::send_with_fds`](crate::net::UnixStream::send_with_fds).
    /// A datagram may be empty and still carry fds.
    pub async fn send_with_fds(&self, buf: &[u8], fds: &[BorrowedFd<'_>]) -> io::Result<usize> {
        fds::send_with_fds(&self.fd, buf, fds).await
    }

    /// Receives one datagram and the file descriptors it carried (room for [`MAX_FDS`]); see
    /// [`UnixStream::recv_with_fds`](crate::net::UnixStream::recv_with_fds).
    pub async fn recv_with_fds(&self, buf: &mut [u8], fds: &mut Vec<OwnedFd>) -> io::Result<usize> {
        self.recv_with_max_fds(buf, fds, MAX_FDS).await
    }

    /// [`recv_with_fds`](Self::recv_with_fds) with room for only `max_fds` descriptors; see
    /// [`UnixStream::recv_with_max_fds`](crate::net::UnixStream::recv_with_max_fds) for what a
    /// truncation does.
    pub async fn recv_with_max_fds(
        &self,
        buf: &mut [u8],
        fds: &mut Vec<OwnedFd>,
        max_fds: usize,
    ) -> io::Result<usize> {
        fds::recv_with_fds(&self.fd, buf, fds, max_fds).await
    }

    /// The polling form of [`send_with_fds`](Self::send_with_fds).
    pub fn poll_send_with_fds(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        fds: &[BorrowedFd<'_>],
    ) -> Poll<io::Result<usize>> {
        fds::poll_send_with_fds(&self.fd, cx, buf, fds)
    }

    /// The polling form of [`recv_with_fds`](Self::recv_with_fds).
    pub fn poll_recv_with_fds(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
        fds: &mut Vec<OwnedFd>,
    ) -> Poll<io::Result<usize>> {
        fds::poll_recv_with_fds(&self.fd, cx, buf, fds)
    }

    /// The credentials of the peer process. Only a socket made by [`pair`](Self::pair) has
    /// them (the kernel records none for a datagram `connect`); any other is an error.
    pub fn peer_cred(&self) -> io::Result<UCred> {
        UCred::of_peer(self.fd.as_fd())
    }

    /// Shuts down the read side, the write side, or both.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        sys::shutdown(self.fd.as_fd(), how)
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        sys::local_addr(self.fd.as_fd())?.to_unix()
    }

    /// The connected peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        sys::peer_addr(self.fd.as_fd())?.to_unix()
    }

    /// Wraps a std socket, making it non-blocking and registering it. `TryFrom` does the same.
    pub fn from_std(socket: net::UnixDatagram) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram {
            fd: AsyncFd::new(socket)?,
        })
    }

    /// Deregisters the socket and returns the std one, its flags as they were handed to
    /// [`from_std`](Self::from_std) (a socket this crate created stays non-blocking).
    pub fn into_std(self) -> net::UnixDatagram {
        self.fd.into_inner()
    }

    /// The std socket. Do not make it blocking.
    pub fn get_ref(&self) -> &net::UnixDatagram {
        self.fd.get_ref()
    }
}

impl AsFd for UnixDatagram {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for UnixDatagram {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// Registers the socket, as [`UnixDatagram::from_std`].
impl TryFrom<net::UnixDatagram> for UnixDatagram {
    type Error = io::Error;

    fn try_from(socket: net::UnixDatagram) -> io::Result<UnixDatagram> {
        UnixDatagram::from_std(socket)
    }
}

/// Deregisters the socket, as [`UnixDatagram::into_std`].
impl From<UnixDatagram> for net::UnixDatagram {
    fn from(socket: UnixDatagram) -> net::UnixDatagram {
        socket.into_std()
    }
}

/// Deregisters the socket, then hands its fd over.
impl From<UnixDatagram> for OwnedFd {
    fn from(socket: UnixDatagram) -> OwnedFd {
        socket.into_std().into()
    }
}

impl fmt::Debug for UnixDatagram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("UnixDatagram")
            .field(self.fd.get_ref())
            .finish()
    }
}
