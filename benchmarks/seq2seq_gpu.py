"""The `gpu` profile of chapter 4: larger Keras seq2seq models with attention,
Keras on the torch backend on a CUDA GPU; writes a JSON that the chapter reads.

Run from the repository root on a machine with a CUDA GPU:
    KERAS_BACKEND=torch .venv/bin/python benchmarks/seq2seq_gpu.py
Writes benchmarks/results/seq2seq_gpu.json with device, versions, date, command and, per
task (``dates``: preset ``ch04-dates``; ``translation``: preset ``ch04-translation``,
English -> French on Django's catalogues), the preset, training seconds, exact match,
BLEU and chrF (sacrebleu, with signatures) of greedy decoding.
``--smoke`` runs the same code at ``smoke`` sizes on the CPU (the unit test runs it).
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402

from lmbook import data, presets, tasks  # noqa: E402
from lmbook import seq2seq as s2s  # noqa: E402
from lmbook.text import Vocab  # noqa: E402

OUT = Path(__file__).resolve().parent / "results" / "seq2seq_gpu.json"


def _fit(model, arrays, p):
    src, tgt_in, tgt_out = arrays
    lr = p["lr"]
    if p.get("schedule") == "cosine":
        steps = p["epochs"] * -(-len(src) // p["batch_size"])
        lr = keras.optimizers.schedules.CosineDecay(lr, steps)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0)
    model.compile(optimizer=s2s.DenseAdam(lr), loss=loss)
    start = time.perf_counter()
    history = model.fit(
        (src, tgt_in),
        tgt_out,
        batch_size=p["batch_size"],
        epochs=p["epochs"],
        verbose=0,
    )
    return time.perf_counter() - start, float(history.history["loss"][-1])


def run_task(name, train, test, src_split, tgt_split, sep, preset, bidirectional):
    """Train a Bahdanau model on ``train``; score greedy outputs on ``test``."""
    keras.utils.set_random_seed(0)
    src_vocab = Vocab.from_sentences(
        [src_split(s) for s, _ in train], pad="<pad>", unk="<unk>"
    )
    tgt_vocab = Vocab.from_sentences(
        [tgt_split(t) for _, t in train],
        pad="<pad>",
        bos="<s>",
        eos="</s>",
        unk="<unk>",
    )
    bos, eos = tgt_vocab.stoi["<s>"], tgt_vocab.stoi["</s>"]

    def encode(pairs):
        src = [src_vocab.encode(src_split(s)) for s, _ in pairs]
        tgt = [tgt_vocab.encode(tgt_split(t)) for _, t in pairs]
        return s2s.make_arrays(src, tgt, bos, eos)

    model = s2s.Seq2Seq(
        len(src_vocab),
        len(tgt_vocab),
        **preset["model"],
        attention="bahdanau",
        bidirectional=bidirectional,
    )
    seconds, loss = _fit(model, encode(train), preset["train"])
    max_len = max(len(tgt_split(t)) for _, t in train) + 2
    hyps, _ = s2s.greedy_decode(model, encode(test)[0], bos, eos, max_len)
    outputs = [sep(tgt_vocab.decode(h)) for h in hyps]
    refs = [t for _, t in test]
    bleu, bleu_sig = s2s.corpus_bleu(outputs, refs)
    chrf, chrf_sig = s2s.corpus_chrf(outputs, refs)
    return {
        "task": name,
        "preset": preset,
        "train_pairs": len(train),
        "test_pairs": len(test),
        "parameters": int(model.count_params()),
        "train_seconds": round(seconds, 2),
        "final_loss": loss,
        "exact_match": s2s.exact_match(outputs, refs),
        "bleu": bleu,
        "chrf": chrf,
        "bleu_signature": bleu_sig,
        "chrf_signature": chrf_sig,
    }


def _device() -> str:
    if keras.backend.backend() == "torch":
        import torch

        if torch.cuda.is_available():
            return torch.cuda.get_device_name(0)
    return platform.processor() or platform.machine()


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes on the CPU")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    profile = "smoke" if args.smoke else "gpu"

    p = presets.get("ch04-dates", profile)
    train = tasks.date_pairs(p["train"]["n_train"], seed=1)
    seen = {s for s, _ in train}
    test = [
        x for x in tasks.date_pairs(p["train"]["n_test"], seed=2) if x[0] not in seen
    ]
    dates = run_task("dates", train, test, list, list, "".join, p, False)

    p = presets.get("ch04-translation", profile)
    n = p["train"]["max_tokens"]
    pairs = [
        (e, f)
        for e, f in data.load_django_translations(p["train"]["language"])
        if len(tasks.tokenize(e)) <= n and len(tasks.tokenize(f)) <= n
    ]
    train, test = tasks.split_pairs(pairs, 0.15, seed=0)
    translation = run_task(
        "translation",
        train,
        test,
        tasks.tokenize,
        tasks.tokenize,
        tasks.detokenize,
        p,
        True,
    )
    versions = {
        m: importlib.metadata.version(m) for m in ("keras", "numpy", "sacrebleu")
    }
    if keras.backend.backend() == "torch":
        import torch

        versions["torch"] = torch.__version__
    result = {
        "smoke": args.smoke,
        "device": _device(),
        "backend": keras.backend.backend(),
        "python": platform.python_version(),
        "versions": versions,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.argv[0]).name, *(argv or sys.argv[1:])]),
        "dates": dates,
        "translation": translation,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    return result


if __name__ == "__main__":
    main()
