"""Training a language model: batches, the AdamW optimizer with warm-up + cosine
schedule, gradient clipping, held-out evaluation and atomic, resumable checkpoints
(chapter 5; reused by later chapters).

The loop follows nanoGPT's ``train.py`` (Karpathy, 2022) in a form that can be called
from a notebook: ``history = train(model, train_ids, val_ids, TrainConfig(...))``."""

from __future__ import annotations

import math
import os
import random
import tempfile
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = [
    "get_batch",
    "WarmupCosine",
    "configure_optimizer",
    "autocast",
    "evaluate",
    "TrainConfig",
    "save_checkpoint",
    "load_checkpoint",
    "train",
    "synchronize",
    "matmul_flops",
]


# ------------------------------------------------------------------------------ batches
def get_batch(
    data: torch.Tensor,
    batch_size: int,
    context_length: int,
    *,
    generator: torch.Generator | None = None,
    device: str | torch.device = "cpu",
):
    """Random windows of a 1-D id tensor: inputs ``x (B, T)`` and next-token targets
    ``y (B, T)``."""
    if not isinstance(data, torch.Tensor) or data.ndim != 1:
        raise TypeError("data must be a 1-D tensor of token ids")
    for name, value in (("batch_size", batch_size), ("context_length", context_length)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if len(data) < context_length + 1:
        raise ValueError(
            f"data has {len(data)} tokens, fewer than context_length + 1 = "
            f"{context_length + 1}"
        )
    starts = torch.randint(
        len(data) - context_length, (batch_size,), generator=generator
    )
    offsets = torch.arange(context_length)
    x = data[starts[:, None] + offsets]
    y = data[starts[:, None] + offsets + 1]
    return x.to(device, non_blocking=True), y.to(device, non_blocking=True)


# ----------------------------------------------------------------------------- schedule
@dataclass
class WarmupCosine:
    """Learning-rate multiplier: linear warm-up from 0 to 1 over ``warmup_steps``, then
    a cosine decay to ``min_ratio`` at ``max_steps`` (and flat after). Use with
    :class:`torch.optim.lr_scheduler.LambdaLR`."""

    warmup_steps: int
    max_steps: int
    min_ratio: float = 0.1

    def __post_init__(self) -> None:
        if not 0 <= self.warmup_steps <= self.max_steps or self.max_steps < 1:
            raise ValueError(
                f"need 0 <= warmup_steps <= max_steps and max_steps >= 1, got "
                f"warmup_steps={self.warmup_steps}, max_steps={self.max_steps}"
            )
        if not 0.0 <= self.min_ratio <= 1.0:
            raise ValueError(f"min_ratio must be in [0, 1], got {self.min_ratio}")

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return (step + 1) / (self.warmup_steps + 1)
        if step >= self.max_steps:
            return self.min_ratio
        progress = (step - self.warmup_steps) / max(
            1, self.max_steps - self.warmup_steps
        )
        return self.min_ratio + 0.5 * (1.0 - self.min_ratio) * (
            1.0 + math.cos(math.pi * progress)
        )


def configure_optimizer(
    model: nn.Module,
    *,
    lr: float,
    weight_decay: float = 0.1,
    betas: tuple[float, float] = (0.9, 0.95),
    fused: bool | None = None,
) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices only (not on biases, LayerNorm gains);
    ``fused`` uses the fused CUDA kernel (default: when the parameters are on a GPU)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr}")
    if weight_decay < 0:
        raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
    params = [
        p for p in model.parameters() if p.requires_grad
    ]  # tied weights appear once
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    if fused is None:
        fused = bool(params) and params[0].is_cuda
    groups = [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=lr, betas=betas, fused=fused)


# --------------------------------------------------------------------------- evaluation
def autocast(device: str, dtype: str | None):
    """``torch.autocast`` for ``dtype`` ``"bf16"``/``"fp16"`` on ``device``'s type; a
    no-op context for ``None``."""
    if dtype is None:
        return nullcontext()
    return torch.autocast(
        device_type=torch.device(device).type,
        dtype={"bf16": torch.bfloat16, "fp16": torch.float16}[dtype],
    )


@torch.no_grad()
def evaluate(
    model: nn.Module,
    data: torch.Tensor,
    context_length: int,
    *,
    batch_size: int = 32,
    max_tokens: int | None = None,
    device: str | torch.device = "cpu",
    dtype: str | None = None,
) -> float:
    """Mean next-token cross-entropy (nats/token) of ``model`` over ``data`` cut into
    consecutive, non-overlapping windows of ``context_length`` (deterministic: no
    sampling). ``max_tokens`` evaluates only the first that many tokens. The model must
    return ``(logits, loss)`` given ``(x, y)``."""
    if not isinstance(data, torch.Tensor) or data.ndim != 1:
        raise TypeError("data must be a 1-D tensor of token ids")
    if (
        isinstance(context_length, bool)
        or not isinstance(context_length, int)
        or context_length < 1
    ):
        raise ValueError(
            f"context_length must be a positive int, got {context_length!r}"
        )
    if max_tokens is not None:
        if max_tokens < context_length + 1:
            raise ValueError(
                f"max_tokens must be at least context_length + 1, got {max_tokens}"
            )
        data = data[:max_tokens]
    n_windows = (len(data) - 1) // context_length
    if n_windows < 1:
        raise ValueError(
            f"data has {len(data)} tokens, fewer than context_length + 1 = "
            f"{context_length + 1}"
        )
    inputs = data[: n_windows * context_length].view(n_windows, context_length)
    targets = data[1 : n_windows * context_length + 1].view(n_windows, context_length)
    was_training = model.training
    model.eval()
    total = 0.0
    try:
        for i in range(0, n_windows, batch_size):
            x, y = (
                inputs[i : i + batch_size].to(device),
                targets[i : i + batch_size].to(device),
            )
            with autocast(str(device), dtype):
                _, loss = model(x, y)
            total += loss.item() * x.numel()
    finally:
        model.train(was_training)
    return total / (n_windows * context_length)


# --------------------------------------------------------------------------- checkpoint
def _rng_states(generator: torch.Generator | None) -> dict[str, Any]:
    return {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "batches": generator.get_state() if generator is not None else None,
    }


def _set_rng_states(states: dict[str, Any], generator: torch.Generator | None) -> None:
    random.setstate(states["python"])
    np.random.set_state(states["numpy"])
    torch.set_rng_state(states["torch"])
    if states["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
    if generator is not None and states["batches"] is not None:
        generator.set_state(states["batches"])


def save_checkpoint(
    path: str | os.PathLike,
    *,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any = None,
    step: int = 0,
    generator: torch.Generator | None = None,
    **extra: Any,
) -> Path:
    """Write model, optimizer, scheduler, step, every RNG state and ``extra`` items to
    ``path`` atomically: into a temporary file in the same folder first, then
    :func:`os.replace` (a crash never leaves a torn file)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "step": int(step),
        "rng": _rng_states(generator),
        "extra": extra,
    }
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def load_checkpoint(
    path: str | os.PathLike,
    *,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any = None,
    generator: torch.Generator | None = None,
    restore_rng: bool = True,
) -> dict[str, Any]:
    """Restore what :func:`save_checkpoint` wrote into the given objects; return
    ``{"step": ..., **extra}``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    state = torch.load(path, map_location="cpu", weights_only=False)
    model.load_state_dict(state["model"])
    if optimizer is not None and state["optimizer"] is not None:
        optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None and state["scheduler"] is not None:
        scheduler.load_state_dict(state["scheduler"])
    if restore_rng:
        _set_rng_states(state["rng"], generator)
    return {"step": state["step"], **state["extra"]}


# ----------------------------------------------------------------------------- training
@dataclass
class TrainConfig:
    """Settings of :func:`train`. ``dtype="bf16"`` trains under autocast; ``compile``
    wraps the model in :func:`torch.compile`; ``max_seconds`` stops early when the wall
    clock runs out (not reproducible)."""

    max_steps: int = 1000
    batch_size: int = 16
    context_length: int = 64
    lr: float = 1e-3
    min_lr_ratio: float = 0.1
    warmup_steps: int = 50
    weight_decay: float = 0.1
    betas: tuple[float, float] = (0.9, 0.95)
    grad_clip: float | None = 1.0
    eval_interval: int = 200
    eval_tokens: int | None = 20_000
    eval_batch_size: int = 32
    log_interval: int = 1
    checkpoint_path: str | None = None
    checkpoint_interval: int | None = None
    seed: int = 0
    device: str = "cpu"
    dtype: str | None = None
    compile: bool = False
    fused: bool | None = None
    max_seconds: float | None = None

    def __post_init__(self) -> None:
        for name in (
            "max_steps",
            "batch_size",
            "context_length",
            "eval_interval",
            "eval_batch_size",
            "log_interval",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if not 0 <= self.warmup_steps <= self.max_steps:
            raise ValueError(
                f"warmup_steps must be in [0, max_steps], got {self.warmup_steps}"
            )
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        if self.grad_clip is not None and not self.grad_clip > 0:
            raise ValueError(
                f"grad_clip must be positive or None, got {self.grad_clip}"
            )
        if self.dtype not in (None, "bf16", "fp16"):
            raise ValueError(
                f"dtype must be None, 'bf16' or 'fp16', got {self.dtype!r}"
            )
        if self.checkpoint_interval is not None and self.checkpoint_path is None:
            raise ValueError("checkpoint_interval needs a checkpoint_path")


def train(
    model: nn.Module,
    train_data: torch.Tensor,
    val_data: torch.Tensor | None,
    config: TrainConfig,
    *,
    resume: bool = False,
    callback: Callable[[int, dict], None] | None = None,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Train ``model`` (returning ``(logits, loss)`` from ``(x, y)``) on random windows
    of ``train_data``.

    Seeds PyTorch with ``config.seed`` and draws batches from a generator of its own, so
    a run is reproducible. AdamW (:func:`configure_optimizer`) with
    :class:`WarmupCosine`, gradient clipping, evaluation on ``val_data`` every
    ``eval_interval`` steps and at the end, checkpoints every ``checkpoint_interval``
    steps and at the end. ``resume=True`` continues from ``config.checkpoint_path`` if
    it exists, reproducing the uninterrupted run exactly (same batches, same dropout
    masks). ``callback(step, history)`` runs after each step. Returns the history:
    ``step``/``train_loss``/``lr`` every ``log_interval`` steps,
    ``eval_step``/``val_loss``, ``tokens``, ``seconds`` and ``tokens_per_s`` (of this
    call)."""
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}")
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    c = config
    torch.manual_seed(c.seed)
    model.to(c.device)
    generator = torch.Generator().manual_seed(c.seed)
    optimizer = configure_optimizer(
        model, lr=c.lr, weight_decay=c.weight_decay, betas=c.betas, fused=c.fused
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, WarmupCosine(c.warmup_steps, c.max_steps, c.min_lr_ratio)
    )
    history: dict[str, Any] = {
        "step": [],
        "train_loss": [],
        "lr": [],
        "eval_step": [],
        "val_loss": [],
    }
    start = 0
    if resume and c.checkpoint_path and Path(c.checkpoint_path).is_file():
        saved = load_checkpoint(
            c.checkpoint_path,
            model=model,
            optimizer=optimizer,
            scheduler=scheduler,
            generator=generator,
        )
        start, history = saved["step"], saved["history"]
        if log:
            log(f"resumed from {c.checkpoint_path} at step {start}")
    step_fn = torch.compile(model) if c.compile else model

    def run_eval(step: int) -> None:
        if val_data is None:
            return
        loss = evaluate(
            model,
            val_data,
            c.context_length,
            batch_size=c.eval_batch_size,
            max_tokens=c.eval_tokens,
            device=c.device,
            dtype=c.dtype,
        )
        history["eval_step"].append(step)
        history["val_loss"].append(loss)
        if log:
            log(f"step {step:5d}  held-out loss {loss:.2f}")

    def checkpoint(step: int) -> None:
        if c.checkpoint_path:
            save_checkpoint(
                c.checkpoint_path,
                model=model,
                optimizer=optimizer,
                scheduler=scheduler,
                step=step,
                generator=generator,
                history=history,
                config=asdict(c),
            )

    model.train()
    t0 = time.perf_counter()
    tokens = 0
    step = start
    for step in range(start, c.max_steps):
        x, y = get_batch(
            train_data,
            c.batch_size,
            c.context_length,
            generator=generator,
            device=c.device,
        )
        with autocast(c.device, c.dtype):
            _, loss = step_fn(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if c.grad_clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), c.grad_clip)
        optimizer.step()
        scheduler.step()
        tokens += x.numel()
        done = step + 1
        if done % c.log_interval == 0 or done == c.max_steps:
            history["step"].append(done)
            history["train_loss"].append(loss.item())
            history["lr"].append(optimizer.param_groups[0]["lr"])
        if done % c.eval_interval == 0 and done != c.max_steps:
            run_eval(done)
        if (
            c.checkpoint_interval
            and done % c.checkpoint_interval == 0
            and done != c.max_steps
        ):
            checkpoint(done)
        if callback is not None:
            callback(done, history)
        if c.max_seconds is not None and time.perf_counter() - t0 > c.max_seconds:
            if log:
                log(f"time budget of {c.max_seconds:.0f} s reached at step {done}")
            break
    else:
        done = max(start, c.max_steps)
    seconds = time.perf_counter() - t0
    if not history["eval_step"] or history["eval_step"][-1] != done:
        run_eval(done)
    checkpoint(done)
    history.update(
        tokens=tokens,
        seconds=seconds,
        tokens_per_s=tokens / seconds if seconds > 0 else float("nan"),
        final_step=done,
    )
    return history


# --------------------------------------------------------------------------- efficiency
def synchronize(device: str) -> None:
    """Wait for queued GPU work, so that a wall-clock timing covers it (a no-op on the
    CPU)."""
    if device == "cuda":
        torch.cuda.synchronize()


def matmul_flops(
    n: int = 1024,
    *,
    device: str = "cpu",
    dtype: torch.dtype = torch.float32,
    repeats: int = 5,
    trials: int = 3,
) -> float:
    """Achieved FLOP/s of an ``n`` x ``n`` by ``n`` x ``n`` matrix product, the best of
    ``trials`` timings of ``repeats`` products: the measured peak that model FLOPs
    utilisation (MFU) is reported against."""
    for name, value in (("n", n), ("repeats", repeats), ("trials", trials)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    a @ b  # warm-up
    best = 0.0
    for _ in range(trials):
        synchronize(device)
        start = time.perf_counter()
        for _ in range(repeats):
            a @ b
        synchronize(device)
        best = max(best, 2 * n**3 * repeats / (time.perf_counter() - start))
    return best
