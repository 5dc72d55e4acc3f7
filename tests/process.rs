//! Child processes. The `core_` tests run twice: here, where exits are watched through pidfds
//! (if the kernel has them), and in a child process (this binary, re-executed) with
//! `MINIREACTOR_FORCE_SIGCHLD_REAPER` set, where they are watched through SIGCHLD.

mod util;

use std::cell::Cell;
use std::collections::HashSet;
use std::future::poll_fn;
use std::io;
use std::os::unix::process::ExitStatusExt;
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;

use minireactor::process::{Command, Stdio};
use minireactor::signal::{signal, SignalKind};
use minireactor::time::{interval, sleep, timeout};
use util::run_with_watchdog;

const WATCHDOG: Duration = Duration::from_secs(60);

const FORCE_SIGCHLD: &str = "MINIREACTOR_FORCE_SIGCHLD_REAPER";

fn sigchld_forced() -> bool {
    std::env::var_os(FORCE_SIGCHLD).is_some()
}

/// Waits (in the runtime) until process `pid` no longer exists: it was reaped.
async fn until_reaped(pid: u32) {
    while util::process_exists(pid) {
        sleep(Duration::from_millis(5)).await;
    }
}

#[test]
fn core_echo_output_is_captured() {
    run_with_watchdog(WATCHDOG, async {
        let output = Command::new("echo").arg("hi").output().await.unwrap();
        assert!(output.status.success());
        assert_eq!(output.stdout, b"hi\n");
        assert_eq!(output.stderr, b"");

        let output = Command::new("sh")
            .args(["-c", "echo out; echo err >&2; exit 3"])
            .output()
            .await
            .unwrap();
        assert_eq!(output.status.code(), Some(3));
        assert_eq!(output.stdout, b"out\n");
        assert_eq!(output.stderr, b"err\n");
    });
}

/// 1 MiB through `cat`, written by one task and read by another at the same time (neither
/// side fits in a pipe buffer), closing stdin with `poll_close` while still holding it.
#[test]
fn core_cat_returns_a_mebibyte_byte_for_byte() {
    run_with_watchdog(WATCHDOG, async {
        let mut random = util::XorShift(0x9e37_79b9_7f4a_7c15);
        let sent: Vec<u8> = (0..1 << 20).map(|_| random.next_u64() as u8).collect();
        let mut child = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let to_send = sent.clone();
        let writer = minireactor::spawn(async move {
            stdin.write_all(&to_send).await.unwrap();
            poll_fn(|cx| futures_io::AsyncWrite::poll_close(Pin::new(&mut stdin), cx))
                .await
                .unwrap();
            stdin // Still alive: only poll_close can have told cat it is the end.
        });
        let mut received = Vec::new();
        stdout.read_to_end(&mut received).await.unwrap();
        let stdin = writer.await.unwrap();
        assert_eq!(
            stdin.write(b"late").await.unwrap_err().kind(),
            io::ErrorKind::NotConnected
        );
        assert!(child.wait().await.unwrap().success());
        assert_eq!(received.len(), sent.len());
        assert!(received == sent, "the bytes differ");
    });
}

#[test]
fn core_kill_on_drop_kills_and_reaps() {
    run_with_watchdog(WATCHDOG, async {
        let child = Command::new("sleep")
            .arg("1000")
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let pid = child.id().unwrap();
        drop(child);
        until_reaped(pid).await;
    });
}

/// Without `kill_on_drop`, a dropped child keeps running, and is reaped once it exits.
#[test]
fn core_a_dropped_child_keeps_running_and_is_reaped_when_it_exits() {
    run_with_watchdog(WATCHDOG, async {
        let mut child = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let pid = child.id().unwrap();
        drop(child);
        // Give a wrongful kill every chance to show.
        sleep(Duration::from_millis(50)).await;
        assert!(
            util::process_exists(pid) && !util::is_our_zombie(pid),
            "the dropped child must still be running"
        );
        drop(stdin); // cat reads end of file and exits.
        until_reaped(pid).await;
    });
}

/// An orphan that exits while nothing turns the reactor is still reaped: its thread takes a
/// last look at its orphans when it exits.
#[test]
fn core_orphans_that_exited_are_reaped_when_their_thread_exits() {
    let pid = std::thread::spawn(|| {
        minireactor::block_on(async {
            let mut child = Command::new("cat")
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .spawn()
                .unwrap();
            let pid = child.id().unwrap();
            drop(child.stdin.take());
            drop(child); // Not exited yet (or just): orphaned, or reaped right here.

            // Block the thread, so the reactor cannot reap it, until cat has exited.
            let limit = std::time::Instant::now() + WATCHDOG;
            while !util::is_our_zombie(pid) && util::process_exists(pid) {
                assert!(
                    std::time::Instant::now() < limit,
                    "watchdog: cat did not exit"
                );
                std::thread::sleep(Duration::from_millis(1));
            }
            pid
        })
    })
    .join()
    .unwrap();
    assert!(
        !util::process_exists(pid),
        "the exited orphan was left a zombie"
    );
}

#[test]
fn core_a_thousand_children_leave_no_zombie() {
    const BATCHES: usize = 10;
    const PER_BATCH: usize = 100;
    run_with_watchdog(WATCHDOG, async {
        let mut pids = Vec::new();
        for _ in 0..BATCHES {
            let batch: Vec<_> = (0..PER_BATCH)
                .map(|_| {
                    minireactor::spawn(async {
                        let mut child = Command::new("true").spawn().unwrap();
                        let pid = child.id().unwrap();
                        let status = child.wait().await.unwrap();
                        assert_eq!(child.id(), None, "a reaped child has no pid");
                        (pid, status)
                    })
                })
                .collect();
            for task in batch {
                let (pid, status) = task.await.unwrap();
                assert!(status.success());
                pids.push(pid);
            }
        }
        assert_eq!(
            pids.iter().collect::<HashSet<_>>().len(),
            BATCHES * PER_BATCH
        );
        let zombies: Vec<_> = pids
            .into_iter()
            .filter(|&pid| util::is_our_zombie(pid))
            .collect();
        assert!(zombies.is_empty(), "zombies left: {zombies:?}");
    });
}

#[test]
fn core_a_signalled_child_reports_its_signal() {
    run_with_watchdog(WATCHDOG, async {
        let status = Command::new("sh")
            .args(["-c", "kill -TERM $$"])
            .status()
            .await
            .unwrap();
        assert_eq!(status.signal(), Some(libc::SIGTERM));
        assert_eq!(status.code(), None);
    });
}

#[test]
fn core_try_wait_start_kill_and_wait() {
    run_with_watchdog(WATCHDOG, async {
        let mut child = Command::new("sleep").arg("1000").spawn().unwrap();
        assert!(child.try_wait().unwrap().is_none(), "sleep 1000 exited");
        child.start_kill().unwrap();
        let status = child.wait().await.unwrap();
        assert_eq!(status.signal(), Some(libc::SIGKILL));
        assert_eq!(
            child.try_wait().unwrap(),
            Some(status),
            "the status is kept"
        );
        assert_eq!(
            child.start_kill().unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );

        let mut child = Command::new("sleep").arg("1000").spawn().unwrap();
        child.kill().await.unwrap();
        assert_eq!(child.wait().await.unwrap().signal(), Some(libc::SIGKILL));
    });
}

#[test]
fn core_a_missing_program_is_an_error() {
    run_with_watchdog(WATCHDOG, async {
        let err = Command::new("/nonexistent/program").spawn().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    });
}

/// Waiting for a child never blocks the thread: an interval keeps ticking, and it is the
/// ticking task that lets the child finish (by closing its stdin after three ticks), so a
/// blocking wait would never return.
#[test]
fn core_an_interval_keeps_ticking_while_a_child_is_awaited() {
    run_with_watchdog(WATCHDOG, async {
        let mut child = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let ticks = Rc::new(Cell::new(0));
        let ticker = minireactor::spawn({
            let ticks = ticks.clone();
            async move {
                let mut every_10ms = interval(Duration::from_millis(10));
                loop {
                    every_10ms.tick().await;
                    ticks.set(ticks.get() + 1);
                    if ticks.get() == 3 {
                        drop(stdin);
                        break;
                    }
                }
            }
        });
        assert!(child.wait().await.unwrap().success());
        assert_eq!(ticks.get(), 3);
        ticker.await.unwrap();
    });
}

/// The child inherits none of the runtime's fds: epoll, eventfds (the unparker's and a signal
/// listener's), pidfds and the pipes of another child are all close-on-exec.
#[test]
fn core_children_inherit_no_runtime_fd() {
    run_with_watchdog(WATCHDOG, async {
        let _listener = signal(SignalKind::hangup()).unwrap();
        let _other = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let our_pipes = close_on_exec_pipes();
        assert!(
            our_pipes.len() >= 2,
            "the other child's pipes: {our_pipes:?}"
        );

        let listing = Command::new("ls")
            .args(["-l", "/proc/self/fd/"])
            .env("LC_ALL", "C")
            .output()
            .await
            .unwrap();
        assert!(listing.status.success());
        let listing = String::from_utf8(listing.stdout).unwrap();
        let targets: Vec<&str> = listing
            .lines()
            .filter_map(|line| line.split_once(" -> ").map(|(_, target)| target))
            .collect();
        assert!(targets.len() >= 3, "no fds listed: {listing}");
        for target in targets {
            let runtime_kind = [
                "anon_inode:[eventpoll]",
                "anon_inode:[eventfd]",
                "anon_inode:[pidfd]",
            ]
            .contains(&target)
                || target.starts_with("pidfd:");
            assert!(
                !runtime_kind && !our_pipes.contains(target),
                "the child inherited {target}:\n{listing}"
            );
        }
    });
}

/// What this process's close-on-exec pipe fds point to (`pipe:[inode]`), from /proc.
fn close_on_exec_pipes() -> HashSet<String> {
    const O_CLOEXEC_OCTAL: u32 = 0o2000000;
    let mut pipes = HashSet::new();
    for entry in std::fs::read_dir("/proc/self/fd").unwrap() {
        let fd = entry.unwrap().file_name();
        let Ok(target) = std::fs::read_link(format!("/proc/self/fd/{}", fd.to_string_lossy()))
        else {
            continue; // Closed meanwhile (the directory's own fd, or another test's).
        };
        let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.to_string_lossy()))
            .unwrap_or_default();
        let close_on_exec = info
            .lines()
            .find_map(|line| line.strip_prefix("flags:"))
            .and_then(|flags| u32::from_str_radix(flags.trim(), 8).ok())
            .is_some_and(|flags| flags & O_CLOEXEC_OCTAL != 0);
        let target = target.to_string_lossy().into_owned();
        if close_on_exec && target.starts_with("pipe:") {
            pipes.insert(target);
        }
    }
    pipes
}

/// The reaper the `core_` tests use is the one asked for: with the SIGCHLD fallback, a handler
/// is installed for SIGCHLD while a child is watched (and, in the single-threaded child run,
/// the default is back after); with pidfds, SIGCHLD is never touched.
#[test]
fn core_the_requested_reaper_is_used() {
    let fallback = sigchld_forced() || !util::pidfd_supported();
    run_with_watchdog(WATCHDOG, async {
        let mut child = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let watched = util::signal_disposition(libc::SIGCHLD);
        assert_eq!(
            watched != libc::SIG_DFL,
            fallback,
            "SIGCHLD disposition {watched:#x}"
        );
        assert!(child.wait().await.unwrap().success());
    });
    if sigchld_forced() {
        assert_eq!(util::signal_disposition(libc::SIGCHLD), libc::SIG_DFL);
    }
}

/// The `core_` tests again, with exits watched through SIGCHLD instead of pidfds.
#[test]
fn the_sigchld_fallback_passes_the_same_tests() {
    let child = util::rerun_this_binary(
        &["core_", "--test-threads=1"],
        &[(FORCE_SIGCHLD, "1")],
        WATCHDOG * 2,
    );
    let stdout = String::from_utf8_lossy(&child.stdout);
    assert!(
        child.status.success(),
        "the core tests failed with the SIGCHLD reaper:\n{stdout}\n{}",
        String::from_utf8_lossy(&child.stderr)
    );
    let passed = stdout
        .lines()
        .filter(|line| line.starts_with("test core_") && line.ends_with(" ok"))
        .count();
    assert!(passed >= 10, "only {passed} core tests ran:\n{stdout}");
}

/// A wait cancelled by a timeout loses nothing: waiting again gets the exit.
#[test]
fn core_a_cancelled_wait_loses_nothing() {
    run_with_watchdog(WATCHDOG, async {
        let mut child = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let early = timeout(Duration::from_millis(20), child.wait()).await;
        assert!(early.is_err(), "cat exited with its stdin open");
        drop(stdin);
        assert!(child.wait().await.unwrap().success());
    });
}
