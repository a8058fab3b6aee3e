"""benchmarks/finetune_gpu.py: the --smoke path runs on the CPU and writes the JSON."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path


def test_finetune_gpu_smoke_writes_the_json(tmp_path):
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "finetune_gpu.py"
    spec = importlib.util.spec_from_file_location("finetune_gpu", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "ft.json"
    module.main(["--smoke", "--out", str(out)])
    result = json.loads(out.read_text())
    assert result["smoke"] is True and result["preset"]["name"] == "ch07-classify"
    assert {(r["task"], r["method"]) for r in result["runs"]} == {
        (t, m) for t in ("sms", "rotten") for m in ("lora", "full")
    }
    for run in result["runs"]:
        assert 0 <= run["balanced_accuracy"] <= 1 and run["tokens_per_s"] > 0
        assert run["mfu"] > 0 and run["test_examples"] == 8
        assert run["trainable"] < run["parameters"] or run["method"] == "full"
    for key in ("device", "torch", "date", "command", "python"):
        assert result[key]
