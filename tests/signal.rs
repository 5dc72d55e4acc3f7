//! Awaiting signals. In this process: SIGUSR2, SIGHUP, SIGALRM and SIGPIPE only, never
//! SIGINT/SIGTERM, so the test run itself cannot be disturbed, and a test only drops its last
//! listener after receiving what it raised (an in-flight signal meeting the restored default
//! action would kill the test binary). Tests that install handlers of their own or restore a
//! default action run in a child process (this binary, re-executed).

mod util;

use std::future::Future;
use std::io;
use std::os::unix::process::ExitStatusExt;
use std::pin::pin;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::task::Poll;
use std::time::Duration;

use minireactor::signal::{ctrl_c, signal, SignalKind};
use minireactor::time::timeout;
use util::run_with_watchdog;

const WATCHDOG: Duration = Duration::from_secs(30);

/// Set in the child processes; says which test they are part of.
const CHILD_ENV: &str = "MINIREACTOR_SIGNAL_CHILD";

fn our_uid() -> u32 {
    // SAFETY: getuid has no preconditions.
    unsafe { libc::getuid() }
}

#[test]
fn every_listener_sees_a_delivery() {
    run_with_watchdog(WATCHDOG, async {
        let mut first = signal(SignalKind::user_defined2()).unwrap();
        let mut second = signal(SignalKind::user_defined2()).unwrap();
        let other_thread = std::thread::spawn(|| {
            minireactor::block_on(async {
                let mut third = signal(SignalKind::user_defined2()).unwrap();
                util::raise_in_process(libc::SIGUSR2);
                timeout(WATCHDOG, third.recv())
                    .await
                    .expect("third listener")
            })
        });
        for listener in [&mut first, &mut second] {
            let info = timeout(WATCHDOG, listener.recv())
                .await
                .expect("a listener on this thread")
                .expect("the stream does not end");
            assert_eq!(info.kind(), SignalKind::user_defined2());
            assert_eq!(info.sender_pid(), Some(std::process::id()));
        }
        let info = other_thread
            .join()
            .unwrap()
            .expect("the stream does not end");
        assert_eq!(info.sender_pid(), Some(std::process::id()));
    });
}

#[test]
fn a_listener_does_not_see_deliveries_from_before_it_existed() {
    run_with_watchdog(WATCHDOG, async {
        let mut early = signal(SignalKind::hangup()).unwrap();
        util::raise_in_process(libc::SIGHUP);
        let delivered = timeout(WATCHDOG, early.recv()).await.expect("delivered");
        assert!(delivered.is_some());
        let mut late = signal(SignalKind::hangup()).unwrap();
        let nothing = timeout(Duration::from_millis(50), late.recv()).await;
        assert!(
            nothing.is_err(),
            "saw a delivery from before it was created"
        );
        util::raise_in_process(libc::SIGHUP);
        let delivered = timeout(WATCHDOG, late.recv())
            .await
            .expect("a new delivery");
        assert!(delivered.is_some());
    });
}

#[test]
fn uncatchable_signals_are_refused() {
    run_with_watchdog(WATCHDOG, async {
        for raw in [libc::SIGKILL, libc::SIGSTOP, libc::SIGSEGV, 0, 65, -1] {
            let err = signal(SignalKind::from_raw(raw)).expect_err("must be refused");
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "signal {raw}");
        }
    });
}

#[test]
fn the_sender_pid_and_uid_are_reported() {
    run_with_watchdog(WATCHDOG, async {
        let mut usr2 = signal(SignalKind::user_defined2()).unwrap();
        util::raise_in_process(libc::SIGUSR2); // kill(getpid()): SI_USER.
        let info = timeout(WATCHDOG, usr2.recv()).await.unwrap().unwrap();
        assert_eq!(info.sender_pid(), Some(std::process::id()));
        assert_eq!(info.sender_uid(), Some(our_uid()));
    });
}

/// A listener that is not polled while the signal is delivered many times learns how many
/// deliveries it missed: the count is exact even where the details were overwritten.
#[test]
fn deliveries_a_listener_did_not_poll_for_are_all_counted() {
    const RAISED: u64 = 100; // More than the deliveries whose details are kept.
    run_with_watchdog(WATCHDOG, async {
        let mut alarms = signal(SignalKind::alarm()).unwrap();
        for _ in 0..RAISED {
            // Thread-directed and handled before raise returns: never merged by the kernel.
            util::raise_on_this_thread(libc::SIGALRM);
        }
        let first = timeout(WATCHDOG, alarms.recv()).await.unwrap().unwrap();
        assert!(
            first.deliveries() > 1,
            "the overwritten deliveries are folded into the first item"
        );
        let mut counted = first.deliveries();
        let mut items = 1;
        while counted < RAISED {
            let info = timeout(WATCHDOG, alarms.recv()).await.unwrap().unwrap();
            assert_eq!(info.sender_pid(), Some(std::process::id()), "details kept");
            counted += info.deliveries();
            items += 1;
        }
        assert_eq!(counted, RAISED, "counted a delivery twice");
        assert!(items > 1, "the recent deliveries keep their own items");
        let more = timeout(Duration::from_millis(50), alarms.recv()).await;
        assert!(more.is_err(), "a delivery that did not happen: {more:?}");
    });
}

/// SIGPIPE is ignored by Rust programs: it is ignored again once the last listener is gone.
#[test]
fn an_ignored_signal_is_ignored_again_after_the_last_listener() {
    assert_eq!(util::signal_disposition(libc::SIGPIPE), libc::SIG_IGN);
    run_with_watchdog(WATCHDOG, async {
        let mut pipe = signal(SignalKind::pipe()).unwrap();
        assert_ne!(util::signal_disposition(libc::SIGPIPE), libc::SIG_IGN);
        util::raise_on_this_thread(libc::SIGPIPE);
        assert!(timeout(WATCHDOG, pipe.recv()).await.unwrap().is_some());
    });
    assert_eq!(util::signal_disposition(libc::SIGPIPE), libc::SIG_IGN);
}

static PLAIN_HANDLER_CALLS: AtomicUsize = AtomicUsize::new(0);
static SIGINFO_HANDLER_CALLS: AtomicUsize = AtomicUsize::new(0);
static SIGINFO_HANDLER_SENDER: AtomicI32 = AtomicI32::new(0);

extern "C" fn count_plain(_: libc::c_int) {
    PLAIN_HANDLER_CALLS.fetch_add(1, Ordering::SeqCst);
}

extern "C" fn count_siginfo(_: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    SIGINFO_HANDLER_CALLS.fetch_add(1, Ordering::SeqCst);
    // SAFETY: installed with SA_SIGINFO, so `info` is the kernel's siginfo (raise: SI_TKILL).
    SIGINFO_HANDLER_SENDER.store(unsafe { (*info).si_pid() }, Ordering::SeqCst);
}

#[test]
fn a_listener_chains_to_the_handlers_installed_before_it() {
    util::assert_child_test_passes(
        "child_chains_to_the_previous_handlers",
        &[(CHILD_ENV, "chain")],
        WATCHDOG,
    );
}

#[test]
#[ignore = "entry point of the child process of a_listener_chains_to_the_handlers_installed_before_it"]
fn child_chains_to_the_previous_handlers() {
    util::assert_run_by_parent(CHILD_ENV);
    let plain = count_plain as extern "C" fn(libc::c_int) as libc::sighandler_t;
    let with_siginfo = count_siginfo
        as extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void)
        as libc::sighandler_t;
    util::install_handler(libc::SIGUSR1, plain, 0);
    util::install_handler(
        libc::SIGUSR2,
        with_siginfo,
        libc::SA_SIGINFO | libc::SA_RESTART,
    );

    run_with_watchdog(WATCHDOG, async {
        let mut usr1 = signal(SignalKind::user_defined1()).unwrap();
        let mut usr2 = signal(SignalKind::user_defined2()).unwrap();
        // Whether blocking calls restart after the signal stays the replaced handler's choice.
        let restarts = |signal| util::signal_action(signal).sa_flags & libc::SA_RESTART != 0;
        assert!(!restarts(libc::SIGUSR1), "SIGUSR1's handler wanted EINTR");
        assert!(
            restarts(libc::SIGUSR2),
            "SIGUSR2's handler wanted SA_RESTART"
        );
        util::raise_on_this_thread(libc::SIGUSR1);
        util::raise_on_this_thread(libc::SIGUSR2);
        // raise returns after the handlers ran: ours, then the chained one.
        assert_eq!(PLAIN_HANDLER_CALLS.load(Ordering::SeqCst), 1);
        assert_eq!(SIGINFO_HANDLER_CALLS.load(Ordering::SeqCst), 1);
        assert_eq!(
            SIGINFO_HANDLER_SENDER.load(Ordering::SeqCst) as u32,
            std::process::id(),
            "the chained handler gets the kernel's siginfo"
        );
        for listener in [&mut usr1, &mut usr2] {
            let info = timeout(WATCHDOG, listener.recv()).await.unwrap().unwrap();
            assert_eq!(info.sender_pid(), Some(std::process::id()));
        }
    });

    // The listeners are gone: the handlers are back, and the kernel calls them directly.
    assert_eq!(util::signal_disposition(libc::SIGUSR1), plain);
    assert_eq!(util::signal_disposition(libc::SIGUSR2), with_siginfo);
    util::raise_on_this_thread(libc::SIGUSR1);
    util::raise_on_this_thread(libc::SIGUSR2);
    assert_eq!(PLAIN_HANDLER_CALLS.load(Ordering::SeqCst), 2);
    assert_eq!(SIGINFO_HANDLER_CALLS.load(Ordering::SeqCst), 2);
}

/// Regression: the first listener of a signal counted deliveries from the end of its setup, but
/// its handler was installed at the start, so a delivery in between (a Ctrl-C while `ctrl_c()`
/// set up) ran our handler instead of the default action and was reported to nobody.
#[test]
fn a_delivery_while_the_first_listener_is_set_up_is_reported() {
    let child = util::run_ignored_test_in_child(
        "child_raises_while_its_first_listener_is_set_up",
        &[(CHILD_ENV, "1")],
        WATCHDOG,
    );
    assert!(
        child.status.success(),
        "{:?}\n{}",
        child.status,
        String::from_utf8_lossy(&child.stderr)
    );
}

#[test]
#[ignore = "entry point of the child process of a_delivery_while_the_first_listener_is_set_up_is_reported"]
fn child_raises_while_its_first_listener_is_set_up() {
    use tracing::field::{Field, Visit};

    /// A subscriber that raises SIGUSR1 from the event the registry logs once the handler is
    /// installed: inside the window, deterministically.
    struct RaiseOnInstall(std::sync::atomic::AtomicBool);
    struct IsInstall(bool);
    impl Visit for IsInstall {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            self.0 |=
                field.name() == "message" && format!("{value:?}") == "signal handler installed";
        }
    }
    impl tracing::Subscriber for RaiseOnInstall {
        fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
            tracing::span::Id::from_u64(1)
        }
        fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
        fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
        fn event(&self, event: &tracing::Event<'_>) {
            let mut install = IsInstall(false);
            event.record(&mut install);
            if install.0 {
                util::raise_on_this_thread(libc::SIGUSR1);
                self.0.store(true, Ordering::SeqCst);
            }
        }
        fn enter(&self, _: &tracing::span::Id) {}
        fn exit(&self, _: &tracing::span::Id) {}
    }

    std::env::var(CHILD_ENV).expect("run by the parent test only");
    let hook = std::sync::Arc::new(RaiseOnInstall(false.into()));
    let received = tracing::subscriber::with_default(hook.clone(), || {
        run_with_watchdog(WATCHDOG, async {
            let mut usr1 = signal(SignalKind::user_defined1()).unwrap();
            timeout(Duration::from_secs(5), usr1.recv()).await
        })
    });
    assert!(
        hook.0.load(Ordering::SeqCst),
        "the hook did not fire: has the registry's log message changed?"
    );
    assert!(
        received.is_ok(),
        "SIGUSR1 ran the listener's handler, but the listener never reported it"
    );
}

/// Regression (tokio-rs/tokio#7905): once the last listener is dropped, the default action is
/// back — a Ctrl-C or SIGTERM after the program stopped listening terminates it, instead of
/// being silently swallowed.
#[test]
fn default_disposition_is_restored_when_the_last_listener_drops() {
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGUSR1] {
        let child = util::run_ignored_test_in_child(
            "child_restores_the_default_disposition",
            &[(CHILD_ENV, &signal.to_string())],
            WATCHDOG,
        );
        assert_eq!(
            child.status.signal(),
            Some(signal),
            "the child should have died of signal {signal}: {:?}\n{}",
            child.status,
            String::from_utf8_lossy(&child.stderr)
        );
    }
}

#[test]
#[ignore = "entry point of the child process of default_disposition_is_restored_when_the_last_listener_drops"]
fn child_restores_the_default_disposition() {
    let signal_number: libc::c_int = std::env::var(CHILD_ENV)
        .expect("run by the parent test only")
        .parse()
        .unwrap();
    // Start from the default action, whatever was inherited: a shell runs a background job with
    // SIGINT ignored, and `.ci/run` started that way must pass too (the ignored case is
    // `an_ignored_signal_is_ignored_again_after_the_last_listener`).
    util::install_handler(signal_number, libc::SIG_DFL, 0);
    assert_eq!(util::signal_disposition(signal_number), libc::SIG_DFL);
    run_with_watchdog(WATCHDOG, async {
        if signal_number == libc::SIGINT {
            interrupt_through_ctrl_c().await;
        } else {
            listen_on_two_threads(SignalKind::from_raw(signal_number)).await;
        }
    });
    assert_eq!(util::signal_disposition(signal_number), libc::SIG_DFL);
    util::raise_on_this_thread(signal_number);
    panic!("survived signal {signal_number}: its default action was not restored");
}

async fn interrupt_through_ctrl_c() {
    let mut interrupted = pin!(ctrl_c());
    // The first poll creates the listener.
    std::future::poll_fn(|cx| {
        assert!(interrupted.as_mut().poll(cx).is_pending());
        Poll::Ready(())
    })
    .await;
    assert_ne!(util::signal_disposition(libc::SIGINT), libc::SIG_DFL);
    util::raise_on_this_thread(libc::SIGINT);
    timeout(WATCHDOG, interrupted).await.unwrap().unwrap();
}

/// A listener here and one on another thread; the handler stays until both are gone.
async fn listen_on_two_threads(kind: SignalKind) {
    let mut here = signal(kind).unwrap();
    let (listening, is_listening) = std::sync::mpsc::channel();
    let there = std::thread::spawn(move || {
        minireactor::block_on(async {
            let mut there = signal(kind).unwrap();
            listening.send(()).unwrap();
            timeout(WATCHDOG, there.recv()).await.unwrap().unwrap()
        })
    });
    is_listening.recv_timeout(WATCHDOG).unwrap();
    util::raise_on_this_thread(kind.as_raw());
    assert!(timeout(WATCHDOG, here.recv()).await.unwrap().is_some());
    let seen_there = there.join().unwrap();
    assert_eq!(seen_there.sender_pid(), Some(std::process::id()));
    assert_ne!(
        util::signal_disposition(kind.as_raw()),
        libc::SIG_DFL,
        "restored while a listener still exists"
    );
    drop(here);
}

#[test]
fn a_listener_inherited_across_fork_ends() {
    util::assert_child_test_passes(
        "child_forks_with_a_listener",
        &[(CHILD_ENV, "fork")],
        WATCHDOG,
    );
}

#[test]
#[ignore = "entry point of the child process of a_listener_inherited_across_fork_ends"]
fn child_forks_with_a_listener() {
    util::assert_run_by_parent(CHILD_ENV);
    let mut usr2 = signal(SignalKind::user_defined2()).unwrap();
    let code = util::fork_and_wait(move || {
        let ended = minireactor::block_on(timeout(WATCHDOG, usr2.recv()));
        i32::from(!matches!(ended, Ok(None)))
    });
    assert_eq!(code, 0, "the inherited listener did not end with None");
}
