"""lmbook.notebook: expect, show_source, sample_text, plot_history and the Colab cell."""

import json
import pathlib
import subprocess
import sys
import types

import matplotlib
import numpy as np
import pytest

from lmbook import notebook as nb

matplotlib.use("Agg")
ROOT = pathlib.Path(__file__).resolve().parents[1]
CHAPTERS = sorted(ROOT.glob("chapters/*/*.ipynb"))


def test_expect_prints_the_band_not_the_value(capsys):
    assert nb.expect(1.93, 1.85, 2.0, "held-out loss") == 1.93
    assert capsys.readouterr().out == "held-out loss in [1.85, 2]: yes\n"
    assert nb.expect(np.float32(0.5), 0, 1, "a NumPy scalar") == np.float32(0.5)


@pytest.mark.parametrize("value", [2.5, 1.0, float("nan"), float("inf")])
def test_expect_raises_with_the_value_outside_the_band(value):
    with pytest.raises(nb.ExpectationError, match="outside the expected band"):
        nb.expect(value, 1.85, 2.0, "held-out loss")


@pytest.mark.parametrize(
    "args, error",
    [
        (("x", 0, 1, "w"), TypeError),
        ((0.5, 1, 0, "w"), ValueError),
        ((0.5, 0, 1, ""), TypeError),
        ((0.5, None, 1, "w"), TypeError),
        ((True, 0, 1, "w"), TypeError),
    ],
)
def test_expect_bad_input(args, error):
    with pytest.raises(error):
        nb.expect(*args)


def test_show_source_displays_the_package_code(capsys):
    nb.show_source(nb.expect, nb.ExpectationError)
    shown = capsys.readouterr().out
    assert "def expect(" in shown and "class ExpectationError" in shown


@pytest.mark.parametrize("bad", [(), ("not code",), (3,)])
def test_show_source_rejects_non_code(bad):
    with pytest.raises(TypeError, match="show_source"):
        nb.show_source(*bad)


def test_sample_text_decodes_only_the_new_tokens():
    torch = pytest.importorskip("torch")
    from lmbook.text import Vocab

    class Echo:  # "generates" by repeating the last token
        def generate(self, idx, n, *, temperature, top_k, generator):
            return torch.cat([idx, idx[:, -1:].repeat(1, n)], dim=1)

    chars = Vocab.from_text("ab")
    assert nb.sample_text(Echo(), chars, "ab", n=3) == "bbb"
    words = Vocab(["x", "y"])
    assert nb.sample_text(Echo(), words, "x y", n=2, sep=" ") == "y y"
    with pytest.raises(ValueError, match="positive"):
        nb.sample_text(Echo(), chars, "a", n=0)
    with pytest.raises(TypeError, match="generate"):
        nb.sample_text(object(), chars, "a")


def test_plot_history_from_a_dict_and_from_a_keras_like_history():
    hist = {
        "step": list(range(50)),
        "train_loss": list(np.linspace(3, 1, 50)),
        "eval_step": [0, 49],
        "val_loss": [3.0, 1.2],
    }
    ax = nb.plot_history(hist, "t")
    assert len(ax.lines) == 3
    keras_like = types.SimpleNamespace(
        history={"loss": [2.0, 1.5], "val_loss": [2.1, 1.7]}
    )
    ax = nb.plot_history(keras_like, smooth=1, xlabel="epoch")
    assert len(ax.lines) == 2 and ax.get_xlabel() == "epoch"
    with pytest.raises(TypeError, match="Keras History or a dict"):
        nb.plot_history([1, 2, 3])


def _first_code_cell(path):
    cells = json.loads(path.read_text())["cells"]
    return next("".join(c["source"]) for c in cells if c["cell_type"] == "code")


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.parent.name)
def test_every_chapter_starts_with_the_colab_cell(path):
    assert _first_code_cell(path) == nb.COLAB_CELL


def test_colab_cell_installs_only_in_colab(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: calls.append((cmd, kw)))
    exec(nb.COLAB_CELL, {})  # not in Colab: nothing happens
    assert calls == []
    monkeypatch.setitem(sys.modules, "google", types.ModuleType("google"))
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setattr(sys, "path", list(sys.path))
    # the cell sets LMBOOK_ROOT; teardown restores it
    monkeypatch.setenv("LMBOOK_ROOT", "before")
    import os

    # a fresh Colab session: no clone yet, whatever this machine has in /content
    real_isdir = os.path.isdir
    monkeypatch.setattr(
        os.path,
        "isdir",
        lambda p: False if str(p).startswith("/content/") else real_isdir(p),
    )
    exec(nb.COLAB_CELL, {})
    commands = [c for c, _ in calls]
    assert (
        commands[0][:2] == ["git", "clone"]
        and commands[0][-1] == "/content/from-ngrams-to-gpt"
    )
    assert commands[1][-2:] == ["-e", "/content/from-ngrams-to-gpt"]
    assert commands[2][1:] == ["-m", "lmbook.data", "install"]
    assert calls[2][1]["cwd"] == "/content/from-ngrams-to-gpt" and all(
        kw["check"] for _, kw in calls
    )
    assert os.environ["LMBOOK_ROOT"] == "/content/from-ngrams-to-gpt"
    calls.clear()
    monkeypatch.setattr(os.path, "isdir", lambda p: True)  # run again: no second clone
    exec(nb.COLAB_CELL, {})
    assert [c[1:3] for c, _ in calls] == [["-m", "pip"], ["-m", "lmbook.data"]]
