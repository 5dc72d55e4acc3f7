//! The devone character device (`/dev/devone0`), awaited through minireactor: [`Devone`].
//!
//! devone is the teaching driver of "Linuxデバイスドライバプログラミング" (平田豊); ours lives in
//! `devone/module/`. Every open has its own byte value (initially `0xff`): a read returns that
//! many copies of it, a write sets it to the first byte written, and two ioctls get and set it.
//! Module parameters make it a device worth awaiting (`latency_ms`: readable only some time
//! after open and after each read), one epoll refuses (`pollable=0`), and one that misbehaves
//! as ymgyt/drivers' rebuild of the book's driver does (`read_delay_ms`: every read sleeps in
//! the driver, `O_NONBLOCK` or not; `poll_always_ready`: `poll` always says ready).
//!
//! # How it is built
//!
//! The device is opened non-blocking and registered with the thread's reactor through
//! [`AsyncFd`](minireactor_io::AsyncFd); reads and writes await readiness and clear it only on
//! `EAGAIN`. A driver that sleeps in a non-blocking read would stop the whole single-threaded
//! runtime for as long, so where the syscalls run is a choice, [`Offload`]: on the runtime's
//! thread, on the blocking pool ([`minireactor_blocking`]), or — the default — found out by
//! timing them ([`SLOW_OPERATION`]). On the pool, one syscall is in flight per device at a time,
//! and one whose future was dropped is finished by the next operation, a read's bytes kept for
//! the next reads. The module [`ioctl`] describes the driver's ioctl interface.
//!
//! Reading order: `devone` (the device and its operation loop), `offload` (the choice and its
//! detection), `turn` (one operation at a time), `in_flight` (the operation on the pool),
//! `op` (each operation, inline or as a pool job), `sys` (the raw syscalls), [`ioctl`].
//!
//! ```no_run
//! use std::time::Duration;
//! use minireactor::devone::Devone;
//! use minireactor::time::{interval, timeout};
//!
//! minireactor::block_on(async {
//!     let dev = Devone::open("/dev/devone0")?;
//!     // Timers keep running while a read sleeps in a badly behaved driver...
//!     let ticker = minireactor::spawn(async {
//!         let mut every_10ms = interval(Duration::from_millis(10));
//!         for _ in 0..10 {
//!             every_10ms.tick().await;
//!         }
//!     });
//!     // ...and a read can be given up on; its bytes are not lost.
//!     let mut buf = [0; 8];
//!     if timeout(Duration::from_millis(100), dev.read(&mut buf)).await.is_err() {
//!         let n = dev.read(&mut buf).await?; // The bytes the abandoned read got.
//!         assert_eq!(&buf[..n], &[0xff; 8]);
//!     }
//!     ticker.await.unwrap();
//!     Ok::<_, std::io::Error>(())
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```

mod devone;
mod in_flight;
pub mod ioctl;
mod offload;
mod op;
mod sys;
mod turn;

pub use devone::Devone;
pub use offload::{Offload, SLOW_OPERATION};
