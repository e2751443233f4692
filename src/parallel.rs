//! Running core work off the GIL, in a pool of the size the user asked for.
//!
//! Pools are cached per thread count so that small calls (one recommendation) do not pay for
//! spawning threads. A pool built before `fork()` has no threads in the child, and using it
//! there would hang (gunicorn and celery prefork workers do exactly this), so every pool
//! remembers the process that built it and is replaced in a child.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

use pyo3::prelude::*;
use rayon::{ThreadPool, ThreadPoolBuilder};
use shoprec_core::Error;

use crate::error::{panic_to_py, to_py};

struct CachedPool {
    threads: usize,
    pid: u32,
    pool: Arc<ThreadPool>,
}

static POOLS: Mutex<Vec<CachedPool>> = Mutex::new(Vec::new());

/// The number of threads `num_threads = 0` stands for: every core this process may use.
pub fn resolve_threads(num_threads: usize) -> usize {
    if num_threads == 0 {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    } else {
        num_threads
    }
}

fn pool_for(num_threads: usize) -> Result<Arc<ThreadPool>, Error> {
    if num_threads > 1024 {
        return Err(Error::invalid("num_threads", format!("{num_threads} is more than 1024")));
    }
    let threads = resolve_threads(num_threads);
    let pid = std::process::id();
    let mut pools = POOLS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if pools.iter().any(|p| p.pid != pid) {
        // Forked: the old pools' threads do not exist here. Dropping a pool would try to talk
        // to them, so their handles are leaked on purpose.
        for stale in pools.drain(..) {
            std::mem::forget(stale.pool);
        }
    }
    if let Some(cached) = pools.iter().find(|p| p.threads == threads) {
        return Ok(Arc::clone(&cached.pool));
    }
    let pool = ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("shoprec-{i}"))
        .build()
        .map_err(|e| Error::invalid("num_threads", format!("cannot start {threads} threads: {e}")))?;
    let pool = Arc::new(pool);
    pools.push(CachedPool { threads, pid, pool: Arc::clone(&pool) });
    Ok(pool)
}

/// Runs `work` with the GIL released, inside a pool of `num_threads` threads (0 = all cores).
/// Core errors become shoprec exceptions; a panic becomes `shoprec.InternalError`.
///
/// `work` must hold no Python object: extract every input first, convert outputs after.
pub fn run_detached<T, F>(py: Python<'_>, num_threads: usize, work: F) -> PyResult<T>
where
    T: Send,
    F: FnOnce() -> Result<T, Error> + Send,
{
    let pool = pool_for(num_threads).map_err(to_py)?;
    let outcome = py.detach(|| catch_unwind(AssertUnwindSafe(|| pool.install(work))));
    match outcome {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(to_py(error)),
        Err(payload) => Err(panic_to_py(payload.as_ref())),
    }
}

/// Runs `work` with the GIL released on the calling thread: for small calls (one user's
/// recommendations) where handing work to a pool would cost more than the work.
pub fn run_detached_here<T, F>(py: Python<'_>, work: F) -> PyResult<T>
where
    T: Send,
    F: FnOnce() -> Result<T, Error> + Send,
{
    run_sized_with(py, 0, 0, work, to_py)
}

/// Runs `work` on the calling thread, releasing the GIL only when the call's `size` (in the
/// caller's work units) is at least `detach_min`. For per-request serving calls whose core
/// work can be a few microseconds: with threads waiting for the GIL, every release wakes one
/// of them and taking the GIL back then waits for it, which for a tiny call costs more than the
/// overlap gains (measured in benches/RESULTS.md, "Shop serving"). `detach_min = 0` always
/// releases, exactly as [`run_detached_here`]. Errors and panics as [`run_detached`].
pub fn run_sized<T, F>(py: Python<'_>, size: usize, detach_min: usize, work: F) -> PyResult<T>
where
    T: Send,
    F: FnOnce() -> Result<T, Error> + Send,
{
    run_sized_with(py, size, detach_min, work, to_py)
}

/// [`run_sized`] for work whose errors `to_exception` turns into Python exceptions (the
/// search crate has its own error type); a panic becomes `shoprec.InternalError`.
pub fn run_sized_with<T, E, F>(
    py: Python<'_>,
    size: usize,
    detach_min: usize,
    work: F,
    to_exception: fn(E) -> PyErr,
) -> PyResult<T>
where
    T: Send,
    E: Send,
    F: FnOnce() -> Result<T, E> + Send,
{
    let outcome = if size >= detach_min {
        py.detach(|| catch_unwind(AssertUnwindSafe(work)))
    } else {
        catch_unwind(AssertUnwindSafe(work))
    };
    match outcome {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(to_exception(error)),
        Err(payload) => Err(panic_to_py(payload.as_ref())),
    }
}

/// Panics inside the core on purpose, so the tests can check that a panic reaches Python as
/// `shoprec.InternalError` instead of aborting the interpreter.
#[pyfunction(name = "_panic_for_test")]
#[pyo3(signature = (num_threads = 1))]
pub fn panic_for_test_py(py: Python<'_>, num_threads: usize) -> PyResult<()> {
    run_detached(py, num_threads, || -> Result<(), Error> {
        rayon::iter::ParallelIterator::for_each(rayon::iter::IntoParallelIterator::into_par_iter(0..4), |i| {
            assert!(i != 2, "deliberate panic for the test suite");
        });
        Ok(())
    })
}
