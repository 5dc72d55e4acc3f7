//! [`Mutex`]: an async mutual-exclusion lock for the tasks of one thread, FIFO-fair.
//!
//! It is a [`Semaphore`] with one permit guarding a `RefCell`: the permit says who may hold the
//! lock, the `RefCell` lends the data to that holder. Invariants:
//! - The data is borrowed only by the holder of the permit, so the guard's `borrow_mut` never
//!   fails.
//! - A guard borrows the user's data and nothing of the runtime: tasks keep running, waking and
//!   locking other primitives while it is held, across any number of `.await`s.
//! - Unlocking hands the lock straight to the oldest waiter (if its future is dropped first,
//!   to the next one), so a task that unlocks and locks again queues behind the others.
//! - The guard releases its data borrow before its permit, so the next holder can never find
//!   the data still borrowed.

use std::cell::{RefCell, RefMut};
use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use crate::semaphore::{RawAcquire, Semaphore, SemaphorePermit};

/// An async mutex: [`lock`](Mutex::lock) waits, in arrival order, until the lock is free.
///
/// Unlike `std::sync::Mutex`, its guard may be held across `.await`; unlike a `RefCell`, a second
/// locker waits instead of panicking.
///
/// ```
/// use std::rc::Rc;
/// use minireactor_sync::Mutex;
///
/// minireactor::block_on(async {
///     let log = Rc::new(Mutex::new(Vec::new()));
///     let writer = {
///         let log = log.clone();
///         minireactor::spawn(async move {
///             let mut log = log.lock().await;
///             log.push("a");
///             minireactor::yield_now().await; // still holding the lock
///             log.push("b");
///         })
///     };
///     minireactor::yield_now().await;
///     log.lock().await.push("c"); // waits for the writer to finish
///     writer.await.unwrap();
///     assert_eq!(*log.lock().await, ["a", "b", "c"]);
/// });
/// ```
pub struct Mutex<T: ?Sized> {
    semaphore: Semaphore,
    data: RefCell<T>,
}

/// Error of [`Mutex::try_lock`] and of the `RwLock`'s `try_read`/`try_write`: the lock is held
/// or other tasks wait for it first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TryLockError(pub(crate) ());

impl fmt::Display for TryLockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("operation would block")
    }
}

impl std::error::Error for TryLockError {}

impl<T> Mutex<T> {
    /// An unlocked mutex holding `value`.
    pub fn new(value: T) -> Mutex<T> {
        Mutex {
            semaphore: Semaphore::new(1),
            data: RefCell::new(value),
        }
    }

    /// The data, taking the mutex apart.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Waits until the lock is free and takes it.
    ///
    /// Waiters get the lock in the order they first polled this future.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe. Dropping the future gives up its place in the queue; if the lock had
    /// already been handed to it, it passes to the next waiter.
    pub fn lock(&self) -> Lock<'_, T> {
        Lock {
            mutex: self,
            acquire: RawAcquire::new(&self.semaphore, 1),
        }
    }

    /// Takes the lock if it is free and nobody waits for it.
    pub fn try_lock(&self) -> Result<MutexGuard<'_, T>, TryLockError> {
        self.semaphore.try_take(1).map_err(|_| TryLockError(()))?;
        Ok(self.guard())
    }

    /// The data, through `&mut self`: no locking needed, nobody else can hold the lock.
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    /// Called once the permit is taken.
    fn guard(&self) -> MutexGuard<'_, T> {
        MutexGuard {
            data: self.data.borrow_mut(),
            _permit: SemaphorePermit::from_taken(&self.semaphore, 1),
        }
    }
}

#[cfg(test)]
impl<T: ?Sized> Mutex<T> {
    pub(crate) fn semaphore_waiters(&self) -> usize {
        self.semaphore.allocated_waiters()
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Mutex<T> {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(value: T) -> Mutex<T> {
        Mutex::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.data.try_borrow() {
            Ok(data) => d.field("data", &&*data),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

/// Future of [`Mutex::lock`].
#[must_use = "futures do nothing unless polled"]
pub struct Lock<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
    acquire: RawAcquire<'a>,
}

impl<'a, T: ?Sized> Future for Lock<'a, T> {
    type Output = MutexGuard<'a, T>;

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<MutexGuard<'a, T>> {
        let result = ready!(Pin::new(&mut self.acquire).poll(cx));
        result.expect("a mutex's semaphore is never closed");
        Poll::Ready(self.mutex.guard())
    }
}

impl<T: ?Sized> fmt::Debug for Lock<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lock").finish_non_exhaustive()
    }
}

/// The held lock of a [`Mutex`]: derefs to the data, unlocks when dropped.
#[must_use = "dropping the guard unlocks at once"]
pub struct MutexGuard<'a, T: ?Sized> {
    // Field order matters: the data borrow ends before the permit goes to the next holder.
    data: RefMut<'a, T>,
    _permit: SemaphorePermit<'a>,
}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// A guard of a part of the data (a field, an element), still holding the whole lock.
    ///
    /// ```
    /// use minireactor_sync::{MutexGuard, Mutex};
    ///
    /// minireactor::block_on(async {
    ///     let pair = Mutex::new((1, String::from("one")));
    ///     let mut name = MutexGuard::map(pair.lock().await, |pair| &mut pair.1);
    ///     name.push('!');
    ///     drop(name);
    ///     assert_eq!(pair.lock().await.1, "one!");
    /// });
    /// ```
    pub fn map<U: ?Sized>(
        this: MutexGuard<'a, T>,
        f: impl FnOnce(&mut T) -> &mut U,
    ) -> MappedMutexGuard<'a, U> {
        MappedMutexGuard {
            data: RefMut::map(this.data, f),
            _permit: this._permit,
        }
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        &self.data
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        &mut self.data
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.data, f)
    }
}

/// A [`MutexGuard`] narrowed by [`MutexGuard::map`] to a part of the data.
#[must_use = "dropping the guard unlocks at once"]
pub struct MappedMutexGuard<'a, T: ?Sized> {
    data: RefMut<'a, T>,
    _permit: SemaphorePermit<'a>,
}

impl<T: ?Sized> Deref for MappedMutexGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.data
    }
}

impl<T: ?Sized> DerefMut for MappedMutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.data
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MappedMutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.data, f)
    }
}
