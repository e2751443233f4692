//! Dense and sparse linear algebra shared by the kernels: today the randomized truncated SVD
//! (used by the keyword model's term vectors, available to segments and any later caller).

pub mod svd;
