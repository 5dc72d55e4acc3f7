//! The cooperative budget seen from a real runtime: a task whose channel is never empty must
//! still let the timers run.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use minireactor_sync::mpsc;

/// Aborts the process if the test is still running after `limit`: a task that never yields
/// keeps the runtime's own timers (and so any in-runtime watchdog) from firing.
fn thread_watchdog(limit: Duration) -> std_mpsc::Sender<()> {
    let (done, wait) = std_mpsc::channel();
    std::thread::spawn(move || {
        if wait.recv_timeout(limit) == Err(std_mpsc::RecvTimeoutError::Timeout) {
            eprintln!("watchdog: the test hung");
            std::process::exit(1);
        }
    });
    done
}

/// Spins on an always-full channel until a 10 ms timer in another task fires, or gives up
/// after a generous number of operations; returns whether the timer fired first.
async fn spin_until_a_timer_fires() -> bool {
    let (tx, mut rx) = mpsc::unbounded_channel();
    for i in 0..64 {
        tx.send(i).unwrap();
    }
    let fired = Rc::new(Cell::new(false));
    let timer = {
        let fired = fired.clone();
        minireactor::spawn(async move {
            minireactor::time::sleep(Duration::from_millis(10)).await;
            fired.set(true);
        })
    };
    // Every receive finds a message (each one is sent straight back), so this loop never
    // waits. Without a budget it never returns to the scheduler, and after its bound of
    // operations it ends with the timer still pending.
    let spinner = async move {
        let mut operations = 0u64;
        while !fired.get() && operations < 200_000_000 {
            let message = rx.recv().await.expect("the channel is never empty");
            tx.send(message).unwrap();
            operations += 1;
        }
        fired.get()
    };
    let fired_first = minireactor::spawn(spinner).await.unwrap();
    timer.await.unwrap();
    fired_first
}

#[test]
fn a_task_receiving_from_an_always_full_channel_lets_a_timer_fire() {
    let _done = thread_watchdog(Duration::from_secs(60));
    let fired_first = minireactor::block_on(spin_until_a_timer_fires());
    assert!(fired_first, "the timer never got a turn");
}

/// A minimal foreign executor, as `futures::executor::block_on`: polls `future` on this thread,
/// parking between polls until its waker is woken.
fn foreign_block_on<F: std::future::Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(std::sync::Arc::new(Unpark(std::thread::current())));
    let mut cx = std::task::Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        std::thread::park();
    }
}

/// Regression: the budget of the task leaked into a foreign executor's `block_on` nested in
/// it, and once it was spent, the refused receive deferred the foreign waker to minireactor's
/// next turn — which could not come while the task was inside `block_on`: it hung after 128
/// messages. Now that waker is woken at once, and the nested poller gets a new budget.
#[test]
fn a_foreign_block_on_nested_in_a_task_does_not_hang_on_a_spent_budget() {
    let done = thread_watchdog(Duration::from_secs(60));
    let received = minireactor::block_on(async {
        minireactor::spawn(async {
            let (tx, mut rx) = mpsc::unbounded_channel();
            for i in 0..1000 {
                tx.send(i).unwrap();
            }
            drop(tx);
            foreign_block_on(async {
                let mut received = 0;
                while rx.recv().await.is_some() {
                    received += 1;
                }
                received
            })
        })
        .await
        .unwrap()
    });
    assert_eq!(received, 1000);
    done.send(()).unwrap();
}
