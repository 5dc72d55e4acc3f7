//! The primitives between real tasks (and threads) on a minireactor runtime. Every test body
//! runs under a watchdog.

use std::cell::{Cell, RefCell};
use std::future::{poll_fn, Future};
use std::rc::Rc;
use std::time::Duration;

use minireactor_sync::{
    broadcast, mpsc, oneshot, remote, watch, CancellationToken, Mutex, Notify, RwLock, Semaphore,
};

fn run<F: Future>(body: F) -> F::Output {
    minireactor::block_on(async {
        minireactor::time::timeout(Duration::from_secs(60), body)
            .await
            .expect("watchdog: the test hung")
    })
}

#[test]
fn oneshot_answers_a_request_across_tasks() {
    run(async {
        let (tx, rx) = oneshot::channel();
        let answer = minireactor::spawn(rx);
        minireactor::yield_now().await;
        tx.send("pong").unwrap();
        assert_eq!(answer.await.unwrap(), Ok("pong"));
    });
}

#[test]
fn bounded_producers_keep_their_own_order_and_the_end_comes_last() {
    run(async {
        let (tx, mut rx) = mpsc::channel(3);
        let producers: Vec<_> = (0..4u32)
            .map(|producer| {
                let tx = tx.clone();
                minireactor::spawn(async move {
                    for seq in 0..500u32 {
                        tx.send((producer, seq)).await.unwrap();
                    }
                })
            })
            .collect();
        drop(tx);
        let mut next = [0u32; 4];
        while let Some((producer, seq)) = rx.recv().await {
            assert_eq!(seq, next[producer as usize], "per-producer order");
            next[producer as usize] += 1;
        }
        assert_eq!(next, [500; 4]);
        for producer in producers {
            producer.await.unwrap();
        }
    });
}

#[test]
fn dropping_the_receiver_fails_a_sender_waiting_for_room() {
    run(async {
        let (tx, rx) = mpsc::channel(1);
        tx.send(1).await.unwrap();
        let blocked = minireactor::spawn(async move { tx.send(2).await.map_err(|e| e.0) });
        minireactor::yield_now().await;
        drop(rx);
        assert_eq!(blocked.await.unwrap(), Err(2));
    });
}

#[test]
fn notify_ping_pong_between_two_tasks() {
    run(async {
        let (ping, pong) = (Rc::new(Notify::new()), Rc::new(Notify::new()));
        let rounds = Rc::new(Cell::new(0));
        let echo = {
            let (ping, pong, rounds) = (ping.clone(), pong.clone(), rounds.clone());
            minireactor::spawn(async move {
                for _ in 0..1000 {
                    ping.notified().await;
                    rounds.set(rounds.get() + 1);
                    pong.notify_one();
                }
            })
        };
        for round in 0..1000 {
            ping.notify_one();
            pong.notified().await;
            assert_eq!(rounds.get(), round + 1, "one round per notification");
        }
        echo.await.unwrap();
    });
}

#[test]
fn a_mutex_is_held_across_awaits_and_handed_over_in_order() {
    run(async {
        let mutex = Rc::new(Mutex::new(Vec::new()));
        let first = mutex.lock().await;
        let tasks: Vec<_> = (0..5)
            .map(|i| {
                let mutex = mutex.clone();
                minireactor::spawn(async move {
                    let mut log = mutex.lock().await;
                    minireactor::yield_now().await;
                    log.push(i);
                })
            })
            .collect();
        minireactor::yield_now().await; // every task is queued on the lock now
        drop(first);
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(*mutex.lock().await, [0, 1, 2, 3, 4]);
    });
}

#[test]
fn rwlock_readers_share_and_a_writer_waits_for_them() {
    run(async {
        let lock = Rc::new(RwLock::new(0));
        let readers: Vec<_> = (0..3)
            .map(|_| {
                let lock = lock.clone();
                minireactor::spawn(async move {
                    let value = lock.read().await;
                    minireactor::time::sleep(Duration::from_millis(5)).await;
                    *value
                })
            })
            .collect();
        minireactor::yield_now().await;
        *lock.write().await += 1;
        for reader in readers {
            assert_eq!(
                reader.await.unwrap(),
                0,
                "the writer waited for every reader"
            );
        }
        assert_eq!(*lock.read().await, 1);
    });
}

#[test]
fn semaphore_limits_concurrency_across_tasks() {
    run(async {
        let semaphore = Rc::new(Semaphore::new(3));
        let (inside, peak) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let (semaphore, inside, peak) = (semaphore.clone(), inside.clone(), peak.clone());
                minireactor::spawn(async move {
                    let _permit = semaphore.acquire().await.unwrap();
                    inside.set(inside.get() + 1);
                    peak.set(peak.get().max(inside.get()));
                    minireactor::yield_now().await;
                    inside.set(inside.get() - 1);
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(peak.get(), 3);
        assert_eq!(semaphore.available_permits(), 3);
    });
}

#[test]
fn watch_receivers_see_the_latest_value_and_the_close() {
    run(async {
        let (tx, rx) = watch::channel(0);
        let seen = Rc::new(RefCell::new(Vec::new()));
        let watchers: Vec<_> = (0..3)
            .map(|_| {
                let (mut rx, seen) = (rx.clone(), seen.clone());
                minireactor::spawn(async move {
                    while rx.changed().await.is_ok() {
                        seen.borrow_mut().push(*rx.borrow_and_update());
                    }
                })
            })
            .collect();
        drop(rx);
        minireactor::yield_now().await;
        for i in 1..=3 {
            tx.send(i).unwrap();
            tx.send(i * 10).unwrap(); // overwrites: watchers only see the latest
            minireactor::yield_now().await;
        }
        drop(tx);
        for watcher in watchers {
            watcher.await.unwrap();
        }
        let mut seen = seen.take();
        seen.sort();
        assert_eq!(seen, [10, 10, 10, 20, 20, 20, 30, 30, 30]);
    });
}

#[test]
fn broadcast_reaches_every_subscriber_and_then_closes() {
    run(async {
        let (tx, rx) = broadcast::channel(16);
        let subscribers: Vec<_> = (0..3)
            .map(|_| {
                let mut rx = rx.resubscribe();
                minireactor::spawn(async move {
                    let mut got = Vec::new();
                    while let Ok(value) = rx.recv().await {
                        got.push(value);
                    }
                    got
                })
            })
            .collect();
        drop(rx);
        for i in 0..10 {
            tx.send(i).unwrap();
            minireactor::yield_now().await;
        }
        drop(tx);
        for subscriber in subscribers {
            assert_eq!(subscriber.await.unwrap(), (0..10).collect::<Vec<_>>());
        }
    });
}

#[test]
fn cancelling_a_parent_token_stops_every_child_task() {
    run(async {
        let root = CancellationToken::new();
        let workers: Vec<_> = (0..10)
            .map(|_| {
                let token = root.child_token().child_token();
                minireactor::spawn(async move { token.cancelled().await })
            })
            .collect();
        minireactor::yield_now().await;
        root.cancel();
        for worker in workers {
            worker.await.unwrap();
        }
    });
}

/// A thread floods a task through `remote`; the task is woken at most once per sleep, and so
/// the runtime's eventfd is written at most once per sleep of the receiver.
#[test]
fn remote_feeds_a_task_from_a_thread_with_one_wake_per_sleep() {
    run(async {
        let (tx, mut rx) = remote::channel();
        let unparker = minireactor::reactor::Reactor::current().unwrap().unparker();
        let writes_before = unparker.eventfd_writes();
        let feeder = std::thread::spawn(move || {
            for i in 0..100_000u32 {
                tx.send(i).unwrap();
            }
        });
        let (mut next, mut sleeps) = (0, 0);
        while let Some(i) = poll_fn(|cx| {
            let poll = rx.poll_recv(cx);
            sleeps += usize::from(poll.is_pending());
            poll
        })
        .await
        {
            assert_eq!(i, next);
            next += 1;
        }
        feeder.join().unwrap();
        assert_eq!(next, 100_000);
        let writes = (unparker.eventfd_writes() - writes_before) as usize;
        assert!(
            writes <= sleeps,
            "{writes} eventfd writes for {sleeps} sleeps"
        );
    });
}

#[test]
fn remote_works_from_a_blocking_closure() {
    run(async {
        let (tx, mut rx) = remote::channel();
        let closure = minireactor::spawn_blocking(move || {
            std::thread::sleep(Duration::from_millis(5));
            tx.send("from the closure").unwrap();
        });
        assert_eq!(rx.recv().await, Some("from the closure"));
        assert_eq!(rx.recv().await, None, "the sender is gone");
        closure.await.unwrap();
    });
}
