"""Our vectorised Viterbi against NLTK's HiddenMarkovModelTagger holding identical
parameters, on the WSJ test split.

Run from the repository root:  .venv/bin/python benchmarks/hmm_vs_nltk.py
Writes benchmarks/results/hmm_vs_nltk.json and benchmarks/results/hmm_vs_nltk.md.

Our tagger is timed twice: ``tag_sents`` (the whole split decoded by ``viterbi_batch``,
vectorised over sentences and states) and ``tag`` called once per sentence (vectorised
over states only); both give the same tags. Both taggers use the start, transition and
emission scores of one ``lmbook.hmm.HMMTagger`` fitted on the training split with the
settings chapter 2 selects on a development split (theta=3, rare_max=5). NLTK receives
them as probability distributions: the transition and start rows as
``DictionaryProbDist``s and, for every tag, an emission distribution whose
``logprob(word)`` returns our emission score (in NLTK's base 2), so unknown words get
the same suffix model. Timings are end to end (``tag`` on every test sentence), after
one warm-up pass that fills both emission caches, best of several runs. NLTK's decoder
works in float32 and ours in float64, so near-ties may be broken differently; the
agreement figures say how often that happens.
"""

from __future__ import annotations

import functools
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

import nltk
import numpy as np
from nltk.probability import (
    DictionaryConditionalProbDist,
    DictionaryProbDist,
    ProbDistI,
)
from nltk.tag.hmm import HiddenMarkovModelTagger

from lmbook import data, hmm

RESULTS = Path(__file__).resolve().parent / "results"
SETTINGS = {"theta": 3.0, "rare_max": 5}
REPEATS = 5  # NLTK (about 2 s a pass)
REPEATS_LMBOOK = 25  # ours is fast: more repeats make best-of robust to load


class _EmissionDist(ProbDistI):
    """P(word | tag) for one tag, read from our tagger's emission scores (NLTK's logprob
    is base 2).
    """

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

    @functools.cache
    def scores(word: str) -> np.ndarray:
        return tagger.emission_scores([word])[0]

    def dist(row) -> DictionaryProbDist:
        return DictionaryProbDist({tag: float(p) for tag, p in zip(tags, row)})

    known = sorted(tagger.known_log_emission)
    return HiddenMarkovModelTagger(
        known,
        list(tags),
        DictionaryConditionalProbDist(
            {tag: dist(tagger.transmat[i]) for i, tag in enumerate(tags)}
        ),
        DictionaryConditionalProbDist(
            {tag: _EmissionDist(scores, i, known) for i, tag in enumerate(tags)}
        ),
        dist(tagger.startprob),
    )


def _best_time(function, repeats: int) -> tuple[float, object]:
    function()  # warm-up: fills the emission caches (NLTK's output table, our unknown-word rows)
    best, result = math.inf, None
    for _ in range(repeats):
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

    t_ours, tags_ours = _best_time(lambda: ours.tag_sents(sentences), REPEATS_LMBOOK)
    t_single, tags_single = _best_time(
        lambda: [ours.tag(words) for words in sentences], REPEATS_LMBOOK
    )
    if tags_single != tags_ours:
        raise RuntimeError("batched and one-at-a-time decoding disagree")
    t_nltk, tags_nltk = _best_time(
        lambda: [[t for _, t in theirs.tag(words)] for words in sentences], REPEATS
    )
    flat_ours = [t for s in tags_ours for t in s]
    flat_nltk = [t for s in tags_nltk for t in s]
    n = len(gold)
    result = {
        "meta": {
            "command": ".venv/bin/python benchmarks/hmm_vs_nltk.py",
            "python": platform.python_version(),
            "numpy": np.__version__,
            "nltk": nltk.__version__,
            "machine": platform.machine(),
            "processor": platform.processor() or "unknown",
            "cpu_count": os.cpu_count(),
            "load_average_1min": round(os.getloadavg()[0], 2),
            "settings": SETTINGS,
            "repeats": {"lmbook": REPEATS_LMBOOK, "nltk": REPEATS},
            "test_sentences": len(sentences),
            "test_tokens": n,
        },
        "seconds": {
            "lmbook": round(t_ours, 4),
            "lmbook_one_at_a_time": round(t_single, 4),
            "nltk": round(t_nltk, 4),
        },
        "speedup": round(t_nltk / t_ours, 1),
        "speedup_one_at_a_time": round(t_nltk / t_single, 1),
        "agreement": {
            "tokens": round(sum(a == b for a, b in zip(flat_ours, flat_nltk)) / n, 5),
            "sentences": round(
                sum(a == b for a, b in zip(tags_ours, tags_nltk)) / len(sentences), 5
            ),
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
        "# Viterbi POS tagging of the WSJ test split: lmbook.hmm vs NLTK (identical "
        "parameters)\n\n"
        f"Command: `{result['meta']['command']}` ({result['meta']['test_sentences']} "
        "sentences, "
        f"{result['meta']['test_tokens']} tokens, best of "
        f"{result['meta']['repeats']['lmbook']} (ours) and "
        f"{result['meta']['repeats']['nltk']} (NLTK) runs after a warm-up; "
        f"{result['meta']['cpu_count']} CPU cores, load average "
        f"{result['meta']['load_average_1min']} "
        "when the run ended: the machine was shared, so absolute times vary, the ratio "
        "less).\n\n"
        "| tagger | seconds | tokens/s | accuracy |\n|---|---:|---:|---:|\n"
        "| lmbook.hmm `tag_sents` (vectorised over states and sentences) | "
        f"{s['lmbook']:.3f} | "
        f"{result['meta']['test_tokens'] / s['lmbook']:,.0f} | {acc['lmbook']:.4f} |\n"
        "| lmbook.hmm `tag`, one sentence at a time (vectorised over states) | "
        f"{s['lmbook_one_at_a_time']:.3f} | "
        f"{result['meta']['test_tokens'] / s['lmbook_one_at_a_time']:,.0f} | "
        f"{acc['lmbook']:.4f} |\n"
        f"| nltk.tag.hmm.HiddenMarkovModelTagger | {s['nltk']:.3f} | "
        f"{result['meta']['test_tokens'] / s['nltk']:,.0f} | {acc['nltk']:.4f} |\n\n"
        f"Speed-up over NLTK: **{result['speedup']}x** batched, "
        f"{result['speedup_one_at_a_time']}x one sentence "
        f"at a time. Agreement: {a['tokens']:.2%} of tokens, "
        f"{a['sentences']:.2%} of sentences tagged identically.\n"
    )
    (RESULTS / "hmm_vs_nltk.md").write_text(table)


if __name__ == "__main__":
    res = main()
    write(res)
    json.dump(res, sys.stdout, indent=1)
    print()
