"""Unit tests of lmbook.ngram: counting, every estimator's distribution, references
(nltk.lm, hand-worked KN).
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from lmbook import ngram as ng

WORDS = ["a", "b", "c", "d", "e"]


def random_corpus(seed: int, n_sents: int = 40, max_len: int = 7) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    # a skewed distribution so that counts 1, 2, 3 and 4+ all occur
    p = np.array([0.4, 0.25, 0.15, 0.12, 0.08])
    return [
        [str(w) for w in rng.choice(WORDS, size=rng.integers(1, max_len + 1), p=p)]
        for _ in range(n_sents)
    ]


def make_estimators(order: int, heldout):
    return [
        ng.MLE(order),
        ng.AddK(order, k=0.5),
        ng.Laplace(order),
        ng.Interpolated(order),
        ("heldout", ng.Interpolated(order)),
        ng.AbsoluteDiscounting(order),
        ng.KneserNey(order),
        ng.ModifiedKneserNey(order),
        ng.ModifiedKneserNey(order, discount=0.75),
    ]


@pytest.fixture(scope="module")
def corpus():
    train = random_corpus(0)
    vocab = ng.Vocabulary(WORDS[:4])  # "e" is out of vocabulary: it becomes <unk>
    return train, random_corpus(1, n_sents=10), vocab


def fitted(order, corpus):
    train, heldout, vocab = corpus
    counts = ng.count_ngrams(vocab.encode_corpus(train), vocab, order)
    out = []
    for est in make_estimators(order, heldout):
        if isinstance(est, tuple):
            out.append(est[1].fit(counts, heldout=heldout))
        else:
            out.append(est.fit(counts))
    return out


# ----------------------------------------------------------------------------- counting
@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_counts_match_naive_counting(corpus, order):
    train, _, vocab = corpus
    counts = ng.count_ngrams(train, vocab, order)
    naive = Counter()
    for s in train:
        padded = ["<s>"] + [w if w in vocab else "<unk>" for w in s] + ["</s>"]
        for m in range(1, order + 1):
            for i in range(len(padded) - m + 1):
                naive[tuple(padded[i : i + m])] += 1
    for gram, c in naive.items():
        assert counts.count(list(gram)) == c, gram
    for m in range(2, order + 1):
        assert counts.num_ngrams(m) == sum(1 for g in naive if len(g) == m)
        assert int(counts.counts[m].sum()) == sum(
            c for g, c in naive.items() if len(g) == m
        )
    assert counts.count(["d", "d", "d", "d"][:order]) == naive.get(("d",) * order, 0)


def test_unseen_rate_matches_naive(corpus):
    train, heldout, vocab = corpus
    counts = ng.count_ngrams(train, vocab, 3)
    rates = counts.unseen_rate(heldout)
    seen = set()
    for s in train:
        p = ["<s>"] + [w if w in vocab else "<unk>" for w in s] + ["</s>"]
        seen |= {tuple(p[i : i + m]) for m in (1, 2, 3) for i in range(len(p) - m + 1)}
    for m in (2, 3):
        grams = []
        for s in heldout:
            p = ["<s>"] + [w if w in vocab else "<unk>" for w in s] + ["</s>"]
            grams += [tuple(p[i - m + 1 : i + 1]) for i in range(max(m - 1, 1), len(p))]
        assert rates[m] == pytest.approx(np.mean([g not in seen for g in grams]))
    assert rates[1] == 0.0


# ------------------------------------------------------------------------ distributions
CONTEXTS = [
    [],
    ["<s>"],
    ["<s>", "a"],
    ["a", "b"],
    ["<s>", "d", "d", "d"],
    ["d", "d", "d", "d"],
    ["c", "<s>", "b"],
    ["<unk>", "<unk>", "<unk>"],
    ["zzz", "qqq"],
    [0, 3, 4],
]


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_every_distribution_sums_to_one(corpus, order):
    rng = np.random.default_rng(order)
    vocab = corpus[2]
    random_contexts = [
        list(rng.integers(2, len(vocab), size=rng.integers(0, 5))) for _ in range(5)
    ]
    for lm in fitted(order, corpus):
        for ctx in CONTEXTS + random_contexts:
            p = lm.distribution(ctx)
            assert p.shape == (len(vocab),)
            assert np.all(p >= 0)
            assert p[vocab.bos_id] == 0.0
            assert p.sum() == pytest.approx(1.0, abs=1e-12), (lm, ctx)


@pytest.mark.parametrize("order", [1, 2, 3])
def test_vectorised_scores_equal_step_by_step(corpus, order):
    _, heldout, vocab = corpus
    for lm in fitted(order, corpus):
        fast = lm.token_logprobs(heldout[:4])
        slow = []
        for s in heldout[:4]:
            hist = ["<s>"]
            for w in s + ["</s>"]:
                slow.append(lm.logprob(w, hist))
                hist.append(w)
        np.testing.assert_allclose(fast, slow, rtol=1e-12, atol=0)
        assert lm.logprob_sequence(heldout[0]) == pytest.approx(
            sum(slow[: len(heldout[0]) + 1])
        )


def test_smoothed_models_give_every_word_probability(corpus):
    _, heldout, _ = corpus
    for lm in fitted(3, corpus)[1:]:  # all but MLE
        assert np.isfinite(lm.perplexity(heldout))
    mle = fitted(3, corpus)[0]
    assert (
        mle.perplexity([["d", "a", "a", "a", "a", "a", "a", "a", "a", "a"]]) == math.inf
    )  # unseen trigrams


def test_build_tunes_add_k_on_heldout(corpus):
    train, heldout, vocab = corpus
    counts = ng.count_ngrams(train, vocab, 2)
    best = ng.build("add_k", 2, counts, heldout=heldout)
    assert best.k in ng.ADD_K_GRID
    assert best.perplexity(heldout) == min(
        ng.AddK(2, k=k).fit(counts).perplexity(heldout) for k in ng.ADD_K_GRID
    )
    assert isinstance(
        ng.build("kn_modified_interpolated", 2, counts), ng.ModifiedKneserNey
    )


def test_interpolation_weights_fitted_on_heldout_beat_default(corpus):
    train, heldout, vocab = corpus
    default = ng.Interpolated(3).fit(train, vocab)
    tuned = ng.Interpolated(3).fit(train, vocab, heldout=heldout)
    assert not np.allclose(tuned.lambdas, default.lambdas)
    assert tuned.perplexity(heldout) < default.perplexity(heldout)


# ------------------------------------------------------------------------------ nltk.lm
def nltk_and_ours(order, estimator):
    nltk_lm = pytest.importorskip("nltk.lm")
    from nltk.util import ngrams

    train = random_corpus(2, n_sents=25, max_len=6)
    train = [[w for w in s if w != "e"] or ["a"] for s in train]
    vocab = ng.Vocabulary(WORDS[:4])
    # nltk counts the padding symbol as a vocabulary word it could predict, we never
    # predict <s>; with nltk's
    # <unk> label as the left pad (the corpus has no unknown word) both models have the
    # same five predictable
    # tokens {a, b, c, d, </s>, <unk>} minus nothing, and nltk's <unk> history plays the
    # role of our <s>.
    pad = "<unk>"
    text = [list(ngrams([pad] * (order - 1) + s + ["</s>"], order)) for s in train]
    ref = (nltk_lm.MLE if estimator == "mle" else nltk_lm.Laplace)(order)
    ref.fit(text, vocabulary_text=WORDS[:4] + ["</s>"])
    ours = (ng.MLE(order) if estimator == "mle" else ng.Laplace(order)).fit(
        train, vocab
    )
    assert len(ref.vocab) == vocab.num_predictable
    return ref, ours, text


@pytest.mark.parametrize("order", [1, 2, 3])
@pytest.mark.parametrize("estimator", ["mle", "laplace"])
def test_matches_nltk_exactly(order, estimator):
    ref, ours, text = nltk_and_ours(order, estimator)
    contexts = {g[:-1] for sent in text for g in sent}
    if estimator == "laplace":  # unseen histories too
        contexts |= {("d", "d")[: order - 1], ("c", "a")[: order - 1]}
    for ctx in contexts:
        our_ctx = ["<s>" if t == "<unk>" else t for t in ctx]
        for w in ["a", "b", "c", "d", "</s>", "<unk>"]:
            assert ours.prob(w, our_ctx) == ref.score(w, list(ctx)), (ctx, w)
    flat = [g for sent in text for g in sent]
    sentences = [[g[-1] for g in sent][:-1] for sent in text]
    assert ours.perplexity(sentences) == pytest.approx(ref.perplexity(flat), rel=1e-12)


# ------------------------------------------------------------------- Kneser-Ney by hand
@pytest.fixture(scope="module")
def tiny():
    # <s> a b </s> | <s> a c </s> | <s> b c </s>
    vocab = ng.Vocabulary(["a", "b", "c"])
    return [["a", "b"], ["a", "c"], ["b", "c"]], vocab


def test_kneser_ney_bigram_by_hand(tiny):
    sents, vocab = tiny
    lm = ng.KneserNey(2, discount=0.5).fit(sents, vocab)
    # continuation counts N1+(. w): a {<s>} = 1, b {<s>, a} = 2, c {a, b} = 2, </s> {b,
    # c} = 2; total 7
    # unigram level: max(N - D, 0) / 7 + (D * 4 / 7) * 1/|V|, |V| = 5 predictable tokens
    # (a b c </s> <unk>)
    gamma1 = 0.5 * 4 / 7
    p1 = {
        "a": 0.5 / 7 + gamma1 / 5,
        "b": 1.5 / 7 + gamma1 / 5,
        "c": 1.5 / 7 + gamma1 / 5,
        "</s>": 1.5 / 7 + gamma1 / 5,
        "<unk>": gamma1 / 5,
    }
    for w, p in p1.items():
        assert lm.prob(w, []) == pytest.approx(p, abs=1e-15)
    # bigram level, raw counts: c(a .) = 2 with c(a b) = c(a c) = 1; gamma(a) = D * 2 /
    # 2
    assert lm.prob("c", ["a"]) == pytest.approx(
        (1 - 0.5) / 2 + 0.5 * 2 / 2 * p1["c"], abs=1e-15
    )
    assert lm.prob("a", ["a"]) == pytest.approx(0.5 * 2 / 2 * p1["a"], abs=1e-15)
    # c(<s> .) = 3: <s> a twice, <s> b once
    assert lm.prob("b", ["<s>"]) == pytest.approx(
        (1 - 0.5) / 3 + 0.5 * 2 / 3 * p1["b"], abs=1e-15
    )
    assert lm.prob("</s>", ["c"]) == pytest.approx(
        (2 - 0.5) / 2 + 0.5 * 1 / 2 * p1["</s>"], abs=1e-15
    )


def test_kneser_ney_trigram_keeps_raw_counts_after_bos(tiny):
    sents, vocab = tiny
    lm = ng.KneserNey(3, discount=0.5).fit(sents, vocab)
    gamma1 = 0.5 * 4 / 7
    p1 = {"a": 0.5 / 7 + gamma1 / 5, "c": 1.5 / 7 + gamma1 / 5}
    # bigrams starting with <s> have no left context: they keep their raw counts (2 and
    # 1), as in SRILM/KenLM
    assert lm.prob("a", ["<s>"]) == pytest.approx(
        (2 - 0.5) / 3 + 0.5 * 2 / 3 * p1["a"], abs=1e-15
    )
    # middle order: continuation counts N1+(. a b) = N1+(. a c) = 1
    p2_c_a = (1 - 0.5) / 2 + 0.5 * 2 / 2 * p1["c"]
    assert lm.prob("c", ["a"]) == pytest.approx(p2_c_a, abs=1e-15)
    # top order, raw: c(<s> a b) = c(<s> a c) = 1
    assert lm.prob("c", ["<s>", "a"]) == pytest.approx(
        (1 - 0.5) / 2 + 0.5 * 2 / 2 * p2_c_a, abs=1e-15
    )


def test_modified_kn_discounts_by_hand():
    counts = np.array([1, 1, 1, 2, 2, 3, 4, 5])  # n1 = 3, n2 = 2, n3 = 1, n4 = 1
    y = 3 / (3 + 2 * 2)
    np.testing.assert_allclose(
        ng.kn_discounts(counts),
        [1 - 2 * y * 2 / 3, 2 - 3 * y * 1 / 2, 3 - 4 * y * 1 / 1],
    )
    np.testing.assert_allclose(ng.kn_discounts(counts, modified=False), [y, y, y])
    d = ng.kn_discounts(np.array([1, 1, 1]))  # no n2: falls back to a valid discount
    assert np.all((d > 0) & (d <= [1, 2, 3]))


def test_modified_kn_uses_count_dependent_discounts(corpus):
    train, heldout, vocab = corpus
    mkn = ng.ModifiedKneserNey(3).fit(train, vocab)
    kn = ng.KneserNey(3).fit(train, vocab)
    assert len(mkn.discounts_[3]) == 3 and len(kn.discounts_[3]) == 1
    counts = ng.count_ngrams(train, vocab, 3)
    np.testing.assert_allclose(
        mkn.discounts_[3], ng.kn_discounts(counts.counts[3])
    )  # top order: raw counts
    # middle order: continuation counts N1+(. g), raw counts for bigrams starting with
    # <s>; counted naively here
    trigrams, bigrams = set(), Counter()
    for s in train:
        p = ["<s>"] + [w if w in vocab else "<unk>" for w in s] + ["</s>"]
        trigrams |= {tuple(p[i : i + 3]) for i in range(len(p) - 2)}
        bigrams.update(tuple(p[i : i + 2]) for i in range(len(p) - 1))
    cont = Counter(g[1:] for g in trigrams)
    adjusted = [c if g[0] == "<s>" else cont[g] for g, c in bigrams.items()]
    np.testing.assert_allclose(mkn.discounts_[2], ng.kn_discounts(np.array(adjusted)))
    assert kn.discounts_[2] == pytest.approx(
        ng.kn_discounts(np.array(adjusted), modified=False)[:1]
    )
    assert mkn.perplexity(heldout) != kn.perplexity(heldout)


# --------------------------------------------------------------------------- generation
def test_generate_is_seeded_and_stops_at_end(corpus):
    lm = fitted(3, corpus)[-2]
    a = lm.generate(max_tokens=20, seed=3)
    assert a == lm.generate(max_tokens=20, seed=3)
    assert all(t in lm.vocab and t not in ("<s>", "</s>") for t in a)
    assert len(lm.generate(max_tokens=2, seed=0)) <= 2
    greedy = lm.generate(max_tokens=5, temperature=0)
    hist = ["<s>"]
    for t in greedy:
        assert t == lm.top_k(hist, 1)[0][0]
        hist.append(t)
    cold = [
        len(set(lm.generate(10, ["<s>"], temperature=0.05, seed=s)[:1]))
        for s in range(5)
    ]
    assert cold == [1] * 5


def test_top_k_sorted(corpus):
    lm = fitted(2, corpus)[-1]
    top = lm.top_k(["a"], k=3)
    assert len(top) == 3 and top[0][1] >= top[1][1] >= top[2][1]
    assert top[0][1] == pytest.approx(lm.distribution(["a"]).max())


# ---------------------------------------------------------------------------- bad input
def test_bad_input_raises_clear_errors(corpus):
    train, _, vocab = corpus
    with pytest.raises(ValueError, match="order"):
        ng.KneserNey(0)
    with pytest.raises(TypeError, match="order"):
        ng.MLE(2.5)
    with pytest.raises(ValueError, match="empty"):
        ng.count_ngrams([], vocab, 2)
    with pytest.raises(ValueError, match="empty"):
        ng.MLE(2).fit([], vocab)
    with pytest.raises(ValueError, match="no tokens"):
        ng.count_ngrams([[], []], vocab, 2)
    with pytest.raises(ValueError, match="vocab"):
        ng.MLE(2).fit(train)
    with pytest.raises(TypeError, match="vocab"):
        ng.count_ngrams(train, {"a": 1}, 2)
    with pytest.raises(TypeError, match="string"):
        ng.MLE(2).fit(["a b c"], vocab)
    with pytest.raises(ValueError, match="must not contain"):
        ng.MLE(2).fit([["a", "</s>", "b"]], vocab)
    with pytest.raises(ValueError, match="must not contain"):
        ng.MLE(2).fit([[vocab.bos_id, 3]], vocab)
    with pytest.raises(ValueError, match="outside"):
        ng.MLE(2).fit([[3, 99]], vocab)
    with pytest.raises(ValueError, match="order 2"):
        ng.MLE(3).fit(ng.count_ngrams(train, vocab, 2))
    with pytest.raises(RuntimeError, match="not fitted"):
        ng.MLE(2).perplexity(train)
    with pytest.raises(ValueError, match="k must be"):
        ng.AddK(2, k=0)
    with pytest.raises(ValueError, match="lambdas"):
        ng.Interpolated(2, lambdas=[0.5])
    with pytest.raises(ValueError, match="discount"):
        ng.KneserNey(2, discount=1.5)
    with pytest.raises(ValueError, match="heldout"):
        ng.KneserNey(2).fit(train, vocab, heldout=train)
    with pytest.raises(ValueError, match="method"):
        ng.build("witten_bell", 2, ng.count_ngrams(train, vocab, 2))
    with pytest.raises(ValueError, match="heldout"):
        ng.build("add_k", 2, ng.count_ngrams(train, vocab, 2))
    with pytest.raises(TypeError, match="context"):
        ng.Laplace(2).fit(train, vocab).generate(context="a b")


def test_unknown_token_policy():
    closed = ng.Vocabulary(["a", "b"], unk=None)
    with pytest.raises(ValueError, match="no unk"):
        closed.encode(["a", "zzz"])
    with pytest.raises(ValueError, match="no unk"):
        ng.MLE(1).fit([["a", "zzz"]], closed)
    lm = ng.Laplace(2).fit([["a", "b"]], closed)
    with pytest.raises(ValueError, match="no unk"):
        lm.logprob("zzz", ["a"])
    with pytest.raises(ValueError, match="no unk"):
        lm.perplexity([["a", "zzz"]])
    open_vocab = ng.Vocabulary(["a", "b"])
    assert open_vocab.encode(["zzz"])[0] == open_vocab.unk_id
    with pytest.raises(ValueError, match="on_unknown='error'"):
        open_vocab.encode(["zzz"], on_unknown="error")
    with pytest.raises(ValueError, match="min_count"):
        ng.Vocabulary.from_sentences([["a"]], min_count=2, unk=None)
    with pytest.raises(ValueError, match="never predicted"):
        lm.prob("<s>", ["a"])
    with pytest.raises(ValueError, match="context must not contain"):
        lm.distribution(["a", "</s>"])
    with pytest.raises(ValueError, match="temperature"):
        lm.generate(temperature=-1)
    with pytest.raises(ValueError, match="must differ"):
        ng.Vocabulary(["a"], bos="x", eos="x")


def test_vocabulary_round_trip():
    v = ng.Vocabulary.from_sentences([["b", "a", "b"], ["c"]], min_count=2)
    assert v.itos == ["<s>", "</s>", "<unk>", "b"]
    assert v.decode(v.encode(["b", "a"])) == ["b", "<unk>"]
    with pytest.raises(ValueError, match="not a valid id"):
        v.decode([7])
