//! [`DatagramSocket`]: a datagram socket, the one implementation behind
//! [`UdpSocket`](crate::net::UdpSocket) and [`UnixDatagram`](crate::net::UnixDatagram).
//!
//! Everything both protocols do the same way lives here: sending and receiving (connected or
//! addressed, peeking, non-blocking attempts), readiness waits, addresses, and the std and fd
//! conversions. Binding, connecting and addressing by each protocol's own kind of address are in
//! `udp` and `unix::datagram`.
//!
//! A datagram socket never takes a short-read shortcut: every datagram is its own `recv`, so
//! readiness is cleared only on `EAGAIN`. A datagram larger than the buffer is truncated (the
//! rest is discarded), as with `recv(2)`; a zero-length datagram is data, not EOF.
//!
//! Invariants: the socket is registered with the reactor from construction to drop (or
//! [`into_std`](DatagramSocket::into_std), which deregisters first); every method takes `&self`,
//! so one task can receive while another sends.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use minireactor_reactor::{Interest, Ready};

use crate::net::protocol::DatagramProtocol;
use crate::net::try_io::{self, try_io};
use crate::sys::{self, RawSockAddr};
use crate::AsyncFd;

/// A datagram socket of protocol `P`: use it as [`UdpSocket`](crate::net::UdpSocket) or
/// [`UnixDatagram`](crate::net::UnixDatagram). Datagrams keep their boundaries; a zero-length
/// datagram is data, not EOF.
///
/// Methods take `&self`: a receiving task and a sending task can share one socket.
///
/// ```
/// use minireactor::net::UnixDatagram;
///
/// minireactor::block_on(async {
///     let (a, b) = UnixDatagram::pair()?;
///     a.send(b"one").await?;
///     a.send(b"").await?; // A datagram of its own, not EOF.
///     let mut buf = [0; 8];
///     assert_eq!(b.recv(&mut buf).await?, 3);
///     assert_eq!(b.recv(&mut buf).await?, 0);
///     Ok::<_, std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct DatagramSocket<P: DatagramProtocol> {
    pub(crate) fd: AsyncFd<P::StdDatagram>,
}

impl<P: DatagramProtocol> DatagramSocket<P> {
    /// Registers a socket created non-blocking by this crate.
    pub(crate) fn from_nonblocking(socket: OwnedFd) -> io::Result<DatagramSocket<P>> {
        Ok(DatagramSocket {
            fd: AsyncFd::new_nonblocking(P::StdDatagram::from(socket))?,
        })
    }

    /// Sends one datagram to the connected peer.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.fd
            .async_io(Interest::Writable, |socket| sys::send(socket.as_fd(), buf))
            .await
    }

    /// Receives one datagram (only from the peer, once connected); the excess of a datagram
    /// larger than `buf` is discarded.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.recv_with_flags(buf, 0).await
    }

    /// Receives one datagram and its source (an unbound Unix sender's address is unnamed).
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, P::Addr)> {
        self.fd
            .async_io(Interest::Readable, |socket| P::recv_from(socket, buf))
            .await
    }

    /// Receives the next datagram without removing it from the queue.
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
        self.recv_with_flags(buf, libc::MSG_PEEK).await
    }

    /// Receives the next datagram and its source without removing it from the queue.
    ///
    /// The one address that std's Unix `SocketAddr` can hold but not be given, a path that fills
    /// all 108 bytes of `sun_path` (only a program in another language binds one), makes it fail
    /// with `InvalidData`; the datagram stays queued, and `recv_from` returns it with its source.
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, P::Addr)> {
        let (n, from) = self
            .fd
            .async_io(Interest::Readable, |socket| {
                sys::recv_from(socket.as_fd(), buf, libc::MSG_PEEK)
            })
            .await?;
        Ok((n, P::addr_from_raw(&from)?))
    }

    /// `recv` with `flags` (`0`, or `MSG_PEEK`).
    async fn recv_with_flags(&self, buf: &mut [u8], flags: libc::c_int) -> io::Result<usize> {
        self.fd
            .async_io(Interest::Readable, |socket| {
                sys::recv(socket.as_fd(), buf, flags)
            })
            .await
    }

    /// Sends one datagram to `target`: the body of each protocol's `send_to`.
    pub(crate) async fn send_to_raw(&self, buf: &[u8], target: &RawSockAddr) -> io::Result<usize> {
        self.fd
            .async_io(Interest::Writable, |socket| {
                sys::send_to(socket.as_fd(), buf, target)
            })
            .await
    }

    /// Sends to the connected peer without waiting: `WouldBlock` if the socket has not been
    /// seen writable, or turns out unable to take the datagram now (a full send buffer; for a
    /// Unix socket, a full peer queue), which clears its readiness.
    pub fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
        try_io::try_send(&self.fd, buf)
    }

    /// Receives without waiting: `WouldBlock` if the socket has not been seen readable, or
    /// turns out to have nothing queued (which clears its readiness).
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

    /// Receives a datagram and its source without waiting; see [`try_recv`](Self::try_recv).
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, P::Addr)> {
        try_io(&self.fd, Interest::Readable, |socket| {
            P::recv_from(socket, buf)
        })
    }

    /// Sends to `target` without waiting: the body of each protocol's `try_send_to`.
    pub(crate) fn try_send_to_raw(&self, buf: &[u8], target: &RawSockAddr) -> io::Result<usize> {
        try_io(&self.fd, Interest::Writable, |socket| {
            sys::send_to(socket.as_fd(), buf, target)
        })
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
    pub fn local_addr(&self) -> io::Result<P::Addr> {
        P::local_addr(self.fd.get_ref())
    }

    /// The connected peer's address.
    pub fn peer_addr(&self) -> io::Result<P::Addr> {
        P::peer_addr(self.fd.get_ref())
    }

    /// Wraps a std socket (`std::net::UdpSocket`, `std::os::unix::net::UnixDatagram`), making it
    /// non-blocking and registering it. `TryFrom` does the same.
    pub fn from_std(socket: P::StdDatagram) -> io::Result<DatagramSocket<P>> {
        Ok(DatagramSocket {
            fd: AsyncFd::new(socket)?,
        })
    }

    /// Deregisters the socket and returns the std one, its flags as they were handed to
    /// [`from_std`](Self::from_std) (a socket this crate created stays non-blocking).
    pub fn into_std(self) -> P::StdDatagram {
        self.fd.into_inner()
    }

    /// The std socket, e.g. for `socket2::SockRef::from`. Do not make it blocking.
    pub fn get_ref(&self) -> &P::StdDatagram {
        self.fd.get_ref()
    }
}

impl<P: DatagramProtocol> AsFd for DatagramSocket<P> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl<P: DatagramProtocol> AsRawFd for DatagramSocket<P> {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// Deregisters the socket, then hands its fd over.
impl<P: DatagramProtocol> From<DatagramSocket<P>> for OwnedFd {
    fn from(socket: DatagramSocket<P>) -> OwnedFd {
        socket.into_std().into()
    }
}

impl<P: DatagramProtocol> fmt::Debug for DatagramSocket<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple(P::DATAGRAM_NAME)
            .field(self.fd.get_ref())
            .finish()
    }
}
