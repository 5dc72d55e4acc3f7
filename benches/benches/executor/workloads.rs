//! The workloads, each written for both runtimes, and the table of them that the criterion
//! groups, the run-one mode and the callgrind mode go through.
//!
//! - `spawn_join_100k`: spawn 100,000 trivial tasks from inside `block_on`, then await them all.
//! - `local_wake_ping_pong`: two tasks hand a turn back and forth 10,000 times each through an
//!   `Rc<Cell>` and stored wakers (the [`Baton`] below, the same code on both runtimes; tokio
//!   needs a `LocalSet` for `!Send` tasks).
//! - `cross_thread_wake_latency`: a task waits in an idle runtime (its thread asleep in
//!   `epoll_wait`, checked through `/proc`); another thread wakes it and spins until the task
//!   acknowledges through an atomic. Only wake-to-acknowledgement is timed, per round trip.
//! - `sleep_insert_cancel_100k`: 100,000 sleeps with distinct far-future deadlines, each polled
//!   once (registering its timer), then all dropped (cancelling it).
//! - `asyncfd_ping_pong`: two tasks exchange a 1-byte message 10,000 times over a Unix
//!   socketpair.
//! - `spawn_blocking_round_trip`: 1,000 `spawn_blocking` closures, each awaited before the
//!   next is spawned: the pool's hand-off and the cross-thread wake back, one at a time.
//! - `spawn_blocking_10k`: 10,000 `spawn_blocking` closures spawned at once, then joined.

use std::cell::{Cell, RefCell};
use std::future::{poll_fn, Future};
use std::hint::black_box;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

/// One workload, written for both runtimes.
pub struct Workload {
    /// Its name in criterion's groups, `MINIREACTOR_BENCH_ONE` and tables.
    pub name: &'static str,
    /// One iteration on minireactor.
    pub minireactor: fn(&minireactor::Runtime),
    /// The same iteration on tokio.
    pub tokio: fn(&tokio::runtime::Runtime),
    /// What one iteration does: so many of a unit (tasks, wakes, ...), for per-unit figures.
    pub units: (u64, &'static str),
    /// How long criterion measures whole iterations; `None` for the cross-thread wake, which
    /// criterion times per round trip (see `main.rs`).
    pub measure: Option<Duration>,
    /// Whether its instruction count is a property of the runtime. Not for the cross-thread
    /// wake: its waking thread spins for as long as the wake takes.
    pub counted: bool,
}

/// Rounds of the cross-thread wake in one iteration outside criterion.
const CROSS_THREAD_ROUNDS: u64 = 10_000;

/// Every workload, in the order criterion runs them.
pub const WORKLOADS: [Workload; 7] = [
    Workload {
        name: "spawn_join_100k",
        minireactor: |rt| {
            black_box(spawn_join_minireactor(rt));
        },
        tokio: |rt| {
            black_box(spawn_join_tokio(rt));
        },
        units: (SPAWN_TASKS, "task"),
        measure: Some(Duration::from_secs(4)),
        counted: true,
    },
    Workload {
        name: "local_wake_ping_pong",
        minireactor: local_ping_pong_minireactor,
        tokio: local_ping_pong_tokio,
        units: (2 * PING_PONG_ROUNDS as u64, "wake"),
        measure: Some(Duration::from_secs(3)),
        counted: true,
    },
    Workload {
        name: "cross_thread_wake_latency",
        minireactor: |rt| {
            let unparker = minireactor::reactor::Reactor::current().unwrap().unparker();
            let before = unparker.eventfd_writes();
            let timed = cross_thread_minireactor(rt, CROSS_THREAD_ROUNDS);
            let writes = unparker.eventfd_writes() - before;
            eprintln!("  {:?} per round trip", timed / CROSS_THREAD_ROUNDS as u32);
            eprintln!(
                "  {writes} of {} wakes found the runtime parked",
                CROSS_THREAD_ROUNDS + 1
            );
        },
        tokio: |rt| {
            let timed = cross_thread_tokio(rt, CROSS_THREAD_ROUNDS);
            eprintln!("  {:?} per round trip", timed / CROSS_THREAD_ROUNDS as u32);
        },
        units: (CROSS_THREAD_ROUNDS, "round trip"),
        measure: None,
        counted: false,
    },
    Workload {
        name: "sleep_insert_cancel_100k",
        minireactor: sleeps_minireactor,
        tokio: sleeps_tokio,
        units: (SLEEPS, "sleep"),
        measure: Some(Duration::from_secs(4)),
        counted: true,
    },
    Workload {
        name: "asyncfd_ping_pong",
        minireactor: fd_ping_pong_minireactor,
        tokio: fd_ping_pong_tokio,
        units: (FD_ROUND_TRIPS as u64, "round trip"),
        measure: Some(Duration::from_secs(4)),
        counted: true,
    },
    Workload {
        name: "spawn_blocking_round_trip",
        minireactor: |rt| {
            black_box(blocking_round_trips_minireactor(rt));
        },
        tokio: |rt| {
            black_box(blocking_round_trips_tokio(rt));
        },
        units: (BLOCKING_ROUND_TRIPS, "round trip"),
        measure: Some(Duration::from_secs(4)),
        // Pool threads wake and sleep as the OS schedules them: not a property of the runtime.
        counted: false,
    },
    Workload {
        name: "spawn_blocking_10k",
        minireactor: |rt| {
            black_box(blocking_many_minireactor(rt));
        },
        tokio: |rt| {
            black_box(blocking_many_tokio(rt));
        },
        units: (BLOCKING_CLOSURES, "closure"),
        measure: Some(Duration::from_secs(4)),
        counted: false,
    },
];

/// The workload called `name`, or an error that lists them all.
pub fn workload(name: &str) -> Result<&'static Workload, String> {
    WORKLOADS.iter().find(|w| w.name == name).ok_or_else(|| {
        let known: Vec<&str> = WORKLOADS.iter().map(|w| w.name).collect();
        format!("unknown workload {name:?}; known: {}", known.join(", "))
    })
}

/// Tasks spawned by `spawn_join_100k`.
const SPAWN_TASKS: u64 = 100_000;
/// Turns each task waits for in `local_wake_ping_pong`.
const PING_PONG_ROUNDS: u32 = 10_000;
/// Sleeps created by `sleep_insert_cancel_100k`.
const SLEEPS: u64 = 100_000;
/// Round trips in `asyncfd_ping_pong`.
const FD_ROUND_TRIPS: u32 = 10_000;
/// Closures run one after the other in `spawn_blocking_round_trip`.
const BLOCKING_ROUND_TRIPS: u64 = 1_000;
/// Closures spawned at once, then joined, in `spawn_blocking_10k`.
const BLOCKING_CLOSURES: u64 = 10_000;

/// minireactor's runtime.
pub fn minireactor_runtime() -> minireactor::Runtime {
    minireactor::Runtime::new().expect("minireactor runtime")
}

// The bodies that are the same on both runtimes but for paths are written once, in a macro, so
// that both runtimes do the same operations by construction.

/// Makes a handle for each `i` in `0..$count` at once, then awaits them all in order; the sum
/// of their outputs.
macro_rules! sum_of_all {
    ($count:expr, |$i:ident| $handle:expr) => {
        async {
            let handles: Vec<_> = (0..$count).map(|$i| $handle).collect();
            let mut sum = 0;
            for handle in handles {
                sum += handle.await.unwrap();
            }
            sum
        }
    };
}

/// Makes a handle for each `i` in `0..$count` and awaits it before making the next; the sum of
/// their outputs.
macro_rules! sum_one_at_a_time {
    ($count:expr, |$i:ident| $handle:expr) => {
        async {
            let mut sum = 0;
            for $i in 0..$count {
                sum += $handle.await.unwrap();
            }
            sum
        }
    };
}

// ----- spawn_join_100k -----

fn spawn_join_minireactor(rt: &minireactor::Runtime) -> u64 {
    rt.block_on(sum_of_all!(SPAWN_TASKS, |i| {
        minireactor::spawn(async move { i })
    }))
}

fn spawn_join_tokio(rt: &tokio::runtime::Runtime) -> u64 {
    rt.block_on(sum_of_all!(SPAWN_TASKS, |i| {
        tokio::spawn(async move { i })
    }))
}

// ----- local_wake_ping_pong -----

/// A turn passed between two local tasks: whose turn it is, and each side's stored waker.
#[derive(Default)]
struct Baton {
    turn: Cell<usize>,
    wakers: [RefCell<Option<Waker>>; 2],
}

impl Baton {
    /// Waits until it is `me`'s turn.
    fn wait_turn(&self, me: usize) -> impl Future<Output = ()> + '_ {
        poll_fn(move |cx| {
            if self.turn.get() == me {
                return Poll::Ready(());
            }
            let mut slot = self.wakers[me].borrow_mut();
            match &mut *slot {
                Some(stored) if stored.will_wake(cx.waker()) => {}
                stored => *stored = Some(cx.waker().clone()),
            }
            Poll::Pending
        })
    }

    /// Gives the turn to the other side and wakes it.
    fn pass(&self, me: usize) {
        let other = 1 - me;
        self.turn.set(other);
        if let Some(waker) = &*self.wakers[other].borrow() {
            waker.wake_by_ref();
        }
    }
}

/// One side of the ping-pong: waits for its turn and passes it back, `PING_PONG_ROUNDS` times.
async fn ping_pong_side(baton: Rc<Baton>, me: usize) {
    for _ in 0..PING_PONG_ROUNDS {
        baton.wait_turn(me).await;
        baton.pass(me);
    }
}

fn local_ping_pong_minireactor(rt: &minireactor::Runtime) {
    rt.block_on(async {
        let baton = Rc::new(Baton::default());
        let a = minireactor::spawn(ping_pong_side(baton.clone(), 0));
        let b = minireactor::spawn(ping_pong_side(baton, 1));
        a.await.unwrap();
        b.await.unwrap();
    });
}

fn local_ping_pong_tokio(rt: &tokio::runtime::Runtime) {
    let local = tokio::task::LocalSet::new();
    local.block_on(rt, async {
        let baton = Rc::new(Baton::default());
        let a = tokio::task::spawn_local(ping_pong_side(baton.clone(), 0));
        let b = tokio::task::spawn_local(ping_pong_side(baton, 1));
        a.await.unwrap();
        b.await.unwrap();
    });
}

// ----- cross_thread_wake_latency -----

/// State shared by the task in the runtime and the waking thread.
#[derive(Default)]
struct Remote {
    /// Last round the thread started.
    go: AtomicU64,
    /// Last round the task acknowledged.
    ack: AtomicU64,
    /// The task's waker, stored before it checks `go` again.
    waker: Mutex<Option<Waker>>,
    /// `/proc/self/task/<tid>/stat` of the runtime's thread, set by the task when it starts.
    runtime_stat: OnceLock<PathBuf>,
}

impl Remote {
    /// Waits until the thread has started `round`.
    fn wait_go(&self, round: u64) -> impl Future<Output = ()> + '_ {
        poll_fn(move |cx| {
            if self.go.load(Ordering::SeqCst) >= round {
                return Poll::Ready(());
            }
            {
                let mut slot = self.waker.lock().unwrap();
                match &mut *slot {
                    Some(stored) if stored.will_wake(cx.waker()) => {}
                    stored => *stored = Some(cx.waker().clone()),
                }
            }
            // Checked again after storing the waker: a `go` set before that found no waker.
            if self.go.load(Ordering::SeqCst) >= round {
                return Poll::Ready(());
            }
            Poll::Pending
        })
    }
}

/// The task's side: for rounds `1..=rounds + 1`, wait for the wake, then acknowledge.
async fn remote_task(remote: Arc<Remote>, rounds: u64) {
    let thread_self = std::fs::read_link("/proc/thread-self").expect("/proc/thread-self");
    let _ = remote
        .runtime_stat
        .set(Path::new("/proc").join(thread_self).join("stat"));
    for round in 1..=rounds + 1 {
        remote.wait_go(round).await;
        remote.ack.store(round, Ordering::SeqCst);
    }
}

/// Waits (up to 2 ms) until the runtime's thread is asleep, i.e. blocked in `epoll_wait`: the
/// only place where it sleeps in this benchmark.
fn wait_until_runtime_sleeps(remote: &Remote) {
    let stat = loop {
        match remote.runtime_stat.get() {
            Some(path) => break std::fs::File::open(path).expect("runtime thread stat"),
            None => thread::yield_now(),
        }
    };
    let deadline = Instant::now() + Duration::from_millis(2);
    let mut buf = [0u8; 512];
    while Instant::now() < deadline {
        let n = stat.read_at(&mut buf, 0).expect("read stat");
        // "tid (comm) S ...": the state follows the last ')'.
        let state = buf[..n]
            .iter()
            .rposition(|&b| b == b')')
            .and_then(|i| buf.get(i + 2));
        if state == Some(&b'S') {
            return;
        }
        thread::yield_now();
    }
}

/// The other thread's side, `rounds + 1` times: wait until the runtime is idle, wake the task,
/// spin until it acknowledges. Only wake-to-acknowledgement is timed, and not in the first
/// round (a warm-up that also waits for the task to start).
fn waking_thread(remote: &Remote, rounds: u64) -> Duration {
    let mut total = Duration::ZERO;
    for round in 1..=rounds + 1 {
        wait_until_runtime_sleeps(remote);
        let start = Instant::now();
        remote.go.store(round, Ordering::SeqCst);
        if let Some(waker) = &*remote.waker.lock().unwrap() {
            waker.wake_by_ref();
        }
        let mut spins = 0u32;
        while remote.ack.load(Ordering::SeqCst) < round {
            spins += 1;
            if spins < 1 << 16 {
                std::hint::spin_loop();
            } else {
                thread::yield_now(); // Sharing a core with the runtime: let it run.
            }
        }
        if round > 1 {
            total += start.elapsed();
        }
    }
    total
}

/// Runs `rounds` timed round trips with `run_task` driving the runtime on this thread.
fn cross_thread(rounds: u64, run_task: impl FnOnce(Arc<Remote>)) -> Duration {
    let remote = Arc::new(Remote::default());
    thread::scope(|scope| {
        let waker_side = scope.spawn(|| waking_thread(&remote, rounds));
        run_task(remote.clone());
        waker_side.join().unwrap()
    })
}

pub fn cross_thread_minireactor(rt: &minireactor::Runtime, rounds: u64) -> Duration {
    cross_thread(rounds, |remote| {
        rt.block_on(async move {
            minireactor::spawn(remote_task(remote, rounds))
                .await
                .unwrap();
        });
    })
}

pub fn cross_thread_tokio(rt: &tokio::runtime::Runtime, rounds: u64) -> Duration {
    cross_thread(rounds, |remote| {
        rt.block_on(async move {
            tokio::spawn(remote_task(remote, rounds)).await.unwrap();
        });
    })
}

// ----- sleep_insert_cancel_100k -----

/// Polls every sleep once with the current task's context; none may be ready.
async fn poll_each_once<S: Future<Output = ()>>(
    sleeps: &mut [S],
    pin: impl Fn(&mut S) -> Pin<&mut S>,
) {
    poll_fn(|cx| {
        for sleep in sleeps.iter_mut() {
            assert!(pin(sleep).poll(cx).is_pending());
        }
        Poll::Ready(())
    })
    .await;
}

/// Returns `Pending` once (waking itself), so the runtime turns its driver before going on.
async fn yield_once() {
    let mut yielded = false;
    poll_fn(|cx| {
        if yielded {
            return Poll::Ready(());
        }
        yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    })
    .await;
}

/// Registers `anchor`, a sleep earlier than every measured one, and lets the runtime turn once,
/// so its timer driver has a known next deadline. Without it, tokio writes its eventfd on every
/// registration (a new timer is "earlier than the next wake" while none is known): 100,000
/// syscalls that would swamp the cost of the timer structure itself.
async fn arm_timer_driver<S: Future<Output = ()>>(anchor: Pin<&mut S>) {
    poll_each_once(&mut [anchor], |anchor| Pin::new(anchor)).await;
    yield_once().await;
}

/// Far-future deadlines: the anchor at +30 min, the measured sleeps from +1 h, 1 ms apart.
const ANCHOR_DELAY: Duration = Duration::from_secs(1800);
const SLEEP_DELAY: Duration = Duration::from_secs(3600);

fn sleeps_minireactor(rt: &minireactor::Runtime) {
    use minireactor::time::sleep_until;
    rt.block_on(async {
        let now = Instant::now();
        let mut anchor = sleep_until(now + ANCHOR_DELAY);
        arm_timer_driver(Pin::new(&mut anchor)).await;
        let base = now + SLEEP_DELAY;
        let mut sleeps: Vec<_> = (0..SLEEPS)
            .map(|i| sleep_until(base + Duration::from_millis(i)))
            .collect();
        poll_each_once(&mut sleeps, |sleep| Pin::new(sleep)).await;
        drop(sleeps);
    });
}

fn sleeps_tokio(rt: &tokio::runtime::Runtime) {
    use tokio::time::sleep_until;
    rt.block_on(async {
        let now = tokio::time::Instant::now();
        let anchor = std::pin::pin!(sleep_until(now + ANCHOR_DELAY));
        arm_timer_driver(anchor).await;
        let base = now + SLEEP_DELAY;
        let mut sleeps: Vec<_> = (0..SLEEPS)
            .map(|i| sleep_until(base + Duration::from_millis(i)))
            .collect();
        poll_each_once(&mut sleeps, |sleep| {
            // SAFETY: the vector is neither grown nor moved out of until it is dropped, so each
            // element stays at its address from this first pin until it is dropped in place.
            unsafe { Pin::new_unchecked(sleep) }
        })
        .await;
        drop(sleeps);
    });
}

// ----- asyncfd_ping_pong -----

/// `FD_ROUND_TRIPS` one-byte round trips between two tasks over the stream pair `$pair`.
macro_rules! fd_ping_pong {
    (pair: $pair:expr, spawn: $spawn:path) => {
        async {
            #[allow(unused_mut)] // minireactor's streams read and write through `&self`.
            let (mut a, mut b) = $pair;
            let echo = $spawn(async move {
                let mut buf = [0u8; 16];
                for _ in 0..FD_ROUND_TRIPS {
                    assert_eq!(b.read(&mut buf).await.unwrap(), 1);
                    b.write_all(&buf[..1]).await.unwrap();
                }
            });
            let ping = $spawn(async move {
                let mut buf = [0u8; 16];
                for _ in 0..FD_ROUND_TRIPS {
                    a.write_all(b"x").await.unwrap();
                    assert_eq!(a.read(&mut buf).await.unwrap(), 1);
                }
            });
            ping.await.unwrap();
            echo.await.unwrap();
        }
    };
}

fn fd_ping_pong_minireactor(rt: &minireactor::Runtime) {
    use minireactor::net::UnixStream;
    rt.block_on(fd_ping_pong!(
        pair: UnixStream::pair().unwrap(),
        spawn: minireactor::spawn
    ));
}

fn fd_ping_pong_tokio(rt: &tokio::runtime::Runtime) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::UnixStream;
    rt.block_on(fd_ping_pong!(
        pair: UnixStream::pair().unwrap(),
        spawn: tokio::spawn
    ));
}

// ----- spawn_blocking_round_trip and spawn_blocking_10k -----

fn blocking_round_trips_minireactor(rt: &minireactor::Runtime) -> u64 {
    rt.block_on(sum_one_at_a_time!(BLOCKING_ROUND_TRIPS, |i| {
        minireactor::spawn_blocking(move || i)
    }))
}

fn blocking_round_trips_tokio(rt: &tokio::runtime::Runtime) -> u64 {
    rt.block_on(sum_one_at_a_time!(BLOCKING_ROUND_TRIPS, |i| {
        tokio::task::spawn_blocking(move || i)
    }))
}

fn blocking_many_minireactor(rt: &minireactor::Runtime) -> u64 {
    rt.block_on(sum_of_all!(BLOCKING_CLOSURES, |i| {
        minireactor::spawn_blocking(move || i)
    }))
}

fn blocking_many_tokio(rt: &tokio::runtime::Runtime) -> u64 {
    rt.block_on(sum_of_all!(BLOCKING_CLOSURES, |i| {
        tokio::task::spawn_blocking(move || i)
    }))
}
