//! [`TcpListener`] and [`TcpStream`].

use std::io;
use std::net::{self, Shutdown, SocketAddr, ToSocketAddrs};
use std::os::fd::{AsFd, AsRawFd, RawFd};

use minireactor_reactor::Interest;

use crate::net::stream::{self, impl_futures_io, ShortRead};
use crate::sys::{self, RawSockAddr};
use crate::AsyncFd;

/// The listen backlog: large enough that a burst of connects is queued, not reset (as tokio).
const BACKLOG: libc::c_int = 1024;

fn domain_of(addr: &SocketAddr) -> libc::c_int {
    match addr {
        SocketAddr::V4(_) => libc::AF_INET,
        SocketAddr::V6(_) => libc::AF_INET6,
    }
}

/// The error for an address list that resolved to nothing.
fn no_address() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "address resolved to nothing")
}

/// A TCP socket listening for connections.
///
/// ```
/// use minireactor::net::{TcpListener, TcpStream};
///
/// minireactor::block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0")?;
///     let addr = listener.local_addr()?;
///     let client = minireactor::spawn(async move {
///         let stream = TcpStream::connect(addr).await?;
///         stream.write_all(b"hi").await
///     });
///     let (stream, _peer) = listener.accept().await?;
///     let mut buf = [0; 2];
///     let n = stream.read(&mut buf).await?;
///     assert_eq!(&buf[..n], b"hi");
///     client.await??;
///     Ok::<_, std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct TcpListener {
    fd: AsyncFd<net::TcpListener>,
}

impl TcpListener {
    /// Binds to `addr` (`SO_REUSEADDR`, backlog 1024) and starts listening; with several
    /// resolved addresses, the first that binds wins.
    ///
    /// Resolving a host name may block (DNS); an IP address resolves without I/O.
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        let mut last_err = None;
        for addr in addr.to_socket_addrs()? {
            match TcpListener::bind_addr(addr) {
                Ok(listener) => return Ok(listener),
                Err(err) => last_err = Some(err),
            }
        }
        Err(last_err.unwrap_or_else(no_address))
    }

    fn bind_addr(addr: SocketAddr) -> io::Result<TcpListener> {
        let socket = sys::socket(domain_of(&addr), libc::SOCK_STREAM)?;
        sys::set_reuseaddr(socket.as_fd())?;
        sys::bind(socket.as_fd(), &RawSockAddr::from_inet(&addr))?;
        sys::listen(socket.as_fd(), BACKLOG)?;
        Ok(TcpListener {
            fd: AsyncFd::new_nonblocking(net::TcpListener::from(socket))?,
        })
    }

    /// Waits for a connection. The new socket is non-blocking and close-on-exec from the start.
    ///
    /// Errors such as `EMFILE` (out of fds) are returned as they are; the listener stays usable.
    /// A server should then back off briefly rather than retry at once: the pending connection
    /// keeps the listener readable, so an immediate retry would spin.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (socket, addr) = self
            .fd
            .async_io(Interest::Readable, |listener| sys::accept(listener.as_fd()))
            .await?;
        let stream = TcpStream {
            fd: AsyncFd::new_nonblocking(net::TcpStream::from(socket))?,
        };
        Ok((stream, addr.to_inet()?))
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.fd.get_ref().local_addr()
    }

    /// Wraps a std listener, making it non-blocking.
    pub fn from_std(listener: net::TcpListener) -> io::Result<TcpListener> {
        Ok(TcpListener {
            fd: AsyncFd::new(listener)?,
        })
    }

    /// Deregisters and returns the std listener (still non-blocking).
    pub fn into_std(self) -> net::TcpListener {
        self.fd.into_inner()
    }
}

impl AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// A TCP connection.
///
/// Methods take `&self`, so one task can read while another writes (share it with `Rc`).
#[derive(Debug)]
pub struct TcpStream {
    fd: AsyncFd<net::TcpStream>,
}

impl TcpStream {
    /// Connects to `addr`, trying each resolved address in turn.
    ///
    /// The connect is non-blocking: the task waits for the socket to become writable, then the
    /// socket's `SO_ERROR` says whether the connection was made (e.g. `ConnectionRefused`).
    /// Resolving a host name may block (DNS); an IP address resolves without I/O.
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        let mut last_err = None;
        for addr in addr.to_socket_addrs()? {
            match TcpStream::connect_addr(addr).await {
                Ok(stream) => return Ok(stream),
                Err(err) => last_err = Some(err),
            }
        }
        Err(last_err.unwrap_or_else(no_address))
    }

    async fn connect_addr(addr: SocketAddr) -> io::Result<TcpStream> {
        let fd = stream::connect(domain_of(&addr), &RawSockAddr::from_inet(&addr)).await?;
        Ok(TcpStream { fd })
    }

    /// Reads into `buf`; `Ok(0)` means the peer closed its write side (or `buf` is empty).
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        stream::read(&self.fd, buf, ShortRead::Drains).await
    }

    /// Writes some of `buf`; returns how much. A peer that is gone gives `EPIPE` or
    /// `ECONNRESET`, never SIGPIPE.
    pub async fn write(&self, buf: &[u8]) -> io::Result<usize> {
        stream::write(&self.fd, buf).await
    }

    /// Writes all of `buf`.
    pub async fn write_all(&self, buf: &[u8]) -> io::Result<()> {
        stream::write_all(&self.fd, buf).await
    }

    /// Shuts down the read side, the write side, or both.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.fd.get_ref().shutdown(how)
    }

    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.fd.get_ref().peer_addr()
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.fd.get_ref().local_addr()
    }

    /// Sets `TCP_NODELAY` (disables Nagle's algorithm).
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.fd.get_ref().set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.fd.get_ref().nodelay()
    }

    /// Wraps a connected std stream, making it non-blocking.
    pub fn from_std(stream: net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream {
            fd: AsyncFd::new(stream)?,
        })
    }

    /// Deregisters and returns the std stream (still non-blocking).
    pub fn into_std(self) -> net::TcpStream {
        self.fd.into_inner()
    }
}

impl AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl_futures_io!(TcpStream, crate::net::stream::ShortRead::Drains);
