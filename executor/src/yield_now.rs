//! [`yield_now`]: let the other tasks, the timers and the I/O run.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use minireactor_reactor::Reactor;

use crate::context;

/// Yields to the scheduler: the task runs again only after every task already runnable has had
/// its turn *and* the reactor has looked for I/O and due timers once (without blocking).
///
/// ```
/// minireactor::block_on(async {
///     minireactor::yield_now().await;
/// });
/// ```
///
/// Polled by another executor, it wakes itself at once: that executor decides what comes next.
pub async fn yield_now() {
    YieldNow { yielded: false }.await
}

struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        if !context::is_running() {
            cx.waker().wake_by_ref();
        } else if let Err(err) = Reactor::defer_current(cx.waker()) {
            wake_now(cx.waker(), err);
        }
        Poll::Pending
    }
}

/// The reactor cannot take the waker (none can be created, or the thread is exiting): wake at
/// once instead. Out of line, so that dropping the error stays out of the yield's own code.
#[cold]
#[inline(never)]
fn wake_now(waker: &std::task::Waker, _err: std::io::Error) {
    waker.wake_by_ref();
}
