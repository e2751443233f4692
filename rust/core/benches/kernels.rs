//! Criterion benches of the core kernels, on generated data of the sizes in benches/RESULTS.md.
//! `cargo bench -p shoprec-core` (the same workloads run through Python in benches/).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use shoprec_core::topk::{top_k, IdFilter};

/// A deterministic xorshift stream, so every run ranks the same numbers.
pub fn uniform_f32(n: usize, seed: u64) -> Vec<f32> {
    let mut state = seed | 1;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 24) as f32
        })
        .collect()
}

fn bench_top_k(c: &mut Criterion) {
    let (n_rows, n_cols) = (1024, 100_000);
    let scores = uniform_f32(n_rows * n_cols, 7);
    let mut group = c.benchmark_group("top_k");
    group.sample_size(10);
    group.bench_function(BenchmarkId::new("1024x100000", 10), |b| {
        b.iter(|| top_k(&scores, n_rows, n_cols, 10, IdFilter::None, IdFilter::None).unwrap());
    });
    group.finish();
}

criterion_group!(benches, bench_top_k);
criterion_main!(benches);
