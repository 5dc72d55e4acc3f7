//! [`Builder`]: the runtime's settings, with the defaults `Runtime::new` uses.

use std::io;
use std::time::Duration;

use minireactor_reactor::{Reactor, DEFAULT_EVENT_CAPACITY};

use crate::scheduler::{Config, Scheduler};
use crate::Runtime;

/// How many run-queue entries a pass polls before turning the reactor, unless configured.
pub const DEFAULT_TASK_BATCH: usize = 128;

/// Configures and builds a [`Runtime`].
///
/// ```
/// use std::time::Duration;
///
/// let runtime = minireactor::Builder::new()
///     .max_blocking_threads(4)
///     .blocking_idle_timeout(Duration::from_secs(2))
///     .build()?;
/// let n = runtime.block_on(runtime.spawn_blocking(|| 7)).unwrap();
/// assert_eq!(n, 7);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Builder {
    max_blocking_threads: usize,
    blocking_idle_timeout: Duration,
    event_capacity: usize,
    task_batch: usize,
}

impl Builder {
    /// The defaults: 64 blocking threads at most, each exiting after 10 s idle; 1024 events per
    /// reactor turn; 128 run-queue entries polled per pass.
    pub fn new() -> Builder {
        Builder {
            max_blocking_threads: minireactor_blocking::DEFAULT_MAX_THREADS,
            blocking_idle_timeout: minireactor_blocking::DEFAULT_IDLE_TIMEOUT,
            event_capacity: DEFAULT_EVENT_CAPACITY,
            task_batch: DEFAULT_TASK_BATCH,
        }
    }

    /// The most threads the blocking pool starts (at least 1).
    pub fn max_blocking_threads(&mut self, threads: usize) -> &mut Builder {
        self.max_blocking_threads = threads;
        self
    }

    /// How long a blocking thread waits for work before it exits.
    pub fn blocking_idle_timeout(&mut self, timeout: Duration) -> &mut Builder {
        self.blocking_idle_timeout = timeout;
        self
    }

    /// How many events one reactor turn can receive (at least 1). The reactor belongs to the
    /// thread, so this applies to every runtime of the thread.
    pub fn event_capacity(&mut self, events: usize) -> &mut Builder {
        self.event_capacity = events;
        self
    }

    /// How many tasks (and polls of the `block_on` future) one pass runs before the reactor is
    /// turned again (at least 1). Smaller: fairer to I/O; larger: fewer turns under load.
    pub fn task_batch(&mut self, entries: usize) -> &mut Builder {
        self.task_batch = entries;
        self
    }

    /// Builds the runtime on this thread.
    ///
    /// # Errors
    /// `InvalidInput` if a count is zero; otherwise the error of creating the thread's reactor
    /// (its epoll instance or eventfd, e.g. out of file descriptors).
    pub fn build(&self) -> io::Result<Runtime> {
        for (name, value) in [
            ("max_blocking_threads", self.max_blocking_threads),
            ("event_capacity", self.event_capacity),
            ("task_batch", self.task_batch),
        ] {
            if value == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("minireactor: Builder::{name} must be at least 1"),
                ));
            }
        }
        Reactor::current()?.set_event_capacity(self.event_capacity);
        let scheduler = Scheduler::new(Config {
            batch: self.task_batch,
            pool: minireactor_blocking::Pool::new(
                self.max_blocking_threads,
                self.blocking_idle_timeout,
            ),
        })?;
        Ok(Runtime::from_scheduler(scheduler))
    }
}

impl Default for Builder {
    fn default() -> Builder {
        Builder::new()
    }
}
