"""shoprec.tokenize: the one tokenizer used to build keyword models and to query them."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import shoprec
from shoprec import tokenize
from shoprec._core import Tokenizer


def test_latin_words_and_model_numbers():
    assert tokenize("Lenovo ThinkPad X1, i5-1340P 16GB / 3.5mm!") == [
        "lenovo", "thinkpad", "x1", "i5-1340p", "16gb", "3.5mm"
    ]


def test_full_width_ascii_and_ideographic_space():
    assert tokenize("ｉ５－１３４０Ｐ\u3000ＡＢＣ") == ["i5-1340p", "abc"]


def test_chinese_words_from_jieba_dictionary():
    assert tokenize("笔记本电脑 连衣裙") == ["笔记本电脑", "连衣裙"]


def test_unknown_han_runs_fall_back_to_bigrams():
    # None of these characters pair into a dictionary word, so jieba leaves single characters.
    tokens = tokenize("鑫淼焱垚")
    assert tokens == ["鑫淼", "淼焱", "焱垚"]


def test_user_words_keep_catalog_terms_whole():
    assert "游戏本" not in tokenize("联想游戏本")
    assert "游戏本" in Tokenizer(["游戏本"]).tokenize("联想游戏本")


@pytest.mark.parametrize("text", ["", "   ", "\t\n\r", "\x00\x07\x1b", "😀🎉👍", "!!!???。。。"])
def test_nothing_but_separators_gives_no_tokens(text):
    assert tokenize(text) == []


def test_emoji_and_control_characters_only_separate():
    assert tokenize("phone😀case\x00cover") == ["phone", "case", "cover"]


def test_very_long_text_is_handled():
    tokens = tokenize("wireless mouse " * 20_000)
    assert len(tokens) == 40_000


def test_not_a_string_is_a_dtype_error():
    with pytest.raises(shoprec.DTypeError):
        tokenize(123)  # type: ignore[arg-type]
    with pytest.raises(shoprec.DTypeError):
        tokenize(None)  # type: ignore[arg-type]


def test_fingerprint_depends_on_user_words():
    assert Tokenizer().fingerprint == Tokenizer([]).fingerprint
    assert Tokenizer(["游戏本"]).fingerprint != Tokenizer().fingerprint
    with pytest.raises(shoprec.InvalidArgumentError):
        Tokenizer(["two words"])


LATIN_TOKEN = re.compile(r"^[^\W_]+([-.+_/][^\W_]+)*$")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_hypothesis_tokens_are_clean(text):
    """Any text: tokens are non-empty, lower-case, free of whitespace and control characters,
    and a Latin token is word characters joined by single joiners. Tokenizing is deterministic
    and tokenizing the space-joined tokens gives the same Latin tokens back."""
    tokens = tokenize(text)
    assert tokens == tokenize(text)
    for token in tokens:
        assert token and token == token.lower() or not token.isascii()
        assert not any(c.isspace() or ord(c) < 32 for c in token)
        if token.isascii():
            assert LATIN_TOKEN.match(token), token
    latin = [t for t in tokens if t.isascii()]
    assert [t for t in tokenize(" ".join(latin)) if t.isascii()] == latin
