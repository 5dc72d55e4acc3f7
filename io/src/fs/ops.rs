//! One-shot operations on a path: each is one `std::fs` call on the blocking pool.
//!
//! Dropping one of these futures before a pool thread has picked the call up cancels it; once
//! started, the call runs to the end and its result is dropped.

use std::fs::Metadata;
use std::io;
use std::path::{Path, PathBuf};

use minireactor_blocking::unblock;

use super::path_error::with_path;

/// Runs `op` on `path` on the pool; an error names `action` and the path.
pub(super) async fn on_path<T, F>(path: &Path, action: &'static str, op: F) -> io::Result<T>
where
    F: FnOnce(&Path) -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    let path: PathBuf = path.to_owned();
    unblock(move || op(&path).map_err(|err| with_path(err, action, &path))).await
}

/// Reads the whole file at `path`; the async [`std::fs::read`].
///
/// ```
/// minireactor::block_on(async {
///     let stat = minireactor_io::fs::read("/proc/self/stat").await?;
///     assert!(!stat.is_empty());
///     Ok::<_, std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// A missing file is an error of kind `NotFound` whose message names the path:
///
/// ```
/// minireactor::block_on(async {
///     let err = minireactor_io::fs::read("/no/such/file").await.unwrap_err();
///     assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
///     assert!(err.to_string().contains("/no/such/file"));
/// });
/// ```
pub async fn read(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    on_path(path.as_ref(), "read", |path| std::fs::read(path)).await
}

/// Reads the whole file at `path` as UTF-8; the async [`std::fs::read_to_string`]. Invalid
/// UTF-8 is an error of kind `InvalidData`.
///
/// ```
/// minireactor::block_on(async {
///     let status = minireactor_io::fs::read_to_string("/proc/self/status").await?;
///     assert!(status.starts_with("Name:"));
///     Ok::<_, std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn read_to_string(path: impl AsRef<Path>) -> io::Result<String> {
    on_path(path.as_ref(), "read", |path| std::fs::read_to_string(path)).await
}

/// Creates or truncates the file at `path` and writes `contents` to it; the async
/// [`std::fs::write`]. The bytes are copied, to be moved to the pool thread.
///
/// ```
/// minireactor::block_on(async {
///     let path = std::env::temp_dir().join(format!("minireactor-doc-write-{}", std::process::id()));
///     minireactor_io::fs::write(&path, "hello").await?;
///     assert_eq!(minireactor_io::fs::read_to_string(&path).await?, "hello");
///     minireactor_io::fs::remove_file(&path).await
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> io::Result<()> {
    let contents = contents.as_ref().to_owned();
    on_path(path.as_ref(), "write", move |path| {
        std::fs::write(path, contents)
    })
    .await
}

/// The metadata of the file at `path`, following symlinks; the async [`std::fs::metadata`].
///
/// ```
/// minireactor::block_on(async {
///     let metadata = minireactor_io::fs::metadata("/proc/self/stat").await?;
///     assert!(metadata.is_file());
///     Ok::<_, std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    on_path(path.as_ref(), "read the metadata of", |path| {
        std::fs::metadata(path)
    })
    .await
}

/// Creates the directory at `path` and any missing parents; the async
/// [`std::fs::create_dir_all`]. A directory that exists already is not an error.
///
/// ```
/// minireactor::block_on(async {
///     let top = std::env::temp_dir().join(format!("minireactor-doc-dirs-{}", std::process::id()));
///     minireactor_io::fs::create_dir_all(top.join("a/b/c")).await?;
///     assert!(minireactor_io::fs::metadata(top.join("a/b/c")).await?.is_dir());
///     std::fs::remove_dir_all(top)
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn create_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    on_path(path.as_ref(), "create the directory", |path| {
        std::fs::create_dir_all(path)
    })
    .await
}

/// Removes the file at `path`; the async [`std::fs::remove_file`].
///
/// ```
/// minireactor::block_on(async {
///     let path = std::env::temp_dir().join(format!("minireactor-doc-remove-{}", std::process::id()));
///     minireactor_io::fs::write(&path, b"").await?;
///     minireactor_io::fs::remove_file(&path).await?;
///     let gone = minireactor_io::fs::metadata(&path).await.unwrap_err();
///     assert_eq!(gone.kind(), std::io::ErrorKind::NotFound);
///     Ok::<_, std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn remove_file(path: impl AsRef<Path>) -> io::Result<()> {
    on_path(path.as_ref(), "remove", |path| std::fs::remove_file(path)).await
}
