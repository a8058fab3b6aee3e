"""Lab 5 (attention and positional encodings): the source scores full marks, the student
notebook 0, plausible wrong answers lose exactly the points of the tests written to
catch them, and the committed student files are a fresh build without solutions or
hidden tests. Uses the helpers of lmbook.labs (see tests/test_labs.py)."""

from __future__ import annotations

import pytest

import labcheck
from lmbook import labs

LAB5 = labs.labs_root() / "05_transformers"
QUESTIONS = {"q1": 6.0, "q2": 6.0, "q3": 5.0, "q4": 5.5}

# Wrong answer A: the mask applied with nn.MultiheadAttention's convention (True =
# blocked) and an encoding that assumes an even width (cos written into every odd column
# with the full angle table).
WRONG_MASK_CONVENTION = """
def scaled_dot_product_attention(q, k, v, mask=None, causal=False):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    if causal:
        allowed = torch.ones(q.size(-2), k.size(-2), dtype=torch.bool).tril()
        scores = scores.masked_fill(~allowed, float("-inf"))
    if mask is not None:
        scores = scores.masked_fill(mask, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v
"""
WRONG_EVEN_ONLY_ENCODING = """
def sinusoidal_encoding(max_len, d_model):
    if max_len < 1 or d_model < 1:
        raise ValueError("max_len and d_model must be at least 1")
    position = torch.arange(max_len, dtype=torch.float64)[:, None]
    pairs = torch.arange(0, d_model, 2, dtype=torch.float64)
    angle = position / 10000 ** (pairs / d_model)
    pe = torch.zeros(max_len, d_model, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(angle)
    pe[:, 1::2] = torch.cos(angle)
    return pe.float()
"""
# Wrong answer B: multi-head attention whose heads divide by sqrt(d_model) instead of
# sqrt(d_k), and a causal mask made by multiplying the scores by 0 instead of setting
# them to -inf (future positions still get weight).
WRONG_MHA_SCALE = """
def multi_head_attention(
    x, w_qkv, b_qkv, w_out, b_out, num_heads, mask=None, causal=False
):
    B, T, d_model = x.shape
    if d_model % num_heads:
        raise ValueError("d_model must be divisible by num_heads")
    d_k = d_model // num_heads
    q, k, v = (x @ w_qkv.T + b_qkv).split(d_model, dim=-1)
    q, k, v = (t.view(B, T, num_heads, d_k).transpose(1, 2) for t in (q, k, v))
    q = q * math.sqrt(d_k) / math.sqrt(d_model)
    heads = scaled_dot_product_attention(q, k, v, mask=mask, causal=causal)
    return heads.transpose(1, 2).reshape(B, T, d_model) @ w_out.T + b_out
"""
WRONG_ZERO_MASK = """
def scaled_dot_product_attention(q, k, v, mask=None, causal=False):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    if causal:
        scores = scores * torch.ones(q.size(-2), k.size(-2), dtype=scores.dtype).tril()
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v
"""
# Borrowed answers (the example of issue 10): PyTorch's attention wrapped, the book's
# encoding imported, and a loss without the max-subtraction (overflows for huge logits).
BORROWED = {
    "scaled_dot_product_attention": """
def scaled_dot_product_attention(q, k, v, mask=None, causal=False):
    return torch.nn.functional.scaled_dot_product_attention(
        q, k, v, attn_mask=mask, is_causal=causal and mask is None
    )
""",
    "multi_head_attention": """
def multi_head_attention(
    x, w_qkv, b_qkv, w_out, b_out, num_heads, mask=None, causal=False
):
    import torch.nn.functional as F
    B, T, d_model = x.shape
    q, k, v = (x @ w_qkv.T + b_qkv).split(d_model, dim=-1)
    q, k, v = (t.view(B, T, num_heads, -1).transpose(1, 2) for t in (q, k, v))
    heads = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal)
    return heads.transpose(1, 2).reshape(B, T, d_model) @ w_out.T + b_out
""",
    "sinusoidal_encoding": "from lmbook.transformer import sinusoidal_encoding",
    "next_token_loss": """
def next_token_loss(logits, targets):
    if tuple(targets.shape) != tuple(logits.shape[:-1]):
        raise ValueError("shapes")
    e = torch.exp(logits.reshape(-1, logits.size(-1)))
    log_probs = torch.log(e / e.sum(dim=-1, keepdim=True))
    return -log_probs.gather(-1, targets.reshape(-1, 1)).mean()
""",
}
# A: q1 loses the padding-mask test (1); q2 loses its padding-mask test, which builds on
# question 1 (1); q3 loses the odd-width test (1); q4 trains (width 48, even; causal
# only).
EXPECTED_A = {"q1": 5.0, "q2": 5.0, "q3": 4.0, "q4": 5.5}
# B (both mistakes): q1's causal tests fail (public causal, odd sizes with causal,
# padding + causal, leakage) and only the unmasked parity test passes (1); q2 fails
# every test with more than one head and the causal one, keeping only the single-head
# test (1); q3 keeps full marks; q4's loss is right but the model trained with the leaky
# mask and the wrong scale fails the held-out threshold under PyTorch's causal attention
# (loses 3).
EXPECTED_B = {"q1": 1.0, "q2": 1.0, "q3": 5.0, "q4": 2.5}
# Borrowed: q1-q3 score 0 whatever their tests say; q4's loss is the student's own but
# overflows for huge logits (loses 1); the model still trains below the threshold.
EXPECTED_BORROWED = {"q1": 0.0, "q2": 0.0, "q3": 0.0, "q4": 4.5}


@pytest.fixture(scope="session")
def lab5_build(tmp_path_factory):
    return labs.build_lab(
        LAB5, out_dir=tmp_path_factory.mktemp("lab5_build"), run_tests=False
    )


@pytest.fixture(scope="session")
def lab5_grades(lab5_build, tmp_path_factory):
    d = tmp_path_factory.mktemp("lab5_subs")
    return labcheck.grade_all(
        lab5_build["autograder"],
        {
            "source": labs.make_submission(LAB5, d / "source.ipynb"),
            "student": LAB5 / "transformers.ipynb",
            "wrong_a": labs.make_submission(
                LAB5,
                d / "wrong_a.ipynb",
                {
                    "scaled_dot_product_attention": WRONG_MASK_CONVENTION,
                    "sinusoidal_encoding": WRONG_EVEN_ONLY_ENCODING,
                },
            ),
            "wrong_b": labs.make_submission(
                LAB5,
                d / "wrong_b.ipynb",
                {
                    "scaled_dot_product_attention": WRONG_ZERO_MASK,
                    "multi_head_attention": WRONG_MHA_SCALE,
                },
            ),
            "borrowed": labs.make_submission(LAB5, d / "borrowed.ipynb", BORROWED),
        },
    )


def test_max_points(lab5_build):
    assert labs.question_max_points(lab5_build["autograder"]) == QUESTIONS


def test_source_scores_full_marks(lab5_grades):
    labcheck.assert_points(lab5_grades["source"], QUESTIONS)


def test_student_notebook_scores_zero(lab5_grades):
    labcheck.assert_points(lab5_grades["student"], {q: 0.0 for q in QUESTIONS})


def test_inverted_mask_and_even_only_encoding_lose_the_intended_points(lab5_grades):
    labcheck.assert_points(lab5_grades["wrong_a"], EXPECTED_A)


def test_zero_mask_and_wrong_head_scale_lose_the_intended_points(lab5_grades):
    labcheck.assert_points(lab5_grades["wrong_b"], EXPECTED_B)


def test_borrowed_attention_and_encoding_score_zero_with_a_reason(lab5_grades):
    r = lab5_grades["borrowed"]
    labcheck.assert_points(r, EXPECTED_BORROWED)
    assert "q1: 0, scaled_dot_product_attention uses torch.nn.functional." in r.message
    assert (
        "q3: 0, sinusoidal_encoding is imported from 'lmbook.transformer'" in r.message
    )


def test_committed_student_files_equal_a_fresh_build(lab5_build):
    labcheck.assert_committed_equals_fresh_build(LAB5, lab5_build)


def test_student_files_hold_no_solution_and_no_hidden_test():
    labcheck.assert_student_files_are_clean(LAB5, QUESTIONS, your_code_cells=4)
