//! Criterion benches of the keyword-building kernels on a generated catalog; the same workload
//! runs through Python in `benches/bench_keywords.py`. `cargo bench -p shoprec-core --bench text`.

use criterion::{criterion_group, criterion_main, Criterion};
use shoprec_core::linalg::svd::randomized_svd;
use shoprec_core::text::cooccur::{cooccurrence, ppmi};
use shoprec_core::text::corpus::Corpus;
use shoprec_core::text::tokenizer::Tokenizer;

/// 5,000 titles of eight words drawn (Zipf-like) from 3,000 made-up Latin and Chinese terms.
#[must_use]
pub fn catalog() -> Vec<String> {
    let words: Vec<String> = (0..3000).map(|i| if i % 2 == 0 { format!("w{i}x") } else { format!("商品{i}") }).collect();
    let mut state: u64 = 12345;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..5000)
        .map(|_| {
            (0..8)
                .map(|_| {
                    let u = (next() >> 11) as f64 / (1u64 << 53) as f64;
                    words[((3000f64).powf(u) as usize).min(2999)].as_str()
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

fn bench_text(c: &mut Criterion) {
    let texts = catalog();
    let tokenizer = Tokenizer::new(&[]).unwrap();
    let mut group = c.benchmark_group("keywords");
    group.sample_size(10);
    group.bench_function("tokenize 5000 titles", |b| b.iter(|| texts.iter().map(|t| tokenizer.tokenize(t).len()).sum::<usize>()));
    let corpus = Corpus::build(&tokenizer, &texts, 50_000, 1).unwrap();
    group.bench_function("corpus 5000 titles", |b| b.iter(|| Corpus::build(&tokenizer, &texts, 50_000, 1).unwrap()));
    let counts = cooccurrence(&corpus.docs.view(), 256).unwrap();
    group.bench_function("cooccurrence", |b| b.iter(|| cooccurrence(&corpus.docs.view(), 256).unwrap()));
    let weights = ppmi(&counts.view(), 0.75, 1.0).unwrap();
    group.bench_function("ppmi", |b| b.iter(|| ppmi(&counts.view(), 0.75, 1.0).unwrap()));
    group.bench_function("randomized_svd dim 128", |b| b.iter(|| randomized_svd(&weights.view(), 128, 10, 2, 0).unwrap()));
    group.finish();
}

criterion_group!(benches, bench_text);
criterion_main!(benches);
