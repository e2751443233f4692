//! CSR validation: `CsrView::new` must refuse any malformed (indptr, indices, data) with an
//! error, never panic, and what it accepts must be safe to walk row by row.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shoprec_core::csr::{Csr, CsrView};

fn take_i64(bytes: &mut &[u8]) -> Option<i64> {
    let (head, rest) = bytes.split_first_chunk::<8>()?;
    *bytes = rest;
    Some(i64::from_le_bytes(*head))
}

fuzz_target!(|input: &[u8]| {
    let mut bytes = input;
    let Some(header) = bytes.split_first_chunk::<4>() else {
        return;
    };
    let (header, rest) = header;
    bytes = rest;
    // Small shapes most of the time; the top bit of a byte asks for an extreme value.
    let n_rows = if header[0] & 0x80 != 0 { usize::MAX - usize::from(header[0] & 3) } else { usize::from(header[0]) };
    let n_cols = if header[1] & 0x80 != 0 { usize::MAX } else { usize::from(header[1]) };
    let n_indptr = usize::from(header[2] % 32);
    let sorted = header[3] & 1 == 1;
    let with_data = header[3] & 2 == 2;
    let mut indptr = Vec::with_capacity(n_indptr);
    for _ in 0..n_indptr {
        // Mostly small offsets, sometimes raw 64-bit values.
        let Some(v) = take_i64(&mut bytes) else { break };
        indptr.push(if v & 1 == 0 { (v >> 1) % 40 } else { v >> 1 });
    }
    let indices: Vec<i32> = bytes
        .chunks_exact(4)
        .map(|c| {
            let v = i32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            if v & 1 == 0 {
                (v >> 1) % 300
            } else {
                v >> 1
            }
        })
        .collect();
    let data: Vec<f32> = if with_data { indices.iter().map(|&i| i as f32).collect() } else { Vec::new() };
    if let Ok(view) = CsrView::new("matrix", n_rows, n_cols, &indptr, &indices, &data, sorted) {
        let mut seen = 0usize;
        for row in 0..view.n_rows {
            for &col in view.row_indices(row) {
                assert!(col >= 0 && (col as usize) < view.n_cols);
            }
            if with_data {
                assert_eq!(view.row_data(row).len(), view.row_indices(row).len());
            }
            seen += view.row_indices(row).len();
        }
        assert_eq!(seen, view.nnz());
        if with_data && view.n_cols <= 1 << 16 {
            let t = Csr::transpose_of(&view);
            assert_eq!(t.view().nnz(), view.nnz());
        }
    }
});
