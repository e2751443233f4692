//! Text: the tokenizer shared by keyword building, query expansion and (later) product search,
//! and the kernels that turn tokenized titles into term vectors.

pub mod cooccur;
pub mod corpus;
pub mod phrases;
pub mod svd;
pub mod tokenizer;
