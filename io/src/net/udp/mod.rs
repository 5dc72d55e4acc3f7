//! What a UDP socket adds to [`DatagramSocket`]: binding, connecting and sending by
//! `SocketAddr` (resolving host names); its options are in `options`.

mod options;

use std::io;
use std::net::{self, SocketAddr};
use std::os::fd::AsFd;

use crate::net::addr::{each_addr, first_addr, ToSocketAddrs};
use crate::net::{DatagramSocket, UdpSocket};
use crate::sys::{self, RawSockAddr};

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
            DatagramSocket::from_nonblocking(socket)
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

    /// Sends one datagram to `target` (the first address it resolves to).
    pub async fn send_to(&self, buf: &[u8], target: impl ToSocketAddrs) -> io::Result<usize> {
        let target = RawSockAddr::from_inet(&first_addr(&target).await?);
        self.send_to_raw(buf, &target).await
    }

    /// Sends to `target` without waiting; see [`try_send`](Self::try_send).
    pub fn try_send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        self.try_send_to_raw(buf, &RawSockAddr::from_inet(&target))
    }
}

/// Registers the socket, as [`DatagramSocket::from_std`].
impl TryFrom<net::UdpSocket> for UdpSocket {
    type Error = io::Error;

    fn try_from(socket: net::UdpSocket) -> io::Result<UdpSocket> {
        DatagramSocket::from_std(socket)
    }
}

/// Deregisters the socket, as [`DatagramSocket::into_std`].
impl From<UdpSocket> for net::UdpSocket {
    fn from(socket: UdpSocket) -> net::UdpSocket {
        socket.into_std()
    }
}
