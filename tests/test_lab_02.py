"""Lab 2 (hidden Markov models): the source scores full marks, the student notebook 0,
plausible wrong answers lose exactly the points of the tests written to catch them, and
the committed student files are a fresh build without solutions or hidden tests. Uses
the helpers of lmbook.labs (see tests/test_labs.py for Lab 0)."""

from __future__ import annotations

import pytest

import labcheck
from lmbook import labs

LAB2 = labs.labs_root() / "02_hmm"
QUESTIONS = {"q1": 5.0, "q2": 5.0, "q3": 4.0}

# Wrong answer A: the forward algorithm in probability space (underflows on long
# sequences) and "Viterbi" that
# takes the best state at each time instead of following backpointers.
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
# A: q1 loses its long-sequence test (1 point) and q3 its long-sequence test, which
# builds on forward_log (1);
# q2 loses the two tests that compare the path with the optimum, the small exhaustive
# search and the long
# sequence (2); on the casino rolls of the types test the greedy path happens to be the
# best one.
EXPECTED_A = {"q1": 4.0, "q2": 3.0, "q3": 3.0}
# B: the posteriors are wrong everywhere except in the one-state model, whose check
# shares a test with a
# case it fails: q3 scores 0; q1 and q2 keep full marks.
EXPECTED_B = {"q1": 5.0, "q2": 5.0, "q3": 0.0}


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
                {"state_posteriors": WRONG_POSTERIORS_NO_EMISSION},
            ),
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


def test_backward_pass_without_emissions_loses_the_posterior_points(lab2_grades):
    labcheck.assert_points(lab2_grades["wrong_b"], EXPECTED_B)


def test_committed_student_files_equal_a_fresh_build(lab2_build):
    labcheck.assert_committed_equals_fresh_build(LAB2, lab2_build)


def test_student_files_hold_no_solution_and_no_hidden_test():
    labcheck.assert_student_files_are_clean(
        LAB2, QUESTIONS, your_code_cells=4
    )  # 3 functions + optional helper
