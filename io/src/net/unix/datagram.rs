//! What a Unix datagram socket adds to [`DatagramSocket`]: binding and addressing by path or
//! abstract name, pairs, peer credentials, shutdown, and passing file descriptors.

use std::io;
use std::net::Shutdown;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::{self, SocketAddr};
use std::path::Path;
use std::task::{Context, Poll};

use super::fds::{self, MAX_FDS};
use crate::net::{DatagramSocket, UCred, UnixDatagram};
use crate::sys::{self, RawSockAddr};

impl UnixDatagram {
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
        DatagramSocket::from_nonblocking(socket)
    }

    /// A socket bound to nothing: it can send, but peers cannot answer it (its address is
    /// unnamed).
    pub fn unbound() -> io::Result<UnixDatagram> {
        DatagramSocket::from_nonblocking(sys::socket(libc::AF_UNIX, libc::SOCK_DGRAM)?)
    }

    /// A pair of sockets connected to each other (`socketpair`).
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = sys::socketpair(libc::SOCK_DGRAM)?;
        Ok((
            DatagramSocket::from_nonblocking(a)?,
            DatagramSocket::from_nonblocking(b)?,
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

    /// Sends one datagram to the socket at `path`.
    pub async fn send_to(&self, buf: &[u8], path: impl AsRef<Path>) -> io::Result<usize> {
        let target = RawSockAddr::from_unix_path(path.as_ref())?;
        self.send_to_raw(buf, &target).await
    }

    /// Sends one datagram to `addr`: a path or an abstract name.
    pub async fn send_to_addr(&self, buf: &[u8], addr: &SocketAddr) -> io::Result<usize> {
        let target = RawSockAddr::from_unix(addr)?;
        self.send_to_raw(buf, &target).await
    }

    /// Sends to `addr` without waiting; see [`try_send`](Self::try_send).
    pub fn try_send_to_addr(&self, buf: &[u8], addr: &SocketAddr) -> io::Result<usize> {
        self.try_send_to_raw(buf, &RawSockAddr::from_unix(addr)?)
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
}

/// Registers the socket, as [`DatagramSocket::from_std`].
impl TryFrom<net::UnixDatagram> for UnixDatagram {
    type Error = io::Error;

    fn try_from(socket: net::UnixDatagram) -> io::Result<UnixDatagram> {
        DatagramSocket::from_std(socket)
    }
}

/// Deregisters the socket, as [`DatagramSocket::into_std`].
impl From<UnixDatagram> for net::UnixDatagram {
    fn from(socket: UnixDatagram) -> net::UnixDatagram {
        socket.into_std()
    }
}
