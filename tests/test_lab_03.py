"""Lab 3 (neural language models): the source scores full marks, the student notebook
0, the likely mistakes listed in the source lose exactly the intended points, borrowed
answers are refused, and the committed student files are a fresh build without
solutions or hidden tests."""

from __future__ import annotations

import pytest

import labcheck
from lmbook import labs

LAB3 = labs.labs_root() / "03_neural_lm"
QUESTIONS = {"q1": 4.0, "q2": 5.0, "q3": 4.0, "q4": 5.0}

# Mistake 1: the gradient of a mean loss not divided by N.
WRONG_GRAD_SUM = """
def softmax_cross_entropy(logits, targets):
    logits, targets = np.asarray(logits, dtype=np.float64), np.asarray(targets)
    if targets.shape != logits.shape[:1]:
        raise ValueError("one target per row")
    z = logits - logits.max(axis=1, keepdims=True)
    log_probs = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    n = len(targets)
    grad = np.exp(log_probs)
    grad[np.arange(n), targets] -= 1
    return float(-log_probs[np.arange(n), targets].mean()), grad
"""
# Mistake 2: no row maximum subtracted (overflows for large logits).
WRONG_UNSTABLE = """
def softmax_cross_entropy(logits, targets):
    logits, targets = np.asarray(logits, dtype=np.float64), np.asarray(targets)
    if targets.shape != logits.shape[:1]:
        raise ValueError("one target per row")
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    n = len(targets)
    loss = -np.log(p[np.arange(n), targets]).mean()
    grad = p.copy()
    grad[np.arange(n), targets] -= 1
    return float(loss), grad / n
"""
# Mistake 3: the tanh derivative taken from the pre-activation.
WRONG_TANH_DERIVATIVE = """
def mlp_loss_and_grads(x, y, params):
    a = x @ params["W1"] + params["b1"]
    h = np.tanh(a)
    loss, dz = softmax_cross_entropy(h @ params["W2"] + params["b2"], y)
    da = (dz @ params["W2"].T) * (1 - a**2)
    return loss, {"W2": h.T @ dz, "b2": dz.sum(0), "W1": x.T @ da, "b1": da.sum(0)}
"""
# Mistake 4: gates in the order i, f, o, c.
WRONG_GATE_ORDER = """
def lstm_step(x, h, c, kernel, recurrent_kernel, bias):
    z = ops.matmul(x, kernel) + ops.matmul(h, recurrent_kernel) + bias
    i, f, o, g = ops.split(z, 4, axis=-1)
    c_new = ops.sigmoid(f) * c + ops.sigmoid(i) * ops.tanh(g)
    return ops.sigmoid(o) * ops.tanh(c_new), c_new
"""
# Mistake 5: a sigmoid for the candidate.
WRONG_SIGMOID_CANDIDATE = """
def lstm_step(x, h, c, kernel, recurrent_kernel, bias):
    z = ops.matmul(x, kernel) + ops.matmul(h, recurrent_kernel) + bias
    i, f, g, o = ops.split(z, 4, axis=-1)
    c_new = ops.sigmoid(f) * c + ops.sigmoid(i) * ops.sigmoid(g)
    return ops.sigmoid(o) * ops.tanh(c_new), c_new
"""
# Mistake 6: a softmax on the output layer.
WRONG_SOFTMAX_OUTPUT = """
def make_mlp_lm(vocab_size, context, d_embed=32, d_hidden=128):
    ids = keras.Input(shape=(context,), dtype="int32")
    x = layers.Flatten()(layers.Embedding(vocab_size, d_embed)(ids))
    h = layers.Dense(d_hidden, activation="tanh")(x)
    return keras.Model(ids, layers.Dense(vocab_size, activation="softmax")(h))
"""
# Mistake 7: borrowed answers (correct, but not the student's own code).
BORROWED_LOG_SOFTMAX = """
from scipy.special import log_softmax


def softmax_cross_entropy(logits, targets):
    logits, targets = np.asarray(logits, dtype=np.float64), np.asarray(targets)
    if targets.shape != logits.shape[:1]:
        raise ValueError("one target per row")
    log_probs = log_softmax(logits, axis=1)
    n = len(targets)
    grad = np.exp(log_probs)
    grad[np.arange(n), targets] -= 1
    return float(-log_probs[np.arange(n), targets].mean()), grad / n
"""
BORROWED_MLP_LM = """
from lmbook.rnn import mlp_lm


def make_mlp_lm(vocab_size, context, d_embed=32, d_hidden=128):
    return mlp_lm(vocab_size, context, d_embed=d_embed, d_hidden=d_hidden)
"""
# A: q1 loses its gradient test (2), and q2, which calls it, its two gradient tests
# (1 + 3); q3 fails both comparisons with LSTMCell (2 + 1).
EXPECTED_A = {"q1": 2.0, "q2": 1.0, "q3": 1.0, "q4": 5.0}
# B: q1 loses the stability test (1), q2 the hidden-layer gradients (3), q4 the logits
# test (1; the TensorFlow loss recovers the logits, so it still trains).
EXPECTED_B = {"q1": 3.0, "q2": 2.0, "q3": 4.0, "q4": 4.0}
# C: borrowed answers lose the whole of q1 and q4 (the grader zeroes a question whose
# own-work check fails); q3 fails both comparisons (2 + 1).
EXPECTED_C = {"q1": 0.0, "q2": 5.0, "q3": 1.0, "q4": 0.0}


@pytest.fixture(scope="session")
def lab3_build(tmp_path_factory):
    return labs.build_lab(
        LAB3, out_dir=tmp_path_factory.mktemp("lab3_build"), run_tests=False
    )


@pytest.fixture(scope="session")
def lab3_grades(lab3_build, tmp_path_factory):
    d = tmp_path_factory.mktemp("lab3_subs")

    def sub(name, replacements):
        return labs.make_submission(LAB3, d / f"{name}.ipynb", replacements)

    return labcheck.grade_all(
        lab3_build["autograder"],
        {
            "source": sub("source", {}),
            "student": LAB3 / "neural_lm.ipynb",
            "wrong_a": sub(
                "wrong_a",
                {
                    "softmax_cross_entropy": WRONG_GRAD_SUM,
                    "lstm_step": WRONG_GATE_ORDER,
                },
            ),
            "wrong_b": sub(
                "wrong_b",
                {
                    "softmax_cross_entropy": WRONG_UNSTABLE,
                    "mlp_loss_and_grads": WRONG_TANH_DERIVATIVE,
                    "make_mlp_lm": WRONG_SOFTMAX_OUTPUT,
                },
            ),
            "wrong_c": sub(
                "wrong_c",
                {
                    "softmax_cross_entropy": BORROWED_LOG_SOFTMAX,
                    "lstm_step": WRONG_SIGMOID_CANDIDATE,
                    "make_mlp_lm": BORROWED_MLP_LM,
                },
            ),
        },
    )


def test_max_points(lab3_build):
    assert labs.question_max_points(lab3_build["autograder"]) == QUESTIONS


def test_source_scores_full_marks(lab3_grades):
    labcheck.assert_points(lab3_grades["source"], QUESTIONS)


def test_student_notebook_scores_zero(lab3_grades):
    labcheck.assert_points(lab3_grades["student"], {q: 0.0 for q in QUESTIONS})


def test_unscaled_gradient_and_gate_order_lose_the_intended_points(lab3_grades):
    labcheck.assert_points(lab3_grades["wrong_a"], EXPECTED_A)


def test_overflow_tanh_derivative_and_softmax_output_lose_the_intended_points(
    lab3_grades,
):
    labcheck.assert_points(lab3_grades["wrong_b"], EXPECTED_B)


def test_borrowed_answers_and_sigmoid_candidate_lose_the_intended_points(lab3_grades):
    labcheck.assert_points(lab3_grades["wrong_c"], EXPECTED_C)


def test_committed_student_files_equal_a_fresh_build(lab3_build):
    labcheck.assert_committed_equals_fresh_build(LAB3, lab3_build)


def test_student_files_hold_no_solution_and_no_hidden_test():
    labcheck.assert_student_files_are_clean(LAB3, QUESTIONS, your_code_cells=4)
