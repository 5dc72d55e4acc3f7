//! [`Semaphore`]: a FIFO-fair counting semaphore, and the permit queue that [`Mutex`],
//! [`RwLock`] and the bounded [`mpsc`] channel are built on.
//!
//! Invariants:
//! - Permits go to waiters strictly in arrival order. A release gives permits to the oldest
//!   waiter until it has all it asked for, then to the next; only what no waiter wants becomes
//!   *available*. So **while anyone waits, no permit is available**, and a newcomer (even a
//!   `try_acquire`) can never overtake a waiter that asked for more.
//! - A waiter may hold part of its request (it was at the head when some permits came back).
//!   If its future is dropped, everything it was given is released again, to the next waiter:
//!   permits are never lost with a cancelled acquire, and never handed out twice.
//! - `close` fails every waiter and every later acquire; permits still come back when released.
//! - The semaphore's permits in all (available, held, and given to waiters so far) never exceed
//!   [`Semaphore::MAX_PERMITS`]: `add_permits` refuses (panics) before that. So giving permits
//!   back never overflows, and a permit's `Drop` never panics.
//!
//! [`Mutex`]: crate::Mutex
//! [`RwLock`]: crate::RwLock
//! [`mpsc`]: crate::mpsc

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{ready, Context, Poll};

use minireactor_reactor::coop;

use crate::waiters::{WaitList, WaiterKey, WakeList};

/// A counting semaphore for the tasks of one thread: `acquire` waits, FIFO, until enough permits
/// are free.
///
/// ```
/// use std::rc::Rc;
/// use minireactor_sync::Semaphore;
///
/// minireactor::block_on(async {
///     // At most two downloads at a time.
///     let limit = Rc::new(Semaphore::new(2));
///     let tasks: Vec<_> = (0..5)
///         .map(|i| {
///             let limit = limit.clone();
///             minireactor::spawn(async move {
///                 let _permit = limit.acquire().await.unwrap();
///                 minireactor::yield_now().await; // the "download"
///                 i
///             })
///         })
///         .collect();
///     for (i, task) in tasks.into_iter().enumerate() {
///         assert_eq!(task.await.unwrap(), i);
///     }
///     assert_eq!(limit.available_permits(), 2);
/// });
/// ```
pub struct Semaphore {
    state: RefCell<State>,
}

struct State {
    /// Permits no waiter has been given; zero whenever `waiters` is not empty.
    available: usize,
    /// The semaphore's permits in all: available, held, and given to waiters so far. At most
    /// [`Semaphore::MAX_PERMITS`].
    total: usize,
    closed: bool,
    /// Per waiter: how many permits it still needs (zero once granted).
    waiters: WaitList<usize>,
}

/// Error of an acquire on a closed [`Semaphore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcquireError(());

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("semaphore closed")
    }
}

impl std::error::Error for AcquireError {}

/// Error of [`Semaphore::try_acquire`] and friends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryAcquireError {
    /// The semaphore was closed.
    Closed,
    /// Not enough permits are available (or other tasks wait for them first).
    NoPermits,
}

impl fmt::Display for TryAcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryAcquireError::Closed => f.write_str("semaphore closed"),
            TryAcquireError::NoPermits => f.write_str("no permits available"),
        }
    }
}

impl std::error::Error for TryAcquireError {}

impl Semaphore {
    /// The most permits a semaphore can hold.
    pub const MAX_PERMITS: usize = usize::MAX >> 3;

    /// A semaphore with `permits` permits.
    ///
    /// # Panics
    ///
    /// If `permits` exceeds [`Semaphore::MAX_PERMITS`].
    pub fn new(permits: usize) -> Semaphore {
        assert!(
            permits <= Self::MAX_PERMITS,
            "a semaphore holds at most {} permits",
            Self::MAX_PERMITS
        );
        Semaphore {
            state: RefCell::new(State {
                available: permits,
                total: permits,
                closed: false,
                waiters: WaitList::new(),
            }),
        }
    }

    /// Permits that could be acquired right now.
    pub fn available_permits(&self) -> usize {
        self.state.borrow().available
    }

    /// Adds `n` permits, handing them to waiters first, oldest first.
    ///
    /// # Panics
    ///
    /// If the semaphore would then have more than [`Semaphore::MAX_PERMITS`] permits, counting
    /// those held by permits and waiters as well as the available ones (so that giving them
    /// back later can never overflow).
    pub fn add_permits(&self, n: usize) {
        let mut state = self.state.borrow_mut();
        assert!(
            n <= Self::MAX_PERMITS - state.total,
            "a semaphore holds at most {} permits (it has {}, held ones included; {n} more \
             were added)",
            Self::MAX_PERMITS,
            state.total
        );
        state.total += n;
        drop(state);
        self.release(n);
    }

    /// Removes up to `n` available permits; returns how many were removed.
    pub fn forget_permits(&self, n: usize) -> usize {
        let mut state = self.state.borrow_mut();
        let forgotten = state.available.min(n);
        state.available -= forgotten;
        state.total -= forgotten;
        forgotten
    }

    /// Takes `n` held permits out of the semaphore for good (a permit's `forget`).
    fn forget_held(&self, n: usize) {
        self.state.borrow_mut().total -= n;
    }

    /// Closes the semaphore: every waiting and every later acquire fails with [`AcquireError`].
    /// Permits already held stay valid.
    pub fn close(&self) {
        let mut wakes = WakeList::new();
        let mut state = self.state.borrow_mut();
        state.closed = true;
        state.waiters.drain(|_| {}, &mut wakes);
        drop(state);
        tracing::debug!("semaphore closed");
        wakes.wake_all();
    }

    /// Whether [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.state.borrow().closed
    }

    /// Waits for one permit.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe. Dropping the future gives up its place in the queue; a permit already handed
    /// to it goes to the next waiter.
    pub fn acquire(&self) -> Acquire<'_> {
        Acquire {
            raw: RawAcquire::new(self, 1),
        }
    }

    /// Waits for `n` permits, all at once.
    ///
    /// The request waits at its place in the queue until all `n` are free; waiters behind it
    /// wait too, even for fewer permits (no overtaking).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe. Dropping the future gives up its place; the permits it was given so far go
    /// to the next waiter.
    pub fn acquire_many(&self, n: u32) -> Acquire<'_> {
        Acquire {
            raw: RawAcquire::new(self, n as usize),
        }
    }

    /// Takes one permit if one is available and no task waits for permits first.
    pub fn try_acquire(&self) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_acquire_many(1)
    }

    /// Takes `n` permits if they are available and no task waits for permits first.
    pub fn try_acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_take(n as usize)?;
        Ok(SemaphorePermit {
            semaphore: self,
            permits: n as usize,
        })
    }

    /// [`acquire`](Self::acquire) for an `Rc<Semaphore>`: the permit keeps the semaphore alive
    /// and borrows nothing.
    ///
    /// # Cancel safety
    ///
    /// As for [`acquire`](Self::acquire).
    pub fn acquire_owned(self: Rc<Self>) -> AcquireOwned {
        self.acquire_many_owned(1)
    }

    /// [`acquire_many`](Self::acquire_many) for an `Rc<Semaphore>`.
    ///
    /// # Cancel safety
    ///
    /// As for [`acquire_many`](Self::acquire_many).
    pub fn acquire_many_owned(self: Rc<Self>, n: u32) -> AcquireOwned {
        AcquireOwned {
            semaphore: Some(self),
            waiter: Waiter::new(n as usize),
        }
    }

    /// [`try_acquire`](Self::try_acquire) for an `Rc<Semaphore>`.
    pub fn try_acquire_owned(self: Rc<Self>) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.try_acquire_many_owned(1)
    }

    /// [`try_acquire_many`](Self::try_acquire_many) for an `Rc<Semaphore>`.
    pub fn try_acquire_many_owned(
        self: Rc<Self>,
        n: u32,
    ) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.try_take(n as usize)?;
        Ok(OwnedSemaphorePermit {
            semaphore: self,
            permits: n as usize,
        })
    }

    /// Takes `n` permits at once, or says why not.
    pub(crate) fn try_take(&self, n: usize) -> Result<(), TryAcquireError> {
        let mut state = self.state.borrow_mut();
        if state.closed {
            Err(TryAcquireError::Closed)
        } else if state.available >= n {
            // No waiter can be overtaken: while one waits, nothing is available.
            state.available -= n;
            Ok(())
        } else {
            Err(TryAcquireError::NoPermits)
        }
    }

    /// Gives `n` permits back: to the waiters first, oldest first, then to `available`. They
    /// are counted in `total` already, so `available` cannot overflow.
    #[inline]
    pub(crate) fn release(&self, n: usize) {
        let mut state = self.state.borrow_mut();
        if state.waiters.is_empty() {
            state.available += n; // The common case, kept free of the hand-off loop.
            return;
        }
        drop(state);
        self.hand_off(n);
    }

    /// [`release`](Self::release) when someone waits.
    #[cold]
    fn hand_off(&self, mut n: usize) {
        let mut wakes = WakeList::new();
        let mut state = self.state.borrow_mut();
        while n > 0 {
            let granted = state.waiters.grant_front(|needs| {
                let given = (*needs).min(n);
                *needs -= given;
                n -= given;
                *needs == 0
            });
            let Some(waker) = granted else { break };
            wakes.push(waker);
        }
        state.available += n;
        drop(state);
        wakes.wake_all();
    }

    /// One step of an acquire: takes the permits, or queues (or re-wakers) the waiter.
    #[inline]
    pub(crate) fn poll_acquire(
        &self,
        waiter: &mut Waiter,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), AcquireError>> {
        if waiter.key.is_none() {
            let state = self.state.borrow_mut();
            if !state.closed && state.available >= waiter.needed {
                let Some(mut state) = coop::proceed_releasing(cx, state) else {
                    return Poll::Pending;
                };
                state.available -= waiter.needed;
                return Poll::Ready(Ok(()));
            }
        }
        self.poll_acquire_slow(waiter, cx)
    }

    /// [`poll_acquire`](Self::poll_acquire) when it has to wait, or has waited.
    fn poll_acquire_slow(
        &self,
        waiter: &mut Waiter,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), AcquireError>> {
        let mut state = self.state.borrow_mut();
        let Some(key) = &waiter.key else {
            if state.closed || state.available >= waiter.needed {
                let Some(mut state) = coop::proceed_releasing(cx, state) else {
                    return Poll::Pending;
                };
                if state.closed {
                    return Poll::Ready(Err(AcquireError(())));
                }
                state.available -= waiter.needed;
                return Poll::Ready(Ok(()));
            }
            // Queue behind the others, taking what is free now (nothing, if anyone waits).
            let given = state.available;
            state.available = 0;
            waiter.key = Some(state.waiters.push_back(waiter.needed - given, cx.waker()));
            return Poll::Pending;
        };
        if state.waiters.is_linked(key) {
            state.waiters.set_waker(key, cx.waker());
            return Poll::Pending;
        }
        // Picked: granted everything, or failed by `close`. The node is ours until removed.
        let Some(mut state) = coop::proceed_releasing(cx, state) else {
            return Poll::Pending;
        };
        let key = waiter.key.take().expect("checked above");
        let (still_needed, _) = state.waiters.remove(key);
        drop(state);
        if still_needed == 0 {
            Poll::Ready(Ok(()))
        } else {
            self.release(waiter.needed - still_needed);
            Poll::Ready(Err(AcquireError(())))
        }
    }

    /// Called when an acquire's future is dropped: leaves the queue and releases whatever it
    /// had been given.
    #[inline]
    pub(crate) fn cancel(&self, waiter: &mut Waiter) {
        if waiter.is_queued() {
            self.leave_queue(waiter);
        }
    }

    #[cold]
    fn leave_queue(&self, waiter: &mut Waiter) {
        let Some(key) = waiter.key.take() else { return };
        let (still_needed, _) = self.state.borrow_mut().waiters.remove(key);
        self.release(waiter.needed - still_needed);
    }

    #[cfg(test)]
    pub(crate) fn allocated_waiters(&self) -> usize {
        self.state.borrow().waiters.allocated()
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.borrow();
        f.debug_struct("Semaphore")
            .field("available", &state.available)
            .field("waiters", &state.waiters.len())
            .field("closed", &state.closed)
            .finish()
    }
}

/// The state of one acquire: how many permits it wants and, once queued, its waiter key.
#[derive(Debug)]
pub(crate) struct Waiter {
    needed: usize,
    key: Option<WaiterKey>,
}

impl Waiter {
    pub(crate) fn new(needed: usize) -> Waiter {
        Waiter { needed, key: None }
    }

    /// Whether it is in the queue (waiting, or granted and not yet polled).
    #[inline]
    pub(crate) fn is_queued(&self) -> bool {
        self.key.is_some()
    }
}

/// An acquire of permits that yields nothing but success: what the lock futures wrap.
#[derive(Debug)]
pub(crate) struct RawAcquire<'a> {
    semaphore: &'a Semaphore,
    waiter: Waiter,
}

impl<'a> RawAcquire<'a> {
    pub(crate) fn new(semaphore: &'a Semaphore, needed: usize) -> RawAcquire<'a> {
        RawAcquire {
            semaphore,
            waiter: Waiter::new(needed),
        }
    }
}

impl Future for RawAcquire<'_> {
    type Output = Result<(), AcquireError>;

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        this.semaphore.poll_acquire(&mut this.waiter, cx)
    }
}

impl Drop for RawAcquire<'_> {
    #[inline]
    fn drop(&mut self) {
        self.semaphore.cancel(&mut self.waiter);
    }
}

/// Future of [`Semaphore::acquire`] and [`Semaphore::acquire_many`].
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct Acquire<'a> {
    raw: RawAcquire<'a>,
}

impl<'a> Future for Acquire<'a> {
    type Output = Result<SemaphorePermit<'a>, AcquireError>;

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        ready!(Pin::new(&mut self.raw).poll(cx))?;
        Poll::Ready(Ok(SemaphorePermit {
            semaphore: self.raw.semaphore,
            permits: self.raw.waiter.needed,
        }))
    }
}

/// Future of [`Semaphore::acquire_owned`] and [`Semaphore::acquire_many_owned`].
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct AcquireOwned {
    /// `None` once the permit has been handed out.
    semaphore: Option<Rc<Semaphore>>,
    waiter: Waiter,
}

impl Future for AcquireOwned {
    type Output = Result<OwnedSemaphorePermit, AcquireError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let semaphore = this.semaphore.as_ref().expect("polled after completion");
        ready!(semaphore.poll_acquire(&mut this.waiter, cx))?;
        Poll::Ready(Ok(OwnedSemaphorePermit {
            semaphore: this.semaphore.take().expect("checked above"),
            permits: this.waiter.needed,
        }))
    }
}

impl Drop for AcquireOwned {
    fn drop(&mut self) {
        if let Some(semaphore) = &self.semaphore {
            semaphore.cancel(&mut self.waiter);
        }
    }
}

/// Permits of a [`Semaphore`], released when dropped.
#[must_use = "dropping a permit releases it at once"]
pub struct SemaphorePermit<'a> {
    semaphore: &'a Semaphore,
    permits: usize,
}

impl<'a> SemaphorePermit<'a> {
    /// Wraps `permits` already taken from `semaphore`.
    pub(crate) fn from_taken(semaphore: &'a Semaphore, permits: usize) -> SemaphorePermit<'a> {
        SemaphorePermit { semaphore, permits }
    }

    /// Keeps the permits out of the semaphore for good: they are not released on drop.
    pub fn forget(mut self) {
        self.semaphore
            .forget_held(std::mem::take(&mut self.permits));
    }

    /// How many permits this holds.
    pub fn num_permits(&self) -> usize {
        self.permits
    }

    /// Moves `other`'s permits into `self`.
    ///
    /// # Panics
    ///
    /// If the two permits belong to different semaphores.
    pub fn merge(&mut self, mut other: SemaphorePermit<'a>) {
        assert!(
            std::ptr::eq(self.semaphore, other.semaphore),
            "merged permits of different semaphores"
        );
        self.permits += std::mem::take(&mut other.permits);
    }

    /// Splits `n` permits off into a new permit, or returns `None` if this holds fewer.
    pub fn split(&mut self, n: usize) -> Option<SemaphorePermit<'a>> {
        if n > self.permits {
            return None;
        }
        self.permits -= n;
        Some(SemaphorePermit {
            semaphore: self.semaphore,
            permits: n,
        })
    }
}

impl Drop for SemaphorePermit<'_> {
    #[inline]
    fn drop(&mut self) {
        self.semaphore.release(self.permits);
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit")
            .field("permits", &self.permits)
            .finish_non_exhaustive()
    }
}

/// Permits of an `Rc<Semaphore>`, released when dropped.
#[must_use = "dropping a permit releases it at once"]
pub struct OwnedSemaphorePermit {
    semaphore: Rc<Semaphore>,
    permits: usize,
}

impl OwnedSemaphorePermit {
    /// Keeps the permits out of the semaphore for good: they are not released on drop.
    pub fn forget(mut self) {
        self.semaphore
            .forget_held(std::mem::take(&mut self.permits));
    }

    /// How many permits this holds.
    pub fn num_permits(&self) -> usize {
        self.permits
    }

    /// Moves `other`'s permits into `self`.
    ///
    /// # Panics
    ///
    /// If the two permits belong to different semaphores.
    pub fn merge(&mut self, mut other: OwnedSemaphorePermit) {
        assert!(
            Rc::ptr_eq(&self.semaphore, &other.semaphore),
            "merged permits of different semaphores"
        );
        self.permits += std::mem::take(&mut other.permits);
    }

    /// Splits `n` permits off into a new permit, or returns `None` if this holds fewer.
    pub fn split(&mut self, n: usize) -> Option<OwnedSemaphorePermit> {
        if n > self.permits {
            return None;
        }
        self.permits -= n;
        Some(OwnedSemaphorePermit {
            semaphore: self.semaphore.clone(),
            permits: n,
        })
    }

    /// The semaphore these permits belong to.
    pub fn semaphore(&self) -> &Rc<Semaphore> {
        &self.semaphore
    }
}

impl Drop for OwnedSemaphorePermit {
    fn drop(&mut self) {
        self.semaphore.release(self.permits);
    }
}

impl fmt::Debug for OwnedSemaphorePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedSemaphorePermit")
            .field("permits", &self.permits)
            .finish_non_exhaustive()
    }
}
