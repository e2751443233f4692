//! Compressed sparse rows, borrowed from the caller (scipy's `indptr`, `indices`, `data`).
//!
//! Arrays that come from Python are never trusted: [`CsrView::new`] checks that `indptr` starts
//! at 0, never decreases and ends at `indices.len()`, and that every column index is in range,
//! so that the kernels can index without further checks and never read out of bounds.

use rayon::prelude::*;

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
        let view = Self::with_checked_offsets(name, n_rows, n_cols, indptr, indices, data)?;
        for row in 0..n_rows {
            view.check_row(name, row, sorted)?;
        }
        Ok(view)
    }

    /// [`new`](Self::new) with the rows checked in parallel (in the current rayon pool), each
    /// row's values also passed to `check_values(row, values)` while the row is at hand: the
    /// same checks and, when several rows are bad, the same error (the first bad row's).
    ///
    /// # Errors
    /// As [`new`](Self::new), and the first error of `check_values`.
    #[allow(clippy::too_many_arguments)]
    pub fn new_parallel(
        name: &'static str,
        n_rows: usize,
        n_cols: usize,
        indptr: &'a [i64],
        indices: &'a [i32],
        data: &'a [T],
        sorted: bool,
        check_values: impl Fn(usize, &[T]) -> Result<()> + Sync,
    ) -> Result<Self>
    where
        T: Sync,
    {
        let view = Self::with_checked_offsets(name, n_rows, n_cols, indptr, indices, data)?;
        let bad = (0..n_rows)
            .into_par_iter()
            .with_min_len(256)
            .map(|row| view.check_row(name, row, sorted).and_then(|()| check_values(row, view.row_data(row))))
            .find_first(Result::is_err);
        bad.unwrap_or(Ok(()))?;
        Ok(view)
    }

    /// The view after the checks of `indptr` (length, start, end, never decreasing, never past
    /// the end) and of the lengths of `indices` and `data`, in `O(n_rows)`. The column indices
    /// are **not** checked: for a caller that checks them in its own pass over the entries
    /// (as `pearson::update_neighbours` does) before it indexes with them.
    ///
    /// # Errors
    /// As [`new`](Self::new), for the offsets and lengths.
    pub fn with_checked_offsets(
        name: &'static str,
        n_rows: usize,
        n_cols: usize,
        indptr: &'a [i64],
        indices: &'a [i32],
        data: &'a [T],
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
        }
        Ok(CsrView { n_rows, n_cols, indptr, indices, data })
    }

    /// Checks the column indices of one row (offsets already checked): in range and, with
    /// `sorted`, strictly increasing.
    fn check_row(&self, name: &'static str, row: usize, sorted: bool) -> Result<()> {
        let columns = self.row_indices(row);
        // The common case first, counted without early exits (so that it vectorises): all in range and,
        // with `sorted`, increasing; the slow loop below only names what is wrong.
        let in_range = columns.iter().filter(|&&col| col < 0 || col as usize >= self.n_cols).count() == 0;
        let increasing = !sorted || columns.windows(2).filter(|w| w[0] >= w[1]).count() == 0;
        if in_range && increasing {
            return Ok(());
        }
        let mut previous: i64 = -1;
        for &col in columns {
            if col < 0 || col as usize >= self.n_cols {
                return Err(Error::invalid(
                    name,
                    format!("column index {col} in row {row} is out of range for {} columns", self.n_cols),
                ));
            }
            if sorted && i64::from(col) <= previous {
                return Err(Error::invalid(name, format!("column indices of row {row} are not sorted and unique")));
            }
            previous = i64::from(col);
        }
        Ok(())
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
        // A negative column is out of range whatever the number of columns.
        assert!(CsrView::new("m", 1, usize::MAX, &[0, 1], &[-1], &data[..1], false).is_err());
        assert!(CsrView::new_parallel("m", 1, usize::MAX, &[0, 1], &[-1], &data[..1], false, |_, _| Ok(())).is_err());
    }

    proptest::proptest! {
        #[test]
        fn parallel_checks_give_the_sequential_answer(
            lengths in proptest::collection::vec(0i64..4, 1..600),
            bad_offset in proptest::option::of((0usize..600, -3i64..3)),
            columns in proptest::collection::vec(0i32..5, 0..2400),
            bad_column in proptest::option::of((0usize..2400, proptest::prop_oneof![proptest::strategy::Just(-1i32), proptest::strategy::Just(5)])),
            sorted: bool,
        ) {
            // Random rows (many of them: rayon splits the work), a column out of range now and
            // then, sometimes a broken offset: both constructors accept or refuse alike, with
            // the same message (the first bad row's).
            let mut indptr = vec![0i64];
            for &len in &lengths {
                indptr.push(indptr.last().unwrap() + len);
            }
            if let Some((at, shift)) = bad_offset {
                let at = at % indptr.len();
                indptr[at] += shift;
            }
            let nnz = (*indptr.last().unwrap()).max(0) as usize;
            let mut indices: Vec<i32> = (0..nnz).map(|j| columns.get(j).copied().unwrap_or((j % 5) as i32)).collect();
            if let Some((at, column)) = bad_column {
                if nnz > 0 {
                    indices[at % nnz] = column;
                }
            }
            let data = vec![1.0f32; nnz];
            let n = lengths.len();
            let a = CsrView::new("m", n, 5, &indptr, &indices, &data, sorted).map(|v| v.nnz()).map_err(|e| e.to_string());
            let b = CsrView::new_parallel("m", n, 5, &indptr, &indices, &data, sorted, |_, _| Ok(())).map(|v| v.nnz()).map_err(|e| e.to_string());
            proptest::prop_assert_eq!(a, b);
        }
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
