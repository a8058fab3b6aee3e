"""Training throughput of chapter 3's LSTM language model on this CPU: Keras on
TensorFlow, Keras on torch and plain ``torch.nn.LSTM``, one thread each, same sizes
(the ``ch03-lstm`` cpu preset: embedding 64, one LSTM of 64 units, 10,000-word softmax,
batches of 10 x 20 tokens, Adam, clipping 5), and the validation perplexity each reaches
in the same wall-clock time.

    python benchmarks/lstm_throughput.py [--seconds 20]

Each implementation runs in its own process (one framework per process); the ratios
come from one run. Writes benchmarks/results/lstm_throughput.{json,md}.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
IMPLEMENTATIONS = ("keras-tensorflow", "keras-torch", "torch")
VALID_TOKENS = 20_000
WARMUP_BATCHES = 5

WORKER = (
    r"""
import json, sys, time
impl, seconds = sys.argv[1], float(sys.argv[2])
import numpy as np
from lmbook import data, presets
from lmbook.text import Vocab
p = presets.get("ch03-lstm", "cpu")
m, t = p["model"], p["train"]
train = data.ptb_tokens("train")
vocab = Vocab.from_sentences([train])
ids = vocab.encode(train)
valid = vocab.encode(data.ptb_tokens("valid"))[:int(sys.argv[3])]
B, T, V, D = t["batch_size"], t["bptt"], len(vocab), m["d_model"]


def windows(stream):
    rows = stream[: len(stream) // B * B].reshape(B, -1)
    n = (rows.shape[1] - 1) // T
    for k in range(n):
        yield rows[:, k * T:(k + 1) * T], rows[:, k * T + 1:(k + 1) * T + 1]


if impl.startswith("keras"):
    import os
    if impl == "keras-tensorflow":
        import tensorflow as tf
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    else:
        import torch
        torch.set_num_threads(1)
    import keras
    from lmbook import rnn
    keras.utils.set_random_seed(0)
    model = rnn.lstm_lm(V, batch_size=B, stateful=True, **m)
    model.compile(keras.optimizers.Adam(t["lr"], global_clipnorm=t["clipnorm"]),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    step = lambda x, y: model.train_on_batch(x.astype("int32"), y)

    def score():
        rnn.reset_states(model)
        nll, n = 0.0, 0
        for x, y in windows(valid):
            logits = model.predict_on_batch(x.astype("int32"))
            logits = keras.ops.convert_to_numpy(logits)
            z = logits - logits.max(-1, keepdims=True)
            logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
            nll -= np.take_along_axis(logp, y[..., None], -1).sum()
            n += y.size
        return float(np.exp(nll / n))
else:
    import torch
    from torch import nn
    torch.set_num_threads(1)
    torch.manual_seed(0)

    class LM(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb, self.lstm = nn.Embedding(V, D), nn.LSTM(D, D, batch_first=True)
            self.out = nn.Linear(D, V)

        def forward(self, x, state):
            h, state = self.lstm(self.emb(x), state)
            return self.out(h), state

    net = LM()
    opt = torch.optim.Adam(net.parameters(), lr=t["lr"])
    state = [None]

    def step(x, y):
        logits, s = net(torch.from_numpy(x), state[0])
        state[0] = tuple(v.detach() for v in s)
        target = torch.from_numpy(y).reshape(-1)
        loss = nn.functional.cross_entropy(logits.reshape(-1, V), target)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(net.parameters(), t["clipnorm"])
        opt.step()

    @torch.no_grad()
    def score():
        s, nll, n = None, 0.0, 0
        for x, y in windows(valid):
            logits, s = net(torch.from_numpy(x), s)
            target = torch.from_numpy(y).reshape(-1)
            nll += nn.functional.cross_entropy(
                logits.reshape(-1, V), target, reduction="sum").item()
            n += y.size
        return float(np.exp(nll / n))

batches = windows(ids)
for _ in range("""
    + str(WARMUP_BATCHES)
    + r"""):  # compile / allocate first
    step(*next(batches))
done, start, cpu = 0, time.perf_counter(), time.process_time()
while time.perf_counter() - start < seconds:
    step(*next(batches))
    done += 1
wall, cpu = time.perf_counter() - start, time.process_time() - cpu
print(json.dumps({"batches": done, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
                  "tokens_per_s": round(done * B * T / wall, 1),
                  "tokens_per_cpu_s": round(done * B * T / cpu, 1),
                  "valid_perplexity": round(score(), 2)}))
"""
)


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def measure(impl: str, seconds: float) -> dict:
    """Run one implementation in a fresh process and return its measurements."""
    backend = impl.removeprefix("keras-") if impl.startswith("keras") else "torch"
    env = {**os.environ, "KERAS_BACKEND": backend, "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", WORKER, impl, str(seconds), str(VALID_TOKENS)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600 + 10 * seconds,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{impl} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0, help="training wall time")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    runs = {impl: measure(impl, args.seconds) for impl in IMPLEMENTATIONS}
    base = runs["torch"]["tokens_per_s"]
    for r in runs.values():
        r["speed_vs_torch"] = round(r["tokens_per_s"] / base, 3)
    from lmbook import presets

    result = {
        "runs": runs,
        "preset": presets.get("ch03-lstm", "cpu"),
        "seconds": args.seconds,
        "valid_tokens": VALID_TOKENS,
        "threads": 1,
        "machine": platform.processor() or platform.machine(),
        "versions": {
            "python": platform.python_version(),
            **{m: _version(m) for m in ("keras", "tensorflow", "torch", "numpy")},
        },
        "date": datetime.date.today().isoformat(),
        "command": "python benchmarks/lstm_throughput.py"
        + ("" if args.seconds == 20.0 else f" --seconds {args.seconds:g}"),
        "note": "wall-clock rates on a shared machine are noisy; tokens per CPU second "
        "are the steadier figure",
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "lstm_throughput.json").write_text(json.dumps(result, indent=1) + "\n")
    lines = [
        "# LSTM language model: training throughput on this CPU (1 thread)",
        "",
        f"`{result['command']}` ({result['date']}; preset ch03-lstm/cpu: "
        f"{args.seconds:g} s of training each, then validation perplexity on "
        f"{VALID_TOKENS:,} tokens)",
        "",
        "| implementation | tokens/s | tokens/CPU-s | vs torch.nn.LSTM "
        "| valid perplexity at equal time |",
        "|---|---|---|---|---|",
    ]
    for impl, r in runs.items():
        lines.append(
            f"| {impl} | {r['tokens_per_s']:,.0f} | {r['tokens_per_cpu_s']:,.0f} "
            f"| {r['speed_vs_torch']:.2f}x | {r['valid_perplexity']:.1f} |"
        )
    (args.out / "lstm_throughput.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
