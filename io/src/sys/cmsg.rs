//! Control messages: passing file descriptors over Unix sockets (`SCM_RIGHTS`).
//!
//! Invariants:
//! - Every fd the kernel installs in this process is wrapped in an `OwnedFd` before anything
//!   else can fail, so none leaks: not on a truncated message, not on an error after the
//!   `recvmsg`, not from a control message type the caller did not ask for.
//! - Received fds are close-on-exec from the start (`MSG_CMSG_CLOEXEC`).
//! - A receive always offers the kernel room for [`MAX_FDS`] fds *and* for what it may put
//!   before them (credentials with `SO_PASSCRED`, a pidfd with `SO_PASSPIDFD`, a security label
//!   with `SO_PASSSEC`), so options the caller turned on never cost the fds their room; the
//!   caller's `max_fds` is enforced after the receive.
//! - A message whose fds did not all arrive (`MSG_CTRUNC`: the process ran out of fds, or a
//!   security label longer than the room for it) or that carried more than `max_fds` is an
//!   error, and every fd of it that did arrive is closed: a message missing some of its fds
//!   cannot be acted on safely, so none of them is handed out.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use minireactor_reactor::syscall;

/// The most fds one message can carry: the kernel's `SCM_MAX_FD`. A `sendmsg` with more fails
/// with `EINVAL`, so the receive buffer is sized for exactly this many.
pub const MAX_FDS: usize = 253;

/// `SCM_PIDFD` (Linux 6.5, `<linux/socket.h>`; not in the libc crate yet): a pidfd of the
/// sender, delivered only if the receiver turned on `SO_PASSPIDFD`. It is an fd the kernel
/// installs, so it must be wrapped (and closed) like the others.
const SCM_PIDFD: libc::c_int = 4;

/// Bytes of control data for one `SCM_RIGHTS` message of `fds` descriptors, without the padding
/// after the last one (`CMSG_LEN`): the `cmsg_len` of the header.
fn control_len(fds: usize) -> usize {
    // SAFETY: CMSG_LEN only computes a size; `fds <= MAX_FDS` keeps it far from overflow.
    unsafe { libc::CMSG_LEN((fds * std::mem::size_of::<libc::c_int>()) as libc::c_uint) as usize }
}

/// Room for one `SCM_RIGHTS` message of [`MAX_FDS`] descriptors and the control messages the
/// kernel puts before it, aligned as `cmsghdr` requires.
#[repr(C, align(8))]
struct ControlBuffer([u8; CONTROL_CAPACITY]);

/// Room for an `SCM_SECURITY` label (`SO_PASSSEC`): an LSM context string, such as SELinux's
/// `system_u:system_r:unconfined_t:s0-s0:c0.c1023`, with plenty to spare.
const SECURITY_LABEL_ROOM: usize = 256;

// SAFETY: CMSG_SPACE only computes sizes.
const CONTROL_CAPACITY: usize = unsafe {
    libc::CMSG_SPACE((MAX_FDS * std::mem::size_of::<libc::c_int>()) as libc::c_uint)
        + libc::CMSG_SPACE(std::mem::size_of::<libc::ucred>() as libc::c_uint)
        + libc::CMSG_SPACE(std::mem::size_of::<libc::c_int>() as libc::c_uint)
        + libc::CMSG_SPACE(SECURITY_LABEL_ROOM as libc::c_uint)
} as usize;

const _: () =
    assert!(std::mem::align_of::<ControlBuffer>() >= std::mem::align_of::<libc::cmsghdr>());

/// Sends `buf` with `fds` attached (`sendmsg`, `MSG_NOSIGNAL`); with no fds, a plain send.
pub(crate) fn send_with_fds(
    fd: BorrowedFd<'_>,
    buf: &[u8],
    fds: &[BorrowedFd<'_>],
) -> io::Result<usize> {
    if fds.len() > MAX_FDS {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "cannot pass {} file descriptors in one message: the kernel allows at most \
                 {MAX_FDS} (SCM_MAX_FD)",
                fds.len()
            ),
        ));
    }
    let mut control = ControlBuffer([0; CONTROL_CAPACITY]);
    let mut iov = libc::iovec {
        iov_base: buf.as_ptr() as *mut libc::c_void, // The kernel only reads it.
        iov_len: buf.len(),
    };
    // SAFETY: msghdr is plain data; zeroed is a valid empty value (no name, no control).
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if !fds.is_empty() {
        let payload = fds.len() * std::mem::size_of::<libc::c_int>();
        msg.msg_control = control.0.as_mut_ptr().cast();
        // SAFETY: CMSG_SPACE only computes a size; it is at most CONTROL_CAPACITY.
        msg.msg_controllen = unsafe { libc::CMSG_SPACE(payload as libc::c_uint) } as usize;
        // SAFETY: `msg_control` points at a zeroed, aligned buffer of `msg_controllen` bytes,
        // large enough for one header and `fds.len()` ints, so the first header and its data
        // are inside it; the data may be unaligned for c_int, hence write_unaligned.
        unsafe {
            let header = libc::CMSG_FIRSTHDR(&msg);
            (*header).cmsg_level = libc::SOL_SOCKET;
            (*header).cmsg_type = libc::SCM_RIGHTS;
            (*header).cmsg_len = control_len(fds.len());
            let data = libc::CMSG_DATA(header).cast::<libc::c_int>();
            for (i, passed) in fds.iter().enumerate() {
                std::ptr::write_unaligned(data.add(i), passed.as_raw_fd());
            }
        }
    }
    let n = syscall!(
        // SAFETY: every pointer in `msg` refers to live buffers of the lengths given, and the
        // fds in the control message are open (borrowed for the call).
        unsafe { libc::sendmsg(fd.as_raw_fd(), &msg, libc::MSG_NOSIGNAL) }
    )?;
    Ok(n as usize)
}

/// Receives into `buf` and appends the fds that came with it to `fds`, taking at most
/// `max_fds` (capped at [`MAX_FDS`]); see the module documentation for truncation.
pub(crate) fn recv_with_fds(
    fd: BorrowedFd<'_>,
    buf: &mut [u8],
    fds: &mut Vec<OwnedFd>,
    max_fds: usize,
) -> io::Result<usize> {
    let max_fds = max_fds.min(MAX_FDS);
    let mut control = ControlBuffer([0; CONTROL_CAPACITY]);
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: msghdr is plain data; zeroed is a valid empty value (no name, no control).
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.0.as_mut_ptr().cast();
    msg.msg_controllen = CONTROL_CAPACITY;
    let n = syscall!(
        // SAFETY: every pointer in `msg` refers to live buffers, writable for the lengths given.
        unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) }
    )?;
    let before = fds.len();
    take_installed_fds(&msg, fds);
    let delivered = fds.len() - before;
    let truncated = msg.msg_flags & libc::MSG_CTRUNC != 0;
    if truncated || delivered > max_fds {
        fds.truncate(before); // Closes them.
        tracing::debug!(
            bytes = n,
            delivered,
            max_fds,
            truncated,
            "fds of a message lost"
        );
        let why = if truncated {
            "its control data was truncated (the process is out of fds, or a security label \
             did not fit)"
                .to_string()
        } else {
            format!("it carried {delivered}, more than the room for {max_fds}")
        };
        return Err(io::Error::other(format!(
            "file descriptors lost: {why}; the message's {n} data bytes were read and the \
             {delivered} fds that did arrive were closed"
        )));
    }
    Ok(n as usize)
}

/// Wraps every fd the kernel installed (in `SCM_RIGHTS` and `SCM_PIDFD` messages) into
/// `OwnedFd`s, appending the passed ones to `fds` and closing pidfds (nobody asked for them).
fn take_installed_fds(msg: &libc::msghdr, fds: &mut Vec<OwnedFd>) {
    let header_len = control_len(0);
    // SAFETY: `msg` was filled by `recvmsg`: `msg_control`/`msg_controllen` describe the
    // control messages the kernel wrote (or no buffer at all, and then FIRSTHDR is null). The
    // walk stays inside them (CMSG_NXTHDR checks the bounds), and each header's data holds
    // `cmsg_len - CMSG_LEN(0)` bytes, read unaligned.
    unsafe {
        let mut header = libc::CMSG_FIRSTHDR(msg);
        while !header.is_null() {
            let level = (*header).cmsg_level;
            let ty = (*header).cmsg_type;
            if level == libc::SOL_SOCKET && (ty == libc::SCM_RIGHTS || ty == SCM_PIDFD) {
                let count = ((*header).cmsg_len.saturating_sub(header_len))
                    / std::mem::size_of::<libc::c_int>();
                let data = libc::CMSG_DATA(header).cast::<libc::c_int>();
                for i in 0..count {
                    // SAFETY (of from_raw_fd): the kernel just installed this fd for us and
                    // nothing else owns it.
                    let owned = OwnedFd::from_raw_fd(std::ptr::read_unaligned(data.add(i)));
                    if ty == libc::SCM_RIGHTS {
                        fds.push(owned);
                    }
                }
            }
            header = libc::CMSG_NXTHDR(msg, header);
        }
    }
}
