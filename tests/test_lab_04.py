"""Lab 4 (encoder-decoder with attention, Keras): the source scores full marks, the
student notebook 0, plausible wrong answers lose exactly the points of the tests written
to catch them, and the committed student files are a fresh build without solutions or
hidden tests. Uses the helpers of lmbook.labs (see tests/test_labs.py).

Each graded submission trains question 5's date model once (about 20 CPU seconds). The
grading here allows 600 s per submission and 240 s per test (the lab's own limits are
300 s and 120 s for the training test) so that a busy shared machine does not fail them."""

from __future__ import annotations

from pathlib import Path

import pytest

import labcheck
from lmbook import labs

LAB4 = labs.labs_root() / "04_seq2seq_attention"
QUESTIONS = {"q1": 5.5, "q2": 6.0, "q3": 5.0, "q4": 5.0, "q5": 6.0}


ATTENTION = """
class BahdanauAttention(keras.layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.W1 = layers.Dense(units, use_bias=False)
        self.W2 = layers.Dense(units, use_bias=False)
        self.v = layers.Dense(1, use_bias=False)

    def call(self, query, keys, mask=None):
        if mask is not None and tuple(mask.shape) != tuple(keys.shape[:2]):
            raise ValueError("the mask must have shape (batch, source)")
        q = ops.expand_dims(self.W1(query), 2)
        k = ops.expand_dims(self.W2(keys), 1)
        scores = ops.squeeze(self.v(ops.tanh(q + k)), -1)
MASKING
        return ops.matmul(weights, keys), weights

    def compute_mask(self, *args, **kwargs):
        return None
"""
# q1: the mask applied after the softmax, rows not renormalised (padding test, 2).
MASK_AFTER_SOFTMAX = ATTENTION.replace(
    "MASKING",
    """        weights = ops.softmax(scores, axis=-1)
        if mask is not None:
            weights = weights * ops.expand_dims(ops.cast(mask, weights.dtype), 1)""",
)
# q1: the softmax over the queries instead of the source positions.
SOFTMAX_OVER_QUERIES = ATTENTION.replace(
    "MASKING",
    """        if mask is not None:
            scores = ops.where(ops.expand_dims(mask, 1), scores, -1e9)
        weights = ops.softmax(scores, axis=1)""",
)
# q1: the mask read the other way round (True = padding).
INVERTED_MASK = ATTENTION.replace(
    "MASKING",
    """        if mask is not None:
            scores = ops.where(ops.expand_dims(mask, 1), -1e9, scores)
        weights = ops.softmax(scores, axis=-1)""",
)

GREEDY = """
def greedy_decode(step, state, batch_size, start_id, end_id, max_len):
    if batch_size < 1 or max_len < 1:
        raise ValueError("batch_size and max_len must be at least 1")
    tokens = np.full(batch_size, start_id, dtype="int32")
    outputs = [[] for _ in range(batch_size)]
LOOP
    return outputs
"""
# q2: the whole batch stops when the first example ends.
STOP_AT_FIRST_END = GREEDY.replace(
    "LOOP",
    """    for _ in range(max_len):
        logits, state = step(tokens, state)
        tokens = np.argmax(ops.convert_to_numpy(logits), axis=-1).astype("int32")
        if (tokens == end_id).any():
            break
        for i in range(batch_size):
            outputs[i].append(int(tokens[i]))""",
)
# q2: the start token fed at every step.
FEEDS_START_TOKEN = GREEDY.replace(
    "LOOP",
    """    finished = np.zeros(batch_size, dtype=bool)
    for _ in range(max_len):
        logits, state = step(np.full(batch_size, start_id, dtype="int32"), state)
        tokens = np.argmax(ops.convert_to_numpy(logits), axis=-1).astype("int32")
        for i in np.flatnonzero(~finished):
            if tokens[i] == end_id:
                finished[i] = True
            else:
                outputs[i].append(int(tokens[i]))
        if finished.all():
            break""",
)
# q2: what an example says after its end token is kept (only end tokens dropped).
KEEPS_TOKENS_AFTER_END = GREEDY.replace(
    "LOOP",
    """    finished = np.zeros(batch_size, dtype=bool)
    for _ in range(max_len):
        logits, state = step(tokens, state)
        tokens = np.argmax(ops.convert_to_numpy(logits), axis=-1).astype("int32")
        finished |= tokens == end_id
        for i in range(batch_size):
            if tokens[i] != end_id:
                outputs[i].append(int(tokens[i]))
        if finished.all():
            break""",
)
# q3: no clipping.
UNCLIPPED_PRECISION = """
def modified_precision(hypothesis, reference, n):
    if n < 1:
        raise ValueError("n must be at least 1")
    grams = [tuple(hypothesis[i : i + n]) for i in range(len(hypothesis) - n + 1)]
    in_reference = {tuple(reference[i : i + n]) for i in range(len(reference) - n + 1)}
    return sum(g in in_reference for g in grams), len(grams)
"""
# q3: the brevity penalty with r and c swapped.
SWAPPED_BREVITY_PENALTY = """
def brevity_penalty(hyp_len, ref_len):
    if hyp_len >= ref_len:
        return 1.0
    if hyp_len == 0:
        return 0.0
    return math.exp(1 - hyp_len / ref_len)
"""
# q4: the mean of sentence-level BLEU scores.
SENTENCE_AVERAGE = """
def corpus_bleu(hypotheses, references, max_n=4):
    if not hypotheses or len(hypotheses) != len(references):
        raise ValueError("need equally many hypotheses and references")
    scores = []
    for hyp, ref in zip(hypotheses, references):
        log_p = 0.0
        for n in range(1, max_n + 1):
            matches, total = modified_precision(hyp, ref, n)
            if matches == 0:
                log_p = None
                break
            log_p += math.log(matches / total) / max_n
        bp = brevity_penalty(len(hyp), len(ref))
        scores.append(0.0 if log_p is None else 100 * bp * math.exp(log_p))
    return sum(scores) / len(scores)
"""
# q5: every step decodes from the encoder's state (the state passed in is ignored).
STALE_STATE = """
def make_step(model, src):
    enc_out, first_state, mask = model.encode(src)

    def step(tokens, state):
        tokens = ops.reshape(ops.convert_to_tensor(tokens, "int32"), (-1, 1))
        logits, new_state, _ = model.decode(tokens, first_state, enc_out, mask)
        return logits[:, 0], new_state

    return step, first_state
"""
# q5: the source mask dropped when decoding.
NO_MASK_STEP = """
def make_step(model, src):
    enc_out, state, mask = model.encode(src)

    def step(tokens, state):
        tokens = ops.reshape(ops.convert_to_tensor(tokens, "int32"), (-1, 1))
        logits, state, _ = model.decode(tokens, state, enc_out, None)
        return logits[:, 0], state

    return step, state
"""
# Borrowed answers: Keras's AdditiveAttention as the score (with the projections around
# it, so the model still trains), the book's beam search as a greedy loop, NLTK's clipped
# precision and sacrebleu's corpus BLEU.
BORROWED_ATTENTION = """
class BahdanauAttention(keras.layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.W1 = layers.Dense(units, use_bias=False)
        self.W2 = layers.Dense(units, use_bias=False)
        self.score = layers.AdditiveAttention(use_scale=True)

    def call(self, query, keys, mask=None):
        inputs = [self.W1(query), keys, self.W2(keys)]
        return self.score(inputs, mask=[None, mask], return_attention_scores=True)

    def compute_mask(self, *args, **kwargs):
        return None
"""
BORROWED = {
    "greedy_decode": """
def greedy_decode(step, state, batch_size, start_id, end_id, max_len):
    from lmbook.seq2seq import beam_search
    return beam_search(step, state, batch_size, start_id, end_id, 1, max_len)[0]
""",
    "modified_precision": """
def modified_precision(hypothesis, reference, n):
    from nltk.translate.bleu_score import modified_precision as clipped
    p = clipped([reference], hypothesis, n)
    return p.numerator, p.denominator
""",
    "corpus_bleu": """
def corpus_bleu(hypotheses, references, max_n=4):
    import sacrebleu
    hyps = [" ".join(h) for h in hypotheses]
    refs = [[" ".join(r) for r in references]]
    return sacrebleu.corpus_bleu(hyps, refs, tokenize="none", smooth_method="none").score
""",
}

# A (the model still learns, but decoding is broken): q1 loses the padding test (2);
# q2 the per-example (2) and early-stop (1) tests; q3 the clipping test (2) and q4,
# whose corpus BLEU calls the unclipped precision, its sacrebleu (2) and corpus-level
# (1) tests; q5 the teacher-forcing (2) and training (3) tests (0 % exact match).
EXPECTED_A = {"q1": 3.5, "q2": 3.0, "q3": 3.0, "q4": 2.0, "q5": 1.0}
# B (broken attention): q1 keeps only the bad-mask test (0.5); q2 loses the feedback test
# (1.5); q3 the brevity-penalty test (1.5); q4, a sentence average built on the swapped
# penalty, its sacrebleu (2), corpus-level (1) and max_n (0.5) tests; q5 decodes
# correctly, but trained on the wrong axis the model fails the threshold (3; 0 % exact
# match).
EXPECTED_B = {"q1": 0.5, "q2": 4.5, "q3": 3.5, "q4": 1.5, "q5": 3.0}
# C: q1 loses the padding test (2); q2 the per-example (2) and early-stop (1) tests; q5
# the teacher-forcing (2) and, trained on the inverted mask and decoded without it, the
# training test (3; about 45 % exact match).
EXPECTED_C = {"q1": 3.5, "q2": 3.0, "q3": 5.0, "q4": 5.0, "q5": 1.0}
EXPECTED_BORROWED = {"q1": 0.0, "q2": 0.0, "q3": 0.0, "q4": 0.0, "q5": 6.0}


@pytest.fixture(scope="session")
def lab4_build(tmp_path_factory):
    return labs.build_lab(
        LAB4, out_dir=tmp_path_factory.mktemp("lab4_build"), run_tests=False
    )


def _submission(d: Path, name: str, functions: dict, attention: str | None = None):
    """(notebook, timeout, cell timeout, test timeout) for labcheck.grade_all."""
    if attention:
        functions = {**functions, "BahdanauAttention": attention}
    path = labs.make_submission(LAB4, d / f"{name}.ipynb", functions)
    return path, 600, 30, 240


@pytest.fixture(scope="session")
def lab4_grades(lab4_build, tmp_path_factory):
    d = tmp_path_factory.mktemp("lab4_subs")
    return labcheck.grade_all(
        lab4_build["autograder"],
        {
            "source": _submission(d, "source", {}),
            "student": (LAB4 / "seq2seq_attention.ipynb", 600, 30, 240),
            "wrong_a": _submission(
                d,
                "wrong_a",
                {
                    "greedy_decode": STOP_AT_FIRST_END,
                    "modified_precision": UNCLIPPED_PRECISION,
                    "make_step": STALE_STATE,
                },
                MASK_AFTER_SOFTMAX,
            ),
            "wrong_b": _submission(
                d,
                "wrong_b",
                {
                    "greedy_decode": FEEDS_START_TOKEN,
                    "brevity_penalty": SWAPPED_BREVITY_PENALTY,
                    "corpus_bleu": SENTENCE_AVERAGE,
                },
                SOFTMAX_OVER_QUERIES,
            ),
            "wrong_c": _submission(
                d,
                "wrong_c",
                {"greedy_decode": KEEPS_TOKENS_AFTER_END, "make_step": NO_MASK_STEP},
                INVERTED_MASK,
            ),
            "borrowed": _submission(d, "borrowed", BORROWED, BORROWED_ATTENTION),
        },
    )


def test_max_points(lab4_build):
    assert labs.question_max_points(lab4_build["autograder"]) == QUESTIONS


def test_source_scores_full_marks(lab4_grades):
    labcheck.assert_points(lab4_grades["source"], QUESTIONS)


def test_student_notebook_scores_zero(lab4_grades):
    labcheck.assert_points(lab4_grades["student"], {q: 0.0 for q in QUESTIONS})


def test_mask_after_softmax_batch_stop_no_clipping_stale_state_lose_their_points(
    lab4_grades,
):
    labcheck.assert_points(lab4_grades["wrong_a"], EXPECTED_A)


def test_softmax_over_queries_fails_the_training_threshold(lab4_grades):
    labcheck.assert_points(lab4_grades["wrong_b"], EXPECTED_B)
    q5 = next(t for t in lab4_grades["wrong_b"].details["tests"] if t["name"] == "q5")
    assert "the model writes 0.0% of the 993 held-out dates" in q5["output"]


def test_inverted_mask_tokens_after_end_and_unmasked_step_lose_their_points(
    lab4_grades,
):
    labcheck.assert_points(lab4_grades["wrong_c"], EXPECTED_C)


def test_borrowed_answers_score_zero_with_a_reason(lab4_grades):
    r = lab4_grades["borrowed"]
    labcheck.assert_points(r, EXPECTED_BORROWED)
    assert "q1: 0, BahdanauAttention uses keras.layers.AdditiveAttention" in r.message
    assert "q2: 0, greedy_decode uses lmbook" in r.message
    assert "q3: 0, modified_precision uses nltk.translate" in r.message
    assert "q4: 0, corpus_bleu uses sacrebleu" in r.message


def test_committed_student_files_equal_a_fresh_build(lab4_build):
    labcheck.assert_committed_equals_fresh_build(LAB4, lab4_build)


def test_student_files_hold_no_solution_and_no_hidden_test():
    labcheck.assert_student_files_are_clean(LAB4, QUESTIONS, your_code_cells=7)
