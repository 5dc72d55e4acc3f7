//! Sockets on [`AsyncFd`](crate::AsyncFd): TCP ([`TcpStream`], [`TcpListener`], [`TcpSocket`]),
//! UDP ([`UdpSocket`]), Unix streams and datagrams ([`UnixStream`], [`UnixListener`],
//! [`UnixDatagram`]), and address resolution ([`ToSocketAddrs`], [`lookup_host`]).
//!
//! # Invariants
//!
//! - **One registration.** Every socket is registered once, edge-triggered, on this thread's
//!   epoll set, from construction until drop (or `into_std`, which deregisters first; so does
//!   converting into an `OwnedFd`). A `TcpSocket` is registered when it becomes a stream or a
//!   listener.
//! - **No syscall beyond the operation.** While readiness is known, an I/O operation makes
//!   exactly its own syscall (`recv`, `send`, `recvmsg`, `sendmsg`, `accept4`, ...); an accepted
//!   connection's peer address comes from the same `accept4` (but for a Unix path that fills all
//!   of `sun_path`, which std cannot be given and asks the kernel for again). Readiness is
//!   cleared only after an observed `EAGAIN`, with two proven exceptions: a short TCP read and
//!   a short send on a stream (see `stream`).
//! - **Non-blocking and close-on-exec from birth.** Sockets this module creates come from
//!   `socket`, `socketpair` or `accept4` with `SOCK_NONBLOCK | SOCK_CLOEXEC`: no `fcntl` follows,
//!   and no child of a concurrent `fork` + `exec` inherits them. Sockets handed in by `from_std`
//!   (or `TryFrom`) are made non-blocking with `fcntl`, and get their flags back in `into_std`.
//! - **No SIGPIPE.** Sends use `MSG_NOSIGNAL`, so a vanished peer is an `EPIPE`/`ECONNRESET`
//!   error, not a signal.
//! - **DNS never blocks the reactor thread.** IP literals resolve inline; host names are looked
//!   up on the blocking pool (see [`ToSocketAddrs`]).
//! - **No fd leaks.** Received file descriptors are wrapped in `OwnedFd` as soon as the kernel
//!   installs them, close-on-exec, and closed if they are not handed out (see
//!   [`UnixStream::recv_with_fds`]).
//!
//! # Non-blocking attempts
//!
//! The `try_*` methods (`try_read`, `try_write`, `try_send`, `try_recv`, ...) act only on
//! readiness the reactor has already seen: with none they return `WouldBlock` at once, without
//! a syscall; otherwise they make the syscall, and if it answers `WouldBlock` they clear the
//! readiness, so the next `readable()`/`writable()` waits for a new edge. They never wait and
//! never spend the task's cooperative budget. A socket's readiness is first reported on the
//! reactor turn after it was created, so await `readable()`/`writable()` before a first attempt.
//!
//! # One implementation for TCP and Unix streams, one for UDP and Unix datagrams
//!
//! [`TcpStream`] and [`UnixStream`] are the same type, [`StreamSocket`], for the two
//! [`StreamProtocol`]s ([`Tcp`], [`Unix`]); likewise [`TcpListener`] and [`UnixListener`] are
//! [`StreamListener`]. The split halves ([`ReadHalf`], [`WriteHalf`], [`OwnedReadHalf`],
//! [`OwnedWriteHalf`]) are generic the same way. [`UdpSocket`] and [`UnixDatagram`] are
//! [`DatagramSocket`] for the two [`DatagramProtocol`]s ([`Udp`], [`Unix`]). What only one
//! protocol has (TCP and UDP options, Unix credentials and fd passing, addressing by each one's
//! kind of address) is implemented on that protocol's type alone.

mod addr;
mod datagram;
mod futures_io;
mod incoming;
mod listener;
mod protocol;
mod split;
pub(crate) mod stream;
mod stream_socket;
mod tcp;
mod try_io;
mod udp;
mod unix;

pub use addr::{lookup_host, ToSocketAddrs};
pub use datagram::DatagramSocket;
pub use incoming::Incoming;
pub use listener::StreamListener;
pub use protocol::{DatagramProtocol, StreamProtocol, Tcp, Udp, Unix};
pub use split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, WriteHalf};
pub use stream_socket::StreamSocket;
pub use tcp::{TcpKeepalive, TcpSocket};
pub use unix::{UCred, MAX_FDS};

/// A TCP connection: [`StreamSocket`] for [`Tcp`].
///
/// ```
/// use minireactor::net::{TcpListener, TcpStream};
///
/// minireactor::block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let client = TcpStream::connect(listener.local_addr()?).await?;
///     let (server, _) = listener.accept().await?;
///     client.set_nodelay(true)?;
///     client.write_all(b"over tcp").await?;
///     let mut buf = [0; 8];
///     assert_eq!(server.read(&mut buf).await?, 8);
///     Ok::<_, std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub type TcpStream = StreamSocket<Tcp>;

/// A TCP socket listening for connections: [`StreamListener`] for [`Tcp`].
///
/// ```
/// use minireactor::net::{TcpListener, TcpStream};
///
/// minireactor::block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let _client = TcpStream::connect(listener.local_addr()?).await?;
///     let (_server, peer) = listener.accept().await?;
///     assert!(peer.ip().is_loopback());
///     Ok::<_, std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub type TcpListener = StreamListener<Tcp>;

/// A Unix-domain stream connection: [`StreamSocket`] for [`Unix`], with peer credentials
/// ([`peer_cred`](StreamSocket::peer_cred)) and fd passing
/// ([`send_with_fds`](StreamSocket::send_with_fds)).
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
pub type UnixStream = StreamSocket<Unix>;

/// A Unix-domain stream socket listening for connections: [`StreamListener`] for [`Unix`], on
/// a path or an abstract name.
///
/// ```
/// use std::os::linux::net::SocketAddrExt;
/// use std::os::unix::net::SocketAddr;
/// use minireactor::net::{UnixListener, UnixStream};
///
/// minireactor::block_on(async {
///     let addr = SocketAddr::from_abstract_name(format!("doc-{}", std::process::id()))?;
///     let listener = UnixListener::bind_addr(&addr)?;
///     let _client = UnixStream::connect_addr(&addr).await?;
///     let (_server, peer) = listener.accept().await?;
///     assert!(peer.is_unnamed()); // The client did not bind.
///     Ok::<_, std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub type UnixListener = StreamListener<Unix>;

/// A UDP socket: [`DatagramSocket`] for [`Udp`], with binding, connecting and sending by
/// `SocketAddr` (or anything that resolves to one) and UDP's options.
///
/// ```
/// use minireactor::net::UdpSocket;
///
/// minireactor::block_on(async {
///     let a = UdpSocket::bind("127.0.0.1:0").await?;
///     let b = UdpSocket::bind("127.0.0.1:0").await?;
///     a.send_to(b"ping", b.local_addr()?).await?;
///     let mut buf = [0; 8];
///     let (n, from) = b.recv_from(&mut buf).await?;
///     assert_eq!((&buf[..n], from), (&b"ping"[..], a.local_addr()?));
///     Ok::<_, std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub type UdpSocket = DatagramSocket<Udp>;

/// A Unix-domain datagram socket: [`DatagramSocket`] for [`Unix`]. Reliable, ordered datagrams
/// between processes of one host, addressed by path or abstract name, with file-descriptor
/// passing ([`send_with_fds`](DatagramSocket::send_with_fds)).
///
/// Unlike UDP, no datagram is dropped: a send to a peer whose queue is full waits. On a
/// connected socket it is woken when the peer reads; an unconnected `send_to` is woken only
/// when datagrams of its own are consumed (a kernel limitation), so connect for steady traffic
/// to one peer.
///
/// ```
/// use minireactor::net::UnixDatagram;
///
/// minireactor::block_on(async {
///     let dir = std::env::temp_dir().join(format!("minireactor-dgram-doc-{}", std::process::id()));
///     std::fs::create_dir_all(&dir)?;
///     let server = UnixDatagram::bind(dir.join("server.sock"))?;
///     let client = UnixDatagram::bind(dir.join("client.sock"))?;
///     client.send_to(b"ping", dir.join("server.sock")).await?;
///     let mut buf = [0; 8];
///     let (n, from) = server.recv_from(&mut buf).await?;
///     assert_eq!(&buf[..n], b"ping");
///     assert_eq!(from.as_pathname(), Some(dir.join("client.sock").as_path()));
///     std::fs::remove_dir_all(&dir)
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub type UnixDatagram = DatagramSocket<Unix>;
