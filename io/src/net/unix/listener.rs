//! What a Unix listener adds to [`StreamListener`]: binding to a path or an abstract name.

use std::io;
use std::os::fd::AsFd;
use std::os::unix::net::SocketAddr;
use std::path::Path;

use crate::net::listener::DEFAULT_BACKLOG;
use crate::net::{StreamListener, UnixListener};
use crate::sys::{self, RawSockAddr};

impl UnixListener {
    /// Binds to `path` (which must not exist yet) and starts listening with the largest
    /// backlog the system allows (`net.core.somaxconn`), as `TcpListener::bind`.
    ///
    /// ```
    /// use minireactor::net::{UnixListener, UnixStream};
    ///
    /// minireactor::block_on(async {
    ///     let dir = std::env::temp_dir().join(format!("minireactor-doc-{}", std::process::id()));
    ///     std::fs::create_dir_all(&dir)?;
    ///     let path = dir.join("listener.sock");
    ///     let listener = UnixListener::bind(&path)?;
    ///     let client = UnixStream::connect(&path).await?;
    ///     let (server, _peer) = listener.accept().await?;
    ///     client.write_all(b"hello").await?;
    ///     let mut buf = [0; 5];
    ///     assert_eq!(server.read(&mut buf).await?, 5);
    ///     std::fs::remove_dir_all(&dir)
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        UnixListener::bind_raw(
            &RawSockAddr::from_unix_path(path.as_ref())?,
            DEFAULT_BACKLOG,
        )
    }

    /// Binds to `addr` (a path or an abstract name) and starts listening, as
    /// [`bind`](Self::bind). An unnamed `addr` binds to an abstract name the kernel picks.
    pub fn bind_addr(addr: &SocketAddr) -> io::Result<UnixListener> {
        UnixListener::bind_addr_with_backlog(addr, DEFAULT_BACKLOG)
    }

    /// [`bind_addr`](Self::bind_addr), queueing at most `backlog` connections that are not
    /// accepted yet (capped by the kernel at `net.core.somaxconn`). A connect to a full
    /// listener fails with `WouldBlock`.
    pub fn bind_addr_with_backlog(addr: &SocketAddr, backlog: u32) -> io::Result<UnixListener> {
        UnixListener::bind_raw(&RawSockAddr::from_unix(addr)?, backlog)
    }

    fn bind_raw(addr: &RawSockAddr, backlog: u32) -> io::Result<UnixListener> {
        let socket = sys::socket(libc::AF_UNIX, libc::SOCK_STREAM)?;
        sys::bind(socket.as_fd(), addr)?;
        let listener = StreamListener::listen(socket, backlog)?;
        tracing::debug!(addr = ?listener.local_addr(), backlog, "listening");
        Ok(listener)
    }
}

/// Registers the listener, as [`StreamListener::from_std`].
impl TryFrom<std::os::unix::net::UnixListener> for UnixListener {
    type Error = io::Error;

    fn try_from(listener: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        StreamListener::from_std(listener)
    }
}

/// Deregisters the listener, as [`StreamListener::into_std`].
impl From<UnixListener> for std::os::unix::net::UnixListener {
    fn from(listener: UnixListener) -> std::os::unix::net::UnixListener {
        listener.into_std()
    }
}
