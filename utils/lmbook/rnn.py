"""Neural language models in Keras 3 (chapter 3): the MLP language model of Bengio
et al. (2003), an LSTM cell written with ``keras.ops``, the LSTM language model of
Zaremba et al. (2014), stateful batching for truncated back-propagation through time
and perplexity.

Every model maps token ids to **logits** (no softmax inside); losses use
``from_logits=True``. The module runs on any Keras backend (TensorFlow or torch).
"""

from __future__ import annotations

from numbers import Integral, Real

import keras
import numpy as np
from keras import layers, ops

__all__ = [
    "context_windows",
    "mlp_lm",
    "LSTMCell",
    "CarriedLSTM",
    "TiedLogits",
    "lstm_lm",
    "batchify",
    "bptt_windows",
    "reset_states",
    "ResetStates",
    "perplexity_from_logits",
    "perplexity",
    "train_lm",
]


# ---------------------------------------------------------------- input checks
def _check_int(value: object, name: str, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    return int(value)


def _check_ids(ids: object, name: str = "ids", ndim: int = 1) -> np.ndarray:
    arr = np.asarray(ids)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integer token ids, got dtype {arr.dtype}")
    if arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    if arr.size and arr.min() < 0:
        raise ValueError(f"{name} must be non-negative token ids")
    return arr.astype(np.int64)


def _check_rate(rate: object, name: str = "dropout") -> float:
    if isinstance(rate, bool) or not isinstance(rate, Real):
        raise TypeError(f"{name} must be a number, got {type(rate).__name__}")
    if not 0 <= rate < 1:
        raise ValueError(f"{name} must be in [0, 1), got {rate}")
    return float(rate)


def _check_sizes(**sizes: object) -> None:
    for name, value in sizes.items():
        _check_int(value, name)


def _initializer(init_scale: float | None):
    if init_scale is None:
        return "uniform"  # Keras' default for Embedding
    if isinstance(init_scale, bool) or not isinstance(init_scale, Real):
        raise TypeError("init_scale must be a positive number or None")
    if init_scale <= 0:
        raise ValueError(f"init_scale must be positive, got {init_scale}")
    return keras.initializers.RandomUniform(-init_scale, init_scale)


# ---------------------------------------------------------------- MLP LM
def context_windows(ids: np.ndarray, context: int) -> tuple[np.ndarray, np.ndarray]:
    """Every (``context`` previous ids, next id) pair: x (N, context), y (N,)."""
    ids = _check_ids(ids)
    context = _check_int(context, "context")
    if len(ids) <= context:
        raise ValueError(f"need more than context={context} ids, got {len(ids)}")
    x = np.lib.stride_tricks.sliding_window_view(ids[:-1], context)
    return np.ascontiguousarray(x), ids[context:]


def mlp_lm(
    vocab_size: int,
    context: int,
    d_embed: int = 64,
    d_hidden: int = 256,
    dropout: float = 0.0,
) -> keras.Model:
    """Bengio et al. (2003): embed the ``context`` previous words, concatenate, one tanh
    hidden layer, logits over the vocabulary. (batch, context) ids -> (batch, vocab)."""
    _check_sizes(vocab_size=vocab_size, context=context, d_embed=d_embed)
    _check_sizes(d_hidden=d_hidden)
    dropout = _check_rate(dropout)
    ids = keras.Input(shape=(context,), dtype="int32", name="ids")
    x = layers.Embedding(vocab_size, d_embed, name="embedding")(ids)
    x = layers.Flatten(name="concat")(x)  # (batch, context * d_embed)
    x = layers.Dense(d_hidden, activation="tanh", name="hidden")(x)
    x = layers.Dropout(dropout)(x)
    logits = layers.Dense(vocab_size, name="logits")(x)
    return keras.Model(ids, logits, name="mlp_lm")


# ---------------------------------------------------------------- LSTM
@keras.saving.register_keras_serializable(package="lmbook")
class LSTMCell(layers.Layer):
    """One LSTM step (Hochreiter & Schmidhuber, 1997; with a forget gate) in keras.ops.

    Weights are laid out as in ``keras.layers.LSTMCell`` (gates i, f, g, o side by
    side), so ``set_weights`` moves weights between the two. Call: x (batch, d_in),
    states [h, c] (batch, units) each -> h, [h, c].
    """

    def __init__(self, units: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.units = _check_int(units, "units")
        self.state_size = [self.units, self.units]
        self.output_size = self.units

    def build(self, input_shape) -> None:
        d_in, u = input_shape[-1], self.units
        self.kernel = self.add_weight((d_in, 4 * u), "glorot_uniform", name="kernel")
        self.recurrent_kernel = self.add_weight(
            (u, 4 * u), "orthogonal", name="recurrent_kernel"
        )
        forget_one = np.concatenate([np.zeros(u), np.ones(u), np.zeros(2 * u)])
        self.bias = self.add_weight(
            (4 * u,), keras.initializers.Constant(forget_one), name="bias"
        )

    def call(self, inputs, states, training=False):
        h, c = states
        z = inputs @ self.kernel + h @ self.recurrent_kernel + self.bias
        i, f, g, o = ops.split(z, 4, axis=-1)
        c = ops.sigmoid(f) * c + ops.sigmoid(i) * ops.tanh(g)  # forget, then write
        h = ops.sigmoid(o) * ops.tanh(c)  # read out
        return h, [h, c]

    def get_config(self) -> dict:
        return {**super().get_config(), "units": self.units}


@keras.saving.register_keras_serializable(package="lmbook")
class CarriedLSTM(layers.LSTM):
    """``keras.layers.LSTM`` whose carried (stateful) state enters each batch as a copy:
    on the torch backend Keras 3.15 overwrites the state in place after the forward
    pass, which breaks back-propagation of a stateful fused LSTM."""

    def call(self, sequences, initial_state=None, mask=None, training=False):
        if self.stateful and initial_state is None:
            initial_state = [ops.copy(state) for state in self.states]
        return super().call(sequences, initial_state, mask=mask, training=training)


@keras.saving.register_keras_serializable(package="lmbook")
class TiedLogits(layers.Layer):
    """Output layer sharing the input embedding matrix E (Press & Wolf, 2017):
    logits = h E^T + b. (..., d_model) -> (..., vocab)."""

    def __init__(self, embedding: layers.Embedding, **kwargs) -> None:
        super().__init__(**kwargs)
        if not isinstance(embedding, layers.Embedding):
            raise TypeError("TiedLogits needs a keras.layers.Embedding")
        self.embedding = embedding

    def build(self, input_shape) -> None:
        self.bias = self.add_weight((self.embedding.input_dim,), "zeros", name="bias")

    def call(self, h):
        return h @ ops.transpose(self.embedding.embeddings) + self.bias


def lstm_lm(
    vocab_size: int,
    d_model: int = 128,
    num_layers: int = 1,
    dropout: float = 0.0,
    tie_weights: bool = False,
    batch_size: int | None = None,
    stateful: bool = False,
    init_scale: float | None = None,
    own_cell: bool = False,
) -> keras.Model:
    """Zaremba et al. (2014): embedding, ``num_layers`` LSTMs with dropout between them,
    logits. (batch, time) ids -> (batch, time, vocab). ``stateful`` carries the state
    from one batch to the next (truncated BPTT) and needs a fixed ``batch_size``;
    ``own_cell`` runs :class:`LSTMCell` instead of Keras' fused LSTM layer."""
    _check_sizes(vocab_size=vocab_size, d_model=d_model, num_layers=num_layers)
    dropout = _check_rate(dropout)
    if stateful and batch_size is None:
        raise ValueError("a stateful model needs a fixed batch_size")
    if batch_size is not None:
        _check_int(batch_size, "batch_size")
    init = _initializer(init_scale)
    ids = keras.Input(batch_shape=(batch_size, None), dtype="int32", name="ids")
    embedding = layers.Embedding(
        vocab_size, d_model, embeddings_initializer=init, name="embedding"
    )
    x = layers.Dropout(dropout)(embedding(ids))
    for k in range(num_layers):
        kw = dict(return_sequences=True, stateful=stateful, name=f"lstm_{k}")
        if own_cell:
            rnn = layers.RNN(LSTMCell(d_model), **kw)
        elif init_scale is None:
            rnn = CarriedLSTM(d_model, **kw)
        else:
            rnn = CarriedLSTM(
                d_model, kernel_initializer=init, recurrent_initializer=init, **kw
            )
        x = layers.Dropout(dropout)(rnn(x))
    if tie_weights:
        logits = TiedLogits(embedding, name="logits")(x)
    else:
        logits = layers.Dense(vocab_size, kernel_initializer=init, name="logits")(x)
    return keras.Model(ids, logits, name="lstm_lm")


# ---------------------------------------------------------------- truncated BPTT
def batchify(ids: np.ndarray, batch_size: int) -> np.ndarray:
    """Cut a stream into ``batch_size`` equal rows, each a contiguous piece of text:
    (N,) -> (batch_size, N // batch_size). The tail that does not fit is dropped."""
    ids = _check_ids(ids)
    batch_size = _check_int(batch_size, "batch_size")
    n = len(ids) // batch_size
    if n < 2:
        raise ValueError(f"{len(ids)} ids are too few for {batch_size} rows")
    return ids[: n * batch_size].reshape(batch_size, n)


def bptt_windows(rows: np.ndarray, bptt: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and next-token targets for truncated BPTT, window after window.

    rows (B, N) from :func:`batchify` -> x, y (num_windows * B, bptt): batch k (rows
    k*B .. k*B+B-1) continues batch k-1 row by row, so a stateful model fed them in
    order (``shuffle=False``, ``batch_size=B``) carries its state across batches."""
    rows = _check_ids(rows, "rows", ndim=2)
    bptt = _check_int(bptt, "bptt")
    num_windows = (rows.shape[1] - 1) // bptt
    if num_windows < 1:
        raise ValueError(
            f"rows of length {rows.shape[1]} are too short for bptt={bptt}"
        )
    span = num_windows * bptt
    x = rows[:, :span].reshape(rows.shape[0], num_windows, bptt)
    y = rows[:, 1 : span + 1].reshape(rows.shape[0], num_windows, bptt)
    return x.transpose(1, 0, 2).reshape(-1, bptt), y.transpose(1, 0, 2).reshape(
        -1, bptt
    )


def reset_states(model: keras.Model) -> None:
    """Zero the carried state of every stateful recurrent layer of ``model``."""
    for layer in model.layers:
        if getattr(layer, "stateful", False):
            layer.reset_state()


class ResetStates(keras.callbacks.Callback):
    """Start every epoch (and every evaluation) of ``fit`` from a zero state."""

    def on_epoch_begin(self, epoch, logs=None):
        reset_states(self.model)

    def on_test_begin(self, logs=None):
        reset_states(self.model)


# ---------------------------------------------------------------- perplexity
def perplexity_from_logits(logits: np.ndarray, targets: np.ndarray) -> float:
    """exp(mean negative log-likelihood), in float64. logits (..., V), targets (...)."""
    nll, n = _nll_sum(logits, targets)
    return float(np.exp(nll / n))


def _nll_sum(logits, targets) -> tuple[float, int]:
    logits = np.asarray(logits, dtype=np.float64)
    targets = _check_ids(targets, "targets", ndim=logits.ndim - 1)
    if logits.shape[:-1] != targets.shape:
        raise ValueError(
            f"logits {logits.shape} and targets {targets.shape} do not match"
        )
    if targets.size == 0:
        raise ValueError("no targets to score")
    if targets.max() >= logits.shape[-1]:
        raise ValueError("a target id is >= the number of logits")
    z = logits - logits.max(axis=-1, keepdims=True)
    log_norm = np.log(np.exp(z).sum(axis=-1))
    picked = np.take_along_axis(z, targets[..., None], axis=-1)[..., 0]
    return float((log_norm - picked).sum()), targets.size


def perplexity(
    model: keras.Model, x: np.ndarray, y: np.ndarray, batch_size: int = 256
) -> float:
    """Perplexity of ``model`` on inputs x and targets y, batch after batch in order
    (a stateful model starts from a zero state and carries it; then give
    ``batch_size`` = its batch size and x, y from :func:`bptt_windows`)."""
    x, y = np.asarray(x), np.asarray(y)
    batch_size = _check_int(batch_size, "batch_size")
    if len(x) != len(y):
        raise ValueError(f"x and y differ in length: {len(x)} != {len(y)}")
    reset_states(model)
    total, count = 0.0, 0
    for start in range(0, len(x), batch_size):
        stop = start + batch_size
        logits = model.predict_on_batch(x[start:stop].astype(np.int32))
        nll, n = _nll_sum(keras.ops.convert_to_numpy(logits), y[start:stop])
        total, count = total + nll, count + n
    return float(np.exp(total / count))


# ---------------------------------------------------------------- training
def _check_train(train: object) -> dict:
    if not isinstance(train, dict):
        raise TypeError(
            f"train must be a preset's train dict, got {type(train).__name__}"
        )
    missing = {"batch_size", "epochs", "lr"} - set(train)
    if missing:
        raise ValueError(f"train lacks {sorted(missing)}")
    if train.get("optimizer", "adam") not in ("adam", "sgd"):
        raise ValueError(
            f"optimizer must be 'adam' or 'sgd', got {train['optimizer']!r}"
        )
    return train


def train_lm(model, x, y, train: dict, callbacks=(), verbose=0):
    """Fit ``model`` on (x, y) with a preset's ``train`` settings: Adam(W) or SGD,
    gradient clipping, the learning rate multiplied by ``lr_decay`` every epoch after
    ``decay_after`` (Zaremba et al., 2014). A stateful model gets its windows in
    order."""
    t = _check_train(train)
    clip = t.get("clipnorm")
    if t.get("optimizer", "adam") == "sgd":
        opt = keras.optimizers.SGD(t["lr"], global_clipnorm=clip)
    else:
        wd = t.get("weight_decay", 0.0)
        opt = keras.optimizers.AdamW(t["lr"], weight_decay=wd, global_clipnorm=clip)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=opt, loss=loss)
    decay, after = t.get("lr_decay", 1.0), t.get("decay_after", 1)
    schedule = keras.callbacks.LearningRateScheduler(
        lambda epoch: t["lr"] * decay ** max(0, epoch + 1 - after)
    )
    stateful = any(getattr(layer, "stateful", False) for layer in model.layers)
    extra = [ResetStates()] if stateful else []
    return model.fit(
        x,
        y,
        batch_size=t["batch_size"],
        epochs=t["epochs"],
        shuffle=not stateful,
        callbacks=[schedule, *extra, *callbacks],
        verbose=verbose,
    )
