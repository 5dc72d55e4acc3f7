//! The unbounded channel: [`UnboundedSender::send`] never waits.

use std::fmt;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::chan::{Chan, Closed, Recv, RecvMany};
use super::error::{SendError, TryRecvError};

/// Creates a channel with no bound on the messages it holds.
///
/// ```
/// use minireactor_sync::mpsc;
///
/// minireactor::block_on(async {
///     let (tx, mut rx) = mpsc::unbounded_channel();
///     for i in 0..3 {
///         tx.send(i).unwrap(); // never waits
///     }
///     drop(tx);
///     let mut got = Vec::new();
///     while let Some(i) = rx.recv().await {
///         got.push(i);
///     }
///     assert_eq!(got, [0, 1, 2]);
/// });
/// ```
pub fn unbounded_channel<T>() -> (UnboundedSender<T>, UnboundedReceiver<T>) {
    let chan = Chan::new(None);
    (
        UnboundedSender { chan: chan.clone() },
        UnboundedReceiver { chan },
    )
}

/// The sending half of an unbounded channel; clone it for more senders.
pub struct UnboundedSender<T> {
    chan: Rc<Chan<T>>,
}

impl<T> UnboundedSender<T> {
    /// Queues a message, or hands it back if the receiver is closed or gone.
    #[inline]
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        if self.chan.is_closed() {
            return Err(SendError(value));
        }
        self.chan.push(value);
        Ok(())
    }
}

impl_sender!(UnboundedSender);

/// The receiving half of an unbounded channel.
pub struct UnboundedReceiver<T> {
    chan: Rc<Chan<T>>,
}

impl_receiver!(UnboundedReceiver);

impl<T> UnboundedReceiver<T> {
    /// Refuses new messages; those already queued can still be received.
    pub fn close(&mut self) {
        self.chan.close();
    }
}
