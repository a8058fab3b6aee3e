"""Sequence-to-sequence learning in Keras 3 (chapter 4): an LSTM encoder-decoder,
Bahdanau (additive) and Luong (multiplicative) attention with padding masks, greedy
and beam decoding, and exact match / BLEU / chrF through ``sacrebleu``.

Runs on Keras's TensorFlow backend (the book's default) and on its torch backend; this
module never imports a backend itself. Token id 0 is padding everywhere.
"""

from __future__ import annotations

from numbers import Integral

import keras
import numpy as np
from keras import ops

__all__ = [
    "ATTENTIONS",
    "pad_sequences",
    "make_arrays",
    "masked_softmax",
    "BahdanauAttention",
    "LuongAttention",
    "MaskedLSTM",
    "Seq2Seq",
    "DenseAdam",
    "greedy_decode",
    "beam_search",
    "model_beam_search",
    "exact_match",
    "corpus_bleu",
    "corpus_chrf",
]

ATTENTIONS = (None, "bahdanau", "luong", "luong-general")
NEG_INF = -1e9


# ------------------------------------------------------------------------- data
def pad_sequences(seqs, length: int | None = None, pad_id: int = 0) -> np.ndarray:
    """Integer sequences -> one int32 array ``(batch, length)``, padded at the end."""
    seqs = [np.asarray(s, dtype=np.int64) for s in seqs]
    if not seqs:
        raise ValueError("seqs must not be empty")
    longest = max(len(s) for s in seqs)
    length = longest if length is None else length
    if length < longest:
        raise ValueError(f"length {length} is shorter than the longest sequence")
    out = np.full((len(seqs), length), pad_id, dtype=np.int32)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = s
    return out


def make_arrays(src_ids, tgt_ids, bos_id: int, eos_id: int):
    """Teacher forcing arrays: ``src (B, S)``, ``tgt_in = [bos] + y`` and
    ``tgt_out = y + [eos]``, both ``(B, T)``."""
    if len(src_ids) != len(tgt_ids):
        raise ValueError(f"{len(src_ids)} sources but {len(tgt_ids)} targets")
    tgt_in = pad_sequences([[bos_id, *t] for t in tgt_ids])
    tgt_out = pad_sequences([[*t, eos_id] for t in tgt_ids])
    return pad_sequences(src_ids), tgt_in, tgt_out


# -------------------------------------------------------------------- attention
def _check_attention_inputs(query, value, mask) -> None:
    if len(query.shape) != 3 or len(value.shape) != 3:
        raise ValueError(
            "query and value must be (batch, time, dim), "
            f"got {query.shape}, {value.shape}"
        )
    if mask is not None and tuple(mask.shape) != tuple(value.shape[:2]):
        raise ValueError(f"mask must be (batch, source), got {tuple(mask.shape)}")


def masked_softmax(scores, mask=None):
    """Softmax over the last axis of ``scores (B, T, S)``; ``mask (B, S)`` is True where
    a source position is real, and padded positions get weight exactly 0."""
    if mask is not None:
        keep = ops.expand_dims(ops.cast(mask, "bool"), 1)
        scores = ops.where(keep, scores, NEG_INF)
    return ops.softmax(scores, axis=-1)


class BahdanauAttention(keras.layers.Layer):
    """Additive attention (Bahdanau et al., 2015) with its learned projections:
    ``score(q, k) = v^T tanh(W_q q + W_k k)``.

    ``call(query (B, T, Dq), value (B, S, Dv), mask (B, S))`` returns
    ``context (B, T, Dv)`` and ``weights (B, T, S)``.
    """

    def __init__(self, units: int, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True  # the mask is passed explicitly, never propagated
        self.units = units
        self.W_query = keras.layers.Dense(units, use_bias=False, name="W_query")
        self.W_key = keras.layers.Dense(units, use_bias=False, name="W_key")
        self.v = keras.layers.Dense(1, use_bias=False, name="v")

    def call(self, query, value, mask=None):
        _check_attention_inputs(query, value, mask)
        q = ops.expand_dims(self.W_query(query), 2)  # (B, T, 1, units)
        k = ops.expand_dims(self.W_key(value), 1)  # (B, 1, S, units)
        scores = ops.squeeze(self.v(ops.tanh(q + k)), -1)  # (B, T, S)
        weights = masked_softmax(scores, mask)
        return ops.matmul(weights, value), weights

    def compute_mask(self, *args, **kwargs):
        return None

    def get_config(self):
        return {**super().get_config(), "units": self.units}


class LuongAttention(keras.layers.Layer):
    """Multiplicative attention (Luong et al., 2015): ``score = q^T k`` ("dot") or
    ``q^T W_a k`` ("general"). Same call and outputs as :class:`BahdanauAttention`."""

    def __init__(self, score: str = "dot", **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        if score not in ("dot", "general"):
            raise ValueError(f"score must be 'dot' or 'general', got {score!r}")
        self.score = score
        self.W_a = None

    def build(self, query_shape, value_shape=None, mask_shape=None):
        if self.score == "general":
            self.W_a = keras.layers.Dense(query_shape[-1], use_bias=False, name="W_a")

    def call(self, query, value, mask=None):
        _check_attention_inputs(query, value, mask)
        keys = value if self.W_a is None else self.W_a(value)
        scores = ops.matmul(query, ops.transpose(keys, (0, 2, 1)))  # (B, T, S)
        weights = masked_softmax(scores, mask)
        return ops.matmul(weights, value), weights

    def compute_mask(self, *args, **kwargs):
        return None

    def get_config(self):
        return {**super().get_config(), "score": self.score}


# ------------------------------------------------------------------------ model
@keras.saving.register_keras_serializable(package="lmbook")
class MaskedLSTM(keras.layers.LSTM):
    """``keras.layers.LSTM`` with a faster masked loop on Keras's torch backend.

    Given a mask, Keras 3.15 on torch leaves its fused LSTM and runs the generic RNN
    loop, which calls the LSTM cell as a Keras layer at every time step (input
    projection included): a masked encoder then costs 1.2-1.6 times the unmasked one
    per training step. This loop does the same computation with the input projection
    hoisted out of it, with Keras's rules for masked steps: a masked step keeps the
    previous ``h`` and ``c`` and outputs the previous output (or zeros with
    ``zero_output_for_mask``, as ``Bidirectional`` sets). Same weights and the same
    results as ``keras.layers.LSTM``; every other case (TensorFlow, no mask, dropout)
    is Keras's own path.
    """

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if (
            keras.backend.backend() != "torch"
            or mask is None
            or self.unroll
            or (training and (self.dropout or self.recurrent_dropout))
        ):
            return super().inner_loop(sequences, initial_state, mask, training)
        cell = self.cell
        keep = ops.expand_dims(ops.cast(mask, "bool"), -1)  # (B, S, 1)
        if self.go_backwards:
            sequences, keep = ops.flip(sequences, 1), ops.flip(keep, 1)
        proj = ops.matmul(sequences, cell.kernel)  # every step's input part at once
        if cell.use_bias:
            proj = proj + cell.bias
        h, c = initial_state
        out = ops.zeros_like(h)
        outputs = []
        for t in range(sequences.shape[1]):
            z = proj[:, t] + ops.matmul(h, cell.recurrent_kernel)
            z_i, z_f, z_g, z_o = ops.split(z, 4, axis=-1)
            c_new = cell.recurrent_activation(z_f) * c + cell.recurrent_activation(
                z_i
            ) * cell.activation(z_g)
            h_new = cell.recurrent_activation(z_o) * cell.activation(c_new)
            k = keep[:, t]
            out = ops.where(k, h_new, 0.0 if self.zero_output_for_mask else out)
            h, c = ops.where(k, h_new, h), ops.where(k, c_new, c)
            outputs.append(out)
        sequence = ops.stack(outputs, 1) if self.return_sequences else out[:, None]
        return out, sequence, [h, c]


class Seq2Seq(keras.Model):
    """LSTM encoder-decoder; the encoder's final states start the decoder.

    With ``attention`` ("bahdanau", "luong", "luong-general") each decoder state
    ``h_t`` attends over the encoder outputs and the output layer reads
    ``tanh(W_c [c_t; h_t])`` (Luong et al., 2015). ``bidirectional=True`` reads the
    source both ways (Bahdanau et al., 2015), ``units // 2`` cells each way.
    ``call((src (B, S), tgt_in (B, T)))`` returns logits ``(B, T, V_tgt)``.
    """

    def __init__(
        self,
        src_vocab_size: int,
        tgt_vocab_size: int,
        embed_dim: int = 32,
        units: int = 64,
        attention: str | None = None,
        bidirectional: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        _check_model_args(src_vocab_size, tgt_vocab_size, embed_dim, units, attention)
        self.config = dict(
            src_vocab_size=src_vocab_size,
            tgt_vocab_size=tgt_vocab_size,
            embed_dim=embed_dim,
            units=units,
            attention=attention,
            bidirectional=bidirectional,
        )
        self.src_embed = keras.layers.Embedding(src_vocab_size, embed_dim)
        self.tgt_embed = keras.layers.Embedding(tgt_vocab_size, embed_dim)
        lstm = dict(return_sequences=True, return_state=True)
        if bidirectional:  # forward and backward halves, concatenated
            half = MaskedLSTM(units // 2, **lstm)
            self.encoder = keras.layers.Bidirectional(half, name="encoder")
        else:
            self.encoder = MaskedLSTM(units, name="encoder", **lstm)
        self.decoder = keras.layers.LSTM(units, name="decoder", **lstm)
        self.attention = {
            None: None,
            "bahdanau": BahdanauAttention(units),
            "luong": LuongAttention("dot"),
            "luong-general": LuongAttention("general"),
        }[attention]
        if attention is not None:
            self.combine = keras.layers.Dense(units, activation="tanh", name="W_c")
        self.out = keras.layers.Dense(tgt_vocab_size, name="logits")

    def encode(self, src):
        """``src (B, S)`` -> outputs ``(B, S, units)``, ``[h, c]``, mask ``(B, S)``."""
        mask = ops.not_equal(src, 0)
        outputs, *states = self.encoder(self.src_embed(src), mask=mask)
        if len(states) == 4:  # bidirectional: [h_fwd, c_fwd, h_bwd, c_bwd]
            states = [
                ops.concatenate(states[0::2], -1),
                ops.concatenate(states[1::2], -1),
            ]
        return outputs, states, mask

    def decode(self, tgt_in, states, enc_out, src_mask):
        """Teacher-forced (or one-step) decoding: logits ``(B, T, V)``, new states,
        attention weights ``(B, T, S)`` (None without attention)."""
        dec_out, h, c = self.decoder(self.tgt_embed(tgt_in), initial_state=states)
        weights = None
        if self.attention is not None:
            context, weights = self.attention(dec_out, enc_out, mask=src_mask)
            dec_out = self.combine(ops.concatenate([context, dec_out], axis=-1))
        return self.out(dec_out), [h, c], weights

    def call(self, inputs):
        src, tgt_in = inputs
        enc_out, states, src_mask = self.encode(src)
        return self.decode(tgt_in, states, enc_out, src_mask)[0]

    def get_config(self):
        return dict(self.config)


class DenseAdam(keras.optimizers.Adam):
    """Adam on dense gradients, so that a model trains the same on every backend.

    On TensorFlow the gradient of an embedding lookup arrives as sparse rows
    (``tf.IndexedSlices``), one row per occurrence of an id, and Keras's Adam squares
    those rows *before* adding up repeated ids: its second moment is not Adam's, and
    the same model learns at another pace than on torch. Adding the gradient to zeros
    of the variable's shape sums the rows first (a no-op for dense gradients). On the
    other backends, whose gradients are dense, ``DenseAdam(...)`` is Keras's Adam.
    """

    def __new__(cls, *args, **kwargs):
        if cls is DenseAdam and keras.backend.backend() != "tensorflow":
            # gradients are dense there already: Keras's own Adam, which on torch is
            # its multi-tensor (``torch._foreach``) version, 5-10 % of a step faster
            return keras.optimizers.Adam(*args, **kwargs)
        return super().__new__(cls)

    def update_step(self, gradient, variable, learning_rate):
        gradient = ops.add(gradient, ops.zeros_like(variable))
        super().update_step(gradient, variable, learning_rate)


def _check_model_args(src_vocab_size, tgt_vocab_size, embed_dim, units, attention):
    for name, v in [
        ("src_vocab_size", src_vocab_size),
        ("tgt_vocab_size", tgt_vocab_size),
        ("embed_dim", embed_dim),
        ("units", units),
    ]:
        if isinstance(v, bool) or not isinstance(v, Integral):
            raise TypeError(f"{name} must be an int, got {type(v).__name__}")
        if v < 1:
            raise ValueError(f"{name} must be >= 1, got {v}")
    if attention not in ATTENTIONS:
        raise ValueError(f"attention must be one of {ATTENTIONS}, got {attention!r}")


# --------------------------------------------------------------------- decoding
def _check_decode_args(src, max_len) -> np.ndarray:
    src = np.asarray(src)
    if src.ndim != 2 or not np.issubdtype(src.dtype, np.integer):
        raise ValueError(
            f"src must be an integer array (batch, source), got {src.shape}"
        )
    if isinstance(max_len, bool) or not isinstance(max_len, Integral) or max_len < 1:
        raise ValueError(f"max_len must be a positive int, got {max_len!r}")
    return src.astype("int32")


def greedy_decode(model: Seq2Seq, src, bos_id: int, eos_id: int, max_len: int):
    """Pick the most probable token at each step, one step at a time.

    Returns the token lists (without ``eos``) and attention weights
    ``(B, steps, S)`` (None without attention).
    """
    src = _check_decode_args(src, max_len)
    enc_out, states, mask = model.encode(src)
    tokens = np.full((len(src), 1), bos_id, dtype="int32")
    outputs, maps = [], []
    done = np.zeros(len(src), dtype=bool)
    for _ in range(max_len):
        logits, states, weights = model.decode(tokens, states, enc_out, mask)
        tokens = np.argmax(ops.convert_to_numpy(logits), -1).astype("int32")
        outputs.append(tokens[:, 0])
        if weights is not None:
            maps.append(ops.convert_to_numpy(weights)[:, 0])
        done |= tokens[:, 0] == eos_id
        if done.all():
            break
    steps = np.stack(outputs, 1)
    hyps = []
    for row in steps:
        ends = np.flatnonzero(row == eos_id)
        hyps.append(row[: ends[0]].tolist() if len(ends) else row.tolist())
    return hyps, (np.stack(maps, 1) if maps else None)


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    logits = logits - logits.max(-1, keepdims=True)
    return logits - np.log(np.exp(logits).sum(-1, keepdims=True))


def beam_search(step, state, batch, bos_id, eos_id, beam_width, max_len, alpha=0.0):
    """Beam search over any model given as ``step(tokens (N,), state) ->
    (log_probs (N, V), state)``, where ``state`` is a list of arrays with leading
    dimension ``N = batch * beam_width`` (beams of one example are consecutive).

    A hypothesis ending in ``eos`` among the top ``beam_width`` candidates is finished.
    The winner maximises ``log p(y) / |y|^alpha`` (``|y|`` counts ``eos``; ``alpha=0``:
    no normalisation). An example stops once it has ``beam_width`` finished hypotheses
    and no live one can still beat the best of them: a log-probability only falls, so
    a live score ``s`` can end at most at ``s / max_len^alpha``.
    Returns token lists (without ``eos``) and their scores.
    """
    _check_beam_args(batch, beam_width, max_len, alpha)
    K = beam_width
    scores = np.full((batch, K), -np.inf)
    scores[:, 0] = 0.0
    seqs = np.zeros((batch, K, 0), dtype=np.int64)
    tokens = np.full(batch * K, bos_id, dtype=np.int64)
    finished = [[] for _ in range(batch)]
    done = np.zeros(batch, dtype=bool)
    for t in range(1, max_len + 1):
        logp, state = step(tokens, state)
        V = logp.shape[-1]
        cand = (scores[:, :, None] + logp.reshape(batch, K, V)).reshape(batch, K * V)
        order = np.argsort(-cand, axis=1, kind="stable")[:, : 2 * K]
        new_scores = np.full((batch, K), -np.inf)
        new_seqs = np.zeros((batch, K, t), dtype=np.int64)
        parents = np.zeros((batch, K), dtype=np.int64)
        new_tokens = np.full((batch, K), eos_id, dtype=np.int64)
        for b in range(batch):
            alive = 0
            if done[b]:
                continue
            for rank, flat in enumerate(order[b]):
                beam, tok, s = flat // V, flat % V, cand[b, flat]
                if not np.isfinite(s) or alive == K:
                    break
                if tok == eos_id:
                    if rank < K:
                        finished[b].append((s / t**alpha, seqs[b, beam].tolist()))
                    continue
                new_scores[b, alive], parents[b, alive] = s, beam
                new_seqs[b, alive] = [*seqs[b, beam], tok]
                new_tokens[b, alive] = tok
                alive += 1
            best_live = new_scores[b].max() / max_len**alpha
            best_done = max((score for score, _ in finished[b]), default=-np.inf)
            enough = len(finished[b]) >= K or best_live == -np.inf
            done[b] = enough and best_done >= best_live
        if done.all():
            break
        rows = (np.arange(batch)[:, None] * K + parents).reshape(-1)
        state = [s[rows] for s in state]
        scores, seqs, tokens = new_scores, new_seqs, new_tokens.reshape(-1)
    else:
        for b in range(batch):
            for k in range(K):
                if np.isfinite(scores[b, k]) and not done[b]:
                    finished[b].append(
                        (scores[b, k] / max_len**alpha, seqs[b, k].tolist())
                    )
    best = [max(f, key=lambda x: x[0]) if f else (-np.inf, []) for f in finished]
    return [seq for _, seq in best], np.array([s for s, _ in best])


def _check_beam_args(batch, beam_width, max_len, alpha) -> None:
    for name, v in [("batch", batch), ("beam_width", beam_width), ("max_len", max_len)]:
        if isinstance(v, bool) or not isinstance(v, Integral) or v < 1:
            raise ValueError(f"{name} must be a positive int, got {v!r}")
    if not alpha >= 0:
        raise ValueError(f"alpha must be >= 0, got {alpha}")


def model_beam_search(model, src, bos_id, eos_id, beam_width, max_len, alpha=0.0):
    """:func:`beam_search` with a trained :class:`Seq2Seq` as the step function."""
    src = _check_decode_args(src, max_len)
    enc_out, (h, c), mask = model.encode(src)
    numpy = ops.convert_to_numpy
    state = [np.repeat(numpy(x), beam_width, 0) for x in (h, c, enc_out, mask)]

    def step(tokens, state):
        h, c, enc, m = state
        logits, (h2, c2), _ = model.decode(
            tokens[:, None].astype("int32"), [h, c], enc, m
        )
        logp = _log_softmax(numpy(logits)[:, 0].astype(np.float64))
        return logp, [numpy(h2), numpy(c2), enc, m]

    return beam_search(
        step, state, len(src), bos_id, eos_id, beam_width, max_len, alpha
    )


# ------------------------------------------------------------------- evaluation
def _check_corpus(hyps, refs) -> None:
    if isinstance(hyps, str) or isinstance(refs, str):
        raise TypeError("hyps and refs must be lists of strings, not one string")
    if len(hyps) != len(refs) or not hyps:
        raise ValueError(
            f"need equally many hyps and refs, got {len(hyps)}, {len(refs)}"
        )


def exact_match(hyps, refs) -> float:
    """Fraction of hypotheses equal to their reference."""
    _check_corpus(hyps, refs)
    return float(np.mean([h == r for h, r in zip(hyps, refs)]))


def corpus_bleu(hyps, refs) -> tuple[float, str]:
    """Corpus BLEU (Papineni et al., 2002) and its sacrebleu signature (Post, 2018)."""
    from sacrebleu.metrics import BLEU

    _check_corpus(hyps, refs)
    metric = BLEU()
    return metric.corpus_score(list(hyps), [list(refs)]).score, str(
        metric.get_signature()
    )


def corpus_chrf(hyps, refs) -> tuple[float, str]:
    """Corpus chrF (Popović, 2015) by sacrebleu and its signature."""
    from sacrebleu.metrics import CHRF

    _check_corpus(hyps, refs)
    metric = CHRF()
    return metric.corpus_score(list(hyps), [list(refs)]).score, str(
        metric.get_signature()
    )
