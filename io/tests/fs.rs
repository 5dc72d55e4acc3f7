//! `minireactor_io::fs`: the one-shot path operations and `File`, whose every operation runs on
//! the blocking pool. What is pinned here: bytes come back exactly as written, errors name the
//! path, nothing read or written is lost when a future or the file is dropped mid-operation, and
//! the reactor thread keeps running while a file operation waits.

mod util;

use std::future::{poll_fn, Future};
use std::io::{self, Seek, SeekFrom};
use std::pin::{pin, Pin};
use std::sync::mpsc;
use std::task::Poll;
use std::time::{Duration, Instant};

use futures_io::{AsyncRead, AsyncSeek, AsyncWrite};
use minireactor_io::fs::{self, File, OpenOptions};
use util::{on_thread_with_watchdog, pattern, run_with_watchdog, ScratchDir};

const WATCHDOG: Duration = Duration::from_secs(60);

/// Reads `reader` to its end through the futures-io trait.
async fn read_to_end<R: AsyncRead + Unpin>(reader: &mut R) -> io::Result<Vec<u8>> {
    let mut all = Vec::new();
    let mut chunk = vec![0; 64 * 1024];
    loop {
        let n = poll_fn(|cx| Pin::new(&mut *reader).poll_read(cx, &mut chunk)).await?;
        if n == 0 {
            return Ok(all);
        }
        all.extend_from_slice(&chunk[..n]);
    }
}

/// Copies `reader` to `writer` through the futures-io traits, `chunk` bytes at a time, then
/// closes the writer (which flushes it); returns how many bytes were copied.
async fn copy<R, W>(reader: &mut R, writer: &mut W, chunk: usize) -> io::Result<u64>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buf = vec![0; chunk];
    let mut copied = 0;
    loop {
        let n = poll_fn(|cx| Pin::new(&mut *reader).poll_read(cx, &mut buf)).await?;
        if n == 0 {
            break;
        }
        let mut pending = &buf[..n];
        while !pending.is_empty() {
            let written = poll_fn(|cx| Pin::new(&mut *writer).poll_write(cx, pending)).await?;
            assert!(written > 0, "a write took nothing");
            pending = &pending[written..];
        }
        copied += n as u64;
    }
    poll_fn(|cx| Pin::new(&mut *writer).poll_close(cx)).await?;
    Ok(copied)
}

/// Polls `future` once and drops it: a future abandoned mid-operation, as by a timeout or a
/// `select`. Returns its output if that one poll finished it.
async fn poll_once_then_drop<F: Future>(future: F) -> Option<F::Output> {
    let mut future = pin!(future);
    match poll_fn(|cx| Poll::Ready(future.as_mut().poll(cx))).await {
        Poll::Ready(output) => Some(output),
        Poll::Pending => None,
    }
}

/// Opens `path` with `options` and leaves a read of `len` bytes in flight, its future dropped:
/// the state every "dropped read" test starts from. A warm pool thread sometimes finishes the
/// read within the one poll, which would test nothing; then it tries again with a fresh file.
async fn open_with_abandoned_read(
    options: &OpenOptions,
    path: &std::path::Path,
    len: usize,
) -> File {
    for _ in 0..1000 {
        let mut file = options.open(path).await.unwrap();
        let mut buf = vec![0; len];
        if poll_once_then_drop(file.read(&mut buf)).await.is_none() {
            return file;
        }
    }
    panic!("every read finished within its first poll");
}

#[test]
fn write_then_read_back() {
    let dir = ScratchDir::new("write-read");
    run_with_watchdog(WATCHDOG, async {
        let path = dir.join("data");
        let data = pattern(300_000, 1);
        fs::write(&path, &data).await.unwrap();
        assert!(fs::read(&path).await.unwrap() == data);

        // The same through `File`, in pieces larger and smaller than the pool's 2 MiB buffer.
        let mut file = File::create(&path).await.unwrap();
        let big = pattern(5 * 1024 * 1024 + 3, 2);
        file.write_all(&big).await.unwrap();
        file.flush().await.unwrap();
        assert!(std::fs::read(&path).unwrap() == big);
        let mut file = File::open(&path).await.unwrap();
        assert!(read_to_end(&mut file).await.unwrap() == big);
    });
}

#[test]
fn read_to_string_reads_utf8_and_refuses_invalid_utf8() {
    let dir = ScratchDir::new("read-to-string");
    run_with_watchdog(WATCHDOG, async {
        let path = dir.join("text");
        fs::write(&path, "grüße\n").await.unwrap();
        assert_eq!(fs::read_to_string(&path).await.unwrap(), "grüße\n");

        fs::write(&path, [0xff, 0xfe]).await.unwrap();
        let err = fs::read_to_string(&path).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
    });
}

#[test]
fn metadata_reports_length_and_kind() {
    let dir = ScratchDir::new("metadata");
    run_with_watchdog(WATCHDOG, async {
        let path = dir.join("file");
        fs::write(&path, [7u8; 1234]).await.unwrap();
        let metadata = fs::metadata(&path).await.unwrap();
        assert_eq!(metadata.len(), 1234);
        assert!(metadata.is_file());
        assert!(fs::metadata(dir.path()).await.unwrap().is_dir());

        let mut file = File::open(&path).await.unwrap();
        let metadata = file.metadata().await.unwrap();
        assert_eq!(metadata.len(), 1234);
        assert!(metadata.is_file());
    });
}

#[test]
fn create_dir_all_creates_nested_directories_and_accepts_existing_ones() {
    let dir = ScratchDir::new("create-dir-all");
    run_with_watchdog(WATCHDOG, async {
        let nested = dir.path().join("a/b/c/d");
        fs::create_dir_all(&nested).await.unwrap();
        assert!(std::fs::metadata(&nested).unwrap().is_dir());
        fs::create_dir_all(&nested).await.unwrap(); // Already there: not an error.

        // A file in the way is.
        fs::write(dir.join("file"), b"").await.unwrap();
        let err = fs::create_dir_all(dir.path().join("file/sub"))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("file/sub"), "{err}");
    });
}

#[test]
fn remove_file_removes_the_file() {
    let dir = ScratchDir::new("remove-file");
    run_with_watchdog(WATCHDOG, async {
        let path = dir.join("doomed");
        fs::write(&path, b"x").await.unwrap();
        fs::remove_file(&path).await.unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
    });
}

#[test]
fn a_missing_file_is_not_found_and_named_in_the_error() {
    let dir = ScratchDir::new("missing");
    let missing = dir.join("no-such-file");
    run_with_watchdog(WATCHDOG, async {
        let errors = [
            fs::read(&missing).await.unwrap_err(),
            fs::read_to_string(&missing).await.unwrap_err(),
            fs::metadata(&missing).await.unwrap_err(),
            fs::remove_file(&missing).await.unwrap_err(),
            File::open(&missing).await.unwrap_err(),
            OpenOptions::new()
                .write(true)
                .open(&missing)
                .await
                .unwrap_err(),
            fs::write(dir.path().join("no-dir/file"), b"x")
                .await
                .unwrap_err(),
        ];
        for err in errors {
            assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
            assert!(
                err.to_string().contains(dir.path().to_str().unwrap()),
                "{err}"
            );
            // The OS error is still there, as the source.
            let source = std::error::Error::source(&err)
                .and_then(|source| source.downcast_ref::<io::Error>())
                .unwrap_or_else(|| panic!("no io::Error source in {err:?}"));
            assert_eq!(source.raw_os_error(), Some(libc::ENOENT));
        }
    });
}

/// 64 MiB through two `File`s and the futures-io traits, checked byte for byte. The elapsed time
/// is printed (`--nocapture`) for the record; it is not asserted.
#[test]
fn a_64_mib_file_copied_through_file_is_byte_exact() {
    const LEN: usize = 64 * 1024 * 1024;
    let dir = ScratchDir::new("copy-64mib");
    let (from, to) = (dir.join("from"), dir.join("to"));
    let data = pattern(LEN, 3);
    std::fs::write(&from, &data).unwrap();
    let started = Instant::now();
    run_with_watchdog(Duration::from_secs(120), async {
        let mut reader = File::open(&from).await.unwrap();
        let mut writer = File::create(&to).await.unwrap();
        let copied = copy(&mut reader, &mut writer, 1024 * 1024).await.unwrap();
        assert_eq!(copied, LEN as u64);
    });
    eprintln!("64 MiB copied through File in {:?}", started.elapsed());
    let copy = std::fs::read(&to).unwrap();
    assert_eq!(copy.len(), LEN);
    assert!(copy == data, "the copy differs from the original");
}

#[test]
fn seek_then_read() {
    let dir = ScratchDir::new("seek");
    run_with_watchdog(WATCHDOG, async {
        let path = dir.join("digits");
        fs::write(&path, b"0123456789").await.unwrap();
        let mut file = File::open(&path).await.unwrap();
        let mut buf = [0; 4];

        assert_eq!(file.seek(SeekFrom::Start(3)).await.unwrap(), 3);
        assert_eq!(file.read(&mut buf).await.unwrap(), 4);
        assert_eq!(&buf, b"3456");
        assert_eq!(file.seek(SeekFrom::Current(-2)).await.unwrap(), 5);
        assert_eq!(file.read(&mut buf).await.unwrap(), 4);
        assert_eq!(&buf, b"5678");
        assert_eq!(file.seek(SeekFrom::End(-1)).await.unwrap(), 9);
        assert_eq!(file.read(&mut buf).await.unwrap(), 1);
        assert_eq!(buf[0], b'9');
        assert_eq!(file.read(&mut buf).await.unwrap(), 0);

        // Through the trait, and an invalid seek is an error that leaves the file usable.
        let start = poll_fn(|cx| Pin::new(&mut file).poll_seek(cx, SeekFrom::Start(1))).await;
        assert_eq!(start.unwrap(), 1);
        let err = file.seek(SeekFrom::Current(-5)).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
        assert_eq!(file.read(&mut buf).await.unwrap(), 4);
        assert_eq!(&buf, b"1234");
    });
}

/// The read of a dropped future finishes on the pool; its bytes are what the next reads return,
/// and the position counts only what the reader took.
#[test]
fn a_dropped_read_future_leaves_its_bytes_for_the_next_read() {
    let dir = ScratchDir::new("dropped-read");
    let path = dir.join("letters");
    std::fs::write(&path, b"abcdefghijklmnop").unwrap();
    run_with_watchdog(WATCHDOG, async {
        let mut file = open_with_abandoned_read(File::options().read(true), &path, 8).await;
        let mut three = [0; 3];
        assert_eq!(file.read(&mut three).await.unwrap(), 3);
        assert_eq!(&three, b"abc");
        // Five bytes of the abandoned read are not taken yet: the position is the reader's.
        assert_eq!(file.seek(SeekFrom::Current(0)).await.unwrap(), 3);
        assert_eq!(read_to_end(&mut file).await.unwrap(), b"defghijklmnop");
    });
}

/// Reads of random sizes, a third of them abandoned after one poll, interleaved with position
/// checks: every byte comes back exactly once, in order.
#[test]
fn reads_with_dropped_futures_interleaved_return_every_byte_once() {
    let dir = ScratchDir::new("dropped-reads");
    let data = pattern(3 * 1024 * 1024, 4);
    std::fs::write(dir.join("data"), &data).unwrap();
    run_with_watchdog(WATCHDOG, async {
        let mut file = File::open(dir.join("data")).await.unwrap();
        let mut random = pattern(4096, 5).into_iter().cycle();
        let mut taken = Vec::new();
        let mut buf = vec![0; 256 * 97];
        let mut abandoned = 0;
        loop {
            let len = 1 + usize::from(random.next().unwrap()) * 97;
            let roll = random.next().unwrap() % 6;
            let n = if roll < 2 {
                match poll_once_then_drop(file.read(&mut buf[..len])).await {
                    Some(result) => result.unwrap(),
                    None => {
                        abandoned += 1;
                        continue;
                    }
                }
            } else {
                let n = file.read(&mut buf[..len]).await.unwrap();
                if n == 0 {
                    break;
                }
                n
            };
            taken.extend_from_slice(&buf[..n]);
            if roll == 5 {
                let position = file.seek(SeekFrom::Current(0)).await.unwrap();
                assert_eq!(position, taken.len() as u64);
            }
        }
        assert_eq!(taken.len(), data.len());
        assert!(taken == data, "bytes lost, repeated or reordered");
        // The test means something only if reads were really abandoned in flight.
        assert!(
            abandoned > 10,
            "only {abandoned} reads were abandoned in flight"
        );
    });
}

/// A write after a read whose bytes were not all taken lands where the reader is.
#[test]
fn a_write_after_unread_bytes_lands_at_the_reader_position() {
    let dir = ScratchDir::new("write-after-read");
    let path = dir.join("letters");
    std::fs::write(&path, b"abcdefghij").unwrap();
    run_with_watchdog(WATCHDOG, async {
        let options = File::options().read(true).write(true).clone();
        let mut file = open_with_abandoned_read(&options, &path, 8).await;
        let mut three = [0; 3];
        assert_eq!(file.read(&mut three).await.unwrap(), 3);
        assert_eq!(&three, b"abc");
        file.write_all(b"XY").await.unwrap();
        assert_eq!(file.seek(SeekFrom::Current(0)).await.unwrap(), 5);
        assert_eq!(read_to_end(&mut file).await.unwrap(), b"fghij");
        file.flush().await.unwrap();
    });
    assert_eq!(std::fs::read(&path).unwrap(), b"abcXYfghij");
}

#[test]
fn into_std_is_positioned_where_the_reader_is() {
    let dir = ScratchDir::new("into-std");
    let path = dir.join("letters");
    std::fs::write(&path, b"abcdefghij").unwrap();
    let mut std_file = run_with_watchdog(WATCHDOG, async {
        let mut file = open_with_abandoned_read(File::options().read(true), &path, 8).await;
        let mut two = [0; 2];
        assert_eq!(file.read(&mut two).await.unwrap(), 2);
        file.into_std().await.unwrap()
    });
    assert_eq!(std_file.stream_position().unwrap(), 2);
    let mut rest = Vec::new();
    io::Read::read_to_end(&mut std_file, &mut rest).unwrap();
    assert_eq!(rest, b"cdefghij");
}

/// Regression: a write is reported done once queued, and the pool cancels a job whose future is
/// dropped before it starts, so a file dropped right after its last write lost that write.
#[test]
fn a_write_queued_when_the_file_is_dropped_still_happens() {
    let dir = ScratchDir::new("dropped-file");
    let data = pattern(100_000, 6);
    run_with_watchdog(WATCHDOG, async {
        let paths: Vec<_> = (0..40).map(|i| dir.join(&format!("file-{i}"))).collect();
        for path in &paths {
            let mut file = File::create(path).await.unwrap();
            file.write_all(&data).await.unwrap();
            drop(file); // No flush: the write is probably still queued.
        }
        for path in &paths {
            // The write finishes on the pool after the drop; wait for it.
            while std::fs::read(path).unwrap() != data {
                minireactor::time::sleep(Duration::from_millis(5)).await;
            }
        }
    });
}

/// Regression: the write of a dropped file happened on the pool, but nothing waited for it, so
/// a program that returned from `main` right after lost it (half of its runs, in a review).
#[test]
fn dropping_the_runtime_waits_for_the_write_of_a_dropped_file() {
    const LEN: usize = 1 << 20; // Sixteen times the pipe's capacity.
    let (reader, writer) = std::io::pipe().unwrap();
    let received = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    // A slow reader: the write cannot finish before it starts reading.
    let drainer = std::thread::spawn({
        let received = received.clone();
        move || {
            std::thread::sleep(Duration::from_millis(200));
            let mut reader = reader;
            let mut chunk = vec![0; 65536];
            loop {
                match io::Read::read(&mut reader, &mut chunk).unwrap() {
                    0 => return,
                    n => received.fetch_add(n, std::sync::atomic::Ordering::SeqCst),
                };
            }
        }
    });
    on_thread_with_watchdog(WATCHDOG, move || {
        minireactor::block_on(async {
            let mut file = File::from_std(std::fs::File::from(std::os::fd::OwnedFd::from(writer)));
            file.write_all(&vec![1; LEN]).await.unwrap();
            // Dropped with the write queued or running, and not flushed.
        });
    });
    // The write is done, so all but what the pipe holds has been read.
    let at_drop = received.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        at_drop >= LEN / 2,
        "the runtime's drop returned before the write finished: {at_drop} of {LEN} bytes read"
    );
    drainer.join().unwrap();
    assert_eq!(received.load(std::sync::atomic::Ordering::SeqCst), LEN);
}

/// A read in flight when its file is dropped is given up: the runtime's drop does not wait for
/// input that may never come (a read of stdin, say).
#[test]
fn dropping_the_runtime_does_not_wait_for_the_read_of_a_dropped_file() {
    let (reader, writer) = std::io::pipe().unwrap();
    on_thread_with_watchdog(WATCHDOG, move || {
        minireactor::block_on(async {
            let mut file = File::from_std(std::fs::File::from(std::os::fd::OwnedFd::from(reader)));
            let mut buf = [0; 16];
            let mut read = pin!(file.read(&mut buf));
            let polled = poll_fn(|cx| Poll::Ready(read.as_mut().poll(cx).is_pending())).await;
            assert!(polled, "nothing was written");
        });
    });
    drop(writer); // Ends the read, which still blocks a pool thread.
}

/// Regression (a review): with every pool thread busy with a job that does not end (a read
/// given up, a long `spawn_blocking` closure), the write of a dropped file waited in the queue
/// behind it, and so did the runtime's drop.
#[test]
fn a_write_owed_behind_a_blocking_job_that_does_not_end_still_finishes() {
    let dir = ScratchDir::new("owed-behind-busy");
    let path = dir.join("written");
    let path_in_test = path.clone();
    let (release, released) = mpsc::channel::<()>();
    on_thread_with_watchdog(WATCHDOG, move || {
        let runtime = minireactor::Builder::new()
            .max_blocking_threads(1)
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut file = File::create(&path).await.unwrap();
            let (started, running) = mpsc::channel();
            let _busy = minireactor::spawn_blocking(move || {
                started.send(()).unwrap();
                let _ = released.recv(); // Holds the pool's one thread.
            });
            running.recv().unwrap();
            // Done once queued, behind the closure that holds the thread.
            file.write_all(b"owed").await.unwrap();
        });
        drop(runtime);
    });
    assert_eq!(std::fs::read(&path_in_test).unwrap(), b"owed");
    drop(release);
}

#[test]
fn a_failed_write_is_reported_by_the_next_operation() {
    let dir = ScratchDir::new("failed-write");
    let path = dir.join("read-only");
    std::fs::write(&path, b"contents").unwrap();
    run_with_watchdog(WATCHDOG, async {
        // /dev/full fails every write with ENOSPC; the write itself only queues.
        let mut full = OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .await
            .unwrap();
        full.write_all(b"into the void").await.unwrap();
        let err = full.flush().await.unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENOSPC), "{err}");
        full.flush().await.unwrap(); // Reported once.

        // A file opened for reading only: the write fails with EBADF, and the next operation,
        // a read here, returns that error before it reads.
        let mut file = File::open(&path).await.unwrap();
        assert_eq!(file.write(b"x").await.unwrap(), 1);
        let mut buf = [0; 8];
        let err = file.read(&mut buf).await.unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EBADF), "{err}");
        assert_eq!(file.read(&mut buf).await.unwrap(), 8);
        assert_eq!(&buf, b"contents");
    });
}

#[test]
fn set_len_and_sync_all() {
    let dir = ScratchDir::new("set-len");
    let path = dir.join("file");
    run_with_watchdog(WATCHDOG, async {
        let mut file = File::create(&path).await.unwrap();
        file.write_all(&[1u8; 100]).await.unwrap();
        file.set_len(10).await.unwrap(); // After the write: it waits for it.
        assert_eq!(file.metadata().await.unwrap().len(), 10);
        file.set_len(20).await.unwrap();
        assert_eq!(file.metadata().await.unwrap().len(), 20);
        file.sync_all().await.unwrap();
        file.sync_data().await.unwrap();
    });
    let mut expected = vec![1u8; 10];
    expected.resize(20, 0);
    assert_eq!(std::fs::read(&path).unwrap(), expected);
}

/// A file read waits on a pool thread, not on the reactor thread: an `interval` task keeps
/// ticking meanwhile. The read is of a FIFO whose writer opens it, and later finishes it, only
/// after the ticker has ticked, so with a read that blocked the reactor thread the test cannot
/// finish at all (and the watchdog fails it); no timing is measured.
#[test]
fn the_reactor_keeps_ticking_while_a_large_file_read_waits() {
    const HALF: usize = 4 * 1024 * 1024;
    let dir = ScratchDir::new("ticking");
    let fifo = dir.join("fifo");
    util::mkfifo(&fifo);
    let (ticked, ticks) = mpsc::channel::<()>();
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let data = pattern(2 * HALF, 7);
            ticks.recv().unwrap();
            let mut fifo = std::fs::OpenOptions::new().write(true).open(fifo).unwrap();
            io::Write::write_all(&mut fifo, &data[..HALF]).unwrap();
            ticks.recv().unwrap(); // So the read cannot end before the last tick.
            io::Write::write_all(&mut fifo, &data[HALF..]).unwrap();
        })
    };
    let read = on_thread_with_watchdog(Duration::from_secs(60), move || {
        minireactor::block_on(async move {
            let ticker = minireactor::spawn(async move {
                let mut interval = minireactor::time::interval(Duration::from_millis(10));
                for _ in 0..2 {
                    for _ in 0..5 {
                        interval.tick().await;
                    }
                    ticked.send(()).unwrap();
                }
            });
            let data = fs::read(&fifo).await.unwrap();
            ticker.await.unwrap();
            data
        })
    });
    writer.join().unwrap();
    assert!(read == pattern(2 * HALF, 7));
}
