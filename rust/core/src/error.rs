//! The one error type of the core. The binding crate maps each variant to a Python exception
//! class in one place (`src/error.rs`); nothing else in the core decides how errors look in Python.

/// Everything a kernel can refuse.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum Error {
    /// An argument has a value the kernel cannot work with (a NaN, an out-of-range index, an
    /// even window, ...). `name` is the argument as the user spells it in Python.
    #[error("{name}: {reason}")]
    InvalidArgument { name: &'static str, reason: String },
    /// Two arguments disagree on a length or shape.
    #[error("{name}: {reason}")]
    ShapeMismatch { name: &'static str, reason: String },
    /// Bytes read back from a file are not what shoprec wrote (truncated, corrupted, foreign).
    #[error("{0}")]
    CorruptData(String),
}

impl Error {
    pub fn invalid(name: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidArgument { name, reason: reason.into() }
    }

    pub fn shape(name: &'static str, reason: impl Into<String>) -> Self {
        Error::ShapeMismatch { name, reason: reason.into() }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
