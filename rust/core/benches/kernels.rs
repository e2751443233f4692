//! Criterion benches of the core kernels, on generated data of the sizes in benches/RESULTS.md.
//! `cargo bench -p shoprec-core` (the same workloads run through Python in benches/).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use shoprec_core::csr::Csr;
use shoprec_core::kmeans::{kmeans, Init, KMeansOptions};
use shoprec_core::knn::{recommend_query, recommend_rows, Filters, Query, Ranking};
use shoprec_core::median::{hampel, median_filter, Padding};
use shoprec_core::pearson::{pearson_neighbours, Axis, Similarity};
use shoprec_core::topk::{top_k, IdFilter};

/// A deterministic xorshift stream, so every run ranks the same numbers.
#[must_use]
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

/// An item-item neighbour matrix like `ItemKNN`'s on `MovieLens` latest-small (9,724 items, 50
/// neighbours each, skewed towards popular items) and user histories of several lengths.
fn bench_knn_recommend(c: &mut Criterion) {
    let (n_items, n_neighbours) = (9_724usize, 50usize);
    let noise = uniform_f32(n_items * n_neighbours * 2, 11);
    let mut indptr = vec![0i64];
    let mut indices = Vec::new();
    let mut data = Vec::new();
    for item in 0..n_items {
        let mut row: Vec<i32> = (0..n_neighbours)
            .map(|j| {
                // Squaring a uniform skews the neighbours towards low (popular) ids.
                let u = noise[item * n_neighbours * 2 + j];
                ((u * u * n_items as f32) as i32).min(n_items as i32 - 1)
            })
            .filter(|&j| j as usize != item)
            .collect();
        row.sort_unstable();
        row.dedup();
        for (j, &col) in row.iter().enumerate() {
            indices.push(col);
            data.push(1.0 - j as f32 / 100.0);
        }
        indptr.push(indices.len() as i64);
    }
    let neighbours = Csr { n_rows: n_items, n_cols: n_items, indptr, indices, data };
    let popularity: Vec<f32> = (0..n_items).map(|i| (n_items - i) as f32).collect();
    let order: Vec<i32> = (0..n_items as i32).collect();
    let ranking = Ranking::new(&popularity, &order).unwrap();
    let mut group = c.benchmark_group("knn_recommend");
    group.sample_size(20);
    for history_len in [20usize, 60, 300, 2000] {
        let history: Vec<i32> = (0..history_len).map(|j| ((j * 7919) % n_items) as i32).collect();
        let weights = vec![4.0f32; history_len];
        let query = Query { sources: &history, weights: &weights, seen: &history };
        group.bench_function(BenchmarkId::new("one_user_history", history_len), |b| {
            b.iter(|| recommend_query(query, &neighbours.view(), &ranking, &Filters::default(), 10).unwrap());
        });
    }
    // 610 users with histories of 20..2000 items, as one batch on the calling thread.
    let mut q_indptr = vec![0i64];
    let mut q_indices = Vec::new();
    for user in 0..610usize {
        let len = 20 + (user * user) % 2000 / 10;
        let mut row: Vec<i32> = (0..len).map(|j| ((j * 7919 + user) % n_items) as i32).collect();
        row.sort_unstable();
        row.dedup();
        q_indices.extend_from_slice(&row);
        q_indptr.push(q_indices.len() as i64);
    }
    let q_data = vec![4.0f32; q_indices.len()];
    let queries = Csr { n_rows: 610, n_cols: n_items, indptr: q_indptr, indices: q_indices, data: q_data };
    let users: Vec<i32> = (0..610).collect();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    group.bench_function("all_610_users_1_thread", |b| {
        b.iter(|| {
            pool.install(|| {
                recommend_rows(
                    &users,
                    &queries.view(),
                    Some(&queries.view()),
                    &neighbours.view(),
                    &ranking,
                    &Filters::default(),
                    10,
                )
                .unwrap()
            })
        });
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

criterion_group!(benches, bench_top_k, bench_pearson, bench_knn_recommend, bench_kmeans, bench_median);
criterion_main!(benches);
