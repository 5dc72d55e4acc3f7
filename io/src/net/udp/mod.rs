//! [`UdpSocket`]: binding, connecting, sending and receiving; its options are in `options`.

mod options;

use std::fmt;
use std::io;
use std::net::{self, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use minireactor_reactor::{Interest, Ready};

use crate::net::addr::{each_addr, first_addr, ToSocketAddrs};
use crate::net::{datagram, try_io};
use crate::sys::{self, RawSockAddr};
use crate::AsyncFd;

/// A UDP socket. Datagrams keep their boundaries; a zero-length datagram is data, not EOF.
///
/// Methods take `&self`: a receiving task and a sending task can share one socket.
///
/// ```
/// use minireactor::net::UdpSocket;
///
/// minireactor::block_on(async {
///     let a = UdpSocket::bind("127.0.0.1:0").await?;
///     let b = UdpSocket::bind("127.0.0.1:0").await?;
///     a.send_to(b"ping", b.local_addr()?).await?;
///     let mut buf = [0; 8];
///     let (n, from) = b.recv_from(&mut buf).await?;
///     assert_eq!((&buf[..n], from), (&b"ping"[..], a.local_addr()?));
///     Ok::<_, std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UdpSocket {
    fd: AsyncFd<net::UdpSocket>,
}

impl UdpSocket {
    /// Binds a new socket to `addr` (port 0: any free port); with several resolved addresses,
    /// the first that binds wins. A host name is resolved on the blocking pool (see
    /// [`ToSocketAddrs`]), an IP address inline.
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        each_addr(&addr, |addr| async move {
            let domain = match addr {
                SocketAddr::V4(_) => libc::AF_INET,
                SocketAddr::V6(_) => libc::AF_INET6,
            };
            let socket = sys::socket(domain, libc::SOCK_DGRAM)?;
            sys::bind(socket.as_fd(), &RawSockAddr::from_inet(&addr))?;
            tracing::debug!(%addr, "udp socket bound");
            Ok(UdpSocket {
                fd: AsyncFd::new_nonblocking(net::UdpSocket::from(socket))?,
            })
        })
        .await
    }

    /// Sets the default peer for [`send`](Self::send) and the only source
    /// [`recv`](Self::recv) accepts; with several resolved addresses, the first that connects
    /// wins.
    ///
    /// ```
    /// use minireactor::net::UdpSocket;
    ///
    /// minireactor::block_on(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await?;
    ///     let b = UdpSocket::bind("127.0.0.1:0").await?;
    ///     a.connect(b.local_addr()?).await?;
    ///     a.send(b"to my peer").await?;
    ///     let mut buf = [0; 16];
    ///     let n = b.recv(&mut buf).await?;
    ///     assert_eq!(&buf[..n], b"to my peer");
    ///     Ok::<_, std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        each_addr(&addr, |addr| async move {
            sys::connect(self.fd.as_fd(), &RawSockAddr::from_inet(&addr))
        })
        .await
    }

    /// Sends one datagram to the connected peer.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        datagram::send(&self.fd, buf).await
    }

    /// Receives one datagram from the connected peer; the excess of a datagram larger than
    /// `buf` is discarded.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        datagram::recv(&self.fd, buf, 0).await
    }

    /// Sends one datagram to `target` (the first address it resolves to).
    pub async fn send_to(&self, buf: &[u8], target: impl ToSocketAddrs) -> io::Result<usize> {
        let target = RawSockAddr::from_inet(&first_addr(&target).await?);
        datagram::send_to(&self.fd, buf, &target).await
    }

    /// Receives one datagram and its source.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let (n, from) = datagram::recv_from(&self.fd, buf, 0).await?;
        Ok((n, from.to_inet()?))
    }

    /// Receives the next datagram from the connected peer without removing it from the queue.
    ///
    /// ```
    /// use minireactor::net::UdpSocket;
    ///
    /// minireactor::block_on(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await?;
    ///     let b = UdpSocket::bind("127.0.0.1:0").await?;
    ///     a.send_to(b"twice", b.local_addr()?).await?;
    ///     let mut buf = [0; 8];
    ///     let (n, from) = b.peek_from(&mut buf).await?;
    ///     assert_eq!((&buf[..n], from), (&b"twice"[..], a.local_addr()?));
    ///     assert_eq!(b.recv_from(&mut buf).await?, (n, from));
    ///     Ok::<_, std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        datagram::recv(&self.fd, buf, libc::MSG_PEEK).await
    }

    /// Receives the next datagram and its source without removing it from the queue.
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let (n, from) = datagram::recv_from(&self.fd, buf, libc::MSG_PEEK).await?;
        Ok((n, from.to_inet()?))
    }

    /// Sends to the connected peer without waiting: `WouldBlock` if the socket has not been
    /// seen writable or its buffer is full (which clears its readiness).
    pub fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
        try_io::try_send(&self.fd, buf)
    }

    /// Receives from the connected peer without waiting: `WouldBlock` if the socket has not
    /// been seen readable or nothing is queued (which clears its readiness).
    ///
    /// ```
    /// use std::io::ErrorKind;
    /// use minireactor::net::UdpSocket;
    ///
    /// minireactor::block_on(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await?;
    ///     let b = UdpSocket::bind("127.0.0.1:0").await?;
    ///     b.connect(a.local_addr()?).await?;
    ///     a.send_to(b"one", b.local_addr()?).await?;
    ///     b.readable().await?;
    ///     let mut buf = [0; 8];
    ///     assert_eq!(b.try_recv(&mut buf)?, 3);
    ///     assert_eq!(b.try_recv(&mut buf).unwrap_err().kind(), ErrorKind::WouldBlock);
    ///     Ok::<_, std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        try_io::try_recv(&self.fd, buf)
    }

    /// Sends to `target` without waiting; see [`try_send`](Self::try_send).
    pub fn try_send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        datagram::try_send_to(&self.fd, buf, &RawSockAddr::from_inet(&target))
    }

    /// Receives a datagram and its source without waiting; see [`try_recv`](Self::try_recv).
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let (n, from) = datagram::try_recv_from(&self.fd, buf)?;
        Ok((n, from.to_inet()?))
    }

    /// Waits until a datagram can be received (or an error is pending). Cancel-safe.
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

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        sys::local_addr(self.fd.as_fd())?.to_inet()
    }

    /// The connected peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        sys::peer_addr(self.fd.as_fd())?.to_inet()
    }

    /// Wraps a std socket, making it non-blocking and registering it. `TryFrom` does the same.
    pub fn from_std(socket: net::UdpSocket) -> io::Result<UdpSocket> {
        Ok(UdpSocket {
            fd: AsyncFd::new(socket)?,
        })
    }

    /// Deregisters the socket and returns the std one, its flags as they were handed to
    /// [`from_std`](Self::from_std) (a socket this crate created stays non-blocking).
    pub fn into_std(self) -> net::UdpSocket {
        self.fd.into_inner()
    }

    /// The std socket, e.g. for `socket2::SockRef::from`. Do not make it blocking.
    pub fn get_ref(&self) -> &net::UdpSocket {
        self.fd.get_ref()
    }
}

impl AsFd for UdpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for UdpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// Registers the socket, as [`UdpSocket::from_std`].
impl TryFrom<net::UdpSocket> for UdpSocket {
    type Error = io::Error;

    fn try_from(socket: net::UdpSocket) -> io::Result<UdpSocket> {
        UdpSocket::from_std(socket)
    }
}

/// Deregisters the socket, as [`UdpSocket::into_std`].
impl From<UdpSocket> for net::UdpSocket {
    fn from(socket: UdpSocket) -> net::UdpSocket {
        socket.into_std()
    }
}

/// Deregisters the socket, then hands its fd over.
impl From<UdpSocket> for OwnedFd {
    fn from(socket: UdpSocket) -> OwnedFd {
        socket.into_std().into()
    }
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("UdpSocket").field(self.fd.get_ref()).finish()
    }
}
