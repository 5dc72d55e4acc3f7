//! What an I/O resource holds: its fd's place in this thread's reactor.
//!
//! A [`Registration`] is created once per fd and lives exactly as long as the resource's
//! interest in the fd. Dropping it deletes the fd from epoll, so the owner must drop the
//! registration *before* closing the fd (`AsyncFd` does this by keeping its value in an
//! `Option` that it takes only after deregistering).

use std::future::poll_fn;
use std::io;
use std::os::fd::RawFd;
use std::rc::Rc;
use std::task::{Context, Poll};

use crate::reactor::{Reactor, SlotId};
use crate::readiness::{Interest, Ready, ReadyEvent};

/// An fd registered, edge-triggered, with this thread's reactor.
#[derive(Debug)]
pub struct Registration {
    reactor: Rc<Reactor>,
    id: SlotId,
}

impl Registration {
    /// Registers `fd` with this thread's reactor for every kind of readiness.
    ///
    /// The fd must stay open until the registration is dropped or
    /// [`deregister`](Self::deregister)ed. The OS error is returned unchanged: `EPERM` means the
    /// file cannot be polled (a regular file, or a driver without a `poll` method).
    pub fn new(fd: RawFd) -> io::Result<Registration> {
        let reactor = Reactor::current()?;
        let id = reactor.register(fd)?;
        Ok(Registration { reactor, id })
    }

    /// Ready with the readiness that satisfies `interest`, or stores the task's waker.
    pub fn poll_ready(&self, interest: Interest, cx: &mut Context<'_>) -> Poll<ReadyEvent> {
        self.reactor.poll_ready(self.id, interest, cx)
    }

    /// Waits until readiness satisfies `interest`.
    pub async fn ready(&self, interest: Interest) -> ReadyEvent {
        poll_fn(|cx| self.poll_ready(interest, cx)).await
    }

    /// Forgets the readiness in `event`, after the operation it allowed returned `WouldBlock`.
    /// Ignored if an event arrived since `event` was observed.
    pub fn clear_readiness(&self, event: ReadyEvent) {
        self.reactor.clear_readiness(self.id, event);
    }

    /// Readiness seen and not yet cleared.
    pub fn readiness(&self) -> Ready {
        self.reactor.readiness(self.id)
    }

    /// Deletes the fd from epoll now and reports the error, which `drop` can only log.
    pub fn deregister(self) -> io::Result<()> {
        // `drop` will find the slot already gone (its generation no longer matches).
        self.reactor.deregister(self.id)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Err(err) = self.reactor.deregister(self.id) {
            tracing::debug!(%err, "EPOLL_CTL_DEL failed while dropping a registration");
        }
    }
}
