//! Product search for shoprec on tantivy: BM25 over the shop's own tokenizer, typo tolerance,
//! filters and facet counts over fast fields, writes visible to the next search. No Python.
//!
//! Ranking by the shopper (affinity from a recommender, popularity) happens in the Python
//! layer on the candidates returned here.

pub mod analyzer;
pub mod error;
pub mod fuzzy;
pub mod index;
pub mod schema;
pub mod score;

pub use error::{Error, Result};
pub use index::{Condition, Filter, Hit, SearchIndex, SearchOutput, SearchQuery};
pub use schema::{Config, FilterKind, Product, Value};
