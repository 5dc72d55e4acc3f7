//! Sockets on [`AsyncFd`](crate::AsyncFd): TCP, UDP and Unix streams.
//!
//! Every socket is registered once, edge-triggered; an operation makes no syscall beyond the
//! `recv`/`send` (or `accept`) itself while readiness is known. Sockets this module creates are
//! non-blocking and close-on-exec from the start (`SOCK_NONBLOCK | SOCK_CLOEXEC`, `accept4`).
//! Writes use `MSG_NOSIGNAL`, so a vanished peer is an `EPIPE`/`ECONNRESET` error, not SIGPIPE.

pub(crate) mod stream;
mod tcp;
mod udp;
mod unix;

pub use tcp::{TcpListener, TcpStream};
pub use udp::UdpSocket;
pub use unix::{UnixListener, UnixStream};
