"""The `gpu` profile of chapter 7: full and LoRA fine-tuning of SmolLM2 on SMS spam and
Rotten Tomatoes snippets, written to benchmarks/results/finetune_gpu.json.

Run from the repository root on a machine with a CUDA GPU:

    python benchmarks/finetune_gpu.py

Each run (task x method) records accuracy, balanced accuracy and F1 on the whole test
split, wall time, training tokens/s, MFU (6N FLOPs per token for full fine-tuning, 4N
for LoRA, where the frozen weights need no weight gradients, against a measured bf16
matmul peak) and peak memory (``torch.cuda.max_memory_allocated``). The JSON also holds
device, versions, date, command and the preset (``ch07-classify``, profile ``gpu``).

The GPU machine of the book runs Python 3.12 with torch 2.11 and has no ``gguf``
package, so it cannot read the GGUF file. Export the dequantised weights first, on a
machine that has ``gguf`` (the book's environment):

    python benchmarks/finetune_gpu.py --export-weights smollm2-export

This writes ``config.json``, safetensors shards of at most 60 MB (so that each fits a
64 MiB transfer) and the tokenizer files; then, on the GPU machine:

    python benchmarks/finetune_gpu.py --weights smollm2-export

``--smoke`` runs the same code on the CPU with a tiny random LLaMA and byte ids (what
the test suite runs).
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from lmbook import data, presets
from lmbook import finetune as ft
from lmbook import train as lt

OUT = Path(__file__).resolve().parent / "results" / "finetune_gpu.json"
LINEARS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def encoder(tok, max_len: int):
    """Text -> chat-formatted yes/no question ids (the chapter's prompt)."""
    if tok is None:
        return lambda task, text: torch.tensor(ft.byte_ids(text, max_len))

    def encode(task: str, text: str) -> torch.Tensor:
        return torch.tensor(ft.classification_prompt(tok, task, text, max_len=max_len))

    return encode


def run_one(lm, encode, task, method, p, device, dtype, peak) -> dict:
    load = {"sms": data.load_sms_spam, "rotten": data.load_rotten_tomatoes}[task]
    train = ft.balanced_sample(load("train"), p["train_per_class"], 0)
    test = ft.balanced_sample(load("test"), p["test_per_class"], 1)
    x_tr = [encode(task, t) for t, _ in train]
    x_te = [encode(task, t) for t, _ in test]
    y_tr = torch.tensor([y for _, y in train])
    torch.manual_seed(0)
    if method == "lora":
        ft.add_lora(lm, LINEARS, r=p["lora_rank"])
    else:
        lm.requires_grad_(True)
    clf = ft.ClassifierOnLastToken(lm.model, lm.config.hidden_size, 2).to(device)
    n_params = ft.count_parameters(clf)
    optimizer = lt.configure_optimizer(
        clf, lr=p["lr"][method], weight_decay=0.0, fused=p.get("fused", False)
    )
    step = torch.compile(clf) if p.get("compile") else clf
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    g, tokens = torch.Generator().manual_seed(0), 0
    lt.synchronize(device)
    start = time.perf_counter()
    clf.train()
    for _ in range(p["epochs"]):
        for idx in torch.randperm(len(x_tr), generator=g).split(p["batch_size"]):
            batch, lengths = ft.collate([x_tr[i] for i in idx])
            ids = batch["input_ids"].to(device)
            with lt.autocast(device, dtype):
                logits = step(input_ids=ids, lengths=lengths)
            loss = F.cross_entropy(logits.float(), y_tr[idx].to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            tokens += int(lengths.sum())
    lt.synchronize(device)
    seconds = time.perf_counter() - start
    clf.eval()
    preds = []
    with torch.no_grad(), lt.autocast(device, dtype):
        for i in range(0, len(x_te), 64):
            batch, lengths = ft.collate(x_te[i : i + 64])
            preds.append(clf(batch["input_ids"].to(device), lengths).argmax(-1).cpu())
    metrics = ft.classification_metrics([y for _, y in test], torch.cat(preds).numpy())
    flops_per_token = (6 if method == "full" else 4) * n_params["total"]
    peak_mem = torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else None
    ft.remove_lora(lm)
    return {
        "task": task,
        "method": method,
        **metrics,
        "train_examples": len(train),
        "test_examples": len(test),
        "seconds": seconds,
        "tokens_per_s": tokens / seconds,
        "mfu": flops_per_token * tokens / seconds / peak,
        "peak_memory_gib": peak_mem,
        "trainable": n_params["trainable"],
        "parameters": n_params["total"],
    }


def export_weights(folder: Path) -> Path:
    """Dequantise the GGUF model once and save it as safetensors shards + tokenizer."""
    lm, tok = ft.load_smollm2()
    folder.mkdir(parents=True, exist_ok=True)
    lm.save_pretrained(folder, max_shard_size="60MB")
    tok.save_pretrained(folder)
    return folder


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny model on the CPU")
    parser.add_argument("--weights", default=None, help="folder from --export-weights")
    parser.add_argument("--export-weights", default=None, metavar="FOLDER")
    parser.add_argument("--tasks", default="sms,rotten")
    parser.add_argument("--methods", default="lora,full")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    if args.export_weights:
        print("exported to", export_weights(Path(args.export_weights)))
        return {}
    if not args.smoke and not torch.cuda.is_available():
        raise SystemExit(
            "no CUDA GPU here: use --smoke on a CPU, or run on a GPU machine"
        )
    profile = "smoke" if args.smoke else "gpu"
    p = presets.get("ch07-classify", profile)
    device = "cpu" if args.smoke else "cuda"
    dtype = p.get("dtype")
    peak = lt.matmul_flops(
        128 if args.smoke else 8192,
        device=device,
        dtype=torch.float32 if args.smoke else torch.bfloat16,
        repeats=3 if args.smoke else 50,
    )
    result = {
        "device": "CPU (smoke test)" if args.smoke else torch.cuda.get_device_name(0),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": __import__("transformers").__version__,
        "date": datetime.date.today().isoformat(),
        "command": " ".join([Path(sys.argv[0]).name, *(argv or sys.argv[1:])]),
        "preset": p,
        "smoke": args.smoke,
        "peak_flops": peak,
        "runs": [],
    }
    for task in args.tasks.split(","):
        for method in args.methods.split(","):
            if args.smoke:
                lm, tok = ft.tiny_llama(seed=0), None
            else:
                lm, tok = ft.load_smollm2(args.weights)
            lm = lm.to(device)
            run = run_one(
                lm, encoder(tok, p["max_len"]), task, method, p, device, dtype, peak
            )
            print(
                json.dumps({k: v for k, v in run.items() if k != "confusion"}),
                flush=True,
            )
            result["runs"].append(run)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    return result


if __name__ == "__main__":
    main()
