"""lmbook.rnn: the Keras language models, our LSTM cell, truncated-BPTT batching and
perplexity; forward passes agree across the TensorFlow and torch backends."""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from lmbook import presets, rnn

V = 30


def _np(x):
    return keras.ops.convert_to_numpy(x)


def test_context_windows():
    x, y = rnn.context_windows(np.arange(6), 2)
    assert x.tolist() == [[0, 1], [1, 2], [2, 3], [3, 4]]
    assert y.tolist() == [2, 3, 4, 5]


def test_bptt_windows_continue_each_row_batch_after_batch():
    rows = rnn.batchify(np.arange(103), 4)
    assert rows.shape == (4, 25) and rows[1, 0] == 25
    x, y = rnn.bptt_windows(rows, 5)
    assert x.shape == y.shape == (4 * 4, 5)  # (25 - 1) // 5 = 4 windows
    for k in range(1, 4):
        assert (x[k * 4 : k * 4 + 4, 0] == x[(k - 1) * 4 : k * 4, -1] + 1).all()
    assert (y == x + 1).all()


def test_our_lstm_cell_equals_keras_lstm_cell():
    rng = np.random.default_rng(0)
    ours, theirs = rnn.LSTMCell(6), keras.layers.LSTMCell(6)
    ours.build((None, 4)), theirs.build((None, 4))
    theirs.set_weights([rng.normal(size=w.shape) for w in theirs.get_weights()])
    ours.set_weights(theirs.get_weights())
    x = rng.normal(size=(3, 4)).astype("float32")
    states = [rng.normal(size=(3, 6)).astype("float32") for _ in range(2)]
    h1, (_, c1) = ours(x, states)
    h2, (_, c2) = theirs(x, states)
    np.testing.assert_allclose(_np(h1), _np(h2), atol=1e-6)
    np.testing.assert_allclose(_np(c1), _np(c2), atol=1e-6)


def test_lm_with_our_cell_equals_the_fused_keras_layer():
    ours = rnn.lstm_lm(V, 8, num_layers=2, own_cell=True)
    fused = rnn.lstm_lm(V, 8, num_layers=2)
    fused.set_weights(ours.get_weights())
    ids = np.random.default_rng(1).integers(0, V, size=(2, 7))
    np.testing.assert_allclose(_np(ours(ids)), _np(fused(ids)), atol=1e-5)


def test_stateful_windows_equal_one_pass_over_the_whole_rows():
    rows = rnn.batchify(np.random.default_rng(2).integers(0, V, 61), 3)
    whole = rnn.lstm_lm(V, 8)
    rng = np.random.default_rng(4)
    whole.set_weights([rng.normal(0, 0.5, w.shape) for w in whole.get_weights()])
    stateful = rnn.lstm_lm(V, 8, batch_size=3, stateful=True)
    stateful.set_weights(whole.get_weights())
    x, y = rnn.bptt_windows(rows, 4)
    n = (rows.shape[1] - 1) // 4 * 4
    full = rnn.perplexity(whole, rows[:, :n], rows[:, 1 : n + 1], batch_size=3)
    assert rnn.perplexity(stateful, x, y, batch_size=3) == pytest.approx(full, rel=1e-5)
    # without carrying the state, the windows would score differently
    assert rnn.perplexity(whole, x, y, batch_size=3) != pytest.approx(full, rel=1e-3)


def test_tied_logits_share_the_embedding():
    untied = rnn.lstm_lm(V, 8)
    tied = rnn.lstm_lm(V, 8, tie_weights=True)
    assert untied.count_params() - tied.count_params() == V * 8
    logits = tied(np.zeros((1, 3), dtype="int32"))
    assert tuple(logits.shape) == (1, 3, V)


def test_uniform_model_perplexity_is_the_vocabulary_size():
    assert rnn.perplexity_from_logits(np.zeros((5, V)), np.arange(5)) == pytest.approx(
        V, rel=1e-12
    )
    ids = keras.Input(shape=(3,), dtype="int32")
    x = keras.layers.Embedding(V, 4)(ids)
    logits = keras.layers.Dense(V, kernel_initializer="zeros")(
        keras.layers.Flatten()(x)
    )
    model = keras.Model(ids, logits)
    x, y = rnn.context_windows(np.arange(100) % V, 3)
    assert rnn.perplexity(model, x, y, batch_size=16) == pytest.approx(V, rel=1e-9)


def test_mlp_lm_shapes_and_parameters():
    model = rnn.mlp_lm(V, context=3, d_embed=4, d_hidden=5)
    assert tuple(model(np.zeros((2, 3), dtype="int32")).shape) == (2, V)
    assert model.count_params() == V * 4 + (12 * 5 + 5) + (5 * V + V)


@pytest.mark.parametrize("name", ["ch03-mlp", "ch03-lstm"])
def test_presets_build(name):
    for profile in presets.PRESETS[name]:
        p = presets.get(name, profile)
        build = rnn.mlp_lm if name == "ch03-mlp" else rnn.lstm_lm
        assert build(V, **p["model"]).count_params() > 0


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: rnn.context_windows([0.5, 1.5], 1), TypeError, "integer token ids"),
        (lambda: rnn.context_windows([1, 2], 2), ValueError, "more than context"),
        (lambda: rnn.context_windows([[1, 2]], 1), ValueError, "1-D"),
        (lambda: rnn.batchify(np.arange(10), 0), ValueError, ">= 1"),
        (lambda: rnn.batchify(np.arange(3), 2), ValueError, "too few"),
        (lambda: rnn.bptt_windows(np.arange(10), 2), ValueError, "2-D"),
        (lambda: rnn.bptt_windows(np.ones((2, 3), int), 5), ValueError, "too short"),
        (lambda: rnn.mlp_lm(V, 3, dropout=1.0), ValueError, "dropout"),
        (lambda: rnn.mlp_lm(V, 3.0), TypeError, "context"),
        (lambda: rnn.lstm_lm(V, stateful=True), ValueError, "fixed batch_size"),
        (lambda: rnn.lstm_lm(V, init_scale=-1.0), ValueError, "init_scale"),
        (lambda: rnn.LSTMCell(0), ValueError, "units"),
        (lambda: rnn.TiedLogits("E"), TypeError, "Embedding"),
        (lambda: rnn.train_lm(None, [], [], "adam"), TypeError, "train dict"),
        (lambda: rnn.train_lm(None, [], [], {"lr": 1.0}), ValueError, "lacks"),
        (
            lambda: rnn.train_lm(
                None, [], [], {"lr": 1, "epochs": 1, "batch_size": 2, "optimizer": "x"}
            ),
            ValueError,
            "optimizer",
        ),
        (
            lambda: rnn.perplexity_from_logits(np.zeros((2, 3)), [0, 3]),
            ValueError,
            ">= the number",
        ),
        (
            lambda: rnn.perplexity_from_logits(np.zeros((2, 3)), [0]),
            ValueError,
            "do not match",
        ),
    ],
)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


FORWARD = """
import sys
import numpy as np
import keras
from lmbook import rnn
weights = np.load(sys.argv[1])
ids = weights["ids"]
out = {}
for name, model in [("lstm", rnn.lstm_lm(30, 8, num_layers=2, tie_weights=True)),
                    ("mlp", rnn.mlp_lm(30, 3, d_embed=4, d_hidden=6))]:
    model.set_weights([weights[f"{name}_{i}"] for i in range(len(model.weights))])
    x = ids if name == "lstm" else ids[:, :3]
    out[name] = keras.ops.convert_to_numpy(model(x))
out["backend"] = np.array(keras.backend.backend())
np.savez(sys.argv[2], **out)
"""


def test_forward_pass_is_the_same_on_tensorflow_and_torch(tmp_path):
    rng = np.random.default_rng(3)
    arrays = {"ids": rng.integers(0, V, size=(2, 6)).astype("int32")}
    for name, model in [
        ("lstm", rnn.lstm_lm(V, 8, num_layers=2, tie_weights=True)),
        ("mlp", rnn.mlp_lm(V, 3, d_embed=4, d_hidden=6)),
    ]:
        for i, w in enumerate(model.get_weights()):
            arrays[f"{name}_{i}"] = rng.normal(0, 0.5, size=w.shape).astype("float32")
    np.savez(tmp_path / "weights.npz", **arrays)
    outs = {}
    for backend in ("tensorflow", "torch"):
        path = tmp_path / f"{backend}.npz"
        env = {**os.environ, "KERAS_BACKEND": backend}
        done = subprocess.run(
            [sys.executable, "-c", FORWARD, str(tmp_path / "weights.npz"), str(path)],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        outs[backend] = np.load(path)
        assert str(outs[backend]["backend"]) == backend
    for name in ("lstm", "mlp"):
        a, b = outs["tensorflow"][name], outs["torch"][name]
        assert np.abs(a).max() > 0.1  # not trivially zero
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_train_lm_lowers_the_loss_of_a_stateful_model():
    rows = rnn.batchify(np.tile(np.arange(10), 40), 4)
    x, y = rnn.bptt_windows(rows, 5)
    model = rnn.lstm_lm(10, 16, batch_size=4, stateful=True)
    train = {"batch_size": 4, "epochs": 6, "lr": 1e-2, "clipnorm": 5.0}
    history = rnn.train_lm(model, x, y, train)
    # a periodic sequence is learnable: the loss falls well below its first epoch's
    # (the margin leaves room for other CPU kernels: 3 epochs gave 0.50x on AVX2)
    assert history.history["loss"][-1] < 0.6 * history.history["loss"][0]
