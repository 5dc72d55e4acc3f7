//! [`Devone`]: the devone character device (`/dev/devone0`), awaited through the reactor.
//!
//! devone is the teaching driver of "Linuxデバイスドライバプログラミング" (平田豊); ours lives in
//! `devone/module/`. Every open has its own byte value (initially `0xff`): a read returns that
//! many copies of it, a write sets it to the first byte written, and two ioctls get and set it.
//! With the `latency_ms` module parameter the device becomes readable only some time after open
//! (and after each read), which is what makes awaiting `EPOLLIN` worthwhile.
//!
//! Reads follow the general edge-trigger rule, not the stream-socket shortcut: a device may
//! return fewer bytes than asked without being drained, so readiness is cleared only on `EAGAIN`.
//!
//! A driver without a `poll` method (the module's `pollable=0`) cannot be registered with epoll
//! (`EPERM`). [`Devone::open`] then treats the device as always ready, as `select`/`poll` do for
//! such files: operations are simply tried, and if one returns `EAGAIN` anyway, it is retried
//! after a short sleep, since there is no readiness event to wait for.
//!
//! ```no_run
//! use minireactor::io::devone::Devone;
//!
//! minireactor::block_on(async {
//!     let dev = Devone::open("/dev/devone0")?;
//!     let mut buf = [0; 8];
//!     let n = dev.read(&mut buf).await?;
//!     assert_eq!(&buf[..n], &[0xff; 8]);
//!     dev.set_value(b'A')?;
//!     assert_eq!(dev.value()?, b'A');
//!     Ok::<_, std::io::Error>(())
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::Duration;

use minireactor_reactor::{time, Interest};

use crate::sys::{self, ioc};
use crate::AsyncFd;

/// `struct ioctl_cmd` of `devone/module/devone_ioctl.h`; only `val` is used.
#[repr(C)]
#[derive(Default)]
struct IoctlCmd {
    reg: libc::c_uint,
    offset: libc::c_uint,
    val: libc::c_uint,
}

/// The ioctl type ("magic") byte of devone.
const IOC_MAGIC: u8 = b'd';
/// `_IOW('d', 1, struct ioctl_cmd)`: set the value (needs `CAP_SYS_ADMIN`).
const IOCTL_VALSET: libc::c_ulong = ioc::encode(ioc::WRITE, IOC_MAGIC, 1, size_of::<IoctlCmd>());
/// `_IOR('d', 2, struct ioctl_cmd)`: get the value.
const IOCTL_VALGET: libc::c_ulong = ioc::encode(ioc::READ, IOC_MAGIC, 2, size_of::<IoctlCmd>());

/// How long to wait before retrying an operation that returned `EAGAIN` on a device that has
/// no `poll` method, and so no readiness to wait for.
const UNPOLLABLE_RETRY: Duration = Duration::from_millis(1);

/// An open devone device.
#[derive(Debug)]
pub struct Devone {
    file: DeviceFile,
}

#[derive(Debug)]
enum DeviceFile {
    /// The driver has `poll`: reads await readiness.
    Polled(AsyncFd<File>),
    /// The driver has no `poll`: always ready; `EAGAIN` is retried after a pause.
    AlwaysReady(File),
}

impl Devone {
    /// Opens the device read-write and non-blocking, and registers it with the reactor.
    pub fn open(path: impl AsRef<Path>) -> io::Result<Devone> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path.as_ref())?;
        let file = match AsyncFd::try_new(file) {
            Ok(registered) => DeviceFile::Polled(registered),
            Err(err) if err.error().kind() == io::ErrorKind::PermissionDenied => {
                let (file, error) = err.into_parts();
                tracing::debug!(
                    path = %path.as_ref().display(),
                    %error,
                    "driver has no poll method; treating the device as always ready"
                );
                DeviceFile::AlwaysReady(file)
            }
            Err(err) => return Err(err.into()),
        };
        Ok(Devone { file })
    }

    /// Whether the driver supports `poll` (and reads therefore await `EPOLLIN`).
    pub fn is_pollable(&self) -> bool {
        matches!(self.file, DeviceFile::Polled(_))
    }

    /// Waits until the device is readable, then reads into `buf`.
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io(Interest::Readable, |mut file| file.read(buf)).await
    }

    /// Waits until the device is writable, then writes `buf`; the first byte becomes the value.
    pub async fn write(&self, buf: &[u8]) -> io::Result<usize> {
        self.io(Interest::Writable, |mut file| file.write(buf))
            .await
    }

    async fn io<R>(
        &self,
        interest: Interest,
        mut op: impl FnMut(&File) -> io::Result<R>,
    ) -> io::Result<R> {
        match &self.file {
            DeviceFile::Polled(fd) => fd.async_io(interest, op).await,
            DeviceFile::AlwaysReady(file) => loop {
                match op(file) {
                    Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                        time::sleep(UNPOLLABLE_RETRY).await
                    }
                    result => return result,
                }
            },
        }
    }

    /// The current value (`IOCTL_VALGET`).
    pub fn value(&self) -> io::Result<u8> {
        let mut cmd = IoctlCmd::default();
        // SAFETY: VALGET's argument is a `struct ioctl_cmd`, which `IoctlCmd` mirrors.
        unsafe { sys::ioctl_with(self.as_file().as_fd(), IOCTL_VALGET, &mut cmd) }?;
        u8::try_from(cmd.val).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("devone reported value {} (not a byte)", cmd.val),
            )
        })
    }

    /// Sets the value (`IOCTL_VALSET`); needs `CAP_SYS_ADMIN`, else `PermissionDenied`.
    pub fn set_value(&self, value: u8) -> io::Result<()> {
        let mut cmd = IoctlCmd {
            val: value.into(),
            ..IoctlCmd::default()
        };
        // SAFETY: VALSET's argument is a `struct ioctl_cmd`, which `IoctlCmd` mirrors.
        unsafe { sys::ioctl_with(self.as_file().as_fd(), IOCTL_VALSET, &mut cmd) }
    }

    /// The underlying file.
    pub fn as_file(&self) -> &File {
        match &self.file {
            DeviceFile::Polled(fd) => fd.get_ref(),
            DeviceFile::AlwaysReady(file) => file,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ioctl_numbers_match_the_c_macros() {
        // _IOW('d', 1, 12-byte struct) and _IOR('d', 2, 12-byte struct), as gcc computes them.
        assert_eq!(size_of::<IoctlCmd>(), 12);
        assert_eq!(IOCTL_VALSET, 0x400c_6401);
        assert_eq!(IOCTL_VALGET, 0x800c_6402);
    }
}
