//! The state both [`mpsc`](super) channels share: the message queue, the sender count, the
//! receiver's waker, and, for the bounded channel, a [`Semaphore`] of free slots.
//!
//! Invariants:
//! - Bounded: `slots` permits + messages queued + permits reserved by senders = the bound. A
//!   message's slot comes back when the receiver takes it.
//! - The receiver sees the end (`None`) only when the queue is empty and nothing more can come:
//!   every sender is gone, or the receiver was closed and every reserved slot was used or given
//!   back.
//! - Every change the receiver could be waiting for wakes its waker: a push, the last sender's
//!   drop, a slot given back after the close (unused by a permit, or handed to a sender whose
//!   future was dropped before it used it).
//! - Messages are dropped outside every borrow (a message may hold a sender of this channel).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{ready, Context, Poll};

use minireactor_reactor::coop;

use super::error::TryRecvError;
use crate::semaphore::{Semaphore, Waiter};
use crate::waiters::{WaitList, WaiterKey, WakeList};
use crate::waker_slot::WakerSlot;

pub(super) struct Chan<T> {
    queue: RefCell<VecDeque<T>>,
    senders: Cell<usize>,
    /// The receiver was closed or dropped: no new sends.
    closed: Cell<bool>,
    /// The receiver was dropped: nothing queued would ever be taken.
    receiver_gone: Cell<bool>,
    receiver_waker: WakerSlot,
    /// Senders waiting in `closed()`.
    closed_waiters: RefCell<WaitList<()>>,
    /// Bounded only: the free slots, and the bound.
    slots: Option<(Semaphore, usize)>,
}

impl<T> Chan<T> {
    pub(super) fn new(bound: Option<usize>) -> Rc<Chan<T>> {
        Rc::new(Chan {
            queue: RefCell::new(VecDeque::new()),
            senders: Cell::new(1),
            closed: Cell::new(false),
            receiver_gone: Cell::new(false),
            receiver_waker: WakerSlot::new(),
            closed_waiters: RefCell::new(WaitList::new()),
            slots: bound.map(|bound| (Semaphore::new(bound), bound)),
        })
    }

    /// The bounded channel's free slots.
    pub(super) fn slots(&self) -> &Semaphore {
        &self.slots.as_ref().expect("a bounded channel").0
    }

    pub(super) fn bound(&self) -> usize {
        self.slots.as_ref().expect("a bounded channel").1
    }

    /// Queues a message (its slot, if bounded, already taken) and wakes the receiver.
    #[inline]
    pub(super) fn push(&self, value: T) {
        self.queue.borrow_mut().push_back(value);
        self.receiver_waker.wake();
    }

    /// Queues a message into a slot taken earlier (before a close, maybe); if the receiver is
    /// gone meanwhile, frees the slot and hands the message back instead. Inlined: out of line
    /// in a caller's crate it cost 13 of a bounded message's 144 instructions.
    #[inline]
    pub(super) fn push_into_slot(&self, value: T) -> Result<(), T> {
        if self.receiver_gone.get() {
            self.release_slot();
            return Err(value);
        }
        self.push(value);
        Ok(())
    }

    pub(super) fn is_closed(&self) -> bool {
        self.closed.get()
    }

    pub(super) fn add_sender(&self) {
        self.senders.set(self.senders.get() + 1);
    }

    pub(super) fn drop_sender(&self) {
        let senders = self.senders.get() - 1;
        self.senders.set(senders);
        if senders == 0 {
            tracing::debug!("mpsc: last sender dropped");
            self.receiver_waker.wake();
        }
    }

    /// Gives back a slot reserved but not used.
    pub(super) fn release_slot(&self) {
        self.slots().release(1);
        self.wake_receiver_if_closed();
    }

    /// Gives up a sender's wait for a slot (its future is dropped), and the slot with it if one
    /// was handed to it. Nothing to do, on the hot path, for a future that completed.
    #[inline]
    pub(super) fn cancel_slot_wait(&self, waiter: &mut Waiter) {
        if waiter.is_queued() {
            self.slots().cancel(waiter);
            self.wake_receiver_if_closed();
        }
    }

    /// After a slot came back: it may have been the last one out, and then the receiver of a
    /// closed channel sees the end.
    fn wake_receiver_if_closed(&self) {
        if self.closed.get() {
            self.receiver_waker.wake();
        }
    }

    /// No message can come any more (the queue may still hold some).
    fn is_finished(&self) -> bool {
        self.senders.get() == 0
            || (self.closed.get()
                && self
                    .slots
                    .as_ref()
                    .is_none_or(|(slots, bound)| slots.available_permits() == *bound))
    }

    /// Gives back the slots of `n` messages taken off the queue (bounded only).
    #[inline]
    fn free_slots(&self, n: usize) {
        if let Some((slots, _)) = &self.slots {
            slots.release(n);
        }
    }

    /// Takes the next message off the queue, giving its slot back.
    #[inline]
    fn take(&self) -> Option<T> {
        let value = self.queue.borrow_mut().pop_front()?;
        self.free_slots(1);
        Some(value)
    }

    #[inline]
    pub(super) fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        // `take` inlined, under the one borrow that also checks for a message: the hot path of
        // every receive (a separate check and `take` cost 4 instructions a message more).
        let queue = self.queue.borrow_mut();
        if queue.is_empty() {
            drop(queue);
            return self.poll_recv_empty(cx);
        }
        let Some(mut queue) = coop::proceed_releasing(cx, queue) else {
            return Poll::Pending;
        };
        let value = queue.pop_front();
        drop(queue);
        self.free_slots(1);
        Poll::Ready(value)
    }

    /// [`poll_recv`](Self::poll_recv) on an empty queue: the end, or a wait. Out of line, so
    /// that a receive that finds a message saves and restores no registers for this path.
    #[inline(never)]
    fn poll_recv_empty(&self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        if self.is_finished() {
            ready!(coop::poll_proceed(cx));
            return Poll::Ready(None);
        }
        self.receiver_waker.register(cx.waker());
        Poll::Pending
    }

    pub(super) fn poll_recv_many(
        &self,
        cx: &mut Context<'_>,
        buffer: &mut Vec<T>,
        limit: usize,
    ) -> Poll<usize> {
        if limit == 0 {
            return Poll::Ready(0);
        }
        let queued = self.queue.borrow().len();
        if queued > 0 {
            ready!(coop::poll_proceed(cx));
            let n = queued.min(limit);
            buffer.extend(self.queue.borrow_mut().drain(..n));
            self.free_slots(n);
            return Poll::Ready(n);
        }
        if self.is_finished() {
            ready!(coop::poll_proceed(cx));
            return Poll::Ready(0);
        }
        self.receiver_waker.register(cx.waker());
        Poll::Pending
    }

    pub(super) fn try_recv(&self) -> Result<T, TryRecvError> {
        match self.take() {
            Some(value) => Ok(value),
            None if self.is_finished() => Err(TryRecvError::Disconnected),
            None => Err(TryRecvError::Empty),
        }
    }

    /// The receiver refuses new sends; what is queued can still be received.
    pub(super) fn close(&self) {
        if self.closed.replace(true) {
            return;
        }
        tracing::debug!("mpsc: receiver closed");
        if let Some((slots, _)) = &self.slots {
            slots.close();
        }
        let mut wakes = WakeList::new();
        self.closed_waiters.borrow_mut().drain(|_| {}, &mut wakes);
        wakes.wake_all();
    }

    /// The receiver is gone: close, and drop what is queued.
    pub(super) fn receiver_gone(&self) {
        self.close();
        self.receiver_gone.set(true);
        self.receiver_waker.clear();
        let queued = std::mem::take(&mut *self.queue.borrow_mut());
        self.free_slots(queued.len());
        drop(queued); // After the borrow.
    }

    pub(super) fn len(&self) -> usize {
        self.queue.borrow().len()
    }

    /// Whether the receiver was closed or every sender is gone.
    pub(super) fn is_disconnected(&self) -> bool {
        self.closed.get() || self.senders.get() == 0
    }

    pub(super) fn forget_receiver_waker(&self) {
        self.receiver_waker.clear();
    }
}

impl<T> fmt::Debug for Chan<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Chan")
            .field("queued", &self.len())
            .field("senders", &self.senders.get())
            .field("closed", &self.closed.get())
            .finish_non_exhaustive()
    }
}

/// Future of the receivers' `recv`.
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct Recv<'a, T> {
    chan: &'a Chan<T>,
    /// The receiver's waker is ours: forget it if dropped while waiting.
    waiting: bool,
}

impl<'a, T> Recv<'a, T> {
    pub(super) fn new(chan: &'a Chan<T>) -> Recv<'a, T> {
        Recv {
            chan,
            waiting: false,
        }
    }
}

impl<T> Future for Recv<'_, T> {
    type Output = Option<T>;

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let poll = self.chan.poll_recv(cx);
        self.waiting = poll.is_pending();
        poll
    }
}

impl<T> Drop for Recv<'_, T> {
    #[inline]
    fn drop(&mut self) {
        if self.waiting {
            self.chan.forget_receiver_waker();
        }
    }
}

/// Future of the receivers' `recv_many`.
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct RecvMany<'a, T> {
    chan: &'a Chan<T>,
    buffer: &'a mut Vec<T>,
    limit: usize,
    waiting: bool,
}

impl<'a, T> RecvMany<'a, T> {
    pub(super) fn new(chan: &'a Chan<T>, buffer: &'a mut Vec<T>, limit: usize) -> Self {
        RecvMany {
            chan,
            buffer,
            limit,
            waiting: false,
        }
    }
}

impl<T> Future for RecvMany<'_, T> {
    type Output = usize;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        let this = self.get_mut();
        let poll = this.chan.poll_recv_many(cx, this.buffer, this.limit);
        this.waiting = poll.is_pending();
        poll
    }
}

impl<T> Drop for RecvMany<'_, T> {
    fn drop(&mut self) {
        if self.waiting {
            self.chan.forget_receiver_waker();
        }
    }
}

/// Future of the senders' `closed`: completes when the receiver is closed or dropped.
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct Closed<'a, T> {
    chan: &'a Chan<T>,
    key: Option<WaiterKey>,
}

impl<'a, T> Closed<'a, T> {
    pub(super) fn new(chan: &'a Chan<T>) -> Closed<'a, T> {
        Closed { chan, key: None }
    }
}

impl<T> Future for Closed<'_, T> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.chan.closed.get() {
            ready!(coop::poll_proceed(cx));
            if let Some(key) = this.key.take() {
                this.chan.closed_waiters.borrow_mut().remove(key);
            }
            return Poll::Ready(());
        }
        let mut waiters = this.chan.closed_waiters.borrow_mut();
        match &this.key {
            Some(key) => waiters.set_waker(key, cx.waker()),
            None => this.key = Some(waiters.push_back((), cx.waker())),
        }
        Poll::Pending
    }
}

impl<T> Drop for Closed<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.chan.closed_waiters.borrow_mut().remove(key);
        }
    }
}
