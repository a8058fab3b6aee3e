"""lmbook.llama: our LLaMA-style decoder holding SmolLM2's real weights equals
transformers' LlamaForCausalLM. SmolLM2 is loaded once for the module (~20 s)."""

import pytest
import torch

from lmbook import decoding as dec
from lmbook import llama

pytest.importorskip("transformers")
torch.set_num_threads(1)


@pytest.fixture(scope="module")
def smol():
    hf, tokenizer = llama.load_smollm2()
    return hf, llama.from_hf(hf), tokenizer


@pytest.fixture(scope="module")
def prompt(smol):
    text = "The capital of France is Paris. The capital of Germany is"
    return torch.tensor([smol[2].encode(text)])


def test_config_is_smollm2(smol):
    hf, ours, tokenizer = smol
    c = ours.config
    assert (c.d_model, c.num_layers, c.num_heads, c.num_kv_heads) == (576, 30, 9, 3)
    assert c.vocab_size == len(tokenizer) == 49152
    assert ours.num_parameters() == sum(p.numel() for p in hf.parameters())


def test_logits_equal_hugging_face(smol, prompt):
    hf, ours, _ = smol
    with torch.no_grad():
        diff = (ours(prompt) - hf(prompt).logits).abs().max().item()
    assert diff < 1e-4


def test_greedy_equals_generate_and_cache(smol, prompt):
    hf, ours, tokenizer = smol
    ref = hf.generate(prompt, max_new_tokens=8, do_sample=False)
    cached = dec.generate(ours, prompt, 8)
    assert torch.equal(cached, ref)
    assert torch.equal(dec.generate(ours, prompt, 8, use_cache=False), cached)
    assert "Berlin" in tokenizer.decode(cached[0, prompt.size(1) :])
    assert torch.equal(dec.generate(dec.HuggingFaceLM(hf), prompt, 8), ref)


def test_beam_one_is_greedy(smol, prompt):
    _, ours, _ = smol
    beam, _ = dec.beam_search(ours, prompt, 5, num_beams=1)
    assert torch.equal(beam, dec.generate(ours, prompt, 5))


def test_parts_on_random_weights():
    torch.manual_seed(0)
    config = llama.LlamaConfig(
        vocab_size=50,
        context_length=32,
        d_model=32,
        num_heads=4,
        num_kv_heads=2,
        num_layers=2,
        d_ff=48,
    )
    model = llama.Llama(config).eval()
    idx = torch.randint(0, 50, (2, 10))
    with torch.no_grad():
        full = model(idx)
        cache = model.new_cache()
        parts = torch.cat([model(idx[:, :4], cache), model(idx[:, 4:], cache)], dim=1)
    torch.testing.assert_close(parts, full, atol=1e-5, rtol=0)
    # rotation keeps norms; RMSNorm output has unit root-mean-square
    x = torch.randn(1, 2, 5, 8)
    cos, sin = llama.rope_angles(torch.arange(5), 8, 10000.0)
    torch.testing.assert_close(
        llama.apply_rope(x, cos, sin).norm(dim=-1), x.norm(dim=-1)
    )
    y = llama.RMSNorm(8)(torch.randn(3, 8) * 5)
    torch.testing.assert_close(y.pow(2).mean(-1), torch.ones(3), atol=1e-4, rtol=0)


def test_bad_config():
    with pytest.raises(ValueError, match="multiple"):
        llama.LlamaConfig(num_heads=9, num_kv_heads=2)
    with pytest.raises(TypeError):
        llama.LlamaConfig(d_model=5.0)
    with pytest.raises(TypeError):
        llama.Llama("config")


def test_tokenizer_has_the_gguf_files_special_tokens(smol):
    hf, _, tokenizer = smol
    assert tokenizer("hello")["input_ids"] == [28120], "no BOS token prepended"
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.pad_token == "<|im_end|>"
    assert tokenizer.pad_token_id == hf.config.pad_token_id == 2


class Transformers4Tokenizer:
    """What transformers 4.57's GGUF reader returns for SmolLM2 (measured in a
    Colab-like environment): BOS added to every encoding, eos <|im_start|>, no pad."""

    vocab = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "hello"]

    def __init__(self):
        self.add_bos_token, self.eos_token, self.pad_token = True, "<|im_start|>", None

    def __len__(self):
        return len(self.vocab)

    def convert_ids_to_tokens(self, index):
        return self.vocab[index]


def test_use_gguf_special_tokens_fixes_a_transformers_4_tokenizer():
    from types import SimpleNamespace

    config = SimpleNamespace(eos_token_id=2, pad_token_id=2)
    tokenizer = llama.use_gguf_special_tokens(Transformers4Tokenizer(), config)
    assert tokenizer.add_bos_token is False
    assert tokenizer.eos_token == tokenizer.pad_token == "<|im_end|>"


@pytest.mark.parametrize(
    "tokenizer, eos, error",
    [
        ("not a tokenizer", 2, TypeError),
        (Transformers4Tokenizer(), None, ValueError),
        (Transformers4Tokenizer(), True, ValueError),
        (Transformers4Tokenizer(), 4, ValueError),
    ],
)
def test_use_gguf_special_tokens_rejects_bad_input(tokenizer, eos, error):
    from types import SimpleNamespace

    with pytest.raises(error):
        llama.use_gguf_special_tokens(
            tokenizer, SimpleNamespace(eos_token_id=eos, pad_token_id=2)
        )
