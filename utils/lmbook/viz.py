"""The book's plot style and plotting helpers that accept NumPy, PyTorch or TensorFlow
arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["BOOK_STYLE", "use_book_style", "to_numpy", "heatmap"]

BOOK_STYLE: dict[str, Any] = {
    "figure.figsize": (6.4, 4.0),
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": __import__("cycler").cycler(
        color=[
            "#1f77b4",
            "#d62728",
            "#2ca02c",
            "#ff7f0e",
            "#9467bd",
            "#8c564b",
            "#17becf",
            "#7f7f7f",
        ]
    ),
    "image.cmap": "viridis",
    "legend.frameon": False,
}


def use_book_style() -> None:
    """Apply the book's matplotlib style (small figures, light grid, no top/right
    spines).
    """
    import matplotlib as mpl

    mpl.rcParams.update(BOOK_STYLE)


def to_numpy(x: Any) -> np.ndarray:
    """Convert a NumPy array, PyTorch tensor, TensorFlow/Keras tensor or nested list to
    a NumPy array.
    """
    if isinstance(x, np.ndarray):
        return x
    module = type(x).__module__
    if module.startswith("torch"):
        return (
            x.detach().to("cpu").float().numpy()
            if x.is_floating_point()
            else x.detach().to("cpu").numpy()
        )
    if hasattr(x, "numpy") and callable(
        x.numpy
    ):  # TensorFlow eager tensors and Keras variables
        return np.asarray(x.numpy())
    if isinstance(x, (list, tuple)) or np.isscalar(x):
        return np.asarray(x)
    raise TypeError(f"cannot convert {type(x).__name__} to a NumPy array")


def heatmap(
    data: Any,
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
    *,
    ax=None,
    cmap: str = "viridis",
    annotate: bool = False,
    fmt: str = "{:.2f}",
    title: str | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    colorbar: bool = True,
    vmin: float | None = None,
    vmax: float | None = None,
):
    """Draw a 2-D array (attention weights, a confusion matrix, ...) as a heatmap and
    return the image.

    ``data`` may be a NumPy array, a PyTorch tensor or a TensorFlow tensor of shape
    ``(rows, cols)``.
    """
    import matplotlib.pyplot as plt

    values = to_numpy(data)
    if values.ndim != 2:
        raise ValueError(f"data must be 2-D (rows, cols), got shape {values.shape}")
    if values.size == 0:
        raise ValueError("data must not be empty")
    if not np.issubdtype(values.dtype, np.number) or np.issubdtype(
        values.dtype, np.complexfloating
    ):
        raise TypeError(f"data must hold real numbers, got dtype {values.dtype}")
    rows, cols = values.shape
    if row_labels is not None and len(row_labels) != rows:
        raise ValueError(f"row_labels has {len(row_labels)} labels for {rows} rows")
    if col_labels is not None and len(col_labels) != cols:
        raise ValueError(f"col_labels has {len(col_labels)} labels for {cols} columns")
    if ax is None:
        _, ax = plt.subplots(
            figsize=(max(3.0, 0.45 * cols + 1.5), max(2.5, 0.4 * rows + 1.0))
        )
    image = ax.imshow(
        values, cmap=cmap, aspect="auto", vmin=vmin, vmax=vmax, interpolation="nearest"
    )
    ax.grid(False)
    if col_labels is not None:
        ax.set_xticks(
            range(cols),
            labels=list(col_labels),
            rotation=60,
            ha="right",
            rotation_mode="anchor",
        )
    if row_labels is not None:
        ax.set_yticks(range(rows), labels=list(row_labels))
    if annotate:
        threshold = np.nanmean(values)
        for i in range(rows):
            for j in range(cols):
                ax.text(
                    j,
                    i,
                    fmt.format(values[i, j]),
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if values[i, j] < threshold else "black",
                )
    if title:
        ax.set_title(title)
    if xlabel:
        ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    if colorbar:
        ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    return image
