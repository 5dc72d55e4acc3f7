use std::rc::Rc;
use std::task::Poll;

use super::Probe;
use crate::broadcast::{self, error::Lagged, error::RecvError, error::TryRecvError};

#[test]
fn every_receiver_sees_every_value_in_order() {
    let (tx, mut rx1) = broadcast::channel(8);
    let mut rx2 = tx.subscribe();
    for i in 0..5 {
        assert_eq!(tx.send(i).unwrap(), 2);
    }
    for rx in [&mut rx1, &mut rx2] {
        assert_eq!(
            (0..5).map(|_| rx.try_recv().unwrap()).collect::<Vec<_>>(),
            [0, 1, 2, 3, 4]
        );
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    }
}

#[test]
fn a_lagging_receiver_learns_how_many_it_missed_and_resumes_at_the_oldest() {
    let (tx, mut rx) = broadcast::channel(3);
    for i in 0..10 {
        tx.send(i).unwrap();
    }
    assert_eq!(rx.len(), 3);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Lagged(7)));
    assert_eq!(rx.try_recv(), Ok(7));
    tx.send(10).unwrap();
    tx.send(11).unwrap();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Lagged(1)));
    assert_eq!(Probe::new().poll(&mut rx.recv()), Poll::Ready(Ok(9)));
}

#[test]
fn receivers_drain_then_see_closed_when_every_sender_is_gone() {
    let (tx, mut rx) = broadcast::channel(2);
    let probe = Probe::new();
    let mut recv = rx.recv();
    assert!(probe.poll(&mut recv).is_pending());
    tx.send(1).unwrap();
    assert_eq!(probe.wakes(), 1);
    assert_eq!(probe.poll(&mut recv), Poll::Ready(Ok(1)));
    drop(recv);
    let mut recv = rx.recv();
    assert!(probe.poll(&mut recv).is_pending());
    tx.send(2).unwrap();
    drop(tx);
    assert_eq!(probe.poll(&mut recv), Poll::Ready(Ok(2)));
    drop(recv);
    assert_eq!(
        probe.poll(&mut rx.recv()),
        Poll::Ready(Err(RecvError::Closed))
    );
    assert!(rx.is_closed());
}

#[test]
fn sending_with_no_receiver_hands_the_value_back() {
    let (tx, rx) = broadcast::channel(2);
    drop(rx);
    assert_eq!(tx.send(1).map_err(|e| e.0), Err(1));
    let rx = tx.subscribe();
    assert_eq!(tx.send(2).unwrap(), 1);
    assert_eq!(
        rx.resubscribe().len(),
        0,
        "a new receiver starts after what was sent"
    );
}

#[test]
fn a_value_is_released_once_every_receiver_read_it_or_left() {
    let value = Rc::new(());
    let (tx, mut rx1) = broadcast::channel(4);
    let rx2 = tx.subscribe();
    tx.send(value.clone()).unwrap();
    assert_eq!(tx.len(), 1);
    let copy = rx1.try_recv().unwrap();
    drop(copy);
    assert_eq!(Rc::strong_count(&value), 2, "rx2 has not read it");
    drop(rx2);
    assert_eq!(Rc::strong_count(&value), 1);
    assert!(tx.is_empty());
}

#[test]
fn the_last_reader_takes_the_value_instead_of_cloning() {
    let value = Rc::new(());
    let (tx, mut rx) = broadcast::channel(1);
    tx.send(value.clone()).unwrap();
    let got = rx.try_recv().unwrap();
    assert_eq!(
        Rc::strong_count(&value),
        2,
        "one in the test, one received: no clone left behind"
    );
    drop(got);
}

#[test]
fn ten_thousand_cancelled_receives_leave_no_waiter_behind() {
    let (tx, mut rx) = broadcast::channel(1);
    let probe = Probe::new();
    for _ in 0..10_000 {
        assert!(probe.poll(&mut rx.recv()).is_pending());
    }
    assert_eq!(tx.allocated_waiters(), 0);
    tx.send(1).unwrap();
    assert_eq!(probe.wakes(), 0);
}

#[test]
fn a_receiver_is_a_stream_of_values_and_lags_that_ends_at_close() {
    let (tx, mut rx) = broadcast::channel(2);
    let probe = Probe::new();
    assert_eq!(probe.poll_next(&mut rx), Poll::Pending);
    for _ in 0..10_000 {
        assert_eq!(
            probe.poll_next(&mut rx),
            Poll::Pending,
            "polled again, it keeps its one node"
        );
    }
    assert_eq!(tx.allocated_waiters(), 1);
    for i in 0..3 {
        tx.send(i).unwrap();
    }
    assert_eq!(probe.wakes(), 1);
    assert_eq!(probe.poll_next(&mut rx), Poll::Ready(Some(Err(Lagged(1)))));
    assert_eq!(
        tx.allocated_waiters(),
        0,
        "the poll that found a value freed the node"
    );
    assert_eq!(probe.poll_next(&mut rx), Poll::Ready(Some(Ok(1))));
    assert_eq!(probe.poll_next(&mut rx), Poll::Ready(Some(Ok(2))));
    assert_eq!(probe.poll_next(&mut rx), Poll::Pending);
    drop(tx);
    assert_eq!(probe.wakes(), 2, "the last sender's drop ends the wait");
    assert_eq!(probe.poll_next(&mut rx), Poll::Ready(None));
}

#[test]
fn a_receiver_dropped_while_it_waits_as_a_stream_frees_its_node() {
    let (tx, mut rx) = broadcast::channel::<u8>(4);
    let probe = Probe::new();
    let polled = probe.poll_next(&mut rx);
    assert_eq!(polled, Poll::Pending);
    assert_eq!(tx.allocated_waiters(), 1);
    drop(rx);
    assert_eq!(tx.allocated_waiters(), 0);
    assert!(tx.send(1).is_err(), "no receiver left");
    assert_eq!(probe.wakes(), 0);
}

#[test]
fn a_receiver_that_waits_in_recv_after_waiting_as_a_stream_is_woken_once() {
    let (tx, mut rx) = broadcast::channel(4);
    let (stream_probe, probe) = (Probe::new(), Probe::new());
    let polled = stream_probe.poll_next(&mut rx);
    assert_eq!(polled, Poll::Pending);
    let mut recv = rx.recv();
    assert!(probe.poll(&mut recv).is_pending());
    assert_eq!(tx.allocated_waiters(), 1, "the stream's node was freed");
    tx.send(1).unwrap();
    assert_eq!((stream_probe.wakes(), probe.wakes()), (0, 1));
    assert_eq!(probe.poll(&mut recv), Poll::Ready(Ok(1)));
}
