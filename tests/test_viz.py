"""lmbook.viz: the book style and the framework-agnostic heatmap."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from lmbook import viz  # noqa: E402


def test_use_book_style_sets_rcparams():
    viz.use_book_style()
    assert matplotlib.rcParams["axes.spines.top"] is False
    assert tuple(matplotlib.rcParams["figure.figsize"]) == (6.4, 4.0)


def test_to_numpy_accepts_every_framework():
    import tensorflow as tf

    expected = np.arange(6, dtype=np.float32).reshape(2, 3)
    for value in (
        expected,
        torch.tensor(expected, requires_grad=True) * 1,
        tf.constant(expected),
        expected.tolist(),
        torch.tensor(expected, dtype=torch.bfloat16),
    ):
        out = viz.to_numpy(value)
        assert isinstance(out, np.ndarray)
        np.testing.assert_allclose(out, expected)
    assert viz.to_numpy(torch.arange(3)).dtype == np.int64
    with pytest.raises(TypeError, match="cannot convert"):
        viz.to_numpy(object())


def test_heatmap_draws_values_and_labels():
    fig, ax = plt.subplots()
    values = torch.softmax(torch.randn(3, 4), dim=-1)
    image = viz.heatmap(
        values,
        ["a", "b", "c"],
        ["w", "x", "y", "z"],
        ax=ax,
        annotate=True,
        title="attention",
    )
    np.testing.assert_allclose(image.get_array(), values.numpy(), rtol=1e-6)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["w", "x", "y", "z"]
    assert ax.get_title() == "attention"
    assert len(ax.texts) == 12
    plt.close(fig)


def test_heatmap_creates_its_own_axes():
    image = viz.heatmap(np.eye(3), colorbar=False)
    assert image.axes is not None
    plt.close(image.axes.figure)


@pytest.mark.parametrize(
    "bad, error, match",
    [
        (np.zeros(3), ValueError, "2-D"),
        (np.zeros((0, 3)), ValueError, "empty"),
        (np.array([["a", "b"]]), TypeError, "real numbers"),
    ],
)
def test_heatmap_rejects_bad_data(bad, error, match):
    with pytest.raises(error, match=match):
        viz.heatmap(bad)


def test_heatmap_rejects_mismatched_labels():
    with pytest.raises(ValueError, match="row_labels"):
        viz.heatmap(np.eye(2), row_labels=["a"])
    with pytest.raises(ValueError, match="col_labels"):
        viz.heatmap(np.eye(2), col_labels=["a", "b", "c"])
