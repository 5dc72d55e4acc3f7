//! What an I/O resource holds: its fd's place in this thread's reactor, and the futures that
//! wait for its readiness.
//!
//! A [`Registration`] is created once per fd and lives exactly as long as the resource's
//! interest in the fd. Dropping it deletes the fd from epoll, so the owner must drop the
//! registration *before* closing the fd: that is the contract of the `unsafe`
//! [`Registration::new`] (`AsyncFd` keeps it by holding its value in an `Option` that it takes
//! only after deregistering).
//!
//! Waiting comes in two forms (see `source` for why): [`Registration::ready`] returns a
//! [`Readiness`] future that owns a waiter slot while it waits (until it resolves or is
//! dropped), so any number of tasks can wait at once and a cancelled wait leaves nothing
//! behind; [`Registration::poll_ready`] is for `poll_*` methods and shares one waker per
//! direction with every other such poll.

use std::future::Future;
use std::io;
use std::os::fd::BorrowedFd;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use crate::reactor::{Reactor, SlotId};
use crate::readiness::{Interest, Ready, ReadyEvent};
use crate::source::WaitSlot;

/// An fd registered, edge-triggered, with this thread's reactor.
#[derive(Debug)]
pub struct Registration {
    reactor: Rc<Reactor>,
    id: SlotId,
}

impl Registration {
    /// Registers `fd` with this thread's reactor for every kind of readiness.
    ///
    /// The OS error is returned unchanged: `EPERM` means the file cannot be polled (a regular
    /// file, or a driver without a `poll` method).
    ///
    /// # Safety
    /// `fd` must stay open until the registration is dropped or [`deregister`](Self::deregister)ed.
    /// Dropping the registration deletes the fd *number* from epoll: if the fd were closed first
    /// and its number reused by another file, that would delete the other file's registration,
    /// which would then never be woken.
    ///
    /// A safe owner of the fd cannot give that promise by accident, which is why safe code
    /// registers through `AsyncFd`, which owns its value:
    ///
    /// ```compile_fail
    /// // A bare fd number owns nothing, so it is not `AsFd`, and `AsyncFd` refuses it.
    /// let fd: std::os::fd::RawFd = 0;
    /// let _ = minireactor::io::AsyncFd::new(fd);
    /// ```
    pub unsafe fn new(fd: BorrowedFd<'_>) -> io::Result<Registration> {
        let reactor = Reactor::current()?;
        let id = reactor.register(fd)?;
        Ok(Registration { reactor, id })
    }

    /// Polls for readiness that satisfies `interest`, storing the task's waker if there is none.
    ///
    /// For `poll_*` methods: the waker is shared with every other `poll_ready` of the same
    /// direction, so only the last task to poll a direction is woken. Futures should wait with
    /// [`ready`](Self::ready) instead. Readiness that resolves at once spends a unit of the
    /// task's cooperative budget (see [`crate::coop`]).
    ///
    /// # Errors
    /// If the registration was inherited from the parent process across a `fork`.
    pub fn poll_ready(
        &self,
        interest: Interest,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<ReadyEvent>> {
        self.polled(interest).poll_ready(cx)
    }

    /// A future that waits until readiness satisfies `interest`, with a waiter slot of its own
    /// (freed when it resolves or is dropped). It may be polled again after it resolved, to wait
    /// again.
    pub fn ready(&self, interest: Interest) -> Readiness<'_> {
        Readiness {
            registration: self,
            interest,
            slot: WaitSlot::Unassigned,
        }
    }

    /// Like [`ready`](Self::ready), but sharing the direction's waker as
    /// [`poll_ready`](Self::poll_ready) does; for loops inside `poll_*` methods.
    pub fn polled(&self, interest: Interest) -> Readiness<'_> {
        Readiness {
            registration: self,
            interest,
            slot: WaitSlot::Polled,
        }
    }

    /// Forgets the readiness in `event`, after the operation it allowed returned `WouldBlock`.
    /// Ignored if an event arrived since `event` was observed.
    #[inline]
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

/// Waits for one direction of a [`Registration`]'s readiness; returned by
/// [`Registration::ready`] and [`Registration::polled`].
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct Readiness<'a> {
    registration: &'a Registration,
    interest: Interest,
    slot: WaitSlot,
}

impl Readiness<'_> {
    /// Polls for the readiness; see [`Registration::poll_ready`].
    #[inline(always)]
    pub fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<ReadyEvent>> {
        let registration = self.registration;
        registration
            .reactor
            .poll_ready(registration.id, self.interest, &mut self.slot, cx)
    }

    /// What this future waits for.
    pub fn interest(&self) -> Interest {
        self.interest
    }
}

impl Future for Readiness<'_> {
    type Output = io::Result<ReadyEvent>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().poll_ready(cx)
    }
}

impl Drop for Readiness<'_> {
    #[inline]
    fn drop(&mut self) {
        if let Some(held) = self.slot.take_held() {
            give_up_slot(self.registration, held, self.interest);
        }
    }
}

/// Frees the waiter slot a dropped [`Readiness`] still held: out of line, so that the drop of
/// one that holds none (the I/O fast path) is inlined into its caller.
#[cold]
#[inline(never)]
fn give_up_slot(registration: &Registration, held: WaitSlot, interest: Interest) {
    registration
        .reactor
        .remove_waiter(registration.id, held, interest);
}
