//! How a search's matches become its answer: filtered, counted with their facets, and the
//! best `limit` kept as hits in a stable order (score, popularity, id).

use std::collections::HashMap;

use tantivy::Searcher;

use super::{Condition, Hit, SearchIndex, SearchOutput};
use crate::error::Result;
use crate::filters::{SegmentFacet, SegmentFilter};
use crate::generation::Generation;
use crate::retrieve::Kept;
use crate::schema::FilterKind;

impl SearchIndex {
    /// Filters the matches, counts them and their facets, and keeps the best `limit`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn rank(
        &self,
        searcher: &Searcher,
        generation: &Generation,
        by_segment: &[Vec<(u32, f32, f32)>],
        filters: &[(usize, Condition)],
        facets: &[(usize, FilterKind)],
        limit: usize,
        out: &mut SearchOutput,
    ) -> Result<()> {
        let mut kept: Vec<Kept> = Vec::new();
        let mut facet_counts: Vec<HashMap<String, u64>> = vec![HashMap::new(); facets.len()];
        for (ord, docs) in by_segment.iter().enumerate() {
            if docs.is_empty() {
                continue;
            }
            let segment = &searcher.segment_readers()[ord];
            let cached = &generation.filters[ord];
            let seg_filters = filters
                .iter()
                .map(|(i, c)| SegmentFilter::new(segment, *i, c, cached.get(*i).and_then(Option::as_ref)))
                .collect::<Result<Vec<_>>>()?;
            let mut seg_facets =
                facets.iter().map(|(i, kind)| SegmentFacet::new(segment, *i, *kind)).collect::<Result<Vec<_>>>()?;
            for &(doc, text, expansion) in docs {
                if !seg_filters.iter().all(|f| f.accepts(doc)) {
                    continue;
                }
                for facet in &mut seg_facets {
                    facet.count(doc);
                }
                kept.push(Kept { score: text + expansion, popularity: 0.0, segment: ord as u32, doc, id_ord: u64::MAX, text });
            }
            for (facet, counts) in seg_facets.into_iter().zip(facet_counts.iter_mut()) {
                facet.merge_into(counts)?;
            }
        }
        out.total = kept.len() as u64;
        out.facets = self.facet_list(facets, facet_counts);
        Self::finish(generation, kept, limit, out);
        Ok(())
    }

    /// Per requested facet field, its `(value, count)` pairs by count then value.
    pub(super) fn facet_list(
        &self,
        facets: &[(usize, FilterKind)],
        counts: Vec<HashMap<String, u64>>,
    ) -> Vec<(String, Vec<(String, u64)>)> {
        facets
            .iter()
            .zip(counts)
            .map(|((i, _), counts)| {
                let mut counts: Vec<(String, u64)> = counts.into_iter().collect();
                counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                (self.config.filter_fields[*i].0.clone(), counts)
            })
            .collect()
    }

    /// The best `limit` of the scored matches `kept` (which must hold every match scoring at
    /// least the `limit`-th best) as hits, best first.
    pub(super) fn finish(generation: &Generation, mut kept: Vec<Kept>, limit: usize, out: &mut SearchOutput) {
        // Best first by score, then popularity, then id: writes merge the index into one
        // segment, whose id dictionary is sorted, so the id's term ordinal orders ids and the
        // answer does not depend on where tantivy stored the documents.
        let order = |a: &Kept, b: &Kept| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| b.popularity.total_cmp(&a.popularity))
                .then_with(|| a.segment.cmp(&b.segment))
                .then_with(|| a.id_ord.cmp(&b.id_ord))
        };
        // Popularity and id only matter for the best `limit` and the ties at the cut: read them
        // for those only (most matches of a common word are far below the cut).
        if limit > 0 && kept.len() > limit {
            kept.select_nth_unstable_by(limit - 1, |a, b| b.score.total_cmp(&a.score));
            let cut = kept[limit - 1].score;
            kept.retain(|k| k.score >= cut);
        }
        if limit == 0 {
            kept.clear();
        }
        for k in &mut kept {
            let segment = k.segment as usize;
            k.popularity = generation.popularity.get(segment).and_then(|p| p.get(k.doc as usize)).copied().unwrap_or(0.0);
            k.id_ord = generation.id_ords.get(segment).and_then(|o| o.get(k.doc as usize)).copied().unwrap_or(u64::MAX);
        }
        if kept.len() > limit {
            kept.select_nth_unstable_by(limit - 1, order);
            kept.truncate(limit);
        }
        kept.sort_unstable_by(order);
        out.hits = kept
            .into_iter()
            .map(|k| Hit {
                id: generation
                    .ids
                    .get(k.segment as usize)
                    .and_then(|ids| usize::try_from(k.id_ord).ok().and_then(|o| ids.get(o)))
                    .cloned()
                    .unwrap_or_default(),
                text: k.text,
                expansion: k.score - k.text,
                popularity: k.popularity,
            })
            .collect();
    }
}
