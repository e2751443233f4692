//! Filter conditions and facet counts resolved against one segment: from the generation's
//! in-memory columns where it has them (boolean and number fields), else from tantivy's fast
//! fields (string fields).

use std::collections::HashMap;

use tantivy::columnar::{Column, StrColumn};
use tantivy::SegmentReader;

use crate::error::Result;
use crate::generation::Cached;
use crate::index::Condition;
use crate::schema::{filter_name, FilterKind};

/// A filter condition resolved against one segment.
pub(crate) enum SegmentFilter<'a> {
    Str { column: Option<StrColumn>, ords: Vec<u64> },
    Number { column: Option<Column<f64>>, condition: Condition },
    Bool { column: Option<Column<bool>>, value: bool },
    CachedNumber { values: &'a [f64], condition: Condition },
    CachedBool { bits: &'a [Vec<u64>; 2], value: bool },
}

impl<'a> SegmentFilter<'a> {
    pub(crate) fn new(segment: &SegmentReader, field: usize, condition: &Condition, cached: Option<&'a Cached>) -> Result<Self> {
        let name = filter_name(field);
        let fast = segment.fast_fields();
        Ok(match (condition, cached) {
            (Condition::AnyOf(values), _) => {
                let column = fast.str(&name)?;
                let mut ords = Vec::new();
                if let Some(column) = &column {
                    for value in values {
                        if let Some(ord) = column.dictionary().term_ord(value)? {
                            ords.push(ord);
                        }
                    }
                }
                SegmentFilter::Str { column, ords }
            }
            (Condition::Bool(value), Some(Cached::Bool(bits))) => SegmentFilter::CachedBool { bits, value: *value },
            (Condition::Bool(value), _) => SegmentFilter::Bool { column: fast.column_opt(&name)?, value: *value },
            (other, Some(Cached::Number(values))) => SegmentFilter::CachedNumber { values, condition: other.clone() },
            (other, _) => SegmentFilter::Number { column: fast.column_opt(&name)?, condition: other.clone() },
        })
    }

    /// The documents `64 * word .. 64 * word + 64` that pass, as bits, when the condition is
    /// an in-memory bitset (boolean fields); `None` when it must be checked per document.
    #[inline]
    pub(crate) fn word_mask(&self, word: usize) -> Option<u64> {
        match self {
            SegmentFilter::CachedBool { bits, value } => Some(bits[usize::from(*value)].get(word).copied().unwrap_or(0)),
            _ => None,
        }
    }

    #[inline]
    pub(crate) fn accepts(&self, doc: u32) -> bool {
        let number_fits = |condition: &Condition, v: f64| match condition {
            Condition::NumberAnyOf(values) => values.contains(&v),
            Condition::Range { min, max } => min.is_none_or(|m| v >= m) && max.is_none_or(|m| v <= m),
            _ => false,
        };
        match self {
            SegmentFilter::CachedBool { bits, value } => Cached::has_flag(bits, doc, *value),
            SegmentFilter::CachedNumber { values, condition } => {
                values.get(doc as usize).is_some_and(|&v| !v.is_nan() && number_fits(condition, v))
            }
            SegmentFilter::Str { column, ords } => column.as_ref().is_some_and(|c| c.term_ords(doc).any(|o| ords.contains(&o))),
            SegmentFilter::Bool { column, value } => column.as_ref().is_some_and(|c| c.values_for_doc(doc).any(|v| v == *value)),
            SegmentFilter::Number { column, condition } => {
                column.as_ref().is_some_and(|c| c.values_for_doc(doc).any(|v| number_fits(condition, v)))
            }
        }
    }
}

/// Value counts of one facet field in one segment.
pub(crate) enum SegmentFacet {
    Str { column: Option<StrColumn>, counts: HashMap<u64, u64> },
    Bool { column: Option<Column<bool>>, counts: [u64; 2] },
}

impl SegmentFacet {
    pub(crate) fn new(segment: &SegmentReader, field: usize, kind: FilterKind) -> Result<Self> {
        let name = filter_name(field);
        Ok(if kind == FilterKind::Bool {
            SegmentFacet::Bool { column: segment.fast_fields().column_opt(&name)?, counts: [0, 0] }
        } else {
            SegmentFacet::Str { column: segment.fast_fields().str(&name)?, counts: HashMap::new() }
        })
    }

    pub(crate) fn count(&mut self, doc: u32) {
        match self {
            SegmentFacet::Str { column: Some(column), counts } => {
                let mut seen: Vec<u64> = Vec::new();
                for ord in column.term_ords(doc) {
                    if !seen.contains(&ord) {
                        seen.push(ord);
                        *counts.entry(ord).or_default() += 1;
                    }
                }
            }
            SegmentFacet::Bool { column: Some(column), counts } => {
                let mut seen = [false, false];
                for v in column.values_for_doc(doc) {
                    seen[usize::from(v)] = true;
                }
                for (count, seen) in counts.iter_mut().zip(seen) {
                    *count += u64::from(seen);
                }
            }
            _ => {}
        }
    }

    pub(crate) fn merge_into(self, into: &mut HashMap<String, u64>) -> Result<()> {
        match self {
            SegmentFacet::Str { column: Some(column), counts } => {
                for (ord, count) in counts {
                    let mut value = String::new();
                    column.ord_to_str(ord, &mut value)?;
                    *into.entry(value).or_default() += count;
                }
            }
            SegmentFacet::Bool { counts, .. } => {
                for (value, count) in ["false", "true"].into_iter().zip(counts) {
                    if count > 0 {
                        *into.entry(value.to_owned()).or_default() += count;
                    }
                }
            }
            SegmentFacet::Str { column: None, .. } => {}
        }
        Ok(())
    }
}
