//! The stream protocols, [`Tcp`] and [`Unix`]: the type parameter of
//! [`StreamSocket`](crate::net::StreamSocket) and [`StreamListener`](crate::net::StreamListener),
//! which hold the one implementation of the stream plumbing both share.
//!
//! A protocol says only what differs between them: its std types, its address type, and what
//! a short read proves (see `stream`). It is a sealed trait of uninhabited marker types.

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
pub trait StreamProtocol: sealed::Protocol {}

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

/// Unix-domain streams: [`UnixStream`](crate::net::UnixStream) is `StreamSocket<Unix>`, with
/// `std::os::unix::net::SocketAddr` addresses (a path, an abstract name, or unnamed).
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

    /// What a [`StreamProtocol`] provides, out of users' reach.
    pub trait Protocol: 'static {
        /// The std stream type (`std::net::TcpStream`, `std::os::unix::net::UnixStream`).
        type Std: AsFd + From<OwnedFd> + Into<OwnedFd> + fmt::Debug;
        /// The std listener type.
        type StdListener: AsFd + From<OwnedFd> + Into<OwnedFd> + fmt::Debug;
        /// The socket address type.
        type Addr: fmt::Debug;
        /// What a short `recv` proves.
        const SHORT_READ: ShortRead;
        /// The user-facing type names, for `Debug`.
        const STREAM_NAME: &'static str;
        const LISTENER_NAME: &'static str;
        /// Converts an address the kernel returned.
        fn addr_from_raw(raw: &RawSockAddr) -> io::Result<Self::Addr>;
    }
}

impl StreamProtocol for Tcp {}
impl sealed::Protocol for Tcp {
    type Std = std::net::TcpStream;
    type StdListener = std::net::TcpListener;
    type Addr = SocketAddr;
    const SHORT_READ: ShortRead = ShortRead::Drains;
    const STREAM_NAME: &'static str = "TcpStream";
    const LISTENER_NAME: &'static str = "TcpListener";

    fn addr_from_raw(raw: &RawSockAddr) -> io::Result<SocketAddr> {
        raw.to_inet()
    }
}

impl StreamProtocol for Unix {}
impl sealed::Protocol for Unix {
    type Std = std::os::unix::net::UnixStream;
    type StdListener = std::os::unix::net::UnixListener;
    type Addr = UnixSocketAddr;
    const SHORT_READ: ShortRead = ShortRead::ProvesNothing;
    const STREAM_NAME: &'static str = "UnixStream";
    const LISTENER_NAME: &'static str = "UnixListener";

    fn addr_from_raw(raw: &RawSockAddr) -> io::Result<UnixSocketAddr> {
        raw.to_unix()
    }
}
