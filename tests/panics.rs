//! A panic in any user code the runtime calls — a future's `poll`, the `Drop` of a future or of
//! an output, a waker's `wake`, `clone` or `drop` — reaches the task's joiner as
//! `JoinError::is_panic()` or the `block_on` caller, never loses another task's wake, and leaves
//! the runtime usable.

use std::cell::Cell;
use std::future::{poll_fn, Future};
use std::io::Write;
use std::os::unix::net::UnixStream;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Wake, Waker};
use std::time::Duration;

use minireactor::io::AsyncFd;
use minireactor::time::sleep;
use minireactor::{spawn, yield_now, JoinHandle, Runtime};

struct PanicsOnDrop(&'static str);

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        panic!("{}", self.0);
    }
}

/// The runtime still spawns, sleeps and joins.
async fn still_works() {
    sleep(Duration::from_millis(1)).await;
    assert_eq!(spawn(async { 5 }).await.unwrap(), 5);
}

/// Regression: a panic in the `Drop` of a detached task's output escaped `block_on`.
#[test]
fn a_detached_tasks_output_that_panics_when_dropped_stays_inside() {
    let runtime = Runtime::new().unwrap();
    runtime.block_on(async {
        drop(spawn(async { PanicsOnDrop("output dropped") }));
        yield_now().await;
        still_works().await;
    });
    assert_eq!(runtime.live_tasks(), 0);
}

#[test]
fn a_future_that_panics_when_dropped_after_completing_reaches_its_joiner() {
    minireactor::block_on(async {
        let handle = spawn(async {
            let _guard = PanicsOnDrop("future dropped");
            1
        });
        let err = handle.await.expect_err("the destructor panicked");
        assert!(err.is_panic());
        still_works().await;
    });
}

/// Regression: a task that polled its own `JoinHandle` got "RefCell already borrowed"; it now
/// gets a panic that says what happened, and the runtime goes on.
#[test]
fn a_task_awaiting_its_own_join_handle_gets_a_clear_panic() {
    minireactor::block_on(async {
        let own: Rc<Cell<Option<JoinHandle<()>>>> = Rc::default();
        let message: Rc<Cell<String>> = Rc::default();
        let handle = spawn({
            let (own, message) = (own.clone(), message.clone());
            async move {
                yield_now().await;
                let me = own.take().expect("stored before the task's second poll");
                let mut me = pin!(me);
                let payload = catch_unwind(AssertUnwindSafe(|| {
                    let _ = me.as_mut().poll(&mut Context::from_waker(Waker::noop()));
                }))
                .expect_err("polling its own handle panics");
                message.set(
                    payload
                        .downcast::<&str>()
                        .map(|m| m.to_string())
                        .unwrap_or_default(),
                );
                // And awaited for real, the panic ends the task like any other.
                let _ = me.await;
            }
        });
        let probe = handle.abort_handle();
        own.set(Some(handle));
        while !probe.is_finished() {
            yield_now().await;
        }
        let message = message.take();
        assert!(
            message.contains("awaited its own JoinHandle"),
            "{message:?}"
        );
        still_works().await;
    });
}

/// A waker whose `wake` panics.
struct PanicsOnWake;

impl Wake for PanicsOnWake {
    fn wake(self: Arc<Self>) {
        panic!("wake");
    }
}

/// Regression: a waker that panicked during a reactor turn dropped the other wakes of that turn,
/// so a task woken by the same event never ran again.
#[test]
#[cfg_attr(
    miri,
    ignore = "std's UnixStream writes with send(2), which Miri does not emulate"
)]
fn a_waker_that_panics_in_a_turn_loses_no_other_wake() {
    let runtime = Runtime::new().unwrap();
    let (ours, mut theirs) = UnixStream::pair().unwrap();
    let fd = Rc::new(AsyncFd::new(ours).unwrap());
    let reader = runtime.spawn({
        let fd = fd.clone();
        async move { fd.readable().await.map(|guard| guard.ready()) }
    });
    let turned = catch_unwind(AssertUnwindSafe(|| {
        runtime.block_on(async {
            // A second waiter on the same fd, whose waker panics when the event wakes it.
            let panicking = Waker::from(Arc::new(PanicsOnWake));
            let mut wait = pin!(fd.readable());
            assert!(wait
                .as_mut()
                .poll(&mut Context::from_waker(&panicking))
                .is_pending());
            yield_now().await; // The reader waits too.
            theirs.write_all(b"!").unwrap();
            std::future::pending::<()>().await;
        })
    }));
    let payload = turned.expect_err("the waker's panic reaches the block_on caller");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"wake"));
    // The reader was woken by the same turn: it finishes without any new event.
    let ready = runtime.block_on(async {
        minireactor::time::timeout(Duration::from_secs(10), reader)
            .await
            .expect("the reader's wake was lost")
    });
    assert!(ready.unwrap().unwrap().is_readable());
}

/// A task's joiner polled with a waker whose `wake` panics: the task's completion wakes it, and
/// the panic reaches the `block_on` caller once the task is reaped; the task's output is kept for
/// the handle, and the runtime goes on.
#[test]
fn a_joiners_waker_that_panics_on_the_tasks_completion_reaches_the_block_on_caller() {
    let runtime = Runtime::new().unwrap();
    let mut task = runtime.spawn(async {
        yield_now().await;
        5
    });
    let woken = catch_unwind(AssertUnwindSafe(|| {
        runtime.block_on(async {
            let panicking = Waker::from(Arc::new(PanicsOnWake));
            assert!(Pin::new(&mut task)
                .poll(&mut Context::from_waker(&panicking))
                .is_pending());
            for _ in 0..10 {
                yield_now().await; // The task completes meanwhile.
            }
        })
    }));
    let payload = woken.expect_err("the joiner's panic reaches the block_on caller");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"wake"));
    assert_eq!(runtime.block_on(task).unwrap(), 5);
    assert_eq!(runtime.block_on(async { 6 }), 6);
}

/// Builds wakers whose `clone` or `drop` panics; `wake` does nothing.
fn waker_panicking_in(which: &'static str) -> Waker {
    fn vtable_for(which: &str) -> &'static RawWakerVTable {
        static CLONE: RawWakerVTable =
            RawWakerVTable::new(|_| panic!("clone"), |_| {}, |_| {}, |_| {});
        static DROP: RawWakerVTable = RawWakerVTable::new(
            |data| RawWaker::new(data, &DROP),
            |_| panic!("drop"),
            |_| {},
            |_| panic!("drop"),
        );
        if which == "clone" {
            &CLONE
        } else {
            &DROP
        }
    }
    let raw = RawWaker::new(std::ptr::null(), vtable_for(which));
    // SAFETY: the vtable's functions ignore the (null) data pointer, so any use is sound; they
    // panic or do nothing, which the `RawWaker` contract allows.
    unsafe { Waker::from_raw(raw) }
}

/// A task that polls a runtime future with a hostile waker panics inside its own poll; the
/// runtime's state stays consistent and the panic reaches the task's joiner.
#[test]
fn a_waker_that_panics_in_clone_or_drop_reaches_the_joiner_and_breaks_nothing() {
    minireactor::block_on(async {
        let (ours, _theirs) = UnixStream::pair().unwrap();
        let fd = Rc::new(AsyncFd::new(ours).unwrap());
        for which in ["clone", "drop"] {
            let task = spawn({
                let fd = fd.clone();
                async move {
                    // Never dropped here: a second panic while unwinding would abort the test.
                    let hostile = std::mem::ManuallyDrop::new(waker_panicking_in(which));
                    let mut cx = Context::from_waker(&hostile);
                    let mut wait = pin!(fd.readable());
                    let _ = wait.as_mut().poll(&mut cx);
                    // A second poll replaces (and drops) the stored clone.
                    let _ = wait.as_mut().poll(&mut Context::from_waker(Waker::noop()));
                    poll_fn(|_| Poll::Ready(())).await;
                }
            });
            let outcome = task.await;
            assert!(outcome.is_err_and(|err| err.is_panic()), "{which}");
            // Whatever happened, the fd and the runtime still work.
            let reactor = minireactor::reactor::Reactor::current().unwrap();
            assert_eq!(reactor.io_waiters(), 0, "{which}");
            still_works().await;
        }
    });
}
