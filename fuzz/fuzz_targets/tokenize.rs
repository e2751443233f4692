//! The tokenizer on arbitrary UTF-8: never panics, and its tokens are non-empty, free of
//! whitespace, and stable (tokenizing twice gives the same tokens), with and without user words.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use shoprec_core::text::tokenizer::Tokenizer;

// Building a tokenizer loads jieba's dictionary (slow): both are built once.
fn plain() -> &'static Tokenizer {
    static TOKENIZER: OnceLock<Tokenizer> = OnceLock::new();
    TOKENIZER.get_or_init(|| Tokenizer::new(&[]).expect("the default tokenizer builds"))
}

fn with_user_words() -> &'static Tokenizer {
    static TOKENIZER: OnceLock<Tokenizer> = OnceLock::new();
    TOKENIZER.get_or_init(|| {
        let words: Vec<String> = ["韩版", "i5-1340p", "护手霜", "ＡＢＣ", "t-shirt.xl"].iter().map(|w| (*w).to_owned()).collect();
        Tokenizer::new(&words).expect("the user words are valid")
    })
}

fuzz_target!(|input: &[u8]| {
    let text = String::from_utf8_lossy(input);
    for tokenizer in [plain(), with_user_words()] {
        let tokens = tokenizer.tokenize(&text);
        for token in &tokens {
            assert!(!token.is_empty(), "empty token from {text:?}");
            assert!(!token.chars().any(char::is_whitespace), "token {token:?} has whitespace");
        }
        assert_eq!(tokens, tokenizer.tokenize(&text));
    }
});
