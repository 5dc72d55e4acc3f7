//! [`Pool`]: threads started on demand up to a cap, each exiting after a while with nothing to do.
//!
//! Invariants, all under the one mutex:
//! - `threads` counts the pool's live threads and exceeds `max_threads` only by the threads
//!   [`Pool::wait_for_detached`] starts for owed jobs that wait in the queue;
//! - `idle` counts threads waiting on the condition variable, and `notified` how many of them
//!   have been told to wake and not yet woken (`notified <= idle`); a job is handed to an idle
//!   thread only if one is not already claimed (`idle > notified`), otherwise a thread is started
//!   if the cap allows, otherwise it waits in the queue for a thread to finish its current job;
//! - a queued job always has a thread that will run it: one just notified or started, or a busy
//!   one, which looks at the queue before it goes idle;
//! - `owed` counts the detached jobs that have not finished (see [`Pool::wait_for_detached`]):
//!   a job is counted when it is detached before it finishes, under its own lock, and uncounted
//!   by the thread that runs it, after it has run.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::job::{self, Blocking, Run};

/// How many threads a pool starts at most, unless configured otherwise.
pub const DEFAULT_MAX_THREADS: usize = 64;

/// How long a pool thread waits for work before it exits, unless configured otherwise.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// How often [`Pool::wait_for_detached`] logs that it is still waiting, and at most starts a
/// thread beyond the cap.
const WAIT_WARNING_INTERVAL: Duration = Duration::from_secs(10);

/// A pool of threads for blocking work. Cheap to clone; every clone is the same pool.
///
/// Dropping the last clone stops the pool: threads still running a closure finish it (and run
/// whatever is still queued), idle ones exit at once. Nothing waits for them.
#[derive(Clone)]
pub struct Pool {
    handle: Arc<Handle>,
}

/// The users' side of a pool; the threads hold only `Inner`, so dropping the last `Handle`
/// can tell them to stop.
struct Handle {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    state: Mutex<State>,
    /// Idle threads wait here for a job, for at most `idle_timeout`.
    work: Condvar,
    /// Signalled when the last owed job finishes.
    settled: Condvar,
    max_threads: usize,
    idle_timeout: Duration,
}

struct State {
    queue: VecDeque<Arc<dyn Run>>,
    threads: usize,
    idle: usize,
    notified: usize,
    /// Detached jobs not finished yet.
    owed: usize,
    /// Set when the last `Pool` is dropped.
    stopping: bool,
}

impl Pool {
    /// A pool of at most `max_threads` threads (at least 1), each exiting after `idle_timeout`
    /// without work. No thread is started until the first closure arrives.
    pub fn new(max_threads: usize, idle_timeout: Duration) -> Pool {
        Pool {
            handle: Arc::new(Handle {
                inner: Arc::new(Inner {
                    state: Mutex::new(State {
                        queue: VecDeque::new(),
                        threads: 0,
                        idle: 0,
                        notified: 0,
                        owed: 0,
                        stopping: false,
                    }),
                    work: Condvar::new(),
                    settled: Condvar::new(),
                    max_threads: max_threads.max(1),
                    idle_timeout,
                }),
            }),
        }
    }

    /// Runs `f` on one of the pool's threads; see [`unblock`](crate::unblock).
    pub fn spawn<F, T>(&self, f: F) -> Blocking<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (run, blocking) = job::new(f, self.handle.inner.clone());
        self.handle.inner.submit(run);
        blocking
    }

    /// How many threads the pool has right now.
    pub fn threads(&self) -> usize {
        self.handle.inner.lock().threads
    }

    /// The most threads the pool starts.
    pub fn max_threads(&self) -> usize {
        self.handle.inner.max_threads
    }

    /// Blocks until every job that was [detached](Blocking::detach) before it finished has run,
    /// or until `deadline`; returns whether none is left. What a runtime waits for when it is
    /// dropped: the last writes of files dropped with a write in flight.
    ///
    /// Every thread may be busy with a job that does not end soon (a read of stdin given up, a
    /// long `spawn_blocking` closure), so while jobs wait in the queue and no thread is idle,
    /// one more thread is started for them, beyond `max_threads` (at most one every 10 s). A
    /// warning is logged every 10 s of waiting, naming how many jobs are left, so that a write
    /// that cannot finish (to a pipe only this thread reads) is seen, not just a hang.
    pub fn wait_for_detached(&self, deadline: Option<Instant>) -> bool {
        let inner = &self.handle.inner;
        let started = Instant::now();
        // When the next warning is due, and when a queue nobody serves may get another thread.
        let mut next_warning = started + WAIT_WARNING_INTERVAL;
        let mut next_thread = started;
        let mut state = inner.lock();
        if state.owed > 0 {
            tracing::debug!(jobs = state.owed, "waiting for detached blocking jobs");
        }
        while state.owed > 0 {
            let now = Instant::now();
            let owed = state.owed;
            if deadline.is_some_and(|deadline| deadline <= now) {
                drop(state);
                tracing::warn!(
                    jobs = owed,
                    "detached blocking jobs (file writes) still running at the deadline"
                );
                return false;
            }
            if now >= next_thread && !state.queue.is_empty() && state.idle <= state.notified {
                state.threads += 1;
                let threads = state.threads;
                drop(state);
                inner.start_thread(threads);
                next_thread = now + WAIT_WARNING_INTERVAL;
                state = inner.lock();
                continue;
            }
            if now >= next_warning {
                drop(state);
                tracing::warn!(
                    jobs = owed,
                    waited_s = started.elapsed().as_secs(),
                    "still waiting for detached blocking jobs (file writes) to finish"
                );
                next_warning += WAIT_WARNING_INTERVAL;
                state = inner.lock();
                continue;
            }
            let until = deadline.map_or(next_warning, |deadline| deadline.min(next_warning));
            state = inner
                .settled
                .wait_timeout(state, until - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        true
    }
}

impl Default for Pool {
    /// A pool with [`DEFAULT_MAX_THREADS`] and [`DEFAULT_IDLE_TIMEOUT`].
    fn default() -> Pool {
        Pool::new(DEFAULT_MAX_THREADS, DEFAULT_IDLE_TIMEOUT)
    }
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("threads", &self.threads())
            .field("max_threads", &self.max_threads())
            .finish()
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.inner.lock().stopping = true;
        self.inner.work.notify_all();
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // No code that can panic runs under the lock, so a poisoned state is still consistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts a job detached before it finished; called under the job's lock.
    pub(crate) fn owe(&self) {
        self.lock().owed += 1;
    }

    /// Uncounts a detached job that has run.
    pub(crate) fn settle(&self) {
        let mut state = self.lock();
        state.owed -= 1;
        if state.owed == 0 {
            self.settled.notify_all();
        }
    }

    fn submit(self: &Arc<Self>, run: Arc<dyn Run>) {
        let mut state = self.lock();
        state.queue.push_back(run);
        if state.idle > state.notified {
            state.notified += 1;
            drop(state);
            self.work.notify_one();
            return;
        }
        if state.threads >= self.max_threads {
            return; // A busy thread takes it when it is done.
        }
        state.threads += 1;
        let threads = state.threads;
        drop(state);
        self.start_thread(threads);
    }

    /// Starts a thread already counted in `threads` (now `threads` in all).
    fn start_thread(self: &Arc<Self>, threads: usize) {
        let inner = self.clone();
        let started = std::thread::Builder::new()
            .name("minireactor-blocking".into())
            .spawn(move || inner.work_until_idle());
        match started {
            Ok(_) => tracing::debug!(threads, "blocking thread started"),
            Err(err) => self.thread_failed_to_start(err),
        }
    }

    /// Without a thread of its own, the job just queued may have nobody to run it: if the pool
    /// has no thread at all, run the queue here rather than leave the caller waiting forever.
    fn thread_failed_to_start(&self, err: std::io::Error) {
        let mut state = self.lock();
        state.threads -= 1;
        if state.threads > 0 {
            tracing::warn!(%err, "could not start a blocking thread; the job waits for a busy one");
            return;
        }
        tracing::warn!(%err, "could not start any blocking thread; running the job on this thread");
        while let Some(run) = state.queue.pop_front() {
            drop(state);
            run.run();
            state = self.lock();
        }
    }

    /// A pool thread's whole life: run jobs; wait for more; exit after `idle_timeout` without.
    fn work_until_idle(&self) {
        let mut state = self.lock();
        loop {
            if let Some(run) = state.queue.pop_front() {
                drop(state);
                run.run();
                state = self.lock();
                continue;
            }
            if state.stopping {
                break;
            }
            state.idle += 1;
            let (woken, timeout) = self
                .work
                .wait_timeout(state, self.idle_timeout)
                .unwrap_or_else(|e| e.into_inner());
            state = woken;
            state.idle -= 1;
            if state.notified > 0 {
                state.notified -= 1;
            } else if timeout.timed_out() && state.queue.is_empty() {
                break;
            }
            // Otherwise a spurious wake-up, or a stop: the loop looks at the queue and `stopping`.
        }
        state.threads -= 1;
        tracing::debug!(threads = state.threads, "blocking thread exiting");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    /// Polls `done` until it holds, failing after a generous watchdog.
    fn eventually(what: &str, done: impl Fn() -> bool) {
        let start = Instant::now();
        while !done() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "watchdog: {what}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// A job on `pool` that has started and runs until the returned sender sends or is dropped.
    fn running_until_released(pool: &Pool) -> (Blocking<()>, std::sync::mpsc::Sender<()>) {
        let (release, released) = std::sync::mpsc::channel::<()>();
        let (started, running) = std::sync::mpsc::channel();
        let job = pool.spawn(move || {
            started.send(()).unwrap();
            let _ = released.recv();
        });
        running.recv().unwrap();
        (job, release)
    }

    /// Runs `f` on the pool and blocks this (test) thread until it is done.
    fn run_blocking(pool: &Pool, f: impl FnOnce() + Send + 'static) {
        let (done, finished) = std::sync::mpsc::channel();
        let job = pool.spawn(move || {
            f();
            done.send(()).unwrap();
        });
        finished.recv().unwrap();
        drop(job);
    }

    #[test]
    fn threads_start_on_demand_and_exit_when_idle() {
        let pool = Pool::new(4, Duration::from_millis(50));
        assert_eq!(pool.threads(), 0, "no thread before the first job");
        // Counted while a job runs: once it is done, the thread may exit before any assertion
        // (under Miri, 50 ms pass quickly).
        let threads_while_running = |pool: &Pool| {
            let (job, release) = running_until_released(pool);
            let threads = pool.threads();
            release.send(()).unwrap();
            drop(job);
            threads
        };
        assert_eq!(threads_while_running(&pool), 1);
        eventually("the idle thread exits", || pool.threads() == 0);
        assert_eq!(
            threads_while_running(&pool),
            1,
            "a thread starts again when needed"
        );
    }

    #[test]
    fn an_idle_thread_is_reused_rather_than_a_new_one_started() {
        let pool = Pool::new(4, Duration::from_secs(60));
        for _ in 0..20 {
            run_blocking(&pool, || {});
            // Between its job and its wait, a thread is busy: a job then starts another.
            eventually("the thread waits for work", || {
                pool.handle.inner.lock().idle == 1
            });
        }
        assert_eq!(pool.threads(), 1);
    }

    #[test]
    fn dropping_the_last_handle_lets_idle_threads_go_at_once() {
        let pool = Pool::new(4, Duration::from_secs(3600));
        run_blocking(&pool, || {});
        let inner = pool.handle.inner.clone();
        drop(pool);
        eventually("the idle thread exits after the pool is dropped", || {
            inner.lock().threads == 0
        });
    }

    #[test]
    fn a_detached_job_runs_even_if_it_had_not_started() {
        let pool = Pool::new(1, Duration::from_secs(60));
        let gate = std::sync::Arc::new(std::sync::Barrier::new(2));
        let busy = pool.spawn({
            let gate = gate.clone();
            move || {
                gate.wait();
            }
        });
        let (done, finished) = std::sync::mpsc::channel();
        // Queued behind the busy job: dropped, it would be skipped; detached, it runs.
        pool.spawn(move || done.send(()).unwrap()).detach();
        gate.wait();
        finished
            .recv_timeout(Duration::from_secs(30))
            .expect("the detached job ran");
        drop(busy);
    }

    #[test]
    fn waiting_for_detached_jobs_waits_for_those_not_finished_only() {
        let pool = Pool::new(1, Duration::from_secs(60));
        // Finished before it is detached: nothing is owed.
        let (done, finished) = std::sync::mpsc::channel();
        let early = pool.spawn(move || done.send(()).unwrap());
        finished.recv().unwrap();
        eventually("the first job has run", || {
            pool.handle.inner.lock().idle == 1
        });
        early.detach();
        assert!(pool.wait_for_detached(Some(Instant::now())));
        // Running when detached: owed until it ends.
        let (late, release) = running_until_released(&pool);
        late.detach();
        assert!(
            !pool.wait_for_detached(Some(Instant::now() + Duration::from_millis(20))),
            "the job still runs"
        );
        release.send(()).unwrap();
        assert!(pool.wait_for_detached(None));
        assert_eq!(pool.handle.inner.lock().owed, 0);
    }

    /// Regression (a review): every thread of the pool busy with a job that does not end (a
    /// read given up, say) left an owed write queued behind it, and the wait for it hanging.
    #[test]
    fn an_owed_job_queued_behind_a_busy_pool_gets_a_thread_of_its_own() {
        let pool = Pool::new(1, Duration::from_secs(60));
        let (stuck, release) = running_until_released(&pool);
        let (done, finished) = std::sync::mpsc::channel();
        pool.spawn(move || done.send(()).unwrap()).detach();
        assert!(
            pool.wait_for_detached(Some(Instant::now() + Duration::from_secs(20))),
            "the owed job waited behind the busy thread"
        );
        finished.recv().unwrap();
        assert_eq!(pool.threads(), 2, "one beyond the cap, for the queue");
        drop(release);
        drop(stuck);
    }

    #[test]
    fn a_result_that_panics_when_dropped_leaves_the_pool_working() {
        struct PanicsOnDrop;
        impl Drop for PanicsOnDrop {
            fn drop(&mut self) {
                panic!("the result's destructor panicked");
            }
        }
        let pool = Pool::new(1, Duration::from_secs(60));
        let (release, released) = std::sync::mpsc::channel::<()>();
        let job = pool.spawn(move || {
            released.recv().unwrap();
            PanicsOnDrop
        });
        job.detach();
        release.send(()).unwrap();
        assert!(
            pool.wait_for_detached(Some(Instant::now() + Duration::from_secs(30))),
            "the job is still owed: its thread died dropping the result"
        );
        let (done, finished) = std::sync::mpsc::channel();
        pool.spawn(move || done.send(()).unwrap()).detach();
        finished
            .recv_timeout(Duration::from_secs(30))
            .expect("the pool's one thread still runs jobs");
    }

    #[test]
    fn jobs_beyond_the_cap_wait_for_a_thread_and_all_run() {
        let pool = Pool::new(2, Duration::from_secs(60));
        let (done, finished) = std::sync::mpsc::channel();
        let jobs: Vec<_> = (0..50)
            .map(|i| {
                let done = done.clone();
                pool.spawn(move || {
                    std::thread::sleep(Duration::from_millis(1));
                    done.send(i).unwrap();
                })
            })
            .collect();
        let mut seen: Vec<i32> = (0..50).map(|_| finished.recv().unwrap()).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..50).collect::<Vec<_>>());
        assert_eq!(pool.threads(), 2);
        drop(jobs);
    }
}
