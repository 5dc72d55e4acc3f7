//! TCP: [`TcpSocket`] (a socket to configure before it connects or listens), what
//! `StreamSocket<Tcp>` and `StreamListener<Tcp>` add for TCP (connect, bind, options), and
//! [`TcpKeepalive`].

mod keepalive;
mod listener;
mod socket;
mod stream;

pub use keepalive::TcpKeepalive;
pub use socket::TcpSocket;
