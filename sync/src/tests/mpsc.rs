use std::rc::Rc;
use std::task::Poll;

use super::Probe;
use crate::mpsc::{self, error::TryRecvError, error::TrySendError};

#[test]
fn messages_arrive_in_order_and_then_the_end() {
    let (tx, mut rx) = mpsc::channel(4);
    for i in 0..3 {
        tx.try_send(i).unwrap();
    }
    drop(tx);
    let probe = Probe::new();
    for i in 0..3 {
        assert_eq!(probe.poll(&mut rx.recv()), Poll::Ready(Some(i)));
    }
    assert_eq!(probe.poll(&mut rx.recv()), Poll::Ready(None));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn waiting_senders_get_slots_in_arrival_order() {
    let (tx, mut rx) = mpsc::channel(1);
    tx.try_send(0).unwrap();
    assert!(matches!(tx.try_send(9), Err(TrySendError::Full(9))));
    let probes: Vec<_> = (0..3).map(|_| Probe::new()).collect();
    let mut sends: Vec<_> = (1..=3).map(|i| tx.send(i)).collect();
    for (probe, send) in probes.iter().zip(&mut sends) {
        assert!(probe.poll(send).is_pending());
    }
    let receiver = Probe::new();
    for i in 0..3 {
        assert_eq!(receiver.poll(&mut rx.recv()), Poll::Ready(Some(i)));
        assert_eq!(
            probes[i].wakes(),
            1,
            "the oldest waiting sender got the slot"
        );
        assert!(probes[i].poll(&mut sends[i]).is_ready());
        assert!(probes[i + 1..].iter().all(|p| p.wakes() == 0));
    }
    assert_eq!(receiver.poll(&mut rx.recv()), Poll::Ready(Some(3)));
}

#[test]
fn a_slot_handed_to_a_dropped_sender_passes_to_the_next() {
    let (tx, mut rx) = mpsc::channel(1);
    tx.try_send(0).unwrap();
    let (first, second) = (Probe::new(), Probe::new());
    let mut a = tx.send(1);
    let mut b = tx.send(2);
    assert!(first.poll(&mut a).is_pending());
    assert!(second.poll(&mut b).is_pending());
    assert_eq!(rx.try_recv(), Ok(0));
    drop(a);
    assert_eq!((first.wakes(), second.wakes()), (1, 1));
    assert!(second.poll(&mut b).is_ready());
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(tx.capacity(), 1);
}

#[test]
fn closing_the_receiver_fails_waiting_senders_with_their_message() {
    let (tx, mut rx) = mpsc::channel(1);
    tx.try_send(1).unwrap();
    let probe = Probe::new();
    let mut send = tx.send(2);
    assert!(probe.poll(&mut send).is_pending());
    let mut closed = tx.closed();
    assert!(probe.poll(&mut closed).is_pending());
    rx.close();
    assert_eq!(probe.wakes(), 2);
    assert!(matches!(probe.poll(&mut send), Poll::Ready(Err(e)) if e.0 == 2));
    assert!(probe.poll(&mut closed).is_ready());
    assert!(matches!(tx.try_send(3), Err(TrySendError::Closed(3))));
    assert_eq!(rx.try_recv(), Ok(1), "queued messages can still be drained");
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn a_permit_reserved_before_the_close_still_delivers() {
    let (tx, mut rx) = mpsc::channel(2);
    let permit = tx.try_reserve().unwrap();
    let spare = tx.try_reserve().unwrap();
    rx.close();
    let probe = Probe::new();
    assert!(
        probe.poll(&mut rx.recv()).is_pending(),
        "permits are outstanding"
    );
    permit.send(1);
    assert_eq!(probe.poll(&mut rx.recv()), Poll::Ready(Some(1)));
    let mut recv = rx.recv();
    assert!(probe.poll(&mut recv).is_pending());
    let wakes = probe.wakes();
    drop(spare);
    assert_eq!(
        probe.wakes(),
        wakes + 1,
        "the last permit back ends the channel"
    );
    assert_eq!(probe.poll(&mut recv), Poll::Ready(None));
}

#[test]
fn owned_permits_hand_the_sender_back() {
    let (tx, mut rx) = mpsc::channel(1);
    let probe = Probe::new();
    let Poll::Ready(Ok(permit)) = probe.poll(&mut tx.reserve_owned()) else {
        panic!("a free slot")
    };
    let tx = permit.send(1);
    let tx = match tx.try_reserve_owned() {
        Err(TrySendError::Full(tx)) => tx,
        _ => panic!("the only slot is used"),
    };
    assert_eq!(rx.try_recv(), Ok(1));
    let permit = tx.try_reserve_owned().unwrap();
    let tx = permit.release();
    assert_eq!(tx.capacity(), 1);
}

#[test]
fn a_dropped_receiver_drops_queued_messages_and_refuses_more() {
    let message = Rc::new(());
    let (tx, rx) = mpsc::unbounded_channel();
    tx.send(message.clone()).unwrap();
    drop(rx);
    assert_eq!(Rc::strong_count(&message), 1);
    assert!(tx.is_closed());
    assert!(tx.send(message).is_err());
}

#[test]
fn a_message_may_hold_a_sender_of_its_own_channel() {
    struct Message(#[allow(dead_code)] mpsc::UnboundedSender<Message>);
    let (tx, rx) = mpsc::unbounded_channel();
    tx.send(Message(tx.clone())).unwrap();
    drop(tx);
    drop(rx); // drops the queued sender, the last one, while tearing down: no borrow panic
}

#[test]
fn sends_while_the_receiver_sleeps_wake_it_once() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let probe = Probe::new();
    assert!(probe.poll(&mut rx.recv()).is_pending());
    let mut recv = rx.recv();
    assert!(probe.poll(&mut recv).is_pending());
    for i in 0..100 {
        tx.send(i).unwrap();
    }
    assert_eq!(probe.wakes(), 1);
    let mut buffer = Vec::new();
    drop(recv);
    assert_eq!(
        probe.poll(&mut rx.recv_many(&mut buffer, 60)),
        Poll::Ready(60)
    );
    assert_eq!(
        probe.poll(&mut rx.recv_many(&mut buffer, 60)),
        Poll::Ready(40)
    );
    assert_eq!(buffer, (0..100).collect::<Vec<_>>());
}

#[test]
fn the_last_sender_gone_wakes_the_receiver() {
    let (tx, mut rx) = mpsc::unbounded_channel::<u8>();
    let tx2 = tx.clone();
    let probe = Probe::new();
    assert!(probe.poll(&mut rx.recv()).is_pending());
    drop(tx);
    assert_eq!(probe.wakes(), 0);
    let mut recv = rx.recv();
    assert!(probe.poll(&mut recv).is_pending());
    drop(tx2);
    assert_eq!(probe.wakes(), 1);
    assert_eq!(probe.poll(&mut recv), Poll::Ready(None));
}

#[test]
fn ten_thousand_cancelled_sends_leave_no_waiter_and_lose_no_slot() {
    let (tx, mut rx) = mpsc::channel(1);
    tx.try_send(0).unwrap();
    let probe = Probe::new();
    for i in 0..10_000 {
        assert!(probe.poll(&mut tx.send(i)).is_pending());
    }
    assert_eq!(tx.slot_waiters(), 0);
    assert_eq!(rx.try_recv(), Ok(0));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(tx.capacity(), 1);
}

#[test]
fn receivers_are_streams() {
    let (tx, mut rx) = mpsc::channel(2);
    tx.try_send(1).unwrap();
    drop(tx);
    let probe = Probe::new();
    assert_eq!(probe.poll_next(&mut rx), Poll::Ready(Some(1)));
    assert_eq!(probe.poll_next(&mut rx), Poll::Ready(None));
}

/// Regression: a slot handed to a sender whose future was then dropped came back without a
/// wake, so a receiver of a closed channel waiting for the last slot waited forever. The same
/// for every way a sender waits for a slot: `send`, `reserve`, `reserve_owned`.
#[test]
fn a_slot_given_back_by_a_dropped_waiting_sender_ends_a_closed_channel() {
    macro_rules! check {
        ($tx:ident => $wait:expr) => {{
            let ($tx, mut rx) = mpsc::channel::<u8>(1);
            $tx.try_send(0).unwrap();
            let sender = Probe::new();
            let mut waiting = Box::pin($wait);
            assert!(sender.poll(&mut waiting).is_pending());
            assert_eq!(rx.try_recv(), Ok(0)); // The slot is handed to the waiting sender.
            rx.close();
            let receiver = Probe::new();
            let mut recv = rx.recv();
            assert!(
                receiver.poll(&mut recv).is_pending(),
                "the slot is still out"
            );
            drop(waiting);
            assert_eq!(
                receiver.wakes(),
                1,
                "the receiver was not told the slot came back"
            );
            assert_eq!(receiver.poll(&mut recv), Poll::Ready(None));
        }};
    }
    check!(tx => tx.send(1));
    check!(tx => tx.reserve());
    check!(tx => tx.clone().reserve_owned());
}

/// Regression: a `send` granted a slot and polled after the receiver was dropped queued its
/// message where nothing would take it (a message holding a sender kept the channel alive
/// forever), and reported success. It hands the message back instead.
#[test]
fn a_send_granted_a_slot_after_the_receiver_is_gone_hands_the_message_back() {
    let (tx, mut rx) = mpsc::channel(1);
    tx.try_send(0).unwrap();
    let probe = Probe::new();
    let mut send = tx.send(1);
    assert!(probe.poll(&mut send).is_pending());
    assert_eq!(rx.try_recv(), Ok(0)); // The slot is handed to the waiting send.
    drop(rx);
    assert!(matches!(
        probe.poll(&mut send),
        Poll::Ready(Err(mpsc::error::SendError(1)))
    ));
    assert!(tx.is_closed());
    assert_eq!(tx.capacity(), 1, "the slot came back");
}
