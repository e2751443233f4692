//! The allocator of every Rust allocation in `shoprec._core` (the kernels' buffers, tantivy's
//! indexes and its indexing threads): mimalloc, set as `#[global_allocator]` in `lib.rs`.
//!
//! With glibc's malloc a shop that reloads its search index from several threads grew without
//! bound: tantivy's threads free their buffers into per-thread glibc arenas that are never given
//! back (benches/RESULTS.md, "Soak"). mimalloc returns freed pages to the system; with its
//! default one-second purge delay a busy process still held ~200 MB more than it used, so the
//! delay is set to zero (pages go back as soon as they are free).

/// mimalloc's `mi_option_purge_delay` (its position in `mi_option_t` of the bundled mimalloc
/// 3.x, pinned by Cargo.lock; `libmimalloc-sys` exports no constant for it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Purge freed memory at once. Called from the module's init, before any heavy allocation;
/// it only sets an option and affects nothing outside this extension's allocations.
pub fn return_freed_memory_promptly() {
    // SAFETY: mi_option_set stores one integer option; mimalloc documents options as settable
    // at any time (they are read on use).
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
}
