"""Perplexity of every n-gram estimator of lmbook.ngram on Mikolov's PTB (valid and
test), orders 1..5.

Run from the repository root:  .venv/bin/python benchmarks/ptb_ngram_perplexity.py
Writes benchmarks/results/ptb_ngram_perplexity.json:
    {"meta": {...}, "<method>": {"<order>": {"valid": ppl, "test": ppl}, ...}, ...}
with methods as in lmbook.ngram.METHODS (e.g. "kn_modified_interpolated"); an infinite
perplexity (MLE on unseen n-grams) is written as null. Conventions: each sentence is
padded with one <s> (never predicted) and ends with <eos>, which is predicted and
counted (SRILM's convention; 78,669 test words + 3,761 <eos> = 82,430 tokens).
"""

from __future__ import annotations

import json
import math
import platform
import sys
import time
from pathlib import Path

from lmbook import data, ngram

OUT = Path(__file__).resolve().parent / "results" / "ptb_ngram_perplexity.json"
ORDERS = (1, 2, 3, 4, 5)


def main() -> dict:
    start = time.perf_counter()
    train, valid, test = (data.load_ptb(s) for s in ("train", "valid", "test"))
    vocab = ngram.Vocabulary.from_sentences(train, eos="<eos>")
    counts = ngram.count_ngrams(vocab.encode_corpus(train), vocab, max(ORDERS))
    valid_ids, test_ids = vocab.encode_corpus(valid), vocab.encode_corpus(test)
    result: dict = {}
    chosen_k = {}
    for method in ngram.METHODS:
        result[method] = {}
        for n in ORDERS:
            lm = ngram.build(method, n, counts, heldout=valid_ids)
            ppl = {
                split: lm.perplexity(ids)
                for split, ids in (("valid", valid_ids), ("test", test_ids))
            }
            result[method][str(n)] = {
                k: (round(v, 2) if math.isfinite(v) else None) for k, v in ppl.items()
            }
            if method == "add_k":
                chosen_k[str(n)] = lm.k
            print(
                f"{method:26s} n={n}  valid {ppl['valid']:10.2f}  test "
                f"{ppl['test']:10.2f}",
                flush=True,
            )
    result["meta"] = {
        "data": "Mikolov's PTB (lmbook.data.load_ptb), vocabulary 10,000 predictable tokens incl. <unk> and <eos>",
        "convention": "per sentence: one <s> (not predicted) + words + <eos> (predicted, counted)",
        "tokens_scored": {
            "valid": int(sum(map(len, valid)) + len(valid)),
            "test": int(sum(map(len, test)) + len(test)),
        },
        "add_k_chosen_k": chosen_k,
        "reference": "Mikolov et al. (2011): KN5 test perplexity 141.2",
        "command": "python benchmarks/ptb_ngram_perplexity.py",
        "python": platform.python_version(),
        "seconds": round(time.perf_counter() - start, 1),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {OUT} in {result['meta']['seconds']} s", file=sys.stderr)
    return result


if __name__ == "__main__":
    main()
