//! [`MiniExecutor`]: hyper's [`Executor`] on [`minireactor::spawn`].
//!
//! minireactor runs every task on the thread that spawned it, so the futures need not be
//! `Send`: a service that keeps an `Rc` works.

use std::future::Future;

use hyper::rt::Executor;

/// hyper's [`Executor`]: spawns each future as a detached minireactor task on the current
/// runtime. Futures need not be `Send`.
///
/// ```
/// use std::rc::Rc;
/// use hyper::rt::Executor;
/// use minireactor_hyper::MiniExecutor;
///
/// minireactor::block_on(async {
///     let shared = Rc::new(42); // Not Send, and that is fine.
///     let seen = shared.clone();
///     MiniExecutor::new().execute(async move { assert_eq!(*seen, 42) });
///     minireactor::yield_now().await;
///     assert_eq!(Rc::strong_count(&shared), 1); // The task ran and dropped its clone.
/// });
/// ```
///
/// # Panics
/// [`execute`](Executor::execute) panics if no minireactor runtime is running on this thread,
/// like [`minireactor::spawn`]; hyper calls it from the connection it is polling, which runs
/// inside one.
#[derive(Clone, Copy, Debug, Default)]
pub struct MiniExecutor(());

impl MiniExecutor {
    /// An executor for the runtime of whichever thread calls `execute`.
    pub fn new() -> MiniExecutor {
        MiniExecutor(())
    }
}

impl<F> Executor<F> for MiniExecutor
where
    F: Future + 'static,
    F::Output: 'static,
{
    fn execute(&self, future: F) {
        drop(minireactor::spawn(future));
    }
}
