"""Lab 1 (n-gram language models): build, grading with hidden tests, plausible wrong
answers.

Uses the pipeline of lmbook.labs and the generic helpers of test_labs.py. Each notebook
is graded once per session (10-20 s each under ``otter run``), two at a time; the tests
read the results.
"""

from __future__ import annotations

import pytest

import labcheck
from lmbook import labs

LAB1 = labs.labs_root() / "01_ngrams"
NOTEBOOK = "ngrams.ipynb"
MAX_POINTS = {"q1": 4.5, "q2": 4.5, "q3": 4.5, "q4": 4.5, "q5": 4.5}

# Plausible wrong answers, each replacing one solution function of the source. q1: pads
# the right end with n-1 </s> as well (nltk's pad_both_ends): bigrams are unchanged, so
# the public test passes; the hidden trigram-padding and unigram (no </s> at all for n =
# 1) tests fail -> loses 2.
WRONG_Q1_PADS_BOTH_ENDS = """
def count_ngrams(sentences, n):
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError("n must be an int")
    if n < 1:
        raise ValueError("n must be >= 1")
    if not isinstance(sentences, list):
        raise TypeError("sentences must be a list")
    counts = Counter()
    for sentence in sentences:
        if not isinstance(sentence, (list, tuple)):
            raise TypeError("each sentence must be a list of tokens")
        padded = [BOS] * (n - 1) + list(sentence) + [EOS] * (n - 1)
        for i in range(len(padded) - n + 1):
            counts[tuple(padded[i:i + n])] += 1
    return counts
"""
# q2: forgets k|V| in the denominator: every value test fails, the bad-input test passes
# -> loses 3.
WRONG_Q2_FORGETS_V = """
def add_k_prob(counts, context, word, k, vocab_size):
    if not isinstance(context, tuple):
        raise TypeError("context must be a tuple")
    n = len(next(iter(counts)))
    if len(context) != n - 1:
        raise ValueError("context has the wrong length")
    if not k > 0:
        raise ValueError("k must be > 0")
    if vocab_size < 1:
        raise ValueError("vocab_size must be >= 1")
    c_hw = counts.get(context + (word,), 0)
    c_h = sum(c for gram, c in counts.items() if gram[:-1] == context)
    return (c_hw + k) / (c_h + k)
"""
# q3: token counts instead of distinct types (the unigram estimate, not the continuation
# one): the public test and the "francisco" test fail; zero counts, unseen words and bad
# input still pass -> loses 2.
WRONG_Q3_TOKEN_COUNTS = """
def continuation_prob(bigram_counts, word):
    if not isinstance(word, str):
        raise TypeError("word must be a string")
    total = sum(c for c in bigram_counts.values() if c > 0)
    if total == 0:
        raise ValueError("no bigrams")
    return sum(c for (v, w), c in bigram_counts.items() if w == word and c > 0) / total
"""
# q4: forgets to predict the end symbol: the public test, the hidden context/</s> test
# and the -inf-at-</s> test fail; the bad-input test passes -> loses 3.
WRONG_Q4_NO_END_SYMBOL = """
def sentence_logprobs(prob, sentence, n, base=2):
    if not isinstance(sentence, (list, tuple)):
        raise TypeError("sentence must be a list")
    if n < 1:
        raise ValueError("n must be >= 1")
    if not (isinstance(base, (int, float)) and base > 0 and base != 1):
        raise ValueError("bad base")
    padded = [BOS] * (n - 1) + list(sentence)
    out = []
    for t in range(n - 1, len(padded)):
        p = prob(padded[t], tuple(padded[t - n + 1:t]))
        out.append(math.log(p, base) if p > 0 else -math.inf)
    return out
"""
# q5: exponentiates with e whatever the base of the logarithms: the public test (natural
# logs) passes, the hidden log-base test fails -> loses 1.
WRONG_Q5_IGNORES_BASE = """
def perplexity(logprobs, base=2):
    if not isinstance(logprobs, (list, tuple)) or len(logprobs) == 0:
        raise ValueError("logprobs must be a non-empty list")
    if not (isinstance(base, (int, float)) and base > 0 and base != 1):
        raise ValueError("bad base")
    if any(lp > 0 for lp in logprobs):
        raise ValueError("positive log-probability")
    if any(lp == -math.inf for lp in logprobs):
        return math.inf
    return math.exp(-sum(logprobs) / len(logprobs))
"""
WRONG = {
    "count_ngrams": WRONG_Q1_PADS_BOTH_ENDS,
    "add_k_prob": WRONG_Q2_FORGETS_V,
    "continuation_prob": WRONG_Q3_TOKEN_COUNTS,
    "sentence_logprobs": WRONG_Q4_NO_END_SYMBOL,
    "perplexity": WRONG_Q5_IGNORES_BASE,
}
# Points left (of 4.5 each): q1 loses the trigram-padding (2) and unigram (1) tests; q2
# its three value tests (1 + 1 + 2); q3 the public and "San Francisco" tests (1 + 2); q4
# every test that predicts </s> (1 + 2 + 1); q5 the log-base test (2).
EXPECTED_WRONG = {"q1": 1.5, "q2": 0.5, "q3": 1.5, "q4": 0.5, "q5": 2.5}

# Second set of likely mistakes (the examples of issue 10 among them).
# q1: a borrowed answer, nltk.ngrams (the lab allows only the standard library) -> 0.
BORROWED_Q1_NLTK = """
def count_ngrams(sentences, n):
    from nltk import ngrams
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError("n must be an int")
    if n < 1:
        raise ValueError("n must be >= 1")
    if not isinstance(sentences, list):
        raise TypeError("sentences must be a list")
    counts = Counter()
    for sentence in sentences:
        if not isinstance(sentence, (list, tuple)):
            raise TypeError("each sentence must be a list of tokens")
        counts.update(ngrams([BOS] * (n - 1) + list(sentence) + [EOS], n))
    return counts
"""
# q2: no check of vocab_size: add_k_prob(..., vocab_size=0) returns 2.0 -> loses 0.5.
WRONG_Q2_NO_VOCAB_CHECK = """
def add_k_prob(counts, context, word, k, vocab_size):
    if not isinstance(context, tuple):
        raise TypeError("context must be a tuple")
    n = len(next(iter(counts)))
    if len(context) != n - 1:
        raise ValueError("context has the wrong length")
    if not k > 0:
        raise ValueError("k must be > 0")
    c_hw = counts.get(context + (word,), 0)
    c_h = sum(c for gram, c in counts.items() if gram[:-1] == context)
    return (c_hw + k) / (c_h + k * vocab_size)
"""
# q3: ZeroDivisionError where the question promises ValueError -> loses 0.5.
WRONG_Q3_ZERO_DIVISION = """
def continuation_prob(bigram_counts, word):
    if not isinstance(word, str):
        raise TypeError("word must be a string")
    types = [gram for gram, c in bigram_counts.items() if c > 0]
    return len({v for v, w in types if w == word}) / len(types)
"""
# q4: one <s> whatever n (the contexts at the start are too short) -> loses the context
# test (2).
WRONG_Q4_ONE_START_SYMBOL = """
def sentence_logprobs(prob, sentence, n, base=2):
    if not isinstance(sentence, (list, tuple)):
        raise TypeError("sentence must be a list")
    if n < 1:
        raise ValueError("n must be >= 1")
    if not (isinstance(base, (int, float)) and base > 0 and base != 1):
        raise ValueError("bad base")
    padded = [BOS] + list(sentence) + [EOS]
    out = []
    for t in range(1, len(padded)):
        p = prob(padded[t], tuple(padded[max(0, t - n + 1):t]))
        out.append(math.log(p, base) if p > 0 else -math.inf)
    return out
"""
# q5: a product of probabilities, which underflows on a long test set -> loses the
# zero-probability-and-long test (1).
WRONG_Q5_PRODUCT = """
def perplexity(logprobs, base=2):
    if not isinstance(logprobs, (list, tuple)) or len(logprobs) == 0:
        raise ValueError("logprobs must be a non-empty list")
    if not (isinstance(base, (int, float)) and base > 0 and base != 1):
        raise ValueError("bad base")
    if any(lp > 0 for lp in logprobs):
        raise ValueError("positive log-probability")
    product = math.prod(base**lp for lp in logprobs)
    return float(product ** (-1 / len(logprobs)))
"""
WRONG_B = {
    "count_ngrams": BORROWED_Q1_NLTK,
    "add_k_prob": WRONG_Q2_NO_VOCAB_CHECK,
    "continuation_prob": WRONG_Q3_ZERO_DIVISION,
    "sentence_logprobs": WRONG_Q4_ONE_START_SYMBOL,
    "perplexity": WRONG_Q5_PRODUCT,
}
EXPECTED_B = {"q1": 0.0, "q2": 4.0, "q3": 4.0, "q4": 2.5, "q5": 3.5}


@pytest.fixture(scope="session")
def lab1_build(tmp_path_factory):
    """A fresh build of Lab 1 in a private folder (xdist workers never share it)."""
    return labs.build_lab(
        LAB1, out_dir=tmp_path_factory.mktemp("lab1_build"), run_tests=False
    )


@pytest.fixture(scope="session")
def lab1_grades(lab1_build, tmp_path_factory):
    d = tmp_path_factory.mktemp("lab1_subs")
    return labcheck.grade_all(
        lab1_build["autograder"],
        {
            "source": labs.make_submission(LAB1, d / "source.ipynb"),
            "student": LAB1 / NOTEBOOK,
            "wrong": labs.make_submission(LAB1, d / "wrong.ipynb", WRONG),
            "wrong_b": labs.make_submission(LAB1, d / "wrong_b.ipynb", WRONG_B),
        },
    )


def test_question_points(lab1_build):
    assert labs.question_max_points(lab1_build["autograder"]) == MAX_POINTS


def test_source_scores_full_marks(lab1_grades):
    labcheck.assert_points(lab1_grades["source"], MAX_POINTS)


def test_student_notebook_scores_zero(lab1_grades):
    labcheck.assert_points(lab1_grades["student"], {q: 0.0 for q in MAX_POINTS})


def test_plausible_wrong_answers_lose_exactly_the_intended_points(lab1_grades):
    labcheck.assert_points(lab1_grades["wrong"], EXPECTED_WRONG)


def test_second_set_of_mistakes_and_nltk_lose_the_intended_points(lab1_grades):
    r = lab1_grades["wrong_b"]
    labcheck.assert_points(r, EXPECTED_B)
    assert "q1: 0, count_ngrams uses nltk" in r.message


def test_committed_student_files_equal_a_fresh_build(lab1_build):
    labcheck.assert_committed_equals_fresh_build(LAB1, lab1_build)


def test_student_files_hold_no_solution_and_no_hidden_test():
    labcheck.assert_student_files_are_clean(LAB1, MAX_POINTS, your_code_cells=5)
