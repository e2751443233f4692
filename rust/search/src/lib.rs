//! Product search for shoprec on tantivy: BM25 over the shop's own tokenizer, typo tolerance,
//! filters and facet counts over fast fields, writes visible to the next search. No Python.
//!
//! Ranking by the shopper ([`blend`]: text relevance, affinity from a recommender,
//! popularity) runs on the candidates a search returns, with the recommender's scores for them.

pub mod analyzer;
pub mod blend;
pub mod error;
mod filters;
pub mod fuzzy;
mod generation;
pub mod index;
mod remembered;
mod retrieve;
pub mod schema;
pub mod score;

pub use blend::{blend, BlendWeights, Blended};
pub use error::{Error, Result};
pub use index::{Condition, Filter, Hit, SearchIndex, SearchOutput, SearchQuery, REMEMBERED_BYTES};
pub use schema::{Config, FilterKind, Product, Value};
