//! Non-blocking attempts (`try_read`, `try_send`, ...) and readiness waits for the socket types.
//!
//! A `try_*` method acts only on readiness the reactor has already seen: with none, it returns
//! `WouldBlock` at once without a syscall; otherwise it makes the syscall, and if that answers
//! `WouldBlock` it clears the readiness it acted on, so the next `readable()`/`writable()`
//! waits for a new edge. That is the edge-trigger contract of [`AsyncFd`]: only an observed
//! `EAGAIN` clears. An attempt never waits and never spends the task's cooperative budget
//! (nothing is awaited, so there is nothing to yield).
//!
//! Right after a socket is created the reactor has not reported its readiness yet (that
//! happens on the next turn), so the first `try_*` may answer `WouldBlock`: await
//! `readable()`/`writable()` first, as the examples do.

use std::future::Future;
use std::io;
use std::os::fd::AsFd;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use minireactor_reactor::{coop, Interest, Ready};

use crate::sys;
use crate::{AsyncFd, AsyncFdReadyGuard};

/// Runs `op` if `fd` has readiness for `interest`; see the module documentation.
pub(crate) fn try_io<S: AsFd, R>(
    fd: &AsyncFd<S>,
    interest: Interest,
    op: impl FnOnce(&S) -> io::Result<R>,
) -> io::Result<R> {
    if !fd.readiness().intersects(interest.mask()) {
        return Err(io::ErrorKind::WouldBlock.into());
    }
    // The readiness is there, so this wait resolves at once (nothing runs in between on this
    // thread); it is what yields the event stamp a clear needs. Unconstrained, so an exhausted
    // budget cannot turn it into a spurious `Pending`; the no-op waker is never stored.
    let mut wait = coop::unconstrained(fd.waiter(interest));
    let event = match Pin::new(&mut wait).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(event) => event?,
        Poll::Pending => return Err(io::ErrorKind::WouldBlock.into()),
    };
    let mut guard = AsyncFdReadyGuard::new(fd, event);
    let result = op(fd.get_ref());
    if matches!(&result, Err(err) if err.kind() == io::ErrorKind::WouldBlock) {
        guard.clear_ready();
    }
    result
}

/// One `recv` attempt: the body of the streams' `try_read` and the datagram sockets' `try_recv`.
pub(crate) fn try_recv<S: AsFd>(fd: &AsyncFd<S>, buf: &mut [u8]) -> io::Result<usize> {
    try_io(fd, Interest::Readable, |socket| {
        sys::recv(socket.as_fd(), buf, 0)
    })
}

/// One `send` attempt: the body of the streams' `try_write` and the datagram sockets'
/// `try_send`.
pub(crate) fn try_send<S: AsFd>(fd: &AsyncFd<S>, buf: &[u8]) -> io::Result<usize> {
    try_io(fd, Interest::Writable, |socket| {
        sys::send(socket.as_fd(), buf)
    })
}

/// Waits until `fd` is ready for `interest` and returns the readiness seen, without clearing
/// it: the body of the sockets' `ready`.
pub(crate) async fn ready<S: AsFd>(fd: &AsyncFd<S>, interest: Interest) -> io::Result<Ready> {
    Ok(fd.ready(interest).await?.ready())
}
