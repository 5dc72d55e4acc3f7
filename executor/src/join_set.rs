//! [`JoinSet`]: tasks spawned together and joined in the order they finish.
//!
//! Each task's `JoinHandle` is given a waker of the set's own, which, when the task finishes,
//! appends the task's key to the set's ready list and wakes whoever waits in `join_next`. So
//! `join_next` takes the next finished task in O(1), in completion order, without polling the
//! others.

use std::collections::VecDeque;
use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};

use slab::Slab;

use crate::task::{AbortHandle, JoinError, JoinHandle};

/// A set of tasks, joined as they finish. Dropping the set aborts every task still in it.
///
/// ```
/// use std::time::Duration;
/// use minireactor::task::JoinSet;
///
/// minireactor::block_on(async {
///     let mut set = JoinSet::new();
///     for ms in [30, 10, 20] {
///         set.spawn(async move {
///             minireactor::time::sleep(Duration::from_millis(ms)).await;
///             ms
///         });
///     }
///     let mut order = Vec::new();
///     while let Some(done) = set.join_next().await {
///         order.push(done.unwrap());
///     }
///     assert_eq!(order, [10, 20, 30]);
/// });
/// ```
pub struct JoinSet<T> {
    tasks: Slab<JoinHandle<T>>,
    ready: Arc<ReadyList>,
}

/// Keys of finished tasks, in the order they finished, and the waiting `join_next`.
#[derive(Default)]
struct ReadyList {
    inner: Mutex<ReadyInner>,
}

#[derive(Default)]
struct ReadyInner {
    keys: VecDeque<usize>,
    waiter: Option<Waker>,
}

impl ReadyList {
    fn lock(&self) -> MutexGuard<'_, ReadyInner> {
        // Nothing panics while the lock is held, so a poisoned list is still consistent.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn push(&self, key: usize) {
        let waiter = {
            let mut inner = self.lock();
            inner.keys.push_back(key);
            inner.waiter.take()
        };
        if let Some(waiter) = waiter {
            waiter.wake();
        }
    }
}

/// The waker a set gives each task's `JoinHandle`: the task's finishing wakes it.
struct Finished {
    key: usize,
    ready: Arc<ReadyList>,
}

impl Wake for Finished {
    fn wake(self: Arc<Self>) {
        self.ready.push(self.key);
    }
}

impl<T: 'static> JoinSet<T> {
    /// An empty set.
    pub fn new() -> JoinSet<T> {
        JoinSet {
            tasks: Slab::new(),
            ready: Arc::default(),
        }
    }

    /// Spawns `future` on the current runtime, in this set.
    ///
    /// # Panics
    /// As [`spawn`](crate::spawn): if no runtime is running on this thread.
    pub fn spawn<F>(&mut self, future: F) -> AbortHandle
    where
        F: Future<Output = T> + 'static,
    {
        self.insert(crate::spawn(future))
    }

    fn insert(&mut self, mut handle: JoinHandle<T>) -> AbortHandle {
        let abort = handle.abort_handle();
        let key = self.tasks.vacant_key();
        if handle.is_finished() {
            self.ready.push(key); // Spawned during shutdown: already cancelled.
        } else {
            let waker = Waker::from(Arc::new(Finished {
                key,
                ready: self.ready.clone(),
            }));
            // An unfinished task's handle only stores the waker, whatever the budget.
            let registered = Pin::new(&mut handle).poll(&mut Context::from_waker(&waker));
            debug_assert!(registered.is_pending());
        }
        self.tasks.insert(handle);
        abort
    }

    /// Waits for the next task to finish and returns its result; `None` once the set is empty.
    ///
    /// # Cancel safety
    /// Cancel-safe: if the future is dropped before it completes, no result is lost; the next
    /// call returns it.
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        poll_fn(|cx| self.poll_join_next(cx)).await
    }

    /// The polling form of [`join_next`](Self::join_next).
    pub fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        loop {
            if self.tasks.is_empty() {
                return Poll::Ready(None);
            }
            let (next, replaced) = {
                let mut ready = self.ready.lock();
                let next = ready.keys.pop_front();
                let replaced = match next {
                    None => ready.waiter.replace(cx.waker().clone()),
                    Some(_) => None,
                };
                (next, replaced)
            };
            drop(replaced); // After the lock, as every waker this runtime drops.
            let Some(key) = next else {
                return Poll::Pending;
            };
            let Some(handle) = self.tasks.get_mut(key) else {
                continue; // Its task was joined already.
            };
            match Pin::new(handle).poll(cx) {
                Poll::Ready(result) => {
                    self.tasks.remove(key);
                    return Poll::Ready(Some(result));
                }
                // Out of budget: the task is woken after the reactor's turn; keep the key.
                Poll::Pending => {
                    self.ready.lock().keys.push_front(key);
                    return Poll::Pending;
                }
            }
        }
    }

    /// Aborts every task in the set; they stay in it until joined (as cancelled, unless they
    /// finished first).
    pub fn abort_all(&mut self) {
        for (_, handle) in &self.tasks {
            handle.abort();
        }
    }

    /// Aborts every task and waits until each has finished.
    pub async fn shutdown(&mut self) {
        self.abort_all();
        while self.join_next().await.is_some() {}
    }

    /// How many tasks are in the set (finished ones not yet joined included).
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Whether the set has no task.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }
}

impl<T: 'static> Default for JoinSet<T> {
    fn default() -> JoinSet<T> {
        JoinSet::<T>::new()
    }
}

impl<T> Drop for JoinSet<T> {
    fn drop(&mut self) {
        for (_, handle) in &self.tasks {
            handle.abort();
        }
    }
}

impl<T> fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinSet")
            .field("len", &self.tasks.len())
            .finish()
    }
}
