//! The few raw Linux calls the driver needs: CPU pinning, signals, the clock tick and
//! `SO_LINGER`. Every `unsafe` of the bench is in this file, but for the client's epoll, which
//! the `raw_echo` server shares (`minireactor_benches::epoll`), and the `pre_exec` hook in
//! `server.rs` that pins a server to its CPU with `pin_to_cpu` from here.

use std::io;
use std::mem;
use std::os::fd::AsRawFd;
use std::ptr;

fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Restricts the calling thread (or, before `exec`, the process to be) to one CPU.
///
/// Only makes a syscall: allocation-free and async-signal-safe, so usable in `pre_exec`.
pub fn pin_to_cpu(cpu: usize) -> io::Result<()> {
    // SAFETY: cpu_set_t is plain data; all-zero bytes are the empty set.
    let mut set: libc::cpu_set_t = unsafe { mem::zeroed() };
    // SAFETY: `set` is a valid cpu_set_t; out-of-range CPUs are ignored by CPU_SET.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: `set` is valid for the size passed; pid 0 is the calling thread.
    cvt(unsafe { libc::sched_setaffinity(0, mem::size_of::<libc::cpu_set_t>(), &set) })?;
    Ok(())
}

/// Sends `signal` to process `pid`.
pub fn kill(pid: u32, signal: libc::c_int) -> io::Result<()> {
    let pid = libc::pid_t::try_from(pid).map_err(io::Error::other)?;
    // SAFETY: no pointers involved.
    cvt(unsafe { libc::kill(pid, signal) })?;
    Ok(())
}

/// Clock ticks per second, the unit of the CPU times in `/proc/PID/stat`.
pub fn clock_ticks_per_sec() -> u64 {
    // SAFETY: no pointers involved.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(ticks).unwrap_or(100)
}

/// Makes `close` reset the connection instead of leaving it in TIME_WAIT, so that thousands of
/// benchmark connections do not exhaust the local ports.
pub fn set_linger_zero(socket: &impl AsRawFd) -> io::Result<()> {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: the option value points to a linger struct whose size is passed along.
    cvt(unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            ptr::from_ref(&linger).cast(),
            mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    })?;
    Ok(())
}
