//! Result buffers whose size comes from an argument (a `k`, a rank) rather than from the input:
//! an impossible size is an [`Error`], never an allocation abort or a capacity-overflow panic.

use crate::error::{Error, Result};

/// A zeroed buffer of `rows x cols` values, or [`Error::InvalidArgument`] naming `name` when
/// the product overflows or the allocator refuses that much memory.
///
/// The allocator is asked first with `try_reserve_exact`, a probe that is released at once;
/// the buffer itself then comes from `vec!`, which takes zeroed pages from the system
/// without touching them (a large padded result costs only the pages that are written).
pub(crate) fn zeroed<U: Copy + Default>(name: &'static str, rows: usize, cols: usize) -> Result<Vec<U>> {
    let too_large = || Error::invalid(name, format!("a result of {rows} x {cols} values does not fit in memory"));
    let len = rows.checked_mul(cols).ok_or_else(too_large)?;
    let mut probe: Vec<U> = Vec::new();
    probe.try_reserve_exact(len).map_err(|_| too_large())?;
    drop(probe);
    Ok(vec![U::default(); len])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impossible_sizes_are_errors() {
        assert_eq!(zeroed::<f32>("k", 3, 4).unwrap(), vec![0.0; 12]);
        assert!(zeroed::<f32>("k", usize::MAX / 2, 3).is_err());
        assert!(zeroed::<i32>("k", 1, usize::MAX / 2).is_err());
    }
}
