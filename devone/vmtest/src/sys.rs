//! Everything that touches the device, the module parameters or a raw
//! syscall lives here (and in `sys/blocking_driver.rs`, its part for the blocking driver), so
//! that `grep unsafe` leads to one module.

use std::ffi::c_void;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::mem;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

use minireactor::devone::ioctl::{IoctlCmd, IOCTL_VALGET, IOCTL_VALSET};

mod blocking_driver;
pub use blocking_driver::{set_blocking_params, NoopSignalHandler, SleepingRead};

/// The device node that devtmpfs creates when the module is loaded.
pub const DEVICE_PATH: &str = "/dev/devone0";

/// Where the module's writable parameters appear once it is loaded.
const PARAMS_DIR: &str = "/sys/module/devone/parameters";

/// Turns the `-1`-and-errno convention into an `io::Result`.
fn cvt<T: PartialEq + From<i8>>(ret: T) -> io::Result<T> {
    if ret == T::from(-1) {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Sets the module parameters that the next `open` of the device will use,
/// and puts those of [`set_blocking_params`] back to their defaults.
pub fn set_params(latency_ms: u32, pollable: bool) -> io::Result<()> {
    fs::write(format!("{PARAMS_DIR}/latency_ms"), latency_ms.to_string())?;
    fs::write(
        format!("{PARAMS_DIR}/pollable"),
        if pollable { "1" } else { "0" },
    )?;
    set_blocking_params(0, false)
}

/// The module's reference count: one per open file of the device.
pub fn module_refcount() -> io::Result<u32> {
    let text = fs::read_to_string("/sys/module/devone/refcnt")?;
    text.trim()
        .parse()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("refcnt {text:?}: {e}")))
}

/// One open file of `/dev/devone0`.
///
/// A plain `File`: read and write go through std, and `EAGAIN` shows up as
/// `io::ErrorKind::WouldBlock`.
pub fn open_device(nonblocking: bool) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).custom_flags(libc::O_CLOEXEC);
    if nonblocking {
        options.custom_flags(libc::O_CLOEXEC | libc::O_NONBLOCK);
    }
    options.open(DEVICE_PATH)
}

/// `ioctl(fd, request, &mut cmd)`.
pub fn ioctl(fd: impl AsFd, request: libc::c_ulong, cmd: &mut IoctlCmd) -> io::Result<()> {
    // SAFETY: `cmd` is a live, exclusively borrowed `struct ioctl_cmd`, as
    // large as every request this program sends declares; the kernel reads
    // or writes at most that many bytes through it.
    let ret = unsafe {
        libc::ioctl(
            fd.as_fd().as_raw_fd(),
            request as _,
            cmd as *mut IoctlCmd as *mut c_void,
        )
    };
    cvt(ret).map(drop)
}

/// Reads the device's value with `IOCTL_VALGET`.
pub fn valget(fd: impl AsFd) -> io::Result<u32> {
    let mut cmd = IoctlCmd::default();
    ioctl(fd, IOCTL_VALGET, &mut cmd)?;
    Ok(cmd.val)
}

/// Sets the device's value with `IOCTL_VALSET`.
pub fn valset(fd: impl AsFd, val: u32) -> io::Result<()> {
    let mut cmd = IoctlCmd {
        val,
        ..IoctlCmd::default()
    };
    ioctl(fd, IOCTL_VALSET, &mut cmd)
}

/// `read(2)` into an address that is never mapped (page zero), to see the
/// driver's `-EFAULT` path.
pub fn read_into_unmapped(fd: impl AsFd, len: usize) -> io::Result<usize> {
    // Page zero is never mapped: vm.mmap_min_addr keeps it out of reach.
    let bad = 16 as *mut c_void;
    // SAFETY: the kernel checks user addresses and reports a bad one as
    // EFAULT; no memory of this process is written through `bad`.
    let ret = unsafe { libc::read(fd.as_fd().as_raw_fd(), bad, len) };
    cvt(ret).map(|n| n as usize)
}

/// `poll(2)` on one fd; returns its `revents` (0 on timeout).
pub fn poll_one(
    fd: impl AsFd,
    events: libc::c_short,
    timeout_ms: i32,
) -> io::Result<libc::c_short> {
    let mut pfd = libc::pollfd {
        fd: fd.as_fd().as_raw_fd(),
        events,
        revents: 0,
    };
    // SAFETY: `pfd` is one valid, exclusively borrowed pollfd and we pass 1.
    let ret = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
    cvt(ret)?;
    Ok(pfd.revents)
}

/// A minimal epoll instance, enough to test the driver's poll method.
pub struct Epoll {
    fd: OwnedFd,
}

impl Epoll {
    /// `epoll_create1(EPOLL_CLOEXEC)`.
    pub fn new() -> io::Result<Self> {
        // SAFETY: no pointers are involved.
        let fd = cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        // SAFETY: `fd` was just returned by epoll_create1, so it is open and
        // nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Self { fd })
    }

    /// `epoll_ctl(EPOLL_CTL_ADD)` with `events` and `token` as user data.
    pub fn add(&self, fd: impl AsFd, events: u32, token: u64) -> io::Result<()> {
        let mut ev = libc::epoll_event { events, u64: token };
        // SAFETY: both fds are open for the duration of the call and `ev`
        // is a valid epoll_event that the kernel only reads.
        let ret = unsafe {
            libc::epoll_ctl(
                self.fd.as_raw_fd(),
                libc::EPOLL_CTL_ADD,
                fd.as_fd().as_raw_fd(),
                &mut ev,
            )
        };
        cvt(ret).map(drop)
    }

    /// `epoll_wait` for up to 8 events; returns `(token, events)` pairs.
    pub fn wait(&self, timeout_ms: i32) -> io::Result<Vec<(u64, u32)>> {
        let mut events = [libc::epoll_event { events: 0, u64: 0 }; 8];
        // SAFETY: `events` is a writable array of 8 epoll_events and we
        // tell the kernel it may fill at most 8.
        let n = unsafe {
            libc::epoll_wait(
                self.fd.as_raw_fd(),
                events.as_mut_ptr(),
                events.len() as i32,
                timeout_ms,
            )
        };
        let n = cvt(n)? as usize;
        Ok(events[..n].iter().map(|e| (e.u64, e.events)).collect())
    }
}

/// Runs `child` in a forked child process as uid/gid 65534 (nobody), which
/// drops every capability, and returns the child's exit status.
///
/// `child` must only make plain syscalls: it runs in a copy of this process
/// and ends with `_exit`, without running destructors or flushing stdio.
pub fn run_as_nobody(child: impl FnOnce() -> i32) -> io::Result<i32> {
    // SAFETY: this program has a single thread, so the child gets a
    // consistent copy of the whole process; it then only runs `child` (plain
    // syscalls, per this function's contract) and `_exit`.
    let pid = cvt(unsafe { libc::fork() })?;
    if pid == 0 {
        // SAFETY: setgid/setuid take no pointers.  Gid first: once the uid
        // is not 0 we could no longer change it.
        let dropped = unsafe { libc::setgid(65534) == 0 && libc::setuid(65534) == 0 };
        let code = if dropped { child() } else { 125 };
        // SAFETY: ends the child without touching the parent's state.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: `pid` is our child and `status` is a valid out-pointer.
    cvt(unsafe { libc::waitpid(pid, &mut status, 0) })?;
    if libc::WIFEXITED(status) {
        Ok(libc::WEXITSTATUS(status))
    } else {
        Err(io::Error::other(format!(
            "child died, wait status {status:#x}"
        )))
    }
}

/// The name of the check the watchdog is guarding: its address and length,
/// read by the `SIGALRM` handler, which can only use plain loads.
static WATCHED_NAME: (AtomicPtr<u8>, AtomicUsize) =
    (AtomicPtr::new(ptr::null_mut()), AtomicUsize::new(0));

/// Arms a process watchdog for the check `name`: if [`disarm_watchdog`] is
/// not called within `secs` seconds, the process prints
/// `FAIL <name>: watchdog: ...` and exits with status 1.
///
/// The async checks carry their own `timeout`s, but those need the
/// runtime's timers to work; this catches a hang of the runtime itself (or
/// of a blocking syscall), so that /init still learns which check hung.
/// `alarm(2)` rather than a thread: [`run_as_nobody`] relies on this program
/// having a single thread.
pub fn arm_watchdog(name: &'static str, secs: u32) -> io::Result<()> {
    WATCHED_NAME.1.store(0, Ordering::SeqCst);
    WATCHED_NAME
        .0
        .store(name.as_ptr().cast_mut(), Ordering::SeqCst);
    WATCHED_NAME.1.store(name.len(), Ordering::SeqCst);
    // SAFETY: an all-zero sigaction is a valid value (no flags, empty mask);
    // the handler is set below before the struct is used.
    let mut action: libc::sigaction = unsafe { mem::zeroed() };
    action.sa_sigaction = on_watchdog_alarm as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: `action` is a valid sigaction whose handler only calls
    // async-signal-safe functions (write, _exit); no old action is asked for.
    cvt(unsafe { libc::sigaction(libc::SIGALRM, &action, ptr::null_mut()) })?;
    // SAFETY: alarm takes no pointers.
    unsafe { libc::alarm(secs) };
    Ok(())
}

/// Cancels the alarm of [`arm_watchdog`].
pub fn disarm_watchdog() {
    // SAFETY: alarm takes no pointers.
    unsafe { libc::alarm(0) };
}

extern "C" fn on_watchdog_alarm(_signal: libc::c_int) {
    let write_all = |bytes: &[u8]| {
        // SAFETY: `bytes` is valid for `bytes.len()` bytes; write(2) is
        // async-signal-safe.  A short or failed write is ignored: we are
        // about to exit anyway.
        unsafe { libc::write(1, bytes.as_ptr().cast(), bytes.len()) };
    };
    let name = WATCHED_NAME.0.load(Ordering::SeqCst);
    let len = WATCHED_NAME.1.load(Ordering::SeqCst);
    write_all(b"FAIL ");
    if !name.is_null() {
        // SAFETY: `name` and `len` were stored from one `&'static str` by
        // arm_watchdog (len last, and zeroed before a new address), so they
        // describe live, immutable bytes.
        write_all(unsafe { std::slice::from_raw_parts(name, len) });
    }
    write_all(b": watchdog: still running when the alarm went off (a hang)\n");
    // SAFETY: ends the process without running anything that is not
    // async-signal-safe.
    unsafe { libc::_exit(1) };
}
