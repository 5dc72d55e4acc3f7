//! Synchronisation micro-benchmarks: `minireactor-sync` against `tokio::sync` (on tokio's
//! `current_thread` runtime) and, where it has the primitive, `futures-channel` (on the
//! minireactor runtime, since it is executor-agnostic). Each runtime is created once, outside
//! the measured loop; each workload does the same operations on every implementation.
//!
//! | workload | operations per iteration |
//! |---|---|
//! | `oneshot` | 100,000 × (create a channel, send, await the receiver) in one task |
//! | `mpsc_bounded` | 1,000,000 messages from a producer task to the receiving task, capacity 128 |
//! | `mpsc_unbounded` | the same, unbounded |
//! | `notify_ping_pong` | 100,000 round trips between two tasks over two `Notify`s |
//! | `semaphore` | 1,000,000 × (acquire, release) of an uncontended semaphore |
//! | `mutex_uncontended` | 1,000,000 × (lock, increment, unlock) in one task |
//! | `mutex_100_waiters` | 100 tasks × 100 rounds of (lock, yield while holding it, unlock): every unlock hands the lock to the oldest of 99 waiters |
//!
//! `cargo bench -p minireactor-benches --bench sync` (add `-- --quick` for a fast pass).
//! To run one workload without criterion (e.g. under `valgrind --tool=callgrind`), set
//! `MINIREACTOR_BENCH_ONE=WORKLOAD:IMPL[:REPEAT]` (IMPL: `minireactor`, `tokio`, `futures`, or
//! for `notify_ping_pong` and `mutex_100_waiters`, `tokio-on-minireactor`: `tokio::sync` on the
//! minireactor runtime, which separates the primitive's cost from the executor's)
//! and run the bench binary directly, e.g.
//! `MINIREACTOR_BENCH_ONE=oneshot:minireactor:3 target/release/deps/sync-<hash>`; each
//! run's wall time goes to stderr. Instructions per iteration = (Ir at REPEAT 3 − Ir at
//! REPEAT 1) / 2, which cancels the runtime's start-up.

use std::future::poll_fn;
use std::hint::black_box;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use futures_core::Stream;
use minireactor_benches::tokio_runtime;

const ONESHOTS: u32 = 100_000;
const MESSAGES: u32 = 1_000_000;
const CAPACITY: usize = 128;
const PING_PONGS: u32 = 100_000;
const ACQUIRES: u32 = 1_000_000;
const LOCKS: u32 = 1_000_000;
const CONTENDERS: u32 = 100;
const CONTENDED_ROUNDS: u32 = 100;

fn minireactor_runtime() -> minireactor::Runtime {
    minireactor::Runtime::new().expect("minireactor runtime")
}

// Each workload's body is written once, in a macro, and instantiated for every implementation
// whose API is the same but for paths: so they do the same operations by construction. Only
// futures-channel's mpsc channels, whose API differs, are written out on their own.

// ----- oneshot -----

/// `ONESHOTS` × (create a channel, send, await the receiver).
macro_rules! oneshot {
    (channel: $channel:path) => {
        async {
            for i in 0..ONESHOTS {
                let (tx, rx) = $channel();
                tx.send(i).unwrap();
                black_box(rx.await.unwrap());
            }
        }
    };
}

fn oneshot_minireactor(rt: &minireactor::Runtime) {
    rt.block_on(oneshot!(channel: minireactor::sync::oneshot::channel));
}

fn oneshot_tokio(rt: &tokio::runtime::Runtime) {
    rt.block_on(oneshot!(channel: tokio::sync::oneshot::channel));
}

fn oneshot_futures(rt: &minireactor::Runtime) {
    rt.block_on(oneshot!(channel: futures_channel::oneshot::channel));
}

// ----- mpsc -----

/// `MESSAGES` from a producer task to this one, which sums them; `$channel` is bounded, so the
/// producer's sends wait for room.
macro_rules! mpsc_bounded {
    (channel: $channel:expr, spawn: $spawn:path) => {
        async {
            let (tx, mut rx) = $channel;
            let producer = $spawn(async move {
                for i in 0..MESSAGES {
                    tx.send(i).await.unwrap();
                }
            });
            let mut sum = 0u64;
            while let Some(i) = rx.recv().await {
                sum += u64::from(i);
            }
            producer.await.unwrap();
            black_box(sum);
        }
    };
}

/// As `mpsc_bounded`, unbounded: the producer never waits, and yields now and then.
macro_rules! mpsc_unbounded {
    (channel: $channel:expr, spawn: $spawn:path, yield_now: $yield_now:path) => {
        async {
            let (tx, mut rx) = $channel;
            let producer = $spawn(async move {
                for i in 0..MESSAGES {
                    tx.send(i).unwrap();
                    if i % CAPACITY as u32 == 0 {
                        $yield_now().await; // let the receiver run now and then
                    }
                }
            });
            let mut sum = 0u64;
            while let Some(i) = rx.recv().await {
                sum += u64::from(i);
            }
            producer.await.unwrap();
            black_box(sum);
        }
    };
}

fn mpsc_bounded_minireactor(rt: &minireactor::Runtime) {
    rt.block_on(mpsc_bounded!(
        channel: minireactor::sync::mpsc::channel(CAPACITY),
        spawn: minireactor::spawn
    ));
}

fn mpsc_bounded_tokio(rt: &tokio::runtime::Runtime) {
    rt.block_on(mpsc_bounded!(
        channel: tokio::sync::mpsc::channel(CAPACITY),
        spawn: tokio::spawn
    ));
}

fn mpsc_unbounded_minireactor(rt: &minireactor::Runtime) {
    rt.block_on(mpsc_unbounded!(
        channel: minireactor::sync::mpsc::unbounded_channel(),
        spawn: minireactor::spawn,
        yield_now: minireactor::yield_now
    ));
}

fn mpsc_unbounded_tokio(rt: &tokio::runtime::Runtime) {
    rt.block_on(mpsc_unbounded!(
        channel: tokio::sync::mpsc::unbounded_channel(),
        spawn: tokio::spawn,
        yield_now: tokio::task::yield_now
    ));
}

/// futures-channel's receivers are streams; this is `StreamExt::next` without futures-util.
async fn next<S: Stream + Unpin>(stream: &mut S) -> Option<S::Item> {
    poll_fn(|cx| Pin::new(&mut *stream).poll_next(cx)).await
}

fn mpsc_bounded_futures(rt: &minireactor::Runtime) {
    rt.block_on(async {
        // Its capacity is the buffer plus one slot per sender.
        let (mut tx, mut rx) = futures_channel::mpsc::channel(CAPACITY - 1);
        let producer = minireactor::spawn(async move {
            for i in 0..MESSAGES {
                poll_fn(|cx| tx.poll_ready(cx)).await.unwrap();
                tx.start_send(i).unwrap();
            }
        });
        let mut sum = 0u64;
        while let Some(i) = next(&mut rx).await {
            sum += u64::from(i);
        }
        producer.await.unwrap();
        black_box(sum);
    });
}

fn mpsc_unbounded_futures(rt: &minireactor::Runtime) {
    rt.block_on(async {
        let (tx, mut rx) = futures_channel::mpsc::unbounded();
        let producer = minireactor::spawn(async move {
            for i in 0..MESSAGES {
                tx.unbounded_send(i).unwrap();
                if i % CAPACITY as u32 == 0 {
                    minireactor::yield_now().await;
                }
            }
        });
        let mut sum = 0u64;
        while let Some(i) = next(&mut rx).await {
            sum += u64::from(i);
        }
        producer.await.unwrap();
        black_box(sum);
    });
}

// ----- notify -----

/// `PING_PONGS` round trips between this task and an echo task over two `Notify`s, shared
/// through `$shared` (`Rc` or `Arc`).
macro_rules! notify_ping_pong {
    (notify: $notify:ty, shared: $shared:ident, spawn: $spawn:path) => {
        async {
            let (ping, pong) = (
                $shared::new(<$notify>::new()),
                $shared::new(<$notify>::new()),
            );
            let echo = {
                let (ping, pong) = (ping.clone(), pong.clone());
                $spawn(async move {
                    for _ in 0..PING_PONGS {
                        ping.notified().await;
                        pong.notify_one();
                    }
                })
            };
            for _ in 0..PING_PONGS {
                ping.notify_one();
                pong.notified().await;
            }
            echo.await.unwrap();
        }
    };
}

fn notify_ping_pong_minireactor(rt: &minireactor::Runtime) {
    rt.block_on(notify_ping_pong!(
        notify: minireactor::sync::Notify,
        shared: Rc,
        spawn: minireactor::spawn
    ));
}

fn notify_ping_pong_tokio(rt: &tokio::runtime::Runtime) {
    rt.block_on(notify_ping_pong!(
        notify: tokio::sync::Notify,
        shared: Arc,
        spawn: tokio::spawn
    ));
}

/// tokio's `Notify` on the minireactor runtime: the same executor as `minireactor`, so the
/// difference is the primitive's alone.
fn notify_ping_pong_tokio_on_minireactor(rt: &minireactor::Runtime) {
    rt.block_on(notify_ping_pong!(
        notify: tokio::sync::Notify,
        shared: Arc,
        spawn: minireactor::spawn
    ));
}

// ----- semaphore -----

/// `ACQUIRES` × (acquire, release) of an uncontended semaphore.
macro_rules! semaphore {
    (semaphore: $semaphore:ty) => {
        async {
            let semaphore = <$semaphore>::new(1);
            for _ in 0..ACQUIRES {
                drop(black_box(semaphore.acquire().await.unwrap()));
            }
        }
    };
}

fn semaphore_minireactor(rt: &minireactor::Runtime) {
    rt.block_on(semaphore!(semaphore: minireactor::sync::Semaphore));
}

fn semaphore_tokio(rt: &tokio::runtime::Runtime) {
    rt.block_on(semaphore!(semaphore: tokio::sync::Semaphore));
}

// ----- mutex -----

/// `LOCKS` × (lock, increment, unlock) in one task.
macro_rules! mutex_uncontended {
    (mutex: $mutex:ident) => {
        async {
            let mutex = $mutex::new(0u64);
            for _ in 0..LOCKS {
                *mutex.lock().await += 1;
            }
            black_box(mutex.into_inner());
        }
    };
}

fn mutex_uncontended_minireactor(rt: &minireactor::Runtime) {
    use minireactor::sync::Mutex;
    rt.block_on(mutex_uncontended!(mutex: Mutex));
}

fn mutex_uncontended_tokio(rt: &tokio::runtime::Runtime) {
    use tokio::sync::Mutex;
    rt.block_on(mutex_uncontended!(mutex: Mutex));
}

/// `CONTENDERS` tasks × `CONTENDED_ROUNDS` rounds of (lock, yield while holding it, unlock):
/// every unlock hands the lock to the oldest waiter.
macro_rules! mutex_100_waiters {
    (mutex: $mutex:ident, shared: $shared:ident, spawn: $spawn:path, yield_now: $yield_now:path) => {
        async {
            let mutex = $shared::new($mutex::new(0u64));
            let tasks: Vec<_> = (0..CONTENDERS)
                .map(|_| {
                    let mutex = mutex.clone();
                    $spawn(async move {
                        for _ in 0..CONTENDED_ROUNDS {
                            let mut guard = mutex.lock().await;
                            *guard += 1;
                            $yield_now().await; // the others queue up meanwhile
                        }
                    })
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
            black_box(*mutex.lock().await);
        }
    };
}

fn mutex_100_waiters_minireactor(rt: &minireactor::Runtime) {
    use minireactor::sync::Mutex;
    rt.block_on(mutex_100_waiters!(
        mutex: Mutex,
        shared: Rc,
        spawn: minireactor::spawn,
        yield_now: minireactor::yield_now
    ));
}

fn mutex_100_waiters_tokio(rt: &tokio::runtime::Runtime) {
    use tokio::sync::Mutex;
    rt.block_on(mutex_100_waiters!(
        mutex: Mutex,
        shared: Arc,
        spawn: tokio::spawn,
        yield_now: tokio::task::yield_now
    ));
}

/// tokio's `Mutex` on the minireactor runtime (see `notify_ping_pong_tokio_on_minireactor`).
fn mutex_100_waiters_tokio_on_minireactor(rt: &minireactor::Runtime) {
    use tokio::sync::Mutex;
    rt.block_on(mutex_100_waiters!(
        mutex: Mutex,
        shared: Arc,
        spawn: minireactor::spawn,
        yield_now: minireactor::yield_now
    ));
}

// ----- registry -----

type MiniFn = fn(&minireactor::Runtime);
type TokioFn = fn(&tokio::runtime::Runtime);

/// One workload: its operations per iteration and its implementations.
struct Workload {
    name: &'static str,
    operations: u32,
    minireactor: MiniFn,
    tokio: TokioFn,
    futures: Option<MiniFn>,
    /// `tokio::sync` on the minireactor runtime, for the workloads dominated by the executor.
    tokio_on_minireactor: Option<MiniFn>,
}

const WORKLOADS: &[Workload] = &[
    Workload {
        name: "oneshot",
        operations: ONESHOTS,
        minireactor: oneshot_minireactor,
        tokio: oneshot_tokio,
        futures: Some(oneshot_futures),
        tokio_on_minireactor: None,
    },
    Workload {
        name: "mpsc_bounded",
        operations: MESSAGES,
        minireactor: mpsc_bounded_minireactor,
        tokio: mpsc_bounded_tokio,
        futures: Some(mpsc_bounded_futures),
        tokio_on_minireactor: None,
    },
    Workload {
        name: "mpsc_unbounded",
        operations: MESSAGES,
        minireactor: mpsc_unbounded_minireactor,
        tokio: mpsc_unbounded_tokio,
        futures: Some(mpsc_unbounded_futures),
        tokio_on_minireactor: None,
    },
    Workload {
        name: "notify_ping_pong",
        operations: PING_PONGS,
        minireactor: notify_ping_pong_minireactor,
        tokio: notify_ping_pong_tokio,
        futures: None,
        tokio_on_minireactor: Some(notify_ping_pong_tokio_on_minireactor),
    },
    Workload {
        name: "semaphore",
        operations: ACQUIRES,
        minireactor: semaphore_minireactor,
        tokio: semaphore_tokio,
        futures: None,
        tokio_on_minireactor: None,
    },
    Workload {
        name: "mutex_uncontended",
        operations: LOCKS,
        minireactor: mutex_uncontended_minireactor,
        tokio: mutex_uncontended_tokio,
        futures: None,
        tokio_on_minireactor: None,
    },
    Workload {
        name: "mutex_100_waiters",
        operations: CONTENDERS * CONTENDED_ROUNDS,
        minireactor: mutex_100_waiters_minireactor,
        tokio: mutex_100_waiters_tokio,
        futures: None,
        tokio_on_minireactor: Some(mutex_100_waiters_tokio_on_minireactor),
    },
];

fn run_one(spec: &str) {
    let mut parts = spec.split(':');
    let (Some(name), Some(implementation)) = (parts.next(), parts.next()) else {
        panic!("MINIREACTOR_BENCH_ONE={spec}: expected WORKLOAD:IMPL[:REPEAT]");
    };
    let repeat: u32 = parts
        .next()
        .map_or(1, |n| n.parse().expect("REPEAT: a number"));
    let workload = WORKLOADS
        .iter()
        .find(|w| w.name == name)
        .unwrap_or_else(|| {
            let known: Vec<_> = WORKLOADS.iter().map(|w| w.name).collect();
            panic!("unknown workload {name:?}; known: {}", known.join(", "))
        });
    let timed = |run: &dyn Fn()| {
        for _ in 0..repeat {
            let start = Instant::now();
            run();
            let elapsed = start.elapsed();
            eprintln!(
                "{name}:{implementation}: {elapsed:?} ({:.1} ns per operation)",
                elapsed.as_nanos() as f64 / f64::from(workload.operations)
            );
        }
    };
    match implementation {
        "minireactor" => {
            let rt = minireactor_runtime();
            timed(&|| (workload.minireactor)(&rt));
        }
        "tokio" => {
            let rt = tokio_runtime();
            timed(&|| (workload.tokio)(&rt));
        }
        "futures" => {
            let run = workload
                .futures
                .unwrap_or_else(|| panic!("futures-channel has no {name}"));
            let rt = minireactor_runtime();
            timed(&|| run(&rt));
        }
        "tokio-on-minireactor" => {
            let run = workload
                .tokio_on_minireactor
                .unwrap_or_else(|| panic!("no tokio-on-minireactor variant of {name}"));
            let rt = minireactor_runtime();
            timed(&|| run(&rt));
        }
        _ => panic!(
            "unknown implementation {implementation:?}; \
             known: minireactor, tokio, futures, tokio-on-minireactor"
        ),
    }
}

fn main() {
    if let Ok(spec) = std::env::var("MINIREACTOR_BENCH_ONE") {
        run_one(&spec);
        return;
    }
    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    let mini = minireactor_runtime();
    let tokio = tokio_runtime();
    for workload in WORKLOADS {
        let mut group = c.benchmark_group(workload.name);
        group.throughput(Throughput::Elements(u64::from(workload.operations)));
        group.bench_function("minireactor", |b| b.iter(|| (workload.minireactor)(&mini)));
        group.bench_function("tokio", |b| b.iter(|| (workload.tokio)(&tokio)));
        if let Some(futures) = workload.futures {
            group.bench_function("futures-channel", |b| b.iter(|| futures(&mini)));
        }
        if let Some(tokio_on_mini) = workload.tokio_on_minireactor {
            group.bench_function("tokio-on-minireactor", |b| b.iter(|| tokio_on_mini(&mini)));
        }
        group.finish();
    }
    c.final_summary();
}
