"""A LLaMA-family decoder (Touvron et al., 2023), the layout of SmolLM2 (chapter 6).

Four changes to GPT-2: RMSNorm instead of LayerNorm (Zhang & Sennrich, 2019); rotary
position embeddings that rotate queries and keys (Su et al., 2021) instead of a learned
position table; a SwiGLU feed-forward layer (Shazeer, 2020); grouped-query attention, in
which several query heads share one key/value head (Ainslie et al., 2023). No biases.
Shapes: ``B`` batch, ``T`` new positions, ``S`` all positions, ``H`` query heads,
``G`` key/value heads, ``K`` head width, ``D`` model width, ``V`` vocabulary.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from lmbook.decoding import KVCache, check_ids
from lmbook.gpt2 import cached_causal_mask

__all__ = [
    "LlamaConfig",
    "RMSNorm",
    "rope_angles",
    "apply_rope",
    "SwiGLU",
    "GroupedQueryAttention",
    "LlamaBlock",
    "Llama",
    "config_from_hf",
    "from_hf",
    "load_smollm2",
    "use_gguf_special_tokens",
]


@dataclass
class LlamaConfig:
    """Sizes of a LLaMA-style decoder (defaults: SmolLM2-135M)."""

    vocab_size: int = 49152
    context_length: int = 8192
    d_model: int = 576
    num_heads: int = 9
    num_kv_heads: int = 3
    num_layers: int = 30
    d_ff: int = 1536
    rope_theta: float = 100000.0
    rms_eps: float = 1e-5
    tie_weights: bool = True

    def __post_init__(self) -> None:
        for name in ("vocab_size", "context_length", "d_model", "num_heads"):
            _check_positive_int(getattr(self, name), name)
        for name in ("num_kv_heads", "num_layers", "d_ff"):
            _check_positive_int(getattr(self, name), name)
        if self.d_model % self.num_heads:
            raise ValueError(
                f"d_model {self.d_model} not divisible by {self.num_heads}"
            )
        if self.num_heads % self.num_kv_heads:
            raise ValueError(
                f"num_heads ({self.num_heads}) must be a multiple of "
                f"num_kv_heads ({self.num_kv_heads})"
            )
        if (self.d_model // self.num_heads) % 2:
            raise ValueError("the head width must be even for rotary embeddings")


def _check_positive_int(value: object, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}")


class RMSNorm(nn.Module):
    """x / sqrt(mean(x²) + eps) · g: LayerNorm without centring and without bias."""

    def __init__(self, d_model: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d_model))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x32 = x.float()
        x32 = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x32.to(x.dtype)


def rope_angles(positions: torch.Tensor, head_dim: int, theta: float):
    """cos, sin ``(T, K)`` of the angles position · theta^(-2i/K), each used twice."""
    inv_freq = 1.0 / theta ** (torch.arange(0, head_dim, 2).float() / head_dim)
    angles = positions.float()[:, None] * inv_freq[None, :]  # (T, K/2)
    angles = torch.cat([angles, angles], dim=-1)  # (T, K): halves share an angle
    return angles.cos(), angles.sin()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate each pair (x_i, x_{i+K/2}) of ``x (B, H, T, K)`` by its angle."""
    first, second = x.chunk(2, dim=-1)
    rotated_half = torch.cat([-second, first], dim=-1)
    return x * cos + rotated_half * sin


class SwiGLU(nn.Module):
    """down(SiLU(gate(x)) ⊙ up(x)): a gated feed-forward layer."""

    def __init__(self, d_model: int, d_ff: int) -> None:
        super().__init__()
        self.gate = nn.Linear(d_model, d_ff, bias=False)
        self.up = nn.Linear(d_model, d_ff, bias=False)
        self.down = nn.Linear(d_ff, d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(F.silu(self.gate(x)) * self.up(x))


class GroupedQueryAttention(nn.Module):
    """Causal attention with ``H`` query heads sharing ``G`` key/value heads."""

    def __init__(self, config: LlamaConfig) -> None:
        super().__init__()
        self.num_heads, self.num_kv_heads = config.num_heads, config.num_kv_heads
        self.head_dim = config.d_model // config.num_heads
        kv_width = self.num_kv_heads * self.head_dim
        self.q = nn.Linear(config.d_model, config.d_model, bias=False)
        self.k = nn.Linear(config.d_model, kv_width, bias=False)
        self.v = nn.Linear(config.d_model, kv_width, bias=False)
        self.out = nn.Linear(config.d_model, config.d_model, bias=False)

    def forward(self, x, cos, sin, cache=None, layer: int = 0) -> torch.Tensor:
        """``x (B, T, D)`` with rotary ``cos, sin (T, K)`` → ``(B, T, D)``."""
        B, T, D = x.shape
        q = self.q(x).view(B, T, self.num_heads, self.head_dim).transpose(1, 2)
        k = self.k(x).view(B, T, self.num_kv_heads, self.head_dim).transpose(1, 2)
        v = self.v(x).view(B, T, self.num_kv_heads, self.head_dim).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        if cache is not None:
            k, v = cache.update(layer, k, v)  # (B, G, S, K): the cache stores G heads
        group = self.num_heads // self.num_kv_heads  # query heads per key/value head
        k, v = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)
        mask = cached_causal_mask(T, k.size(2), device=x.device)
        heads = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)  # (B, H, T, K)
        return self.out(heads.transpose(1, 2).reshape(B, T, D))


class LlamaBlock(nn.Module):
    """x + Attn(RMSNorm(x)), then x + SwiGLU(RMSNorm(x))."""

    def __init__(self, config: LlamaConfig) -> None:
        super().__init__()
        self.norm1 = RMSNorm(config.d_model, config.rms_eps)
        self.attn = GroupedQueryAttention(config)
        self.norm2 = RMSNorm(config.d_model, config.rms_eps)
        self.mlp = SwiGLU(config.d_model, config.d_ff)

    def forward(self, x, cos, sin, cache=None, layer: int = 0) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), cos, sin, cache, layer)
        return x + self.mlp(self.norm2(x))


class Llama(nn.Module):
    """Token embedding, blocks, final RMSNorm and a (tied) head; no position table."""

    def __init__(self, config: LlamaConfig) -> None:
        super().__init__()
        if not isinstance(config, LlamaConfig):
            raise TypeError(
                f"config must be a LlamaConfig, got {type(config).__name__}"
            )
        self.config = config
        self.tok_emb = nn.Embedding(config.vocab_size, config.d_model)
        self.blocks = nn.ModuleList(
            LlamaBlock(config) for _ in range(config.num_layers)
        )
        self.norm = RMSNorm(config.d_model, config.rms_eps)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        if config.tie_weights:
            self.lm_head.weight = self.tok_emb.weight

    def new_cache(self) -> KVCache:
        """An empty KV cache with one slot per block."""
        return KVCache(self.config.num_layers)

    def forward(self, idx: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        """``idx (B, T)`` → logits ``(B, T, V)``; positions continue the cache."""
        c = self.config
        start = 0 if cache is None else cache.length
        check_ids(idx, c.vocab_size, c.context_length, start)
        positions = torch.arange(start, start + idx.size(1), device=idx.device)
        cos, sin = rope_angles(positions, c.d_model // c.num_heads, c.rope_theta)
        x = self.tok_emb(idx)
        for layer, block in enumerate(self.blocks):
            x = block(x, cos.to(x.dtype), sin.to(x.dtype), cache, layer)
        return self.lm_head(self.norm(x))

    def num_parameters(self) -> int:
        """Parameters, a tied head counted once."""
        return sum(p.numel() for p in self.parameters())


def config_from_hf(hf_config) -> LlamaConfig:
    """Our config from a ``transformers.LlamaConfig``."""
    rope = getattr(hf_config, "rope_parameters", None) or {}
    theta = rope.get("rope_theta", getattr(hf_config, "rope_theta", 10000.0))
    return LlamaConfig(
        vocab_size=hf_config.vocab_size,
        context_length=hf_config.max_position_embeddings,
        d_model=hf_config.hidden_size,
        num_heads=hf_config.num_attention_heads,
        num_kv_heads=hf_config.num_key_value_heads,
        num_layers=hf_config.num_hidden_layers,
        d_ff=hf_config.intermediate_size,
        rope_theta=float(theta),
        rms_eps=float(hf_config.rms_norm_eps),
        tie_weights=bool(hf_config.tie_word_embeddings),
    )


_HF_NAMES = {
    "input_layernorm": "norm1",
    "post_attention_layernorm": "norm2",
    "self_attn.q_proj": "attn.q",
    "self_attn.k_proj": "attn.k",
    "self_attn.v_proj": "attn.v",
    "self_attn.o_proj": "attn.out",
    "mlp.gate_proj": "mlp.gate",
    "mlp.up_proj": "mlp.up",
    "mlp.down_proj": "mlp.down",
}


def _rename(key: str) -> str:
    if key.startswith("model.layers."):
        _, _, layer, rest = key.split(".", 3)
        for theirs, ours in _HF_NAMES.items():
            rest = rest.replace(theirs, ours)
        return f"blocks.{layer}.{rest}"
    return {
        "model.embed_tokens.weight": "tok_emb.weight",
        "model.norm.weight": "norm.weight",
    }.get(key, key)


@torch.no_grad()
def from_hf(hf_model) -> Llama:
    """Our :class:`Llama` holding the weights of a ``LlamaForCausalLM``."""
    if not hasattr(hf_model, "state_dict") or not hasattr(hf_model, "config"):
        raise TypeError("hf_model must be a transformers LlamaForCausalLM")
    model = Llama(config_from_hf(hf_model.config))
    ours = model.state_dict()
    for key, value in hf_model.state_dict().items():
        name = _rename(key)
        if name not in ours:
            raise ValueError(f"unexpected weight {key!r} in the state dict")
        ours[name].copy_(value)
    model.eval()
    return model


def load_smollm2():
    """SmolLM2-135M-Instruct from the packaged GGUF: ``(LlamaForCausalLM, tokenizer)``.

    ``transformers`` dequantises the 4-bit weights to float32 (~20 s on one thread).
    """
    import transformers.modeling_gguf_pytorch_utils as gguf_utils
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    from lmbook.data import smollm2_path

    path = smollm2_path()
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    progress = gguf_utils.tqdm  # a plain tqdm bar that the switch above misses
    gguf_utils.tqdm = functools.partial(progress, disable=True)
    try:
        model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name)
        tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    finally:
        gguf_utils.tqdm = progress
    return model.eval(), use_gguf_special_tokens(tokenizer, model.config)


def use_gguf_special_tokens(tokenizer, config):
    """Give a tokenizer read from SmolLM2's GGUF file the file's special tokens.

    The file says: no BOS token added (the chat template writes ``<|im_start|>``
    itself), end of sequence and padding ``<|im_end|>``, as ``config`` holds them.
    transformers 5 reads them so; transformers 4 (as in Colab) prepends
    ``<|im_start|>`` to every encoding and has no padding token. Returns ``tokenizer``.
    """
    if not callable(getattr(tokenizer, "convert_ids_to_tokens", None)):
        raise TypeError("tokenizer must be a transformers tokenizer")
    for name in ("eos_token_id", "pad_token_id"):
        value = getattr(config, name, None)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"config.{name} must be a token id, got {value!r}")
        if not 0 <= value < len(tokenizer):
            raise ValueError(f"config.{name} = {value} is not in the vocabulary")
    tokenizer.eos_token = tokenizer.convert_ids_to_tokens(config.eos_token_id)
    tokenizer.pad_token = tokenizer.convert_ids_to_tokens(config.pad_token_id)
    if getattr(tokenizer, "add_bos_token", False):
        tokenizer.add_bos_token = False  # transformers 4 rebuilds its post-processor
    return tokenizer
