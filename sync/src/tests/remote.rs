use std::task::Poll;
use std::thread;

use super::Probe;
use crate::remote::{self, error::TryRecvError};

#[test]
fn many_sends_from_another_thread_while_the_receiver_sleeps_wake_it_once() {
    let (tx, mut rx) = remote::channel();
    let probe = Probe::new();
    assert!(probe.poll(&mut rx.recv()).is_pending());
    let sender = thread::spawn(move || {
        for i in 0..1000 {
            tx.send(i).unwrap();
        }
        tx
    });
    let tx = sender.join().unwrap();
    assert_eq!(probe.wakes(), 1);
    for i in 0..1000 {
        assert_eq!(probe.poll(&mut rx.recv()), Poll::Ready(Some(i)));
    }
    assert!(probe.poll(&mut rx.recv()).is_pending());
    tx.send(1000).unwrap();
    tx.send(1001).unwrap();
    assert_eq!(probe.wakes(), 2, "one more sleep, one more wake");
}

#[test]
fn the_last_sender_gone_ends_the_receiver_after_the_queue() {
    let (tx, mut rx) = remote::channel();
    let tx2 = tx.clone();
    let probe = Probe::new();
    assert!(probe.poll(&mut rx.recv()).is_pending());
    thread::spawn(move || {
        tx.send(1).unwrap();
        drop(tx2);
    })
    .join()
    .unwrap();
    assert_eq!(rx.try_recv(), Ok(1));
    assert!(rx.is_closed());
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    assert_eq!(probe.poll(&mut rx.recv()), Poll::Ready(None));
}

#[test]
fn a_closed_or_dropped_receiver_hands_messages_back() {
    let (tx, mut rx) = remote::channel();
    tx.send(1).unwrap();
    rx.close();
    assert!(tx.is_closed());
    assert_eq!(tx.send(2).map_err(|e| e.0), Err(2));
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    let (tx, rx) = remote::channel::<u8>();
    drop(rx);
    assert!(tx.send(3).is_err());
}

#[test]
fn the_sender_is_send_and_clone() {
    fn assert_send_clone<T: Send + Clone>() {}
    assert_send_clone::<remote::Sender<Vec<u8>>>();
}

#[test]
fn a_waker_replaced_by_a_poll_is_dropped_outside_the_lock() {
    use std::sync::{Arc, Mutex};
    use std::task::{Context, Wake, Waker};

    /// A waker that keeps a sender of the channel: its last drop drops the sender, which locks.
    struct OwnsSender(#[allow(dead_code)] Mutex<Option<remote::Sender<u32>>>);
    impl Wake for OwnsSender {
        fn wake(self: Arc<Self>) {}
    }

    let (done_tx, done_rx) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let (tx, mut rx) = remote::channel::<u32>();
        let first = Waker::from(Arc::new(OwnsSender(Mutex::new(Some(tx.clone())))));
        assert!(rx.poll_recv(&mut Context::from_waker(&first)).is_pending());
        drop(first); // The channel's copy is now the last.
        let second = Waker::from(Arc::new(OwnsSender(Mutex::new(None))));
        assert!(rx.poll_recv(&mut Context::from_waker(&second)).is_pending());
        drop(tx);
        done_tx.send(()).unwrap();
    });
    assert_eq!(
        done_rx.recv_timeout(std::time::Duration::from_secs(30)),
        Ok(()),
        "watchdog: poll_recv deadlocked dropping the replaced waker under the channel's lock"
    );
}
