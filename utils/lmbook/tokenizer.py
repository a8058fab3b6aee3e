"""Byte-level byte-pair encoding, the tokenizer of GPT-2 (chapter 6).

BPE (Sennrich et al., 2016) starts from single symbols and repeatedly merges the most
frequent adjacent pair into a new symbol. GPT-2 (Radford et al., 2019) runs it on
bytes, so every string can be encoded and nothing is ever unknown. Bytes are shown as
printable characters through :func:`bytes_to_unicode`, and text is first cut into
pre-tokens by :data:`GPT2_PATTERN` so merges never cross a word boundary.
Pure Python, no deep-learning framework.
"""

from __future__ import annotations

import functools
import json
from collections import Counter, defaultdict
from pathlib import Path

import regex

__all__ = [
    "GPT2_PATTERN",
    "bytes_to_unicode",
    "pretokenize",
    "learn_merges",
    "BPETokenizer",
    "gpt2",
]

#: GPT-2's pre-tokenisation: contractions, letters, digits, other symbols, spaces.
GPT2_PATTERN = regex.compile(
    r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
)


@functools.lru_cache(maxsize=1)
def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's map from the 256 byte values to printable characters.

    Printable Latin-1 bytes map to themselves; the 68 others (controls, space, ...)
    map to ``chr(256 + n)`` in byte order, so space (32) becomes ``'Ġ'``.
    """
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    chars, n = {}, 0
    for b in range(256):
        if b in printable:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + n)
            n += 1
    # the mapping's order (printable bytes first) is the order of GPT-2's first 256 ids
    return {b: chars[b] for b in sorted(chars, key=lambda b: ord(chars[b]))}


def _check_text(text: object, name: str = "text") -> None:
    if not isinstance(text, str):
        raise TypeError(f"{name} must be a str, got {type(text).__name__}")


def pretokenize(text: str) -> list[str]:
    """Split ``text`` into GPT-2 pre-tokens, each written in byte characters."""
    _check_text(text)
    table = bytes_to_unicode()
    return [
        "".join(table[b] for b in piece.encode("utf-8"))
        for piece in GPT2_PATTERN.findall(text)
    ]


def _check_train(text: object, num_merges: object) -> None:
    _check_text(text)
    if isinstance(num_merges, bool) or not isinstance(num_merges, int):
        raise TypeError(f"num_merges must be an int, got {type(num_merges).__name__}")
    if num_merges < 0:
        raise ValueError(f"num_merges must be >= 0, got {num_merges}")


def learn_merges(text: str, num_merges: int) -> list[tuple[str, str]]:
    """Learn up to ``num_merges`` BPE merges from ``text``, most frequent pair first.

    Ties go to the pair whose symbols were created first (the 256 bytes in GPT-2's
    order, then merges in order), the rule of Hugging Face's ``BpeTrainer``.
    """
    _check_train(text, num_merges)
    rank = {ch: i for i, ch in enumerate(bytes_to_unicode().values())}
    counts = Counter(pretokenize(text))
    words, freq = [list(w) for w in counts], list(counts.values())
    pairs: Counter = Counter()
    where = defaultdict(set)  # pair -> indices of the words holding it
    for i, word in enumerate(words):
        for pair in zip(word, word[1:]):
            pairs[pair] += freq[i]
            where[pair].add(i)
    merges = []
    for _ in range(num_merges):
        if not pairs:
            break
        best = max(pairs, key=lambda p: (pairs[p], -rank[p[0]], -rank[p[1]]))
        if pairs[best] < 1:
            break
        merges.append(best)
        rank[best[0] + best[1]] = len(rank)
        for i in where.pop(best):
            _merge_word(words, i, best, freq[i], pairs, where)
        pairs.pop(best, None)
    return merges


def _merge_word(words, i, pair, count, pairs, where) -> None:
    """Replace ``pair`` in ``words[i]`` and update the pair counts and index."""
    old = words[i]
    for p in zip(old, old[1:]):
        pairs[p] -= count
        if pairs[p] <= 0:
            del pairs[p]
    new, j = [], 0
    while j < len(old):
        if j + 1 < len(old) and (old[j], old[j + 1]) == pair:
            new.append(old[j] + old[j + 1])
            j += 2
        else:
            new.append(old[j])
            j += 1
    words[i] = new
    for p in zip(new, new[1:]):
        pairs[p] += count
        where[p].add(i)


class BPETokenizer:
    """A byte-level BPE tokenizer: a vocabulary (symbol → id) and ranked merges.

    ``encode`` maps text to ids, ``decode`` maps ids back; ``decode(encode(s)) == s``
    for every string, since the 256 bytes are all in the vocabulary.
    """

    def __init__(self, vocab: dict[str, int], merges: list[tuple[str, str]]) -> None:
        _check_vocab(vocab, merges)
        self.vocab = dict(vocab)
        self.inverse = {i: s for s, i in self.vocab.items()}
        self.merges = [tuple(m) for m in merges]
        self.ranks = {m: r for r, m in enumerate(self.merges)}
        self.byte_decoder = {c: b for b, c in bytes_to_unicode().items()}
        self._cache: dict[str, list[str]] = {}

    def __len__(self) -> int:
        return len(self.vocab)

    def __repr__(self) -> str:
        return f"BPETokenizer({len(self.vocab):,} tokens, {len(self.merges):,} merges)"

    @classmethod
    def train(cls, text: str, vocab_size: int) -> BPETokenizer:
        """Learn ``vocab_size - 256`` merges (vocabulary: the bytes, then merges)."""
        if isinstance(vocab_size, bool) or not isinstance(vocab_size, int):
            raise TypeError(
                f"vocab_size must be an int, got {type(vocab_size).__name__}"
            )
        if vocab_size < 256:
            raise ValueError(f"vocab_size must be >= 256 (the bytes), got {vocab_size}")
        merges = learn_merges(text, vocab_size - 256)
        symbols = [*bytes_to_unicode().values(), *(a + b for a, b in merges)]
        return cls({s: i for i, s in enumerate(symbols)}, merges)

    @classmethod
    def from_files(
        cls, vocab_file: str | Path, merges_file: str | Path
    ) -> BPETokenizer:
        """Load GPT-2's ``encoder.json`` (symbol → id) and ``vocab.bpe`` (merges)."""
        vocab = json.loads(Path(vocab_file).read_text(encoding="utf-8"))
        lines = Path(merges_file).read_text(encoding="utf-8").splitlines()
        merges = [tuple(line.split(" ")) for line in lines[1:] if line]  # skip #version
        return cls(vocab, merges)

    def bpe(self, symbols: str) -> list[str]:
        """Apply the merges to one pre-token: always the lowest-ranked pair present."""
        if symbols in self._cache:
            return self._cache[symbols]
        parts = list(symbols)
        while len(parts) > 1:
            pairs = set(zip(parts, parts[1:]))
            best = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if best not in self.ranks:
                break
            merged, j = [], 0
            while j < len(parts):
                if j + 1 < len(parts) and (parts[j], parts[j + 1]) == best:
                    merged.append(parts[j] + parts[j + 1])
                    j += 2
                else:
                    merged.append(parts[j])
                    j += 1
            parts = merged
        if len(self._cache) < 100_000:
            self._cache[symbols] = parts
        return parts

    def tokenize(self, text: str) -> list[str]:
        """``text`` → symbols (pre-tokenise, then BPE each piece)."""
        return [s for piece in pretokenize(text) for s in self.bpe(piece)]

    def encode(self, text: str) -> list[int]:
        """``text`` → token ids."""
        return [self.vocab[s] for s in self.tokenize(text)]

    def encode_bytes(self, data: bytes) -> list[int]:
        """Raw ``bytes`` → ids, BPE on the whole byte string (no pre-tokenisation)."""
        if not isinstance(data, (bytes, bytearray)):
            raise TypeError(f"data must be bytes, got {type(data).__name__}")
        table = bytes_to_unicode()
        symbols = self.bpe("".join(table[b] for b in data)) if data else []
        return [self.vocab[s] for s in symbols]

    def decode_bytes(self, ids) -> bytes:
        """Token ids → the bytes they stand for."""
        try:
            symbols = [self.inverse[int(i)] for i in ids]
        except KeyError as err:
            raise ValueError(f"id {err.args[0]} is not in the vocabulary") from None
        except TypeError:
            raise TypeError("ids must be an iterable of ints") from None
        return bytes(self.byte_decoder[c] for c in "".join(symbols))

    def decode(self, ids) -> str:
        """Token ids → text (invalid UTF-8 from a partial sequence becomes '�')."""
        return self.decode_bytes(ids).decode("utf-8", errors="replace")


def _check_vocab(vocab: object, merges: object) -> None:
    if not isinstance(vocab, dict) or not vocab:
        raise TypeError("vocab must be a non-empty dict of symbol -> id")
    missing = [c for c in bytes_to_unicode().values() if c not in vocab]
    if missing:
        raise ValueError(f"vocab lacks {len(missing)} of the 256 byte symbols")
    for merge in merges:
        if len(merge) != 2 or merge[0] + merge[1] not in vocab:
            raise ValueError(f"merge {merge!r} does not produce a vocabulary symbol")


@functools.lru_cache(maxsize=1)
def gpt2() -> BPETokenizer:
    """GPT-2's own tokenizer (50,257 tokens, 50,000 merges) from the packaged files."""
    from lmbook.data import gpt2_bpe_files

    return BPETokenizer.from_files(*gpt2_bpe_files())
