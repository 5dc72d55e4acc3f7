//! A spawned task: its future, then its output, in one `Rc` shared by the scheduler's slab and
//! the task's `JoinHandle`.
//!
//! Invariants:
//! - The future is pinned in place: the cell lives in an `Rc` that is never unwrapped, and the
//!   future is only ever dropped in place (by assigning a new stage), never moved out.
//! - The future is dropped exactly once: when it completes, panics, is aborted, or the runtime
//!   shuts down, whichever comes first; each of these replaces the `Running` stage.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use crate::join::{JoinError, JoinTarget};
use crate::waker::TaskWaker;

/// What the scheduler needs from a task, whatever its future's type.
pub(crate) trait Task {
    /// Polls the future once; `Ready` once the task is finished (completed, panicked, aborted).
    fn poll(&self, cx: &mut Context<'_>) -> Poll<()>;
    /// The task's waker, created once at spawn.
    fn waker(&self) -> &Arc<TaskWaker>;
    /// Drops the future if it is still running; the joiner sees a cancellation.
    fn cancel(&self);
}

enum Stage<F: Future> {
    Running(F),
    Finished(Result<F::Output, JoinError>),
    /// The output was taken by the `JoinHandle`.
    Consumed,
}

pub(crate) struct TaskCell<F: Future> {
    waker: Arc<TaskWaker>,
    stage: RefCell<Stage<F>>,
    /// Set by `JoinHandle::abort`; the next poll drops the future instead of polling it.
    abort_requested: Cell<bool>,
    /// The task awaiting the `JoinHandle`, if any.
    join_waker: RefCell<Option<Waker>>,
}

impl<F: Future> TaskCell<F> {
    pub(crate) fn new(future: F, waker: Arc<TaskWaker>) -> TaskCell<F> {
        TaskCell {
            waker,
            stage: RefCell::new(Stage::Running(future)),
            abort_requested: Cell::new(false),
            join_waker: RefCell::new(None),
        }
    }

    /// Replaces a running future with `result` and wakes the joiner.
    ///
    /// A panic in the future's destructor is caught too, like one in its `poll`: it must not
    /// unwind through the scheduler. A cancelled task whose destructor panicked reports the panic.
    fn finish(&self, result: Result<F::Output, JoinError>) {
        let drop_panic = {
            let mut stage = self.stage.borrow_mut();
            if !matches!(*stage, Stage::Running(_)) {
                return;
            }
            // Assignment drops the future in place, as its pinning requires; if that drop
            // panics, the new stage is stored all the same while unwinding.
            catch_unwind(AssertUnwindSafe(|| *stage = Stage::Finished(result))).err()
        };
        if let Some(payload) = drop_panic {
            let mut stage = self.stage.borrow_mut();
            if matches!(&*stage, Stage::Finished(Err(err)) if err.is_cancelled()) {
                *stage = Stage::Finished(Err(JoinError::panic(payload)));
            }
        }
        let joiner = self.join_waker.borrow_mut().take();
        if let Some(joiner) = joiner {
            joiner.wake();
        }
    }
}

impl<F: Future> Task for TaskCell<F> {
    fn poll(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.abort_requested.get() {
            self.finish(Err(JoinError::cancelled()));
            return Poll::Ready(());
        }
        let polled = {
            let mut stage = self.stage.borrow_mut();
            let Stage::Running(future) = &mut *stage else {
                return Poll::Ready(());
            };
            // SAFETY: the future lives inside an `Rc<TaskCell>` that is never unwrapped, and it
            // is only dropped in place (see `finish`), so it never moves after this first pin.
            let future = unsafe { Pin::new_unchecked(future) };
            match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
                Ok(Poll::Pending) => return Poll::Pending,
                Ok(Poll::Ready(output)) => Ok(output),
                Err(payload) => Err(JoinError::panic(payload)),
            }
        };
        self.finish(polled);
        Poll::Ready(())
    }

    fn waker(&self) -> &Arc<TaskWaker> {
        &self.waker
    }

    fn cancel(&self) {
        self.finish(Err(JoinError::cancelled()));
    }
}

impl<F: Future> JoinTarget<F::Output> for TaskCell<F> {
    fn poll_join(&self, cx: &mut Context<'_>) -> Poll<Result<F::Output, JoinError>> {
        let mut stage = self.stage.borrow_mut();
        if matches!(*stage, Stage::Running(_)) {
            drop(stage);
            let mut joiner = self.join_waker.borrow_mut();
            let replaced = match &mut *joiner {
                Some(stored) if stored.will_wake(cx.waker()) => None,
                stored => stored.replace(cx.waker().clone()),
            };
            drop(joiner);
            drop(replaced); // After the borrow: dropping a waker may run arbitrary code.
            return Poll::Pending;
        }
        match std::mem::replace(&mut *stage, Stage::Consumed) {
            Stage::Finished(result) => Poll::Ready(result),
            Stage::Consumed | Stage::Running(_) => {
                panic!("minireactor: JoinHandle polled after it completed")
            }
        }
    }

    fn abort(&self) {
        if self.is_finished() {
            return;
        }
        self.abort_requested.set(true);
        futures_task::ArcWake::wake_by_ref(&self.waker);
    }

    fn is_finished(&self) -> bool {
        // A failed borrow means the task is being polled right now: it is not finished.
        self.stage
            .try_borrow()
            .is_ok_and(|stage| !matches!(*stage, Stage::Running(_)))
    }
}
