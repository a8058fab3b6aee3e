"""lmbook.gpt2: GPT-2 exactly, checked against transformers' GPT2LMHeadModel."""

import pytest
import torch

from lmbook import decoding as dec
from lmbook import gpt2, presets

transformers = pytest.importorskip("transformers")
torch.set_num_threads(1)


@pytest.fixture(scope="module")
def pair():
    torch.manual_seed(0)
    m = presets.get("ch06-gpt2-tiny", "smoke")["model"]
    config = transformers.GPT2Config(
        vocab_size=m["vocab_size"],
        n_positions=m["context_length"],
        n_embd=m["d_model"],
        n_head=m["num_heads"],
        n_layer=m["num_layers"],
        bos_token_id=0,
        eos_token_id=0,
    )
    hf = transformers.GPT2LMHeadModel(config).eval()
    return hf, gpt2.from_hf(hf)


def test_logits_equal_hugging_face(pair):
    hf, ours = pair
    idx = torch.randint(0, 1000, (3, 40), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        diff = (ours(idx) - hf(idx).logits).abs().max().item()
    assert diff < 1e-5


def test_vocabulary_padding_and_tying(pair):
    _, ours = pair
    assert ours.config.padded_vocab_size == 1024
    assert gpt2.GPT2Config().padded_vocab_size == 50304 == 786 * 64
    assert ours.lm_head.weight is ours.tok_emb.weight
    assert ours(torch.zeros(1, 3, dtype=torch.long)).shape == (1, 3, 1000)
    n_hf = sum(p.numel() for p in pair[0].parameters())
    assert ours.num_parameters() == n_hf + 24 * 64  # 24 padding rows


def test_kv_cache_equals_full_forward(pair):
    _, ours = pair
    idx = torch.randint(0, 1000, (2, 12), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        full = ours(idx)
        cache = ours.new_cache()
        steps = [ours(idx[:, :5], cache)] + [
            ours(idx[:, t : t + 1], cache) for t in range(5, 12)
        ]
    torch.testing.assert_close(torch.cat(steps, dim=1), full, atol=1e-5, rtol=0)


def test_greedy_equals_generate(pair):
    hf, ours = pair
    prompt = torch.tensor([[5, 17, 300, 42]])
    ref = hf.generate(prompt, max_new_tokens=12, do_sample=False, pad_token_id=0)
    assert torch.equal(dec.generate(ours, prompt, 12), ref)
    assert torch.equal(dec.generate(ours, prompt, 12, use_cache=False), ref)


def test_bad_input(pair):
    _, ours = pair
    with pytest.raises(ValueError, match="token ids"):
        ours(torch.tensor([[1000]]))
    with pytest.raises(ValueError, match="exceed the context"):
        ours(torch.zeros(1, 65, dtype=torch.long))
    with pytest.raises(TypeError, match="integer"):
        ours(torch.zeros(1, 3))
    with pytest.raises(ValueError, match="divisible"):
        gpt2.GPT2Config(d_model=10, num_heads=3)
    with pytest.raises(TypeError):
        gpt2.GPT2(object())
    with pytest.raises(TypeError):
        gpt2.from_hf(object())
