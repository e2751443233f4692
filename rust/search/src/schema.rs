//! What an index holds: its configuration (text fields with weights, filter fields with types),
//! the products going in, and the tantivy schema built from them.
//!
//! tantivy fields get internal names (`_id`, `_popularity`, `t0`, `f0`, ...) so that any column
//! name a shop uses (with dots, spaces, Chinese) is safe; the user's names live only here.

use tantivy::schema::Value as _;
use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions, FAST, INDEXED, STORED, STRING,
};
use tantivy::TantivyDocument;

use crate::analyzer::{ANALYZER_NAME, PIECES_ANALYZER_NAME};
use crate::error::{Error, Result};

/// The type of a filter field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterKind {
    /// Strings (one or several per product): equality, sets, facet counts.
    Str,
    /// A number (stored as `f64`): equality, sets, ranges.
    Number,
    /// A flag (`in_stock`): equality, facet counts.
    Bool,
}

/// The fields of an index, by the user's names.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Text fields and their weights (multipliers of each field's BM25 score).
    pub text_fields: Vec<(String, f32)>,
    /// Filter fields and their types.
    pub filter_fields: Vec<(String, FilterKind)>,
    /// The catalogue's own words for the tokenizer (kept whole by jieba).
    pub user_words: Vec<String>,
    /// The boolean filter field `set_stock` changes, if any.
    pub stock_field: Option<String>,
}

/// One value of a filter field for one product.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(Vec<String>),
    Number(f64),
    Bool(bool),
    Missing,
}

/// A product as the index sees it: its id, one text per text field, one value per filter
/// field (both in the order of [`Config`]) and its popularity.
#[derive(Debug, Clone, PartialEq)]
pub struct Product {
    pub id: String,
    pub texts: Vec<String>,
    pub values: Vec<Value>,
    pub popularity: f64,
}

/// The tantivy fields of an index.
#[derive(Debug, Clone)]
pub(crate) struct Fields {
    pub id: Field,
    pub popularity: Field,
    pub text: Vec<Field>,
    pub filters: Vec<Field>,
    /// Per text field, its sub-word pieces (not stored; see [`crate::analyzer::pieces`]).
    pub pieces: Vec<Field>,
}

pub(crate) const ID: &str = "_id";
pub(crate) const POPULARITY: &str = "_popularity";

pub(crate) fn filter_name(i: usize) -> String {
    format!("f{i}")
}

/// The prefix of the pieces fields' names (`p0`, `p1`, ...); they come after every other
/// field, so the other fields keep their ids in indexes saved before pieces existed.
pub(crate) const PIECES_PREFIX: char = 'p';

impl Config {
    /// Checks names and weights.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for no text field, an empty or repeated name, a weight that
    /// is not a positive finite number, or a stock field that is not a boolean filter field.
    pub fn check(&self) -> Result<()> {
        if self.text_fields.is_empty() {
            return Err(Error::invalid("text", "at least one text field is needed"));
        }
        let mut seen = std::collections::HashSet::new();
        for (name, weight) in &self.text_fields {
            if !(weight.is_finite() && *weight > 0.0) {
                return Err(Error::invalid("text", format!("weight of {name:?} must be a positive number, got {weight}")));
            }
            if name.is_empty() || !seen.insert(name.as_str()) {
                return Err(Error::invalid("text", format!("field {name:?} is empty or repeated")));
            }
        }
        for (name, _) in &self.filter_fields {
            if name.is_empty() || !seen.insert(name.as_str()) {
                return Err(Error::invalid("filters", format!("field {name:?} is empty or repeated")));
            }
        }
        if let Some(stock) = &self.stock_field {
            if self.filter(stock).map(|(_, kind)| kind) != Some(FilterKind::Bool) {
                return Err(Error::invalid("stock", format!("{stock:?} is not a boolean filter field")));
            }
        }
        Ok(())
    }

    /// The position and type of the filter field `name`.
    #[must_use]
    pub fn filter(&self, name: &str) -> Option<(usize, FilterKind)> {
        self.filter_fields.iter().position(|(n, _)| n == name).map(|i| (i, self.filter_fields[i].1))
    }

    pub(crate) fn schema(&self) -> (Schema, Fields) {
        let mut builder = Schema::builder();
        let id = builder.add_text_field(ID, STRING | STORED | FAST);
        let popularity = builder.add_f64_field(POPULARITY, NumericOptions::default() | FAST | STORED);
        let indexing = TextFieldIndexing::default().set_tokenizer(ANALYZER_NAME).set_index_option(IndexRecordOption::WithFreqs);
        let text_options = TextOptions::default().set_indexing_options(indexing).set_stored();
        let text = (0..self.text_fields.len()).map(|i| builder.add_text_field(&format!("t{i}"), text_options.clone())).collect();
        let filters = self
            .filter_fields
            .iter()
            .enumerate()
            .map(|(i, (_, kind))| match kind {
                FilterKind::Str => builder.add_text_field(&filter_name(i), STRING | STORED | FAST),
                FilterKind::Number => builder.add_f64_field(&filter_name(i), NumericOptions::default() | INDEXED | FAST | STORED),
                FilterKind::Bool => builder.add_bool_field(&filter_name(i), NumericOptions::default() | INDEXED | FAST | STORED),
            })
            .collect();
        let pieces_indexing =
            TextFieldIndexing::default().set_tokenizer(PIECES_ANALYZER_NAME).set_index_option(IndexRecordOption::WithFreqs);
        let pieces_options = TextOptions::default().set_indexing_options(pieces_indexing);
        let pieces = (0..self.text_fields.len())
            .map(|i| builder.add_text_field(&format!("{PIECES_PREFIX}{i}"), pieces_options.clone()))
            .collect();
        (builder.build(), Fields { id, popularity, text, filters, pieces })
    }

    /// Checks that a product fits this configuration.
    pub(crate) fn check_product(&self, product: &Product) -> Result<()> {
        if product.texts.len() != self.text_fields.len() || product.values.len() != self.filter_fields.len() {
            return Err(Error::invalid("products", format!("product {:?} does not have one value per field", product.id)));
        }
        if !product.popularity.is_finite() {
            return Err(Error::invalid("popularity", format!("product {:?}: popularity is not finite", product.id)));
        }
        for ((name, kind), value) in self.filter_fields.iter().zip(&product.values) {
            let fits = match (kind, value) {
                (_, Value::Missing) | (FilterKind::Str, Value::Str(_)) | (FilterKind::Bool, Value::Bool(_)) => true,
                (FilterKind::Number, Value::Number(x)) => x.is_finite(),
                _ => false,
            };
            if !fits {
                return Err(Error::invalid(
                    "products",
                    format!("product {:?}: {name:?} must be {kind:?}, got {value:?}", product.id),
                ));
            }
        }
        Ok(())
    }
}

impl Fields {
    pub(crate) fn document(&self, product: &Product) -> TantivyDocument {
        let mut doc = TantivyDocument::new();
        doc.add_text(self.id, &product.id);
        doc.add_f64(self.popularity, product.popularity);
        for ((field, pieces), text) in self.text.iter().zip(&self.pieces).zip(&product.texts) {
            doc.add_text(*field, text);
            doc.add_text(*pieces, text);
        }
        for (field, value) in self.filters.iter().zip(&product.values) {
            match value {
                Value::Str(values) => {
                    for v in values {
                        doc.add_text(*field, v);
                    }
                }
                Value::Number(x) => doc.add_f64(*field, *x),
                Value::Bool(b) => doc.add_bool(*field, *b),
                Value::Missing => {}
            }
        }
        doc
    }

    /// The product a stored document was made from.
    pub(crate) fn product(&self, config: &Config, doc: &TantivyDocument) -> Product {
        let text_of = |field: Field| doc.get_first(field).and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        let values = self
            .filters
            .iter()
            .zip(&config.filter_fields)
            .map(|(field, (_, kind))| match kind {
                FilterKind::Str => {
                    let all: Vec<String> = doc.get_all(*field).filter_map(|v| v.as_str().map(str::to_owned)).collect();
                    if all.is_empty() {
                        Value::Missing
                    } else {
                        Value::Str(all)
                    }
                }
                FilterKind::Number => doc.get_first(*field).and_then(|v| v.as_f64()).map_or(Value::Missing, Value::Number),
                FilterKind::Bool => doc.get_first(*field).and_then(|v| v.as_bool()).map_or(Value::Missing, Value::Bool),
            })
            .collect();
        Product {
            id: text_of(self.id),
            texts: self.text.iter().map(|f| text_of(*f)).collect(),
            values,
            popularity: doc.get_first(self.popularity).and_then(|v| v.as_f64()).unwrap_or(0.0),
        }
    }
}
