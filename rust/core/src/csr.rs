//! Compressed sparse rows, borrowed from the caller (scipy's `indptr`, `indices`, `data`).
//!
//! Arrays that come from Python are never trusted: [`CsrView::new`] checks that `indptr` starts
//! at 0, never decreases and ends at `indices.len()`, and that every column index is in range,
//! so that the kernels can index without further checks and never read out of bounds.

use crate::error::{Error, Result};

/// A borrowed CSR matrix of `n_rows x n_cols`. `data` may be empty for a pattern-only mask.
#[derive(Debug, Clone, Copy)]
pub struct CsrView<'a, T> {
    pub n_rows: usize,
    pub n_cols: usize,
    pub indptr: &'a [i64],
    pub indices: &'a [i32],
    pub data: &'a [T],
}

impl<'a, T> CsrView<'a, T> {
    /// Checks the structure and returns the view.
    ///
    /// With `sorted` set, column indices must also be strictly increasing within each row
    /// (sorted and without duplicates), which kernels that merge rows rely on.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming `name` when `indptr` has the wrong length, does not
    /// start at 0, decreases or does not end at `nnz`, when an index is negative or `>= n_cols`,
    /// when `data` and `indices` differ in length (unless `data` is empty), or when `sorted`
    /// is asked for and a row is not strictly increasing.
    pub fn new(
        name: &'static str,
        n_rows: usize,
        n_cols: usize,
        indptr: &'a [i64],
        indices: &'a [i32],
        data: &'a [T],
        sorted: bool,
    ) -> Result<Self> {
        if n_rows.checked_add(1) != Some(indptr.len()) {
            return Err(Error::invalid(
                name,
                format!(
                    "indptr has length {} but the matrix has {n_rows} rows (expected {})",
                    indptr.len(),
                    n_rows.saturating_add(1)
                ),
            ));
        }
        if indptr[0] != 0 {
            return Err(Error::invalid(name, format!("indptr must start at 0, found {}", indptr[0])));
        }
        if indptr[n_rows] as usize != indices.len() || indptr[n_rows] < 0 {
            return Err(Error::invalid(
                name,
                format!("indptr ends at {} but there are {} indices", indptr[n_rows], indices.len()),
            ));
        }
        if !data.is_empty() && data.len() != indices.len() {
            return Err(Error::invalid(name, format!("data has {} values but there are {} indices", data.len(), indices.len())));
        }
        for row in 0..n_rows {
            let (start, end) = (indptr[row], indptr[row + 1]);
            if end < start {
                return Err(Error::invalid(name, format!("indptr decreases at row {row} ({start} > {end})")));
            }
            // Found by the csr_view fuzz target: an offset past the end (with a smaller final
            // offset after it) must be refused before it is used to slice.
            if end as usize > indices.len() {
                return Err(Error::invalid(name, format!("indptr[{}] = {end} is beyond the {} indices", row + 1, indices.len())));
            }
            let cols = &indices[start as usize..end as usize];
            let mut previous: i64 = -1;
            for &col in cols {
                if col < 0 || col as usize >= n_cols {
                    return Err(Error::invalid(
                        name,
                        format!("column index {col} in row {row} is out of range for {n_cols} columns"),
                    ));
                }
                if sorted && i64::from(col) <= previous {
                    return Err(Error::invalid(name, format!("column indices of row {row} are not sorted and unique")));
                }
                previous = i64::from(col);
            }
        }
        Ok(CsrView { n_rows, n_cols, indptr, indices, data })
    }

    /// The column indices of one row.
    #[inline]
    #[must_use]
    pub fn row_indices(&self, row: usize) -> &'a [i32] {
        &self.indices[self.indptr[row] as usize..self.indptr[row + 1] as usize]
    }

    /// The stored values of one row (empty for a pattern-only view).
    #[inline]
    #[must_use]
    pub fn row_data(&self, row: usize) -> &'a [T] {
        if self.data.is_empty() {
            &[]
        } else {
            &self.data[self.indptr[row] as usize..self.indptr[row + 1] as usize]
        }
    }

    #[inline]
    #[must_use]
    pub fn nnz(&self) -> usize {
        self.indices.len()
    }
}

/// An owned CSR matrix, the result type of kernels that build one.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Csr<T> {
    pub n_rows: usize,
    pub n_cols: usize,
    pub indptr: Vec<i64>,
    pub indices: Vec<i32>,
    pub data: Vec<T>,
}

impl<T> Csr<T> {
    #[must_use]
    pub fn view(&self) -> CsrView<'_, T> {
        CsrView { n_rows: self.n_rows, n_cols: self.n_cols, indptr: &self.indptr, indices: &self.indices, data: &self.data }
    }
}

impl<T: Copy> Csr<T> {
    /// The transpose (CSC of the same matrix), with column indices sorted in every row.
    /// Counting sort: `O(nnz + n_rows + n_cols)`.
    #[must_use]
    pub fn transpose_of(m: &CsrView<'_, T>) -> Csr<T> {
        let mut counts = vec![0i64; m.n_cols + 1];
        for &col in m.indices {
            counts[col as usize + 1] += 1;
        }
        for c in 0..m.n_cols {
            counts[c + 1] += counts[c];
        }
        let indptr = counts.clone();
        let mut next = counts;
        let mut indices = vec![0i32; m.nnz()];
        let mut data = Vec::with_capacity(if m.data.is_empty() { 0 } else { m.nnz() });
        // Filled in place below; the placeholder value is overwritten for every slot.
        if let Some(&first) = m.data.first() {
            data.resize(m.nnz(), first);
        }
        for row in 0..m.n_rows {
            let cols = m.row_indices(row);
            let vals = m.row_data(row);
            for (j, &col) in cols.iter().enumerate() {
                let slot = next[col as usize] as usize;
                next[col as usize] += 1;
                indices[slot] = row as i32;
                if !vals.is_empty() {
                    data[slot] = vals[j];
                }
            }
        }
        Csr { n_rows: m.n_cols, n_cols: m.n_rows, indptr, indices, data }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_structure() {
        let data = [1.0f32, 2.0];
        assert!(CsrView::new("m", 2, 3, &[0, 1, 2], &[0, 2], &data, true).is_ok());
        assert!(CsrView::new("m", 2, 3, &[0, 2, 1], &[0, 2], &data, false).is_err());
        assert!(CsrView::new("m", 2, 3, &[1, 1, 2], &[0, 2], &data, false).is_err());
        assert!(CsrView::new("m", 2, 3, &[0, 1, 2], &[0, 3], &data, false).is_err());
        assert!(CsrView::new("m", 2, 3, &[0, 1, 2], &[0, -1], &data, false).is_err());
        assert!(CsrView::new("m", 1, 3, &[0, 2], &[2, 1], &data, true).is_err());
        assert!(CsrView::new("m", 1, 3, &[0, 2], &[2, 1], &data, false).is_ok());
        assert!(CsrView::new("m", 2, 3, &[0, 1], &[0], &data[..1], false).is_err());
        // Regressions from the csr_view fuzz target: an offset beyond nnz in the middle, and a
        // row count whose `+ 1` overflows.
        assert!(CsrView::new("m", 2, 3, &[0, 5, 2], &[0, 1], &data, false).is_err());
        assert!(CsrView::<f32>::new("m", usize::MAX, 3, &[0], &[], &[], false).is_err());
    }

    #[test]
    fn transpose_round_trips() {
        let m = Csr { n_rows: 2, n_cols: 3, indptr: vec![0, 2, 3], indices: vec![0, 2, 1], data: vec![1.0, 2.0, 3.0] };
        let t = Csr::transpose_of(&m.view());
        assert_eq!(t.indptr, vec![0, 1, 2, 3]);
        assert_eq!(t.indices, vec![0, 1, 0]);
        assert_eq!(t.data, vec![1.0, 3.0, 2.0]);
        assert_eq!(Csr::transpose_of(&t.view()), m);
    }
}
