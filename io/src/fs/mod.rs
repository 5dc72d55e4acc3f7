//! The file system, without blocking the reactor thread: the async [`std::fs`].
//!
//! epoll cannot wait for a regular file (`epoll_ctl` fails with `EPERM`: a file is always
//! "ready", and a read may still wait for the disk). So every operation here runs on the
//! blocking pool (`minireactor-blocking`), and the task awaits its result; the reactor thread
//! keeps serving sockets and timers meanwhile.
//!
//! - One-shot operations on a path: [`read`], [`read_to_string`], [`write()`], [`metadata`],
//!   [`create_dir_all`], [`remove_file`]. Each is one pool round trip.
//! - [`File`], opened with [`File::open`], [`File::create`] or [`OpenOptions`]: [`AsyncRead`],
//!   [`AsyncWrite`] and [`AsyncSeek`], one operation in flight at a time, with a buffer of at
//!   most 2 MiB that travels with each operation. See its documentation for what a dropped
//!   future or a dropped file means (in short: nothing read or written is lost).
//!
//! Errors that concern a path name it ("could not open /etc/nope: No such file or directory
//! (os error 2)") and keep the kind of the OS error; the OS error itself is the error's
//! [`source`](std::error::Error::source).
//!
//! Reading order: `unblocked` (the engine: one value, one operation in flight, the buffer
//! moved to the pool and back), `buf` (the buffer and its cap), then [`File`].
//!
//! ```
//! use minireactor_io::fs;
//!
//! minireactor::block_on(async {
//!     let dir = std::env::temp_dir().join(format!("minireactor-doc-fs-{}", std::process::id()));
//!     fs::create_dir_all(&dir).await?;
//!     let mut file = fs::File::create(dir.join("notes.txt")).await?;
//!     file.write_all(b"first\n").await?;
//!     file.flush().await?;
//!     assert_eq!(fs::read_to_string(dir.join("notes.txt")).await?, "first\n");
//!     fs::remove_file(dir.join("notes.txt")).await?;
//!     std::fs::remove_dir(&dir)
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! [`AsyncRead`]: futures_io::AsyncRead
//! [`AsyncWrite`]: futures_io::AsyncWrite
//! [`AsyncSeek`]: futures_io::AsyncSeek

mod buf;
mod file;
mod open_options;
mod ops;
mod path_error;
pub(crate) mod unblocked;

pub use file::File;
pub use open_options::OpenOptions;
pub use ops::{create_dir_all, metadata, read, read_to_string, remove_file, write};
