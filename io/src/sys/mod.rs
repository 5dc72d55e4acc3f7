//! Every raw syscall of the I/O crate, one file per kind of object, and the socket-address
//! conversions they need. Each wrapper is safe: the `unsafe` block and its `// SAFETY:`
//! justification are at the call, through the reactor's `syscall!`, and every fd created is
//! owned as an `OwnedFd` at once. The exceptions are the signal handler's helpers in `signal`
//! (two `unsafe fn`s with their contracts, and the handler's `write` to an eventfd, made
//! directly: no `io::Error` is built inside a signal handler).

mod cmsg;
mod poll;
mod process;
mod signal;
mod sockaddr;
mod socket;
mod sockopt;

pub(crate) use cmsg::{recv_with_fds, send_with_fds, MAX_FDS};
pub(crate) use poll::wait_until_ready;
pub(crate) use process::{kill, pidfd_open, pidfd_send_signal, try_reap_pid, try_reap_pidfd};
pub(crate) use signal::{
    call_signal_handler, eventfd_notify_from_signal_handler, set_signal_action, siginfo_sender,
    signal_action, SavedErrno, SigInfoHandler, SignalAction,
};
pub(crate) use sockaddr::RawSockAddr;
pub(crate) use socket::*;
pub(crate) use sockopt::*;
