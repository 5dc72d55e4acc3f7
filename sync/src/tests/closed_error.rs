//! The channels' "channel closed" errors: what they print, and that a `SendError` prints
//! without its value (so `T` need not be `Debug`).

use std::pin::pin;
use std::task::Poll;

use super::Probe;
use crate::{broadcast, mpsc, oneshot, watch};

/// A value that cannot be printed: the `SendError`s below must not need it to be.
struct NotDebug;

fn assert_closed_error(error: &dyn std::error::Error, debug: &str) {
    assert_eq!(error.to_string(), "channel closed");
    assert_eq!(format!("{error:?}"), debug);
}

#[test]
fn send_errors_print_channel_closed_and_leave_the_value_out() {
    for error in [
        &mpsc::error::SendError(NotDebug) as &dyn std::error::Error,
        &broadcast::error::SendError(NotDebug),
        &watch::error::SendError(NotDebug),
    ] {
        assert_closed_error(error, "SendError { .. }");
    }
}

#[test]
fn recv_errors_of_a_gone_sender_print_channel_closed() {
    let probe = Probe::new();
    let (tx, rx) = oneshot::channel::<u8>();
    drop(tx);
    let Poll::Ready(Err(error)) = probe.poll(&mut pin!(rx)) else {
        panic!("a oneshot without its sender ends in an error");
    };
    assert_closed_error(&error, "RecvError(())");

    let (tx, mut rx) = watch::channel(0);
    drop(tx);
    let Poll::Ready(Err(error)) = probe.poll(&mut pin!(rx.changed())) else {
        panic!("a watch without its sender ends in an error");
    };
    assert_closed_error(&error, "RecvError(())");
}
