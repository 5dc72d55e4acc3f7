//! The cooperative budget seen from a real runtime: a task whose channel is never empty must
//! still let the timers run.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::mpsc as std_mpsc;
use std::task::{Context, Poll};
use std::time::Duration;

use minireactor_reactor::coop;

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

/// Gives each poll of the inner future a fresh budget, as the executor will for every task.
struct Budgeted<F>(Pin<Box<F>>);

impl<F: Future> Future for Budgeted<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        coop::with_budget(|| self.0.as_mut().poll(cx))
    }
}

/// Spins on an always-full channel until a 10 ms timer in another task fires, or gives up
/// after a generous number of operations; returns whether the timer fired first.
async fn spin_until_a_timer_fires(budgeted: bool) -> bool {
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
    let fired_first = if budgeted {
        minireactor::spawn(Budgeted(Box::pin(spinner)))
            .await
            .unwrap()
    } else {
        minireactor::spawn(spinner).await.unwrap()
    };
    timer.await.unwrap();
    fired_first
}

#[test]
fn a_task_receiving_from_an_always_full_channel_lets_a_timer_fire() {
    let _done = thread_watchdog(Duration::from_secs(60));
    let fired_first = minireactor::block_on(spin_until_a_timer_fires(false));
    assert!(fired_first, "the timer never got a turn");
}

/// The same, with the budget set around each poll of the spinner by hand: what this crate
/// must do for the executor's budget to work (refuse the 129th receive and have the task
/// woken after the reactor's turn) is in place today.
#[test]
fn with_a_budget_per_poll_the_spinning_receiver_lets_a_timer_fire() {
    let _done = thread_watchdog(Duration::from_secs(60));
    let fired_first = minireactor::block_on(spin_until_a_timer_fires(true));
    assert!(fired_first, "the timer never got a turn");
}
