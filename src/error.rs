//! One error type for the library, split by who is to blame.

use std::fmt;

/// Every failure the library reports. `Display` gives one line for a user.
#[derive(Debug)]
pub enum Error {
    /// Reading or writing a file failed.
    Io {
        path: String,
        source: std::io::Error,
    },
    /// A `.scone` file breaks FORMAT.md: the file is to blame.
    Format(String),
    /// A value in the file or a request exceeds an implementation limit.
    LimitsExceeded(String),
    /// The caller asked for something impossible: the request is to blame.
    Parameter(String),
    /// An input signal (image, clip, mesh) could not be read.
    Input(String),
    /// Training failed.
    Train(String),
    /// The requested compute device is missing or failed.
    Device(String),
}

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { path, source } => write!(f, "{path}: {source}"),
            Error::Format(m) => write!(f, "invalid .scone file: {m}"),
            Error::LimitsExceeded(m) => write!(f, "limit exceeded: {m}"),
            Error::Parameter(m) => write!(f, "{m}"),
            Error::Input(m) => write!(f, "{m}"),
            Error::Train(m) => write!(f, "training failed: {m}"),
            Error::Device(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
