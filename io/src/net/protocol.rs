//! The socket protocols: [`Tcp`] and [`Unix`] streams, [`Udp`] and [`Unix`] datagrams. They are
//! the type parameters of [`StreamSocket`](crate::net::StreamSocket),
//! [`StreamListener`](crate::net::StreamListener) and
//! [`DatagramSocket`](crate::net::DatagramSocket), which hold the one implementation of the
//! plumbing the protocols of a kind share.
//!
//! A protocol says only what differs: its address type, its std types, and (for a stream) what a
//! short read proves (see `stream`). The traits are sealed; the protocols are uninhabited marker
//! types.
//!
//! Addresses the kernel returns are built by std's own methods (`local_addr`, `peer_addr`,
//! `recv_from`) where they exist: std can hold every address the kernel reports, including a
//! Unix path that fills all 108 bytes of `sun_path`, which no public constructor of std's Unix
//! `SocketAddr` accepts. Only `accept4`'s address (with std's `peer_addr` to fall back on) and
//! a peek's are converted here, from the raw `sockaddr`.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::SocketAddr as UnixSocketAddr;

use crate::net::stream::ShortRead;
use crate::sys::RawSockAddr;

/// A stream protocol: [`Tcp`] or [`Unix`]. Sealed.
///
/// Code that works on any stream is generic over it:
///
/// ```
/// use minireactor::net::{StreamProtocol, StreamSocket, TcpListener, TcpStream, UnixStream};
///
/// async fn greet<P: StreamProtocol>(stream: &StreamSocket<P>) -> std::io::Result<()> {
///     stream.write_all(b"hello").await
/// }
///
/// minireactor::block_on(async {
///     let (unix, _peer) = UnixStream::pair()?;
///     greet(&unix).await?;
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let tcp = TcpStream::connect(listener.local_addr()?).await?;
///     greet(&tcp).await
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub trait StreamProtocol: sealed::Stream {}

/// A datagram protocol: [`Udp`] or [`Unix`]. Sealed.
///
/// Code that works on any datagram socket is generic over it:
///
/// ```
/// use minireactor::net::{DatagramProtocol, DatagramSocket, UdpSocket, UnixDatagram};
///
/// async fn echo_one<P: DatagramProtocol>(socket: &DatagramSocket<P>) -> std::io::Result<()> {
///     let mut buf = [0; 64];
///     let n = socket.recv(&mut buf).await?;
///     socket.send(&buf[..n]).await.map(drop)
/// }
///
/// minireactor::block_on(async {
///     let (unix, peer) = UnixDatagram::pair()?;
///     peer.send(b"unix").await?;
///     echo_one(&unix).await?;
///     let udp = UdpSocket::bind("127.0.0.1:0").await?;
///     let client = UdpSocket::bind("127.0.0.1:0").await?;
///     udp.connect(client.local_addr()?).await?;
///     client.send_to(b"udp", udp.local_addr()?).await?;
///     echo_one(&udp).await
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub trait DatagramProtocol: sealed::Datagram {}

/// TCP: [`TcpStream`](crate::net::TcpStream) is `StreamSocket<Tcp>`, with
/// `std::net::SocketAddr` addresses.
///
/// ```
/// use minireactor::net::{StreamSocket, Tcp, TcpStream};
///
/// fn same_type(stream: TcpStream) -> StreamSocket<Tcp> {
///     stream
/// }
/// ```
#[derive(Debug)]
pub enum Tcp {}

/// UDP: [`UdpSocket`](crate::net::UdpSocket) is `DatagramSocket<Udp>`, with
/// `std::net::SocketAddr` addresses.
///
/// ```
/// use minireactor::net::{DatagramSocket, Udp, UdpSocket};
///
/// fn same_type(socket: UdpSocket) -> DatagramSocket<Udp> {
///     socket
/// }
/// ```
#[derive(Debug)]
pub enum Udp {}

/// Unix-domain sockets, streams and datagrams: [`UnixStream`](crate::net::UnixStream) is
/// `StreamSocket<Unix>` and [`UnixDatagram`](crate::net::UnixDatagram) is
/// `DatagramSocket<Unix>`, with `std::os::unix::net::SocketAddr` addresses (a path, an abstract
/// name, or unnamed).
///
/// ```
/// use minireactor::net::{StreamListener, Unix, UnixListener};
///
/// fn same_type(listener: UnixListener) -> StreamListener<Unix> {
///     listener
/// }
/// ```
#[derive(Debug)]
pub enum Unix {}

pub(crate) mod sealed {
    use super::*;

    /// An address type, made from the `sockaddr` the kernel returns.
    pub trait Address: Sized + fmt::Debug {
        fn from_raw(raw: &RawSockAddr) -> io::Result<Self>;
    }

    impl Address for SocketAddr {
        fn from_raw(raw: &RawSockAddr) -> io::Result<SocketAddr> {
            raw.to_inet()
        }
    }

    impl Address for UnixSocketAddr {
        fn from_raw(raw: &RawSockAddr) -> io::Result<UnixSocketAddr> {
            raw.to_unix()
        }
    }

    /// What every protocol provides, out of users' reach: its address type.
    pub trait Protocol: 'static {
        /// The socket address type.
        type Addr: Address;

        /// Converts an address the kernel returned.
        fn addr_from_raw(raw: &RawSockAddr) -> io::Result<Self::Addr> {
            Self::Addr::from_raw(raw)
        }
    }

    /// What a [`StreamProtocol`] adds.
    pub trait Stream: Protocol {
        /// The std stream type (`std::net::TcpStream`, `std::os::unix::net::UnixStream`).
        type Std: AsFd + From<OwnedFd> + Into<OwnedFd> + fmt::Debug;
        /// The std listener type.
        type StdListener: AsFd + From<OwnedFd> + Into<OwnedFd> + fmt::Debug;
        /// What a short `recv` proves.
        const SHORT_READ: ShortRead;
        /// The user-facing type names, for `Debug`.
        const STREAM_NAME: &'static str;
        const LISTENER_NAME: &'static str;

        /// std's `local_addr` and `peer_addr` of a stream, and `local_addr` of a listener.
        fn local_addr(stream: &Self::Std) -> io::Result<Self::Addr>;
        fn peer_addr(stream: &Self::Std) -> io::Result<Self::Addr>;
        fn listener_addr(listener: &Self::StdListener) -> io::Result<Self::Addr>;
    }

    /// What a [`DatagramProtocol`] adds.
    pub trait Datagram: Protocol {
        /// The std datagram socket type (`std::net::UdpSocket`,
        /// `std::os::unix::net::UnixDatagram`).
        type StdDatagram: AsFd + From<OwnedFd> + Into<OwnedFd> + fmt::Debug;
        /// The user-facing type name, for `Debug`.
        const DATAGRAM_NAME: &'static str;

        /// std's `local_addr`, `peer_addr` and `recv_from` (one `recvfrom`, no flags).
        fn local_addr(socket: &Self::StdDatagram) -> io::Result<Self::Addr>;
        fn peer_addr(socket: &Self::StdDatagram) -> io::Result<Self::Addr>;
        fn recv_from(socket: &Self::StdDatagram, buf: &mut [u8])
            -> io::Result<(usize, Self::Addr)>;
    }
}

/// The address methods of a protocol's [`sealed::Stream`] impl: std's own.
macro_rules! std_stream_addresses {
    () => {
        fn local_addr(stream: &Self::Std) -> io::Result<Self::Addr> {
            stream.local_addr()
        }
        fn peer_addr(stream: &Self::Std) -> io::Result<Self::Addr> {
            stream.peer_addr()
        }
        fn listener_addr(listener: &Self::StdListener) -> io::Result<Self::Addr> {
            listener.local_addr()
        }
    };
}

/// The address methods of a protocol's [`sealed::Datagram`] impl: std's own.
macro_rules! std_datagram_addresses {
    () => {
        fn local_addr(socket: &Self::StdDatagram) -> io::Result<Self::Addr> {
            socket.local_addr()
        }
        fn peer_addr(socket: &Self::StdDatagram) -> io::Result<Self::Addr> {
            socket.peer_addr()
        }
        fn recv_from(
            socket: &Self::StdDatagram,
            buf: &mut [u8],
        ) -> io::Result<(usize, Self::Addr)> {
            socket.recv_from(buf)
        }
    };
}

impl sealed::Protocol for Tcp {
    type Addr = SocketAddr;
}

impl StreamProtocol for Tcp {}
impl sealed::Stream for Tcp {
    type Std = std::net::TcpStream;
    type StdListener = std::net::TcpListener;
    const SHORT_READ: ShortRead = ShortRead::Drains;
    const STREAM_NAME: &'static str = "TcpStream";
    const LISTENER_NAME: &'static str = "TcpListener";
    std_stream_addresses!();
}

impl sealed::Protocol for Udp {
    type Addr = SocketAddr;
}

impl DatagramProtocol for Udp {}
impl sealed::Datagram for Udp {
    type StdDatagram = std::net::UdpSocket;
    const DATAGRAM_NAME: &'static str = "UdpSocket";
    std_datagram_addresses!();
}

impl sealed::Protocol for Unix {
    type Addr = UnixSocketAddr;
}

impl StreamProtocol for Unix {}
impl sealed::Stream for Unix {
    type Std = std::os::unix::net::UnixStream;
    type StdListener = std::os::unix::net::UnixListener;
    const SHORT_READ: ShortRead = ShortRead::ProvesNothing;
    const STREAM_NAME: &'static str = "UnixStream";
    const LISTENER_NAME: &'static str = "UnixListener";
    std_stream_addresses!();
}

impl DatagramProtocol for Unix {}
impl sealed::Datagram for Unix {
    type StdDatagram = std::os::unix::net::UnixDatagram;
    const DATAGRAM_NAME: &'static str = "UnixDatagram";
    std_datagram_addresses!();
}
