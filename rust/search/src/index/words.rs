//! How one word of a query becomes a query over the index: its exact term in every text field,
//! its pieces inside longer tokens, or its typo variants ([`WordQuery`]), and the expansion
//! keywords' exact terms.

use tantivy::query::{BooleanQuery, BoostQuery, DisjunctionMaxQuery, FuzzyTermQuery, Occur, Query, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::{Searcher, Term};

use super::SearchIndex;
use crate::analyzer::analyze;
use crate::error::Result;
use crate::fuzzy::{edit_distance, search_edits, tolerated, FUZZY_WEIGHT};
use crate::score::{WordQuery, PIECES_WEIGHT};

/// A word's pieces query, if any, its terms with their boosts, and per field the terms a
/// product must all have to match it there.
type PiecesClause = (Option<Box<dyn Query>>, Vec<(Term, f32)>, Vec<Vec<Term>>);

impl SearchIndex {
    /// The query for one word in every text field, weighted by field: its exact term and its
    /// pieces inside longer tokens ([`WordQuery`]), or, when no product has either and typos
    /// are allowed, the catalogue's terms within the tolerated edits (the best variant only
    /// counts, down-weighted by [`FUZZY_WEIGHT`]).
    pub(super) fn word_clause(
        &self,
        searcher: &Searcher,
        word: &str,
        typos: bool,
        corrections: &mut Vec<(String, String)>,
    ) -> Result<Option<WordQuery>> {
        let exact_terms = self.exact_terms(searcher, word)?;
        let exact = clause_of(&exact_terms, 1.0);
        let (pieces, pieces_terms, pieces_matches) = self.pieces_clause(searcher, word)?;
        if exact.is_some() || pieces.is_some() {
            let mut matches: Vec<Vec<Term>> = exact_terms.iter().map(|(term, _)| vec![term.clone()]).collect();
            matches.extend(pieces_matches);
            let bound = vec![exact_terms, pieces_terms];
            return Ok(Some(WordQuery { exact, pieces, bound, matches }));
        }
        let edits = if typos { search_edits(word) } else { 0 };
        if edits == 0 {
            return Ok(None);
        }
        let mut variants: Vec<(String, u8)> = Vec::new();
        for field in &self.fields.text {
            for segment in searcher.segment_readers() {
                let automaton = FuzzyTermQuery::new(Term::from_field_text(*field, word), edits, true).automaton()?;
                let inverted = segment.inverted_index(*field)?;
                let mut stream = inverted.terms().search(automaton).into_stream()?;
                while stream.advance() {
                    if let Ok(term) = std::str::from_utf8(stream.key()) {
                        let distance = edit_distance(word, term);
                        if tolerated(word, term, distance) && !variants.iter().any(|(t, _)| t == term) {
                            variants.push((term.to_owned(), distance as u8));
                        }
                    }
                }
            }
        }
        variants.sort();
        let mut disjuncts: Vec<Box<dyn Query>> = Vec::new();
        // The best variant counts; the bound adds them all (it only has to be at least that).
        let mut bound: Vec<(Term, f32)> = Vec::new();
        let mut best: Option<(u8, u64, String)> = None;
        for (term, distance) in variants {
            let boost = FUZZY_WEIGHT[usize::from(distance)];
            let terms = self.exact_terms(searcher, &term)?;
            if let Some(clause) = clause_of(&terms, boost) {
                disjuncts.push(clause);
                bound.extend(terms.into_iter().map(|(t, w)| (t, w * boost)));
                let df = self.doc_freq(searcher, &term)?;
                if best.as_ref().is_none_or(|(d, f, _)| (distance, std::cmp::Reverse(df)) < (*d, std::cmp::Reverse(*f))) {
                    best = Some((distance, df, term));
                }
            }
        }
        if let Some((_, _, term)) = best {
            corrections.push((word.to_owned(), term));
        }
        Ok(if disjuncts.is_empty() {
            None
        } else {
            let matches = bound.iter().map(|(term, _)| vec![term.clone()]).collect();
            Some(WordQuery {
                exact: Some(Box::new(DisjunctionMaxQuery::new(disjuncts))),
                pieces: None,
                bound: vec![bound],
                matches,
            })
        })
    }

    /// `word` as a part of longer tokens: all of its pieces ([`crate::analyzer::pieces`]) in
    /// one field's pieces, weighted by the field's weight times [`PIECES_WEIGHT`]. None for a
    /// Latin word of several pieces (a model number is matched whole, never from scattered
    /// digits and letters) and when no product has all the pieces in one field. With it, its
    /// terms and their boosts.
    fn pieces_clause(&self, searcher: &Searcher, word: &str) -> Result<PiecesClause> {
        let mut parts = analyze(&mut self.pieces_analyzer.clone(), word);
        parts.dedup();
        if parts.is_empty() || (parts.len() > 1 && !word.chars().any(shoprec_core::text::tokenizer::is_han)) {
            return Ok((None, Vec::new(), Vec::new()));
        }
        let mut terms: Vec<(Term, f32)> = Vec::new();
        let mut matches: Vec<Vec<Term>> = Vec::new();
        // A word that is its own only piece and is at least two characters long is a piece
        // of every token it is: when as many products have the piece as the token in a field,
        // they are the same products and the pieces add nothing there.
        let whole = parts.len() == 1 && parts[0] == word && word.chars().nth(1).is_some();
        let mut fields: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for ((field, text), (_, weight)) in self.fields.pieces.iter().zip(&self.fields.text).zip(&self.config.text_fields) {
            if whole
                && searcher.doc_freq(&Term::from_field_text(*field, word))?
                    == searcher.doc_freq(&Term::from_field_text(*text, word))?
            {
                continue;
            }
            let mut all: Vec<(Occur, Box<dyn Query>)> = Vec::with_capacity(parts.len());
            for part in &parts {
                let term = Term::from_field_text(*field, part);
                if searcher.doc_freq(&term)? == 0 {
                    all.clear();
                    break;
                }
                all.push((Occur::Must, Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs))));
            }
            if !all.is_empty() {
                terms.extend(parts.iter().map(|part| (Term::from_field_text(*field, part), weight * PIECES_WEIGHT)));
                matches.push(parts.iter().map(|part| Term::from_field_text(*field, part)).collect());
                fields.push((Occur::Should, Box::new(BoostQuery::new(Box::new(BooleanQuery::new(all)), weight * PIECES_WEIGHT))));
            }
        }
        Ok(if fields.is_empty() {
            (None, Vec::new(), Vec::new())
        } else {
            (Some(Box::new(BooleanQuery::new(fields))), terms, matches)
        })
    }

    fn doc_freq(&self, searcher: &Searcher, term: &str) -> Result<u64> {
        let mut total = 0;
        for field in &self.fields.text {
            total += searcher.doc_freq(&Term::from_field_text(*field, term))?;
        }
        Ok(total)
    }

    /// `term` in every text field where it occurs, with the field's weight.
    pub(super) fn exact_terms(&self, searcher: &Searcher, term: &str) -> Result<Vec<(Term, f32)>> {
        let mut fields = Vec::new();
        for (field, (_, weight)) in self.fields.text.iter().zip(&self.config.text_fields) {
            let term = Term::from_field_text(*field, term);
            if searcher.doc_freq(&term)? > 0 {
                fields.push((term, *weight));
            }
        }
        Ok(fields)
    }
}

/// The query of a term's [`SearchIndex::exact_terms`]: any of them, each weighted by its
/// field's weight times `boost`; None when there are none.
pub(super) fn clause_of(terms: &[(Term, f32)], boost: f32) -> Option<Box<dyn Query>> {
    let fields: Vec<(Occur, Box<dyn Query>)> = terms
        .iter()
        .map(|(term, weight)| {
            let query = TermQuery::new(term.clone(), IndexRecordOption::WithFreqs);
            (Occur::Should, Box::new(BoostQuery::new(Box::new(query), weight * boost)) as Box<dyn Query>)
        })
        .collect();
    if fields.is_empty() {
        None
    } else {
        Some(Box::new(BooleanQuery::new(fields)))
    }
}
