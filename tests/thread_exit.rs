//! A runtime, I/O objects, timers, join handles and wakers kept in `thread_local!`s are dropped
//! at thread exit, in whatever order the thread-locals are destroyed, without an abort, a leaked
//! fd or a hang.
//!
//! Regression: a `Runtime` in a `thread_local!` aborted the process at thread exit ("thread local
//! panicked on drop": its drop touched a thread-local that was already gone). An abort would kill
//! the test binary, so the scenarios run in a child process (this binary, re-executed).

mod util;

use std::any::Any;
use std::cell::RefCell;
use std::future::{poll_fn, Future};
use std::os::unix::net::UnixStream;
use std::pin::Pin;
use std::rc::Rc;
use std::task::Poll;
use std::thread::LocalKey;
use std::time::Duration;

use minireactor::io::AsyncFd;
use minireactor::time::{sleep, Sleep};
use minireactor::{spawn, yield_now, Runtime};

const CHILD_ENV: &str = "MINIREACTOR_THREAD_EXIT_CHILD";

type Slot = RefCell<Option<Box<dyn Any>>>;

thread_local! {
    static RUNTIME: Slot = const { RefCell::new(None) };
    static ASYNC_FD: Slot = const { RefCell::new(None) };
    static SLEEP: Slot = const { RefCell::new(None) };
    static JOIN_HANDLE: Slot = const { RefCell::new(None) };
    static WAKER: Slot = const { RefCell::new(None) };
}

/// The slots, in the order of [`Thing`].
const SLOTS: [&LocalKey<Slot>; 5] = [&RUNTIME, &ASYNC_FD, &SLEEP, &JOIN_HANDLE, &WAKER];

/// Everything a thread keeps, made inside a runtime that is then stored too.
fn make_things() -> [Box<dyn Any>; 5] {
    let runtime = Runtime::new().unwrap();
    let (fd, timer, handle, waker) = runtime.block_on(async {
        let (ours, theirs) = UnixStream::pair().unwrap();
        let fd = AsyncFd::new(ours).unwrap();
        let mut timer: Pin<Box<Sleep>> = Box::pin(sleep(Duration::from_secs(3600)));
        poll_fn(|cx| {
            assert!(timer.as_mut().poll(cx).is_pending()); // Registered with the reactor.
            Poll::Ready(())
        })
        .await;
        // A task that holds I/O and a timer of its own, and hands out its waker.
        let task_waker = Rc::new(RefCell::new(None));
        let handle = spawn({
            let task_waker = task_waker.clone();
            async move {
                let (held, _peer) = (AsyncFd::new(theirs).unwrap(), ());
                let _timer = sleep(Duration::from_secs(3600));
                poll_fn(|cx| {
                    *task_waker.borrow_mut() = Some(cx.waker().clone());
                    Poll::<()>::Pending
                })
                .await;
                drop(held);
            }
        });
        yield_now().await;
        let waker = task_waker.borrow_mut().take().expect("the task ran");
        (fd, timer, handle, waker)
    });
    [
        Box::new(runtime),
        Box::new(fd),
        Box::new(timer),
        Box::new(handle),
        Box::new(waker),
    ]
}

/// Every ordering of five slots.
fn permutations() -> Vec<[usize; 5]> {
    let mut all = Vec::new();
    let mut order = [0, 1, 2, 3, 4];
    permute(&mut order, 0, &mut all);
    all
}

fn permute(order: &mut [usize; 5], start: usize, all: &mut Vec<[usize; 5]>) {
    if start == order.len() {
        all.push(*order);
        return;
    }
    for i in start..order.len() {
        order.swap(start, i);
        permute(order, start + 1, all);
        order.swap(start, i);
    }
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// The child's side: one thread per ordering, twice — the slots first touched before the runtime
/// exists (so they are destroyed after the runtime's own thread-locals) and after.
#[test]
#[ignore = "entry point of the child process of every_ordering_of_thread_locals_exits_cleanly"]
fn thread_exit_child() {
    util::assert_run_by_parent(CHILD_ENV);
    let baseline = open_fds();
    for order in permutations() {
        for touch_slots_first in [true, false] {
            std::thread::spawn(move || {
                if touch_slots_first {
                    for &slot in &order {
                        SLOTS[slot].with(|_| ()); // Registers its destructor now.
                    }
                }
                let mut things = make_things().map(Some);
                for &slot in &order {
                    let thing = things[slot].take();
                    SLOTS[slot].with(|cell| *cell.borrow_mut() = thing);
                }
            })
            .join()
            .expect("a thread panicked at exit");
        }
    }
    assert_eq!(open_fds(), baseline, "fds leaked at thread exit");
    println!(
        "thread-exit child: all {} orderings done",
        permutations().len() * 2
    );
}

/// A thread-local whose destructor runs a `block_on` that spawns, awaits a timer and joins.
struct BlockOnInDrop;

impl Drop for BlockOnInDrop {
    fn drop(&mut self) {
        let joined = minireactor::block_on(async {
            let task = spawn(async {
                sleep(Duration::from_millis(1)).await;
                7
            });
            task.await.unwrap()
        });
        assert_eq!(joined, 7);
        println!("block_on in a thread-local's destructor: done");
    }
}

thread_local! {
    static BLOCK_ON_AT_EXIT: RefCell<Option<BlockOnInDrop>> = const { RefCell::new(None) };
}

/// The child's side of `block_on_in_a_thread_local_destructor_runs_at_thread_exit`. The
/// thread-local is touched after the reactor's and before the executor's (thread-locals are
/// destroyed in the reverse order): its destructor runs with the reactor still there and the
/// executor's thread-locals destroyed, if they can be.
#[test]
#[ignore = "entry point of the child process of block_on_in_a_thread_local_destructor_runs_at_thread_exit"]
fn block_on_at_exit_child() {
    util::assert_run_by_parent(CHILD_ENV);
    std::thread::spawn(|| {
        minireactor::time::now(); // Creates this thread's reactor.
        BLOCK_ON_AT_EXIT.with(|slot| *slot.borrow_mut() = Some(BlockOnInDrop));
        minireactor::block_on(async { yield_now().await });
    })
    .join()
    .expect("a thread panicked at exit");
}

/// Regression: `block_on` from a thread-local's destructor, after the executor's own
/// thread-locals were destroyed, panicked in a destructor ("thread local panicked on drop"):
/// an abort. (Once the reactor's thread-local is gone too, a `block_on` there can only fail:
/// it has no reactor, and says so.)
#[test]
fn block_on_in_a_thread_local_destructor_runs_at_thread_exit() {
    let stdout = util::assert_child_test_passes(
        "block_on_at_exit_child",
        &[(CHILD_ENV, "1")],
        Duration::from_secs(60),
    );
    assert!(
        stdout.contains("block_on in a thread-local's destructor: done"),
        "{stdout}"
    );
}

#[test]
fn every_ordering_of_thread_locals_exits_cleanly() {
    let stdout = util::assert_child_test_passes(
        "thread_exit_child",
        &[(CHILD_ENV, "1")],
        Duration::from_secs(120),
    );
    assert!(stdout.contains("all 240 orderings done"), "{stdout}");
}
