//! [`JoinSet`]: tasks spawned together and joined in the order they finish.
//!
//! Each task's `JoinHandle` is given a waker of the set's own, which, when the task finishes,
//! appends the task's key to the set's ready list and wakes whoever waits in `join_next`. So
//! `join_next` takes the next finished task in O(1), in completion order, without polling the
//! others.
//!
//! Invariant: every task in the set is on the ready list once it has finished, and only then;
//! every key on the list is a task's in the set. A task leaves the set only as its entry is
//! taken (joined), or with every other (`detach_all`, which empties the list too); a dropped
//! `JoinHandle` drops the set's waker with it, so a task that left can add no entry later.

use std::collections::VecDeque;
use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};

use slab::Slab;

use minireactor_reactor::coop;

use crate::task::{AbortHandle, Id, JoinError, JoinHandle};

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

/// Finished tasks, in the order they finished, and the waiting `join_next`.
#[derive(Default)]
struct ReadyList {
    inner: Mutex<ReadyInner>,
}

#[derive(Default)]
struct ReadyInner {
    /// Keys of finished tasks.
    finished: VecDeque<usize>,
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
            inner.finished.push_back(key);
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

    /// Runs `f` on the current runtime's blocking pool, as
    /// [`spawn_blocking`](crate::spawn_blocking), in this set. If the task is aborted (or the set
    /// dropped) and the runtime drops it before the pool starts `f`, `f` never runs; once
    /// started, it runs to the end.
    ///
    /// ```
    /// use minireactor::task::JoinSet;
    ///
    /// minireactor::block_on(async {
    ///     let mut set = JoinSet::new();
    ///     set.spawn_blocking(|| std::fs::metadata("/").is_ok());
    ///     assert!(set.join_next().await.unwrap().unwrap());
    /// });
    /// ```
    ///
    /// # Panics
    /// As [`spawn_blocking`](crate::spawn_blocking): if no runtime is running on this thread.
    pub fn spawn_blocking<F>(&mut self, f: F) -> AbortHandle
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send,
    {
        self.insert(crate::spawn_blocking(f))
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
        self.poll_join_next_with_id(cx)
            .map(|joined| joined.map(|result| result.map(|(_, output)| output)))
    }

    /// As [`join_next`](Self::join_next), with the task's id beside its output (a
    /// [`JoinError`] has it too: [`JoinError::id`]).
    ///
    /// ```
    /// use minireactor::task::JoinSet;
    ///
    /// minireactor::block_on(async {
    ///     let mut set = JoinSet::new();
    ///     let id = set.spawn(async { "done" }).id();
    ///     assert_eq!(set.join_next_with_id().await.unwrap().unwrap(), (id, "done"));
    /// });
    /// ```
    ///
    /// # Cancel safety
    /// Cancel-safe, as `join_next`.
    pub async fn join_next_with_id(&mut self) -> Option<Result<(Id, T), JoinError>> {
        poll_fn(|cx| self.poll_join_next_with_id(cx)).await
    }

    /// The polling form of [`join_next_with_id`](Self::join_next_with_id).
    pub fn poll_join_next_with_id(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<(Id, T), JoinError>>> {
        if self.tasks.is_empty() {
            return Poll::Ready(None);
        }
        let (next, replaced) = {
            let mut ready = self.ready.lock();
            let next = ready.finished.pop_front();
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
        let handle = self.listed(key);
        let id = handle.id();
        match Pin::new(handle).poll(cx) {
            Poll::Ready(result) => {
                self.tasks.remove(key);
                Poll::Ready(Some(result.map(|output| (id, output))))
            }
            // Out of budget: the task is woken after the reactor's turn; keep its entry.
            Poll::Pending => {
                self.ready.lock().finished.push_front(key);
                Poll::Pending
            }
        }
    }

    /// The result of a task that has finished, without waiting: `None` if none has finished
    /// yet, or the set is empty. Never refused for a spent budget.
    ///
    /// ```
    /// use minireactor::task::JoinSet;
    ///
    /// minireactor::block_on(async {
    ///     let mut set = JoinSet::new();
    ///     set.spawn(async { 7 });
    ///     assert!(set.try_join_next().is_none(), "the task has not run yet");
    ///     minireactor::yield_now().await;
    ///     assert_eq!(set.try_join_next().unwrap().unwrap(), 7);
    /// });
    /// ```
    pub fn try_join_next(&mut self) -> Option<Result<T, JoinError>> {
        self.try_join_next_with_id()
            .map(|result| result.map(|(_, output)| output))
    }

    /// As [`try_join_next`](Self::try_join_next), with the task's id beside its output.
    pub fn try_join_next_with_id(&mut self) -> Option<Result<(Id, T), JoinError>> {
        let key = self.ready.lock().finished.pop_front()?;
        let handle = self.listed(key);
        let id = handle.id();
        // Unconstrained: the result is there, whatever the budget says.
        let polled = Pin::new(&mut coop::unconstrained(&mut *handle))
            .poll(&mut Context::from_waker(Waker::noop()));
        let Poll::Ready(result) = polled else {
            unreachable!("a task on the ready list has finished");
        };
        self.tasks.remove(key);
        Some(result.map(|output| (id, output)))
    }

    /// The handle of the task whose key was on the ready list (see the invariant).
    fn listed(&mut self, key: usize) -> &mut JoinHandle<T> {
        self.tasks
            .get_mut(key)
            .expect("minireactor: JoinSet: a key on the ready list is a task's in the set")
    }

    /// Waits for every task and returns their outputs, in the order they finished.
    ///
    /// ```
    /// use minireactor::task::JoinSet;
    ///
    /// minireactor::block_on(async {
    ///     let set: JoinSet<u32> = (1..=3).map(|i| async move { i * 10 }).collect();
    ///     let mut outputs = set.join_all().await;
    ///     outputs.sort();
    ///     assert_eq!(outputs, [10, 20, 30]);
    /// });
    /// ```
    ///
    /// # Panics
    /// If a task panicked, with that task's panic; if a task was aborted. The tasks left are
    /// then aborted, as when the set is dropped. Use [`join_next`](Self::join_next) to handle
    /// each error instead.
    pub async fn join_all(mut self) -> Vec<T> {
        let mut outputs = Vec::with_capacity(self.len());
        while let Some(joined) = self.join_next().await {
            match joined {
                Ok(output) => outputs.push(output),
                Err(err) => match err.try_into_panic() {
                    Ok(payload) => std::panic::resume_unwind(payload),
                    Err(err) => panic!("minireactor: JoinSet::join_all: {err}"),
                },
            }
        }
        outputs
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

    /// Removes every task from the set without aborting it: each runs on, detached (as a
    /// dropped [`JoinHandle`]), and its result is dropped when it finishes.
    ///
    /// # Panics
    /// If dropping a finished task's output panics, with that panic, once the set is empty.
    pub fn detach_all(&mut self) {
        let detached = std::mem::take(&mut self.tasks);
        self.ready.lock().finished.clear();
        drop(detached); // Last: it drops finished tasks' outputs, which may panic.
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

/// Spawns each future, in the set; panics as [`spawn`](crate::spawn) if no runtime is running
/// on this thread.
impl<T: 'static, F: Future<Output = T> + 'static> Extend<F> for JoinSet<T> {
    fn extend<I: IntoIterator<Item = F>>(&mut self, futures: I) {
        for future in futures {
            self.spawn(future);
        }
    }
}

/// A set of the futures, each spawned; panics as [`spawn`](crate::spawn) if no runtime is
/// running on this thread.
impl<T: 'static, F: Future<Output = T> + 'static> FromIterator<F> for JoinSet<T> {
    fn from_iter<I: IntoIterator<Item = F>>(futures: I) -> JoinSet<T> {
        let mut set = JoinSet::new();
        set.extend(futures);
        set
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
