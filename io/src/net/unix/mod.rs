//! Unix-domain sockets: what `StreamSocket<Unix>`, `StreamListener<Unix>` and
//! `DatagramSocket<Unix>` add (paths and abstract names, pairs, peer credentials, fd passing),
//! [`UCred`], and the fd passing both socket kinds share.
//!
//! Addresses are std's `std::os::unix::net::SocketAddr`: a path, an abstract name (Linux: a name
//! in a namespace of its own, with no file, gone when the socket closes; build one with
//! `std::os::linux::net::SocketAddrExt::from_abstract_name`), or unnamed. Methods that take a
//! path have an `_addr` twin that takes a `SocketAddr`, the way to use an abstract name.

mod datagram;
mod fds;
mod listener;
mod stream;
mod ucred;

pub use fds::MAX_FDS;
pub use ucred::UCred;
