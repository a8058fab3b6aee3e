"""SmolLM2-135M-Instruct's per-word perplexity on the book's two benchmarks (chapter 6).

Run from the repository root:  .venv/bin/python benchmarks/smollm2_perplexity.py
Writes benchmarks/results/smollm2_perplexity.json (the chapter reads it).

The chapter's ``cpu`` profile scores a slice (the preset ``ch06-perplexity``, profile
``cpu``); this script scores what the ``gpu`` profile names: the whole PTB test set and
the whole held-out Shakespeare, on whatever device there is (one CPU thread here, about
20 minutes). Both texts are read exactly as the chapter reads them:

* PTB: each test sentence as its tokens joined by spaces, ``<unk>`` and ``N`` included,
  one sentence per line; words counted as Mikolov's: tokens plus one end of sentence.
* Shakespeare: the held-out text as it is; words counted as chapter 1's word models
  count them (words and punctuation marks, plus one end per non-empty line).

The text is preceded by ``<|endoftext|>`` and scored with :func:`lmbook.decoding.
token_nll` (windows of ``window`` tokens moving by ``stride``); the per-word perplexity
is exp(total NLL / words). ``--profile cpu`` reproduces the chapter's slice (printed, not recorded).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import sys
import time
from pathlib import Path

import torch

from lmbook import data, devices, llama, presets
from lmbook import decoding as dec

OUT = Path(__file__).resolve().parent / "results" / "smollm2_perplexity.json"
COMMAND = ".venv/bin/python benchmarks/smollm2_perplexity.py"
WORD = re.compile(r"[A-Za-z']+|[^\sA-Za-z']")  # chapter 1's word-level tokens


def ptb_text(num_sentences: int | None) -> tuple[str, int]:
    """The first sentences of PTB test as text, and their word count (+ ends)."""
    sentences = data.load_ptb("test")[:num_sentences]
    text = "".join(" ".join(s) + "\n" for s in sentences)
    return text, sum(len(s) + 1 for s in sentences)


def shakespeare_text(num_lines: int | None) -> tuple[str, int]:
    """Held-out Shakespeare up to its ``num_lines``-th non-empty line, word count."""
    lines = data.load_shakespeare("validation").splitlines(keepends=True)
    nonempty = [i for i, line in enumerate(lines) if line.strip()]
    last = nonempty[-1] if num_lines is None else nonempty[num_lines - 1]
    text = "".join(lines[: last + 1])
    words = sum(
        len(WORD.findall(line)) + 1 for line in text.splitlines() if line.strip()
    )
    return text, words


def score(model, tokenizer, text: str, words: int, p: dict, device: str) -> dict:
    ids = [tokenizer.convert_tokens_to_ids("<|endoftext|>")]
    ids += tokenizer(text)["input_ids"]
    nll = dec.token_nll(
        model, torch.tensor(ids, device=device), window=p["window"], stride=p["stride"]
    )
    total = nll.sum().item()
    return {
        "words": words,
        "tokens": len(ids) - 1,
        "nll_nats": total,
        "per_word_perplexity": math.exp(total / words),
        "per_token_perplexity": math.exp(total / (len(ids) - 1)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", default="gpu", choices=["cpu", "gpu", "smoke"])
    args = parser.parse_args(argv)
    p = presets.get("ch06-perplexity", args.profile)
    device = devices.pick_device()
    if device == "cpu":
        torch.set_num_threads(1)
    start = time.process_time()
    hf, tokenizer = llama.load_smollm2()
    model = llama.from_hf(hf).to(device)
    del hf
    result = {
        "command": COMMAND,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "device": device,
        "threads": torch.get_num_threads() if device == "cpu" else None,
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "preset": p,
        "ptb": score(model, tokenizer, *ptb_text(p["ptb_sentences"]), p, device),
        "shakespeare": score(
            model, tokenizer, *shakespeare_text(p["shakespeare_lines"]), p, device
        ),
    }
    result["cpu_seconds"] = time.process_time() - start
    if args.profile == "gpu":  # only the whole texts are recorded
        OUT.parent.mkdir(exist_ok=True)
        OUT.write_text(json.dumps(result, indent=2) + "\n")
    for name in ("ptb", "shakespeare"):
        r = result[name]
        print(
            f"{name}: {r['words']:,} words, {r['tokens']:,} tokens, "
            f"per-word perplexity {r['per_word_perplexity']:.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
