//! What a search reads once per searcher generation (the index as of one completed write)
//! instead of once per query: the product ids by term ordinal, each document's id ordinal and
//! popularity, the boolean and number filter columns as plain arrays, the best BM25 score
//! of each term the searches asked for, and the answers of its searches.
//!
//! Every write ends with a merge into one segment and a reload, so a generation lives until the
//! next write; nothing here is ever stale (it is keyed by the generation id).

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

use tantivy::fieldnorm::FieldNormReader;
use tantivy::postings::Postings;
use tantivy::query::Bm25Weight;
use tantivy::schema::IndexRecordOption;
use tantivy::{DocSet, Searcher, SegmentReader, Term, TERMINATED};

use crate::error::Result;
use crate::remembered::Remembered;
use crate::schema::{filter_name, Config, FilterKind, ID, POPULARITY};

/// A filter column of one segment read into memory.
pub(crate) enum Cached {
    /// Per value (false, true), a bitset of the documents that have it.
    Bool([Vec<u64>; 2]),
    /// Each document's number, NaN where it has none (a stored number is always finite).
    Number(Vec<f64>),
}

impl Cached {
    /// Whether `doc` has the flag `value`.
    #[inline]
    pub(crate) fn has_flag(bits: &[Vec<u64>; 2], doc: u32, value: bool) -> bool {
        let set = &bits[usize::from(value)];
        set.get(doc as usize / 64).is_some_and(|word| (word >> (doc % 64)) & 1 == 1)
    }
}

/// One searcher generation's cached reads.
pub(crate) struct Generation {
    pub id: u64,
    /// Per segment, the product ids by the id's term ordinal.
    pub ids: Vec<Vec<String>>,
    /// Per segment, each document's id term ordinal (`u64::MAX` where it has none) and
    /// popularity (0 where it has none): the tie-breaks of a search's ranking, read for every
    /// product tied at the cut, which for a common word can be thousands.
    pub id_ords: Vec<Vec<u64>>,
    pub popularity: Vec<Vec<f64>>,
    /// Per segment, per filter field, the column in memory (None for string fields and for
    /// columns with several values per document, which are read from tantivy).
    pub filters: Vec<Vec<Option<Cached>>>,
    /// The best unboosted BM25 score of a term over the live documents, filled as searches
    /// ask (bounded: cleared when it grows past [`MAX_BOUNDS`]).
    bounds: RwLock<HashMap<Term, f32>>,
    /// Answers of this generation's searches (see [`Remembered`]).
    pub remembered: Remembered,
}

/// The most term bounds kept per generation.
const MAX_BOUNDS: usize = 100_000;

impl Generation {
    /// Reads the ids and filter columns of every segment of `searcher`.
    pub(crate) fn read(searcher: &Searcher, config: &Config) -> Result<Self> {
        let mut ids = Vec::with_capacity(searcher.segment_readers().len());
        let mut filters = Vec::with_capacity(searcher.segment_readers().len());
        let (mut id_ords, mut popularity) = (Vec::new(), Vec::new());
        for segment in searcher.segment_readers() {
            let mut segment_ids = Vec::new();
            let max_doc = segment.max_doc();
            let mut ords = vec![u64::MAX; max_doc as usize];
            if let Some(column) = segment.fast_fields().str(ID)? {
                let mut stream = column.dictionary().stream()?;
                while stream.advance() {
                    segment_ids.push(String::from_utf8_lossy(stream.key()).into_owned());
                }
                for (doc, ord) in (0..max_doc).zip(&mut ords) {
                    *ord = column.term_ords(doc).next().unwrap_or(u64::MAX);
                }
            }
            ids.push(segment_ids);
            id_ords.push(ords);
            let mut values = vec![0.0f64; max_doc as usize];
            if let Some(column) = segment.fast_fields().column_opt::<f64>(POPULARITY)? {
                for (doc, value) in (0..max_doc).zip(&mut values) {
                    *value = column.first(doc).unwrap_or(0.0);
                }
            }
            popularity.push(values);
            let columns = config
                .filter_fields
                .iter()
                .enumerate()
                .map(|(i, (_, kind))| read_column(segment, i, *kind))
                .collect::<Result<Vec<_>>>()?;
            filters.push(columns);
        }
        Ok(Generation {
            id: searcher.generation().generation_id(),
            ids,
            id_ords,
            popularity,
            filters,
            bounds: RwLock::new(HashMap::new()),
            remembered: Remembered::default(),
        })
    }

    /// The best unboosted BM25 score `term` gives any live document (0 when it is in none).
    /// A boosted score is this times the boost, up to rounding.
    pub(crate) fn bound(&self, searcher: &Searcher, term: &Term) -> Result<f32> {
        if let Some(&best) = self.bounds.read().unwrap_or_else(PoisonError::into_inner).get(term) {
            return Ok(best);
        }
        let bm25 = Bm25Weight::for_terms(searcher, std::slice::from_ref(term))?;
        let mut best = 0.0f32;
        for segment in searcher.segment_readers() {
            let field = term.field();
            let Some(mut postings) = segment.inverted_index(field)?.read_postings(term, IndexRecordOption::WithFreqs)? else {
                continue;
            };
            let norms =
                segment.fieldnorms_readers().get_field(field)?.unwrap_or_else(|| FieldNormReader::constant(segment.max_doc(), 1));
            let alive = segment.alive_bitset();
            let mut doc = postings.doc();
            while doc != TERMINATED {
                if alive.is_none_or(|a| a.is_alive(doc)) {
                    best = best.max(bm25.score(norms.fieldnorm_id(doc), postings.term_freq()));
                }
                doc = postings.advance();
            }
        }
        let mut bounds = self.bounds.write().unwrap_or_else(PoisonError::into_inner);
        if bounds.len() >= MAX_BOUNDS {
            bounds.clear();
        }
        bounds.insert(term.clone(), best);
        Ok(best)
    }
}

fn read_column(segment: &SegmentReader, field: usize, kind: FilterKind) -> Result<Option<Cached>> {
    let name = filter_name(field);
    let max_doc = segment.max_doc();
    Ok(match kind {
        FilterKind::Str => None,
        FilterKind::Bool => segment.fast_fields().column_opt::<bool>(&name)?.map(|column| {
            let mut bits = [vec![0u64; (max_doc as usize).div_ceil(64)], vec![0u64; (max_doc as usize).div_ceil(64)]];
            for doc in 0..max_doc {
                for value in column.values_for_doc(doc) {
                    bits[usize::from(value)][doc as usize / 64] |= 1 << (doc % 64);
                }
            }
            Cached::Bool(bits)
        }),
        FilterKind::Number => match segment.fast_fields().column_opt::<f64>(&name)? {
            None => None,
            Some(column) => {
                let mut values = vec![f64::NAN; max_doc as usize];
                let mut single = true;
                for doc in 0..max_doc {
                    let mut found = column.values_for_doc(doc);
                    if let Some(v) = found.next() {
                        values[doc as usize] = v;
                        single &= found.next().is_none();
                    }
                }
                single.then_some(Cached::Number(values))
            }
        },
    })
}
