//! Seeding: scikit-learn's greedy k-means++ (each new centre the best of `2 + ln k` candidates
//! drawn in proportion to the squared distance to the nearest chosen centre), from the shared
//! [`crate::rng::Rng`], with every reduction in a fixed chunk order.

use rayon::prelude::*;

use super::distance::{squared_distance, squared_distances4};
use super::lloyd::{ordered_sum, Problem};
use super::CHUNK;
use crate::real::Real;
use crate::rng::Rng;

impl<T: Real> Problem<'_, T> {
    /// Greedy k-means++: each new centre is the best (lowest potential) of `2 + ln k`
    /// candidates sampled proportionally to the squared distance to the nearest chosen centre.
    pub(super) fn kmeans_plus_plus(&self, rng: &mut Rng) -> Vec<T> {
        let (n, d, k) = (self.n_rows, self.n_cols, self.k);
        let n_trials = 2 + (k as f64).ln() as usize;
        let mut centroids = Vec::with_capacity(k * d);
        let first = rng.below(n);
        centroids.extend_from_slice(self.row(first));
        let mut closest = vec![0f64; n];
        closest.par_chunks_mut(CHUNK).enumerate().for_each(|(c, out)| {
            for (o, value) in out.iter_mut().enumerate() {
                *value = squared_distance(self.row(c * CHUNK + o), &centroids[..d]).to_f64();
            }
        });
        let mut potential = ordered_sum(&closest);
        let mut cumulative = vec![0f64; n];
        for _ in 1..k {
            let mut running = 0f64;
            for (cum, v) in cumulative.iter_mut().zip(&closest) {
                running += v;
                *cum = running;
            }
            let candidates: Vec<usize> = (0..n_trials)
                .map(|_| {
                    let target = rng.uniform() * potential;
                    cumulative.partition_point(|&c| c < target).min(n - 1)
                })
                .collect();
            // Potential of each candidate, reduced per chunk then in chunk order.
            let per_chunk: Vec<Vec<f64>> = closest
                .par_chunks(CHUNK)
                .enumerate()
                .map(|(c, dists)| {
                    let mut pots = vec![0f64; candidates.len()];
                    for (o, &current) in dists.iter().enumerate() {
                        let row = self.row(c * CHUNK + o);
                        let mut groups = candidates.chunks_exact(4);
                        let mut t = 0;
                        for group in &mut groups {
                            let centres = [self.row(group[0]), self.row(group[1]), self.row(group[2]), self.row(group[3])];
                            for dist in squared_distances4(row, centres) {
                                pots[t] += current.min(dist.to_f64());
                                t += 1;
                            }
                        }
                        for &cand in groups.remainder() {
                            pots[t] += current.min(squared_distance(row, self.row(cand)).to_f64());
                            t += 1;
                        }
                    }
                    pots
                })
                .collect();
            let mut pots = vec![0f64; candidates.len()];
            for chunk in &per_chunk {
                for (p, v) in pots.iter_mut().zip(chunk) {
                    *p += v;
                }
            }
            let mut best = 0;
            for t in 1..pots.len() {
                if pots[t] < pots[best] {
                    best = t;
                }
            }
            let chosen = candidates[best];
            potential = pots[best];
            centroids.extend_from_slice(self.row(chosen));
            let centre = self.row(chosen);
            closest.par_chunks_mut(CHUNK).enumerate().for_each(|(c, out)| {
                for (o, value) in out.iter_mut().enumerate() {
                    *value = value.min(squared_distance(self.row(c * CHUNK + o), centre).to_f64());
                }
            });
        }
        centroids
    }
}
