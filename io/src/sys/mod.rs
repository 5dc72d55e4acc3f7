//! Every raw syscall of the I/O crate, one file per kind of object, and the socket-address
//! conversions they need. Each wrapper is safe: the `unsafe` block and its `// SAFETY:`
//! justification are at the call, through the reactor's `syscall!`, and every fd created is
//! owned as an `OwnedFd` at once.

mod cmsg;
mod ioctl;
mod signal;
mod sockaddr;
mod socket;
mod sockopt;

pub(crate) use cmsg::{recv_with_fds, send_with_fds, MAX_FDS};
pub(crate) use ioctl::{ioc, ioctl_with};
pub(crate) use signal::{eventfd_notify_from_signal_handler, install_signal_handler};
pub(crate) use sockaddr::RawSockAddr;
pub(crate) use socket::*;
pub(crate) use sockopt::*;
