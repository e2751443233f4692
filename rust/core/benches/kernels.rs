//! Criterion benches of the core kernels, on generated data of the sizes in benches/RESULTS.md.
//! `cargo bench -p shoprec-core` (the same workloads run through Python in benches/).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use shoprec_core::kmeans::{kmeans, Init, KMeansOptions};
use shoprec_core::median::{hampel, median_filter, Padding};
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

/// 100,000 x 64 rows around 20 overlapping centres (the workload of benches/RESULTS.md).
fn blobs(n: usize, d: usize, k: usize, seed: u64) -> Vec<f32> {
    let centres: Vec<f32> = uniform_f32(k * d, seed).iter().map(|v| v * 6.0).collect();
    let noise = uniform_f32(n * d, seed + 1);
    (0..n * d).map(|i| centres[(i / d % k) * d + i % d] + (noise[i] - 0.5) * 4.0).collect()
}

fn bench_kmeans(c: &mut Criterion) {
    let (n, d, k) = (100_000, 64, 20);
    let x = blobs(n, d, k, 11);
    let init: Vec<f32> = x[..k * d].to_vec();
    let mut group = c.benchmark_group("kmeans");
    group.sample_size(10);
    group.bench_function(BenchmarkId::new("100000x64", k), |b| {
        b.iter(|| kmeans(&x, n, d, k, Init::Centroids(&init), &KMeansOptions::default()).unwrap());
    });
    group.finish();
}

fn bench_median(c: &mut Criterion) {
    let x: Vec<f64> = uniform_f32(1_000_000, 5).iter().map(|&v| f64::from(v)).collect();
    let mut group = c.benchmark_group("median_filter");
    group.sample_size(10);
    for window in [5, 31, 101, 1001] {
        group.bench_function(BenchmarkId::new("1000000", window), |b| {
            b.iter(|| median_filter(&x, window, Padding::Nearest, None).unwrap());
        });
    }
    let groups: Vec<i64> = (0..=10_000).map(|i| i * 365).collect();
    let series = &x[..365 * 10_000];
    group.bench_function(BenchmarkId::new("10000x365", 7), |b| {
        b.iter(|| median_filter(series, 7, Padding::Nearest, Some(&groups)).unwrap());
    });
    group.bench_function(BenchmarkId::new("hampel_1000000", 31), |b| {
        b.iter(|| hampel(&x, 31, 3.0, None).unwrap());
    });
    group.finish();
}

criterion_group!(benches, bench_top_k, bench_kmeans, bench_median);
criterion_main!(benches);
