"""Our vectorised Viterbi against NLTK's HiddenMarkovModelTagger holding identical parameters, on the WSJ test split.

Run from the repository root:  .venv/bin/python benchmarks/hmm_vs_nltk.py
Writes benchmarks/results/hmm_vs_nltk.json and benchmarks/results/hmm_vs_nltk.md.

Both taggers use the start, transition and emission scores of one ``lmbook.hmm.HMMTagger`` fitted on the training
split with the settings chapter 2 selects on a development split (theta=3, rare_max=5). NLTK receives them as
probability distributions: the transition and start rows as ``DictionaryProbDist``s and, for every tag, an
emission distribution whose ``logprob(word)`` returns our emission score (in NLTK's base 2), so unknown words get
the same suffix model. Timings are end to end (``tag`` on every test sentence), after one warm-up pass that
fills both emission caches, best of ``REPEATS`` runs. NLTK's decoder works in float32 and ours in float64, so
near-ties may be broken differently; the agreement figures say how often that happens.
"""
from __future__ import annotations

import functools
import json
import math
import platform
import sys
import time
from pathlib import Path

import nltk
import numpy as np
from nltk.probability import DictionaryConditionalProbDist, DictionaryProbDist, ProbDistI
from nltk.tag.hmm import HiddenMarkovModelTagger

from lmbook import data, hmm

RESULTS = Path(__file__).resolve().parent / "results"
SETTINGS = {"theta": 3.0, "rare_max": 5}
REPEATS = 3


class _EmissionDist(ProbDistI):
    """P(word | tag) for one tag, read from our tagger's emission scores (NLTK's logprob is base 2)."""

    def __init__(self, scores, column: int, known: list[str]):
        self._scores, self._column, self._known = scores, column, known

    def logprob(self, sample):
        return self._scores(sample)[self._column] / math.log(2)

    def prob(self, sample):
        return 2.0 ** self.logprob(sample)

    def max(self):
        return max(self._known, key=self.logprob)

    def samples(self):
        return self._known


def nltk_tagger(tagger: hmm.HMMTagger) -> HiddenMarkovModelTagger:
    """An NLTK HMM tagger holding exactly ``tagger``'s parameters."""
    tags = tagger.tags

    @functools.lru_cache(maxsize=None)
    def scores(word: str) -> np.ndarray:
        return tagger.emission_scores([word])[0]

    def dist(row) -> DictionaryProbDist:
        return DictionaryProbDist({tag: float(p) for tag, p in zip(tags, row)})

    known = sorted(tagger.known_log_emission)
    return HiddenMarkovModelTagger(
        known, list(tags),
        DictionaryConditionalProbDist({tag: dist(tagger.transmat[i]) for i, tag in enumerate(tags)}),
        DictionaryConditionalProbDist({tag: _EmissionDist(scores, i, known) for i, tag in enumerate(tags)}),
        dist(tagger.startprob),
    )


def _best_time(function) -> tuple[float, object]:
    function()  # warm-up: fills NLTK's output-probability cache; our tagger has no cache to fill
    best, result = math.inf, None
    for _ in range(REPEATS):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> dict:
    train, test = data.load_wsj_tagged("train"), data.load_wsj_tagged("test")
    ours = hmm.HMMTagger(**SETTINGS).fit(train)
    theirs = nltk_tagger(ours)
    sentences = [[w for w, _ in s] for s in test]
    gold = [t for s in test for _, t in s]

    t_ours, tags_ours = _best_time(lambda: ours.tag_sents(sentences))
    t_nltk, tags_nltk = _best_time(lambda: [[t for _, t in theirs.tag(words)] for words in sentences])
    flat_ours = [t for s in tags_ours for t in s]
    flat_nltk = [t for s in tags_nltk for t in s]
    n = len(gold)
    result = {
        "meta": {
            "command": ".venv/bin/python benchmarks/hmm_vs_nltk.py",
            "python": platform.python_version(), "numpy": np.__version__, "nltk": nltk.__version__,
            "machine": platform.machine(), "processor": platform.processor() or "unknown",
            "settings": SETTINGS, "repeats": REPEATS,
            "test_sentences": len(sentences), "test_tokens": n,
        },
        "seconds": {"lmbook": round(t_ours, 4), "nltk": round(t_nltk, 4)},
        "speedup": round(t_nltk / t_ours, 1),
        "agreement": {
            "tokens": round(sum(a == b for a, b in zip(flat_ours, flat_nltk)) / n, 5),
            "sentences": round(sum(a == b for a, b in zip(tags_ours, tags_nltk)) / len(sentences), 5),
        },
        "accuracy": {
            "lmbook": round(sum(a == b for a, b in zip(flat_ours, gold)) / n, 5),
            "nltk": round(sum(a == b for a, b in zip(flat_nltk, gold)) / n, 5),
        },
    }
    return result


def write(result: dict) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "hmm_vs_nltk.json").write_text(json.dumps(result, indent=1) + "\n")
    s, a, acc = result["seconds"], result["agreement"], result["accuracy"]
    table = (
        "# Viterbi POS tagging of the WSJ test split: lmbook.hmm vs NLTK (identical parameters)\n\n"
        f"Command: `{result['meta']['command']}` ({result['meta']['test_sentences']} sentences, "
        f"{result['meta']['test_tokens']} tokens, best of {result['meta']['repeats']} after a warm-up).\n\n"
        "| tagger | seconds | tokens/s | accuracy |\n|---|---:|---:|---:|\n"
        f"| lmbook.hmm (numpy, vectorised over states) | {s['lmbook']:.3f} | "
        f"{result['meta']['test_tokens'] / s['lmbook']:,.0f} | {acc['lmbook']:.4f} |\n"
        f"| nltk.tag.hmm.HiddenMarkovModelTagger | {s['nltk']:.3f} | "
        f"{result['meta']['test_tokens'] / s['nltk']:,.0f} | {acc['nltk']:.4f} |\n\n"
        f"Speed-up: **{result['speedup']}x**. Agreement: {a['tokens']:.2%} of tokens, "
        f"{a['sentences']:.2%} of sentences tagged identically.\n"
    )
    (RESULTS / "hmm_vs_nltk.md").write_text(table)


if __name__ == "__main__":
    res = main()
    write(res)
    json.dump(res, sys.stdout, indent=1)
    print()
