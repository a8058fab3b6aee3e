"""Lab 7 (LoRA, answer-only labels, a classification step, balanced accuracy): the source
scores full marks, the student notebook 0, each likely mistake listed in the source loses
exactly the points of the tests written to catch it, borrowed answers score 0, and the
committed student files are a fresh build without solutions or hidden tests. Every
grading also runs question 4's fine-tuning (about 15 CPU seconds, twice: the notebook's
cell and the hidden test); with each wrong submission below it still reaches a balanced
accuracy of at least 0.92, 0.07 above its threshold, under the AVX-512 and the AVX2
kernel sets (the reference: 0.958 and 0.955)."""

from __future__ import annotations

import pytest

import labcheck
from lmbook import labs

LAB7 = labs.labs_root() / "07_finetuning"
QUESTIONS = {"q1": 7.5, "q2": 7.0, "q3": 7.5, "q4": 6.0}

# One LoRA layer with four places to go wrong; each wrong answer changes one of them.
LORA = """
class LoRALinear(torch.nn.Module):
    def __init__(self, base, r=8, alpha=16.0):
        super().__init__()
        if not isinstance(base, torch.nn.Linear):
            raise TypeError("base must be an nn.Linear")
        if r < 1:
            raise ValueError("r must be positive")
        self.base, self.scaling, self.merged = base, SCALING, False
        FREEZE
        dtype = base.weight.dtype
        self.lora_A = torch.nn.Parameter(torch.empty(r, base.in_features, dtype=dtype))
        self.lora_B = torch.nn.Parameter(torch.zeros(base.out_features, r, dtype=dtype))
        INIT_A

    def forward(self, x):
        y = self.base(x)
        update = self.scaling * (x @ self.lora_A.T) @ self.lora_B.T
        return RETURN

    def merge(self):
        if not self.merged:
            with torch.no_grad():
                self.base.weight += self.scaling * self.lora_B @ self.lora_A
            self.merged = True

    def unmerge(self):
        if self.merged:
            with torch.no_grad():
                self.base.weight -= self.scaling * self.lora_B @ self.lora_A
            self.merged = False
"""
RIGHT_LORA = {
    "SCALING": "alpha / r",
    "FREEZE": "base.requires_grad_(False)",
    "INIT_A": "torch.nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))",
    "RETURN": "y if self.merged else y + update",
}


def lora(**wrong: str) -> str:
    code = LORA
    for key, value in {**RIGHT_LORA, **wrong}.items():
        code = code.replace(key, value)
    return code


LABELS = """
def answer_only_labels(input_ids, prompt_lengths, attention_mask):
    prompt_lengths = torch.as_tensor(prompt_lengths).reshape(-1)
    lengths = attention_mask.sum(dim=1)
    CHECKS
    positions = torch.arange(input_ids.shape[1])
    answer = ANSWER
    RESULT
"""
CHECKS = """if len(prompt_lengths) != input_ids.shape[0] or (prompt_lengths >= lengths).any():
        raise ValueError("one prompt length per row, and an answer in every row")"""
RIGHT_LABELS = {
    "CHECKS": CHECKS,
    "ANSWER": "(positions >= prompt_lengths[:, None]) & attention_mask.bool()",
    "RESULT": "return torch.where(answer, input_ids, torch.full_like(input_ids, -100))",
}


def labels(**wrong: str) -> str:
    code = LABELS
    for key, value in {**RIGHT_LABELS, **wrong}.items():
        code = code.replace(key, value)
    return code


# Wrong answer A: the LoRA scaling written as r / alpha; the end-of-turn token left out
# of the answer; the last real token found as mask.sum(1) - 1 (right padding only);
# plain accuracy instead of balanced accuracy.
WRONG_A = {
    "LoRALinear": lora(SCALING="r / alpha"),
    "answer_only_labels": labels(
        ANSWER="(positions >= prompt_lengths[:, None]) & (positions < lengths[:, None] - 1)"
    ),
    "last_token_states": """
def last_token_states(hidden, attention_mask):
    lengths = attention_mask.long().sum(dim=1)
    if (lengths == 0).any():
        raise ValueError("a row without real tokens")
    return hidden[torch.arange(hidden.shape[0]), lengths - 1]
""",
    "balanced_accuracy": """
def balanced_accuracy(y_true, y_pred):
    y_true, y_pred = [int(t) for t in y_true], [int(p) for p in y_pred]
    if not y_true or len(y_true) != len(y_pred):
        raise ValueError("two non-empty label lists of one length")
    return sum(t == p for t, p in zip(y_true, y_pred)) / len(y_true)
""",
}
# q1 loses the given-weights test (2); q2 fails the public, boundary and padding tests
# (1 + 2 + 2) and keeps the new-tensor and bad-input tests; q3 loses the left-padding
# pooling test (1.5) and the left-versus-right step test (1.5); q4 fails the public,
# majority-class and multi-class tests (1 + 1 + 0.5) and still trains (the grader's
# batches are right-padded; with the scaling 4 times too small the balanced accuracy is
# 0.957 on AVX-512, 0.957 on AVX2).
EXPECTED_A = {"q1": 5.5, "q2": 2.0, "q3": 4.5, "q4": 3.5}

# Wrong answer B: a merged layer that still adds the update; labels kept on the padding
# and -100 written into input_ids itself; always the last column; recalls averaged over
# the classes of y_true and y_pred.
WRONG_B = {
    "LoRALinear": lora(RETURN="y + update"),
    "answer_only_labels": labels(
        ANSWER="positions >= prompt_lengths[:, None]",
        RESULT="labels = input_ids\n    labels[~answer] = -100\n    return labels",
    ),
    "last_token_states": """
def last_token_states(hidden, attention_mask):
    if not attention_mask.bool().any(dim=1).all():
        raise ValueError("a row without real tokens")
    return hidden[:, -1]
""",
    "balanced_accuracy": """
def balanced_accuracy(y_true, y_pred):
    y_true, y_pred = torch.as_tensor(y_true), torch.as_tensor(y_pred)
    if len(y_true) == 0 or len(y_true) != len(y_pred):
        raise ValueError("two non-empty label sequences of one length")
    classes = torch.unique(torch.cat([y_true, y_pred]))
    return float(torch.stack([(y_pred[y_true == c] == c).double().mean() for c in classes]).mean())
""",
}
# q1 loses the merge test (2); q2 the padding test (2) and the new-tensor test (1); q3
# keeps only the left-padding pooling test (1.5 of 7.5); q4 loses the multi-class test
# (nan, 0.5) and still trains (last column of right-padded rows: 0.926 on AVX-512, 0.927
# on AVX2).
EXPECTED_B = {"q1": 5.5, "q2": 4.0, "q3": 1.5, "q4": 5.5}

# Wrong answer C: A and B both zero and the bias left trainable; off by one at the prompt
# boundary and no input checks; no zero_grad; no input checks in balanced_accuracy.
WRONG_C = {
    "LoRALinear": lora(
        INIT_A="torch.nn.init.zeros_(self.lora_A)",
        FREEZE="base.weight.requires_grad_(False)",
    ),
    "answer_only_labels": labels(
        CHECKS="",
        ANSWER="(positions > prompt_lengths[:, None]) & attention_mask.bool()",
    ),
    "classification_step": """
def classification_step(backbone, head, optimizer, input_ids, attention_mask, labels):
    hidden = backbone(input_ids, attention_mask)
    loss = F.cross_entropy(head(last_token_states(hidden, attention_mask)), labels)
    loss.backward()
    optimizer.step()
    return loss.item()
""",
    "balanced_accuracy": """
def balanced_accuracy(y_true, y_pred):
    y_true, y_pred = torch.as_tensor(y_true), torch.as_tensor(y_pred)
    recalls = [(y_pred[y_true == c] == c).double().mean() for c in torch.unique(y_true)]
    return float(torch.stack(recalls).mean()) if recalls else 0.0
""",
}
# q1 loses the gradient test (zero init, 1) and the public parameter-count test (bias, 1);
# q2 keeps only the new-tensor test (1 of 7); q3 loses the two-step test (2); q4 the
# bad-input test (0.5) and still trains (the grader clears the gradients before each step
# and its model has no biases; with A = B = 0 only the head learns: 0.938 on AVX-512,
# 0.939 on AVX2).
EXPECTED_C = {"q1": 5.5, "q2": 1.0, "q3": 5.5, "q4": 5.5}

# Borrowed answers (the book's LoRA layer imported, scikit-learn's metric) beside the
# student's own answers: question 2 right, question 3 with a softmax before
# F.cross_entropy.
BORROWED = {
    "LoRALinear": "from lmbook.finetune import LoRALinear",
    "classification_step": """
def classification_step(backbone, head, optimizer, input_ids, attention_mask, labels):
    hidden = backbone(input_ids, attention_mask)
    probs = head(last_token_states(hidden, attention_mask)).softmax(dim=-1)
    loss = F.cross_entropy(probs, labels)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()
""",
    "balanced_accuracy": """
def balanced_accuracy(y_true, y_pred):
    from sklearn.metrics import balanced_accuracy_score

    return float(balanced_accuracy_score(list(y_true), list(y_pred)))
""",
}
# q1 and q4 score 0 whatever their tests say; q3 loses the public loss test and the
# two-step test (1 + 2). (The book's LoRA layer with the softmax step reaches 0.959 in the
# training test, on AVX-512 and on AVX2.)
EXPECTED_BORROWED = {"q1": 0.0, "q2": 7.0, "q3": 4.5, "q4": 0.0}


@pytest.fixture(scope="session")
def lab7_build(tmp_path_factory):
    return labs.build_lab(
        LAB7, out_dir=tmp_path_factory.mktemp("lab7_build"), run_tests=False
    )


@pytest.fixture(scope="session")
def lab7_grades(lab7_build, tmp_path_factory):
    d = tmp_path_factory.mktemp("lab7_subs")
    wrong = {"a": WRONG_A, "b": WRONG_B, "c": WRONG_C}
    return labcheck.grade_all(
        lab7_build["autograder"],
        {
            "source": labs.make_submission(LAB7, d / "source.ipynb"),
            "student": LAB7 / "finetuning.ipynb",
            **{
                f"wrong_{k}": labs.make_submission(LAB7, d / f"wrong_{k}.ipynb", v)
                for k, v in wrong.items()
            },
            "borrowed": labs.make_submission(LAB7, d / "borrowed.ipynb", BORROWED),
        },
    )


def test_max_points(lab7_build):
    assert labs.question_max_points(lab7_build["autograder"]) == QUESTIONS


def test_source_scores_full_marks(lab7_grades):
    labcheck.assert_points(lab7_grades["source"], QUESTIONS)


def test_student_notebook_scores_zero(lab7_grades):
    labcheck.assert_points(lab7_grades["student"], {q: 0.0 for q in QUESTIONS})


def test_scaling_end_token_sum_pooling_and_accuracy_lose_the_intended_points(
    lab7_grades,
):
    labcheck.assert_points(lab7_grades["wrong_a"], EXPECTED_A)


def test_double_merge_padding_aliased_labels_last_column_and_nan_lose_the_points(
    lab7_grades,
):
    labcheck.assert_points(lab7_grades["wrong_b"], EXPECTED_B)


def test_zero_init_trainable_bias_off_by_one_and_no_zero_grad_lose_the_intended_points(
    lab7_grades,
):
    labcheck.assert_points(lab7_grades["wrong_c"], EXPECTED_C)


def test_borrowed_lora_and_metric_score_zero_and_a_double_softmax_loses_points(
    lab7_grades,
):
    r = lab7_grades["borrowed"]
    labcheck.assert_points(r, EXPECTED_BORROWED)
    assert "q1: 0, LoRALinear is imported from 'lmbook.finetune'" in r.message
    assert "q4: 0, balanced_accuracy uses sklearn.metrics" in r.message


def test_committed_student_files_equal_a_fresh_build(lab7_build):
    labcheck.assert_committed_equals_fresh_build(LAB7, lab7_build)


def test_student_files_hold_no_solution_and_no_hidden_test():
    labcheck.assert_student_files_are_clean(LAB7, QUESTIONS, your_code_cells=8)
