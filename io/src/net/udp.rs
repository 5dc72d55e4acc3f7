//! [`UdpSocket`].

use std::io;
use std::net::{self, SocketAddr, ToSocketAddrs};
use std::os::fd::{AsRawFd, RawFd};

use minireactor_reactor::Interest;

use crate::AsyncFd;

/// A UDP socket. Datagrams keep their boundaries; a zero-length datagram is data, not EOF.
///
/// ```
/// use minireactor::net::UdpSocket;
///
/// minireactor::block_on(async {
///     let a = UdpSocket::bind("127.0.0.1:0")?;
///     let b = UdpSocket::bind("127.0.0.1:0")?;
///     a.send_to(b"ping", b.local_addr()?).await?;
///     let mut buf = [0; 8];
///     let (n, from) = b.recv_from(&mut buf).await?;
///     assert_eq!((&buf[..n], from), (&b"ping"[..], a.local_addr()?));
///     Ok::<_, std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct UdpSocket {
    fd: AsyncFd<net::UdpSocket>,
}

impl UdpSocket {
    /// Binds a socket to `addr`.
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        UdpSocket::from_std(net::UdpSocket::bind(addr)?)
    }

    /// Sets the default peer for `send` and the only source `recv` accepts.
    pub fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        self.fd.get_ref().connect(addr)
    }

    /// Sends one datagram to the connected peer.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.fd
            .async_io(Interest::Writable, |socket| socket.send(buf))
            .await
    }

    /// Receives one datagram from the connected peer; excess bytes of a datagram larger than
    /// `buf` are discarded.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.fd
            .async_io(Interest::Readable, |socket| socket.recv(buf))
            .await
    }

    /// Sends one datagram to `target`.
    pub async fn send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        self.fd
            .async_io(Interest::Writable, |socket| socket.send_to(buf, target))
            .await
    }

    /// Receives one datagram and its source.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.fd
            .async_io(Interest::Readable, |socket| socket.recv_from(buf))
            .await
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.fd.get_ref().local_addr()
    }

    /// The connected peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.fd.get_ref().peer_addr()
    }

    /// Wraps a std socket, making it non-blocking.
    pub fn from_std(socket: net::UdpSocket) -> io::Result<UdpSocket> {
        Ok(UdpSocket {
            fd: AsyncFd::new(socket)?,
        })
    }

    /// Deregisters and returns the std socket (still non-blocking).
    pub fn into_std(self) -> net::UdpSocket {
        self.fd.into_inner()
    }
}

impl AsRawFd for UdpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}
