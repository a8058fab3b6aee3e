"""lmbook.seq2seq: attention layers and masks, decoding, metrics."""

import itertools
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from lmbook import seq2seq as s2s

keras.utils.set_random_seed(0)


def _inputs(batch=3, t=4, s=6, d=8, seed=0):
    rng = np.random.default_rng(seed)
    query = rng.normal(size=(batch, t, d)).astype("float32")
    value = rng.normal(size=(batch, s, d)).astype("float32")
    lengths = np.array([s, 3, 1])[:batch]
    mask = np.arange(s)[None, :] < lengths[:, None]
    return query, value, mask


@pytest.mark.parametrize(
    "layer",
    [
        s2s.BahdanauAttention(5),
        s2s.LuongAttention("dot"),
        s2s.LuongAttention("general"),
    ],
)
def test_weights_sum_to_one_and_ignore_padding(layer):
    query, value, mask = _inputs()
    context, weights = layer(query, value, mask=mask)
    weights = keras.ops.convert_to_numpy(weights)
    assert weights.shape == (3, 4, 6)
    np.testing.assert_allclose(weights.sum(-1), 1.0, rtol=1e-5)
    assert np.all(weights[~np.broadcast_to(mask[:, None], weights.shape)] == 0)
    # changing what sits under the padding changes nothing
    noisy = value.copy()
    noisy[~mask] = 99.0
    context2, weights2 = layer(query, noisy, mask=mask)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(context2), context, atol=1e-5)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(weights2), weights, atol=1e-6)


def test_bahdanau_has_learned_projections():
    layer = s2s.BahdanauAttention(5)
    layer(*_inputs()[:2])
    shapes = sorted(tuple(w.shape) for w in layer.trainable_weights)
    assert shapes == [(5, 1), (8, 5), (8, 5)]


def test_luong_dot_equals_keras_attention():
    query, value, mask = _inputs()
    ours, our_w = s2s.LuongAttention("dot")(query, value, mask=mask)
    ref, ref_w = keras.layers.Attention()(
        [query, value], mask=[None, mask], return_attention_scores=True
    )
    np.testing.assert_allclose(ours, keras.ops.convert_to_numpy(ref), atol=1e-5)
    np.testing.assert_allclose(our_w, keras.ops.convert_to_numpy(ref_w), atol=1e-6)


_BACKEND_SCRIPT = """
import json, sys
import keras, numpy as np
from lmbook import seq2seq as s2s
rng = np.random.default_rng(0)
q = rng.normal(size=(2, 3, 4)).astype("float32")
v = rng.normal(size=(2, 5, 4)).astype("float32")
mask = np.array([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0]], bool)
layer = s2s.BahdanauAttention(3)
layer(q, v, mask=mask)
for w, x in zip(layer.weights, [rng.normal(size=w.shape) for w in layer.weights]):
    w.assign(x.astype("float32"))
ctx, w = layer(q, v, mask=mask)
model = s2s.Seq2Seq(7, 6, 4, 5, attention="luong")
src = np.array([[3, 4, 5, 0, 0], [3, 0, 0, 0, 0]], "int32")
model((src, np.ones((2, 2), "int32")))
model.set_weights([rng.normal(size=x.shape).astype("f4") for x in model.get_weights()])
logits = model((src, np.array([[1, 2], [1, 3]], "int32")))
padded = np.array([[3, 4, 5, 0, 0, 0, 0], [3, 0, 0, 0, 0, 0, 0]], "int32")
logits2 = model((padded, np.array([[1, 2], [1, 3]], "int32")))
print(json.dumps({"backend": keras.backend.backend(),
                  "w": keras.ops.convert_to_numpy(w).tolist(),
                  "ctx": keras.ops.convert_to_numpy(ctx).tolist(),
                  "logits": keras.ops.convert_to_numpy(logits).tolist(),
                  "logits_padded": keras.ops.convert_to_numpy(logits2).tolist()}))
"""


def _run_backend(backend, script=_BACKEND_SCRIPT):
    env = {**os.environ, "KERAS_BACKEND": backend}
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_masks_agree_on_tensorflow_and_torch():
    tf_out, torch_out = _run_backend("tensorflow"), _run_backend("torch")
    assert (tf_out["backend"], torch_out["backend"]) == ("tensorflow", "torch")
    for key in ("w", "ctx", "logits", "logits_padded"):
        np.testing.assert_allclose(tf_out[key], torch_out[key], atol=1e-4)
    w = np.array(tf_out["w"])
    assert np.all(w[1, :, 2:] == 0)
    # extra padding at the end of the source changes nothing, on both backends
    for out in (tf_out, torch_out):
        np.testing.assert_allclose(out["logits"], out["logits_padded"], atol=1e-5)


_MASKED_LSTM_SCRIPT = """
import json
import keras, numpy as np
from lmbook import seq2seq as s2s
rng = np.random.default_rng(0)
x = rng.normal(size=(3, 6, 4)).astype("float32")
mask = np.array([[1] * 6, [1] * 4 + [0] * 2, [1] + [0] * 5], bool)
init = [rng.normal(size=(3, 5)).astype("float32") for _ in range(2)]
cases = []
for backwards in (False, True):
    for zero_out in (False, True):
        for sequences in (True, False):
            kw = dict(return_sequences=sequences, return_state=True,
                      go_backwards=backwards, zero_output_for_mask=zero_out)
            ours, theirs = s2s.MaskedLSTM(5, **kw), keras.layers.LSTM(5, **kw)
            ours(x, mask=mask), theirs(x, mask=mask)
            w = [rng.normal(size=v.shape).astype("float32") for v in theirs.get_weights()]
            ours.set_weights(w), theirs.set_weights(w)
            for state in (None, init):
                a = ours(x, mask=mask, initial_state=state)
                b = theirs(x, mask=mask, initial_state=state)
                cases.append(max(float(np.abs(keras.ops.convert_to_numpy(u)
                                              - keras.ops.convert_to_numpy(v)).max())
                                 for u, v in zip(a, b)))
grads = {}
if keras.backend.backend() == "torch":
    import torch
    for name, layer in [("ours", ours), ("theirs", theirs)]:
        layer.set_weights(w)
        xt = torch.tensor(x, requires_grad=True)
        out = layer(xt, mask=torch.tensor(mask))
        sum(o.sum() for o in out).backward()
        grads[name] = [xt.grad.numpy()] + [v.value.grad.numpy() for v in layer.weights]
    cases.append(max(float(np.abs(g1 - g2).max())
                     for g1, g2 in zip(grads["ours"], grads["theirs"])))
print(json.dumps({"backend": keras.backend.backend(), "diff": cases}))
"""


@pytest.mark.parametrize("backend", ["torch", "tensorflow"])
def test_masked_lstm_equals_keras_lstm(backend):
    """``MaskedLSTM`` (its own loop on torch, Keras's on TensorFlow) gives Keras's
    outputs, states and, on torch, gradients: forwards and backwards, zero or carried
    outputs at masked steps, all outputs or the last, with and without initial state."""
    out = _run_backend(backend, _MASKED_LSTM_SCRIPT)
    assert out["backend"] == backend
    assert len(out["diff"]) == 16 + (backend == "torch")
    assert max(out["diff"]) < 1e-5, out["diff"]


_TRAIN_SCRIPT = """
import json, warnings
import keras, numpy as np
from lmbook import seq2seq as s2s
warnings.simplefilter("error", UserWarning)  # e.g. a layer Keras cannot build
rng = np.random.default_rng(0)
src = rng.integers(1, 9, size=(32, 6)).astype("int32")
src[::2, 4:] = 0  # padding; ids repeat, so TensorFlow's embedding gradient is sparse
tgt_in = rng.integers(1, 7, size=(32, 5)).astype("int32")
tgt_out = rng.integers(1, 7, size=(32, 5)).astype("int32")
out = {"backend": keras.backend.backend()}
for attention, bidirectional in [("bahdanau", True), ("luong-general", False)]:
    model = s2s.Seq2Seq(9, 7, 4, 6, attention=attention, bidirectional=bidirectional)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0)
    model.compile(optimizer="sgd", loss=loss)
    model.fit((src[:8], tgt_in[:8]), tgt_out[:8], verbose=0)  # fit builds the model
    init = np.random.default_rng(1)
    model.set_weights([0.3 * init.normal(size=w.shape) for w in model.get_weights()])
    model.compile(optimizer=s2s.DenseAdam(1e-2), loss=loss)
    history = model.fit((src, tgt_in), tgt_out, batch_size=8, epochs=2,
                        shuffle=False, verbose=0)
    out[attention] = {"loss": history.history["loss"],
                      "weights": [w.tolist() for w in model.get_weights()]}
print(json.dumps(out))
"""


def test_training_agrees_on_tensorflow_and_torch():
    """Two epochs of DenseAdam from the same weights end at the same weights on both
    backends (Keras's own Adam does not: on TensorFlow it treats an embedding's
    gradient as sparse rows); no warning is raised, e.g. about unbuilt layers."""
    tf_out = _run_backend("tensorflow", _TRAIN_SCRIPT)
    torch_out = _run_backend("torch", _TRAIN_SCRIPT)
    for attention in ("bahdanau", "luong-general"):
        a, b = tf_out[attention], torch_out[attention]
        np.testing.assert_allclose(a["loss"], b["loss"], rtol=1e-4)
        for wa, wb in zip(a["weights"], b["weights"]):
            np.testing.assert_allclose(wa, wb, atol=1e-4)


def _tiny_model(attention="bahdanau"):
    keras.utils.set_random_seed(1)
    model = s2s.Seq2Seq(6, 5, 4, 8, attention=attention)
    src = np.array([[3, 4, 5, 0], [5, 5, 0, 0], [4, 0, 0, 0]], "int32")
    model((src, np.ones((3, 1), "int32")))
    rng = np.random.default_rng(3)
    model.set_weights([2 * rng.normal(size=w.shape) for w in model.get_weights()])
    return model, src


def test_teacher_forcing_equals_step_by_step():
    model, src = _tiny_model()
    tgt = np.array([[1, 3, 4, 2]] * 3, "int32")
    full = keras.ops.convert_to_numpy(model((src, tgt)))
    enc, states, mask = model.encode(src)
    for t in range(4):
        logits, states, _ = model.decode(tgt[:, t : t + 1], states, enc, mask)
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(logits)[:, 0], full[:, t], atol=1e-5
        )


@pytest.mark.parametrize("attention", [None, "bahdanau", "luong"])
def test_beam_one_equals_greedy(attention):
    model, src = _tiny_model(attention)
    greedy, _ = s2s.greedy_decode(model, src, 1, 2, 6)
    beam, _ = s2s.model_beam_search(model, src, 1, 2, beam_width=1, max_len=6)
    assert beam == greedy


def _markov_step(table):
    def step(tokens, state):
        (pos,) = state
        return table[pos, tokens], [pos + 1]

    return step


def _exhaustive(table, bos, eos, max_len):
    V = table.shape[-1]
    best = (-np.inf, None)
    for n in range(1, max_len + 1):
        for seq in itertools.product(range(V), repeat=n):
            if eos in seq[:-1] or (n < max_len and seq[-1] != eos):
                continue
            prev, score = bos, 0.0
            for t, tok in enumerate(seq):
                score += table[t, prev, tok]
                prev = tok
            body = list(seq[:-1]) if seq[-1] == eos else list(seq)
            best = max(best, (score, body), key=lambda x: x[0])
    return best


@pytest.mark.parametrize("seed", range(5))
def test_beam_finds_the_best_sequence_by_exhaustive_search(seed):
    rng = np.random.default_rng(seed)
    V, max_len = 4, 4
    logits = rng.normal(size=(max_len, V, V)) * 2
    table = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    best_score, best_seq = _exhaustive(table, 0, 1, max_len)
    state = [np.zeros(64, dtype=np.int64)]
    seqs, scores = s2s.beam_search(_markov_step(table), state, 1, 0, 1, 64, max_len)
    assert seqs[0] == best_seq
    assert scores[0] == pytest.approx(best_score)
    # greedy (beam 1) is never better
    g, g_score = s2s.beam_search(
        _markov_step(table), [np.zeros(1, np.int64)], 1, 0, 1, 1, max_len
    )
    assert g_score[0] <= best_score + 1e-12


def test_beam_keeps_going_while_a_live_hypothesis_can_still_win():
    # bos=0, eos=1, a=2, b=3. "a a a a" is likely and ends at step 5; the "b..." beam
    # finishes a weak hypothesis at every step. Stopping at beam_width finished ones
    # would return [3] (log p -1.6), worse than greedy's [2, 2, 2, 2] (log p -0.5).
    V, max_len = 4, 5
    probs = np.full((max_len, V, V), 0.25)
    probs[0, 0] = [1e-6, 1e-6, 0.6, 0.4]
    probs[:, 2] = [1e-6, 5e-4, 0.999, 5e-4]
    probs[4, 2] = [1e-6, 0.999, 5e-4, 5e-4]
    probs[:, 3] = [1e-6, 0.5, 1e-6, 0.5]
    table = np.log(probs / probs.sum(-1, keepdims=True))
    state = lambda k: [np.zeros(k, np.int64)]  # noqa: E731
    greedy, g_score = s2s.beam_search(
        _markov_step(table), state(1), 1, 0, 1, 1, max_len
    )
    beam, b_score = s2s.beam_search(_markov_step(table), state(2), 1, 0, 1, 2, max_len)
    assert greedy == beam == [[2, 2, 2, 2]]
    assert b_score[0] == pytest.approx(g_score[0])


def test_length_normalisation_prefers_longer_hypotheses():
    # eos early is likely; a long path is each step likely too
    V, max_len = 3, 3
    table = np.log(np.full((max_len, V, V), 1e-3))
    table[0, 0] = np.log([1e-3, 0.4, 0.599])  # from bos: eos 0.4, token 2 0.6
    table[1:, 2] = np.log([1e-3, 0.3, 0.699])
    state = lambda: [np.zeros(8, np.int64)]  # noqa: E731
    plain, _ = s2s.beam_search(_markov_step(table), state(), 1, 0, 1, 8, max_len, 0.0)
    normed, _ = s2s.beam_search(_markov_step(table), state(), 1, 0, 1, 8, max_len, 1.0)
    assert plain[0] == [] and len(normed[0]) >= 2


def test_metrics_match_sacrebleu():
    import sacrebleu

    hyps = ["the cat sat on the mat", "hello there"]
    refs = ["the cat sat on a mat", "hello there"]
    bleu, signature = s2s.corpus_bleu(hyps, refs)
    assert bleu == pytest.approx(sacrebleu.corpus_bleu(hyps, [refs]).score)
    assert signature.startswith("nrefs:1")
    chrf, _ = s2s.corpus_chrf(hyps, refs)
    assert chrf == pytest.approx(sacrebleu.corpus_chrf(hyps, [refs]).score)
    assert s2s.exact_match(hyps, refs) == 0.5


def test_bad_input_raises_clear_errors():
    with pytest.raises(ValueError, match="attention"):
        s2s.Seq2Seq(5, 5, attention="cosine")
    with pytest.raises(TypeError, match="units"):
        s2s.Seq2Seq(5, 5, units=2.5)
    with pytest.raises(ValueError, match="score"):
        s2s.LuongAttention("additive")
    with pytest.raises(ValueError, match="mask"):
        s2s.BahdanauAttention(3)(*_inputs()[:2], mask=np.ones((3, 2), bool))
    with pytest.raises(ValueError, match="batch, time"):
        s2s.LuongAttention()(np.ones((2, 3)), np.ones((2, 3, 4)))
    with pytest.raises(ValueError, match="equally many"):
        s2s.corpus_bleu(["a"], ["a", "b"])
    with pytest.raises(TypeError, match="lists of strings"):
        s2s.exact_match("abc", "abc")
    with pytest.raises(ValueError, match="beam_width"):
        s2s.beam_search(None, [], 1, 0, 1, 0, 3)
    with pytest.raises(ValueError, match="max_len"):
        s2s.greedy_decode(None, np.ones((2, 3), "int32"), 1, 2, 0)
    with pytest.raises(ValueError, match="shorter"):
        s2s.pad_sequences([[1, 2, 3]], length=2)


def test_gpu_script_smoke_run_writes_the_json(tmp_path):
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[1]
    out = tmp_path / "seq2seq.json"
    env = {**os.environ, "KERAS_BACKEND": "torch"}
    script = root / "benchmarks" / "seq2seq_gpu.py"
    run = subprocess.run(
        [sys.executable, str(script), "--smoke", "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(out.read_text())
    assert result["smoke"] is True and result["backend"] == "torch"
    for task in ("dates", "translation"):
        part = result[task]
        assert part["preset"]["profile"] == "smoke"
        assert 0 <= part["exact_match"] <= 1 and 0 <= part["chrf"] <= 100
        assert part["bleu_signature"].startswith("nrefs:1")
    assert {"device", "versions", "date", "command"} <= set(result)
