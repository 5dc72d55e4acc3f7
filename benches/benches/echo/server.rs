//! The echo servers as child processes: building them, starting one pinned to a CPU (maybe
//! under strace or callgrind), reading its CPU time and peak memory, and stopping it.
//!
//! minireactor's server is an example of the root package, the baselines are bins of this one;
//! each is built with its own `cargo build --release -p PACKAGE`, the command a user would run.

use std::ffi::OsString;
use std::fs;
use std::net::{SocketAddr, TcpListener};
use std::os::unix::process::{CommandExt as _, ExitStatusExt as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use minireactor_benches::callgrind;
use minireactor_benches::dirs::{profile_dir, workspace_dir};

use crate::sys;

/// One echo server of the comparison.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    /// Its name in tables and options.
    pub name: &'static str,
    /// The workspace package it belongs to.
    pub package: &'static str,
    /// The target of `package` that builds it.
    pub target: Target,
}

/// A binary target of a package.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `examples/NAME.rs`, built into `<profile>/examples/NAME`.
    Example(&'static str),
    /// `src/bin/NAME.rs`, built into `<profile>/NAME`.
    Bin(&'static str),
}

/// All servers, in the order they take turns and appear in tables.
pub const ALL: [Kind; 3] = [
    Kind {
        name: "minireactor",
        package: "minireactor",
        target: Target::Example("echo"),
    },
    Kind {
        name: "tokio",
        package: "minireactor-benches",
        target: Target::Bin("tokio_echo"),
    },
    Kind {
        name: "raw",
        package: "minireactor-benches",
        target: Target::Bin("raw_echo"),
    },
];

impl Kind {
    /// The arguments of `cargo build --release` that build this server and nothing else.
    pub fn cargo_args(&self) -> [&'static str; 4] {
        match self.target {
            Target::Example(name) => ["-p", self.package, "--example", name],
            Target::Bin(name) => ["-p", self.package, "--bin", name],
        }
    }

    /// Where `cargo build --release` puts the binary, under the profile directory `profile`.
    pub fn binary_in(&self, profile: &Path) -> PathBuf {
        match self.target {
            Target::Example(name) => profile.join("examples").join(name),
            Target::Bin(name) => profile.join(name),
        }
    }
}

/// A server ready to run.
#[derive(Clone)]
pub struct Built {
    pub kind: Kind,
    pub bin: PathBuf,
}

/// `cargo build --release ARGS` in the workspace, with the `cargo` that runs this bench.
pub fn cargo_build(args: &[&str]) -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command
        .args(["build", "--release"])
        .args(args)
        .current_dir(workspace_dir());
    command
}

/// Builds the release binaries of `wanted`, each on its own, as a user would: building them
/// together would unify their dependencies' features.
pub fn build(wanted: &[Kind]) -> Result<Vec<Built>, String> {
    let profile = profile_dir()?;
    let mut built = Vec::new();
    for kind in wanted {
        let args = kind.cargo_args();
        eprintln!(
            "building {}: cargo build --release {}",
            kind.name,
            args.join(" ")
        );
        let status = cargo_build(&args)
            .status()
            .map_err(|e| format!("running cargo: {e}"))?;
        if !status.success() {
            return Err(format!("{} failed to build (see above)", kind.name));
        }
        let bin = kind.binary_in(&profile);
        if !bin.exists() {
            return Err(format!(
                "cargo built {} but {} is missing",
                kind.name,
                bin.display()
            ));
        }
        built.push(Built { kind: *kind, bin });
    }
    Ok(built)
}

/// How a server runs.
pub enum Wrap {
    Plain,
    /// Under `strace -f -c`, the summary written to this file.
    Strace(PathBuf),
    /// Under `valgrind --tool=callgrind`, the profile written to this file.
    Callgrind(PathBuf),
}

impl Wrap {
    /// The command line in front of the server's.
    fn prefix(&self) -> Vec<OsString> {
        let mut words: Vec<OsString> = Vec::new();
        match self {
            Wrap::Plain => {}
            Wrap::Strace(out) => {
                words.extend(["strace", "-f", "-c", "-o"].map(OsString::from));
                words.push(out.into());
                words.push("--".into());
            }
            Wrap::Callgrind(out) => words.extend(callgrind::command_prefix(out)),
        }
        words
    }

    /// How long the server may take to print `listening on`.
    fn startup(&self) -> Duration {
        match self {
            Wrap::Plain | Wrap::Strace(_) => Duration::from_secs(10),
            Wrap::Callgrind(_) => Duration::from_secs(60),
        }
    }
}

/// A running server. Dropping it kills the server, so that an error or a panic in the bench
/// leaves no process behind; [`Running::stop`] is the clean way.
pub struct Running {
    name: &'static str,
    child: Option<Child>,
    /// The server's own process: the child, or under strace, the child's child.
    pid: u32,
    pub addr: SocketAddr,
    stderr: PathBuf,
}

impl Running {
    /// Starts `server` on a free port of 127.0.0.1, pinned to `cpu`, and waits until it says
    /// `listening on`. `work` holds its stdout and stderr.
    pub fn start(server: &Built, wrap: &Wrap, cpu: usize, work: &Path) -> Result<Self, String> {
        let name = server.kind.name;
        let addr = free_port()?;
        let stdout = work.join(format!("{name}.stdout"));
        let stderr = work.join(format!("{name}.stderr"));
        let create = |path: &Path| {
            fs::File::create(path).map_err(|e| format!("creating {}: {e}", path.display()))
        };
        let mut words = wrap.prefix();
        words.push(server.bin.clone().into());
        words.push(addr.to_string().into());
        let mut command = Command::new(&words[0]);
        command
            .args(&words[1..])
            .stdin(Stdio::null())
            .stdout(create(&stdout)?)
            .stderr(create(&stderr)?);
        // SAFETY: the closure runs between fork and exec, where only async-signal-safe calls
        // are allowed; `pin_to_cpu` makes one syscall and allocates nothing.
        unsafe { command.pre_exec(move || sys::pin_to_cpu(cpu)) };
        let child = command.spawn().map_err(|e| {
            let hint = match wrap {
                Wrap::Plain => String::new(),
                Wrap::Strace(_) => " (install it: apt-get install -y strace)".to_owned(),
                Wrap::Callgrind(_) => format!(" ({})", callgrind::INSTALL_HINT),
            };
            format!("starting {}: {e}{hint}", words[0].to_string_lossy())
        })?;
        let mut running = Running {
            name,
            pid: child.id(),
            child: Some(child),
            addr,
            stderr,
        };
        running.wait_listening(&stdout, wrap.startup())?;
        if let Wrap::Strace(_) = wrap {
            running.pid = only_child_of(running.pid)?;
        }
        Ok(running)
    }

    /// The server's process id, for `/proc` and signals.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    fn wait_listening(&mut self, stdout: &Path, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            let text = fs::read_to_string(stdout).unwrap_or_default();
            if text.lines().any(|line| line.starts_with("listening on")) {
                return Ok(());
            }
            if let Some(status) = self.child_mut().try_wait().ok().flatten() {
                return Err(self.failure(&format!("exited ({status}) before listening")));
            }
            if Instant::now() > deadline {
                return Err(self.failure(&format!("printed no `listening on` within {timeout:?}")));
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stops the server with SIGTERM and waits for it (and its wrapper) to exit. Exiting with
    /// success or by the SIGTERM itself are both clean.
    pub fn stop(mut self) -> Result<(), String> {
        sys::kill(self.pid, libc::SIGTERM).map_err(|e| format!("signalling {}: {e}", self.name))?;
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            match self.child_mut().try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
                Ok(None) => return Err(self.failure("did not exit within 60 s of SIGTERM")),
                Err(e) => return Err(format!("waiting for {}: {e}", self.name)),
            }
        };
        self.child = None;
        if status.success() || status.signal() == Some(libc::SIGTERM) {
            Ok(())
        } else {
            Err(self.failure(&format!("ended badly ({status})")))
        }
    }

    fn child_mut(&mut self) -> &mut Child {
        self.child
            .as_mut()
            .expect("the child is only taken by stop")
    }

    /// An error message for the server, with what it wrote to stderr.
    fn failure(&self, what: &str) -> String {
        let stderr = fs::read_to_string(&self.stderr).unwrap_or_default();
        let stderr = stderr.trim();
        if stderr.is_empty() {
            format!("{} {what}; its stderr is empty", self.name)
        } else {
            format!("{} {what}; its stderr:\n{stderr}", self.name)
        }
    }

    /// The server's peak resident set (VmHWM), in KiB.
    pub fn peak_rss_kib(&self) -> Result<u64, String> {
        let path = format!("/proc/{}/status", self.pid);
        let text = fs::read_to_string(&path).map_err(|e| format!("reading {path}: {e}"))?;
        text.lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| format!("no VmHWM in {path}"))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // The server first: under strace, killing the tracer alone would leave it running.
            let _ = sys::kill(self.pid, libc::SIGKILL);
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// CPU time of a process, in clock ticks.
#[derive(Clone, Copy)]
pub struct CpuTimes {
    pub user: u64,
    pub system: u64,
}

/// The CPU times of process `pid`: fields 14 and 15 of `/proc/PID/stat`, counted after the
/// parenthesised command name, which may hold spaces.
pub fn cpu_times(pid: u32) -> Result<CpuTimes, String> {
    let path = format!("/proc/{pid}/stat");
    let text = fs::read_to_string(&path).map_err(|e| format!("reading {path}: {e}"))?;
    let after_name = text.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok());
    match (field(14), field(15)) {
        (Some(user), Some(system)) => Ok(CpuTimes { user, system }),
        _ => Err(format!("unexpected contents of {path}")),
    }
}

/// The user time (user + nice) of all processes on all CPUs, in clock ticks, from the first
/// line of `/proc/stat`.
pub fn all_user_ticks() -> Result<u64, String> {
    let text = fs::read_to_string("/proc/stat").map_err(|e| format!("reading /proc/stat: {e}"))?;
    let fields: Vec<u64> = text
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    match fields[..] {
        [user, nice, ..] => Ok(user + nice),
        _ => Err("unexpected contents of /proc/stat".to_owned()),
    }
}

/// A port of 127.0.0.1 that was free a moment ago (the servers set `SO_REUSEADDR`).
fn free_port() -> Result<SocketAddr, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map_err(|e| format!("finding a free port: {e}"))
}

/// The single child process of `parent` (the server started by strace).
fn only_child_of(parent: u32) -> Result<u32, String> {
    let path = format!("/proc/{parent}/task/{parent}/children");
    let text = fs::read_to_string(&path).map_err(|e| format!("reading {path}: {e}"))?;
    match text.split_whitespace().collect::<Vec<_>>()[..] {
        [child] => child.parse().map_err(|e| format!("{path}: {e}")),
        _ => Err(format!(
            "expected one child process in {path}, found {text:?}"
        )),
    }
}
