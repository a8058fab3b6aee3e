"""lmbook.tokenizer: byte-level BPE against GPT-2's files and HF tokenizers."""

import json
import random

import pytest

from lmbook import data, presets
from lmbook import tokenizer as T

MIXED = (
    "Hello world! It's 2024: don't panic.\n"
    "def f(x):\n    return x**2  # squares\n"
    "你好，世界。机器学习很有趣。 🤖🚀👍🏽 naïve café  \t\n\nend"
)


def test_byte_map_matches_gpt2_first_ids():
    vocab_file, _ = data.gpt2_bpe_files()
    encoder = json.loads(vocab_file.read_text(encoding="utf-8"))
    table = T.bytes_to_unicode()
    assert len(set(table.values())) == 256
    assert all(encoder[c] == i for i, c in enumerate(table.values()))
    assert table[32] == "Ġ"


def test_gpt2_ids_equal_reference_on_mixed_text():
    ours, ref = T.gpt2(), data.gpt2_tokenizer()
    assert len(ours) == len(ref) == 50257
    for line in MIXED.splitlines(keepends=True) + [MIXED]:
        assert ours.encode(line) == ref.encode(line), line
    assert ours.decode(ours.encode(MIXED)) == MIXED


def _random_text(rng, n):
    pools = [
        (0x20, 0x7E),
        (0x00, 0x1F),
        (0xA0, 0x24F),
        (0x4E00, 0x9FFF),
        (0x1F300, 0x1FAFF),
        (0x10000, 0x10FFFF),
    ]
    out = []
    for _ in range(n):
        lo, hi = rng.choice(pools)
        c = rng.randint(lo, hi)
        out.append(chr(c) if not 0xD800 <= c <= 0xDFFF else "x")
    return "".join(out)


def test_round_trips_arbitrary_text_and_bytes():
    rng = random.Random(0)
    tok = T.gpt2()
    for _ in range(30):
        text = _random_text(rng, rng.randint(0, 60))
        ids = tok.encode(text)
        assert tok.decode(ids) == text
        assert tok.decode_bytes(ids) == text.encode("utf-8")
        raw = bytes(rng.randrange(256) for _ in range(rng.randint(0, 80)))
        assert tok.decode_bytes(tok.encode_bytes(raw)) == raw


def test_trained_merges_equal_hf_trainer():
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    p = presets.get("ch06-bpe", "smoke")["train"]
    text = data.load_shakespeare("train")[: p["num_chars"]]
    ours = T.BPETokenizer.train(text, p["vocab_size"])
    hf = Tokenizer(models.BPE())
    hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    trainer = trainers.BpeTrainer(
        vocab_size=p["vocab_size"],
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=[],
    )
    hf.train_from_iterator([text], trainer)
    merges = json.loads(hf.to_str())["model"]["merges"]
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in merges]
    assert merges == ours.merges
    assert hf.get_vocab() == ours.vocab
    sample = text[:2000]
    assert hf.encode(sample).ids == ours.encode(sample)
    assert ours.decode(ours.encode(sample)) == sample


def test_training_reduces_tokens_and_is_greedy_by_count():
    tok = T.BPETokenizer.train("low lower lowest low low", 260)
    assert tok.merges[0] == ("l", "o")
    assert len(tok.encode("low")) < 3


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda: T.pretokenize(b"bytes"), TypeError),
        (lambda: T.learn_merges("abc", -1), ValueError),
        (lambda: T.learn_merges("abc", 1.5), TypeError),
        (lambda: T.BPETokenizer.train("abc", 100), ValueError),
        (lambda: T.BPETokenizer({"a": 0}, []), ValueError),
        (lambda: T.gpt2().decode([10**9]), ValueError),
        (lambda: T.gpt2().encode_bytes("text"), TypeError),
        (lambda: T.gpt2().encode(3), TypeError),
    ],
)
def test_bad_input(call, error):
    with pytest.raises(error):
        call()
