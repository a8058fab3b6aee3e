"""lmbook.text.Vocab: the one vocabulary class of the book."""

import numpy as np
import pytest

from lmbook import ngram
from lmbook.text import Vocab


def test_character_vocab_round_trip_and_closed_vocabulary():
    chars = Vocab.from_text("hello world")
    assert len(chars) == 8 and chars.itos[0] == " "
    ids = chars.encode("hello")
    assert ids.dtype == np.int64 and chars.decode(ids, sep="") == "hello"
    with pytest.raises(ValueError, match="'z' is not in the vocabulary"):
        chars.encode("z")
    with pytest.raises(ValueError, match="empty"):
        Vocab.from_text("")
    with pytest.raises(TypeError, match="string"):
        Vocab.from_text(b"abc")


def test_word_vocab_specials_come_first_in_a_fixed_order():
    v = Vocab(["the", "cat", "the"], pad="<pad>", bos="<s>", eos="</s>", unk="<unk>")
    assert v.itos == ["<pad>", "<s>", "</s>", "<unk>", "the", "cat"]
    assert (v.pad_id, v.bos_id, v.eos_id, v.unk_id) == (0, 1, 2, 3)
    assert v.decode(v.encode(["the", "dog"]), sep=" ") == "the <unk>"
    assert v.decode(np.array([4, 5])) == ["the", "cat"]
    assert "cat" in v and "dog" not in v
    assert repr(v).startswith("Vocab(size=6, pad='<pad>'")
    with pytest.raises(ValueError, match="on_unknown='error'"):
        v.encode(["dog"], on_unknown="error")


def test_torch_tensors_decode():
    torch = pytest.importorskip("torch")
    v = Vocab.from_text("abc")
    assert v.decode(torch.tensor([2, 0]), sep="") == "ca"


def test_from_sentences_orders_by_frequency_and_drops_rare_words():
    v = Vocab.from_sentences([["b", "a", "b"], ["c"]], min_count=2, unk="<unk>")
    assert v.itos == ["<unk>", "b"]
    v = Vocab.from_sentences([["b", "a", "b"], ["c", "a", "a"]])
    assert v.itos == ["a", "b", "c"]


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: Vocab("abc"), TypeError, "not one string"),
        (lambda: Vocab([]), ValueError, "at least one token"),
        (lambda: Vocab(["a", 1]), TypeError, "strings"),
        (lambda: Vocab(["a"], bos="x", eos="x"), ValueError, "must differ"),
        (lambda: Vocab(["a"], unk=""), TypeError, "non-empty"),
        (lambda: Vocab(["a"]).encode("a"), TypeError, "split it first"),
        (lambda: Vocab(["a"]).decode([1]), ValueError, "not a valid id"),
        (lambda: Vocab(["a"]).token_id("a", on_unknown="x"), ValueError, "on_unknown"),
        (lambda: Vocab.from_sentences([["a"]], min_count=2), ValueError, "unk symbol"),
        (lambda: Vocab.from_sentences(["a b"]), TypeError, "split it first"),
        (lambda: Vocab.from_sentences([["a"]], min_count=0), ValueError, ">= 1"),
    ],
)
def test_bad_input_raises_clear_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_ngram_vocabulary_is_the_same_class_with_bos_eos_unk_defaults():
    v = ngram.Vocabulary(["a", "b"])
    assert isinstance(v, Vocab)
    assert (v.bos_id, v.eos_id, v.unk_id) == (0, 1, 2) and v.num_predictable == 4
    assert v.encode(["a", "zzz"]).tolist() == [3, 2]
    with pytest.raises(TypeError, match="eos must be a non-empty string"):
        ngram.Vocabulary(["a"], eos=None)
