//! [`TcpSocket`]: a TCP socket to configure before it becomes a connection or a listener.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use crate::net::{StreamListener, StreamSocket, TcpListener, TcpStream};
use crate::sys::{self, IntOption, RawSockAddr};

/// A TCP socket that is neither connected nor listening yet: set its options, maybe bind it,
/// then [`connect`](Self::connect) or [`listen`](Self::listen).
///
/// It is not registered with the reactor until it becomes a [`TcpStream`] or a
/// [`TcpListener`]; it is non-blocking and close-on-exec from the start.
///
/// Binding before connecting picks the local address of an outgoing connection; two listeners
/// with [`set_reuseport`](Self::set_reuseport) share a port, the kernel spreading connections
/// between them:
///
/// ```
/// use minireactor::net::{TcpSocket, TcpStream};
///
/// minireactor::block_on(async {
///     let first = TcpSocket::new_v4()?;
///     first.set_reuseport(true)?;
///     first.bind("127.0.0.1:0".parse().unwrap())?;
///     let addr = first.local_addr()?;
///     let second = TcpSocket::new_v4()?;
///     second.set_reuseport(true)?;
///     second.bind(addr)?;
///     let (first, _second) = (first.listen(128)?, second.listen(128)?);
///
///     let client = TcpSocket::new_v4()?;
///     client.bind("127.0.0.1:0".parse().unwrap())?;
///     let local = client.local_addr()?;
///     let stream: TcpStream = client.connect(addr).await?;
///     assert_eq!(stream.local_addr()?, local);
///     # drop(first);
///     Ok::<_, std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TcpSocket {
    fd: OwnedFd,
}

impl TcpSocket {
    /// A new IPv4 socket.
    pub fn new_v4() -> io::Result<TcpSocket> {
        TcpSocket::new(libc::AF_INET)
    }

    /// A new IPv6 socket (which also accepts IPv4 peers, unless
    /// [`set_only_v6`](Self::set_only_v6)).
    pub fn new_v6() -> io::Result<TcpSocket> {
        TcpSocket::new(libc::AF_INET6)
    }

    /// A new socket of `addr`'s family.
    pub(crate) fn new_for(addr: &SocketAddr) -> io::Result<TcpSocket> {
        match addr {
            SocketAddr::V4(_) => TcpSocket::new_v4(),
            SocketAddr::V6(_) => TcpSocket::new_v6(),
        }
    }

    fn new(domain: libc::c_int) -> io::Result<TcpSocket> {
        Ok(TcpSocket {
            fd: sys::socket(domain, libc::SOCK_STREAM)?,
        })
    }

    /// Sets `SO_REUSEADDR`: bind to a port whose old connections sit in `TIME_WAIT`, as a
    /// restarted server must. `TcpListener::bind` sets it.
    pub fn set_reuseaddr(&self, reuseaddr: bool) -> io::Result<()> {
        sys::set_flag(self.fd.as_fd(), IntOption::ReuseAddr, reuseaddr)
    }

    /// Whether `SO_REUSEADDR` is set.
    pub fn reuseaddr(&self) -> io::Result<bool> {
        sys::get_flag(self.fd.as_fd(), IntOption::ReuseAddr)
    }

    /// Sets `SO_REUSEPORT`: several sockets of this user, each with it set, may bind the same
    /// address; the kernel spreads incoming connections among the listeners (sharding a server
    /// over several threads or processes).
    pub fn set_reuseport(&self, reuseport: bool) -> io::Result<()> {
        sys::set_flag(self.fd.as_fd(), IntOption::ReusePort, reuseport)
    }

    /// Whether `SO_REUSEPORT` is set.
    pub fn reuseport(&self) -> io::Result<bool> {
        sys::get_flag(self.fd.as_fd(), IntOption::ReusePort)
    }

    /// Sets `IPV6_V6ONLY` on an IPv6 socket: refuse IPv4 peers (so an IPv4 socket can bind the
    /// same port). The default is `net.ipv6.bindv6only`, usually off. Set it before `bind`.
    pub fn set_only_v6(&self, only_v6: bool) -> io::Result<()> {
        sys::set_flag(self.fd.as_fd(), IntOption::OnlyV6, only_v6)
    }

    /// Whether `IPV6_V6ONLY` is set.
    pub fn only_v6(&self) -> io::Result<bool> {
        sys::get_flag(self.fd.as_fd(), IntOption::OnlyV6)
    }

    /// Sets `SO_SNDBUF`. Linux doubles the value (for its bookkeeping) and reports the doubled
    /// size back.
    pub fn set_send_buffer_size(&self, size: u32) -> io::Result<()> {
        sys::set_int(self.fd.as_fd(), IntOption::SendBuffer, to_c_int(size))
    }

    /// The send buffer size (`SO_SNDBUF`).
    pub fn send_buffer_size(&self) -> io::Result<u32> {
        Ok(sys::get_int(self.fd.as_fd(), IntOption::SendBuffer)? as u32)
    }

    /// Sets `SO_RCVBUF`; doubled by Linux, as [`set_send_buffer_size`](Self::set_send_buffer_size).
    pub fn set_recv_buffer_size(&self, size: u32) -> io::Result<()> {
        sys::set_int(self.fd.as_fd(), IntOption::RecvBuffer, to_c_int(size))
    }

    /// The receive buffer size (`SO_RCVBUF`).
    pub fn recv_buffer_size(&self) -> io::Result<u32> {
        Ok(sys::get_int(self.fd.as_fd(), IntOption::RecvBuffer)? as u32)
    }

    /// Sets `TCP_NODELAY` (disables Nagle's algorithm) for the connection to come.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        sys::set_flag(self.fd.as_fd(), IntOption::NoDelay, nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    pub fn nodelay(&self) -> io::Result<bool> {
        sys::get_flag(self.fd.as_fd(), IntOption::NoDelay)
    }

    /// Binds the socket to `addr` (port 0: any free port).
    pub fn bind(&self, addr: SocketAddr) -> io::Result<()> {
        sys::bind(self.fd.as_fd(), &RawSockAddr::from_inet(&addr))
    }

    /// The address the socket is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        sys::local_addr(self.fd.as_fd())?.to_inet()
    }

    /// Connects to `addr`, waiting (without blocking the thread) until the connection is made or
    /// refused.
    pub async fn connect(self, addr: SocketAddr) -> io::Result<TcpStream> {
        tracing::debug!(%addr, "connecting");
        let fd = crate::net::stream::connect(self.fd, &RawSockAddr::from_inet(&addr)).await?;
        Ok(StreamSocket { fd })
    }

    /// Starts listening, queueing at most `backlog` connections that are not accepted yet. The
    /// kernel caps the backlog at `net.core.somaxconn`, so `u32::MAX` means "as many as the
    /// system allows" (what `TcpListener::bind` asks for).
    pub fn listen(self, backlog: u32) -> io::Result<TcpListener> {
        let listener = StreamListener::listen(self.fd, backlog)?;
        tracing::debug!(addr = ?listener.local_addr(), backlog, "listening");
        Ok(listener)
    }
}

fn to_c_int(size: u32) -> libc::c_int {
    size.try_into().unwrap_or(libc::c_int::MAX)
}

/// For options this type does not offer, through `socket2::SockRef::from(&socket)`.
impl AsFd for TcpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for TcpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// The socket is not registered, so its fd can leave as it is.
impl From<TcpSocket> for OwnedFd {
    fn from(socket: TcpSocket) -> OwnedFd {
        socket.fd
    }
}

impl fmt::Debug for TcpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpSocket")
            .field("fd", &self.fd.as_raw_fd())
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}
