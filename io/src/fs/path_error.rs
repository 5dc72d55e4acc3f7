//! Errors that name the path they are about: std's say "No such file or directory" and leave the
//! caller to guess which file.

use std::error::Error;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Wraps `source` in an error of the same kind whose message names `action` and `path`. The
/// original error (with its OS error code) stays reachable through [`Error::source`].
pub(crate) fn with_path(source: io::Error, action: &'static str, path: &Path) -> io::Error {
    io::Error::new(
        source.kind(),
        PathError {
            action,
            path: path.to_owned(),
            source,
        },
    )
}

#[derive(Debug)]
struct PathError {
    action: &'static str,
    path: PathBuf,
    source: io::Error,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "could not {} {}: {}",
            self.action,
            self.path.display(),
            self.source
        )
    }
}

impl Error for PathError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.source)
    }
}
