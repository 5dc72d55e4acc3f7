//! [`RwLock`]: an async reader-writer lock for the tasks of one thread, FIFO-fair.
//!
//! It is a [`Semaphore`] with `max_readers` permits guarding a `RefCell`: a reader takes one
//! permit, a writer takes them all. Because the semaphore serves requests strictly in arrival
//! order, a waiting writer holds back the readers that come after it (no writer starvation), and
//! the readers queued behind a writer all get in together once it is done. Invariants:
//! - The data is borrowed shared only by holders of a read permit and exclusively only by the
//!   holder of all permits, so the guards' `borrow`/`borrow_mut` never fail.
//! - Guards borrow the user's data and nothing of the runtime; each releases its data borrow
//!   before its permits.

use std::cell::{Ref, RefCell, RefMut};
use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use crate::mutex::TryLockError;
use crate::semaphore::{RawAcquire, Semaphore, SemaphorePermit};

/// The most readers a [`RwLock`] admits at once.
const MAX_READS: u32 = u32::MAX >> 3;

/// An async reader-writer lock: any number of readers, or one writer, served in arrival order.
///
/// ```
/// use std::rc::Rc;
/// use minireactor_sync::RwLock;
///
/// minireactor::block_on(async {
///     let config = Rc::new(RwLock::new(String::from("v1")));
///     let first = config.read().await;
///     let second = config.read().await; // readers share the lock
///     assert_eq!(*first, *second);
///     let writer = {
///         let config = config.clone();
///         minireactor::spawn(async move { *config.write().await = String::from("v2") })
///     };
///     minireactor::yield_now().await;
///     assert!(config.try_read().is_err(), "a waiting writer holds back new readers");
///     drop((first, second));
///     writer.await.unwrap();
///     assert_eq!(*config.read().await, "v2");
/// });
/// ```
pub struct RwLock<T: ?Sized> {
    semaphore: Semaphore,
    max_readers: u32,
    data: RefCell<T>,
}

impl<T> RwLock<T> {
    /// An unlocked lock holding `value`, admitting up to `u32::MAX >> 3` readers at once.
    pub fn new(value: T) -> RwLock<T> {
        RwLock::with_max_readers(value, MAX_READS)
    }

    /// An unlocked lock admitting at most `max_readers` readers at once.
    ///
    /// # Panics
    ///
    /// If `max_readers` is 0 or exceeds `u32::MAX >> 3`.
    pub fn with_max_readers(value: T, max_readers: u32) -> RwLock<T> {
        assert!(
            (1..=MAX_READS).contains(&max_readers),
            "a RwLock admits between 1 and {MAX_READS} readers"
        );
        RwLock {
            semaphore: Semaphore::new(max_readers as usize),
            max_readers,
            data: RefCell::new(value),
        }
    }

    /// The data, taking the lock apart.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Waits for shared access.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe. Dropping the future gives up its place in the queue; access already handed
    /// to it passes to the next waiter.
    pub fn read(&self) -> Read<'_, T> {
        Read {
            lock: self,
            acquire: RawAcquire::new(&self.semaphore, 1),
        }
    }

    /// Waits for exclusive access.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe. Dropping the future gives up its place in the queue; the read permits it
    /// had gathered so far go to the waiters behind it.
    pub fn write(&self) -> Write<'_, T> {
        Write {
            lock: self,
            acquire: RawAcquire::new(&self.semaphore, self.max_readers as usize),
        }
    }

    /// Takes shared access if no writer holds or awaits the lock (and fewer than the maximum
    /// readers hold it).
    pub fn try_read(&self) -> Result<RwLockReadGuard<'_, T>, TryLockError> {
        self.semaphore.try_take(1).map_err(|_| TryLockError(()))?;
        Ok(self.read_guard())
    }

    /// Takes exclusive access if nobody holds or awaits the lock.
    pub fn try_write(&self) -> Result<RwLockWriteGuard<'_, T>, TryLockError> {
        self.semaphore
            .try_take(self.max_readers as usize)
            .map_err(|_| TryLockError(()))?;
        Ok(self.write_guard())
    }

    /// The data, through `&mut self`: no locking needed.
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    fn read_guard(&self) -> RwLockReadGuard<'_, T> {
        RwLockReadGuard {
            data: self.data.borrow(),
            _permit: SemaphorePermit::from_taken(&self.semaphore, 1),
        }
    }

    fn write_guard(&self) -> RwLockWriteGuard<'_, T> {
        RwLockWriteGuard {
            lock: self,
            data: self.data.borrow_mut(),
            permit: SemaphorePermit::from_taken(&self.semaphore, self.max_readers as usize),
        }
    }
}

#[cfg(test)]
impl<T: ?Sized> RwLock<T> {
    pub(crate) fn semaphore_waiters(&self) -> usize {
        self.semaphore.allocated_waiters()
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> RwLock<T> {
        RwLock::new(T::default())
    }
}

impl<T> From<T> for RwLock<T> {
    fn from(value: T) -> RwLock<T> {
        RwLock::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwLock");
        match self.data.try_borrow() {
            Ok(data) => d.field("data", &&*data),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

/// Future of [`RwLock::read`].
#[must_use = "futures do nothing unless polled"]
pub struct Read<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    acquire: RawAcquire<'a>,
}

impl<'a, T: ?Sized> Future for Read<'a, T> {
    type Output = RwLockReadGuard<'a, T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let result = ready!(Pin::new(&mut self.acquire).poll(cx));
        result.expect("a RwLock's semaphore is never closed");
        Poll::Ready(self.lock.read_guard())
    }
}

/// Future of [`RwLock::write`].
#[must_use = "futures do nothing unless polled"]
pub struct Write<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    acquire: RawAcquire<'a>,
}

impl<'a, T: ?Sized> Future for Write<'a, T> {
    type Output = RwLockWriteGuard<'a, T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let result = ready!(Pin::new(&mut self.acquire).poll(cx));
        result.expect("a RwLock's semaphore is never closed");
        Poll::Ready(self.lock.write_guard())
    }
}

impl<T: ?Sized> fmt::Debug for Read<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Read").finish_non_exhaustive()
    }
}

impl<T: ?Sized> fmt::Debug for Write<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Write").finish_non_exhaustive()
    }
}

/// Shared access to a [`RwLock`]'s data, given back when dropped.
#[must_use = "dropping the guard unlocks at once"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    // Field order matters: the data borrow ends before the permit goes back.
    data: Ref<'a, T>,
    _permit: SemaphorePermit<'a>,
}

impl<'a, T: ?Sized> RwLockReadGuard<'a, T> {
    /// A guard of a part of the data, still holding the read access.
    pub fn map<U: ?Sized>(
        this: RwLockReadGuard<'a, T>,
        f: impl FnOnce(&T) -> &U,
    ) -> RwLockReadGuard<'a, U> {
        RwLockReadGuard {
            data: Ref::map(this.data, f),
            _permit: this._permit,
        }
    }
}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.data
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.data, f)
    }
}

/// Exclusive access to a [`RwLock`]'s data, given back when dropped.
#[must_use = "dropping the guard unlocks at once"]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    // Field order matters: the data borrow ends before the permits go back.
    data: RefMut<'a, T>,
    permit: SemaphorePermit<'a>,
}

impl<'a, T: ?Sized> RwLockWriteGuard<'a, T> {
    /// Turns exclusive access into shared access without letting a writer in between; the
    /// readers waiting behind are let in at once.
    ///
    /// ```
    /// use minireactor_sync::{RwLock, RwLockWriteGuard};
    ///
    /// minireactor::block_on(async {
    ///     let lock = RwLock::new(1);
    ///     let mut writer = lock.write().await;
    ///     *writer += 1;
    ///     let reader = RwLockWriteGuard::downgrade(writer);
    ///     assert_eq!(*reader, 2);
    ///     assert!(lock.try_read().is_ok(), "other readers may join");
    ///     assert!(lock.try_write().is_err());
    /// });
    /// ```
    pub fn downgrade(this: RwLockWriteGuard<'a, T>) -> RwLockReadGuard<'a, T> {
        let RwLockWriteGuard {
            lock,
            data,
            mut permit,
        } = this;
        drop(data);
        // Borrowed shared before the other permits go back; the readers woken by that release
        // only run after this returns, and no writer can take them all while this one is held.
        let data = lock.data.borrow();
        let others = permit.split(permit.num_permits() - 1);
        drop(others);
        RwLockReadGuard {
            data,
            _permit: permit,
        }
    }

    /// A guard of a part of the data, still holding the write access.
    pub fn map<U: ?Sized>(
        this: RwLockWriteGuard<'a, T>,
        f: impl FnOnce(&mut T) -> &mut U,
    ) -> RwLockMappedWriteGuard<'a, U> {
        RwLockMappedWriteGuard {
            data: RefMut::map(this.data, f),
            _permit: this.permit,
        }
    }
}

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.data
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.data
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.data, f)
    }
}

/// A [`RwLockWriteGuard`] narrowed by [`RwLockWriteGuard::map`] to a part of the data.
#[must_use = "dropping the guard unlocks at once"]
pub struct RwLockMappedWriteGuard<'a, T: ?Sized> {
    data: RefMut<'a, T>,
    _permit: SemaphorePermit<'a>,
}

impl<T: ?Sized> Deref for RwLockMappedWriteGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.data
    }
}

impl<T: ?Sized> DerefMut for RwLockMappedWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.data
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockMappedWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.data, f)
    }
}
