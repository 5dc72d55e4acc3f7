//! Multi-producer, single-consumer channels: [`channel`] (bounded, senders wait for room, FIFO)
//! and [`unbounded_channel`] (senders never wait).
//!
//! Close semantics are tokio's: when every sender is gone, the receiver gets the queued messages
//! and then `None`; when the receiver is closed or dropped, sends fail and hand the message back.
//! A closed (not dropped) receiver can still drain the queue, including messages sent through
//! slots reserved before the close.
//!
//! Both receivers implement [`futures_core::Stream`].
//!
//! ```
//! use minireactor_sync::mpsc;
//!
//! minireactor::block_on(async {
//!     let (tx, mut rx) = mpsc::channel(16);
//!     for id in 0..3 {
//!         let tx = tx.clone();
//!         minireactor::spawn(async move { tx.send(id).await.unwrap() });
//!     }
//!     drop(tx);
//!     let mut ids = Vec::new();
//!     while let Some(id) = rx.recv().await {
//!         ids.push(id);
//!     }
//!     ids.sort();
//!     assert_eq!(ids, [0, 1, 2]);
//! });
//! ```

#[macro_use]
mod handles;

mod bounded;
mod chan;
pub mod error;
mod unbounded;

pub use bounded::{channel, OwnedPermit, Permit, Receiver, Reserve, ReserveOwned, Send, Sender};
pub use chan::{Closed, Recv, RecvMany};
pub use unbounded::{unbounded_channel, UnboundedReceiver, UnboundedSender};
