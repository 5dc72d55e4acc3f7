//! [`UnixListener`] and [`UnixStream`].

use std::io;
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::os::unix::net::{self, SocketAddr};
use std::path::Path;

use minireactor_reactor::Interest;

use crate::net::stream::{self, impl_futures_io, ShortRead};
use crate::sys::{self, RawSockAddr};
use crate::AsyncFd;

/// The listen backlog, as for TCP.
const BACKLOG: libc::c_int = 1024;

/// A Unix-domain stream socket listening for connections.
#[derive(Debug)]
pub struct UnixListener {
    fd: AsyncFd<net::UnixListener>,
}

impl UnixListener {
    /// Binds to `path` (which must not exist yet) and starts listening.
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        let socket = sys::socket(libc::AF_UNIX, libc::SOCK_STREAM)?;
        sys::bind(socket.as_fd(), &RawSockAddr::from_unix_path(path.as_ref())?)?;
        sys::listen(socket.as_fd(), BACKLOG)?;
        Ok(UnixListener {
            fd: AsyncFd::new_nonblocking(net::UnixListener::from(socket))?,
        })
    }

    /// Waits for a connection; the new socket is non-blocking and close-on-exec.
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        let (socket, _) = self
            .fd
            .async_io(Interest::Readable, |listener| sys::accept(listener.as_fd()))
            .await?;
        let socket = net::UnixStream::from(socket);
        let peer = socket.peer_addr()?;
        let stream = UnixStream {
            fd: AsyncFd::new_nonblocking(socket)?,
        };
        Ok((stream, peer))
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.fd.get_ref().local_addr()
    }

    /// Wraps a std listener, making it non-blocking.
    pub fn from_std(listener: net::UnixListener) -> io::Result<UnixListener> {
        Ok(UnixListener {
            fd: AsyncFd::new(listener)?,
        })
    }

    /// Deregisters and returns the std listener (still non-blocking).
    pub fn into_std(self) -> net::UnixListener {
        self.fd.into_inner()
    }
}

impl AsRawFd for UnixListener {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// A Unix-domain stream connection. Methods take `&self`, as for [`TcpStream`](crate::net::TcpStream).
///
/// ```
/// use minireactor::net::UnixStream;
///
/// minireactor::block_on(async {
///     let (a, b) = UnixStream::pair()?;
///     a.write_all(b"over the pair").await?;
///     let mut buf = [0; 32];
///     let n = b.read(&mut buf).await?;
///     assert_eq!(&buf[..n], b"over the pair");
///     Ok::<_, std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct UnixStream {
    fd: AsyncFd<net::UnixStream>,
}

impl UnixStream {
    /// Connects to the listener at `path`.
    ///
    /// A Unix connect normally completes at once; if the listener's backlog is full it fails
    /// with `WouldBlock` rather than waiting (the kernel offers no readiness event for it).
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        let addr = RawSockAddr::from_unix_path(path.as_ref())?;
        let fd = stream::connect(libc::AF_UNIX, &addr).await?;
        Ok(UnixStream { fd })
    }

    /// A connected pair of sockets.
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = net::UnixStream::pair()?;
        Ok((UnixStream::from_std(a)?, UnixStream::from_std(b)?))
    }

    /// Reads into `buf`; `Ok(0)` means the peer closed its write side (or `buf` is empty).
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        stream::read(&self.fd, buf, ShortRead::ProvesNothing).await
    }

    /// Writes some of `buf`; a peer that is gone gives `EPIPE`, never SIGPIPE.
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

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.fd.get_ref().local_addr()
    }

    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.fd.get_ref().peer_addr()
    }

    /// Wraps a connected std stream, making it non-blocking.
    pub fn from_std(stream: net::UnixStream) -> io::Result<UnixStream> {
        Ok(UnixStream {
            fd: AsyncFd::new(stream)?,
        })
    }

    /// Deregisters and returns the std stream (still non-blocking).
    pub fn into_std(self) -> net::UnixStream {
        self.fd.into_inner()
    }
}

impl AsRawFd for UnixStream {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl_futures_io!(UnixStream, crate::net::stream::ShortRead::ProvesNothing);
