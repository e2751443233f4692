//! Criterion benches of the core kernels, on generated data of the sizes in benches/RESULTS.md.
//! `cargo bench -p shoprec-core` (the same workloads run through Python in benches/).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use shoprec_core::csr::Csr;
use shoprec_core::pearson::{pearson_neighbours, Axis, Similarity};
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

/// Generated ratings, users x items: Zipf-like item popularity (a few items have most of the
/// ratings, as in a shop), uniform users, half-star values; the same kind as the Python bench.
fn generated_ratings(n_users: usize, n_items: usize, n_ratings: usize, seed: u64) -> Csr<f64> {
    let u = uniform_f32(3 * n_ratings, seed);
    // Inverse-CDF sampling of popularity ~ 1 / (rank + 1)^0.8.
    let weights: Vec<f64> = (0..n_items).map(|i| 1.0 / ((i + 1) as f64).powf(0.8)).collect();
    let total: f64 = weights.iter().sum();
    let mut cdf = Vec::with_capacity(n_items);
    let mut acc = 0.0;
    for w in &weights {
        acc += w / total;
        cdf.push(acc);
    }
    let mut entries: Vec<(usize, usize, f64)> = (0..n_ratings)
        .map(|r| {
            let user = (f64::from(u[3 * r]) * n_users as f64) as usize % n_users;
            let item = cdf.partition_point(|&c| c < f64::from(u[3 * r + 1])).min(n_items - 1);
            let value = f64::from(1 + (u[3 * r + 2] * 10.0) as u8 % 10) / 2.0;
            (user, item, value)
        })
        .collect();
    entries.sort_by_key(|e| (e.0, e.1));
    entries.dedup_by_key(|e| (e.0, e.1));
    let mut m = Csr { n_rows: n_users, n_cols: n_items, indptr: vec![0i64; n_users + 1], ..Csr::default() };
    for &(user, item, value) in &entries {
        m.indptr[user + 1] += 1;
        m.indices.push(item as i32);
        m.data.push(value);
    }
    for row in 0..n_users {
        m.indptr[row + 1] += m.indptr[row];
    }
    m
}

fn bench_pearson(c: &mut Criterion) {
    let ratings = generated_ratings(20_000, 10_000, 400_000, 3);
    let mut group = c.benchmark_group("pearson_neighbours");
    group.sample_size(10);
    for (name, similarity) in [("pearson", Similarity::Pearson), ("cosine", Similarity::Cosine)] {
        group.bench_function(BenchmarkId::new("items_20000x10000_400k_top50", name), |b| {
            b.iter(|| pearson_neighbours(&ratings.view(), 50, Axis::Items, similarity, 1, 0.0).unwrap());
        });
    }
    group.finish();
}

criterion_group!(benches, bench_top_k, bench_pearson);
criterion_main!(benches);
