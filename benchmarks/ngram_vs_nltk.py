"""Interpolated Kneser-Ney trigram: lmbook.ngram versus nltk.lm.KneserNeyInterpolated,
end to end.

Both fit the same slice of PTB training sentences (their own vocabulary from that slice,
other words -> <unk>) and score the same test tokens (every word and the <eos> of each
of the first test sentences), with the same fixed discount 0.75. "End to end" = building
the vocabulary, counting, fitting and scoring. Each implementation runs in its own fresh
process: time is wall-clock (best of --repeats for lmbook, one run for nltk, which is
slow) without any tracing; memory is the peak of Python and NumPy allocations
(tracemalloc) during one more, separate run of the same work (tracing slows it down, so
it is never timed). NLTK scores one token at a time and recomputes continuation counts
by scanning all higher-order n-grams on every call, hence the slice.

The two models differ in details, so their perplexities differ: NLTK pads with two <s>
and has no unigram level below the continuation bigrams' unigram (it ends at
continuation unigram counts without interpolating with the uniform distribution); lmbook
pads with one <s> (SRILM's convention) and keeps raw counts for n-grams starting with
<s>. The timing comparison is the point here; tests/test_ngram.py checks exact agreement
for MLE and Laplace.

Run from the repository root:
    .venv/bin/python benchmarks/ngram_vs_nltk.py            # defaults: --train 2000
    --test 50
writes benchmarks/results/ngram_vs_nltk.json and .md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

from lmbook import data, ngram

RESULTS = Path(__file__).resolve().parent / "results"
ORDER = 3
DISCOUNT = 0.75


def run_ours(train, test):
    vocab = ngram.Vocabulary.from_sentences(train, eos="<eos>")
    lm = ngram.KneserNey(ORDER, discount=DISCOUNT).fit(
        vocab.encode_corpus(train), vocab
    )
    lp = lm.token_logprobs(vocab.encode_corpus(test))
    return float(np.exp(-lp.mean())), len(lp)


def run_nltk(train, test):
    from nltk.lm import KneserNeyInterpolated
    from nltk.util import everygrams

    pad = ["<s>"] * (ORDER - 1)
    known = {w for s in train for w in s}
    test = [
        [w if w in known else "<unk>" for w in s] for s in test
    ]  # PTB's own <unk>, as lmbook does
    lm = KneserNeyInterpolated(ORDER, discount=DISCOUNT)
    lm.fit(
        (everygrams(pad + s + ["<eos>"], max_len=ORDER) for s in train),
        vocabulary_text=[w for s in train for w in s] + ["<eos>", "<s>"],
    )
    logs = []
    for s in test:
        p = pad + s + ["<eos>"]
        for i in range(ORDER - 1, len(p)):
            score = lm.score(p[i], p[i - ORDER + 1 : i])
            logs.append(math.log(score) if score > 0 else -math.inf)
    return float(math.exp(-sum(logs) / len(logs))), len(logs)


def worker(which: str, n_train: int, n_test: int, repeats: int) -> dict:
    """Run one implementation in this (fresh) process and return its time, memory growth
    and perplexity.
    """
    train = data.load_ptb("train")[:n_train] if n_train else data.load_ptb("train")
    test = data.load_ptb("test")[:n_test] if n_test else data.load_ptb("test")
    fn = {"lmbook": run_ours, "nltk": run_nltk}[which]
    if which == "nltk":
        import nltk.lm  # noqa: F401  (import cost is not part of the measurement)
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        ppl, n = fn(train, test)
        best = min(best, time.perf_counter() - start)
    tracemalloc.start()
    fn(train, test)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"seconds": best, "peak_mib": peak / 2**20, "perplexity": ppl, "tokens": n}


def measure(which: str, n_train: int, n_test: int, repeats: int) -> dict:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--worker",
            which,
            "--train",
            str(n_train),
            "--test",
            str(n_test),
            "--repeats",
            str(repeats),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--train", type=int, default=2000, help="number of PTB training sentences"
    )
    parser.add_argument(
        "--test", type=int, default=50, help="number of PTB test sentences scored"
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="repeats of the lmbook run (best time is kept)",
    )
    parser.add_argument("--worker", choices=["lmbook", "nltk"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.train, args.test, args.repeats)))
        return
    train = data.load_ptb("train")[: args.train]
    ours = measure("lmbook", args.train, args.test, args.repeats)
    ref = measure("nltk", args.train, args.test, 1)
    assert ours["tokens"] == ref["tokens"], (ours, ref)
    # for scale: lmbook on the whole of PTB (887k training words, 82k test tokens), same
    # model (0 = everything)
    full = measure("lmbook", 0, 0, 1)
    t_ours, m_ours, ppl_ours, n_ours = (
        ours["seconds"],
        ours["peak_mib"],
        ours["perplexity"],
        ours["tokens"],
    )
    t_nltk, m_nltk, ppl_nltk = ref["seconds"], ref["peak_mib"], ref["perplexity"]
    t_full, m_full, ppl_full, n_full = (
        full["seconds"],
        full["peak_mib"],
        full["perplexity"],
        full["tokens"],
    )
    result = {
        "task": f"interpolated Kneser-Ney {ORDER}-gram, discount {DISCOUNT}, fit + score end to end",
        "train_sentences": args.train,
        "train_tokens": sum(map(len, train)),
        "test_tokens_scored": n_ours,
        "lmbook": {
            "seconds": round(t_ours, 3),
            "peak_mib": round(m_ours, 1),
            "perplexity": round(ppl_ours, 2),
        },
        "nltk": {
            "seconds": round(t_nltk, 2),
            "peak_mib": round(m_nltk, 1),
            "perplexity": round(ppl_nltk, 2),
        },
        "speedup": round(t_nltk / t_ours, 1),
        "memory_ratio_nltk_over_lmbook": round(m_nltk / max(m_ours, 0.1), 1),
        "lmbook_full_ptb": {
            "seconds": round(t_full, 2),
            "peak_mib": round(m_full, 1),
            "perplexity": round(ppl_full, 2),
            "test_tokens_scored": n_full,
        },
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores (shared), Python {platform.python_version()}",
        "command": "python benchmarks/ngram_vs_nltk.py "
        + f"--train {args.train} --test {args.test} --repeats {args.repeats}",
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "ngram_vs_nltk.json").write_text(json.dumps(result, indent=1) + "\n")
    o, n = result["lmbook"], result["nltk"]
    table = (
        f"# Interpolated Kneser-Ney trigram: lmbook.ngram vs nltk.lm\n\n"
        f"PTB slice: {result['train_sentences']:,} training sentences "
        f"({result['train_tokens']:,} tokens), "
        f"{result['test_tokens_scored']:,} test tokens scored; fit + score end to "
        "end.\n\n"
        "| implementation | time (s) | peak memory (MiB, tracemalloc) | perplexity "
        "|\n|---|---:|---:|---:|\n"
        f"| lmbook.ngram.KneserNey | {o['seconds']} | {o['peak_mib']} | "
        f"{o['perplexity']} |\n"
        f"| nltk.lm.KneserNeyInterpolated | {n['seconds']} | {n['peak_mib']} | "
        f"{n['perplexity']} |\n\n"
        f"Speed-up: **{result['speedup']}x** (target >= 50x); memory nltk / lmbook: "
        f"{result['memory_ratio_nltk_over_lmbook']}x. lmbook on the whole of PTB "
        f"({result['lmbook_full_ptb']['test_tokens_scored']:,} test tokens): "
        f"{result['lmbook_full_ptb']['seconds']} s, "
        f"{result['lmbook_full_ptb']['peak_mib']} MiB.\n"
        "Perplexities differ because the models differ in details (see the script's "
        "docstring).\n\n"
        f"Machine: {result['machine']}. Command: `{result['command']}`\n"
    )
    (RESULTS / "ngram_vs_nltk.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
