//! What a TCP stream adds to [`StreamSocket`]: connecting by address, and TCP's options.

use std::io;
use std::os::fd::AsFd;
use std::time::Duration;

use crate::net::addr::{each_addr, ToSocketAddrs};
use crate::net::{StreamSocket, TcpKeepalive, TcpSocket, TcpStream};
use crate::sys::{self, IntOption};

impl TcpStream {
    /// Connects to `addr`, trying each address it resolves to in turn; returns the first
    /// connection made, or the last error.
    ///
    /// The connect is non-blocking: the task waits for the socket to become writable, then the
    /// socket's `SO_ERROR` says whether the connection was made (e.g. `ConnectionRefused`). A
    /// host name is resolved on the blocking pool (see [`ToSocketAddrs`]), an IP address inline.
    ///
    /// ```
    /// use minireactor::net::{TcpListener, TcpStream};
    ///
    /// minireactor::block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let port = listener.local_addr()?.port();
    ///     let stream = TcpStream::connect(("127.0.0.1", port)).await?;
    ///     assert_eq!(stream.peer_addr()?, listener.local_addr()?);
    ///     Ok::<_, std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        each_addr(&addr, |addr| async move {
            TcpSocket::new_for(&addr)?.connect(addr).await
        })
        .await
    }

    /// Sets `TCP_NODELAY` (disables Nagle's algorithm: small writes go out at once).
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        sys::set_flag(self.as_fd(), IntOption::NoDelay, nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    pub fn nodelay(&self) -> io::Result<bool> {
        sys::get_flag(self.as_fd(), IntOption::NoDelay)
    }

    /// Sets the IP time-to-live of outgoing packets (`IP_TTL`).
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.get_ref().set_ttl(ttl)
    }

    /// The IP time-to-live of outgoing packets.
    pub fn ttl(&self) -> io::Result<u32> {
        self.get_ref().ttl()
    }

    /// Turns keepalive probes on with `keepalive`'s parameters (`SO_KEEPALIVE`,
    /// `TCP_KEEPIDLE`, `TCP_KEEPINTVL`, `TCP_KEEPCNT`), or off with `None`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use minireactor::net::{TcpKeepalive, TcpListener, TcpStream};
    ///
    /// minireactor::block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let stream = TcpStream::connect(listener.local_addr()?).await?;
    ///     let keepalive = TcpKeepalive::new()
    ///         .with_time(Duration::from_secs(30))
    ///         .with_interval(Duration::from_secs(5))
    ///         .with_retries(3);
    ///     stream.set_keepalive(Some(keepalive))?;
    ///     assert_eq!(stream.keepalive()?, Some(keepalive));
    ///     stream.set_keepalive(None)?;
    ///     assert_eq!(stream.keepalive()?, None);
    ///     Ok::<_, std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_keepalive(&self, keepalive: Option<TcpKeepalive>) -> io::Result<()> {
        let fd = self.as_fd();
        let Some(keepalive) = keepalive else {
            return sys::set_flag(self.as_fd(), IntOption::KeepAlive, false);
        };
        if let Some(time) = keepalive.time() {
            sys::set_int(fd, IntOption::KeepIdle, sys::duration_to_secs(time))?;
        }
        if let Some(interval) = keepalive.interval() {
            sys::set_int(fd, IntOption::KeepInterval, sys::duration_to_secs(interval))?;
        }
        if let Some(retries) = keepalive.retries() {
            let retries = retries.try_into().unwrap_or(libc::c_int::MAX);
            sys::set_int(fd, IntOption::KeepCount, retries)?;
        }
        sys::set_flag(self.as_fd(), IntOption::KeepAlive, true)
    }

    /// The keepalive parameters in effect (the system's defaults for those never set), or
    /// `None` if keepalive is off.
    pub fn keepalive(&self) -> io::Result<Option<TcpKeepalive>> {
        if !sys::get_flag(self.as_fd(), IntOption::KeepAlive)? {
            return Ok(None);
        }
        let fd = self.as_fd();
        let secs =
            |option| Ok::<_, io::Error>(Duration::from_secs(sys::get_int(fd, option)? as u64));
        Ok(Some(
            TcpKeepalive::new()
                .with_time(secs(IntOption::KeepIdle)?)
                .with_interval(secs(IntOption::KeepInterval)?)
                .with_retries(sys::get_int(fd, IntOption::KeepCount)? as u32),
        ))
    }

    /// Sets `SO_LINGER`. `Some(Duration::ZERO)` makes dropping the stream reset the connection
    /// (an `RST` instead of a `FIN`, discarding unsent data); `None` (the default) closes
    /// gracefully in the background.
    ///
    /// A non-zero linger makes the `close` when the stream is dropped *block the thread* until
    /// the data is sent or the time runs out, even on a non-blocking socket: that stops the
    /// whole runtime. Use it only with `Duration::ZERO`.
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        sys::set_linger(self.as_fd(), linger)
    }

    /// The `SO_LINGER` setting.
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        sys::linger(self.as_fd())
    }
}

/// Registers the stream, as [`StreamSocket::from_std`].
impl TryFrom<std::net::TcpStream> for TcpStream {
    type Error = io::Error;

    fn try_from(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        StreamSocket::from_std(stream)
    }
}

/// Deregisters the stream, as [`StreamSocket::into_std`].
impl From<TcpStream> for std::net::TcpStream {
    fn from(stream: TcpStream) -> std::net::TcpStream {
        stream.into_std()
    }
}
