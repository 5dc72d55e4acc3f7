//! A hand-written echo server on raw epoll with no runtime at all: the limit a runtime can
//! approach (`cargo bench -p minireactor-benches --bench echo`, see BENCHMARKS.md).
//!
//! ```text
//! cargo run --release -p minireactor-benches --bin raw_echo -- [ADDR]    # IPv4 only, default 127.0.0.1:7880
//! ```
//!
//! It does what the other echo servers of the benchmark do, without tasks: one thread, one
//! edge-triggered epoll, a state with a 4 KiB buffer per connection, read then write back
//! (a partial write waits for `EPOLLOUT` before reading more), `TCP_NODELAY` on accepted
//! sockets, backlog 1024 and `SO_REUSEADDR`. It prints `listening on ADDR` once bound and
//! exits cleanly on SIGINT or SIGTERM, which arrive through a signalfd.

use std::io::{self, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd as _;
use std::process::ExitCode;

use minireactor_benches::epoll::Epoll;

/// The per-connection buffer, as in every server of the benchmark.
const BUF_LEN: usize = 4096;
/// Epoll token of the listening socket; connections use their slot index.
const LISTENER: u64 = u64::MAX;
/// Epoll token of the signalfd.
const SIGNALS: u64 = u64::MAX - 1;

fn main() -> ExitCode {
    let arg = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7880".to_owned());
    match serve(&arg) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("raw_echo: {e}");
            ExitCode::FAILURE
        }
    }
}

fn serve(arg: &str) -> io::Result<()> {
    let addr = match arg.parse::<SocketAddr>() {
        Ok(SocketAddr::V4(addr)) => addr,
        _ => {
            let msg = format!("expected an IPv4 address like 127.0.0.1:7880, got {arg:?}");
            return Err(io::Error::new(io::ErrorKind::InvalidInput, msg));
        }
    };
    // Block the signals before anything else so that none can kill us between here and the
    // signalfd being watched.
    let signals = sys::termination_signals()?;
    let listener = sys::listen(addr, 1024)?;
    let epoll = Epoll::new()?;
    epoll.add(listener.as_fd(), LISTENER)?;
    epoll.add(signals.as_fd(), SIGNALS)?;

    let mut stdout = io::stdout();
    writeln!(stdout, "listening on {}", listener.local_addr()?)?;
    stdout.flush()?;

    let mut server = Server {
        epoll,
        listener,
        slots: Vec::new(),
        free: Vec::new(),
        released: Vec::new(),
    };
    let mut events = Vec::with_capacity(1024);
    loop {
        server.epoll.wait(&mut events, None)?;
        for event in &events {
            let token = event.u64;
            match token {
                SIGNALS => return Ok(()),
                LISTENER => server.accept_all(),
                slot => server.ready(slot as usize),
            }
        }
        // Slots closed during this batch become reusable only now, so a later event of the
        // same batch for a closed connection finds an empty slot, never a new connection.
        server.free.append(&mut server.released);
    }
}

/// The whole server state.
struct Server {
    epoll: Epoll,
    listener: TcpListener,
    /// Connections by epoll token; `None` for a free slot.
    slots: Vec<Option<Conn>>,
    /// Free slots, reusable now.
    free: Vec<usize>,
    /// Slots freed during the current batch of events (see the main loop).
    released: Vec<usize>,
}

impl Server {
    /// Accepts until EAGAIN: with edge triggering, connections left in the queue would not be
    /// reported again.
    fn accept_all(&mut self) {
        loop {
            let stream = match sys::accept(&self.listener) {
                Ok(stream) => stream,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => continue,
                Err(e) => {
                    eprintln!("accept: {e}");
                    return;
                }
            };
            if let Err(e) = self.add(stream) {
                eprintln!("new connection: {e}");
            }
        }
    }

    fn add(&mut self, stream: TcpStream) -> io::Result<()> {
        stream.set_nodelay(true)?;
        let slot = self.free.pop().unwrap_or_else(|| {
            self.slots.push(None);
            self.slots.len() - 1
        });
        if let Err(e) = self.epoll.add(stream.as_fd(), slot as u64) {
            self.free.push(slot);
            return Err(e);
        }
        self.slots[slot] = Some(Conn {
            stream,
            buf: Box::new([0; BUF_LEN]),
            start: 0,
            end: 0,
        });
        Ok(())
    }

    fn ready(&mut self, slot: usize) {
        let Some(conn) = self.slots.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        // End of stream and errors (the benchmark client resets its connections) both just
        // close the connection.
        if let Ok(true) = conn.drive() {
            return;
        }
        if let Some(conn) = self.slots[slot].take() {
            // Deregister, then close (on drop).
            let _ = self.epoll.delete(conn.stream.as_fd());
            self.released.push(slot);
        }
    }
}

/// One connection: its socket and the bytes read but not yet written back.
struct Conn {
    stream: TcpStream,
    buf: Box<[u8; BUF_LEN]>,
    /// `buf[start..end]` still has to be written.
    start: usize,
    end: usize,
}

impl Conn {
    /// Echoes whatever the socket has. `Ok(false)` at end of stream.
    fn drive(&mut self) -> io::Result<bool> {
        if !self.flush()? {
            return Ok(true);
        }
        loop {
            let n = match self.stream.read(&mut self.buf[..]) {
                Ok(0) => return Ok(false),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(true),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            self.start = 0;
            self.end = n;
            if !self.flush()? {
                return Ok(true);
            }
            // A short read on a stream socket means its receive queue was empty; with edge
            // triggering the next arrival raises a new event, so reading again would only
            // return EAGAIN. (tokio's TcpStream takes the same shortcut.)
            if n < BUF_LEN {
                return Ok(true);
            }
        }
    }

    /// Writes the pending bytes. `Ok(false)` if the socket is full: the `EPOLLOUT` edge that
    /// comes when it drains calls `drive` again, which finishes the write before reading more.
    fn flush(&mut self) -> io::Result<bool> {
        while self.start < self.end {
            match self.stream.write(&self.buf[self.start..self.end]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.start += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }
}

/// Every raw syscall of the server but epoll's (`minireactor_benches::epoll`, the echo
/// client's too). Reads and writes go through `std`'s `TcpStream` (`recv`/`send`), like
/// tokio's.
mod sys {
    use std::io;
    use std::mem;
    use std::net::{SocketAddrV4, TcpListener, TcpStream};
    use std::os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd};
    use std::ptr;

    fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
        if ret == -1 {
            Err(io::Error::last_os_error())
        } else {
            Ok(ret)
        }
    }

    /// Takes ownership of a descriptor a syscall just returned.
    fn owned(fd: libc::c_int) -> OwnedFd {
        // SAFETY: callers pass a descriptor fresh from the kernel that nothing else owns.
        unsafe { OwnedFd::from_raw_fd(fd) }
    }

    /// A nonblocking listening socket with `SO_REUSEADDR`.
    pub fn listen(addr: SocketAddrV4, backlog: libc::c_int) -> io::Result<TcpListener> {
        let flags = libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
        // SAFETY: no pointers involved.
        let fd = owned(cvt(unsafe { libc::socket(libc::AF_INET, flags, 0) })?);
        let one: libc::c_int = 1;
        // SAFETY: the option value points to a c_int whose size is passed along.
        cvt(unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_REUSEADDR,
                ptr::from_ref(&one).cast(),
                mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        })?;
        // SAFETY: sockaddr_in is plain data for which all-zero bytes are a valid value.
        let mut sin: libc::sockaddr_in = unsafe { mem::zeroed() };
        sin.sin_family = libc::AF_INET as libc::sa_family_t;
        sin.sin_port = addr.port().to_be();
        sin.sin_addr.s_addr = u32::from_ne_bytes(addr.ip().octets());
        // SAFETY: the address points to a sockaddr_in whose size is passed along.
        cvt(unsafe {
            libc::bind(
                fd.as_raw_fd(),
                ptr::from_ref(&sin).cast(),
                mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        })?;
        // SAFETY: no pointers involved.
        cvt(unsafe { libc::listen(fd.as_raw_fd(), backlog) })?;
        Ok(TcpListener::from(fd))
    }

    /// Accepts one connection as a nonblocking socket, in one syscall.
    pub fn accept(listener: &TcpListener) -> io::Result<TcpStream> {
        let flags = libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
        // SAFETY: null address pointers are allowed: the peer address is not wanted.
        let fd = cvt(unsafe {
            libc::accept4(
                listener.as_raw_fd(),
                ptr::null_mut(),
                ptr::null_mut(),
                flags,
            )
        })?;
        Ok(TcpStream::from(owned(fd)))
    }

    /// Blocks SIGINT and SIGTERM and returns a signalfd that reports them.
    pub fn termination_signals() -> io::Result<OwnedFd> {
        // SAFETY: sigset_t is plain data; sigemptyset initialises it right below.
        let mut set: libc::sigset_t = unsafe { mem::zeroed() };
        // SAFETY: `set` is a valid sigset_t and both signal numbers are valid.
        unsafe {
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGINT);
            libc::sigaddset(&mut set, libc::SIGTERM);
        }
        // SAFETY: `set` is initialised; the old mask is not wanted.
        cvt(unsafe { libc::sigprocmask(libc::SIG_BLOCK, &set, ptr::null_mut()) })?;
        let flags = libc::SFD_NONBLOCK | libc::SFD_CLOEXEC;
        // SAFETY: -1 asks for a new descriptor; `set` is initialised.
        Ok(owned(cvt(unsafe { libc::signalfd(-1, &set, flags) })?))
    }
}
