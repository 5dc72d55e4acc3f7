//! Every raw syscall of the I/O crate, one file per kind of object, and the socket-address
//! conversions they need. Each wrapper is safe: the `unsafe` block and its `// SAFETY:`
//! justification are at the call, through the reactor's `syscall!`, and every fd created is
//! owned as an `OwnedFd` at once.

mod signal;
mod socket;

pub(crate) use signal::{eventfd_notify_from_signal_handler, install_signal_handler};
pub(crate) use socket::*;
