"""GPT-2 exactly (Radford et al., 2019), with a KV cache (chapter 6).

Chapter 5's GPT is GPT-2's layout; five details make the numbers equal Hugging Face's
``GPT2LMHeadModel``: the tanh approximation of GELU, layer-norm epsilon 1e-5, the output
head tied to the token embedding, weights stored by OpenAI's ``Conv1D`` as ``(in, out)``
(transposed with respect to ``nn.Linear``) and learned positions. The vocabulary of
50,257 tokens may be padded (nanoGPT uses 50,304 = 786 · 64) so the head's matrix
multiply runs on tile-friendly sizes; ``forward`` drops the padded rows' logits.
Shapes: ``B`` batch, ``T`` new positions, ``S`` all positions, ``H`` heads, ``K`` head
width, ``D`` model width, ``V`` vocabulary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from lmbook.decoding import KVCache, check_ids

__all__ = ["GPT2Config", "GPT2Attention", "GPT2MLP", "GPT2Block", "GPT2", "from_hf"]


@dataclass
class GPT2Config:
    """GPT-2's sizes (defaults: the 124M model) and the vocabulary padding multiple."""

    vocab_size: int = 50257
    context_length: int = 1024
    d_model: int = 768
    num_heads: int = 12
    num_layers: int = 12
    ln_eps: float = 1e-5
    dropout: float = 0.0
    pad_vocab_to: int = 64

    def __post_init__(self) -> None:
        for name in ("vocab_size", "context_length", "d_model", "num_heads"):
            _check_positive_int(getattr(self, name), name)
        _check_positive_int(self.num_layers, "num_layers")
        _check_positive_int(self.pad_vocab_to, "pad_vocab_to")
        if self.d_model % self.num_heads:
            raise ValueError(
                f"d_model ({self.d_model}) must be divisible by "
                f"num_heads ({self.num_heads})"
            )

    @property
    def padded_vocab_size(self) -> int:
        """``vocab_size`` rounded up to a multiple of ``pad_vocab_to`` (50,304)."""
        return math.ceil(self.vocab_size / self.pad_vocab_to) * self.pad_vocab_to


def _check_positive_int(value: object, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}")


def cached_causal_mask(num_new: int, num_total: int, device=None) -> torch.Tensor:
    """``(T, S)`` mask: new position ``t`` (absolute ``S - T + t``) sees keys ≤ it."""
    ones = torch.ones(num_new, num_total, dtype=torch.bool, device=device)
    return ones.tril(diagonal=num_total - num_new)


class GPT2Attention(nn.Module):
    """Causal multi-head self-attention; a cache appends the new keys and values."""

    def __init__(self, config: GPT2Config) -> None:
        super().__init__()
        self.num_heads, self.d_model = config.num_heads, config.d_model
        self.qkv = nn.Linear(
            config.d_model, 3 * config.d_model
        )  # Conv1D c_attn, transposed
        self.out = nn.Linear(
            config.d_model, config.d_model
        )  # Conv1D c_proj, transposed
        self.dropout = config.dropout

    def forward(self, x: torch.Tensor, cache=None, layer: int = 0) -> torch.Tensor:
        """``x (B, T, D)`` → ``(B, T, D)``; ``cache`` holds earlier keys and values."""
        B, T, D = x.shape
        q, k, v = self.qkv(x).split(D, dim=-1)
        q, k, v = (t.view(B, T, self.num_heads, -1).transpose(1, 2) for t in (q, k, v))
        if cache is not None:
            k, v = cache.update(layer, k, v)  # (B, H, S, K)
        mask = cached_causal_mask(T, k.size(2), device=x.device)
        p = self.dropout if self.training else 0.0
        heads = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
        return self.out(heads.transpose(1, 2).reshape(B, T, D))


class GPT2MLP(nn.Module):
    """Linear(D, 4D) → GELU (tanh approximation, as in GPT-2's code) → Linear(4D, D)."""

    def __init__(self, config: GPT2Config) -> None:
        super().__init__()
        self.up = nn.Linear(config.d_model, 4 * config.d_model)
        self.down = nn.Linear(4 * config.d_model, config.d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(F.gelu(self.up(x), approximate="tanh"))


class GPT2Block(nn.Module):
    """Pre-LayerNorm block: x + Attn(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, config: GPT2Config) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(config.d_model, eps=config.ln_eps)
        self.attn = GPT2Attention(config)
        self.ln2 = nn.LayerNorm(config.d_model, eps=config.ln_eps)
        self.mlp = GPT2MLP(config)
        self.drop = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor, cache=None, layer: int = 0) -> torch.Tensor:
        x = x + self.drop(self.attn(self.ln1(x), cache, layer))
        return x + self.drop(self.mlp(self.ln2(x)))


class GPT2(nn.Module):
    """GPT-2: token + learned position embeddings, blocks, LayerNorm, tied head."""

    def __init__(self, config: GPT2Config) -> None:
        super().__init__()
        if not isinstance(config, GPT2Config):
            raise TypeError(f"config must be a GPT2Config, got {type(config).__name__}")
        self.config = config
        self.tok_emb = nn.Embedding(config.padded_vocab_size, config.d_model)
        self.pos_emb = nn.Embedding(config.context_length, config.d_model)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(GPT2Block(config) for _ in range(config.num_layers))
        self.ln_f = nn.LayerNorm(config.d_model, eps=config.ln_eps)
        self.lm_head = nn.Linear(config.d_model, config.padded_vocab_size, bias=False)
        self.lm_head.weight = self.tok_emb.weight  # weight tying (Press & Wolf, 2017)
        self.apply(_init_weights)

    def new_cache(self) -> KVCache:
        """An empty KV cache with one slot per block."""
        return KVCache(self.config.num_layers)

    def forward(self, idx: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        """``idx (B, T)`` → logits ``(B, T, V)``; positions continue the cache."""
        start = 0 if cache is None else cache.length
        check_ids(idx, self.config.vocab_size, self.config.context_length, start)
        positions = torch.arange(start, start + idx.size(1), device=idx.device)
        x = self.drop(self.tok_emb(idx) + self.pos_emb(positions))
        for layer, block in enumerate(self.blocks):
            x = block(x, cache, layer)
        logits = self.lm_head(self.ln_f(x))  # (B, T, padded V)
        return logits[..., : self.config.vocab_size]

    def num_parameters(self) -> int:
        """Parameters, the tied head counted once."""
        return sum(p.numel() for p in self.parameters())


def _init_weights(module: nn.Module) -> None:
    """GPT-2's initialisation: N(0, 0.02) weights, zero biases."""
    if isinstance(module, (nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, std=0.02)
    if isinstance(module, nn.Linear) and module.bias is not None:
        nn.init.zeros_(module.bias)


# Hugging Face name → ours; Conv1D weights are (in, out), so they are transposed
_HF_NAMES = {
    "ln_1": "ln1",
    "ln_2": "ln2",
    "attn.c_attn": "attn.qkv",
    "attn.c_proj": "attn.out",
    "mlp.c_fc": "mlp.up",
    "mlp.c_proj": "mlp.down",
}
_CONV1D = (
    "attn.c_attn.weight",
    "attn.c_proj.weight",
    "mlp.c_fc.weight",
    "mlp.c_proj.weight",
)


def config_from_hf(hf_config, *, pad_vocab_to: int = 64) -> GPT2Config:
    """Our config from a ``transformers.GPT2Config``."""
    return GPT2Config(
        vocab_size=hf_config.vocab_size,
        context_length=hf_config.n_positions,
        d_model=hf_config.n_embd,
        num_heads=hf_config.n_head,
        num_layers=hf_config.n_layer,
        ln_eps=hf_config.layer_norm_epsilon,
        pad_vocab_to=pad_vocab_to,
    )


def _rename(key: str) -> str:
    key = key.removeprefix("transformer.")
    if key.startswith("h."):
        _, layer, rest = key.split(".", 2)
        for theirs, ours in _HF_NAMES.items():
            rest = rest.replace(theirs, ours)
        return f"blocks.{layer}.{rest}"
    return {"wte.weight": "tok_emb.weight", "wpe.weight": "pos_emb.weight"}.get(
        key, key
    )


@torch.no_grad()
def from_hf(hf_model, *, pad_vocab_to: int = 64) -> GPT2:
    """Our :class:`GPT2` holding the weights of a ``GPT2LMHeadModel``."""
    if not hasattr(hf_model, "state_dict") or not hasattr(hf_model, "config"):
        raise TypeError("hf_model must be a transformers GPT2LMHeadModel")
    model = GPT2(config_from_hf(hf_model.config, pad_vocab_to=pad_vocab_to))
    ours = model.state_dict()
    for key, value in hf_model.state_dict().items():
        if key == "lm_head.weight" or key.endswith(".attn.bias"):
            continue  # tied to wte / old causal-mask buffers
        name = _rename(key)
        if name not in ours:
            raise ValueError(f"unexpected weight {key!r} in the state dict")
        if key.endswith(_CONV1D):
            value = value.t()
        ours[name][: value.size(0)].copy_(value)
    model.tok_emb.weight[model.config.vocab_size :].zero_()  # padding rows: unused
    model.eval()
    return model
