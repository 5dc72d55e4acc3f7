//! The neutral load generator: a closed loop over C connections, each with one M-byte message
//! in flight (send M bytes, wait until all M came back, send again), on one thread and one
//! edge-triggered epoll. It treats every server alike and checks every echoed byte.

use std::io::{self, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsFd as _;
use std::thread;
use std::time::{Duration, Instant};

use minireactor_benches::epoll::Epoll;

use crate::sys;

/// Longest time without a single completed round trip before the server is declared stuck.
const STALL: Duration = Duration::from_secs(10);
/// Longest run of any kind, whatever it was asked.
const MAX_RUN: Duration = Duration::from_secs(600);

/// What to send where.
#[derive(Clone, Copy)]
pub struct Load {
    pub addr: SocketAddr,
    pub conns: usize,
    pub msg_len: usize,
}

/// How long to run.
#[derive(Clone, Copy)]
pub enum Window {
    /// Run for `warmup`, then measure for `measure`.
    Timed { warmup: Duration, measure: Duration },
    /// Complete exactly this many round trips in all, after the connections had time to settle.
    /// Zero only connects and closes: the baseline of the fixed-count modes.
    Count(u64),
}

/// What one run measured, over the measured window only; `T` is what the probe reads.
pub struct Outcome<T> {
    pub round_trips: u64,
    pub elapsed: Duration,
    /// Round-trip time of each message completed in the window, in nanoseconds.
    pub latencies_ns: Vec<u32>,
    /// The probe's values at the start and at the end of the window.
    pub probes: (T, T),
}

/// Runs `load` for `window` on a new thread pinned to `cpu`. `probe` is read at both ends of the
/// measured window (e.g. the server's CPU time). All connections are reset when it returns.
pub fn run<T, P>(cpu: usize, load: Load, window: Window, probe: P) -> Result<Outcome<T>, String>
where
    T: Send + 'static,
    P: FnMut() -> Result<T, String> + Send + 'static,
{
    thread::spawn(move || {
        sys::pin_to_cpu(cpu).map_err(|e| format!("pinning the client to CPU {cpu}: {e}"))?;
        Client::connect(load)?.run(window, probe)
    })
    .join()
    .map_err(|_| "the client thread panicked".to_owned())?
}

/// One connection and its message in flight.
struct Conn {
    stream: TcpStream,
    /// Bytes of the current message written so far.
    sent: usize,
    /// Bytes of the current message echoed back so far.
    received: usize,
    /// Whether a message is in flight.
    busy: bool,
    started: Instant,
}

struct Client {
    addr: SocketAddr,
    conns: Vec<Conn>,
    epoll: Epoll,
    /// The message every connection sends; a pattern that makes misplaced bytes visible.
    msg: Vec<u8>,
    buf: Vec<u8>,
    /// Messages started and completed since the measured window began.
    started: u64,
    completed: u64,
    /// No new message starts once this many were started (`None`: no limit).
    limit: Option<u64>,
    /// Whether to time messages; off during warm-up.
    measuring: bool,
    latencies_ns: Vec<u32>,
    last_progress: Instant,
}

impl Client {
    fn connect(load: Load) -> Result<Self, String> {
        let epoll = Epoll::new().map_err(|e| format!("epoll_create1: {e}"))?;
        let mut conns = Vec::with_capacity(load.conns);
        for i in 0..load.conns {
            let stream = TcpStream::connect_timeout(&load.addr, Duration::from_secs(5))
                .and_then(|stream| {
                    sys::set_linger_zero(&stream)?;
                    stream.set_nodelay(true)?;
                    stream.set_nonblocking(true)?;
                    epoll.add(stream.as_fd(), i as u64)?;
                    Ok(stream)
                })
                .map_err(|e| format!("connection {i} to {}: {e}", load.addr))?;
            conns.push(Conn {
                stream,
                sent: 0,
                received: 0,
                busy: false,
                started: Instant::now(),
            });
        }
        Ok(Self {
            addr: load.addr,
            conns,
            epoll,
            msg: (0..load.msg_len).map(|i| (i % 251) as u8).collect(),
            buf: vec![0; load.msg_len],
            started: 0,
            completed: 0,
            limit: None,
            measuring: false,
            latencies_ns: Vec::new(),
            last_progress: Instant::now(),
        })
    }

    fn run<T, P>(mut self, window: Window, mut probe: P) -> Result<Outcome<T>, String>
    where
        P: FnMut() -> Result<T, String>,
    {
        let begin = Instant::now();
        let mut probe_start = None;
        let mut window_start = begin;
        // Where the measured window starts and ends; `None`: when the count is reached.
        let (measure_at, end_at) = match window {
            Window::Timed { warmup, measure } => (begin + warmup, Some(begin + warmup + measure)),
            Window::Count(n) => {
                // Let the server accept and register every connection before counting, so
                // that a run and its zero-round-trip baseline differ only in round trips.
                thread::sleep(Duration::from_millis(200));
                self.limit = Some(n);
                probe_start = Some(self.begin_window(&mut probe)?);
                window_start = Instant::now();
                (window_start, None)
            }
        };
        let mut events = Vec::with_capacity(self.conns.len().max(1));

        self.last_progress = Instant::now();
        for i in 0..self.conns.len() {
            if self.start_message(i) {
                self.pump(i)?;
            }
        }
        loop {
            let now = Instant::now();
            if !self.measuring && now >= measure_at {
                probe_start = Some(self.begin_window(&mut probe)?);
                window_start = now;
            }
            let done = match end_at {
                Some(end) => now >= end,
                None => self.completed >= self.limit.unwrap_or(0),
            };
            if done {
                // The window begins before it can end: `measure_at` precedes `end_at`.
                let probe_start = probe_start.ok_or("the window ended before it began")?;
                return Ok(Outcome {
                    round_trips: self.completed,
                    elapsed: now - window_start,
                    latencies_ns: self.latencies_ns,
                    probes: (probe_start, probe()?),
                });
            }
            if now - self.last_progress > STALL {
                return Err(format!(
                    "{}: no echo for {} s after {} round trips; is the server stuck?",
                    self.addr,
                    STALL.as_secs(),
                    self.completed
                ));
            }
            if now - begin > MAX_RUN {
                return Err(format!("{}: run longer than {MAX_RUN:?}", self.addr));
            }
            self.epoll
                .wait(&mut events, Some(Duration::from_millis(50)))
                .map_err(|e| format!("epoll_wait: {e}"))?;
            for event in &events {
                self.pump(event.u64 as usize)?;
            }
        }
    }

    /// Starts the measured window: reads the probe and forgets what came before.
    fn begin_window<T, P>(&mut self, probe: &mut P) -> Result<T, String>
    where
        P: FnMut() -> Result<T, String>,
    {
        let value = probe()?;
        self.measuring = true;
        self.started = self.conns.iter().filter(|c| c.busy).count() as u64;
        self.completed = 0;
        self.latencies_ns.clear();
        Ok(value)
    }

    /// Starts a new message on connection `i`, unless the count is reached.
    fn start_message(&mut self, i: usize) -> bool {
        if self.limit.is_some_and(|limit| self.started >= limit) {
            return false;
        }
        self.started += 1;
        let conn = &mut self.conns[i];
        conn.sent = 0;
        conn.received = 0;
        conn.busy = true;
        conn.started = Instant::now();
        true
    }

    /// Moves connection `i` as far as its socket allows, message after message.
    fn pump(&mut self, i: usize) -> Result<(), String> {
        while self.advance(i)? {
            self.complete(i);
            if !self.start_message(i) {
                break;
            }
        }
        Ok(())
    }

    /// Writes the rest of connection `i`'s message and reads its echo. Whether the echo is
    /// complete.
    fn advance(&mut self, i: usize) -> Result<bool, String> {
        let Self {
            conns, msg, buf, ..
        } = self;
        let conn = &mut conns[i];
        if !conn.busy {
            return Ok(false);
        }
        let fail = |what: &str, e: io::Error| format!("connection {i}: {what}: {e}");
        while conn.sent < msg.len() {
            match conn.stream.write(&msg[conn.sent..]) {
                Ok(n) => conn.sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(fail("write", e)),
            }
        }
        while conn.received < conn.sent {
            let want = conn.sent - conn.received;
            match conn.stream.read(&mut buf[..want]) {
                Ok(0) => return Err(format!("connection {i}: the server closed it")),
                Ok(n) => {
                    if buf[..n] != msg[conn.received..conn.received + n] {
                        return Err(format!("connection {i}: echo differs from what was sent"));
                    }
                    conn.received += n;
                    // A short read on a stream socket means the receive queue is empty; the
                    // next arrival raises a new edge.
                    if n < want {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(fail("read", e)),
            }
        }
        Ok(conn.received == msg.len())
    }

    /// Records the message just echoed on connection `i`.
    fn complete(&mut self, i: usize) {
        let conn = &mut self.conns[i];
        conn.busy = false;
        let now = Instant::now();
        if self.measuring {
            let ns = (now - conn.started).as_nanos();
            self.latencies_ns
                .push(u32::try_from(ns).unwrap_or(u32::MAX));
            self.completed += 1;
        }
        self.last_progress = now;
    }
}
