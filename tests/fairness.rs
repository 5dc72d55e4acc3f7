//! Nothing one task does can freeze the others: the cooperative budget (an always-ready fd, an
//! always-due timer), `yield_now` that lets the reactor in, and the `block_on` future scheduled
//! among the tasks.
//!
//! The bounds are watchdogs ("not seconds"), not performance figures: without the budget these
//! sleeps fired only after the busy task finished, seconds later, or never.

mod util;

use std::cell::Cell;
use std::future::{poll_fn, Future};
use std::io::{self, Write};
use std::net;
use std::pin::pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use minireactor::net::{TcpStream, UnixStream};
use minireactor::task::unconstrained;
use minireactor::time::{interval, sleep, sleep_until, MissedTickBehavior};
use minireactor::{spawn, yield_now};
use util::on_thread_with_watchdog;

/// How late a 10 ms sleep may fire next to a busy task: generous for a loaded 2-core machine.
const LATE: Duration = Duration::from_millis(50);
const SLEEP: Duration = Duration::from_millis(10);
const WATCHDOG: Duration = Duration::from_secs(60);

/// A connected TCP pair: ours registered with the runtime, theirs a plain std socket.
fn tcp_pair() -> (TcpStream, net::TcpStream) {
    let listener = net::TcpListener::bind("127.0.0.1:0").unwrap();
    let theirs = net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (ours, _) = listener.accept().unwrap();
    (TcpStream::from_std(ours).unwrap(), theirs)
}

/// Writes into `socket` until its buffers are full, then closes its write side; returns how
/// many bytes are queued for the peer.
fn prefill(mut socket: impl Write + FillTarget) -> usize {
    socket.set_nonblocking_for_fill();
    let chunk = [7u8; 64 * 1024];
    let mut queued = 0;
    loop {
        match socket.write(&chunk) {
            Ok(n) => queued += n,
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
            Err(err) => panic!("prefill: {err}"),
        }
    }
    socket.close_write();
    queued
}

/// What `prefill` needs beyond `Write`.
trait FillTarget {
    fn set_nonblocking_for_fill(&self);
    fn close_write(&self);
}

impl FillTarget for &net::TcpStream {
    fn set_nonblocking_for_fill(&self) {
        self.set_nonblocking(true).unwrap();
    }
    fn close_write(&self) {
        self.shutdown(net::Shutdown::Write).unwrap();
    }
}

impl FillTarget for &std::os::unix::net::UnixStream {
    fn set_nonblocking_for_fill(&self) {
        self.set_nonblocking(true).unwrap();
    }
    fn close_write(&self) {
        self.shutdown(net::Shutdown::Write).unwrap();
    }
}

/// Checks that a 10 ms sleep, both in the `block_on` future and in another task, fires within
/// [`LATE`] while `busy` runs — and that `busy` was still running then, so the test means
/// something. `busy` reports its progress in the counter it is given.
async fn sleeps_fire_while<F>(busy: impl FnOnce(Rc<Cell<u64>>) -> F, total: u64)
where
    F: Future<Output = u64> + 'static,
{
    let progress = Rc::new(Cell::new(0));
    let busy = spawn(busy(progress.clone()));
    let sleeper = spawn(async {
        let start = Instant::now();
        sleep(SLEEP).await;
        start.elapsed()
    });
    let start = Instant::now();
    sleep(SLEEP).await;
    let in_block_on = start.elapsed();
    let done_then = progress.get();
    let in_task = sleeper.await.unwrap();
    assert!(
        in_block_on < SLEEP + LATE,
        "the block_on future's sleep fired after {in_block_on:?}"
    );
    assert!(
        in_task < SLEEP + LATE,
        "a task's sleep fired after {in_task:?}"
    );
    assert!(
        done_then > 0 && done_then < total,
        "the busy task had done {done_then} of {total} when the sleep fired: not busy then"
    );
    busy.abort();
}

/// Regression: a task reading a pre-filled socket a byte at a time never returned `Pending`,
/// so every other task and timer waited until it had read everything (3.7–6.8 s on TCP).
#[test]
#[cfg_attr(
    miri,
    ignore = "measures what real time allows, and under Miri a poll takes milliseconds"
)]
fn a_byte_at_a_time_reader_of_a_prefilled_tcp_socket_lets_sleeps_fire() {
    on_thread_with_watchdog(WATCHDOG, || {
        minireactor::block_on(async {
            let (ours, theirs) = tcp_pair();
            let queued = prefill(&theirs) as u64;
            sleeps_fire_while(
                |progress| async move {
                    let mut byte = [0u8; 1];
                    while ours.read(&mut byte).await.unwrap() == 1 {
                        progress.set(progress.get() + 1);
                    }
                    progress.get()
                },
                queued,
            )
            .await;
        });
    });
}

/// The same class on a Unix stream (190–224 ms late before the budget).
#[test]
#[cfg_attr(
    miri,
    ignore = "Miri does not emulate ioctl on a socketpair (std's set_nonblocking)"
)]
fn a_byte_at_a_time_reader_of_a_prefilled_unix_socket_lets_sleeps_fire() {
    on_thread_with_watchdog(WATCHDOG, || {
        minireactor::block_on(async {
            let (ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
            let queued = prefill(&theirs) as u64;
            let ours = UnixStream::from_std(ours).unwrap();
            sleeps_fire_while(
                |progress| async move {
                    let mut byte = [0u8; 1];
                    while ours.read(&mut byte).await.unwrap() == 1 {
                        progress.set(progress.get() + 1);
                    }
                    progress.get()
                },
                queued,
            )
            .await;
        });
    });
}

/// Regression: with a thread flooding a TCP socket, a 10 ms sleep did not return for the whole
/// 2 s window while the reader made 1.7 M reads.
#[test]
#[cfg_attr(
    miri,
    ignore = "measures what real time allows, and under Miri a poll takes milliseconds"
)]
fn a_reader_of_a_socket_flooded_by_a_thread_lets_sleeps_fire() {
    on_thread_with_watchdog(WATCHDOG, || {
        let (ours, mut theirs) = tcp_pair();
        let stop = Arc::new(AtomicBool::new(false));
        let writer = std::thread::spawn({
            let stop = stop.clone();
            move || {
                let chunk = [1u8; 16 * 1024];
                while !stop.load(Ordering::Relaxed) {
                    if theirs.write_all(&chunk).is_err() {
                        break; // The reader is gone.
                    }
                }
            }
        });
        minireactor::block_on(async {
            sleeps_fire_while(
                |progress| async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    loop {
                        let n = ours.read(&mut buf).await.unwrap();
                        progress.set(progress.get() + n as u64);
                    }
                },
                u64::MAX,
            )
            .await;
        });
        stop.store(true, Ordering::Relaxed);
        writer.join().unwrap();
    });
}

/// A timer that is already due completes at once, and so spends budget: a task that sleeps for
/// zero in a loop is made to yield too.
#[test]
#[cfg_attr(
    miri,
    ignore = "measures what real time allows, and under Miri a poll takes milliseconds"
)]
fn a_loop_of_already_due_timers_lets_sleeps_fire() {
    on_thread_with_watchdog(WATCHDOG, || {
        minireactor::block_on(async {
            sleeps_fire_while(
                |progress| async move {
                    loop {
                        sleep(Duration::ZERO).await;
                        progress.set(progress.get() + 1);
                    }
                },
                u64::MAX,
            )
            .await;
        });
    });
}

/// Counts how many times `future` is polled before it completes.
async fn polls_until_done(future: impl Future<Output = ()>) -> usize {
    let mut future = pin!(future);
    let mut polls = 0;
    poll_fn(|cx| {
        polls += 1;
        future.as_mut().poll(cx)
    })
    .await;
    polls
}

#[test]
fn the_budget_makes_a_task_yield_every_128_operations_and_unconstrained_never() {
    minireactor::block_on(async {
        let many_due_sleeps = || async {
            for _ in 0..1_000 {
                // Due already: the deadline is not after the clock's last reading.
                sleep_until(minireactor::time::now()).await;
            }
        };
        let constrained = polls_until_done(many_due_sleeps()).await;
        assert_eq!(
            constrained,
            1_000usize.div_ceil(128),
            "one poll per budget of 128"
        );
        let free = polls_until_done(unconstrained(many_due_sleeps())).await;
        assert_eq!(free, 1, "unconstrained code is never told to yield");
    });
}

/// A task that yields in a loop leaves the timers their turn: a 10 ms interval that skips what it
/// misses keeps at least 90 % of its ticks over a second.
#[test]
#[cfg_attr(
    miri,
    ignore = "measures what real time allows, and under Miri a poll takes milliseconds"
)]
fn a_task_looping_on_yield_now_leaves_an_interval_its_ticks() {
    on_thread_with_watchdog(WATCHDOG, || {
        minireactor::block_on(async {
            let spinner = spawn(async {
                loop {
                    yield_now().await;
                }
            });
            let period = Duration::from_millis(10);
            let mut ticks = interval(period);
            ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
            let start = Instant::now();
            let mut count = 0u32;
            while start.elapsed() < Duration::from_secs(1) {
                ticks.tick().await;
                count += 1;
            }
            let expected = (start.elapsed().as_millis() / period.as_millis()) as u32;
            spinner.abort();
            assert!(
                count * 10 >= expected * 9,
                "{count} ticks in {:?}, wanted at least 90 % of {expected}",
                start.elapsed()
            );
        });
    });
}

/// Regression: a yielded task was polled again in the same batch, so the `block_on` future (run
/// only between batches) found the task it meant to abort already finished.
#[test]
fn a_task_aborted_right_after_one_yield_is_cancelled_not_finished() {
    minireactor::block_on(async {
        let victim = spawn(async {
            for _ in 0..10 {
                yield_now().await;
            }
        });
        yield_now().await;
        victim.abort();
        let outcome = victim.await;
        assert!(
            outcome.as_ref().is_err_and(|err| err.is_cancelled()),
            "the victim ran to the end before the abort: {outcome:?}"
        );
    });
}

/// The same from a task: the aborter and its victim are polled in turn, each yield letting the
/// other go once.
#[test]
fn a_task_aborting_another_after_one_yield_finds_it_still_running() {
    minireactor::block_on(async {
        let aborter = spawn(async {
            let victim = spawn(async {
                for _ in 0..10 {
                    yield_now().await;
                }
            });
            yield_now().await;
            victim.abort();
            victim.await
        });
        let outcome = aborter.await.unwrap();
        assert!(outcome.is_err_and(|err| err.is_cancelled()));
    });
}
