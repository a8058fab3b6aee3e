"""Chapter 3's benchmark scripts: the GPU script's --smoke path on the CPU (Keras on the
torch backend, as on the GPU machine) and one short throughput measurement."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def test_lstm_gpu_smoke_writes_the_json(tmp_path):
    out = tmp_path / "lstm_gpu.json"
    env = {**os.environ, "KERAS_BACKEND": "torch"}
    done = subprocess.run(
        [sys.executable, str(BENCH / "lstm_gpu.py"), "--smoke", "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["backend"] == "torch"
    assert result["preset"]["name"] == "ch03-lstm"
    assert result["preset"]["profile"] == "smoke"
    assert {"device", "versions", "date", "command"} <= set(result)
    assert result["epochs_run"] == len(result["valid_perplexity"]) == 2
    assert 1 < result["test_perplexity"] < 10_000


def test_throughput_worker_runs():
    spec = importlib.util.spec_from_file_location(
        "lstm_throughput", BENCH / "lstm_throughput.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for impl in ("torch", "keras-torch"):
        r = module.measure(impl, 0.5)
        assert r["batches"] >= 1 and r["tokens_per_s"] > 0
        assert 1 < r["valid_perplexity"] < 20_000
