"""N-gram language models on integer token ids: counting, smoothing and evaluation
(chapter 1).

Every estimator shares one interface (:class:`NgramLM`)::

    vocab = Vocabulary.from_sentences(train_sentences, eos="<eos>")
    ids = vocab.encode_corpus(train_sentences)
    counts = count_ngrams(ids, vocab, order=5)  # count once ...
    lm = ModifiedKneserNey(5).fit(counts)  # ... fit many models
    lm.logprob("market", ["the", "stock"])
    lm.perplexity(test_sentences)
    lm.generate(seed=0)

Conventions (those of SRILM): each sentence is scored on its own; it is padded with one
``<s>`` on the left, which is never predicted, and one end symbol (``</s>``, or
``<eos>`` for Mikolov's PTB) on the right, which is predicted and counted in perplexity.
Near the start of a sentence the history is simply shorter ("<s> a" is the whole history
of the third word), so no second ``<s>`` is needed. Log probabilities are natural
logarithms.

How the counting works (no Python dicts in the hot loops): every sentence becomes
``[<s>, w_1, ..., w_k, </s>]`` in one int64 stream. The m-gram ending at position ``t``
is identified by one integer key ``index_{m-1}(prefix) * V + w_t``, where
``index_{m-1}(prefix)`` is the row of its (m-1)-gram prefix in the sorted table of
(m-1)-grams, so keys never overflow however large ``m`` is. ``np.unique`` gives each
order's table (sorted keys, counts) in one call; look-ups are ``np.searchsorted``; all
n-grams with a given history form one contiguous block of rows, which makes whole
next-word distributions cheap.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from numbers import Integral, Real

import numpy as np

from lmbook.text import Vocab

__all__ = [
    "Vocabulary",
    "NgramCounts",
    "count_ngrams",
    "NgramLM",
    "MLE",
    "AddK",
    "Laplace",
    "Interpolated",
    "AbsoluteDiscounting",
    "KneserNey",
    "ModifiedKneserNey",
    "kn_discounts",
    "METHODS",
    "ADD_K_GRID",
    "build",
]


# --------------------------------------------------------------------------- vocabulary
class Vocabulary(Vocab):
    """The n-gram chapters' vocabulary: :class:`lmbook.text.Vocab` with ``bos`` (id 0),
    ``eos`` (id 1) and optionally ``unk`` (id 2) always present.

    ``unk=None`` builds a closed vocabulary: encoding an unknown token then raises
    ``ValueError``.
    """

    def __init__(
        self,
        tokens: Iterable[str],
        *,
        bos: str = "<s>",
        eos: str = "</s>",
        unk: str | None = "<unk>",
    ):
        for name, value in (("bos", bos), ("eos", eos)):
            if not isinstance(value, str) or not value:
                raise TypeError(f"{name} must be a non-empty string, got {value!r}")
        super().__init__(tokens, bos=bos, eos=eos, unk=unk)

    @classmethod
    def from_sentences(
        cls,
        sentences: Iterable[Sequence[str]],
        *,
        min_count: int = 1,
        bos: str = "<s>",
        eos: str = "</s>",
        unk: str | None = "<unk>",
    ) -> Vocabulary:
        """Vocabulary of the tokens seen at least ``min_count`` times (most frequent
        first).
        """
        return super().from_sentences(
            sentences, min_count=min_count, bos=bos, eos=eos, unk=unk
        )

    @property
    def num_predictable(self) -> int:
        """Size of the set a model predicts over: every id except ``bos``."""
        return len(self) - 1


# ----------------------------------------------------------------------------- counting
def _check_order(order: object, name: str = "order") -> int:
    if isinstance(order, bool) or not isinstance(order, Integral):
        raise TypeError(f"{name} must be an int, got {type(order).__name__}")
    if order < 1:
        raise ValueError(f"{name} must be >= 1, got {order}")
    return int(order)


def _to_ids(sentence: object, vocab: Vocabulary, what: str = "sentence") -> np.ndarray:
    """One sentence of ids or token strings -> int64 ids (unchecked: :func:`_check_ids`
    validates in bulk).
    """
    if isinstance(sentence, np.ndarray):
        if sentence.ndim != 1 or (sentence.size and sentence.dtype.kind not in "iu"):
            raise TypeError(
                f"{what} must be a 1-D array of integer ids, got {sentence.dtype} of "
                "shape "
                f"{sentence.shape}"
            )
        return sentence.astype(np.int64, copy=False)
    if isinstance(sentence, str) or not isinstance(sentence, Sequence):
        got = (
            "a string (split it first)"
            if isinstance(sentence, str)
            else type(sentence).__name__
        )
        raise TypeError(f"{what} must be a sequence of tokens or ids, got {got}")
    if len(sentence) and isinstance(sentence[0], str):
        return vocab.encode(sentence)
    if not all(isinstance(t, Integral) and not isinstance(t, bool) for t in sentence):
        raise TypeError(
            f"{what} must hold token strings or integer ids, not a mixture or other "
            "types"
        )
    return np.asarray(sentence, dtype=np.int64).reshape(-1)


def _check_ids(ids: np.ndarray, vocab: Vocabulary, what: str) -> None:
    if ids.size and (ids.min() < 0 or ids.max() >= len(vocab)):
        raise ValueError(
            f"{what} holds ids outside [0, {len(vocab)}) of the vocabulary"
        )
    if np.any((ids == vocab.bos_id) | (ids == vocab.eos_id)):
        raise ValueError(
            f"{what} must not contain {vocab.bos!r} or {vocab.eos!r} inside a "
            "sentence: they are "
            "added around every sentence automatically"
        )


def _stream(
    sentences: object, vocab: Vocabulary, what: str = "sentences"
) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate ``[<s>, ids..., </s>]`` for every sentence; returns (tokens, position
    inside the sentence).
    """
    if isinstance(sentences, (str, np.ndarray)) or not isinstance(sentences, Iterable):
        raise TypeError(
            f"{what} must be a list of sentences (each a sequence of tokens or ids)"
        )
    parts = [_to_ids(s, vocab, what=f"a sentence in {what}") for s in sentences]
    if not parts:
        raise ValueError(f"{what} is empty: give at least one sentence")
    inner_ids = np.concatenate(parts)
    _check_ids(inner_ids, vocab, what)
    lengths = np.fromiter((len(p) + 2 for p in parts), dtype=np.int64, count=len(parts))
    total = int(lengths.sum())
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    tok = np.empty(total, dtype=np.int64)
    inner = np.ones(total, dtype=bool)
    inner[starts] = False
    inner[starts + lengths - 1] = False
    tok[starts] = vocab.bos_id
    tok[starts + lengths - 1] = vocab.eos_id
    tok[inner] = inner_ids
    pos = np.arange(total, dtype=np.int64) - np.repeat(starts, lengths)
    return tok, pos


class NgramCounts:
    """Count tables of all orders 1..``order`` of a training corpus (build with
    :func:`count_ngrams`).

    Per order ``m`` (arrays indexed by table row): ``keys[m]`` sorted int64 keys
    ``row_{m-1}(prefix) * V + word``, ``counts[m]`` raw counts, ``prefix[m]`` row of the
    history in table ``m-1``, ``word[m]`` last token id, ``suffix[m]`` row in table
    ``m-1`` of the n-gram without its first token, ``bos_first[m]`` whether the n-gram
    starts with ``<s>``. Table 1 is dense: row = token id. Index 0 of these lists is
    unused.
    """

    def __init__(self, vocab: Vocabulary, order: int, tok: np.ndarray, pos: np.ndarray):
        self.vocab, self.order, self.V = vocab, order, len(vocab)
        self.num_sentences = int(np.sum(pos == 0))
        self.num_tokens = int(len(tok) - 2 * self.num_sentences)
        V = self.V
        self.keys: list[np.ndarray] = [np.zeros(0, np.int64)]
        self.counts: list[np.ndarray] = [np.zeros(0, np.int64)]
        self.prefix: list[np.ndarray] = [np.zeros(0, np.int64)]
        self.word: list[np.ndarray] = [np.zeros(0, np.int64)]
        self.suffix: list[np.ndarray] = [np.zeros(0, np.int64)]
        self.bos_first: list[np.ndarray] = [np.zeros(0, bool)]
        ids = np.arange(V, dtype=np.int64)
        self.keys.append(ids)
        self.counts.append(np.bincount(tok, minlength=V).astype(np.int64))
        self.prefix.append(np.zeros(V, np.int64))
        self.word.append(ids)
        self.suffix.append(np.zeros(V, np.int64))
        self.bos_first.append(ids == vocab.bos_id)
        # row of the (m-1)-gram ending at each position (-1: window leaves the sentence)
        row = tok
        for m in range(2, order + 1):
            valid = pos >= m - 1
            where = np.flatnonzero(valid)
            key = row[where - 1] * V + tok[where]
            uniq, first, inverse, cnt = np.unique(
                key, return_index=True, return_inverse=True, return_counts=True
            )
            new_row = np.full(len(tok), -1, dtype=np.int64)
            new_row[where] = inverse.reshape(-1)
            t_first = where[first]
            self.keys.append(uniq)
            self.counts.append(cnt.astype(np.int64))
            self.prefix.append(uniq // V)
            self.word.append(uniq % V)
            self.suffix.append(
                row[t_first]
            )  # the suffix of the m-gram ending at t is the (m-1)-gram ending at t
            self.bos_first.append(tok[t_first - (m - 1)] == vocab.bos_id)
            row = new_row

    def __repr__(self) -> str:
        sizes = ", ".join(
            f"{m}: {len(self.keys[m]):,}" for m in range(2, self.order + 1)
        )
        return (
            f"NgramCounts(order={self.order}, vocab={self.V:,}, "
            f"sentences={self.num_sentences:,}, "
            f"tokens={self.num_tokens:,}, distinct n-grams {{{sizes}}})"
        )

    def num_ngrams(self, m: int) -> int:
        """Number of distinct m-grams seen (for m = 1: distinct tokens, ``<s>``
        included).
        """
        m = _check_order(m, "m")
        if m > self.order:
            raise ValueError(f"m must be <= order {self.order}, got {m}")
        return int(np.count_nonzero(self.counts[m])) if m == 1 else len(self.keys[m])

    def rows(
        self, tok: np.ndarray, pos: np.ndarray, upto: int | None = None
    ) -> list[np.ndarray]:
        """For every position of a (tok, pos) stream, the row of the m-gram ending
        there, m = 1..upto.

        ``-1`` where the m-gram was never seen in training or its window leaves the
        sentence.
        """
        upto = self.order if upto is None else upto
        out = [np.zeros(0, np.int64), tok.astype(np.int64)]
        row = out[1]
        for m in range(2, upto + 1):
            prev = np.full(len(tok), -1, dtype=np.int64)
            prev[1:] = row[:-1]
            ok = (pos >= m - 1) & (prev >= 0)
            key = np.where(ok, prev * self.V + tok, -1)
            j = np.searchsorted(self.keys[m], key)
            j_clipped = np.minimum(j, max(len(self.keys[m]) - 1, 0))
            found = ok & (j < len(self.keys[m]))
            if len(self.keys[m]):
                found &= self.keys[m][j_clipped] == key
            row = np.where(found, j, -1)
            out.append(row)
        return out

    def count(self, ngram: Sequence[str | int]) -> int:
        """Raw training count of one n-gram given as tokens or ids (e.g. ``["<s>",
        "the"]``).
        """
        if isinstance(ngram, str) or not isinstance(ngram, Sequence):
            raise TypeError("ngram must be a sequence of tokens or ids")
        m = len(ngram)
        if not 1 <= m <= self.order:
            raise ValueError(f"ngram must have 1..{self.order} tokens, got {m}")
        ids = np.array(
            [self.vocab.token_id(t) if isinstance(t, str) else int(t) for t in ngram],
            np.int64,
        )
        if ids.min() < 0 or ids.max() >= self.V:
            raise ValueError("ngram holds ids outside the vocabulary")
        pos = np.arange(m, dtype=np.int64)
        r = self.rows(ids, pos, upto=m)[m][-1]
        return int(self.counts[m][r]) if r >= 0 else 0

    def unseen_rate(
        self, sentences: object, upto: int | None = None
    ) -> dict[int, float]:
        """Share of the m-grams of ``sentences`` (m = 1..upto) that never occur in
        training.

        Counted at every predicted position (each token and each end symbol) whose
        m-token window fits inside the padded sentence; a unigram is unseen if its
        training count is zero.
        """
        upto = self.order if upto is None else _check_order(upto, "upto")
        if upto > self.order:
            raise ValueError(f"upto must be <= order {self.order}, got {upto}")
        tok, pos = _stream(sentences, self.vocab)
        rows = self.rows(tok, pos, upto)
        out = {}
        for m in range(1, upto + 1):
            windows = pos >= max(m - 1, 1)
            seen = (self.counts[1][tok] > 0) if m == 1 else rows[m] >= 0
            out[m] = float(np.mean(~seen[windows]))
        return out


def count_ngrams(sentences: object, vocab: Vocabulary, order: int) -> NgramCounts:
    """Count all n-grams of orders 1..``order`` of ``sentences`` (sequences of ids or
    tokens) in one pass each.
    """
    if not isinstance(vocab, Vocabulary):
        raise TypeError(f"vocab must be a Vocabulary, got {type(vocab).__name__}")
    order = _check_order(order)
    tok, pos = _stream(sentences, vocab)
    if len(tok) == 2 * np.sum(pos == 0):
        raise ValueError("sentences hold no tokens: every sentence is empty")
    return NgramCounts(vocab, order, tok, pos)


# ------------------------------------------------------------------------------- models
class NgramLM:
    """Common interface of all n-gram estimators.

    Subclasses implement ``_fit(counts)``, ``_position_probs(rows, tok, pos)``
    (vectorised probability of every predicted token) and ``_next_dist(ctx_rows,
    avail)`` (the whole next-token distribution for one history).
    """

    def __init__(self, order: int):
        self.order = _check_order(order)
        self.counts_: NgramCounts | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(order={self.order})"

    # ------------------------------------------------------------------ fitting
    tunes_on_heldout = (
        False  # whether fit() accepts held-out sentences to tune hyper-parameters
    )

    def fit(
        self, data: object, vocab: Vocabulary | None = None, *, heldout: object = None
    ) -> NgramLM:
        """Fit on an :class:`NgramCounts` (of order >= self.order) or on sentences of
        ids/tokens plus ``vocab``.

        ``heldout`` (sentences) is only for estimators that tune something on held-out
        data (:class:`Interpolated`).
        """
        if heldout is not None and not self.tunes_on_heldout:
            raise ValueError(
                f"heldout: {type(self).__name__} tunes nothing on held-out data; leave "
                "it out"
            )
        if isinstance(data, NgramCounts):
            if vocab is not None and vocab is not data.vocab:
                raise ValueError(
                    "vocab must be left out (or be counts.vocab) when fitting on "
                    "NgramCounts"
                )
            if data.order < self.order:
                raise ValueError(
                    f"the counts go up to order {data.order}, the model needs "
                    f"{self.order}"
                )
            counts = data
        else:
            if vocab is None:
                raise ValueError("vocab is required when fitting on sentences")
            counts = count_ngrams(data, vocab, self.order)
        self.counts_ = counts
        self.vocab = counts.vocab
        if self.tunes_on_heldout:
            self._fit(counts, heldout=heldout)
        else:
            self._fit(counts)
        return self

    def _check_fitted(self) -> NgramCounts:
        if self.counts_ is None:
            raise RuntimeError(
                f"{type(self).__name__} is not fitted yet: call fit() first"
            )
        return self.counts_

    def _fit(self, counts: NgramCounts) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    # ----------------------------------------------------- helpers shared by subclasses
    def _context_stats(
        self, counts: NgramCounts, m: int, used: np.ndarray
    ) -> np.ndarray:
        """Total count c(h .) of every history row of order m (history table is m-1;
        order 1: one row).
        """
        n_ctx = 1 if m == 1 else len(counts.counts[m - 1])
        return np.bincount(counts.prefix[m], weights=used, minlength=n_ctx)

    def _uniform(self) -> np.ndarray:
        V = self.counts_.V
        p = np.full(V, 1.0 / self.vocab.num_predictable)
        p[self.vocab.bos_id] = 0.0
        return p

    def _block(self, m: int, h: int) -> slice:
        """Rows of table m whose history is row h of table m-1."""
        keys = self.counts_.keys[m]
        V = self.counts_.V
        if m == 1:
            return slice(0, len(keys))
        lo, hi = np.searchsorted(keys, [h * V, (h + 1) * V])
        return slice(int(lo), int(hi))

    def _context_rows(self, context: object) -> tuple[list[int], list[bool]]:
        """History rows for orders 1..order of the next token after ``context`` (-1:
        unseen) and availability.
        """
        counts = self._check_fitted()
        if context is None:
            context = []
        if isinstance(context, str):
            raise TypeError(
                "context must be a sequence of tokens or ids, got a string (split it "
                "first)"
            )
        if not isinstance(context, (Sequence, np.ndarray)):
            raise TypeError(
                "context must be a sequence of tokens or ids, got "
                f"{type(context).__name__}"
            )
        ids = [self.vocab.token_id(t) if isinstance(t, str) else t for t in context]
        for t in ids:
            if (
                isinstance(t, bool)
                or not isinstance(t, Integral)
                or not 0 <= t < counts.V
            ):
                raise ValueError(
                    f"context holds {t!r}, which is not a token or id of the vocabulary"
                )
        ids = [int(t) for t in ids]
        if self.vocab.eos_id in ids:
            raise ValueError(
                f"context must not contain {self.vocab.eos!r}: the model scores one "
                "sentence at a time"
            )
        if (
            self.vocab.bos_id in ids
        ):  # nothing before <s> matters; positions count from the sentence start
            ids = ids[len(ids) - 1 - ids[::-1].index(self.vocab.bos_id) :]
            pos = np.arange(len(ids), dtype=np.int64)
        else:  # a fragment from the middle of a sentence
            pos = self.order + np.arange(len(ids), dtype=np.int64)
        keep = self.order - 1
        tok = np.array(
            ids[len(ids) - keep :]
            if keep and len(ids) > keep
            else (ids if keep else []),
            np.int64,
        )
        pos = pos[len(pos) - len(tok) :]
        ctx, avail = [0, 0], [True, True]  # order 1 has the empty history (row 0)
        rows = counts.rows(tok, pos, upto=len(tok)) if len(tok) else []
        for m in range(2, self.order + 1):
            ok = len(tok) >= m - 1 and pos[-1] >= m - 2
            ctx.append(int(rows[m - 1][-1]) if ok else -1)
            avail.append(bool(ok))
        return ctx, avail

    # ----------------------------------------------------------------- public interface
    def distribution(self, context: object = None) -> np.ndarray:
        """Probabilities of every token id as the next token after ``context`` (sums to
        1; ``<s>`` gets 0).
        """
        ctx, avail = self._context_rows(context)
        p = self._next_dist(ctx, avail)
        return p

    def prob(self, word: str | int, context: object = None) -> float:
        """p(word | context)."""
        counts = self._check_fitted()
        if isinstance(word, str):
            w = self.vocab.token_id(word)
        elif (
            isinstance(word, Integral)
            and not isinstance(word, bool)
            and 0 <= word < counts.V
        ):
            w = int(word)
        else:
            raise ValueError(
                f"word must be a token or an id of the vocabulary, got {word!r}"
            )
        if w == self.vocab.bos_id:
            raise ValueError(
                f"{self.vocab.bos!r} is never predicted; it only starts a sentence"
            )
        return float(self.distribution(context)[w])

    def logprob(self, word: str | int, context: object = None) -> float:
        """Natural log of p(word | context); ``-inf`` if the model gives it probability
        0.
        """
        p = self.prob(word, context)
        return math.log(p) if p > 0 else -math.inf

    def token_logprobs(self, sentences: object) -> np.ndarray:
        """Natural-log probability of every predicted token (each word and each end
        symbol), vectorised.
        """
        counts = self._check_fitted()
        tok, pos = _stream(sentences, self.vocab)
        rows = counts.rows(tok, pos, self.order)
        p = self._position_probs(rows, tok, pos)
        predicted = pos > 0
        with np.errstate(divide="ignore"):
            return np.log(p[predicted])

    def logprob_sequence(self, sentence: object) -> float:
        """Natural log probability of one whole sentence, its end symbol included."""
        if isinstance(sentence, str):
            raise TypeError(
                "sentence must be a sequence of tokens or ids, got a string (split it "
                "first)"
            )
        return float(np.sum(self.token_logprobs([sentence])))

    def perplexity(self, sentences: object) -> float:
        """exp of the mean negative log probability per predicted token (end symbols
        included).
        """
        lp = self.token_logprobs(sentences)
        return float(np.exp(-np.mean(lp)))

    def top_k(self, context: object = None, k: int = 10) -> list[tuple[str, float]]:
        """The ``k`` most probable next tokens after ``context`` as (token,
        probability), best first.
        """
        k = _check_order(k, "k")
        p = self.distribution(context)
        best = np.argsort(-p, kind="stable")[:k]
        return [(self.vocab.itos[i], float(p[i])) for i in best]

    def generate(
        self,
        max_tokens: int = 30,
        context: object = None,
        temperature: float = 1.0,
        seed: int | None = None,
    ) -> list[str]:
        """Sample tokens after ``context`` (default: a sentence start) until the end
        symbol or ``max_tokens``.

        ``temperature`` reshapes the distribution as p^(1/T) (T < 1 sharper, T > 1
        flatter); ``0`` is greedy. Returns the sampled tokens without the end symbol.
        """
        max_tokens = _check_order(max_tokens, "max_tokens")
        if (
            isinstance(temperature, bool)
            or not isinstance(temperature, Real)
            or not temperature >= 0
        ):
            raise ValueError(f"temperature must be a number >= 0, got {temperature!r}")
        self._check_fitted()
        if isinstance(context, str):
            raise TypeError(
                "context must be a sequence of tokens, got a string (split it first)"
            )
        rng = np.random.default_rng(seed)
        history = list(context) if context is not None else [self.vocab.bos]
        out: list[str] = []
        for _ in range(max_tokens):
            p = self.distribution(history)
            if temperature == 0:
                nxt = int(np.argmax(p))
            else:
                if temperature != 1:
                    with np.errstate(divide="ignore"):
                        logits = np.log(p) / temperature
                    logits -= logits.max()
                    p = np.exp(logits)
                p = p / p.sum()
                nxt = int(rng.choice(len(p), p=p))
            if nxt == self.vocab.eos_id:
                break
            out.append(self.vocab.itos[nxt])
            history.append(nxt)
        return out


# --------------------------------------------------------------------------- estimators
class MLE(NgramLM):
    """Maximum likelihood: p(w | h) = c(h w) / c(h .). An unseen history falls back to
    its longest seen suffix.
    """

    def _fit(self, counts: NgramCounts) -> None:
        self._used = []
        self._total = []
        for m in range(self.order + 1):
            if m == 0:
                self._used.append(None)
                self._total.append(None)
                continue
            used = counts.counts[m].astype(float)
            if m == 1:
                used = used.copy()
                used[counts.vocab.bos_id] = 0.0
            self._used.append(used)
            self._total.append(self._context_stats(counts, m, used))

    def _ml_terms(self, rows, tok, pos):
        """Per order m: p_ML at every position and whether its history was seen."""
        terms = []
        for m in range(1, self.order + 1):
            h = np.zeros(len(tok), np.int64) if m == 1 else _shift(rows[m - 1])
            ok = (pos >= m - 1) & (h >= 0)
            tot = np.where(ok, self._total[m][np.maximum(h, 0)], 0.0)
            ok &= tot > 0
            c = np.where(rows[m] >= 0, self._used[m][np.maximum(rows[m], 0)], 0.0)
            terms.append((c / np.where(ok, tot, 1.0), ok))
        return terms

    def _position_probs(self, rows, tok, pos):
        p = np.zeros(len(tok))
        for ml, ok in self._ml_terms(rows, tok, pos):  # the longest seen history wins
            p = np.where(ok, ml, p)
        return p

    def _next_dist(self, ctx, avail):
        p = np.zeros(self.counts_.V)
        for m in range(1, self.order + 1):
            h = ctx[m]
            if not avail[m] or h < 0 or self._total[m][h] <= 0:
                continue
            b = self._block(m, h)
            p = np.zeros(self.counts_.V)
            p[self.counts_.word[m][b]] = self._used[m][b] / self._total[m][h]
        return p


class AddK(NgramLM):
    """Add-k (Lidstone) smoothing: p(w | h) = (c(h w) + k) / (c(h .) + k |V|), |V| =
    predictable tokens.

    Near the start of a sentence the history is the shorter one beginning with ``<s>``.
    ``k = 1`` is Laplace.
    """

    def __init__(self, order: int, k: float = 1.0):
        super().__init__(order)
        if (
            isinstance(k, bool)
            or not isinstance(k, Real)
            or not k > 0
            or not math.isfinite(k)
        ):
            raise ValueError(f"k must be a positive number, got {k!r}")
        self.k = float(k)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(order={self.order}, k={self.k:g})"

    _fit = MLE._fit

    def _position_probs(self, rows, tok, pos):
        Vp = self.vocab.num_predictable
        m_used = np.minimum(
            pos + 1, self.order
        )  # longest window that fits in the sentence
        p = np.zeros(len(tok))
        for m in range(1, self.order + 1):
            sel = m_used == m
            h = np.zeros(len(tok), np.int64) if m == 1 else _shift(rows[m - 1])
            tot = np.where(h >= 0, self._total[m][np.maximum(h, 0)], 0.0)
            c = np.where(rows[m] >= 0, self._used[m][np.maximum(rows[m], 0)], 0.0)
            p = np.where(sel, (c + self.k) / (tot + self.k * Vp), p)
        return p

    def _next_dist(self, ctx, avail):
        m = max(i for i in range(1, self.order + 1) if avail[i])
        h = ctx[m]
        Vp = self.vocab.num_predictable
        tot = self._total[m][h] if h >= 0 else 0.0
        p = np.full(self.counts_.V, self.k)
        if h >= 0:
            b = self._block(m, h)
            p[self.counts_.word[m][b]] += self._used[m][b]
        p /= (
            tot + self.k * Vp
        )  # (c + k) / (c(h .) + k |V|), in this order of operations (as nltk.lm)
        p[self.vocab.bos_id] = 0.0
        return p


class Laplace(AddK):
    """Add-one smoothing (Laplace, 1812): :class:`AddK` with k = 1."""

    def __init__(self, order: int):
        super().__init__(order, k=1.0)


class Interpolated(NgramLM):
    """Jelinek-Mercer linear interpolation of maximum-likelihood estimates of orders
    1..n and the uniform:

    p_m(w | h) = lambda_m p_ML(w | h) + (1 - lambda_m) p_{m-1}(w | h'), p_0 = uniform; a
    history that was never seen leaves p_m = p_{m-1}. ``fit(..., heldout=sentences)``
    chooses the lambdas that maximise the held-out likelihood (never the test set!);
    without held-out data every lambda is 0.5.
    """

    tunes_on_heldout = True

    def __init__(self, order: int, lambdas: Sequence[float] | None = None):
        super().__init__(order)
        if lambdas is not None:
            lam = np.asarray(lambdas, dtype=float)
            if lam.shape != (self.order,) or not np.all((lam > 0) & (lam < 1)):
                raise ValueError(
                    f"lambdas must be {self.order} numbers in (0, 1), got {lambdas!r}"
                )
            self.lambdas = lam
        else:
            self.lambdas = None

    def _fit(self, counts: NgramCounts, heldout: object = None) -> None:
        MLE._fit(self, counts)
        if heldout is not None:
            self.lambdas = self._fit_lambdas(heldout)
        elif self.lambdas is None:
            self.lambdas = np.full(self.order, 0.5)

    _ml_terms = MLE._ml_terms

    def _combine(self, terms, lambdas, n):
        p = np.full(n, 1.0 / self.vocab.num_predictable)
        for (ml, ok), lam in zip(terms, lambdas):
            p = np.where(ok, lam * ml + (1 - lam) * p, p)
        return p

    def _fit_lambdas(self, heldout):
        from scipy.optimize import minimize

        tok, pos = _stream(heldout, self.vocab, what="heldout")
        rows = self.counts_.rows(tok, pos, self.order)
        pred = pos > 0
        terms = [(ml[pred], ok[pred]) for ml, ok in self._ml_terms(rows, tok, pos)]
        n = int(pred.sum())

        def nll(theta):
            lam = 1.0 / (1.0 + np.exp(-theta))
            return -float(np.mean(np.log(self._combine(terms, lam, n))))

        res = minimize(nll, np.zeros(self.order), method="L-BFGS-B")
        return 1.0 / (1.0 + np.exp(-res.x))

    def _position_probs(self, rows, tok, pos):
        return self._combine(self._ml_terms(rows, tok, pos), self.lambdas, len(tok))

    def _next_dist(self, ctx, avail):
        V = self.counts_.V
        p = self._uniform()
        for m in range(1, self.order + 1):
            h = ctx[m]
            if not avail[m] or h < 0 or self._total[m][h] <= 0:
                continue
            b = self._block(m, h)
            ml = np.zeros(V)
            ml[self.counts_.word[m][b]] = self._used[m][b] / self._total[m][h]
            p = self.lambdas[m - 1] * ml + (1 - self.lambdas[m - 1]) * p
        return p


def kn_discounts(count_values: np.ndarray, modified: bool = True) -> np.ndarray:
    """Discounts from the count-of-counts n_1..n_4 of a table of counts (Chen & Goodman,
    1998, eq. 26).

    ``modified=False``: one discount D = n1 / (n1 + 2 n2) (Ney et al., 1994), returned
    as [D, D, D]. ``modified=True``: Y = n1 / (n1 + 2 n2), D1 = 1 - 2Y n2/n1, D2 = 2 -
    3Y n3/n2, D3+ = 3 - 4Y n4/n3. Where the count-of-counts are too few to estimate a
    discount (tiny corpora), it falls back to the single discount, or 0.5, always
    clipped to [0, k] so that no count goes negative.
    """
    values = np.asarray(count_values)
    if values.ndim != 1:
        raise ValueError(f"count_values must be 1-D, got shape {values.shape}")
    if not isinstance(modified, bool):
        raise TypeError("modified must be a bool")
    n = [int(np.sum(values == k)) for k in range(5)]
    with np.errstate(divide="ignore", invalid="ignore"):
        y = n[1] / (n[1] + 2 * n[2]) if n[1] + 2 * n[2] > 0 else float("nan")
        if not (math.isfinite(y) and 0 < y < 1):
            y = 0.5
        if not modified:
            return np.array([y, y, y])
        d = np.array(
            [
                1 - 2 * y * n[2] / n[1] if n[1] > 0 else float("nan"),
                2 - 3 * y * n[3] / n[2] if n[2] > 0 else float("nan"),
                3 - 4 * y * n[4] / n[3] if n[3] > 0 else float("nan"),
            ]
        )
    for i in range(3):
        if not (math.isfinite(d[i]) and 0 < d[i] <= i + 1):
            d[i] = min(y, i + 1)
    return d


class AbsoluteDiscounting(NgramLM):
    """Interpolated absolute discounting (Ney, Essen & Kneser, 1994) on raw counts at
    every order:

    p_m(w | h) = max(c(h w) - D_m, 0) / c(h .) + gamma(h) p_{m-1}(w | h'),  gamma(h) =
    D_m N1+(h .) / c(h .), down to p_0 = uniform. ``discount=None`` estimates D_m = n1 /
    (n1 + 2 n2) per order from training counts.
    """

    continuation = False
    modified = False

    def __init__(self, order: int, discount: float | None = None):
        super().__init__(order)
        if discount is not None and (
            isinstance(discount, bool)
            or not isinstance(discount, Real)
            or not 0 < discount <= 1
        ):
            raise ValueError(
                f"discount must be a number in (0, 1] or None, got {discount!r}"
            )
        self.discount = None if discount is None else float(discount)

    def _used_counts(self, counts: NgramCounts, m: int) -> np.ndarray:
        """The counts an order works with: raw at the top order (or everywhere without
        continuation counts); below it, Kneser-Ney continuation counts N1+(. g), except
        for n-grams starting with <s> (raw)."""
        raw = counts.counts[m]
        if not self.continuation or m == self.order:
            used = raw.astype(float)
        else:
            n_rows = len(raw)
            cont = np.bincount(counts.suffix[m + 1], minlength=n_rows).astype(float)
            used = np.where(counts.bos_first[m], raw, cont).astype(float)
        if m == 1:
            used = used.copy()
            used[counts.vocab.bos_id] = 0.0
        return used

    def _fit(self, counts: NgramCounts) -> None:
        self._disc = [None]
        self._total = [None]
        self._gamma = [None]
        self.discounts_ = {}
        for m in range(1, self.order + 1):
            used = self._used_counts(counts, m)
            if self.discount is not None:
                d = np.array([self.discount] * 3)
            else:
                d = kn_discounts(
                    used[used > 0].astype(np.int64), modified=self.modified
                )
            self.discounts_[m] = tuple(
                float(x) for x in (d if self.modified else d[:1])
            )
            dk = np.where(used >= 3, d[2], np.where(used == 2, d[1], d[0]))
            disc = np.where(used > 0, np.maximum(used - dk, 0.0), 0.0)
            total = self._context_stats(counts, m, used)
            kept = self._context_stats(counts, m, disc)
            self._disc.append(disc)
            self._total.append(total)
            self._gamma.append(
                total - kept
            )  # discounted mass of each history: D1 N1 + D2 N2 + D3 N3+

    def _position_probs(self, rows, tok, pos):
        p = np.full(len(tok), 1.0 / self.vocab.num_predictable)
        for m in range(1, self.order + 1):
            h = np.zeros(len(tok), np.int64) if m == 1 else _shift(rows[m - 1])
            ok = (pos >= m - 1) & (h >= 0)
            hh = np.maximum(h, 0)
            tot = np.where(ok, self._total[m][hh], 0.0)
            ok &= tot > 0
            safe = np.where(ok, tot, 1.0)
            num = np.where(rows[m] >= 0, self._disc[m][np.maximum(rows[m], 0)], 0.0)
            p = np.where(ok, (num + self._gamma[m][hh] * p) / safe, p)
        return p

    def _next_dist(self, ctx, avail):
        p = self._uniform()
        for m in range(1, self.order + 1):
            h = ctx[m]
            if not avail[m] or h < 0 or self._total[m][h] <= 0:
                continue
            b = self._block(m, h)
            tot = self._total[m][h]
            p = p * (self._gamma[m][h] / tot)
            p[self.counts_.word[m][b]] += self._disc[m][b] / tot
        return p


class KneserNey(AbsoluteDiscounting):
    """Interpolated Kneser-Ney (Kneser & Ney, 1995): absolute discounting whose lower
    orders use continuation counts N1+(. w) (in how many different contexts w appears)
    instead of raw counts; one discount per order."""

    continuation = True


class ModifiedKneserNey(KneserNey):
    """Interpolated modified Kneser-Ney (Chen & Goodman, 1998): three discounts per
    order (for counts 1, 2, 3+), estimated from the training count-of-counts
    (:func:`kn_discounts`); ``discount`` fixes all of them."""

    modified = True


METHODS = {
    "mle": "maximum likelihood",
    "add_one": "add-one (Laplace)",
    "add_k": "add-k (k tuned on held-out data)",
    "interpolated": "linear interpolation (Jelinek-Mercer)",
    "absolute_discounting": "interpolated absolute discounting",
    "kn_interpolated": "interpolated Kneser-Ney",
    "kn_modified_interpolated": "interpolated modified Kneser-Ney",
}
ADD_K_GRID = (1.0, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001)


def build(
    method: str, order: int, counts: NgramCounts, heldout: object = None
) -> NgramLM:
    """Fit the estimator named ``method`` (a key of :data:`METHODS`) of the given order
    on ``counts``.

    ``heldout`` sentences tune what is tuned (the interpolation weights; k of add-k,
    chosen from ``ADD_K_GRID`` by held-out perplexity); the methods that need it raise
    ``ValueError`` without it.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}, got {method!r}")
    if not isinstance(counts, NgramCounts):
        raise TypeError(f"counts must be NgramCounts, got {type(counts).__name__}")
    if method in ("add_k", "interpolated") and heldout is None:
        raise ValueError(f"method {method!r} tunes on held-out sentences: pass heldout")
    if method == "add_k":
        fitted = [AddK(order, k=k).fit(counts) for k in ADD_K_GRID]
        return min(fitted, key=lambda lm: lm.perplexity(heldout))
    if method == "interpolated":
        return Interpolated(order).fit(counts, heldout=heldout)
    cls = {
        "mle": MLE,
        "add_one": Laplace,
        "absolute_discounting": AbsoluteDiscounting,
        "kn_interpolated": KneserNey,
        "kn_modified_interpolated": ModifiedKneserNey,
    }[method]
    return cls(order).fit(counts)


def _shift(row: np.ndarray) -> np.ndarray:
    """row[t-1] at position t (-1 at t = 0): the history of the token at t is the n-gram
    ending at t-1.
    """
    out = np.full(len(row), -1, dtype=np.int64)
    out[1:] = row[:-1]
    return out
