"""The `gpu` profile of chapter 3: Zaremba et al.'s (2014) medium LSTM language model
on the Penn Treebank, trained with Keras on the torch backend; writes the JSON that the
chapter reads.

Run from the repository root on a machine with a CUDA GPU (Keras on CUDA PyTorch):
    KERAS_BACKEND=torch .venv/bin/python benchmarks/lstm_gpu.py
Writes benchmarks/results/lstm_gpu.json with device, versions, date, command, preset,
epochs_run, valid_perplexity (per epoch), test_perplexity, train_seconds.
Zaremba et al. report a test perplexity of 82.7 for this model (2 x 650, dropout 0.5,
SGD lr 1 divided by 1.2 per epoch after the 6th, clipping 5, 39 epochs).
``--smoke`` runs the ``smoke`` preset on a slice of the data on the CPU (the unit test).
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")  # before keras is imported

import argparse  # noqa: E402
import datetime  # noqa: E402
import importlib.metadata  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import keras  # noqa: E402

from lmbook import data, presets, rnn  # noqa: E402
from lmbook.text import Vocab  # noqa: E402

OUT = Path(__file__).resolve().parent / "results" / "lstm_gpu.json"
EVAL_BATCH = 10


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _device() -> str:
    if keras.backend.backend() == "torch":
        import torch  # the backend's own framework, imported only to name the device

        if torch.cuda.is_available():
            return torch.cuda.get_device_name(0)
    return platform.processor() or platform.machine() or "cpu"


def evaluate(weights, model_cfg: dict, ids, bptt: int) -> float:
    """Perplexity of the weights on a whole split (state carried, batches of 10)."""
    model = rnn.lstm_lm(
        model_cfg["vocab_size"],
        batch_size=EVAL_BATCH,
        stateful=True,
        **{k: v for k, v in model_cfg.items() if k != "vocab_size"},
    )
    model.set_weights(weights)
    x, y = rnn.bptt_windows(rnn.batchify(ids, EVAL_BATCH), bptt)
    return rnn.perplexity(model, x, y, batch_size=EVAL_BATCH)


def run(profile: str, eval_tokens: int | None = None) -> dict:
    """Train the ``ch03-lstm`` preset of ``profile``; one validation score per epoch."""
    p = presets.get("ch03-lstm", profile)
    t = p["train"]
    splits = {s: data.ptb_tokens(s) for s in ("train", "valid", "test")}
    vocab = Vocab.from_sentences([splits["train"]])
    ids = {s: vocab.encode(tokens) for s, tokens in splits.items()}
    if t["train_tokens"]:
        ids["train"] = ids["train"][: t["train_tokens"]]
    if eval_tokens:
        ids["valid"], ids["test"] = (ids[s][:eval_tokens] for s in ("valid", "test"))
    cfg = {"vocab_size": len(vocab), **p["model"]}
    keras.utils.set_random_seed(0)
    model = rnn.lstm_lm(
        len(vocab), batch_size=t["batch_size"], stateful=True, **p["model"]
    )
    x, y = rnn.bptt_windows(rnn.batchify(ids["train"], t["batch_size"]), t["bptt"])
    valid, start = [], time.perf_counter()
    for epoch in range(t["epochs"]):
        one = {
            **t,
            "epochs": 1,
            "lr": t["lr"] * t["lr_decay"] ** max(0, epoch + 1 - t["decay_after"]),
        }
        rnn.train_lm(model, x, y, {**one, "lr_decay": 1.0})
        valid.append(
            round(evaluate(model.get_weights(), cfg, ids["valid"], t["bptt"]), 2)
        )
        print(f"epoch {epoch + 1}: valid perplexity {valid[-1]:.2f}", flush=True)
    seconds = time.perf_counter() - start
    test = evaluate(model.get_weights(), cfg, ids["test"], t["bptt"])
    return {
        "preset": p,
        "epochs_run": t["epochs"],
        "valid_perplexity": valid,
        "test_perplexity": round(test, 2),
        "train_seconds": round(seconds, 1),
        "reference": "Zaremba et al. (2014), medium LSTM: test perplexity 82.7",
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="tiny CPU run (the test)")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    result = run(
        "smoke" if args.smoke else "gpu", eval_tokens=2_000 if args.smoke else None
    )
    result = {
        "device": _device(),
        "backend": keras.backend.backend(),
        "versions": {
            "python": platform.python_version(),
            **{m: _version(m) for m in ("keras", "torch", "tensorflow", "numpy")},
        },
        "date": datetime.date.today().isoformat(),
        "command": "KERAS_BACKEND=torch python benchmarks/lstm_gpu.py"
        + (" --smoke" if args.smoke else ""),
        **result,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"test perplexity {result['test_perplexity']} -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
