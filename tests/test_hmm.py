"""Tests of lmbook.hmm: parity with hmmlearn and NLTK, brute force on tiny models,
underflow, EM, bad input.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from lmbook import hmm as H


def random_case(seed: int, n_states: int = 3, n_symbols: int = 4, length: int = 6):
    rng = np.random.default_rng(seed)
    model = H.HMM.random(n_states, n_symbols, rng)
    return model, rng.integers(0, n_symbols, size=length)


# ------------------------------------------------------------------------------ forward
@pytest.mark.parametrize("seed", range(6))
def test_forward_matches_hmmlearn(seed):
    from hmmlearn.hmm import CategoricalHMM

    rng = np.random.default_rng(seed)
    n_states, n_symbols = int(rng.integers(1, 6)), int(rng.integers(2, 8))
    model = H.HMM.random(n_states, n_symbols, rng, concentration=0.5)
    obs = rng.integers(0, n_symbols, size=int(rng.integers(1, 40)))
    ref = CategoricalHMM(
        n_components=n_states, n_features=n_symbols, init_params="", params=""
    )
    ref.startprob_, ref.transmat_, ref.emissionprob_ = (
        model.startprob,
        model.transmat,
        model.emissionprob,
    )
    assert H.log_likelihood(model, obs) == pytest.approx(
        ref.score(obs.reshape(-1, 1)), abs=1e-8
    )


@pytest.mark.parametrize("seed", range(4))
def test_forward_matches_brute_force(seed):
    model, obs = random_case(seed, length=5)
    log_alpha, loglik = H.forward(model, obs)
    assert log_alpha.shape == (5, 3)
    assert loglik == pytest.approx(H.brute_force_log_likelihood(model, obs), abs=1e-10)


def test_forward_probabilities_of_all_sequences_sum_to_one():
    model = H.HMM.random(2, 3, 7)
    total = sum(
        np.exp(H.log_likelihood(model, np.array(seq)))
        for seq in itertools.product(range(3), repeat=4)
    )
    assert total == pytest.approx(1.0, abs=1e-12)


def test_long_sequence_does_not_underflow():
    from hmmlearn.hmm import CategoricalHMM

    model = H.HMM.random(4, 50, 3)
    _, obs = model.sample(20_000, rng=4)
    loglik = H.log_likelihood(model, obs)
    assert (
        np.isfinite(loglik) and loglik < -20_000
    )  # far below the smallest double, 1e-308 ~ exp(-709)
    ref = CategoricalHMM(n_components=4, n_features=50, init_params="", params="")
    ref.startprob_, ref.transmat_, ref.emissionprob_ = (
        model.startprob,
        model.transmat,
        model.emissionprob,
    )
    assert loglik == pytest.approx(ref.score(obs.reshape(-1, 1)), rel=1e-10)
    path, score = H.viterbi(model, obs)
    assert path.shape == (20_000,) and np.isfinite(score) and score <= loglik
    gamma, _, _ = H.forward_backward(model, obs[:2000])
    np.testing.assert_allclose(gamma.sum(axis=1), 1.0, atol=1e-9)


# ------------------------------------------------------------------------------ viterbi
@pytest.mark.parametrize("seed", range(8))
def test_viterbi_matches_exhaustive_search(seed):
    rng = np.random.default_rng(100 + seed)
    model = H.HMM.random(int(rng.integers(1, 4)), 3, rng, concentration=0.7)
    obs = rng.integers(0, 3, size=int(rng.integers(1, 7)))
    path, score = H.viterbi(model, obs)
    best_path, best = H.exhaustive_viterbi(model, obs)
    np.testing.assert_array_equal(path, best_path)
    assert score == pytest.approx(best, abs=1e-10)


def test_viterbi_breaks_ties_consistently_and_returns_an_optimal_path():
    uniform = H.HMM(np.full(2, 0.5), np.full((2, 2), 0.5), np.full((2, 3), 1 / 3))
    path, score = H.viterbi(uniform, [0, 1, 2])
    np.testing.assert_array_equal(path, [0, 0, 0])  # lowest state index on ties
    assert score == pytest.approx(np.log(0.5**3 * (1 / 3) ** 3))


def test_one_state_model():
    model = H.HMM([1.0], [[1.0]], [[0.2, 0.8]])
    path, score = H.viterbi(model, [1, 0, 1])
    np.testing.assert_array_equal(path, [0, 0, 0])
    assert score == pytest.approx(np.log(0.8 * 0.2 * 0.8))
    assert H.log_likelihood(model, [1, 0, 1]) == pytest.approx(score)


def test_viterbi_trellis_backpointers():
    model, obs = random_case(11)
    delta, back = H.viterbi_trellis(
        model.log_startprob, model.log_transmat, model.emission_scores(obs)
    )
    assert delta.shape == back.shape == (len(obs), model.n_states)
    assert np.all(back[0] == -1) and np.all(
        (back[1:] >= 0) & (back[1:] < model.n_states)
    )
    path, score = H.viterbi(model, obs)
    assert delta[-1].max() == pytest.approx(score)
    np.testing.assert_array_equal(H.backtrace(delta, back), path)
    # a partial trellis gives the best path for the prefix
    np.testing.assert_array_equal(
        H.backtrace(delta[:3], back[:3]), H.viterbi(model, obs[:3])[0]
    )
    with pytest.raises(ValueError, match="shape"):
        H.backtrace(delta, back[:2])


def test_viterbi_batch_equals_one_at_a_time():
    rng = np.random.default_rng(21)
    model = H.HMM.random(4, 5, rng)
    seqs = [rng.integers(0, 5, size=int(n)) for n in rng.integers(1, 12, size=9)]
    seqs.append(np.zeros(6, dtype=int))  # a repeated symbol and a length tie
    emits = [model.emission_scores(x) for x in seqs]
    for batch_size in (1, 3, 256):
        got = H.viterbi_batch(
            model.log_startprob, model.log_transmat, emits, batch_size=batch_size
        )
        assert len(got) == len(seqs)
        for (path, score), x in zip(got, seqs):
            ref_path, ref_score = H.viterbi(model, x)
            np.testing.assert_array_equal(path, ref_path)
            assert score == ref_score
    uniform = H.HMM(
        np.full(2, 0.5), np.full((2, 2), 0.5), np.full((2, 2), 0.5)
    )  # every path ties
    ((path, _),) = H.viterbi_batch(
        uniform.log_startprob,
        uniform.log_transmat,
        [uniform.emission_scores([0, 1, 0])],
    )
    np.testing.assert_array_equal(path, H.viterbi(uniform, [0, 1, 0])[0])
    with pytest.raises(ValueError, match="at least one"):
        H.viterbi_batch(model.log_startprob, model.log_transmat, [])
    with pytest.raises(ValueError, match="log_emit"):
        H.viterbi_batch(model.log_startprob, model.log_transmat, [np.zeros((3, 2))])
    with pytest.raises(TypeError, match="log_emits"):
        H.viterbi_batch(model.log_startprob, model.log_transmat, np.zeros((3, 4)))
    with pytest.raises(ValueError, match="batch_size"):
        H.viterbi_batch(model.log_startprob, model.log_transmat, emits, batch_size=0)


def _nltk_tagger(model: H.HMM):
    from nltk.probability import DictionaryConditionalProbDist, DictionaryProbDist
    from nltk.tag.hmm import HiddenMarkovModelTagger

    states, symbols = list(range(model.n_states)), list(range(model.n_symbols))

    def dist(row):
        return DictionaryProbDist({k: float(p) for k, p in enumerate(row)})

    return HiddenMarkovModelTagger(
        symbols,
        states,
        DictionaryConditionalProbDist({i: dist(model.transmat[i]) for i in states}),
        DictionaryConditionalProbDist({i: dist(model.emissionprob[i]) for i in states}),
        dist(model.startprob),
    )


@pytest.mark.parametrize("seed", range(5))
def test_viterbi_matches_nltk_hmm_tagger(seed):
    rng = np.random.default_rng(200 + seed)
    model = H.HMM.random(5, 6, rng)
    tagger = _nltk_tagger(model)
    for _ in range(5):
        obs = rng.integers(0, 6, size=int(rng.integers(1, 25)))
        path, _ = H.viterbi(model, obs)
        assert list(path) == [
            int(s) for s in tagger.best_path(list(int(o) for o in obs))
        ]


# --------------------------------------------------------------------- forward-backward
@pytest.mark.parametrize("seed", range(3))
def test_posteriors_match_brute_force(seed):
    model, obs = random_case(300 + seed, length=4)
    gamma, xi, loglik = H.forward_backward(model, obs)
    joint = {
        path: np.exp(H._path_log_prob(model, obs, path) - loglik)
        for path in itertools.product(range(model.n_states), repeat=len(obs))
    }
    expected_gamma = np.zeros_like(gamma)
    expected_xi = np.zeros_like(xi)
    for path, p in joint.items():
        for t, state in enumerate(path):
            expected_gamma[t, state] += p
            if t:
                expected_xi[t - 1, path[t - 1], state] += p
    np.testing.assert_allclose(gamma, expected_gamma, atol=1e-12)
    np.testing.assert_allclose(xi, expected_xi, atol=1e-12)
    np.testing.assert_allclose(xi.sum(axis=2), gamma[:-1], atol=1e-12)


def test_backward_end_is_zero_and_combines_with_forward():
    model, obs = random_case(5)
    log_alpha, loglik = H.forward(model, obs)
    log_beta = H.backward(model, obs)
    assert np.all(log_beta[-1] == 0)
    from scipy.special import logsumexp

    np.testing.assert_allclose(
        logsumexp(log_alpha + log_beta, axis=1), loglik, atol=1e-10
    )


# --------------------------------------------------------------------------- Baum-Welch
@pytest.mark.parametrize("seed", range(3))
def test_baum_welch_never_decreases_likelihood(seed):
    truth = H.HMM.random(2, 4, seed)
    data = [truth.sample(30, rng=seed * 10 + i)[1] for i in range(4)]
    result = H.baum_welch(data, H.HMM.random(3, 4, 1000 + seed), n_iter=25, tol=0)
    history = np.array(result.log_likelihoods)
    assert result.n_iter == 25 and len(history) == 26
    assert np.all(np.diff(history) >= -1e-9)
    assert history[-1] > history[0]
    assert history[-1] == pytest.approx(
        sum(H.log_likelihood(result.hmm, x) for x in data), abs=1e-9
    )


def test_baum_welch_recovers_a_well_separated_model():
    truth = H.HMM(
        [0.5, 0.5], [[0.95, 0.05], [0.1, 0.9]], [[0.9, 0.05, 0.05], [0.05, 0.05, 0.9]]
    )
    _, obs = truth.sample(1500, rng=0)
    init = H.HMM(
        [0.5, 0.5], [[0.6, 0.4], [0.4, 0.6]], [[0.5, 0.3, 0.2], [0.2, 0.3, 0.5]]
    )
    fitted = H.baum_welch([obs], init, n_iter=60, tol=1e-7).hmm
    np.testing.assert_allclose(fitted.emissionprob, truth.emissionprob, atol=0.05)
    np.testing.assert_allclose(fitted.transmat, truth.transmat, atol=0.05)


def test_baum_welch_stops_at_tolerance_and_zero_iterations():
    model, obs = random_case(1, length=20)
    assert H.baum_welch([obs], model, n_iter=0).n_iter == 0
    assert H.baum_welch([obs], model, n_iter=500, tol=1e-3).n_iter < 500


# ---------------------------------------------------------------------------- bad input
def test_hmm_rejects_bad_probabilities():
    with pytest.raises(ValueError, match="startprob"):
        H.HMM([0.5, 0.4], [[0.5, 0.5], [0.5, 0.5]], [[1.0], [1.0]])
    with pytest.raises(ValueError, match="transmat"):
        H.HMM([0.5, 0.5], [[0.5, 0.6], [0.5, 0.5]], [[1.0], [1.0]])
    with pytest.raises(ValueError, match="emissionprob"):
        H.HMM([0.5, 0.5], [[0.5, 0.5], [0.5, 0.5]], [[1.2, -0.2], [0.5, 0.5]])
    with pytest.raises(ValueError, match="shape"):
        H.HMM([0.5, 0.5], [[1.0]], [[1.0], [1.0]])
    with pytest.raises(ValueError, match="rows"):
        H.HMM([0.5, 0.5], [[0.5, 0.5], [0.5, 0.5]], [[1.0]])
    with pytest.raises(ValueError, match="finite"):
        H.HMM([np.nan, 1.0], [[0.5, 0.5], [0.5, 0.5]], [[1.0], [1.0]])
    with pytest.raises(TypeError, match="startprob"):
        H.HMM(["a", "b"], [[0.5, 0.5], [0.5, 0.5]], [[1.0], [1.0]])


def test_algorithms_reject_bad_observations():
    model = H.HMM.random(2, 3, 0)
    for function in (
        H.forward,
        H.backward,
        H.viterbi,
        H.forward_backward,
        H.log_likelihood,
    ):
        with pytest.raises(ValueError, match="empty"):
            function(model, [])
        with pytest.raises(ValueError, match="symbol id 3"):
            function(model, [0, 3])
        with pytest.raises(ValueError, match="symbol id -1"):
            function(model, [-1])
        with pytest.raises(TypeError, match="integer"):
            function(model, [0.5, 1.0])
        with pytest.raises(TypeError, match="string"):
            function(model, "abc")
        with pytest.raises(TypeError, match="hmm"):
            function("not a model", [0])


def test_log_functions_reject_bad_shapes():
    with pytest.raises(ValueError, match="log_trans"):
        H.forward_log(np.zeros(2), np.zeros((3, 3)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="log_emit"):
        H.viterbi_log(np.zeros(2), np.zeros((2, 2)), np.zeros((4, 3)))
    with pytest.raises(ValueError, match="empty"):
        H.viterbi_log(np.zeros(2), np.zeros((2, 2)), np.zeros((0, 2)))
    with pytest.raises(ValueError, match="NaN"):
        H.forward_log(np.array([np.nan, 0.0]), np.zeros((2, 2)), np.zeros((1, 2)))


def test_baum_welch_and_helpers_reject_bad_arguments():
    model = H.HMM.random(2, 3, 0)
    with pytest.raises(ValueError, match="at least one"):
        H.baum_welch([], model)
    with pytest.raises(ValueError, match="n_iter"):
        H.baum_welch([[0, 1]], model, n_iter=-1)
    with pytest.raises(TypeError, match="init"):
        H.baum_welch([[0, 1]], "model")
    with pytest.raises(ValueError, match="symbol id 7"):
        H.baum_welch([[0, 7]], model)
    with pytest.raises(ValueError, match="max_paths"):
        H.exhaustive_viterbi(model, [0] * 30)
    with pytest.raises(ValueError, match="n_states"):
        H.HMM.random(0, 3)
    with pytest.raises(TypeError, match="length"):
        model.sample(2.5)


def test_sample_shapes_and_reproducibility():
    model = H.HMM.random(3, 5, 1)
    states, symbols = model.sample(50, rng=2)
    assert states.shape == symbols.shape == (50,)
    assert states.max() < 3 and symbols.max() < 5
    np.testing.assert_array_equal(symbols, model.sample(50, rng=2)[1])


# ------------------------------------------------------------------------------ tagging
TOY = [
    [("the", "DT"), ("dog", "NN"), ("barks", "VBZ"), (".", ".")],
    [("the", "DT"), ("cat", "NN"), ("sleeps", "VBZ"), (".", ".")],
    [("a", "DT"), ("dog", "NN"), ("walks", "VBZ"), (".", ".")],
    [("dogs", "NNS"), ("bark", "VBP"), (".", ".")],
    [("Alice", "NNP"), ("walks", "VBZ"), (".", ".")],
    [("the", "DT"), ("quick", "JJ"), ("cat", "NN"), ("jumps", "VBZ"), (".", ".")],
    [("the", "DT"), ("3", "CD"), ("cats", "NNS"), ("bark", "VBP"), (".", ".")],
]


def test_tagger_fits_probabilities_and_tags_training_data():
    tagger = H.HMMTagger().fit(TOY)
    assert tagger.tags == sorted({t for s in TOY for _, t in s})
    np.testing.assert_allclose(tagger.transmat.sum(axis=1), 1.0)
    assert tagger.startprob.sum() == pytest.approx(1.0)
    assert tagger.lambdas.sum() == pytest.approx(1.0)
    for sent in TOY[:3]:
        assert tagger.tag([w for w, _ in sent]) == [t for _, t in sent]
    sentences = [[w for w, _ in sent] for sent in TOY] + [["zebras", "bark", "."]]
    assert tagger.tag_sents(sentences) == [tagger.tag(words) for words in sentences]
    assert tagger.tag_sents([]) == []


def test_tagger_unknown_words_use_suffix_and_shape():
    tagger = H.HMMTagger(theta=1.0).fit(TOY)
    assert not tagger.is_known("runs")
    p = tagger.unknown_tag_probs("runs")
    assert p.sum() == pytest.approx(1.0)
    assert tagger.tags[int(np.argmax(p))] in {"VBZ", "NNS"}
    assert tagger.tag(["the", "7"]) == ["DT", "CD"]
    assert tagger.tag(["Bob", "walks", "."]) == ["NNP", "VBZ", "."]
    scores = tagger.emission_scores(["the", "zebra"])
    assert scores.shape == (2, len(tagger.tags)) and np.isfinite(scores[1]).any()


def test_word_shape():
    assert [H.word_shape(w) for w in ("1.5", "well-known", "Paris", "cat")] == [
        "digit",
        "hyphen",
        "cap",
        "lower",
    ]
    with pytest.raises(ValueError):
        H.word_shape("")
    with pytest.raises(TypeError):
        H.word_shape(3)


def test_accuracy_and_baseline():
    tagger = H.HMMTagger().fit(TOY)
    known = {w for s in TOY for w, _ in s}
    test = [[("the", "DT"), ("dog", "NN"), ("runs", "VBZ"), (".", ".")]]
    result = H.tagging_accuracy(tagger, test, known)
    assert result["n_known"] == 3 and result["n_unknown"] == 1
    assert result["known"] == 1.0
    assert result["overall"] == pytest.approx((3 + result["unknown"]) / 4)
    baseline = H.MostFrequentTagger().fit(TOY)
    assert baseline.tag(["the", "dog", "Zed", "42"]) == ["DT", "NN", "NNP", "CD"]
    assert H.tagging_accuracy(baseline, TOY)["overall"] == 1.0


def test_tagger_rejects_bad_input():
    with pytest.raises(RuntimeError, match="fit"):
        H.HMMTagger().tag(["a"])
    with pytest.raises(RuntimeError, match="fit"):
        H.MostFrequentTagger().tag(["a"])
    with pytest.raises(ValueError, match="empty sentence"):
        H.HMMTagger().fit([[]])
    with pytest.raises(TypeError, match="pairs"):
        H.HMMTagger().fit([["the", "dog"]])
    with pytest.raises(TypeError, match="tagged_sents"):
        H.HMMTagger().fit("the/DT dog/NN")
    tagger = H.HMMTagger().fit(TOY)
    with pytest.raises(ValueError, match="words"):
        tagger.tag([])
    with pytest.raises(TypeError, match="words"):
        tagger.tag("the dog")
    with pytest.raises(ValueError, match="theta"):
        H.HMMTagger(theta=0)
    with pytest.raises(ValueError, match="alpha"):
        H.HMMTagger(alpha=-1)
    with pytest.raises(TypeError, match="tag"):
        H.tagging_accuracy(object(), TOY)
