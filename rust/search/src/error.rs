//! The one error type of the search crate. The binding crate maps each variant to a Python
//! exception class in one place (`src/error.rs` of the root crate).

/// Everything the search index can refuse.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum Error {
    /// An argument the index cannot work with: a filter on an unknown field, a value of the
    /// wrong type, a duplicate id. `name` is the argument as the user spells it in Python.
    #[error("{name}: {reason}")]
    InvalidArgument { name: &'static str, reason: String },
    /// A product id that is not in the index, where one is required (`update`, `set_stock`).
    #[error("unknown product id {0:?}")]
    UnknownId(String),
    /// A saved index that cannot be opened (missing, truncated, written by something else).
    #[error("{0}")]
    CorruptData(String),
    /// tantivy failed (an I/O error on the index directory, a lock held by another process).
    #[error("search engine: {0}")]
    Engine(String),
}

impl Error {
    pub fn invalid(name: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidArgument { name, reason: reason.into() }
    }
}

impl From<tantivy::TantivyError> for Error {
    fn from(error: tantivy::TantivyError) -> Self {
        Error::Engine(error.to_string())
    }
}

impl From<std::io::Error> for Error {
    fn from(error: std::io::Error) -> Self {
        Error::Engine(error.to_string())
    }
}

impl From<shoprec_core::Error> for Error {
    fn from(error: shoprec_core::Error) -> Self {
        match error {
            shoprec_core::Error::InvalidArgument { name, reason } | shoprec_core::Error::ShapeMismatch { name, reason } => {
                Error::InvalidArgument { name, reason }
            }
            shoprec_core::Error::CorruptData(what) => Error::CorruptData(what),
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
