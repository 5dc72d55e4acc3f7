//! Shared fixtures for the integration tests: a counting waker, the fixtures shared with the io
//! crate's tests (`common`: watchdogs, a scratch directory, test data, pty and FIFO), and the
//! few raw syscalls the tests need (signals, sockets, processes), gathered here.
#![allow(dead_code)] // Each test binary uses a different subset.

mod common;
#[allow(unused_imports)] // As for dead code: each test binary uses a different subset.
pub use common::*;

use std::fs::File;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Wake, Waker};
use std::time::Duration;

/// A waker that counts its wakes.
pub struct CountingWaker(AtomicUsize);

impl CountingWaker {
    pub fn new() -> (Waker, Arc<CountingWaker>) {
        let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
        (Waker::from(counter.clone()), counter)
    }

    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

extern "C" fn ignore_signal(_: libc::c_int) {}

/// Installs a do-nothing SIGUSR1 handler without `SA_RESTART`, so that a signal interrupts a
/// blocking `epoll_wait` with `EINTR` instead of killing the process.
pub fn install_sigusr1_handler() {
    // SAFETY: sigaction is plain data; zeroed means no flags and an empty mask.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = ignore_signal as extern "C" fn(libc::c_int) as usize;
    // SAFETY: `action` is fully initialised and the old-action pointer may be null.
    let rc = unsafe { libc::sigaction(libc::SIGUSR1, &action, std::ptr::null_mut()) };
    assert_eq!(rc, 0, "sigaction: {}", io::Error::last_os_error());
}

/// The calling thread's pthread handle, to aim signals at it.
pub fn current_thread() -> libc::pthread_t {
    // SAFETY: pthread_self has no preconditions.
    unsafe { libc::pthread_self() }
}

/// Sends SIGUSR1 to `thread`.
pub fn send_sigusr1(thread: libc::pthread_t) {
    // SAFETY: `thread` is a live thread of this process (the test keeps it alive).
    let rc = unsafe { libc::pthread_kill(thread, libc::SIGUSR1) };
    assert_eq!(rc, 0);
}

/// Sets `SO_LINGER` to zero, so that closing the socket sends a reset instead of a FIN.
pub fn set_linger_zero(fd: std::os::fd::RawFd) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: the option value is a live `linger` of the size passed.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(
        rc,
        0,
        "setsockopt(SO_LINGER): {}",
        io::Error::last_os_error()
    );
}

/// Restores SIGPIPE's default action (terminate), which the Rust runtime sets to ignore, so a
/// write that raised SIGPIPE would kill the test process.
pub fn restore_default_sigpipe() {
    // SAFETY: SIG_DFL is a valid disposition for SIGPIPE.
    let previous = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    assert_ne!(previous, libc::SIG_ERR);
}

/// Sends `signal` to this process.
pub fn raise_in_process(signal: libc::c_int) {
    // SAFETY: getpid has no preconditions; kill with our own pid and a valid signal number.
    let rc = unsafe { libc::kill(libc::getpid(), signal) };
    assert_eq!(rc, 0);
}

/// Lowers this process's soft limit on open files.
pub fn set_open_file_limit(limit: u64) {
    let rlimit = libc::rlimit {
        rlim_cur: limit,
        rlim_max: limit,
    };
    // SAFETY: `rlimit` is a valid, initialised struct.
    let rc = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &rlimit) };
    assert_eq!(rc, 0, "setrlimit: {}", io::Error::last_os_error());
}

/// User plus system CPU time of process `pid`, from `/proc/PID/stat`.
pub fn process_cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // SAFETY: sysconf has no preconditions.
    let ticks_per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
    Duration::from_millis(ticks * 1000 / ticks_per_second)
}

/// Sends `data` as TCP urgent (out-of-band) data.
pub fn send_urgent(fd: std::os::fd::RawFd, data: &[u8]) {
    // SAFETY: the buffer is valid for `data.len()` bytes.
    let n = unsafe { libc::send(fd, data.as_ptr().cast(), data.len(), libc::MSG_OOB) };
    assert_eq!(
        n,
        data.len() as isize,
        "send(MSG_OOB): {}",
        io::Error::last_os_error()
    );
}

/// Sends `data` on a Unix socket with `passed` attached as `SCM_RIGHTS`.
pub fn send_with_fd(fd: std::os::fd::RawFd, data: &[u8], passed: std::os::fd::RawFd) {
    let mut iov = libc::iovec {
        iov_base: data.as_ptr() as *mut libc::c_void,
        iov_len: data.len(),
    };
    // Room for one cmsghdr carrying one int, aligned as the kernel expects.
    let mut control = [0u64; 4];
    // SAFETY: msghdr is plain data; zeroed is a valid empty value.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    // SAFETY: CMSG_SPACE only computes a size.
    msg.msg_controllen =
        unsafe { libc::CMSG_SPACE(std::mem::size_of::<libc::c_int>() as u32) } as usize;
    // SAFETY: `msg` points at a control buffer large enough for one header and one int.
    unsafe {
        let header = libc::CMSG_FIRSTHDR(&msg);
        (*header).cmsg_level = libc::SOL_SOCKET;
        (*header).cmsg_type = libc::SCM_RIGHTS;
        (*header).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<libc::c_int>() as u32) as usize;
        std::ptr::write_unaligned(libc::CMSG_DATA(header).cast::<libc::c_int>(), passed);
    }
    // SAFETY: every pointer in `msg` refers to live buffers of the lengths given.
    let n = unsafe { libc::sendmsg(fd, &msg, 0) };
    assert_eq!(
        n,
        data.len() as isize,
        "sendmsg: {}",
        io::Error::last_os_error()
    );
}

/// Sends `signal` to the calling thread (`raise`), which runs the handler before returning.
pub fn raise_on_this_thread(signal: libc::c_int) {
    // SAFETY: raise has no preconditions.
    let rc = unsafe { libc::raise(signal) };
    assert_eq!(rc, 0);
}

/// The disposition currently installed for `signal`.
pub fn signal_action(signal: libc::c_int) -> libc::sigaction {
    // SAFETY: sigaction is plain data; zeroed is a valid value for the kernel to overwrite.
    let mut current: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: a null new action only queries; `current` is a valid out-pointer.
    let rc = unsafe { libc::sigaction(signal, std::ptr::null(), &mut current) };
    assert_eq!(rc, 0, "sigaction: {}", io::Error::last_os_error());
    current
}

/// The handler address (or `SIG_DFL`/`SIG_IGN`) currently installed for `signal`.
pub fn signal_disposition(signal: libc::c_int) -> libc::sighandler_t {
    signal_action(signal).sa_sigaction
}

/// Installs `handler` (an `extern "C"` function's address) for `signal`, with `flags`.
pub fn install_handler(signal: libc::c_int, handler: libc::sighandler_t, flags: libc::c_int) {
    // SAFETY: sigaction is plain data; zeroed means an empty mask.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = handler;
    action.sa_flags = flags;
    // SAFETY: `action` is fully initialised and the old-action pointer may be null.
    let rc = unsafe { libc::sigaction(signal, &action, std::ptr::null_mut()) };
    assert_eq!(rc, 0, "sigaction: {}", io::Error::last_os_error());
}

/// Runs this test binary again with `args` and `env`, for tests that change process-wide
/// state; kills it and fails if it runs longer than `limit` (a watchdog).
pub fn rerun_this_binary(
    args: &[&str],
    env: &[(&str, &str)],
    limit: Duration,
) -> std::process::Output {
    use std::io::Read;
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(args)
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let stdout = std::thread::spawn(move || {
        let mut out = Vec::new();
        stdout.read_to_end(&mut out).unwrap();
        out
    });
    let stderr = std::thread::spawn(move || {
        let mut out = Vec::new();
        stderr.read_to_end(&mut out).unwrap();
        out
    });
    let deadline = std::time::Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("watchdog: the child test run did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    std::process::Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// Runs the `#[ignore]`d test `name` of this binary in a child process with `env` set.
pub fn run_ignored_test_in_child(
    name: &str,
    env: &[(&str, &str)],
    limit: Duration,
) -> std::process::Output {
    rerun_this_binary(&["--ignored", "--exact", name, "--nocapture"], env, limit)
}

/// Runs the `#[ignore]`d test `name` in a child process, as [`run_ignored_test_in_child`], and
/// fails with the child's status and output unless it passed; returns its stdout.
pub fn assert_child_test_passes(name: &str, env: &[(&str, &str)], limit: Duration) -> String {
    let child = run_ignored_test_in_child(name, env, limit);
    let stdout = String::from_utf8_lossy(&child.stdout).into_owned();
    assert!(
        child.status.success(),
        "the child test {name} failed ({}):\n{stdout}\n{}",
        child.status,
        String::from_utf8_lossy(&child.stderr)
    );
    // A stale name runs no test and exits 0: the child must have run this one.
    assert!(
        stdout.contains(&format!("test {name} ... ok")),
        "the child did not run {name}:\n{stdout}"
    );
    stdout
}

/// Fails unless this process is a child a parent test started with `env` set: the first line
/// of every `#[ignore]`d entry point of a child process.
pub fn assert_run_by_parent(env: &str) {
    assert!(
        std::env::var_os(env).is_some(),
        "run by the parent test only"
    );
}

/// Whether process `pid` exists and is a zombie child of this process.
pub fn is_our_zombie(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false; // Gone: reaped.
    };
    // After the parenthesised command name: state, then ppid.
    let mut fields = stat[stat.rfind(')').unwrap() + 2..].split_whitespace();
    let state = fields.next().unwrap();
    let ppid: u32 = fields.next().unwrap().parse().unwrap();
    state == "Z" && ppid == std::process::id()
}

/// Whether process `pid` still exists (running, or a zombie not yet reaped).
pub fn process_exists(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Whether this kernel (and sandbox) lets us open a pidfd.
pub fn pidfd_supported() -> bool {
    // SAFETY: no pointers; a returned fd is closed below.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, libc::getpid(), 0) };
    if fd < 0 {
        return false;
    }
    // SAFETY: the fd was just returned to us and nothing else owns it.
    drop(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) });
    true
}

/// Forks; the child runs `child` and exits with its return value at once (`_exit`: no atexit
/// handlers, no unwinding into the parent's test harness). Returns the child's exit code.
/// Fork only from a process with no other busy thread (a re-executed test), so that no lock is
/// held across the fork.
pub fn fork_and_wait(child: impl FnOnce() -> i32) -> i32 {
    // SAFETY: the child only runs `child` and then `_exit`s.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", io::Error::last_os_error());
    if pid == 0 {
        let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(child)).unwrap_or(101);
        // SAFETY: _exit has no preconditions.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: `status` is a valid out-pointer; `pid` is our child.
    let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(rc, pid, "waitpid: {}", io::Error::last_os_error());
    assert!(
        libc::WIFEXITED(status),
        "the forked child died: {status:#x}"
    );
    libc::WEXITSTATUS(status)
}

/// How many fds this process has open (entries of `/proc/self/fd`, not counting the one the
/// listing itself uses). Only meaningful in a test binary whose other tests do not run at the
/// same time.
pub fn open_fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count() - 1
}

/// An anonymous memory file (`memfd_create`) holding `contents`.
pub fn memfd_with(contents: &[u8]) -> File {
    let name = c"minireactor-test";
    // SAFETY: `name` is a valid NUL-terminated string; the flags are valid.
    let fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) };
    assert!(fd >= 0, "memfd_create: {}", io::Error::last_os_error());
    // SAFETY: memfd_create returned a fresh fd that nothing else owns.
    let mut file = File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    std::io::Write::write_all(&mut file, contents).unwrap();
    file
}

/// Raises this process's soft limit on open files to at least `wanted`, if the hard limit
/// allows; returns whether the limit is now at least `wanted`.
pub fn raise_open_file_limit(wanted: u64) -> bool {
    // SAFETY: rlimit is plain data; getrlimit fills it.
    let mut rlimit: libc::rlimit = unsafe { std::mem::zeroed() };
    // SAFETY: `rlimit` is a valid out-pointer.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rlimit) };
    assert_eq!(rc, 0, "getrlimit: {}", io::Error::last_os_error());
    if rlimit.rlim_cur >= wanted {
        return true;
    }
    if rlimit.rlim_max < wanted {
        return false;
    }
    rlimit.rlim_cur = wanted;
    // SAFETY: `rlimit` is a valid, initialised struct.
    unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &rlimit) == 0 }
}

/// Whether `fd` has close-on-exec set.
pub fn is_cloexec(fd: std::os::fd::BorrowedFd<'_>) -> bool {
    // SAFETY: the fd is open (borrowed); F_GETFD takes no argument.
    let flags = unsafe { libc::fcntl(std::os::fd::AsRawFd::as_raw_fd(&fd), libc::F_GETFD) };
    assert!(flags >= 0, "fcntl: {}", io::Error::last_os_error());
    flags & libc::FD_CLOEXEC != 0
}
