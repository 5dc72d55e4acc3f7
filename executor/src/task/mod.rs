//! Spawned tasks: how they are stored (`raw`: header, future and result in one allocation, and
//! the waker pointing into it), how a spawner learns what became of one ([`JoinHandle`],
//! [`JoinError`], [`AbortHandle`]) and how tasks are told apart ([`Id`]).

mod error;
mod id;
mod join;
pub(crate) mod raw;

pub use error::JoinError;
pub(crate) use id::polling;
pub use id::{id, try_id, Id};
pub use join::{AbortHandle, JoinHandle};
