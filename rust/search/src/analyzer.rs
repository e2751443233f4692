//! The analyzer of every text field: a tantivy [`Tokenizer`] over shoprec's own tokenizer
//! (jieba-rs with the catalogue's user words, Latin words and model numbers, bigram fallback),
//! followed by tantivy's ASCII folding. A word therefore means the same thing to search as to
//! the keyword models: the tokens are those of `shoprec.tokenize`, with Latin diacritics folded
//! (`café` → `cafe`), which changes nothing for ASCII text.

use std::sync::Arc;

use shoprec_core::text::tokenizer::Tokenizer as CoreTokenizer;
use tantivy::tokenizer::{AsciiFoldingFilter, TextAnalyzer, Token, TokenStream, Tokenizer};

/// The name the analyzer is registered under on every index.
pub const ANALYZER_NAME: &str = "shoprec";

/// Tokens longer than this many bytes are dropped (tantivy cannot index terms of more than
/// 65,530 bytes; nobody searches for a 1,000-letter word).
pub const MAX_TOKEN_BYTES: usize = 255;

/// tantivy's [`Tokenizer`] trait over [`shoprec_core::text::tokenizer::Tokenizer`].
#[derive(Clone)]
pub struct ShopTokenizer {
    inner: Arc<CoreTokenizer>,
}

impl ShopTokenizer {
    #[must_use]
    pub fn new(inner: Arc<CoreTokenizer>) -> Self {
        ShopTokenizer { inner }
    }
}

/// The tokens of one text, produced all at once by the core tokenizer and handed out one by one.
pub struct ShopTokenStream {
    tokens: std::vec::IntoIter<String>,
    token: Token,
}

impl Tokenizer for ShopTokenizer {
    type TokenStream<'a> = ShopTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> ShopTokenStream {
        let tokens: Vec<String> = self.inner.tokenize(text).into_iter().filter(|t| t.len() <= MAX_TOKEN_BYTES).collect();
        ShopTokenStream { tokens: tokens.into_iter(), token: Token::default() }
    }
}

impl TokenStream for ShopTokenStream {
    fn advance(&mut self) -> bool {
        match self.tokens.next() {
            Some(text) => {
                // The core tokenizer normalises the text (full-width forms, case) before it
                // splits, so byte offsets into the original are not known: only positions are.
                self.token.position = self.token.position.wrapping_add(1);
                self.token.text = text;
                true
            }
            None => false,
        }
    }

    fn token(&self) -> &Token {
        &self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.token
    }
}

/// The name of the sub-word analyzer (see [`pieces`]).
pub const PIECES_ANALYZER_NAME: &str = "shoprec-pieces";

/// The sub-word pieces of `text`, so that a word found inside a longer token still matches:
/// every Han run gives its character bigrams (a run of one character gives that character),
/// and every Latin/digit token its alphanumeric pieces, cut at joiners (`-./+_`) and between
/// letters and digits (`dhl/fedex` gives `dhl`, `fedex`; `scotch3m600` gives `scotch`, `3`,
/// `m`, `600`; `shoes` gives `shoes`). Runs are those of the core tokenizer, so the pieces of
/// a text contain the pieces of each of its tokens.
#[must_use]
pub fn pieces(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (run, han) in CoreTokenizer::runs(text) {
        if han {
            let chars: Vec<char> = run.chars().collect();
            if chars.len() == 1 {
                out.push(run);
            } else {
                out.extend(chars.windows(2).map(|pair| pair.iter().collect::<String>()));
            }
        } else {
            let mut piece = String::new();
            let mut last_digit = None;
            for c in run.chars() {
                if !c.is_alphanumeric() {
                    if !piece.is_empty() {
                        out.push(std::mem::take(&mut piece));
                    }
                    last_digit = None;
                    continue;
                }
                let digit = c.is_numeric();
                if last_digit.is_some_and(|d| d != digit) && !piece.is_empty() {
                    out.push(std::mem::take(&mut piece));
                }
                piece.push(c);
                last_digit = Some(digit);
            }
            if !piece.is_empty() {
                out.push(piece);
            }
        }
    }
    out.retain(|t| t.len() <= MAX_TOKEN_BYTES);
    out
}

/// tantivy's [`Tokenizer`] giving [`pieces`].
#[derive(Clone, Default)]
pub struct PiecesTokenizer;

impl Tokenizer for PiecesTokenizer {
    type TokenStream<'a> = ShopTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> ShopTokenStream {
        ShopTokenStream { tokens: pieces(text).into_iter(), token: Token::default() }
    }
}

/// The sub-word analyzer: [`pieces`], then ASCII folding.
#[must_use]
pub fn pieces_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(PiecesTokenizer).filter(AsciiFoldingFilter).build()
}

/// The analyzer registered on every index: the shop tokenizer, then ASCII folding.
#[must_use]
pub fn analyzer(inner: Arc<CoreTokenizer>) -> TextAnalyzer {
    TextAnalyzer::builder(ShopTokenizer::new(inner)).filter(AsciiFoldingFilter).build()
}

/// The tokens `analyzer` gives for `text`, in order, repeats kept.
#[must_use]
pub fn analyze(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_tokens_as_the_core_tokenizer_then_folded() {
        let core = Arc::new(CoreTokenizer::new(&["游戏本".to_owned()]).unwrap());
        let mut a = analyzer(Arc::clone(&core));
        for text in ["联想游戏本 ThinkPad i5-1340P 16GB", "苹果iphone14手机 韩版女装", "", "  \u{1F600}!!", "a\u{0}b"]
        {
            assert_eq!(analyze(&mut a, text), core.tokenize(text), "{text}");
        }
        assert_eq!(analyze(&mut a, "Café Crème"), vec!["cafe".to_owned(), "creme".to_owned()]);
    }

    #[test]
    fn pieces_of_han_runs_and_joined_tokens() {
        let got = pieces("国际物流/dhl/fedex 近视眼镜 scotch3m600 i5-1340P 包");
        let want = [
            "国际", "际物", "物流", "dhl", "fedex", "近视", "视眼", "眼镜", "scotch", "3", "m", "600", "i", "5", "1340", "p",
            "包",
        ];
        assert_eq!(got, want.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());
        assert!(pieces("  !!").is_empty());
        let mut a = pieces_analyzer();
        assert_eq!(analyze(&mut a, "Café-Crème"), vec!["cafe".to_owned(), "creme".to_owned()]);
    }

    #[test]
    fn positions_count_from_zero() {
        let mut a = analyzer(Arc::new(CoreTokenizer::new(&[]).unwrap()));
        let mut stream = a.token_stream("red running shoes");
        let mut positions = Vec::new();
        while stream.advance() {
            positions.push(stream.token().position);
        }
        assert_eq!(positions, vec![0, 1, 2]);
    }

    #[test]
    fn very_long_words_are_dropped() {
        let mut a = analyzer(Arc::new(CoreTokenizer::new(&[]).unwrap()));
        let long = "x".repeat(10_000);
        assert_eq!(analyze(&mut a, &format!("shoes {long}")), vec!["shoes".to_owned()]);
    }
}
