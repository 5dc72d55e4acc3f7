//! The bounded channel: [`Sender::send`] waits, in arrival order, for a free slot.

use std::fmt;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{ready, Context, Poll};

use super::chan::{Chan, Closed, Recv, RecvMany};
use super::error::{SendError, TryRecvError, TrySendError};
use crate::semaphore::{TryAcquireError, Waiter};

/// Creates a channel holding at most `buffer` messages; senders wait (FIFO) when it is full.
///
/// ```
/// use minireactor_sync::mpsc;
///
/// minireactor::block_on(async {
///     let (tx, mut rx) = mpsc::channel(2);
///     let producer = minireactor::spawn(async move {
///         for i in 0..10 {
///             tx.send(i).await.unwrap(); // waits while 2 messages are queued
///         }
///     });
///     let mut sum = 0;
///     while let Some(i) = rx.recv().await {
///         sum += i;
///     }
///     producer.await.unwrap();
///     assert_eq!(sum, 45);
/// });
/// ```
///
/// # Panics
///
/// If `buffer` is 0 or exceeds [`Semaphore::MAX_PERMITS`](crate::Semaphore::MAX_PERMITS).
pub fn channel<T>(buffer: usize) -> (Sender<T>, Receiver<T>) {
    assert!(buffer > 0, "mpsc bounded channel requires buffer > 0");
    let chan = Chan::new(Some(buffer));
    (Sender { chan: chan.clone() }, Receiver { chan })
}

/// The sending half of a bounded channel; clone it for more senders.
pub struct Sender<T> {
    chan: Rc<Chan<T>>,
}

impl<T> Sender<T> {
    /// Waits for a free slot, then queues the message; hands it back if the receiver is closed
    /// or gone (before or while waiting).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe in that nothing is queued unless the future completes, and a slot handed to
    /// it passes to the next waiting sender; but the message inside is dropped with the future.
    /// To keep it, [`reserve`](Self::reserve) first, then send with the permit.
    pub fn send(&self, value: T) -> Send<'_, T> {
        Send {
            chan: &self.chan,
            value: Some(value),
            waiter: Waiter::new(1),
        }
    }

    /// Queues the message if a slot is free and no sender waits for one first.
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        match self.chan.slots().try_take(1) {
            Ok(()) => {
                self.chan.push(value);
                Ok(())
            }
            Err(TryAcquireError::NoPermits) => Err(TrySendError::Full(value)),
            Err(TryAcquireError::Closed) => Err(TrySendError::Closed(value)),
        }
    }

    /// Waits for a free slot and reserves it, to send into later without waiting.
    ///
    /// ```
    /// use minireactor_sync::mpsc;
    ///
    /// minireactor::block_on(async {
    ///     let (tx, mut rx) = mpsc::channel(1);
    ///     let permit = tx.reserve().await.unwrap();
    ///     assert!(tx.try_send(1).is_err(), "the only slot is reserved");
    ///     permit.send(2);
    ///     assert_eq!(rx.recv().await, Some(2));
    /// });
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future gives up its place, and a slot handed to it passes to
    /// the next waiting sender.
    pub fn reserve(&self) -> Reserve<'_, T> {
        Reserve {
            chan: &self.chan,
            waiter: Waiter::new(1),
        }
    }

    /// Reserves a slot if one is free and no sender waits for one first.
    pub fn try_reserve(&self) -> Result<Permit<'_, T>, TrySendError<()>> {
        match self.chan.slots().try_take(1) {
            Ok(()) => Ok(Permit { chan: &self.chan }),
            Err(TryAcquireError::NoPermits) => Err(TrySendError::Full(())),
            Err(TryAcquireError::Closed) => Err(TrySendError::Closed(())),
        }
    }

    /// [`reserve`](Self::reserve), moving the sender into the permit (which borrows nothing).
    ///
    /// # Cancel safety
    ///
    /// As for [`reserve`](Self::reserve); the sender is dropped with the future.
    pub fn reserve_owned(self) -> ReserveOwned<T> {
        ReserveOwned {
            sender: Some(self),
            waiter: Waiter::new(1),
        }
    }

    /// [`try_reserve`](Self::try_reserve), moving the sender into the permit; on failure the
    /// sender is handed back.
    pub fn try_reserve_owned(self) -> Result<OwnedPermit<T>, TrySendError<Sender<T>>> {
        match self.chan.slots().try_take(1) {
            Ok(()) => Ok(OwnedPermit { sender: Some(self) }),
            Err(TryAcquireError::NoPermits) => Err(TrySendError::Full(self)),
            Err(TryAcquireError::Closed) => Err(TrySendError::Closed(self)),
        }
    }

    /// Free slots now.
    pub fn capacity(&self) -> usize {
        self.chan.slots().available_permits()
    }

    /// The bound given to [`channel`].
    pub fn max_capacity(&self) -> usize {
        self.chan.bound()
    }
}

#[cfg(test)]
impl<T> Sender<T> {
    pub(crate) fn slot_waiters(&self) -> usize {
        self.chan.slots().allocated_waiters()
    }
}

impl_sender!(Sender);

/// Future of [`Sender::send`].
#[must_use = "futures do nothing unless polled"]
pub struct Send<'a, T> {
    chan: &'a Chan<T>,
    value: Option<T>,
    waiter: Waiter,
}

impl<T> Future for Send<'_, T> {
    type Output = Result<(), SendError<T>>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // `Send` is `Unpin`: it holds no self-reference.
        let this = self.get_mut();
        let acquired = ready!(this.chan.slots().poll_acquire(&mut this.waiter, cx));
        let value = this.value.take().expect("Send polled after completion");
        Poll::Ready(match acquired {
            // Granted before the receiver went (a grant is not revoked by it): the slot and the
            // message come back.
            Ok(()) => this.chan.push_into_slot(value).map_err(SendError),
            Err(_) => Err(SendError(value)),
        })
    }
}

impl<T> Unpin for Send<'_, T> {}

impl<T> Drop for Send<'_, T> {
    fn drop(&mut self) {
        self.chan.cancel_slot_wait(&mut self.waiter);
    }
}

impl<T> fmt::Debug for Send<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Send").finish_non_exhaustive()
    }
}

/// Future of [`Sender::reserve`].
#[must_use = "futures do nothing unless polled"]
pub struct Reserve<'a, T> {
    chan: &'a Chan<T>,
    waiter: Waiter,
}

impl<'a, T> Future for Reserve<'a, T> {
    type Output = Result<Permit<'a, T>, SendError<()>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        match ready!(this.chan.slots().poll_acquire(&mut this.waiter, cx)) {
            Ok(()) => Poll::Ready(Ok(Permit { chan: this.chan })),
            Err(_) => Poll::Ready(Err(SendError(()))),
        }
    }
}

impl<T> Drop for Reserve<'_, T> {
    fn drop(&mut self) {
        self.chan.cancel_slot_wait(&mut self.waiter);
    }
}

impl<T> fmt::Debug for Reserve<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reserve").finish_non_exhaustive()
    }
}

/// Future of [`Sender::reserve_owned`].
#[must_use = "futures do nothing unless polled"]
pub struct ReserveOwned<T> {
    /// `None` once moved into the permit.
    sender: Option<Sender<T>>,
    waiter: Waiter,
}

impl<T> Future for ReserveOwned<T> {
    type Output = Result<OwnedPermit<T>, SendError<()>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let sender = this.sender.as_ref().expect("polled after completion");
        let acquired = ready!(sender.chan.slots().poll_acquire(&mut this.waiter, cx));
        let sender = this.sender.take();
        Poll::Ready(match acquired {
            Ok(()) => Ok(OwnedPermit { sender }),
            Err(_) => Err(SendError(())),
        })
    }
}

impl<T> Unpin for ReserveOwned<T> {}

impl<T> Drop for ReserveOwned<T> {
    fn drop(&mut self) {
        if let Some(sender) = &self.sender {
            sender.chan.cancel_slot_wait(&mut self.waiter);
        }
    }
}

impl<T> fmt::Debug for ReserveOwned<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReserveOwned").finish_non_exhaustive()
    }
}

/// A reserved slot: [`send`](Permit::send) queues a message without waiting; dropping the
/// permit gives the slot back.
#[must_use = "dropping a permit gives its slot back"]
pub struct Permit<'a, T> {
    chan: &'a Chan<T>,
}

impl<T> Permit<'_, T> {
    /// Queues the message in the reserved slot. It is queued even if the receiver was closed
    /// meanwhile (it can still drain it); if the receiver is gone, it is dropped.
    pub fn send(self, value: T) {
        let this = ManuallyDrop::new(self); // The slot now belongs to the message.
        drop(this.chan.push_into_slot(value)); // Handed back if the receiver is gone: dropped.
    }
}

impl<T> Drop for Permit<'_, T> {
    fn drop(&mut self) {
        self.chan.release_slot();
    }
}

impl<T> fmt::Debug for Permit<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit").finish_non_exhaustive()
    }
}

/// A reserved slot that owns its [`Sender`].
#[must_use = "dropping a permit gives its slot back"]
pub struct OwnedPermit<T> {
    /// `None` once used.
    sender: Option<Sender<T>>,
}

impl<T> OwnedPermit<T> {
    /// Queues the message in the reserved slot (as [`Permit::send`]) and hands the sender back.
    pub fn send(mut self, value: T) -> Sender<T> {
        let sender = self
            .sender
            .take()
            .expect("a permit holds its sender until used");
        drop(sender.chan.push_into_slot(value)); // As `Permit::send`.
        sender
    }

    /// Gives the slot back without sending; hands the sender back.
    pub fn release(mut self) -> Sender<T> {
        let sender = self
            .sender
            .take()
            .expect("a permit holds its sender until used");
        sender.chan.release_slot();
        sender
    }
}

impl<T> Drop for OwnedPermit<T> {
    fn drop(&mut self) {
        if let Some(sender) = &self.sender {
            sender.chan.release_slot();
        }
    }
}

impl<T> fmt::Debug for OwnedPermit<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedPermit").finish_non_exhaustive()
    }
}

/// The receiving half of a bounded channel.
pub struct Receiver<T> {
    chan: Rc<Chan<T>>,
}

impl_receiver!(Receiver);

impl<T> Receiver<T> {
    /// Refuses new messages and fails waiting senders; messages already queued, and those sent
    /// through permits reserved before, can still be received.
    pub fn close(&mut self) {
        self.chan.close();
    }

    /// Free slots now.
    pub fn capacity(&self) -> usize {
        self.chan.slots().available_permits()
    }

    /// The bound given to [`channel`].
    pub fn max_capacity(&self) -> usize {
        self.chan.bound()
    }
}
