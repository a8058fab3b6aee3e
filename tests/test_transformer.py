"""Tests of lmbook.transformer: attention parity with PyTorch, causality, encodings, the
GPT model.
"""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lmbook import transformer as tfm

torch.set_num_threads(1)


def _rand(*shape, seed=0):
    return torch.randn(
        *shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64
    )


# ---------------------------------------------------------------------------- attention
@pytest.mark.parametrize("is_causal", [False, True])
@pytest.mark.parametrize("shape", [(2, 3, 5, 8), (1, 1, 7, 3), (4, 1, 4)])
def test_attention_equals_torch_sdpa(shape, is_causal):
    q, k, v = _rand(*shape, seed=1), _rand(*shape, seed=2), _rand(*shape, seed=3)
    ours = tfm.scaled_dot_product_attention(q, k, v, is_causal=is_causal)
    ref = F.scaled_dot_product_attention(q, k, v, is_causal=is_causal)
    torch.testing.assert_close(ours, ref, atol=1e-10, rtol=0)


def test_attention_with_masks_and_different_lengths_equals_torch_sdpa():
    q, k, v = (
        _rand(2, 2, 3, 4, seed=1),
        _rand(2, 2, 6, 4, seed=2),
        _rand(2, 2, 6, 5, seed=3),
    )
    padding = torch.tensor([[True] * 6, [True] * 4 + [False] * 2]).view(2, 1, 1, 6)
    torch.testing.assert_close(
        tfm.scaled_dot_product_attention(q, k, v, padding),
        F.scaled_dot_product_attention(q, k, v, attn_mask=padding),
        atol=1e-10,
        rtol=0,
    )
    additive = _rand(3, 6, seed=4)
    torch.testing.assert_close(
        tfm.scaled_dot_product_attention(q, k, v, additive),
        F.scaled_dot_product_attention(q, k, v, attn_mask=additive),
        atol=1e-10,
        rtol=0,
    )
    torch.testing.assert_close(
        tfm.scaled_dot_product_attention(q, k, v, is_causal=True),
        F.scaled_dot_product_attention(q, k, v, is_causal=True),
        atol=1e-10,
        rtol=0,
    )


def test_attention_weights_are_distributions_and_respect_the_mask():
    q, k, v = _rand(1, 5, 4, seed=1), _rand(1, 5, 4, seed=2), _rand(1, 5, 4, seed=3)
    out, w = tfm.scaled_dot_product_attention(
        q, k, v, is_causal=True, return_weights=True
    )
    torch.testing.assert_close(w.sum(-1), torch.ones(1, 5, dtype=torch.float64))
    assert torch.all(w[0].triu(1) == 0)
    torch.testing.assert_close(out, w @ v)


def test_attention_bad_input():
    x = torch.zeros(2, 3, 4)
    with pytest.raises(TypeError, match="query"):
        tfm.scaled_dot_product_attention([[1.0]], x, x)
    with pytest.raises(ValueError, match="d_k"):
        tfm.scaled_dot_product_attention(x, torch.zeros(2, 3, 5), x)
    with pytest.raises(ValueError, match="positions"):
        tfm.scaled_dot_product_attention(x, x, torch.zeros(2, 2, 4))
    with pytest.raises(ValueError, match="broadcast"):
        tfm.scaled_dot_product_attention(x, x, x, torch.ones(5, 5, dtype=torch.bool))
    with pytest.raises(TypeError, match="boolean or floating"):
        tfm.scaled_dot_product_attention(x, x, x, torch.ones(3, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="dropout_p"):
        tfm.scaled_dot_product_attention(x, x, x, dropout_p=1.0)


def test_causal_mask():
    assert tfm.causal_mask(3).tolist() == [
        [True, False, False],
        [True, True, False],
        [True, True, True],
    ]
    assert tfm.causal_mask(2, 3).tolist() == [[True, False, False], [True, True, False]]
    with pytest.raises(ValueError, match="num_queries"):
        tfm.causal_mask(0)
    with pytest.raises(TypeError, match="num_keys"):
        tfm.causal_mask(2, 2.0)


# ----------------------------------------------------------------- multi-head attention
def _mha_pair(d_model, num_heads, bias=True):
    torch.manual_seed(0)
    ours = tfm.MultiHeadAttention(d_model, num_heads, bias=bias, causal=False).double()
    ref = nn.MultiheadAttention(
        d_model, num_heads, bias=bias, batch_first=True
    ).double()
    with torch.no_grad():
        ref.in_proj_weight.copy_(ours.qkv.weight)
        ref.out_proj.weight.copy_(ours.out.weight)
        if bias:
            ref.in_proj_bias.copy_(ours.qkv.bias)
            ref.out_proj.bias.copy_(ours.out.bias)
    return ours.eval(), ref.eval()


@pytest.mark.parametrize(
    "d_model,num_heads,bias", [(12, 3, True), (8, 1, False), (10, 5, True)]
)
def test_multi_head_attention_equals_torch(d_model, num_heads, bias):
    ours, ref = _mha_pair(d_model, num_heads, bias)
    x = _rand(2, 7, d_model, seed=5)
    expected, _ = ref(x, x, x, need_weights=False)
    torch.testing.assert_close(ours(x), expected, atol=1e-10, rtol=0)
    # causal: nn.MultiheadAttention's boolean mask is True where attention is
    # *forbidden*
    ours.causal = True
    expected, _ = ref(x, x, x, attn_mask=~tfm.causal_mask(7), need_weights=False)
    torch.testing.assert_close(ours(x), expected, atol=1e-10, rtol=0)
    ours.impl = "sdpa"
    torch.testing.assert_close(ours(x), expected, atol=1e-10, rtol=0)


def test_multi_head_attention_padding_mask_equals_torch():
    ours, ref = _mha_pair(12, 4)
    x = _rand(2, 5, 12, seed=6)
    pad = torch.tensor(
        [[False] * 5, [False] * 3 + [True] * 2]
    )  # True = padding (PyTorch's convention)
    expected, _ = ref(x, x, x, key_padding_mask=pad, need_weights=False)
    torch.testing.assert_close(
        ours(x, mask=~pad[:, None, None, :]), expected, atol=1e-10, rtol=0
    )


def test_multi_head_attention_keeps_weights_and_checks_input():
    mha = tfm.MultiHeadAttention(8, 2).eval()
    mha(torch.randn(3, 4, 8), keep_weights=True)
    assert mha.last_weights.shape == (3, 2, 4, 4)
    with pytest.raises(ValueError, match="divisible"):
        tfm.MultiHeadAttention(10, 3)
    with pytest.raises(ValueError, match="impl"):
        tfm.MultiHeadAttention(8, 2, impl="flash")
    with pytest.raises(ValueError, match="d_model=8"):
        mha(torch.randn(3, 4, 6))


# ----------------------------------------------------------------------------- position
@pytest.mark.parametrize("d_model", [6, 7, 1])
def test_sinusoidal_encoding_formula(d_model):
    pe = tfm.sinusoidal_encoding(10, d_model)
    assert pe.shape == (10, d_model)
    for pos in (0, 3, 9):
        for j in range(d_model):
            angle = pos / 10000 ** (2 * (j // 2) / d_model)
            expected = math.sin(angle) if j % 2 == 0 else math.cos(angle)
            assert pe[pos, j].item() == pytest.approx(expected, abs=1e-6)
    with pytest.raises(ValueError, match="max_len"):
        tfm.sinusoidal_encoding(0, 4)
    with pytest.raises(TypeError, match="d_model"):
        tfm.sinusoidal_encoding(4, 2.5)


def test_sinusoidal_module_adds_the_table():
    enc = tfm.SinusoidalPositionalEncoding(8, 4)
    x = torch.zeros(2, 5, 4)
    torch.testing.assert_close(enc(x)[1], tfm.sinusoidal_encoding(8, 4)[:5])
    with pytest.raises(ValueError, match="max_len"):
        enc(torch.zeros(1, 9, 4))


# -------------------------------------------------------------------------------- model
def _tiny(**kw):
    cfg = dict(vocab_size=11, context_length=8, d_model=16, num_heads=2, num_layers=2)
    cfg.update(kw)
    return tfm.GPTConfig(**cfg)


@pytest.mark.parametrize("pos", ["learned", "sinusoidal"])
@pytest.mark.parametrize("attention", ["ours", "sdpa"])
def test_causal_lm_leaks_nothing_from_the_future(pos, attention):
    torch.manual_seed(0)
    model = tfm.GPT(_tiny(pos_encoding=pos, attention=attention)).double().eval()
    idx = torch.randint(0, 11, (2, 8))
    changed = idx.clone()
    changed[:, 5:] = (changed[:, 5:] + 1) % 11
    a, _ = model(idx)
    b, _ = model(changed)
    torch.testing.assert_close(a[:, :5], b[:, :5], atol=0, rtol=0)
    assert not torch.allclose(a[:, 5:], b[:, 5:])


def test_gpt_shapes_loss_and_parameter_count():
    model = tfm.GPT(_tiny())
    idx = torch.randint(0, 11, (3, 8))
    logits, loss = model(idx, torch.randint(0, 11, (3, 8)))
    assert logits.shape == (3, 8, 11)
    assert loss.item() == pytest.approx(
        math.log(11), rel=0.05
    )  # small init: near-uniform predictions
    d, V, T, L = 16, 11, 8, 2
    per_block = (
        (4 * d)
        + (3 * d * d + 3 * d)
        + (d * d + d)
        + (4 * d * d + 4 * d)
        + (4 * d * d + d)
    )
    assert model.num_parameters() == V * d + T * d + L * per_block + 2 * d
    assert model.num_parameters(non_embedding=True) == L * per_block + 2 * d
    n = L * per_block + 2 * d + V * d
    assert model.flops_per_token() == 3 * (2 * n + 4 * L * T * d)
    assert (
        model.flops_per_token(training=False, context_length=4) == 2 * n + 4 * L * 4 * d
    )


def test_gpt_bad_configs_and_inputs_raise_clear_errors():
    with pytest.raises(
        ValueError, match=r"d_model \(10\) must be divisible by num_heads \(4\)"
    ):
        tfm.GPTConfig(vocab_size=5, d_model=10, num_heads=4)
    with pytest.raises(ValueError, match="pos_encoding"):
        _tiny(pos_encoding="rotary")
    with pytest.raises(TypeError, match="vocab_size"):
        _tiny(vocab_size=5.0)
    with pytest.raises(ValueError, match="dropout"):
        _tiny(dropout=1.5)
    model = tfm.GPT(_tiny())
    with pytest.raises(ValueError, match="exceeds the model's context_length 8"):
        model(torch.zeros(1, 9, dtype=torch.long))
    with pytest.raises(TypeError, match="integer"):
        model(torch.zeros(1, 4))
    with pytest.raises(ValueError, match="targets"):
        model(torch.zeros(1, 4, dtype=torch.long), torch.zeros(1, 3, dtype=torch.long))
    with pytest.raises(TypeError, match="GPTConfig"):
        tfm.GPT({"vocab_size": 5})


def test_tiny_model_overfits_one_batch():
    torch.manual_seed(0)
    model = tfm.GPT(_tiny())
    idx = torch.randint(0, 11, (4, 9))
    x, y = idx[:, :-1], idx[:, 1:]
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    _, first = model(x, y)
    for _ in range(150):
        _, loss = model(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert first.item() > 2.0 and loss.item() < 0.05


def test_generate_and_attention_maps():
    torch.manual_seed(0)
    model = tfm.GPT(_tiny())
    start = torch.zeros(2, 3, dtype=torch.long)
    out = model.generate(start, 10, generator=torch.Generator().manual_seed(0))
    assert out.shape == (2, 13) and torch.equal(out[:, :3], start)
    again = model.generate(start, 10, generator=torch.Generator().manual_seed(0))
    assert torch.equal(out, again)
    greedy = model.generate(start, 4, temperature=0)
    logits, _ = model(start)
    assert torch.equal(greedy[:, 3], logits[:, -1].argmax(-1))
    top1 = model.generate(start, 4, top_k=1, generator=torch.Generator().manual_seed(1))
    assert torch.equal(top1, greedy)
    maps = model.attention_maps(torch.arange(5))
    assert maps.shape == (2, 2, 5, 5)
    torch.testing.assert_close(maps.sum(-1), torch.ones(2, 2, 5))
    assert torch.all(maps.triu(1) == 0)
    with pytest.raises(ValueError, match="max_new_tokens"):
        model.generate(start, -1)
    with pytest.raises(ValueError, match="top_k"):
        model.generate(start, 1, top_k=0)
    with pytest.raises(ValueError, match="one sequence"):
        model.attention_maps(torch.zeros(2, 3, dtype=torch.long))


# ----------------------------------------------------------------- GPU benchmark script
def test_gpu_benchmark_smoke_run_writes_the_json(tmp_path):
    import importlib.util
    import json
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "transformer_gpu.py"
    spec = importlib.util.spec_from_file_location("transformer_gpu", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "gpu.json"
    module.main(["--smoke", "--out", str(out)])
    result = json.loads(out.read_text())
    assert result["smoke"] is True and result["peak_bf16_tflops"] > 0
    for part in ("char", "gpt2_small"):
        assert result[part]["tokens_per_s"] > 0 and 0 < result[part]["mfu"]
    assert result["char"]["steps"] == 20 and math.isfinite(result["char"]["val_loss"])
    assert (
        result["gpt2_small"]["flops_per_token"]
        > 6 * result["gpt2_small"]["parameters"] * 0.5
    )
    assert 1 < result["ptb"]["test_perplexity"] < 1e5
