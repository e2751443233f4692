//! End-to-end tests of the search index against hand computations and brute force.

use std::sync::Arc;

use shoprec_search::{Condition, Config, Error, Filter, FilterKind, Product, SearchIndex, SearchQuery, Value};

fn config(title_weight: f32) -> Config {
    Config {
        text_fields: vec![("title".into(), title_weight), ("description".into(), 1.0)],
        filter_fields: vec![
            ("category".into(), FilterKind::Str),
            ("price".into(), FilterKind::Number),
            ("in_stock".into(), FilterKind::Bool),
        ],
        user_words: vec![],
        stock_field: Some("in_stock".into()),
    }
}

fn product(id: &str, title: &str, category: &str, price: f64, in_stock: bool) -> Product {
    Product {
        id: id.into(),
        texts: vec![title.into(), String::new()],
        values: vec![Value::Str(vec![category.into()]), Value::Number(price), Value::Bool(in_stock)],
        popularity: price,
    }
}

fn catalogue() -> Vec<Product> {
    vec![
        product("d1", "red shoes", "shoes", 30.0, true),
        product("d2", "blue shoes shoes", "shoes", 50.0, false),
        product("d3", "red hat", "hats", 20.0, true),
    ]
}

fn query(text: &str) -> SearchQuery {
    SearchQuery { text: text.into(), typos: true, limit: 10, ..SearchQuery::default() }
}

fn built(products: &[Product], title_weight: f32) -> SearchIndex {
    let index = SearchIndex::create(&config(title_weight), None, 1).unwrap();
    index.add(products).unwrap();
    index
}

/// tantivy's BM25: idf = ln(1 + (N - n + 0.5) / (n + 0.5)), k1 = 1.2, b = 0.75,
/// `score = idf * (k1 + 1) * tf / (tf + k1 * (1 - b + b * len / avg_len))`.
fn bm25(n_docs: f64, doc_freq: f64, tf: f64, len: f64, avg_len: f64) -> f64 {
    let (k1, b) = (1.2, 0.75);
    let idf = (1.0 + (n_docs - doc_freq + 0.5) / (doc_freq + 0.5)).ln();
    idf * (k1 + 1.0) * tf / (tf + k1 * (1.0 - b + b * len / avg_len))
}

#[test]
fn bm25_matches_a_hand_computation() {
    for weight in [1.0_f32, 2.0] {
        let index = built(&catalogue(), weight);
        let out = index.search(&query("shoes")).unwrap();
        let avg = 7.0 / 3.0;
        let expected = [("d2", bm25(3.0, 2.0, 2.0, 3.0, avg)), ("d1", bm25(3.0, 2.0, 1.0, 2.0, avg))];
        assert_eq!(out.hits.len(), 2);
        for (hit, (id, score)) in out.hits.iter().zip(expected) {
            assert_eq!(hit.id, id);
            assert!((f64::from(hit.text) - f64::from(weight) * score).abs() < 1e-5, "{} vs {}", hit.text, score);
        }
        assert_eq!(out.total, 2);
    }
}

#[test]
fn words_matched_scale_the_score() {
    let index = built(&catalogue(), 1.0);
    let out = index.search(&query("red shoes")).unwrap();
    let avg = 7.0 / 3.0;
    let red = |len: f64| bm25(3.0, 2.0, 1.0, len, avg);
    let shoes = |tf: f64, len: f64| bm25(3.0, 2.0, tf, len, avg);
    // d1 has both words; d2 and d3 one of two, so (1/2)^3 of their BM25.
    let expected = [("d1", red(2.0) + shoes(1.0, 2.0)), ("d2", shoes(2.0, 3.0) / 8.0), ("d3", red(2.0) / 8.0)];
    assert_eq!(out.hits.len(), 3);
    assert_eq!(out.hits[0].id, "d1");
    for (id, score) in expected {
        let hit = out.hits.iter().find(|h| h.id == id).unwrap();
        assert!((f64::from(hit.text) - score).abs() < 1e-5, "{id}: {} vs {score}", hit.text);
    }
}

#[test]
fn fuzzy_by_length_and_exact_first() {
    let products = vec![
        product("a", "sneakers", "shoes", 1.0, true),
        product("b", "sandals", "shoes", 1.0, true),
        product("c", "waterproof", "shoes", 1.0, true),
        product("d", "boot", "shoes", 1.0, true),
        product("e", "sandal", "shoes", 1.0, true),
    ];
    let index = built(&products, 1.0);
    let ids = |q: &str, typos: bool| -> Vec<String> {
        index.search(&SearchQuery { typos, ..query(q) }).unwrap().hits.into_iter().map(|h| h.id).collect()
    };
    assert_eq!(ids("snaekers", true), vec!["a"]); // a swap is one edit
    assert_eq!(ids("snaekers", false), Vec::<String>::new());
    assert_eq!(ids("sneakrs", true), vec!["a"]); // a deletion
    assert_eq!(ids("snxakxrs", true), Vec::<String>::new()); // 8 letters: two edits are too many
    assert_eq!(ids("watreprouf", true), vec!["c"]); // 10 letters: two edits
    assert_eq!(ids("bout", true), Vec::<String>::new()); // 4 letters: exact only
                                                         // "sandal" is in the catalogue: no fuzzy reading, so "sandals" is not found through it.
    assert_eq!(ids("sandal", true), vec!["e"]);
    // A word with no exact hit reads both variants; the typo match counts half.
    let out = index.search(&query("sandalx")).unwrap();
    assert_eq!(out.hits.len(), 2);
    assert_eq!(out.corrections.len(), 1);
    let exact = index.search(&query("sandal")).unwrap().hits[0].text;
    assert!(out.hits.iter().all(|h| h.text < exact));
}

#[test]
fn filters_and_facets_against_brute_force() {
    let mut products = Vec::new();
    for i in 0..60 {
        let category = ["shoes", "hats", "bags"][i % 3];
        products.push(product(
            &format!("p{i}"),
            &format!("red item{} shoes", i % 4),
            category,
            (i % 7) as f64 * 10.0,
            i % 5 != 0,
        ));
    }
    let index = built(&products, 2.0);
    let filters = vec![
        Filter { field: "category".into(), condition: Condition::AnyOf(vec!["shoes".into(), "bags".into(), "nope".into()]) },
        Filter { field: "price".into(), condition: Condition::Range { min: Some(10.0), max: Some(40.0) } },
        Filter { field: "in_stock".into(), condition: Condition::Bool(true) },
    ];
    let out = index
        .search(&SearchQuery { filters, facets: vec!["category".into(), "in_stock".into()], limit: 100, ..query("red") })
        .unwrap();
    let expected: Vec<&Product> = products
        .iter()
        .filter(|p| {
            matches!(&p.values[0], Value::Str(c) if c[0] != "hats")
                && matches!(p.values[1], Value::Number(x) if (10.0..=40.0).contains(&x))
                && p.values[2] == Value::Bool(true)
        })
        .collect();
    assert_eq!(out.total as usize, expected.len());
    let mut got: Vec<&str> = out.hits.iter().map(|h| h.id.as_str()).collect();
    let mut want: Vec<&str> = expected.iter().map(|p| p.id.as_str()).collect();
    got.sort_unstable();
    want.sort_unstable();
    assert_eq!(got, want);
    let shoes = expected.iter().filter(|p| p.values[0] == Value::Str(vec!["shoes".into()])).count() as u64;
    let categories = &out.facets[0].1;
    assert!(categories.contains(&("shoes".to_owned(), shoes)));
    assert_eq!(out.facets[1].1, vec![("true".to_owned(), expected.len() as u64)]);
}

#[test]
fn bad_filters_are_refused() {
    let index = built(&catalogue(), 1.0);
    let bad = |field: &str, condition: Condition| {
        let filters = vec![Filter { field: field.into(), condition }];
        index.search(&SearchQuery { filters, ..query("red") })
    };
    assert!(matches!(bad("colour", Condition::Bool(true)), Err(Error::InvalidArgument { .. })));
    assert!(matches!(bad("price", Condition::AnyOf(vec!["x".into()])), Err(Error::InvalidArgument { .. })));
    assert!(matches!(bad("category", Condition::Bool(true)), Err(Error::InvalidArgument { .. })));
    assert!(matches!(bad("price", Condition::Range { min: Some(f64::NAN), max: None }), Err(Error::InvalidArgument { .. })));
    let facets = SearchQuery { facets: vec!["price".into()], ..query("red") };
    assert!(index.search(&facets).is_err());
}

fn snapshot(index: &SearchIndex, q: &str) -> Vec<(String, u32)> {
    index.search(&query(q)).unwrap().hits.into_iter().map(|h| (h.id, (h.text * 1e4).round() as u32)).collect()
}

#[test]
fn writes_equal_a_rebuild() {
    let index = built(&catalogue(), 2.0);
    index.add(&[product("d4", "green shoes", "shoes", 10.0, true)]).unwrap();
    index.update(&[product("d1", "red boots", "boots", 35.0, true)]).unwrap();
    assert_eq!(index.delete(&["d3".into(), "missing".into()]).unwrap(), 1);
    assert_eq!(index.set_stock(&["d2".into()], true).unwrap(), 1);
    let rebuilt = built(
        &[
            product("d1", "red boots", "boots", 35.0, true),
            product("d2", "blue shoes shoes", "shoes", 50.0, true),
            product("d4", "green shoes", "shoes", 10.0, true),
        ],
        2.0,
    );
    for q in ["shoes", "red", "red shoes", "boots", "hat", ""] {
        assert_eq!(snapshot(&index, q), snapshot(&rebuilt, q), "{q}");
    }
    assert_eq!(index.products().unwrap(), rebuilt.products().unwrap());
    assert!(matches!(index.add(&[product("d1", "x", "x", 1.0, true)]), Err(Error::InvalidArgument { .. })));
    assert!(matches!(index.update(&[product("zz", "x", "x", 1.0, true)]), Err(Error::UnknownId(_))));
    assert!(matches!(index.set_stock(&["zz".into()], true), Err(Error::UnknownId(_))));
}

#[test]
fn queries_never_fail() {
    let index = built(&catalogue(), 2.0);
    let long = "shoes ".repeat(2_000);
    let long_word = "x".repeat(10_000);
    for q in
        ["", "   ", "!!!", "\u{1F600}\u{1F45F}", "\u{0}\u{7}\n\t", &long, &long_word, "红色shoes кроссовки 靴子 ﾀﾞ", "\u{FFFD}"]
    {
        index.search(&query(q)).unwrap();
    }
    let browse = index.search(&SearchQuery { browse_if_empty: true, ..query("!!") }).unwrap();
    assert!(browse.browsed);
    assert_eq!(browse.hits.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(), vec!["d2", "d1", "d3"]);
}

#[test]
fn save_and_load_search_the_same() {
    let index = built(&catalogue(), 2.0);
    index.delete(&["d3".into()]).unwrap();
    let dir = std::env::temp_dir().join(format!("shoprec-search-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    index.save(&dir).unwrap();
    let loaded = SearchIndex::load(&dir, &config(2.0), None, 1).unwrap();
    for q in ["shoes", "red", "blue shoes"] {
        assert_eq!(snapshot(&index, q), snapshot(&loaded, q));
    }
    assert!(matches!(SearchIndex::load(&dir.join("nope"), &config(2.0), None, 1), Err(Error::CorruptData(_))));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn concurrent_searches_while_stock_changes() {
    let products: Vec<Product> = (0..200).map(|i| product(&format!("p{i}"), "red shoes", "shoes", f64::from(i), true)).collect();
    let index = Arc::new(built(&products, 1.0));
    let in_stock_only = SearchQuery {
        filters: vec![Filter { field: "in_stock".into(), condition: Condition::Bool(true) }],
        limit: 300,
        ..query("shoes")
    };
    std::thread::scope(|scope| {
        for _ in 0..8 {
            let index = Arc::clone(&index);
            let q = in_stock_only.clone();
            scope.spawn(move || {
                for _ in 0..50 {
                    let out = index.search(&q).unwrap();
                    // Stock flips the first 100 products together: any answer sees all or none.
                    assert!(out.total == 200 || out.total == 100, "{}", out.total);
                    assert_eq!(out.hits.len() as u64, out.total);
                }
            });
        }
        let ids: Vec<String> = (0..100).map(|i| format!("p{i}")).collect();
        for round in 0..10 {
            index.set_stock(&ids, round % 2 == 1).unwrap();
        }
    });
}

#[test]
fn index_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<SearchIndex>();
}

#[test]
fn remembered_answers_end_with_every_write() {
    let index = built(&catalogue(), 2.0);
    let in_stock = SearchQuery {
        filters: vec![Filter { field: "in_stock".into(), condition: Condition::Bool(true) }],
        facets: vec!["category".into()],
        ..query("red shoes")
    };
    // Asked twice (the second answer is the remembered one) and once without remembering.
    let ask = |index: &SearchIndex| {
        let first = index.search(&in_stock).unwrap();
        assert_eq!(index.search(&in_stock).unwrap(), first);
        assert_eq!(index.search_remembering(&in_stock, 0).unwrap(), first);
        first.hits.into_iter().map(|h| h.id).collect::<Vec<_>>()
    };
    assert_eq!(ask(&index), vec!["d1", "d3"]);
    index.set_stock(&["d1".into()], false).unwrap();
    assert_eq!(ask(&index), vec!["d3"]);
    index.add(&[product("d4", "red shoes", "shoes", 10.0, true)]).unwrap();
    assert_eq!(ask(&index), vec!["d4", "d3"]);
    index.update(&[product("d3", "red hat", "hats", 20.0, false)]).unwrap();
    assert_eq!(ask(&index), vec!["d4"]);
    index.delete(&["d4".into()]).unwrap();
    assert!(ask(&index).is_empty());
}
