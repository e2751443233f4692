use super::*;
use crate::csr::Csr;
use proptest::prelude::*;

fn xorshift(seed: u64) -> impl FnMut() -> u64 {
    let mut state = seed | 1;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}

/// A random CSR with dyadic values (exact in f32 whatever the summation order).
fn random_csr(n_rows: usize, n_cols: usize, density: u64, next: &mut impl FnMut() -> u64, sorted: bool) -> Csr<f32> {
    let mut indptr = vec![0i64];
    let mut indices = Vec::new();
    let mut data = Vec::new();
    for _ in 0..n_rows {
        let mut row: Vec<i32> = (0..n_cols as i32).filter(|_| next() % 100 < density).collect();
        if !sorted {
            row.reverse();
        }
        for &c in &row {
            indices.push(c);
            data.push(((next() % 9) as f32 - 3.0) / 4.0);
        }
        indptr.push(indices.len() as i64);
    }
    Csr { n_rows, n_cols, indptr, indices, data }
}

fn ranking_of(pop: &[f32]) -> Vec<i32> {
    let mut order: Vec<i32> = (0..pop.len() as i32).collect();
    order.sort_by(|&a, &b| compare_keys(0.0, pop[a as usize], a, 0.0, pop[b as usize], b));
    order
}

/// Dense scores, then a full sort of the allowed candidates.
fn naive(
    query: Query<'_>,
    sources: &Csr<f32>,
    pop: &[f32],
    include: Option<&[i32]>,
    exclude: &[i32],
    k: usize,
) -> (Vec<i32>, Vec<f32>) {
    let n = sources.n_cols;
    let mut dense = vec![0f32; n];
    for (&s, &w) in query.sources.iter().zip(query.weights) {
        let v = sources.view();
        for (&i, &x) in v.row_indices(s as usize).iter().zip(v.row_data(s as usize)) {
            dense[i as usize] += w * x;
        }
    }
    let mut cands: Vec<i32> = (0..n as i32)
        .filter(|i| include.is_none_or(|inc| inc.contains(i)))
        .filter(|i| !exclude.contains(i) && !query.seen.contains(i))
        .collect();
    cands.sort_by(|&a, &b| compare_keys(dense[a as usize], pop[a as usize], a, dense[b as usize], pop[b as usize], b));
    let mut ids = vec![-1; k];
    let mut scores = vec![f32::NEG_INFINITY; k];
    for (j, &c) in cands.iter().take(k).enumerate() {
        ids[j] = c;
        scores[j] = dense[c as usize];
    }
    (ids, scores)
}

#[test]
fn ranking_checks_the_order() {
    let pop = [1.0, 3.0, 3.0];
    assert!(Ranking::new(&pop, &[1, 2, 0]).is_ok());
    assert!(Ranking::new(&pop, &[2, 1, 0]).is_err());
    assert!(Ranking::new(&pop, &[1, 1, 0]).is_err());
    assert!(Ranking::new(&pop, &[1, 2]).is_err());
    assert!(Ranking::new(&[f32::NAN], &[0]).is_err());
}

#[test]
fn small_example() {
    // Item-based: 3 items; item 0's neighbours are 1 (0.5) and 2 (0.25).
    let s = Csr { n_rows: 3, n_cols: 3, indptr: vec![0, 2, 3, 3], indices: vec![1, 2, 0], data: vec![0.5, 0.25, 1.0] };
    let pop = [0.0, 0.0, 5.0];
    let order = ranking_of(&pop);
    let ranking = Ranking::new(&pop, &order).unwrap();
    let q = Query { sources: &[0], weights: &[2.0], seen: &[0] };
    let (ids, scores) = recommend_query(q, &s.view(), &ranking, &Filters::default(), 3).unwrap();
    assert_eq!(ids, vec![1, 2, -1]);
    assert_eq!(scores, vec![1.0, 0.5, f32::NEG_INFINITY]);
    let explained = explain_query(q, &s.view(), 2).unwrap();
    assert_eq!(explained, vec![(0, 0.5)]);
    // A huge k allocates no more than the catalogue.
    let (ids, _) = recommend_query(q, &s.view(), &ranking, &Filters::default(), usize::MAX).unwrap();
    assert_eq!(ids, vec![1, 2, -1]);
    // Nothing touched: popularity order.
    let empty = Query { sources: &[], weights: &[], seen: &[] };
    let (ids, _) = recommend_query(empty, &s.view(), &ranking, &Filters::default(), 2).unwrap();
    assert_eq!(ids, vec![2, 0]);
}

#[test]
fn rejects_bad_ids() {
    let s = Csr { n_rows: 2, n_cols: 2, indptr: vec![0, 0, 0], indices: vec![], data: vec![] };
    let pop = [0.0, 0.0];
    let order = [0, 1];
    let ranking = Ranking::new(&pop, &order).unwrap();
    let ok = Query { sources: &[1], weights: &[1.0], seen: &[] };
    assert!(recommend_query(Query { sources: &[2], ..ok }, &s.view(), &ranking, &Filters::default(), 1).is_err());
    assert!(recommend_query(Query { seen: &[-1], ..ok }, &s.view(), &ranking, &Filters::default(), 1).is_err());
    assert!(recommend_query(Query { weights: &[f32::NAN], ..ok }, &s.view(), &ranking, &Filters::default(), 1).is_err());
    assert!(recommend_query(ok, &s.view(), &ranking, &Filters { include: Some(&[5]), exclude: &[] }, 1).is_err());
    assert!(recommend_query(ok, &s.view(), &ranking, &Filters::default(), 0).is_err());
}

#[test]
fn query_work_counts_visited_entries() {
    let s = Csr { n_rows: 3, n_cols: 3, indptr: vec![0, 2, 3, 3], indices: vec![1, 2, 0], data: vec![0.5, 0.25, 1.0] };
    let q = Query { sources: &[0, 1, 2, 0], weights: &[1.0; 4], seen: &[] };
    assert_eq!(query_work(&q, &s.view()), 5);
    // Out-of-range sources count nothing (the scoring call refuses them).
    let bad = Query { sources: &[-1, 3, 1], weights: &[1.0; 3], seen: &[] };
    assert_eq!(query_work(&bad, &s.view()), 1);
}

#[test]
fn row_head_skips_excluded_in_stored_order() {
    let s = Csr { n_rows: 2, n_cols: 5, indptr: vec![0, 4, 4], indices: vec![3, 1, 4, 0], data: vec![0.9, 0.5, 0.5, 0.1] };
    assert_eq!(row_head(&s.view(), 0, 2, &[]).unwrap(), (vec![3, 1], vec![0.9, 0.5]));
    assert_eq!(row_head(&s.view(), 0, 3, &[1, 1, 3]).unwrap(), (vec![4, 0], vec![0.5, 0.1]));
    assert_eq!(row_head(&s.view(), 1, 3, &[]).unwrap(), (vec![], vec![]));
    assert!(row_head(&s.view(), 2, 3, &[]).is_err());
    assert!(row_head(&s.view(), 0, 0, &[]).is_err());
    assert!(row_head(&s.view(), 0, 3, &[3, 1]).is_err());
}

#[test]
fn score_back_to_zero_then_touched_again() {
    // Item 2 gets +1, -1 (back to exactly 0, listed once more on the next touch), then +1.
    // Item 1 ends at exactly 0 and must rank as an untouched item, by popularity. Six
    // items for five additions: the sparse path, not the dense one.
    let s = Csr {
        n_rows: 3,
        n_cols: 6,
        indptr: vec![0, 2, 4, 5],
        indices: vec![2, 1, 2, 1, 2],
        data: vec![1.0, 1.0, -1.0, -1.0, 1.0],
    };
    let pop = [3.0, 1.0, 0.0, 2.0, 0.5, 0.25];
    let order = ranking_of(&pop);
    let ranking = Ranking::new(&pop, &order).unwrap();
    let q = Query { sources: &[0, 1, 2], weights: &[1.0, 1.0, 1.0], seen: &[] };
    let (ids, scores) = recommend_query(q, &s.view(), &ranking, &Filters::default(), 4).unwrap();
    assert_eq!(ids, vec![2, 0, 3, 1]);
    assert_eq!(scores, vec![1.0, 0.0, 0.0, 0.0]);
    // The same through a repeated include list (the sparse path with filters).
    let include = [2, 2, 1, 1, 3];
    let filters = Filters { include: Some(&include), exclude: &[] };
    let (ids, scores) = recommend_query(q, &s.view(), &ranking, &filters, 4).unwrap();
    assert_eq!(ids, vec![2, 3, 1, -1]);
    assert_eq!(scores, vec![1.0, 0.0, 0.0, f32::NEG_INFINITY]);
}

proptest! {
    /// Values of +-1 and weights of 1 make partial sums return to exactly 0 often: the
    /// touched list then repeats items and zero scores compete with untouched items.
    #[test]
    fn cancelling_scores_match_dense_reference(
        n_sources in 1usize..10, n_items in 1usize..12, k in 1usize..14, seed in any::<u64>(),
        density in 10u64..90, use_include in any::<bool>(),
    ) {
        let mut next = xorshift(seed);
        let sorted = next().is_multiple_of(2);
        let mut sources = random_csr(n_sources, n_items, density, &mut next, sorted);
        for v in &mut sources.data {
            *v = if next().is_multiple_of(2) { 1.0 } else { -1.0 };
        }
        let mut queries = random_csr(3, n_sources, 70, &mut next, true);
        queries.data.iter_mut().for_each(|w| *w = 1.0);
        let seen = random_csr(3, n_items, 15, &mut next, true);
        let pop: Vec<f32> = (0..n_items).map(|_| (next() % 3) as f32).collect();
        let order = ranking_of(&pop);
        let ranking = Ranking::new(&pop, &order).unwrap();
        let include: Vec<i32> = (0..2 * n_items).map(|_| (next() % n_items as u64) as i32).collect();
        let filters = Filters { include: use_include.then_some(include.as_slice()), exclude: &[] };
        let users = [0, 1, 2, -1];
        let (ids, scores) = recommend_rows(&users, &queries.view(), Some(&seen.view()), &sources.view(), &ranking, &filters, k).unwrap();
        let slots = effective_k(k, n_items);
        for (j, &u) in users.iter().enumerate() {
            let q = if u < 0 { Query { sources: &[], weights: &[], seen: &[] } } else {
                let qv = queries.view();
                Query { sources: qv.row_indices(u as usize), weights: qv.row_data(u as usize), seen: seen.view().row_indices(u as usize) }
            };
            let want = naive(q, &sources, &pop, filters.include, &[], slots);
            prop_assert_eq!(&ids[j * slots..(j + 1) * slots], &want.0[..]);
            prop_assert_eq!(&scores[j * slots..(j + 1) * slots], &want.1[..]);
        }
    }

    #[test]
    fn matches_dense_reference(
        n_sources in 1usize..12, n_items in 1usize..30, k in 1usize..35, seed in any::<u64>(),
        use_include in any::<bool>(), sorted in any::<bool>(),
    ) {
        let mut next = xorshift(seed);
        let sources = random_csr(n_sources, n_items, 30, &mut next, sorted);
        let queries = random_csr(4, n_sources, 40, &mut next, true);
        let seen = random_csr(4, n_items, 20, &mut next, true);
        let pop: Vec<f32> = (0..n_items).map(|_| (next() % 4) as f32).collect();
        let order = ranking_of(&pop);
        let ranking = Ranking::new(&pop, &order).unwrap();
        let include: Vec<i32> = (0..n_items as i32).filter(|_| !next().is_multiple_of(3)).chain([0]).collect();
        let exclude: Vec<i32> = (0..n_items as i32).filter(|_| next().is_multiple_of(5)).collect();
        let filters = Filters { include: use_include.then_some(include.as_slice()), exclude: &exclude };
        let users = [2, -1, 0, 3, 1, 2];
        let (ids, scores) = recommend_rows(&users, &queries.view(), Some(&seen.view()), &sources.view(), &ranking, &filters, k).unwrap();
        for (j, &u) in users.iter().enumerate() {
            let q = if u < 0 { Query { sources: &[], weights: &[], seen: &[] } } else {
                let qv = queries.view();
                Query { sources: qv.row_indices(u as usize), weights: qv.row_data(u as usize), seen: seen.view().row_indices(u as usize) }
            };
            let slots = effective_k(k, n_items);
            let want = naive(q, &sources, &pop, filters.include, &exclude, slots);
            prop_assert_eq!(&ids[j * slots..(j + 1) * slots], &want.0[..]);
            prop_assert_eq!(&scores[j * slots..(j + 1) * slots], &want.1[..]);
            let single = recommend_query(q, &sources.view(), &ranking, &filters, k).unwrap();
            prop_assert_eq!(single, want);
        }
    }

    #[test]
    fn row_head_matches_filter_then_truncate(n_rows in 1usize..6, n_cols in 1usize..20, k in 1usize..25, seed in any::<u64>()) {
        let mut next = xorshift(seed);
        let m = random_csr(n_rows, n_cols, 50, &mut next, false);
        let mut exclude: Vec<i32> = (0..n_cols as i32).filter(|_| next().is_multiple_of(3)).collect();
        exclude.sort_unstable();
        for row in 0..n_rows {
            let (a, b) = (m.indptr[row] as usize, m.indptr[row + 1] as usize);
            let kept: Vec<(i32, f32)> = m.indices[a..b].iter().copied().zip(m.data[a..b].iter().copied())
                .filter(|(c, _)| !exclude.contains(c)).take(k).collect();
            let want: (Vec<i32>, Vec<f32>) = kept.into_iter().unzip();
            prop_assert_eq!(row_head(&m.view(), row, k, &exclude).unwrap(), want);
        }
    }

    #[test]
    fn predict_matches_naive(n_x in 1usize..15, n_y in 1usize..10, k in 1usize..6, min_k in 0usize..3, seed in any::<u64>()) {
        let mut next = xorshift(seed);
        let mut nb = random_csr(n_x, n_x, 50, &mut next, true);
        // Order every row by similarity descending (ties by index), as the model stores it.
        for r in 0..n_x {
            let (a, b) = (nb.indptr[r] as usize, nb.indptr[r + 1] as usize);
            let mut row: Vec<(i32, f32)> = nb.indices[a..b].iter().copied().zip(nb.data[a..b].iter().copied()).collect();
            row.sort_by(|p, q| q.1.partial_cmp(&p.1).unwrap().then(p.0.cmp(&q.0)));
            for (j, (i, v)) in row.into_iter().enumerate() { nb.indices[a + j] = i; nb.data[a + j] = v; }
        }
        let res = random_csr(n_y, n_x, 40, &mut next, true);
        let xs: Vec<i32> = (0..20).map(|_| (next() % (n_x as u64 + 1)) as i32 - 1).collect();
        let ys: Vec<i32> = (0..20).map(|_| (next() % (n_y as u64 + 1)) as i32 - 1).collect();
        let (values, counts) = predict_pairs(&nb.view(), &res.view(), &xs, &ys, k, min_k).unwrap();
        for p in 0..xs.len() {
            let (x, y) = (xs[p], ys[p]);
            if x < 0 || y < 0 { prop_assert_eq!((values[p], counts[p]), (0.0, 0)); continue; }
            // Naive: all rated neighbours by similarity, the k best, drop non-positive.
            let nv = nb.view();
            let rv = res.view();
            let mut rated: Vec<(f32, i32, f32)> = nv.row_indices(x as usize).iter().zip(nv.row_data(x as usize))
                .filter_map(|(&x2, &s)| rv.row_indices(y as usize).iter().position(|&c| c == x2).map(|pos| (s, x2, rv.row_data(y as usize)[pos])))
                .collect();
            rated.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap().then(a.1.cmp(&b.1)));
            let kept: Vec<_> = rated.into_iter().take(k).filter(|t| t.0 > 0.0).collect();
            let total: f64 = kept.iter().map(|t| f64::from(t.0)).sum();
            let want = if kept.len() >= min_k.max(1) && total > 0.0 {
                (kept.iter().map(|t| f64::from(t.0) * f64::from(t.2)).sum::<f64>() / total) as f32
            } else { 0.0 };
            prop_assert_eq!(counts[p] as usize, kept.len());
            prop_assert!((values[p] - want).abs() < 1e-6, "{} vs {}", values[p], want);
        }
    }
}

proptest! {
    /// `scores_at` against a linear search of the list for every position.
    #[test]
    fn scores_at_matches_a_linear_search(
        listed in proptest::collection::vec((-1i32..40, -4.0f32..4.0), 0..30),
        positions in proptest::collection::vec(-3i32..45, 0..60),
    ) {
        // A ranked list holds every item once; -1 is padding.
        let mut seen = std::collections::HashSet::new();
        let listed: Vec<(i32, f32)> = listed.into_iter().filter(|&(id, _)| id < 0 || seen.insert(id)).collect();
        let (ids, scores): (Vec<i32>, Vec<f32>) = listed.iter().copied().unzip();
        let got = scores_at(&ids, &scores, &positions);
        prop_assert_eq!(got.len(), positions.len());
        for (&item, &value) in positions.iter().zip(&got) {
            let want = if item < 0 { None } else { listed.iter().find(|&&(id, _)| id == item).map(|&(_, s)| f64::from(s)) };
            match want {
                Some(w) => prop_assert_eq!(value.to_bits(), w.to_bits()),
                None => prop_assert!(value.is_nan()),
            }
        }
    }
}

#[test]
fn scores_at_small_example() {
    let got = scores_at(&[4, 1, 7, -1], &[2.5, 0.0, -1.0, f32::NEG_INFINITY], &[1, 7, -1, 3, 4, 1]);
    assert_eq!(&got[..2], &[0.0, -1.0]);
    assert!(got[2].is_nan() && got[3].is_nan());
    assert_eq!(&got[4..], &[2.5, 0.0]);
    assert!(scores_at(&[], &[], &[0, -1]).iter().all(|v| v.is_nan()));
}
