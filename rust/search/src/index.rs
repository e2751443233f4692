//! The search index: one tantivy index, one `IndexWriter` behind a mutex, one `IndexReader`
//! reloaded after every write, a searcher per query.
//!
//! Every write commits, merges the index back into one segment and reloads the reader before it
//! returns, so the next search sees it, and BM25's statistics (document frequencies, average
//! lengths, which tantivy counts over deleted documents until a merge) are exactly those of a
//! fresh build of the same products. The price is that a write costs time proportional to the
//! catalogue: batch writes (`set_stock` of 1,000 ids is one write).

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};

use shoprec_core::text::tokenizer::Tokenizer as CoreTokenizer;
use tantivy::schema::{IndexRecordOption, Schema};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{DocAddress, DocSet, Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, Term, TERMINATED};

use crate::analyzer::{analyze, analyzer, pieces_analyzer, ANALYZER_NAME, PIECES_ANALYZER_NAME};
use crate::error::{Error, Result};
use crate::generation::Generation;
use crate::remembered;
use crate::retrieve::retrieve;
use crate::schema::{Config, Fields, FilterKind, Product, Value, PIECES_PREFIX};
use crate::score::{coordinated_pass, expansion_pass, ExpansionKeyword, WordQuery};

mod ranking;
mod words;

/// A query is cut to this many characters (the rest is ignored, never an error).
pub const MAX_QUERY_CHARS: usize = 1_000;
/// At most this many distinct words of a query are searched for.
pub const MAX_QUERY_WORDS: usize = 32;
/// At most this many expansion keywords are searched for.
pub const MAX_EXPANSIONS: usize = 32;
/// How many bytes of answers [`SearchIndex::search`] remembers between two writes.
pub const REMEMBERED_BYTES: usize = 32 << 20;

/// A condition on one filter field.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// One of these strings (a string field).
    AnyOf(Vec<String>),
    /// One of these numbers (a number field).
    NumberAnyOf(Vec<f64>),
    /// Between `min` and `max`, both included; `None` is open (a number field).
    Range { min: Option<f64>, max: Option<f64> },
    /// This flag (a boolean field).
    Bool(bool),
}

/// A filter: a field by the user's name and the condition its value must meet.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub field: String,
    pub condition: Condition,
}

/// What to search for.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    /// The shopper's words.
    pub text: String,
    /// Expansion keywords and their weights (multipliers of their BM25 score; below 1 so that
    /// they count less than the shopper's own words). They add to the score of the products
    /// that have the shopper's words; when those words match nothing, the products matching
    /// the expansions are the matches.
    pub expansions: Vec<(String, f32)>,
    /// Whether Latin words with no exact match in the catalogue may match with typos.
    pub typos: bool,
    /// All must hold.
    pub filters: Vec<Filter>,
    /// Filter fields (string or boolean) to count values of over all matches.
    pub facets: Vec<String>,
    /// How many of the best matches to return.
    pub limit: usize,
    /// With no word to search for, return every product that passes the filters (ranked by
    /// popularity) instead of nothing.
    pub browse_if_empty: bool,
}

/// One match.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub id: String,
    /// BM25 of the shopper's words (typo matches included, down-weighted).
    pub text: f32,
    /// BM25 of the expansion keywords, weighted.
    pub expansion: f32,
    /// The product's popularity as given when it was indexed.
    pub popularity: f64,
}

/// The answer to a [`SearchQuery`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchOutput {
    /// The best matches: by text plus expansion score, then popularity, then id.
    pub hits: Vec<Hit>,
    /// How many products match after the filters.
    pub total: u64,
    /// Per requested facet field, `(value, count)` over all matches, by count then value.
    pub facets: Vec<(String, Vec<(String, u64)>)>,
    /// The shopper's words as the analyzer reads them (distinct, in order).
    pub words: Vec<String>,
    /// `(word, catalogue term)` for every word that matched only with typos.
    pub corrections: Vec<(String, String)>,
    /// The expansion keywords that matched at least one product before filters.
    pub expansions_used: Vec<String>,
    /// Whether there was nothing to search for and every product passing the filters was
    /// a candidate (`browse_if_empty`).
    pub browsed: bool,
}

/// A product search index. `Send + Sync`: searches run concurrently with each other and with
/// writes (a search sees the index as of the last completed write).
pub struct SearchIndex {
    config: Config,
    fields: Fields,
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    analyzer: TextAnalyzer,
    pieces_analyzer: TextAnalyzer,
    /// What the current searcher generation reads once rather than per search: ids by term
    /// ordinal (walking the id dictionary for every search cost more than the search itself),
    /// filter columns, term score bounds.
    generation: RwLock<Option<Arc<Generation>>>,
}

/// The tantivy writer's memory per indexing thread.
const WRITER_BYTES_PER_THREAD: usize = 32_000_000;

/// The tokenizer for `user_words`; the one without user words is built once per process
/// (loading jieba's dictionary takes a moment).
fn tokenizer_for(user_words: &[String]) -> Result<Arc<CoreTokenizer>> {
    static DEFAULT: OnceLock<Arc<CoreTokenizer>> = OnceLock::new();
    if !user_words.is_empty() {
        return Ok(Arc::new(CoreTokenizer::new(user_words)?));
    }
    if let Some(t) = DEFAULT.get() {
        return Ok(Arc::clone(t));
    }
    let built = Arc::new(CoreTokenizer::new(&[])?);
    Ok(Arc::clone(DEFAULT.get_or_init(|| built)))
}

fn open_index(config: &Config, index: Index, fields: Fields, num_threads: usize) -> Result<SearchIndex> {
    let tokenizer = tokenizer_for(&config.user_words)?;
    let analyzer = analyzer(tokenizer);
    index.tokenizers().register(ANALYZER_NAME, analyzer.clone());
    let pieces_analyzer = pieces_analyzer();
    index.tokenizers().register(PIECES_ANALYZER_NAME, pieces_analyzer.clone());
    let threads = if num_threads == 0 {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get).min(8)
    } else {
        num_threads.min(64)
    };
    let writer: IndexWriter = index.writer_with_num_threads(threads, WRITER_BYTES_PER_THREAD * threads)?;
    // Merges happen in `commit`, synchronously; none in the background.
    writer.set_merge_policy(Box::new(tantivy::merge_policy::NoMergePolicy));
    let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
    Ok(SearchIndex {
        config: config.clone(),
        fields,
        index,
        reader,
        writer: Mutex::new(writer),
        analyzer,
        pieces_analyzer,
        generation: RwLock::new(None),
    })
}

impl SearchIndex {
    /// An empty index, in memory (`path = None`) or in a new directory at `path`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a bad configuration or a directory that already holds an
    /// index; [`Error::Engine`] when the directory cannot be written.
    pub fn create(config: &Config, path: Option<&Path>, num_threads: usize) -> Result<Self> {
        config.check()?;
        let (schema, fields) = config.schema();
        let index = match path {
            None => Index::create_in_ram(schema),
            Some(path) => {
                std::fs::create_dir_all(path).map_err(|e| Error::Engine(format!("{}: {e}", path.display())))?;
                Index::create_in_dir(path, schema).map_err(|e| match e {
                    tantivy::TantivyError::IndexAlreadyExists => {
                        Error::invalid("path", format!("{} already holds an index", path.display()))
                    }
                    other => other.into(),
                })?
            }
        };
        open_index(config, index, fields, num_threads)
    }

    /// The index saved by [`SearchIndex::save`] in `dir`, copied into memory or into a new
    /// directory at `path`.
    ///
    /// # Errors
    /// [`Error::CorruptData`] when `dir` holds no index of this configuration.
    pub fn load(dir: &Path, config: &Config, path: Option<&Path>, num_threads: usize) -> Result<Self> {
        let saved = Index::open_in_dir(dir).map_err(|e| Error::CorruptData(format!("{}: {e}", dir.display())))?;
        let (schema, _) = config.schema();
        if !same_schema(&saved.schema(), &schema) {
            return Err(Error::CorruptData(format!(
                "{}: the saved index has other fields than its metadata says",
                dir.display()
            )));
        }
        let loaded = SearchIndex::create(config, path, num_threads)?;
        let corrupt = |what: &dyn std::fmt::Display| Error::CorruptData(format!("{}: {what}", dir.display()));
        let searcher = saved.reader().map_err(|e| corrupt(&e))?.searcher();
        // Damaged files (a load without checksums) make tantivy's readers fail or panic while
        // the documents are copied: a corrupt index either way, not an engine failure or a bug.
        let copied = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            loaded.write(|writer, _| copy_documents(&searcher, &loaded.fields, config, writer).map_err(|e| corrupt(&e)))
        }));
        copied.unwrap_or_else(|_| Err(corrupt(&"the index files are damaged")))?;
        Ok(loaded)
    }

    /// Writes a copy of the index into the directory `dir` (created; must not hold an index).
    ///
    /// # Errors
    /// [`Error::Engine`] when the directory cannot be written.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let copy = SearchIndex::create(&self.config, Some(dir), 1)?;
        let searcher = self.reader.searcher();
        copy.write(|writer, _| copy_documents(&searcher, &copy.fields, &self.config, writer))?;
        let writer = copy.writer.into_inner().unwrap_or_else(PoisonError::into_inner);
        writer.wait_merging_threads()?;
        Ok(())
    }

    #[must_use]
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The number of products.
    #[must_use]
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The tokens the index reads `text` as.
    #[must_use]
    pub fn analyze(&self, text: &str) -> Vec<String> {
        analyze(&mut self.analyzer.clone(), text)
    }

    /// Runs `f` with the writer and a searcher of the current state, then commits, merges into
    /// one segment and reloads the reader. `f` must check its inputs before it writes anything.
    fn write<T>(&self, f: impl FnOnce(&mut IndexWriter, &Searcher) -> Result<T>) -> Result<T> {
        let mut writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let searcher = self.reader.searcher();
        let out = match f(&mut writer, &searcher) {
            Ok(out) => out,
            Err(error) => {
                writer.rollback()?;
                return Err(error);
            }
        };
        writer.commit()?;
        let metas = self.index.searchable_segment_metas()?;
        if metas.len() > 1 || metas.iter().any(tantivy::index::SegmentMeta::has_deletes) {
            let ids: Vec<_> = metas.iter().map(tantivy::index::SegmentMeta::id).collect();
            writer.merge(&ids).wait()?;
        }
        writer.garbage_collect_files().wait()?;
        self.reader.reload()?;
        self.generation_of(&self.reader.searcher())?;
        Ok(out)
    }

    /// The cached reads of `searcher`'s generation; read once per generation.
    fn generation_of(&self, searcher: &Searcher) -> Result<Arc<Generation>> {
        let id = searcher.generation().generation_id();
        if let Some(found) = &*self.generation.read().unwrap_or_else(PoisonError::into_inner) {
            if found.id == id {
                return Ok(Arc::clone(found));
            }
        }
        let read = Arc::new(Generation::read(searcher, &self.config)?);
        *self.generation.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(&read));
        Ok(read)
    }

    fn check_products(&self, products: &[Product]) -> Result<()> {
        let mut ids = HashSet::with_capacity(products.len());
        for product in products {
            self.config.check_product(product)?;
            if !ids.insert(product.id.as_str()) {
                return Err(Error::invalid("products", format!("id {:?} appears twice", product.id)));
            }
        }
        Ok(())
    }

    /// Adds new products.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a product that does not fit the configuration or whose id
    /// is already in the index (nothing is added then).
    pub fn add(&self, products: &[Product]) -> Result<()> {
        self.check_products(products)?;
        self.write(|writer, searcher| {
            for product in products {
                if find(searcher, self.fields.id, &product.id)?.is_some() {
                    return Err(Error::invalid("products", format!("id {:?} is already in the index; use update", product.id)));
                }
            }
            for product in products {
                writer.add_document(self.fields.document(product))?;
            }
            Ok(())
        })
    }

    /// Replaces products (by id) with new versions.
    ///
    /// # Errors
    /// [`Error::UnknownId`] for an id not in the index (nothing is changed then).
    pub fn update(&self, products: &[Product]) -> Result<()> {
        self.check_products(products)?;
        self.write(|writer, searcher| {
            for product in products {
                if find(searcher, self.fields.id, &product.id)?.is_none() {
                    return Err(Error::UnknownId(product.id.clone()));
                }
            }
            for product in products {
                writer.delete_term(Term::from_field_text(self.fields.id, &product.id));
                writer.add_document(self.fields.document(product))?;
            }
            Ok(())
        })
    }

    /// Removes products; ids not in the index are ignored. Returns how many were removed.
    ///
    /// # Errors
    /// [`Error::Engine`] when the index cannot be written.
    pub fn delete(&self, ids: &[String]) -> Result<usize> {
        self.write(|writer, searcher| {
            let mut removed = 0;
            for id in ids.iter().collect::<HashSet<_>>() {
                if find(searcher, self.fields.id, id)?.is_some() {
                    writer.delete_term(Term::from_field_text(self.fields.id, id));
                    removed += 1;
                }
            }
            Ok(removed)
        })
    }

    /// Sets the stock flag of products. Returns how many changed.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the index has no stock field; [`Error::UnknownId`] for
    /// an id not in the index (nothing is changed then).
    pub fn set_stock(&self, ids: &[String], in_stock: bool) -> Result<usize> {
        let Some(stock) = self.config.stock_field.as_deref().and_then(|s| self.config.filter(s)).map(|(i, _)| i) else {
            return Err(Error::invalid("set_stock", "the index has no stock field"));
        };
        self.write(|writer, searcher| {
            let mut changed = Vec::new();
            for id in ids.iter().collect::<HashSet<_>>() {
                let address = find(searcher, self.fields.id, id)?.ok_or_else(|| Error::UnknownId(id.clone()))?;
                let mut product = self.fields.product(&self.config, &searcher.doc::<TantivyDocument>(address)?);
                if product.values[stock] != Value::Bool(in_stock) {
                    product.values[stock] = Value::Bool(in_stock);
                    changed.push(product);
                }
            }
            for product in &changed {
                writer.delete_term(Term::from_field_text(self.fields.id, &product.id));
                writer.add_document(self.fields.document(product))?;
            }
            Ok(changed.len())
        })
    }

    /// Every product in the index, by id.
    ///
    /// # Errors
    /// [`Error::Engine`] when the stored documents cannot be read.
    pub fn products(&self) -> Result<Vec<Product>> {
        let searcher = self.reader.searcher();
        let mut out = Vec::with_capacity(searcher.num_docs() as usize);
        for_each_alive(&searcher, |address| {
            out.push(self.fields.product(&self.config, &searcher.doc::<TantivyDocument>(address)?));
            Ok(())
        })?;
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    /// Searches.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a filter or facet on an unknown field or with a value of
    /// the wrong type. Never for the query text.
    pub fn search(&self, query: &SearchQuery) -> Result<SearchOutput> {
        self.search_remembering(query, REMEMBERED_BYTES)
    }

    /// [`SearchIndex::search`], remembering answers until the next write within about `bytes`
    /// (0: none, and none looked up; the most recently asked are kept). A query asked again before a
    /// write gets the remembered answer, which is the answer it would get: the index cannot
    /// change between writes.
    ///
    /// # Errors
    /// As [`SearchIndex::search`].
    pub fn search_remembering(&self, query: &SearchQuery, bytes: usize) -> Result<SearchOutput> {
        let searcher = self.reader.searcher();
        let generation = self.generation_of(&searcher)?;
        if bytes == 0 {
            return self.search_in(&searcher, &generation, query, false);
        }
        let key = remembered::key_of(query);
        if let Some(found) = generation.remembered.get(&key, bytes) {
            return Ok(found);
        }
        let out = self.search_in(&searcher, &generation, query, false)?;
        generation.remembered.remember(key, &out, bytes);
        Ok(out)
    }

    /// The answer [`SearchIndex::search_remembering`] remembers for `query`, if any: a lookup
    /// only (microseconds), for a caller that would rather not hand over a thread for it.
    ///
    /// # Errors
    /// When the index cannot be read.
    pub fn remembered_answer(&self, query: &SearchQuery, bytes: usize) -> Result<Option<SearchOutput>> {
        if bytes == 0 {
            return Ok(None);
        }
        let generation = self.generation_of(&self.reader.searcher())?;
        Ok(generation.remembered.get(&remembered::key_of(query), bytes))
    }

    /// [`SearchIndex::search`] without remembered answers; `exhaustive` scores every match
    /// instead of only those that can reach the best `limit` (the same answer, slower: for tests).
    #[cfg(test)]
    pub(crate) fn search_with(&self, query: &SearchQuery, exhaustive: bool) -> Result<SearchOutput> {
        let searcher = self.reader.searcher();
        let generation = self.generation_of(&searcher)?;
        self.search_in(&searcher, &generation, query, exhaustive)
    }

    /// The search itself, on `searcher` and its `generation`.
    fn search_in(
        &self,
        searcher: &Searcher,
        generation: &Generation,
        query: &SearchQuery,
        exhaustive: bool,
    ) -> Result<SearchOutput> {
        let filters = self.check_filters(&query.filters)?;
        let facets = self.check_facets(&query.facets)?;
        let mut analyzer = self.analyzer.clone();
        let text: String = query.text.chars().take(MAX_QUERY_CHARS).collect();
        let mut words: Vec<String> = Vec::new();
        for word in analyze(&mut analyzer, &text) {
            if !words.contains(&word) {
                words.push(word);
                if words.len() == MAX_QUERY_WORDS {
                    break;
                }
            }
        }
        let mut out = SearchOutput { words: words.clone(), ..SearchOutput::default() };

        let mut clauses: Vec<WordQuery> = Vec::new();
        for word in &words {
            if let Some(clause) = self.word_clause(searcher, word, query.typos, &mut out.corrections)? {
                clauses.push(clause);
            }
        }
        let mut expansion_keywords: Vec<ExpansionKeyword> = Vec::new();
        for (keyword, weight) in query.expansions.iter().take(MAX_EXPANSIONS) {
            if !(weight.is_finite() && *weight > 0.0) {
                continue;
            }
            let text: String = keyword.chars().take(MAX_QUERY_CHARS).collect();
            let mut tokens: Vec<Vec<(Term, f32)>> = Vec::new();
            for token in analyze(&mut analyzer, &text) {
                if words.contains(&token) {
                    continue;
                }
                let terms = self.exact_terms(searcher, &token)?;
                if !terms.is_empty() {
                    tokens.push(terms);
                }
            }
            if !tokens.is_empty() {
                out.expansions_used.push(keyword.clone());
                expansion_keywords.push(ExpansionKeyword { weight: *weight, tokens });
            }
        }

        let browse = words.is_empty() && query.expansions.is_empty() && query.browse_if_empty;
        if !browse && !exhaustive {
            // The products with the shopper's words, scored only as far as the best `limit`
            // need; when they match nothing, the expansions' own matches are the answer.
            let segments = searcher.segment_readers().len();
            if let Some(found) = retrieve(searcher, generation, clauses, &expansion_keywords, &filters, &facets, query.limit)? {
                out.total = found.total;
                out.facets = self.facet_list(&facets, found.facets);
                Self::finish(generation, found.kept, query.limit, &mut out);
            } else {
                let matches = expansion_pass(searcher, &expansion_keywords, vec![Vec::new(); segments])?;
                self.rank(searcher, generation, &matches, &filters, &facets, query.limit, &mut out)?;
            }
            return Ok(out);
        }
        // Per segment, (doc, text score, expansion score) in doc order.
        let matches: Vec<Vec<(u32, f32, f32)>> = if browse {
            out.browsed = true;
            let mut all = vec![Vec::new(); searcher.segment_readers().len()];
            for_each_alive(searcher, |a| {
                all[a.segment_ord as usize].push((a.doc_id, 0.0, 0.0));
                Ok(())
            })?;
            all
        } else {
            // Expansions re-rank the products that have the shopper's words; only when
            // those words match nothing do the expansions' own matches become the answer
            // (a generic expansion such as "red" would otherwise add a third of the
            // catalogue to every search, to its total and its facets).
            let own = coordinated_pass(searcher, clauses)?;
            expansion_pass(searcher, &expansion_keywords, own)?
        };
        self.rank(searcher, generation, &matches, &filters, &facets, query.limit, &mut out)?;
        Ok(out)
    }

    fn check_filters(&self, filters: &[Filter]) -> Result<Vec<(usize, Condition)>> {
        filters
            .iter()
            .map(|filter| {
                let Some((i, kind)) = self.config.filter(&filter.field) else {
                    return Err(Error::invalid("filters", format!("{:?} is not a filter field of this index", filter.field)));
                };
                let fits = match (&filter.condition, kind) {
                    (Condition::AnyOf(_), FilterKind::Str) | (Condition::Bool(_), FilterKind::Bool) => true,
                    (Condition::NumberAnyOf(values), FilterKind::Number) => values.iter().all(|v| v.is_finite()),
                    (Condition::Range { min, max }, FilterKind::Number) => {
                        min.is_none_or(|x| !x.is_nan()) && max.is_none_or(|x| !x.is_nan())
                    }
                    _ => false,
                };
                if fits {
                    Ok((i, filter.condition.clone()))
                } else {
                    Err(Error::invalid(
                        "filters",
                        format!("{:?} is a {kind:?} field; {:?} does not apply", filter.field, filter.condition),
                    ))
                }
            })
            .collect()
    }

    fn check_facets(&self, facets: &[String]) -> Result<Vec<(usize, FilterKind)>> {
        facets
            .iter()
            .map(|name| match self.config.filter(name) {
                Some((i, kind @ (FilterKind::Str | FilterKind::Bool))) => Ok((i, kind)),
                Some(_) => {
                    Err(Error::invalid("facets", format!("{name:?} is a number field; facets count string or boolean fields")))
                }
                None => Err(Error::invalid("facets", format!("{name:?} is not a filter field of this index"))),
            })
            .collect()
    }
}

/// Whether the stored fields agree (the pieces fields are not stored: they are rebuilt from
/// the text on load, so an index saved before they existed loads too).
fn same_schema(a: &Schema, b: &Schema) -> bool {
    let describe = |s: &Schema| {
        s.fields()
            .filter(|(_, entry)| !entry.name().starts_with(PIECES_PREFIX))
            .map(|(_, entry)| (entry.name().to_owned(), format!("{:?}", entry.field_type().value_type())))
            .collect::<Vec<_>>()
    };
    describe(a) == describe(b)
}

/// The live document with `id`, if any.
fn find(searcher: &Searcher, field: tantivy::schema::Field, id: &str) -> Result<Option<DocAddress>> {
    let term = Term::from_field_text(field, id);
    for (ord, segment) in searcher.segment_readers().iter().enumerate() {
        let Some(mut postings) = segment.inverted_index(field)?.read_postings(&term, IndexRecordOption::Basic)? else {
            continue;
        };
        let mut doc = postings.doc();
        while doc != TERMINATED {
            if segment.alive_bitset().is_none_or(|alive| alive.is_alive(doc)) {
                return Ok(Some(DocAddress::new(ord as u32, doc)));
            }
            doc = postings.advance();
        }
    }
    Ok(None)
}

fn for_each_alive(searcher: &Searcher, mut f: impl FnMut(DocAddress) -> Result<()>) -> Result<()> {
    for (ord, segment) in searcher.segment_readers().iter().enumerate() {
        for doc in 0..segment.max_doc() {
            if segment.alive_bitset().is_none_or(|alive| alive.is_alive(doc)) {
                f(DocAddress::new(ord as u32, doc))?;
            }
        }
    }
    Ok(())
}

/// Re-adds every live product of `from` (read from its stored fields, which have the same ids
/// in both schemas) so that the unstored fields are analysed again.
fn copy_documents(from: &Searcher, fields: &Fields, config: &Config, writer: &mut IndexWriter) -> Result<()> {
    for_each_alive(from, |address| {
        let product = fields.product(config, &from.doc::<TantivyDocument>(address)?);
        writer.add_document(fields.document(&product))?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use tantivy::query::{BooleanQuery, BoostQuery, EnableScoring, Occur, Query};

    use super::*;

    /// The expansion pass reads postings itself: its scores must be exactly those of the
    /// nested tantivy query it replaced (should-clauses of boosted term queries per field, per
    /// token, per keyword), with and without the shopper's own matches.
    #[test]
    fn expansion_scores_equal_tantivys_nested_query() {
        let config = Config {
            text_fields: vec![("title".into(), 2.0), ("description".into(), 1.0)],
            filter_fields: vec![],
            user_words: vec![],
            stock_field: None,
        };
        let index = SearchIndex::create(&config, None, 1).unwrap();
        let words = ["red", "blue", "shoes", "hat", "warm", "wool", "boots", "light", "red"];
        let mut state = 7u64;
        let mut next = |n: usize| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as usize % n
        };
        let text = |n: usize, next: &mut dyn FnMut(usize) -> usize| {
            (0..n).map(|_| words[next(words.len())]).collect::<Vec<_>>().join(" ")
        };
        let products: Vec<Product> = (0..300)
            .map(|i| {
                let (t, d) = (1 + next(5), next(5));
                Product {
                    id: format!("p{i}"),
                    texts: vec![text(t, &mut next), text(d, &mut next)],
                    values: vec![],
                    popularity: 0.0,
                }
            })
            .collect();
        index.add(&products[..200]).unwrap();
        index.add(&products[200..]).unwrap();
        index.delete(&["p3".to_owned(), "p250".to_owned()]).unwrap();
        let searcher = index.reader.searcher();
        let expansions = [("red hat", 0.3f32), ("blue", 0.2), ("warm wool boots", 0.25), ("red", 0.1), ("nothing", 0.2)];
        let mut keywords = Vec::new();
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for (keyword, weight) in expansions {
            let mut tokens = Vec::new();
            let mut terms: Vec<(Occur, Box<dyn Query>)> = Vec::new();
            for token in index.analyze(keyword) {
                let found = index.exact_terms(&searcher, &token).unwrap();
                if !found.is_empty() {
                    terms.push((Occur::Should, super::words::clause_of(&found, 1.0).unwrap()));
                    tokens.push(found);
                }
            }
            if !tokens.is_empty() {
                keywords.push(ExpansionKeyword { weight, tokens });
                clauses.push((Occur::Should, Box::new(BoostQuery::new(Box::new(BooleanQuery::new(terms)), weight))));
            }
        }
        let weight = BooleanQuery::new(clauses).weight(EnableScoring::enabled_from_searcher(&searcher)).unwrap();
        let mut want: Vec<HashMap<u32, f32>> = Vec::new();
        for segment in searcher.segment_readers() {
            let mut scores = HashMap::new();
            crate::score::for_each_live(weight.as_ref(), segment, &mut |doc, score| {
                scores.insert(doc, score);
            })
            .unwrap();
            want.push(scores);
        }
        // Without own matches: the expansions' matches, in doc order.
        let none: Vec<Vec<(u32, f32)>> = searcher.segment_readers().iter().map(|_| Vec::new()).collect();
        let got = expansion_pass(&searcher, &keywords, none).unwrap();
        for (docs, scores) in got.iter().zip(&want) {
            let mut expected: Vec<(u32, f32, f32)> = scores.iter().map(|(&d, &s)| (d, 0.0, s)).collect();
            expected.sort_by_key(|x| x.0);
            assert_eq!(docs, &expected);
        }
        // With own matches (every third live document): those, with their exact expansion score.
        let own: Vec<Vec<(u32, f32)>> = searcher
            .segment_readers()
            .iter()
            .map(|s| {
                (0..s.max_doc())
                    .filter(|d| d % 3 == 0 && s.alive_bitset().is_none_or(|a| a.is_alive(*d)))
                    .map(|d| (d, 1.5))
                    .collect()
            })
            .collect();
        let got = expansion_pass(&searcher, &keywords, own.clone()).unwrap();
        for ((docs, scores), own) in got.iter().zip(&want).zip(&own) {
            let expected: Vec<(u32, f32, f32)> =
                own.iter().map(|&(d, t)| (d, t, scores.get(&d).copied().unwrap_or(0.0))).collect();
            assert_eq!(docs, &expected);
        }
        assert!(got.iter().flatten().any(|x| x.2 > 0.0));
    }
}
