use std::rc::Rc;
use std::task::Poll;

use super::Probe;
use crate::oneshot::{self, error::TryRecvError};

#[test]
fn a_sent_value_wakes_the_receiver_once() {
    let (tx, mut rx) = oneshot::channel();
    let probe = Probe::new();
    assert_eq!(probe.poll(&mut rx), Poll::Pending);
    assert_eq!(tx.send(5), Ok(()));
    assert_eq!(probe.wakes(), 1);
    assert!(!rx.is_empty());
    assert_eq!(probe.poll(&mut rx), Poll::Ready(Ok(5)));
    assert!(rx.is_terminated());
}

#[test]
fn a_dropped_sender_ends_the_receiver() {
    let (tx, mut rx) = oneshot::channel::<u8>();
    let probe = Probe::new();
    assert_eq!(probe.poll(&mut rx), Poll::Pending);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    drop(tx);
    assert_eq!(probe.wakes(), 1);
    assert!(rx.is_terminated());
    assert!(matches!(probe.poll(&mut rx), Poll::Ready(Err(_))));
}

#[test]
fn a_dropped_receiver_hands_the_value_back_and_wakes_closed() {
    let (mut tx, rx) = oneshot::channel();
    let probe = Probe::new();
    assert_eq!(probe.poll(&mut Box::pin(tx.closed())), Poll::Pending);
    drop(rx);
    assert_eq!(probe.wakes(), 1);
    assert!(tx.is_closed());
    assert_eq!(probe.poll(&mut Box::pin(tx.closed())), Poll::Ready(()));
    assert_eq!(tx.send("back"), Err("back"));
}

#[test]
fn close_refuses_later_sends_but_keeps_an_earlier_value() {
    let (tx, mut rx) = oneshot::channel();
    tx.send(1).unwrap();
    rx.close();
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));

    let (tx, mut rx) = oneshot::channel();
    rx.close();
    assert_eq!(tx.send(2), Err(2));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn a_closed_receiver_is_not_woken_by_the_sender_it_refused() {
    let (tx, mut rx) = oneshot::channel();
    let probe = Probe::new();
    assert_eq!(probe.poll(&mut rx), Poll::Pending);
    rx.close();
    assert_eq!(tx.send(1), Err(1)); // The refused send drops the sender.
    assert_eq!(probe.wakes(), 0, "nothing the receiver can observe changed");
    assert!(matches!(probe.poll(&mut rx), Poll::Ready(Err(_))));
}

#[test]
fn a_value_nobody_receives_is_dropped_with_the_receiver() {
    let value = Rc::new(());
    let (tx, rx) = oneshot::channel();
    tx.send(value.clone()).unwrap();
    assert_eq!(Rc::strong_count(&value), 2);
    drop(rx);
    assert_eq!(Rc::strong_count(&value), 1);
}
