"""Lab 6 (BPE, nucleus sampling, the KV cache, generating with SmolLM2): the source scores
full marks, the student notebook 0, plausible wrong answers lose exactly the points of
the tests written to catch them, and the committed student files are a fresh build
without solutions or hidden tests. Uses the helpers of lmbook.labs (see
tests/test_labs.py). Every graded notebook loads SmolLM2 (about 20 s of CPU), so a
submission gets 600 s."""

from __future__ import annotations

import json
import math
from collections import Counter

import nbformat
import pytest

import labcheck
from lmbook import labs

LAB6 = labs.labs_root() / "06_gpt2"
QUESTIONS = {"q1": 7.5, "q2": 5.5, "q3": 7.5, "q4": 5.5, "q5": 4.5}
TIMEOUT = 600

# Wrong answer A: no end-of-word mark in learn_bpe; the leftmost merge instead of the
# lowest-ranked one; the token that crosses p dropped; the cache concatenated on the heads
# axis; a generation loop that feeds the new token without passing the cache back.
A_NO_WORD_END = """
def learn_bpe(word_counts, num_merges):
    if num_merges < 0:
        raise ValueError("num_merges must be >= 0")
    if any(not w or c < 1 for w, c in word_counts.items()):
        raise ValueError("bad table")
    words = [list(word) for word in word_counts]
    counts = list(word_counts.values())
    merges = []
    for _ in range(num_merges):
        pairs = Counter()
        for symbols, count in zip(words, counts):
            for pair in zip(symbols, symbols[1:]):
                pairs[pair] += count
        if not pairs:
            break
        highest = max(pairs.values())
        best = min(pair for pair, n in pairs.items() if n == highest)
        merges.append(best)
        words = [merge_pair(symbols, best) for symbols in words]
    return merges
"""
A_LEFTMOST_FIRST = """
def bpe_encode(word, merges):
    if not word:
        raise ValueError("empty word")
    known = {tuple(m) for m in merges}
    symbols = [*word[:-1], word[-1] + EOW]
    while True:
        for pair in zip(symbols, symbols[1:]):
            if pair in known:
                symbols = merge_pair(symbols, pair)
                break
        else:
            return symbols
"""
A_DROPS_CROSSING_TOKEN = """
def nucleus_probs(logits, p, temperature=1.0):
    if not 0 < p <= 1 or temperature <= 0:
        raise ValueError("bad p or temperature")
    probs = torch.softmax(logits / temperature, dim=-1)
    sorted_probs, order = torch.sort(probs, dim=-1, descending=True, stable=True)
    remove_sorted = torch.cumsum(sorted_probs, dim=-1) > p
    remove = remove_sorted.scatter(-1, order, remove_sorted)
    kept = probs.masked_fill(remove, 0.0)
    return kept / kept.sum(dim=-1, keepdim=True)
"""
A_CACHE_ON_HEADS_AXIS = """
def attention_with_cache(q, k, v, cache, num_heads):
    B, T, d_model = q.shape
    if T != 1 or d_model % num_heads:
        raise ValueError("bad shapes")
    d_head = d_model // num_heads
    q, k, v = (x.view(B, 1, num_heads, d_head).transpose(1, 2) for x in (q, k, v))
    if cache is not None:
        k = torch.cat([cache[0], k], dim=1)
        v = torch.cat([cache[1], v], dim=1)
    weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(d_head), dim=-1)
    return (weights @ v).transpose(1, 2).reshape(B, 1, d_model), (k, v)
"""
A_FORGETS_THE_CACHE = """
def generate_top_p(model, prompt_ids, max_new_tokens, p, temperature=1.0, generator=None, eos_id=None):
    new_tokens, step_input = [], prompt_ids
    with torch.no_grad():
        for _ in range(max_new_tokens):
            logits = model(step_input).logits
            token = sample_top_p(logits[:, -1, :], p, temperature, generator)
            new_tokens.append(int(token))
            if token.item() == eos_id:
                break
            step_input = token
    return new_tokens
"""
# Wrong answer B: overlapping merges ('a a a' -> 'aa aa'); one pass over the merges,
# first occurrence only; the temperature applied after choosing the nucleus; heads scaled
# by sqrt(d_model); the temperature applied twice in the loop.
B_OVERLAPPING_MERGE = """
def merge_pair(symbols, pair):
    merged = []
    for i in range(len(symbols)):
        if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == tuple(pair):
            merged.append(symbols[i] + symbols[i + 1])
        elif i > 0 and (symbols[i - 1], symbols[i]) == tuple(pair):
            continue
        else:
            merged.append(symbols[i])
    return merged
"""
B_FIRST_OCCURRENCE_ONLY = """
def bpe_encode(word, merges):
    if not word:
        raise ValueError("empty word")
    symbols = [*word[:-1], word[-1] + EOW]
    for left, right in merges:
        for i in range(len(symbols) - 1):
            if symbols[i] == left and symbols[i + 1] == right:
                symbols[i : i + 2] = [left + right]
                break
    return symbols
"""
B_TEMPERATURE_AFTER_NUCLEUS = """
def nucleus_probs(logits, p, temperature=1.0):
    if not 0 < p <= 1 or temperature <= 0:
        raise ValueError("bad p or temperature")
    probs = torch.softmax(logits, dim=-1)
    sorted_probs, order = torch.sort(probs, dim=-1, descending=True, stable=True)
    keep_sorted = torch.cumsum(sorted_probs, dim=-1) - sorted_probs < p
    keep = torch.zeros_like(keep_sorted).scatter(-1, order, keep_sorted)
    kept = torch.softmax(logits / temperature, dim=-1) * keep
    return kept / kept.sum(dim=-1, keepdim=True)
"""
B_SQRT_D_MODEL = """
def attention_with_cache(q, k, v, cache, num_heads):
    B, T, d_model = q.shape
    if T != 1 or d_model % num_heads:
        raise ValueError("bad shapes")
    d_head = d_model // num_heads
    q, k, v = (x.view(B, 1, num_heads, d_head).transpose(1, 2) for x in (q, k, v))
    if cache is not None:
        k = torch.cat([cache[0], k], dim=2)
        v = torch.cat([cache[1], v], dim=2)
    weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(d_model), dim=-1)
    return (weights @ v).transpose(1, 2).reshape(B, 1, d_model), (k, v)
"""
B_TEMPERATURE_TWICE = """
def generate_top_p(model, prompt_ids, max_new_tokens, p, temperature=1.0, generator=None, eos_id=None):
    new_tokens, past, step_input = [], None, prompt_ids
    with torch.no_grad():
        for _ in range(max_new_tokens):
            out = model(step_input, past_key_values=past, use_cache=True)
            past = out.past_key_values
            logits = out.logits[:, -1, :] / temperature
            token = sample_top_p(logits, p, temperature, generator)
            new_tokens.append(int(token))
            if token.item() == eos_id:
                break
            step_input = token
    return new_tokens
"""
# Wrong answer C: ties broken by the order pairs were first seen; no end-of-word mark in
# bpe_encode; the nucleus not renormalised; a causal mask on the one-row step; no stop at
# eos_id.
C_FIRST_SEEN_TIES = """
def learn_bpe(word_counts, num_merges):
    if num_merges < 0:
        raise ValueError("num_merges must be >= 0")
    if any(not w or c < 1 for w, c in word_counts.items()):
        raise ValueError("bad table")
    words = [[*word[:-1], word[-1] + EOW] for word in word_counts]
    counts = list(word_counts.values())
    merges = []
    for _ in range(num_merges):
        pairs = Counter()
        for symbols, count in zip(words, counts):
            for pair in zip(symbols, symbols[1:]):
                pairs[pair] += count
        if not pairs:
            break
        best = max(pairs, key=pairs.get)
        merges.append(best)
        words = [merge_pair(symbols, best) for symbols in words]
    return merges
"""
C_NO_WORD_END = """
def bpe_encode(word, merges):
    if not word:
        raise ValueError("empty word")
    rank = {tuple(pair): r for r, pair in enumerate(merges)}
    symbols = list(word)
    while len(symbols) > 1:
        best = min(zip(symbols, symbols[1:]), key=lambda p: rank.get(p, math.inf))
        if best not in rank:
            break
        symbols = merge_pair(symbols, best)
    return symbols
"""
C_NOT_RENORMALISED = """
def nucleus_probs(logits, p, temperature=1.0):
    if not 0 < p <= 1 or temperature <= 0:
        raise ValueError("bad p or temperature")
    probs = torch.softmax(logits / temperature, dim=-1)
    sorted_probs, order = torch.sort(probs, dim=-1, descending=True, stable=True)
    keep_sorted = torch.cumsum(sorted_probs, dim=-1) - sorted_probs < p
    keep = torch.zeros_like(keep_sorted).scatter(-1, order, keep_sorted)
    return probs * keep
"""
C_CAUSAL_MASK_ON_THE_STEP = """
def attention_with_cache(q, k, v, cache, num_heads):
    B, T, d_model = q.shape
    if T != 1 or d_model % num_heads:
        raise ValueError("bad shapes")
    d_head = d_model // num_heads
    q, k, v = (x.view(B, 1, num_heads, d_head).transpose(1, 2) for x in (q, k, v))
    if cache is not None:
        k = torch.cat([cache[0], k], dim=2)
        v = torch.cat([cache[1], v], dim=2)
    scores = q @ k.transpose(-2, -1) / math.sqrt(d_head)
    causal = torch.ones(1, k.size(2), dtype=torch.bool).tril()
    scores = scores.masked_fill(~causal, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return (weights @ v).transpose(1, 2).reshape(B, 1, d_model), (k, v)
"""
C_NO_EOS_STOP = """
def generate_top_p(model, prompt_ids, max_new_tokens, p, temperature=1.0, generator=None, eos_id=None):
    new_tokens, past, step_input = [], None, prompt_ids
    with torch.no_grad():
        for _ in range(max_new_tokens):
            out = model(step_input, past_key_values=past, use_cache=True)
            past = out.past_key_values
            token = sample_top_p(out.logits[:, -1, :], p, temperature, generator)
            new_tokens.append(int(token))
            step_input = token
    return new_tokens
"""
# Borrowed answers: Hugging Face's BPE trainer, the chapter's top_p_filter, PyTorch's
# attention and transformers' generate; bpe_encode stays the student's own.
BORROWED = {
    "learn_bpe": """
def learn_bpe(word_counts, num_merges):
    import json

    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    tok = Tokenizer(models.BPE(end_of_word_suffix=EOW))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    alphabet = {ch for w in word_counts for ch in w[:-1]} | {w[-1] + EOW for w in word_counts}
    trainer = trainers.BpeTrainer(vocab_size=len(alphabet) + num_merges, end_of_word_suffix=EOW, show_progress=False)
    tok.train_from_iterator((" ".join([w] * c) for w, c in word_counts.items()), trainer)
    return [tuple(m) for m in json.loads(tok.to_str())["model"]["merges"]]
""",
    "nucleus_probs": """
def nucleus_probs(logits, p, temperature=1.0):
    from lmbook.decoding import top_p_filter
    return torch.softmax(top_p_filter(logits / temperature, p), dim=-1)
""",
    "attention_with_cache": """
def attention_with_cache(q, k, v, cache, num_heads):
    import torch.nn.functional as F
    B, _, d_model = q.shape
    q, k, v = (x.view(B, 1, num_heads, -1).transpose(1, 2) for x in (q, k, v))
    if cache is not None:
        k, v = torch.cat([cache[0], k], dim=2), torch.cat([cache[1], v], dim=2)
    out = F.scaled_dot_product_attention(q, k, v)
    return out.transpose(1, 2).reshape(B, 1, d_model), (k, v)
""",
    "generate_top_p": """
def generate_top_p(model, prompt_ids, max_new_tokens, p, temperature=1.0, generator=None, eos_id=None):
    if max_new_tokens == 0:
        return []
    with torch.no_grad():
        out = model.generate(prompt_ids, max_new_tokens=max_new_tokens, do_sample=p > 1e-6, top_p=p, temperature=temperature, eos_token_id=eos_id)
    return out[0, prompt_ids.size(1):].tolist()
""",
}

# A: q1 keeps only merge_pair's test and the bad-input test (1.5); q2 loses the rank and
# Shakespeare tests (2.5); q3 keeps p = 1 and bad input (1.0); q4 keeps the first-token
# and bad-input tests (1.0); q5 scores 0 (the model forgets the prompt, and with
# p = 1e-9 A's sampler has nothing left: NaN).
EXPECTED_A = {"q1": 1.5, "q2": 3.0, "q3": 1.0, "q4": 1.0, "q5": 0.0}
# B: q1 loses the overlap test (1.5); q2 the repeated-pair and Shakespeare tests (2.5); q3
# the temperature test (1); q4 the public cache and step-by-step tests (3; one head
# passes); q5 the replay test (2; greedy ignores the temperature).
EXPECTED_B = {"q1": 6.0, "q2": 3.0, "q3": 6.5, "q4": 2.5, "q5": 2.5}
# C: q1 loses the toy, tie and Shakespeare tests (3.5); q2 scores 0; q3 keeps p = 1, the
# sampling test (torch.multinomial renormalises) and bad input (2.5); q4 loses the public
# cache, step-by-step and single-head tests (3.5); q5 loses the end-of-turn test (1).
EXPECTED_C = {"q1": 4.0, "q2": 0.0, "q3": 2.5, "q4": 2.0, "q5": 3.5}
EXPECTED_BORROWED = {"q1": 0.0, "q2": 5.5, "q3": 0.0, "q4": 0.0, "q5": 0.0}


@pytest.fixture(scope="session")
def lab6_build(tmp_path_factory):
    return labs.build_lab(
        LAB6, out_dir=tmp_path_factory.mktemp("lab6_build"), run_tests=False
    )


@pytest.fixture(scope="session")
def lab6_grades(lab6_build, tmp_path_factory):
    d = tmp_path_factory.mktemp("lab6_subs")
    sub = lambda name, repl=None: labs.make_submission(LAB6, d / name, repl)
    return labcheck.grade_all(
        lab6_build["autograder"],
        {
            "source": sub("source.ipynb"),
            "student": LAB6 / "gpt2.ipynb",
            "wrong_a": sub(
                "wrong_a.ipynb",
                {
                    "learn_bpe": A_NO_WORD_END,
                    "bpe_encode": A_LEFTMOST_FIRST,
                    "nucleus_probs": A_DROPS_CROSSING_TOKEN,
                    "attention_with_cache": A_CACHE_ON_HEADS_AXIS,
                    "generate_top_p": A_FORGETS_THE_CACHE,
                },
            ),
            "wrong_b": sub(
                "wrong_b.ipynb",
                {
                    "merge_pair": B_OVERLAPPING_MERGE,
                    "bpe_encode": B_FIRST_OCCURRENCE_ONLY,
                    "nucleus_probs": B_TEMPERATURE_AFTER_NUCLEUS,
                    "attention_with_cache": B_SQRT_D_MODEL,
                    "generate_top_p": B_TEMPERATURE_TWICE,
                },
            ),
            "wrong_c": sub(
                "wrong_c.ipynb",
                {
                    "learn_bpe": C_FIRST_SEEN_TIES,
                    "bpe_encode": C_NO_WORD_END,
                    "nucleus_probs": C_NOT_RENORMALISED,
                    "attention_with_cache": C_CAUSAL_MASK_ON_THE_STEP,
                    "generate_top_p": C_NO_EOS_STOP,
                },
            ),
            "borrowed": sub("borrowed.ipynb", BORROWED),
        },
        timeout=TIMEOUT,
    )


def test_max_points(lab6_build):
    assert labs.question_max_points(lab6_build["autograder"]) == QUESTIONS


def test_source_scores_full_marks(lab6_grades):
    labcheck.assert_points(lab6_grades["source"], QUESTIONS)


def test_student_notebook_scores_zero(lab6_grades):
    labcheck.assert_points(lab6_grades["student"], {q: 0.0 for q in QUESTIONS})


def test_no_word_end_leftmost_merge_dropped_crossing_token_lose_the_intended_points(
    lab6_grades,
):
    labcheck.assert_points(lab6_grades["wrong_a"], EXPECTED_A)


def test_overlapping_merges_and_sqrt_d_model_lose_the_intended_points(lab6_grades):
    labcheck.assert_points(lab6_grades["wrong_b"], EXPECTED_B)


def test_ties_unnormalised_nucleus_and_masked_step_lose_the_intended_points(
    lab6_grades,
):
    labcheck.assert_points(lab6_grades["wrong_c"], EXPECTED_C)


def test_borrowed_answers_score_zero_with_a_reason(lab6_grades):
    r = lab6_grades["borrowed"]
    labcheck.assert_points(r, EXPECTED_BORROWED)
    assert "q1: 0, learn_bpe uses tokenizers" in r.message
    assert "q3: 0, nucleus_probs uses lmbook" in r.message
    assert (
        "q4: 0, attention_with_cache uses "
        "torch.nn.functional.scaled_dot_product_attention" in r.message
    )
    assert (
        "q5: 0, q5 calls transformers.generation.utils.GenerationMixin.generate"
        in r.message
    )


def test_committed_student_files_equal_a_fresh_build(lab6_build):
    labcheck.assert_committed_equals_fresh_build(LAB6, lab6_build)


def test_student_files_hold_no_solution_and_no_hidden_test():
    labcheck.assert_student_files_are_clean(LAB6, QUESTIONS, your_code_cells=7)


def _source_function(name: str):
    """A function of the source notebook's solution cells, defined here."""
    nb = nbformat.read(LAB6 / "source" / "gpt2.ipynb", as_version=4)
    ns = {"EOW": "</w>", "Counter": Counter, "math": math}
    for cell in nb.cells:
        if cell.cell_type == "code" and "# BEGIN SOLUTION" in cell.source:
            if f"def {name}(" in cell.source:
                exec(cell.source, ns)
    return ns[name]


def test_reference_merges_equal_hugging_face_until_a_tie_is_broken_differently():
    """The source's learn_bpe against Hugging Face's BpeTrainer (end_of_word_suffix
    "</w>") on the lab's Shakespeare table: the same merges until HF breaks a tie its own
    way (it prefers the pair whose symbols were created first; the lab takes the
    smallest pair)."""
    import re

    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    from lmbook.data import load_shakespeare

    table = Counter(re.findall(r"[a-z]+", load_shakespeare("train")[:100_000].lower()))
    ours = _source_function("learn_bpe")(dict(table), 150)
    tok = Tokenizer(models.BPE(end_of_word_suffix="</w>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    trainer = trainers.BpeTrainer(
        vocab_size=100_000, end_of_word_suffix="</w>", show_progress=False
    )
    tok.train_from_iterator((" ".join([w] * c) for w, c in table.items()), trainer)
    theirs = [tuple(m) for m in json.loads(tok.to_str())["model"]["merges"]]
    first = next(i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b)
    assert first >= 80, (first, ours[first], theirs[first])
    merge_pair = _source_function("merge_pair")
    words = [[*w[:-1], w[-1] + "</w>"] for w in table]
    for pair in ours[:first]:
        words = [merge_pair(w, pair) for w in words]
    pairs = Counter()
    for w, c in zip(words, table.values()):
        for pair in zip(w, w[1:]):
            pairs[pair] += c
    assert pairs[ours[first]] == pairs[theirs[first]] == max(pairs.values())
    assert ours[first] < theirs[first]
