//! Times `pearson_neighbours` on a users x items CSR read from raw little-endian files
//! `<prefix>.indptr` (i64), `<prefix>.indices` (i32), `<prefix>.data` (f64), in this process
//! (no Python), for profiling: `cargo run --profile dev-release --example pearson_scale -- <prefix>
//! [similarity] [threads] [k]`. Prints the wall and CPU time, the result's size and a checksum.
//! The files come from any scipy CSR `m` with sorted indices, e.g. the generated shop of
//! `benches/peers_pearson_scale.py`: `m.indptr.astype(np.int64).tofile(prefix + ".indptr")`,
//! likewise `indices` as int32 and `data` as float64. Under `perf record` it shows where the
//! kernel spends its time without the Python process around it.

use std::time::Instant;

use shoprec_core::csr::CsrView;
use shoprec_core::pearson::{pearson_neighbours, Axis, Similarity};

fn read<T: Copy + Default>(path: &str, width: usize, from: fn(&[u8]) -> T) -> Vec<T> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    bytes.chunks_exact(width).map(from).collect()
}

fn cpu_seconds() -> f64 {
    // utime + stime of the whole process from /proc/self/stat (clock ticks of 1/100 s).
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks: f64 =
        fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0) + fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    ticks / 100.0
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let prefix = &args[1];
    let similarity = Similarity::parse(args.get(2).map_or("pearson", String::as_str)).unwrap();
    let threads: usize = args.get(3).map_or(1, |v| v.parse().unwrap());
    let k: usize = args.get(4).map_or(50, |v| v.parse().unwrap());
    let indptr = read(&format!("{prefix}.indptr"), 8, |b| i64::from_le_bytes(b.try_into().unwrap()));
    let indices = read(&format!("{prefix}.indices"), 4, |b| i32::from_le_bytes(b.try_into().unwrap()));
    let data = read(&format!("{prefix}.data"), 8, |b| f64::from_le_bytes(b.try_into().unwrap()));
    let n_cols = indices.iter().map(|&c| c as usize + 1).max().unwrap_or(0);
    let view = CsrView::new("m", indptr.len() - 1, n_cols, &indptr, &indices, &data, true).unwrap();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    let (cpu, wall) = (cpu_seconds(), Instant::now());
    let out = pool.install(|| pearson_neighbours(&view, k, Axis::Items, similarity, 1, 0.0)).unwrap();
    let (cpu, wall) = (cpu_seconds() - cpu, wall.elapsed().as_secs_f64());
    let checksum: f64 =
        out.data.iter().map(|&v| f64::from(v)).sum::<f64>() + out.indices.iter().map(|&c| f64::from(c)).sum::<f64>();
    println!(
        "{similarity:?} threads {threads} k {k}: wall {wall:.3} s, cpu {cpu:.2} s, nnz {}, checksum {checksum:.6}",
        out.data.len()
    );
}
