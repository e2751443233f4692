//! The kernels of shoprec, in plain Rust: no Python here.
//!
//! Every kernel borrows its inputs as slices, checks them and returns an [`Error`] instead of
//! panicking on bad input. Parallel kernels use the rayon pool they are called in, so the
//! caller decides the number of threads (`pool.install(|| kernel(...))`).

pub mod biases;
mod buffer;
pub mod cosine;
pub mod csr;
pub mod error;
pub mod idtable;
pub mod kmeans;
pub mod knn;
pub mod linalg;
pub mod median;
pub mod pearson;
mod radix;
pub mod real;
pub mod rng;
pub mod text;
pub mod topk;

pub use error::{Error, Result};
