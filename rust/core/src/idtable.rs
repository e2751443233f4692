//! Integer shop ids to their dense indices: an open-addressing hash table kept as one flat
//! `i64` array (so the Python side stores it as a plain numpy array next to the ids).
//!
//! Slot `s` is `table[2 s]` (the id) and `table[2 s + 1]` (its index, -1 for an empty slot);
//! the number of slots is a power of two, at most two thirds used. An id's home slot is its
//! Fibonacci hash; collisions probe linearly. A lookup touches one or two cache lines however
//! large the catalogue, where a binary search over sorted ids touches about `log2 n` (a search
//! request looks up its ~100 candidates right after the engine has filled the caches with
//! other data, so each line touched is a memory access).

use crate::error::{Error, Result};

/// The longest probe sequence [`build`] accepts: ids whose hashes cluster beyond it (never seen
/// for real ids, but ids are the shop's data) make it refuse, and the caller keeps its slower
/// lookup instead of one that degrades towards a linear scan.
pub const MAX_PROBES: usize = 64;

#[inline]
fn home(id: i64, bits: u32) -> usize {
    // Fibonacci hashing: the top `bits` bits of the product with 2^64 / golden ratio.
    ((id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - bits)) as usize
}

/// The table of `ids` (index `i` for `ids[i]`), or `None` when it would not be fast: a probe
/// sequence longer than [`MAX_PROBES`].
///
/// # Errors
/// [`Error::InvalidArgument`] for a repeated id or more than `i32::MAX` ids.
pub fn build(ids: &[i64]) -> Result<Option<Vec<i64>>> {
    if ids.len() > i32::MAX as usize {
        return Err(Error::invalid("ids", "more than 2^31 - 1 ids"));
    }
    let slots = (ids.len() + ids.len() / 2 + 1).next_power_of_two().max(2);
    let bits = slots.trailing_zeros();
    let mask = slots - 1;
    let mut table = vec![0i64; 2 * slots];
    for slot in 0..slots {
        table[2 * slot + 1] = -1;
    }
    for (index, &id) in ids.iter().enumerate() {
        let mut slot = home(id, bits);
        let mut probes = 0;
        while table[2 * slot + 1] >= 0 {
            if table[2 * slot] == id {
                return Err(Error::invalid("ids", format!("id {id} is repeated")));
            }
            probes += 1;
            if probes > MAX_PROBES {
                return Ok(None);
            }
            slot = (slot + 1) & mask;
        }
        table[2 * slot] = id;
        table[2 * slot + 1] = index as i64;
    }
    Ok(Some(table))
}

/// The index of every value in a table made by [`build`], -1 for values it does not hold.
///
/// # Errors
/// [`Error::InvalidArgument`] when `table` is not such a table (its length is not twice a
/// power of two); a damaged table can give wrong indices but never reads out of bounds or
/// loops forever.
pub fn lookup(table: &[i64], values: &[i64]) -> Result<Vec<i32>> {
    let slots = table.len() / 2;
    if !table.len().is_multiple_of(2) || !slots.is_power_of_two() || slots < 2 {
        return Err(Error::invalid("table", "is not an id table"));
    }
    let bits = slots.trailing_zeros();
    let mask = slots - 1;
    Ok(values
        .iter()
        .map(|&value| {
            let mut slot = home(value, bits);
            for _ in 0..slots {
                let index = table[2 * slot + 1];
                if index < 0 {
                    return -1;
                }
                if table[2 * slot] == value {
                    return i32::try_from(index).unwrap_or(-1);
                }
                slot = (slot + 1) & mask;
            }
            -1
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    proptest! {
        /// Against a HashMap, with ids that share their low or high bits (the hash's weak spots).
        #[test]
        fn lookup_matches_a_hash_map(
            raw in proptest::collection::hash_set(any::<i64>(), 0..300),
            shift in 0u32..40,
            probes in proptest::collection::vec(any::<i64>(), 0..100),
        ) {
            let ids: Vec<i64> = raw.into_iter().map(|v| v.wrapping_shl(shift)).collect::<std::collections::HashSet<_>>().into_iter().collect();
            let reference: HashMap<i64, i32> = ids.iter().enumerate().map(|(i, &v)| (v, i as i32)).collect();
            if let Some(table) = build(&ids).unwrap() {
                let mut values = probes.clone();
                values.extend(ids.iter().copied());
                values.extend(ids.iter().map(|v| v.wrapping_add(1)));
                let got = lookup(&table, &values).unwrap();
                for (value, index) in values.iter().zip(got) {
                    prop_assert_eq!(index, reference.get(value).copied().unwrap_or(-1));
                }
            }
        }
    }

    #[test]
    fn sequential_and_strided_ids_build() {
        for stride in [1i64, 2, 1000, 1 << 20, 1 << 32] {
            let ids: Vec<i64> = (0..50_000).map(|i| i * stride - 7).collect();
            let table = build(&ids).unwrap().expect("no long probe sequences");
            let got = lookup(&table, &ids).unwrap();
            assert!(got.iter().enumerate().all(|(i, &g)| g == i as i32));
            assert_eq!(lookup(&table, &[i64::MIN, i64::MAX]).unwrap(), vec![-1, -1]);
        }
    }

    #[test]
    fn refuses_repeats_and_bad_tables() {
        assert!(build(&[3, 5, 3]).is_err());
        assert_eq!(lookup(&build(&[]).unwrap().unwrap(), &[0, 1]).unwrap(), vec![-1, -1]);
        assert!(lookup(&[0, -1, 0], &[0]).is_err());
        assert!(lookup(&[0; 6], &[0]).is_err());
        // A full table without an empty slot still ends: every slot holds index 0 for id 0.
        assert_eq!(lookup(&[0, 0, 0, 0], &[5, 0]).unwrap(), vec![-1, 0]);
    }
}
