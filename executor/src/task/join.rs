//! [`JoinHandle`] and [`AbortHandle`]: a spawner's hold on its task.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::raw::{JoinRef, TaskRef};
use super::{Id, JoinError};

/// Owned permission to await a spawned task's output.
///
/// Awaiting it yields `Ok(output)`, or a [`JoinError`] if the task panicked or was cancelled.
/// Dropping it detaches the task, which keeps running; its output is then dropped when it
/// completes. A finished task's output, awaited at once, spends a unit of the awaiting task's
/// cooperative budget.
///
/// ```
/// minireactor::block_on(async {
///     let handle = minireactor::spawn(async { 6 * 7 });
///     assert_eq!(handle.await.unwrap(), 42);
///     minireactor::spawn(async { /* fire and forget */ });
/// });
/// ```
///
/// # Panics
/// Awaited by the very task it refers to (which would wait for itself forever), or polled again
/// after it returned its result.
pub struct JoinHandle<T> {
    join: JoinRef<T>,
}

impl<T> JoinHandle<T> {
    pub(crate) fn new(join: JoinRef<T>) -> JoinHandle<T> {
        JoinHandle { join }
    }

    /// Cancels the task: its future is dropped at the runtime's next pass, without being polled
    /// again, and the handle then yields a [`JoinError`] whose `is_cancelled()` is true. A task
    /// that aborts itself is cancelled when its current poll returns. Does nothing if the task
    /// already finished.
    pub fn abort(&self) {
        self.join.task().abort();
    }

    /// Whether the task has finished (completed, panicked or been cancelled).
    pub fn is_finished(&self) -> bool {
        self.join.task().state().finished
    }

    /// The task's id.
    pub fn id(&self) -> Id {
        self.join.task().id()
    }

    /// A handle that can abort the task without awaiting it.
    pub fn abort_handle(&self) -> AbortHandle {
        AbortHandle {
            task: self.join.task().clone(),
            _local: PhantomData,
        }
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.join.poll_join(cx)
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        self.join.task().drop_join_interest();
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.id())
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// Aborts a task without owning its output; made by [`JoinHandle::abort_handle`].
///
/// Like the `JoinHandle`, it stays on the runtime's thread (`!Send`); to cancel work from
/// another thread, send the runtime a message. It does not keep the task alive: dropping it does
/// nothing.
#[derive(Clone)]
pub struct AbortHandle {
    task: TaskRef,
    /// `!Send`: aborting touches state that only the runtime's thread may.
    _local: PhantomData<*const ()>,
}

impl AbortHandle {
    /// Cancels the task, as [`JoinHandle::abort`].
    pub fn abort(&self) {
        self.task.abort();
    }

    /// Whether the task has finished.
    pub fn is_finished(&self) -> bool {
        self.task.state().finished
    }

    /// The task's id.
    pub fn id(&self) -> Id {
        self.task.id()
    }
}

impl fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortHandle")
            .field("id", &self.id())
            .field("finished", &self.is_finished())
            .finish()
    }
}
