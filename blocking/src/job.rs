//! One closure on its way through the pool, and [`Blocking`], the future of its result.
//!
//! The closure, the waker of the task awaiting it and the result share one allocation (an `Arc`
//! held by the pool's queue while queued or running, and by the future). Its stage moves only
//! forward: `Queued` → `Running` → `Done` → `Taken`, or to `Abandoned` when the future is dropped
//! first; a job abandoned while queued is skipped by the pool, one abandoned while running runs
//! to the end and its result is dropped on the pool thread. A job whose future is *detached*
//! instead (`Blocking::detach`) runs whether it has started or not, and its result is dropped;
//! until it has run, its pool counts it as owed (what `Pool::wait_for_detached` waits for).

use std::any::Any;
use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use crate::pool;

/// What the pool's threads run.
pub(crate) trait Run: Send + Sync {
    /// Runs the closure, unless the job was abandoned before it started.
    fn run(&self);
}

/// What the future needs from its job, whatever the closure's type.
trait Outcome<T>: Send + Sync {
    fn poll_outcome(&self, cx: &mut Context<'_>) -> Poll<std::thread::Result<T>>;
    fn abandon(&self);
    fn detach(&self);
}

enum Stage<F, T> {
    Queued(F),
    Running,
    Done(std::thread::Result<T>),
    Taken,
    Abandoned,
}

struct Job<F, T> {
    inner: Mutex<JobInner<F, T>>,
    /// The pool that runs it, which counts it while it is detached and not finished.
    pool: Arc<pool::Inner>,
}

struct JobInner<F, T> {
    stage: Stage<F, T>,
    /// The task awaiting the result, if it has polled.
    waker: Option<Waker>,
    /// Nobody will take the result: run the closure anyway, drop what it returns.
    detached: bool,
    /// Detached before it finished, so counted by the pool until it has run.
    owed: bool,
}

impl<F, T> Job<F, T> {
    fn lock(&self) -> MutexGuard<'_, JobInner<F, T>> {
        // A panic never happens while the lock is held (the closure runs outside it), so a
        // poisoned lock still holds consistent state.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Creates a job for `f`: the pool's side and the awaiting side.
pub(crate) fn new<F, T>(f: F, pool: Arc<pool::Inner>) -> (Arc<dyn Run>, Blocking<T>)
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let job = Arc::new(Job {
        inner: Mutex::new(JobInner {
            stage: Stage::Queued(f),
            waker: None,
            detached: false,
            owed: false,
        }),
        pool,
    });
    (job.clone(), Blocking { job: Some(job) })
}

impl<F, T> Run for Job<F, T>
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    fn run(&self) {
        let f = {
            let mut inner = self.lock();
            match std::mem::replace(&mut inner.stage, Stage::Running) {
                Stage::Queued(f) => f,
                other => {
                    inner.stage = other; // Abandoned before it started: skip it.
                    return;
                }
            }
        };
        let result = catch_unwind(AssertUnwindSafe(f));
        let (waker, unwanted, owed) = {
            let mut inner = self.lock();
            if inner.detached || matches!(inner.stage, Stage::Abandoned) {
                inner.stage = Stage::Abandoned;
                (None, Some(result), std::mem::take(&mut inner.owed))
            } else {
                inner.stage = Stage::Done(result);
                (inner.waker.take(), None, false)
            }
        };
        // After the lock: dropping the result or waking may run arbitrary code. A panic there
        // must not unwind out of the pool's thread, which would die with the pool still
        // counting it (and the job still owed).
        if catch_unwind(AssertUnwindSafe(|| drop(unwanted))).is_err() {
            tracing::error!("the result of a blocking closure nobody awaited panicked on drop");
        }
        if owed {
            self.pool.settle(); // After its result is dropped: the job has wholly run.
        }
        if let Some(waker) = waker {
            if catch_unwind(AssertUnwindSafe(|| waker.wake())).is_err() {
                tracing::error!("the waker of a task awaiting a blocking closure panicked");
            }
        }
    }
}

impl<F, T> Outcome<T> for Job<F, T>
where
    F: Send,
    T: Send,
{
    fn poll_outcome(&self, cx: &mut Context<'_>) -> Poll<std::thread::Result<T>> {
        let mut inner = self.lock();
        if matches!(inner.stage, Stage::Done(_)) {
            let Stage::Done(result) = std::mem::replace(&mut inner.stage, Stage::Taken) else {
                unreachable!("just matched Done");
            };
            return Poll::Ready(result);
        }
        assert!(
            !matches!(inner.stage, Stage::Taken | Stage::Abandoned),
            "minireactor: Blocking polled after it completed"
        );
        let replaced = match &mut inner.waker {
            Some(stored) if stored.will_wake(cx.waker()) => None,
            stored => stored.replace(cx.waker().clone()),
        };
        drop(inner);
        drop(replaced); // After the lock: dropping a waker may run arbitrary code.
        Poll::Pending
    }

    fn abandon(&self) {
        let (stage, waker) = {
            let mut inner = self.lock();
            let stage = match inner.stage {
                // The pool thread sees Abandoned when it finishes, and drops the result there.
                Stage::Running => {
                    inner.stage = Stage::Abandoned;
                    None
                }
                _ => Some(std::mem::replace(&mut inner.stage, Stage::Abandoned)),
            };
            (stage, inner.waker.take())
        };
        drop((stage, waker)); // After the lock: the closure or the result may have a destructor.
    }

    fn detach(&self) {
        let (result, waker) = {
            let mut inner = self.lock();
            inner.detached = true;
            let result = match inner.stage {
                Stage::Done(_) => Some(std::mem::replace(&mut inner.stage, Stage::Taken)),
                Stage::Queued(_) | Stage::Running => {
                    // Counted under this lock, so the thread that runs it cannot uncount it
                    // first.
                    inner.owed = true;
                    self.pool.owe();
                    None
                }
                Stage::Taken | Stage::Abandoned => None,
            };
            (result, inner.waker.take())
        };
        drop((result, waker)); // After the lock, as in `abandon`.
    }
}

/// The result of a closure running on the blocking pool; see [`unblock`](crate::unblock).
///
/// Resolves to the closure's return value; a panic in the closure is resumed in the task that
/// polls this future. Dropping it before the closure has started cancels the closure.
#[must_use = "futures do nothing unless polled; dropping this before the closure starts cancels it"]
pub struct Blocking<T> {
    /// `None` once detached.
    job: Option<Arc<dyn Outcome<T>>>,
}

impl<T> Blocking<T> {
    /// Like awaiting the future, but a panic in the closure comes back as its payload instead
    /// of being resumed (how `spawn_blocking` turns it into a `JoinError`).
    pub fn poll_catch(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, Box<dyn Any + Send>>> {
        self.job
            .as_ref()
            .expect("a detached Blocking is gone")
            .poll_outcome(cx)
    }

    /// Gives up on the result but not on the closure: it runs even if it has not started yet
    /// (where dropping the future would cancel it), and what it returns is dropped. For work
    /// that must happen, like the last write of a file being closed.
    pub fn detach(mut self) {
        if let Some(job) = self.job.take() {
            job.detach();
        }
    }
}

impl<T> Future for Blocking<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        match std::task::ready!(self.get_mut().poll_catch(cx)) {
            Ok(value) => Poll::Ready(value),
            Err(payload) => resume_unwind(payload),
        }
    }
}

impl<T> Drop for Blocking<T> {
    fn drop(&mut self) {
        if let Some(job) = self.job.take() {
            job.abandon();
        }
    }
}

impl<T> std::fmt::Debug for Blocking<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Blocking").finish_non_exhaustive()
    }
}
