//! What a TCP listener adds to [`StreamListener`]: binding by address.

use std::io;

use crate::net::addr::{each_addr, ToSocketAddrs};
use crate::net::listener::DEFAULT_BACKLOG;
use crate::net::{StreamListener, TcpListener, TcpSocket};

impl TcpListener {
    /// Binds to `addr` with `SO_REUSEADDR` and starts listening with the largest backlog the
    /// system allows (`net.core.somaxconn`); with several resolved addresses, the first that
    /// binds wins. A host name is resolved on the blocking pool (see [`ToSocketAddrs`]), an IP
    /// address inline.
    ///
    /// For other options (`SO_REUSEPORT`, `IPV6_V6ONLY`, a chosen backlog), build a
    /// [`TcpSocket`] and [`listen`](TcpSocket::listen).
    ///
    /// ```
    /// use minireactor::net::TcpListener;
    ///
    /// minireactor::block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     assert_ne!(listener.local_addr()?.port(), 0);
    ///     Ok::<_, std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        each_addr(&addr, |addr| async move {
            let socket = TcpSocket::new_for(&addr)?;
            socket.set_reuseaddr(true)?;
            socket.bind(addr)?;
            socket.listen(DEFAULT_BACKLOG)
        })
        .await
    }
}

/// Registers the listener, as [`StreamListener::from_std`].
impl TryFrom<std::net::TcpListener> for TcpListener {
    type Error = io::Error;

    fn try_from(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        StreamListener::from_std(listener)
    }
}

/// Deregisters the listener, as [`StreamListener::into_std`].
impl From<TcpListener> for std::net::TcpListener {
    fn from(listener: TcpListener) -> std::net::TcpListener {
        listener.into_std()
    }
}
