//! Text: the tokenizer shared by keyword building, query expansion and (later) product search,
//! and the kernels that turn tokenized titles into term vectors (their SVD is in
//! [`crate::linalg::svd`]).

pub mod cooccur;
pub mod corpus;
pub mod phrases;
pub mod tokenizer;
