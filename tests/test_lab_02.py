"""Lab 2 (hidden Markov models): the source scores full marks, the student notebook 0,
the likely mistakes listed in the source (wrong submissions A and B) lose exactly the
points of the tests written to catch them, borrowed answers (lmbook.hmm) score 0, and
the committed student files are a fresh build without solutions or hidden tests."""

from __future__ import annotations

import pytest

import labcheck
from lmbook import labs

LAB2 = labs.labs_root() / "02_hmm"
QUESTIONS = {"q1": 6.5, "q2": 6.0, "q3": 5.0}

# Wrong answer A: the forward algorithm in probability space (underflows on long
# sequences) and "Viterbi" that takes the best state at each time instead of following
# backpointers.
WRONG_FORWARD_PROBABILITY_SPACE = """
def forward_log(log_start, log_trans, log_emit):
    log_start, log_trans, log_emit = check_model(log_start, log_trans, log_emit)
    pi, A, B = np.exp(log_start), np.exp(log_trans), np.exp(log_emit)
    alpha = np.empty_like(B)
    alpha[0] = pi * B[0]
    for t in range(1, len(B)):
        alpha[t] = (alpha[t - 1] @ A) * B[t]
    with np.errstate(divide="ignore"):
        return np.log(alpha), float(np.log(alpha[-1].sum()))
"""
WRONG_VITERBI_NO_BACKPOINTERS = """
def viterbi(log_start, log_trans, log_emit):
    log_start, log_trans, log_emit = check_model(log_start, log_trans, log_emit)
    delta = np.empty_like(log_emit)
    delta[0] = log_start + log_emit[0]
    for t in range(1, len(log_emit)):
        delta[t] = np.max(delta[t - 1][:, None] + log_trans, axis=0) + log_emit[t]
    return delta.argmax(axis=1), float(delta[-1].max())
"""
# Wrong answer B: a backward pass that forgets the emission of x_{t+1}.
WRONG_POSTERIORS_NO_EMISSION = """
def state_posteriors(log_start, log_trans, log_emit):
    log_start, log_trans, log_emit = check_model(log_start, log_trans, log_emit)
    log_alpha, loglik = forward_log(log_start, log_trans, log_emit)
    log_beta = np.zeros_like(log_emit)
    for t in range(len(log_emit) - 2, -1, -1):
        log_beta[t] = logsumexp(log_trans + log_beta[t + 1][None, :], axis=1)
    return np.exp(log_alpha + log_beta - loglik)
"""
# Wrong answer B (continued): a hand-written log-sum-exp with no guard for an all -inf
# column (nan in a left-to-right model and after an impossible observation), and a
# Viterbi that checks no shapes.
WRONG_FORWARD_UNGUARDED_LOGSUMEXP = """
def forward_log(log_start, log_trans, log_emit):
    log_start, log_trans, log_emit = check_model(log_start, log_trans, log_emit)
    def lse(x, axis):
        m = x.max(axis=axis, keepdims=True)
        return (m + np.log(np.exp(x - m).sum(axis=axis, keepdims=True))).squeeze(axis)
    log_alpha = np.empty_like(log_emit)
    log_alpha[0] = log_start + log_emit[0]
    for t in range(1, len(log_emit)):
        log_alpha[t] = lse(log_alpha[t - 1][:, None] + log_trans, 0) + log_emit[t]
    return log_alpha, float(lse(log_alpha[-1], 0))
"""
WRONG_VITERBI_NO_CHECKS = """
def viterbi(log_start, log_trans, log_emit):
    log_emit = np.asarray(log_emit, dtype=float)
    delta = np.empty_like(log_emit)
    back = np.zeros(log_emit.shape, dtype=int)
    delta[0] = log_start + log_emit[0]
    for t in range(1, len(log_emit)):
        scores = delta[t - 1][:, None] + log_trans
        back[t] = scores.argmax(axis=0)
        delta[t] = scores.max(axis=0) + log_emit[t]
    path = [int(delta[-1].argmax())]
    for t in range(len(log_emit) - 1, 0, -1):
        path.append(int(back[t, path[-1]]))
    return np.array(path[::-1]), float(delta[-1].max())
"""
# Borrowed answers (the first example of issue 10): the book's own functions, imported
# or called.
BORROWED = {
    "forward_log": "from lmbook.hmm import forward_log",
    "viterbi": "from lmbook.hmm import viterbi_log as viterbi",
    "state_posteriors": """
def state_posteriors(log_start, log_trans, log_emit):
    from lmbook.hmm import backward_log
    log_alpha, loglik = forward_log(log_start, log_trans, log_emit)
    return np.exp(log_alpha + backward_log(log_start, log_trans, log_emit) - loglik)
""",
}
# A: q1 loses its long-sequence test (2 of 6.5) and q3 its long-sequence test, which
# builds on forward_log (2 of 5); q2 loses the two tests that compare the path with the
# optimum, the small exhaustive search and the long sequence (1 + 2 of 6); on the casino
# rolls of the types test and in the tie cases the greedy path happens to be a best one.
EXPECTED_A = {"q1": 4.5, "q2": 3.0, "q3": 3.0}
# B: q1 loses only its all -inf test (1); q2 only its bad-input test (1); the backward
# pass without emissions gets every posterior wrong: q3 scores 0.
EXPECTED_B = {"q1": 5.5, "q2": 5.0, "q3": 0.0}
# Borrowed: every question scores 0, whatever its tests say.
EXPECTED_BORROWED = {"q1": 0.0, "q2": 0.0, "q3": 0.0}


@pytest.fixture(scope="session")
def lab2_build(tmp_path_factory):
    return labs.build_lab(
        LAB2, out_dir=tmp_path_factory.mktemp("lab2_build"), run_tests=False
    )


@pytest.fixture(scope="session")
def lab2_grades(lab2_build, tmp_path_factory):
    d = tmp_path_factory.mktemp("lab2_subs")
    return labcheck.grade_all(
        lab2_build["autograder"],
        {
            "source": labs.make_submission(LAB2, d / "source.ipynb"),
            "student": LAB2 / "hmm.ipynb",
            "wrong_a": labs.make_submission(
                LAB2,
                d / "wrong_a.ipynb",
                {
                    "forward_log": WRONG_FORWARD_PROBABILITY_SPACE,
                    "viterbi": WRONG_VITERBI_NO_BACKPOINTERS,
                },
            ),
            "wrong_b": labs.make_submission(
                LAB2,
                d / "wrong_b.ipynb",
                {
                    "forward_log": WRONG_FORWARD_UNGUARDED_LOGSUMEXP,
                    "viterbi": WRONG_VITERBI_NO_CHECKS,
                    "state_posteriors": WRONG_POSTERIORS_NO_EMISSION,
                },
            ),
            "borrowed": labs.make_submission(LAB2, d / "borrowed.ipynb", BORROWED),
        },
    )


def test_max_points(lab2_build):
    assert labs.question_max_points(lab2_build["autograder"]) == QUESTIONS


def test_source_scores_full_marks(lab2_grades):
    labcheck.assert_points(lab2_grades["source"], QUESTIONS)


def test_student_notebook_scores_zero(lab2_grades):
    labcheck.assert_points(lab2_grades["student"], {q: 0.0 for q in QUESTIONS})


def test_probability_space_forward_and_greedy_viterbi_lose_the_intended_points(
    lab2_grades,
):
    labcheck.assert_points(lab2_grades["wrong_a"], EXPECTED_A)


def test_unguarded_logsumexp_no_checks_and_no_emissions_lose_the_intended_points(
    lab2_grades,
):
    labcheck.assert_points(lab2_grades["wrong_b"], EXPECTED_B)


def test_borrowed_answers_score_zero_with_a_reason(lab2_grades):
    r = lab2_grades["borrowed"]
    labcheck.assert_points(r, EXPECTED_BORROWED)
    assert "q1: 0, forward_log is imported from 'lmbook.hmm'" in r.message
    assert "q3: 0, state_posteriors uses lmbook" in r.message


def test_committed_student_files_equal_a_fresh_build(lab2_build):
    labcheck.assert_committed_equals_fresh_build(LAB2, lab2_build)


def test_student_files_hold_no_solution_and_no_hidden_test():
    labcheck.assert_student_files_are_clean(
        LAB2, QUESTIONS, your_code_cells=4
    )  # 3 functions + optional helper
