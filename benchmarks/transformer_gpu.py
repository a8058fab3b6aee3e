"""The `gpu` profile of chapter 5: train and time lmbook.transformer on a CUDA GPU and
write a JSON that the chapter reads.

Run from the repository root on a machine with a CUDA GPU:
    .venv/bin/python benchmarks/transformer_gpu.py
Writes benchmarks/results/transformer_gpu.json with
    device, torch, date, command, peak_bf16_tflops (measured with a large bf16 matmul),
    char:       nanoGPT's Shakespeare size (6 layers, 6 heads, d=384, context 256,
                dropout 0.2) trained for as many steps (at most nanoGPT's 5000) as fit
                in --char-seconds at the throughput timed beforehand: steps,
                train_seconds (wall clock, compilation and evaluations included),
                val_loss (the whole held-out split), tokens_per_s and mfu (of the timed
                steps), peak_memory_gb;
    gpt2_small: a GPT-2-small-sized model (12 layers, 12 heads, d=768, context 1024,
                vocabulary padded to 50,304) on random tokens: bf16 autocast, SDPA
                (flash) attention, torch.compile, fused AdamW; tokens_per_s, mfu
                against the measured peak, peak_memory_gb;
    ptb:        a word-level PTB model (6 layers, d=384, context 128): test_perplexity.
MFU = (6N + 12·L·T·d) · tokens/s / peak, with the FLOP count of GPT.flops_per_token
(Chowdhery et al., 2022). `--smoke` runs every part at tiny sizes on the CPU (float32,
no compile) and is what the unit test runs.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import platform
import sys
import time
from pathlib import Path

import torch

from lmbook import data, presets
from lmbook import train as tr
from lmbook import transformer as tfm
from lmbook.text import Vocab

OUT = Path(__file__).resolve().parent / "results" / "transformer_gpu.json"


def throughput(
    model: tfm.GPT, config: tr.TrainConfig, *, warmup: int, steps: int, vocab_size: int
) -> dict:
    """Tokens/s and peak memory of training steps on random tokens (forward, backward,
    clip, AdamW step)."""
    device = config.device
    model.to(device).train()
    optimizer = tr.configure_optimizer(
        model,
        lr=config.lr,
        weight_decay=config.weight_decay,
        betas=config.betas,
        fused=config.fused,
    )
    step_fn = torch.compile(model) if config.compile else model
    g = torch.Generator().manual_seed(0)
    batch = torch.randint(
        vocab_size, (config.batch_size, config.context_length + 1), generator=g
    ).to(device)
    x, y = batch[:, :-1], batch[:, 1:]
    ctx = tr.autocast(device, config.dtype)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    for i in range(warmup + steps):
        if i == warmup:
            tr.synchronize(device)
            start = time.perf_counter()
        with ctx:
            _, loss = step_fn(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
    tr.synchronize(device)
    seconds = time.perf_counter() - start
    tokens_per_s = steps * x.numel() / seconds
    peak_memory = (
        torch.cuda.max_memory_allocated() / 1e9 if device == "cuda" else float("nan")
    )
    return {
        "tokens_per_s": tokens_per_s,
        "peak_memory_gb": peak_memory,
        "timed_steps": steps,
        "final_loss": loss.item(),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--smoke", action="store_true", help="tiny sizes on the CPU (for the unit test)"
    )
    parser.add_argument(
        "--out", type=Path, default=OUT, help=f"where to write the JSON (default {OUT})"
    )
    parser.add_argument(
        "--char-seconds",
        type=float,
        default=180.0,
        help="wall-clock budget of the char run",
    )
    parser.add_argument(
        "--gpt2-batch",
        type=int,
        default=16,
        help="GPT-2-small micro-batch (sequences of 1024)",
    )
    args = parser.parse_args(argv)
    smoke = args.smoke
    if not smoke and not torch.cuda.is_available():
        raise SystemExit(
            "no CUDA GPU here: run with --smoke for the CPU check, "
            "or on a machine with a GPU"
        )
    device = "cpu" if smoke else "cuda"
    dtype = None if smoke else "bf16"
    if device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    torch.manual_seed(0)
    result: dict = {
        "device": "CPU (smoke test)" if smoke else torch.cuda.get_device_name(0),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "date": datetime.date.today().isoformat(),
        "command": " ".join(
            [
                "python",
                "benchmarks/transformer_gpu.py",
                *(sys.argv[1:] if argv is None else argv),
            ]
        ),
        "smoke": smoke,
    }
    peak = tr.matmul_flops(
        128 if smoke else 8192,
        device=device,
        dtype=torch.float32 if smoke else torch.bfloat16,
        repeats=3 if smoke else 50,
    )
    result["peak_bf16_tflops"] = peak / 1e12
    print(f"measured matmul peak: {peak / 1e12:.1f} TFLOP/s", flush=True)

    profile = "smoke" if smoke else "gpu"
    run = {"device": device, "dtype": dtype, "compile": not smoke, "fused": not smoke}

    # ---- character-level Shakespeare at nanoGPT's size, limited by wall clock
    text_train, text_val = (
        data.load_shakespeare("train"),
        data.load_shakespeare("validation"),
    )
    if smoke:
        text_train, text_val = text_train[:20_000], text_val[:4_000]
    chars = Vocab.from_text(text_train + text_val)
    train_ids = torch.from_numpy(chars.encode(text_train))
    val_ids = torch.from_numpy(chars.encode(text_val))
    char_preset = presets.get("ch05-char", profile)
    char_cfg = tfm.GPTConfig(vocab_size=len(chars), **char_preset["model"])

    def char_train_config(max_steps: int) -> tr.TrainConfig:
        settings = {**char_preset["train"], **run, "max_steps": max_steps}
        if not smoke:
            settings["max_seconds"] = 2 * args.char_seconds
        return tr.TrainConfig(**settings)

    # time the training step first, then give the run as many steps (at most the
    # preset's) as fit in the budget, so that its cosine schedule completes;
    # max_seconds is only a safety net
    probe = char_train_config(char_preset["train"]["max_steps"])
    timing = throughput(
        tfm.GPT(char_cfg),
        probe,
        warmup=2 if smoke else 10,
        steps=3 if smoke else 50,
        vocab_size=len(chars),
    )
    steps_per_s = timing["tokens_per_s"] / (probe.batch_size * probe.context_length)
    budget_steps = int(0.9 * args.char_seconds * steps_per_s)
    char_train = char_train_config(
        probe.max_steps if smoke else min(probe.max_steps, budget_steps)
    )
    torch.manual_seed(0)
    char_model = tfm.GPT(char_cfg)
    hist = tr.train(char_model, train_ids, val_ids, char_train, log=print)
    result["char"] = {
        "preset": char_preset,
        "config": char_cfg.to_dict(),
        "batch_size": char_train.batch_size,
        "steps": hist["final_step"],
        "train_seconds": hist["seconds"],
        "budget_seconds": args.char_seconds,
        "val_loss": hist["val_loss"][-1],
        "val_history": list(zip(hist["eval_step"], hist["val_loss"])),
        "tokens_per_s": timing["tokens_per_s"],
        "peak_memory_gb": timing["peak_memory_gb"],
        "mfu": char_model.flops_per_token() * timing["tokens_per_s"] / peak,
        "parameters": char_model.num_parameters(),
    }
    print(
        f"char: held-out loss {result['char']['val_loss']:.3f} "
        f"after {hist['seconds']:.0f} s, "
        f"{timing['tokens_per_s']:,.0f} tokens/s, MFU {result['char']['mfu']:.1%}",
        flush=True,
    )
    del char_model

    # ---- GPT-2-small-sized throughput
    gpt2_preset = presets.get("ch05-gpt2-small", profile)
    gpt2_cfg = tfm.GPTConfig(**gpt2_preset["model"])
    gpt2_settings = {**gpt2_preset["train"], **run}
    if not smoke:
        gpt2_settings["batch_size"] = args.gpt2_batch
    gpt2_train = tr.TrainConfig(**gpt2_settings)
    torch.manual_seed(0)
    gpt2 = tfm.GPT(gpt2_cfg)
    timing = throughput(
        gpt2,
        gpt2_train,
        warmup=2 if smoke else 15,
        steps=3 if smoke else 50,
        vocab_size=gpt2_cfg.vocab_size,
    )
    result["gpt2_small"] = {
        "preset": gpt2_preset,
        "config": gpt2_cfg.to_dict(),
        "batch_size": gpt2_train.batch_size,
        "parameters": gpt2.num_parameters(),
        "flops_per_token": gpt2.flops_per_token(),
        **timing,
        "mfu": gpt2.flops_per_token() * timing["tokens_per_s"] / peak,
    }
    print(
        f"GPT-2 small: {timing['tokens_per_s']:,.0f} tokens/s, "
        f"MFU {result['gpt2_small']['mfu']:.1%}, "
        f"peak memory {timing['peak_memory_gb']:.1f} GB",
        flush=True,
    )
    del gpt2

    # ---- word-level PTB
    ptb = {s: data.ptb_tokens(s) for s in ("train", "valid", "test")}
    if smoke:
        ptb = {s: t[:3000] for s, t in ptb.items()}
    words = Vocab(sorted(set(ptb["train"])), unk="<unk>")
    ids = {s: torch.from_numpy(words.encode(t)) for s, t in ptb.items()}
    ptb_preset = presets.get("ch05-ptb", profile)
    ptb_cfg = tfm.GPTConfig(vocab_size=len(words), **ptb_preset["model"])
    ptb_train = tr.TrainConfig(**{**ptb_preset["train"], **run})
    torch.manual_seed(0)
    ptb_model = tfm.GPT(ptb_cfg)
    hist = tr.train(ptb_model, ids["train"], ids["valid"], ptb_train, log=print)
    test_loss = tr.evaluate(
        ptb_model, ids["test"], ptb_cfg.context_length, device=device, dtype=dtype
    )
    result["ptb"] = {
        "preset": ptb_preset,
        "config": ptb_cfg.to_dict(),
        "steps": hist["final_step"],
        "train_seconds": hist["seconds"],
        "valid_perplexity": math.exp(hist["val_loss"][-1]),
        "test_perplexity": math.exp(test_loss),
    }
    print(f"PTB: test perplexity {result['ptb']['test_perplexity']:.1f}", flush=True)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
