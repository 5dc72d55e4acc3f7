//! What a Unix stream adds to [`StreamSocket`]: connecting by path or address, pairs, peer
//! credentials, and passing file descriptors.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::task::{Context, Poll};

use super::fds::{self, MAX_FDS};
use crate::net::{stream, StreamSocket, UCred, UnixStream};
use crate::sys::{self, RawSockAddr};

impl UnixStream {
    /// Connects to the listener at `path`.
    ///
    /// A Unix connect normally completes at once; if the listener's backlog is full it fails
    /// with `WouldBlock` rather than waiting (the kernel offers no readiness event for it).
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        UnixStream::connect_to(&RawSockAddr::from_unix_path(path.as_ref())?).await
    }

    /// Connects to the listener at `addr`: a path or an abstract name.
    ///
    /// ```
    /// use std::os::linux::net::SocketAddrExt;
    /// use std::os::unix::net::SocketAddr;
    /// use minireactor::net::{UnixListener, UnixStream};
    ///
    /// minireactor::block_on(async {
    ///     let name = format!("minireactor-doc-{}", std::process::id());
    ///     let addr = SocketAddr::from_abstract_name(name.as_bytes())?;
    ///     let listener = UnixListener::bind_addr(&addr)?;
    ///     let client = UnixStream::connect_addr(&addr).await?;
    ///     let (server, _) = listener.accept().await?;
    ///     client.write_all(b"no file involved").await?;
    ///     let mut buf = [0; 16];
    ///     assert_eq!(server.read(&mut buf).await?, 16);
    ///     assert_eq!(server.local_addr()?.as_abstract_name(), Some(name.as_bytes()));
    ///     Ok::<_, std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn connect_addr(addr: &SocketAddr) -> io::Result<UnixStream> {
        UnixStream::connect_to(&RawSockAddr::from_unix(addr)?).await
    }

    async fn connect_to(addr: &RawSockAddr) -> io::Result<UnixStream> {
        let socket = sys::socket(libc::AF_UNIX, libc::SOCK_STREAM)?;
        let fd = stream::connect(socket, addr).await?;
        Ok(StreamSocket { fd })
    }

    /// A connected pair of sockets (`socketpair`), non-blocking and close-on-exec.
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = sys::socketpair(libc::SOCK_STREAM)?;
        Ok((
            StreamSocket::from_nonblocking(a)?,
            StreamSocket::from_nonblocking(b)?,
        ))
    }

    /// The credentials of the peer process, as of when it connected (or made the pair).
    pub fn peer_cred(&self) -> io::Result<UCred> {
        UCred::of_peer(self.as_fd())
    }

    /// Sends `buf` with the file descriptors `fds` attached (at most [`MAX_FDS`]); returns how
    /// many bytes were sent. The peer receives its own copies of the fds (the same open files)
    /// with [`recv_with_fds`](Self::recv_with_fds); these stay open here.
    ///
    /// On a stream the fds travel with the first byte, so `buf` must not be empty; if fewer
    /// than `buf.len()` bytes were sent, the fds went with them: send the rest with
    /// [`write_all`](Self::write_all).
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use std::os::fd::AsFd;
    /// use minireactor::net::UnixStream;
    ///
    /// minireactor::block_on(async {
    ///     let (a, b) = UnixStream::pair()?;
    ///     let (mut pipe_reader, mut pipe_writer) = std::io::pipe()?;
    ///     a.send_with_fds(b"take this", &[pipe_writer.as_fd()]).await?;
    ///
    ///     let (mut buf, mut fds) = ([0; 16], Vec::new());
    ///     let n = b.recv_with_fds(&mut buf, &mut fds).await?;
    ///     assert_eq!((&buf[..n], fds.len()), (&b"take this"[..], 1));
    ///     // The received fd is the pipe's write end.
    ///     std::fs::File::from(fds.pop().unwrap()).write_all(b"via the passed fd")?;
    ///     drop(pipe_writer);
    ///     let mut text = String::new();
    ///     pipe_reader.read_to_string(&mut text)?;
    ///     assert_eq!(text, "via the passed fd");
    ///     Ok::<_, std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn send_with_fds(&self, buf: &[u8], fds: &[BorrowedFd<'_>]) -> io::Result<usize> {
        check_not_empty(buf, fds)?;
        fds::send_with_fds(&self.fd, buf, fds).await
    }

    /// Receives into `buf` and appends the file descriptors that came with those bytes to
    /// `fds` (room for [`MAX_FDS`], the most a message can carry); returns how many bytes were
    /// read, `Ok(0)` at EOF. The fds are owned and close-on-exec.
    ///
    /// A receive stops after bytes that carried fds, so the fds of two sends never merge.
    /// If the message's fds could not all be received (the process is out of fds), that is an
    /// error and the ones that arrived are closed: see [`recv_with_max_fds`](Self::recv_with_max_fds).
    pub async fn recv_with_fds(&self, buf: &mut [u8], fds: &mut Vec<OwnedFd>) -> io::Result<usize> {
        self.recv_with_max_fds(buf, fds, MAX_FDS).await
    }

    /// Like [`recv_with_fds`](Self::recv_with_fds), with room for only `max_fds` descriptors.
    ///
    /// If the message carries more (or the process runs out of fds), that is an error
    /// (`ErrorKind::Other`, saying how many data bytes were read), the data bytes are consumed,
    /// and the fds that did arrive are closed — none leaks, and none is handed out from an
    /// incomplete set. Credentials or a pidfd the socket was set to receive (`SO_PASSCRED`,
    /// `SO_PASSPIDFD`) never take the room of the `max_fds`.
    pub async fn recv_with_max_fds(
        &self,
        buf: &mut [u8],
        fds: &mut Vec<OwnedFd>,
        max_fds: usize,
    ) -> io::Result<usize> {
        fds::recv_with_fds(&self.fd, buf, fds, max_fds).await
    }

    /// The polling form of [`send_with_fds`](Self::send_with_fds) (sharing the write
    /// direction's waker with the other `poll_*` methods).
    pub fn poll_send_with_fds(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        fds: &[BorrowedFd<'_>],
    ) -> Poll<io::Result<usize>> {
        check_not_empty(buf, fds)?;
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
}

/// A stream send of no bytes sends nothing, fds included: refuse it rather than drop the fds.
fn check_not_empty(buf: &[u8], fds: &[BorrowedFd<'_>]) -> io::Result<()> {
    if buf.is_empty() && !fds.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "file descriptors sent on a stream need at least one byte of data to travel with",
        ));
    }
    Ok(())
}

/// Registers the stream, as [`StreamSocket::from_std`].
impl TryFrom<std::os::unix::net::UnixStream> for UnixStream {
    type Error = io::Error;

    fn try_from(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        StreamSocket::from_std(stream)
    }
}

/// Deregisters the stream, as [`StreamSocket::into_std`].
impl From<UnixStream> for std::os::unix::net::UnixStream {
    fn from(stream: UnixStream) -> std::os::unix::net::UnixStream {
        stream.into_std()
    }
}
