"""A decoder-only transformer language model, built from the attention formula up
(chapter 5).

Everything the chapter derives lives here once: scaled dot-product attention, multi-head
attention, the sinusoidal positional encoding, the pre-LayerNorm block and a GPT-style
model with a config dataclass and generation. The layout follows nanoGPT's ``model.py``
(Karpathy, 2022) and the original papers (Vaswani et al., 2017; Radford et al., 2019).
Shapes are written with named dimensions: ``B`` batch, ``T`` time (query positions),
``S`` source (key positions), ``H`` heads, ``D`` model width, ``K`` width of one head
(``D // H``), ``V`` vocabulary."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from lmbook.shapes import ShapeChecker

__all__ = [
    "causal_mask",
    "scaled_dot_product_attention",
    "MultiHeadAttention",
    "sinusoidal_encoding",
    "SinusoidalPositionalEncoding",
    "MLP",
    "Block",
    "GPTConfig",
    "GPT",
]


# ---------------------------------------------------------------------------- attention
def causal_mask(
    num_queries: int, num_keys: int | None = None, device: Any = None
) -> torch.Tensor:
    """Boolean ``(T, S)`` mask, ``True`` where query ``t`` may attend to key ``s``
    (``s <= t``).

    Aligned to the top left like
    :func:`torch.nn.functional.scaled_dot_product_attention` with ``is_causal``."""
    num_keys = num_queries if num_keys is None else num_keys
    for name, value in (("num_queries", num_queries), ("num_keys", num_keys)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an int, got {type(value).__name__}")
        if value < 1:
            raise ValueError(f"{name} must be at least 1, got {value}")
    return torch.ones(num_queries, num_keys, dtype=torch.bool, device=device).tril()


def scaled_dot_product_attention(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    mask: torch.Tensor | None = None,
    *,
    is_causal: bool = False,
    dropout_p: float = 0.0,
    scale: float | None = None,
    return_weights: bool = False,
):
    """softmax(Q Kᵀ / √d_k) V over the last two dimensions.

    Shapes: ``query (..., T, K)``, ``key (..., S, K)``, ``value (..., S, Kv)`` →
    ``(..., T, Kv)``. ``mask`` broadcasts to ``(..., T, S)``: boolean ``True`` = may
    attend (the convention of :func:`torch.nn.functional.scaled_dot_product_attention`),
    or floating point = added to the scores. ``is_causal`` additionally hides future
    keys. With
    ``return_weights`` the attention weights ``(..., T, S)`` are returned as well. A
    query row whose keys are all masked has no defined output (NaN)."""
    for name, tensor in (("query", query), ("key", key), ("value", value)):
        if not isinstance(tensor, torch.Tensor):
            raise TypeError(
                f"{name} must be a torch.Tensor, got {type(tensor).__name__}"
            )
        if tensor.ndim < 2:
            raise ValueError(
                f"{name} must have at least 2 dimensions (..., positions, features), "
                f"got shape {tuple(tensor.shape)}"
            )
    if query.size(-1) != key.size(-1):
        raise ValueError(
            "query and key must have the same last dimension d_k, got "
            f"{query.size(-1)} and "
            f"{key.size(-1)}"
        )
    if key.size(-2) != value.size(-2):
        raise ValueError(
            "key and value must have the same number of positions, got "
            f"{key.size(-2)} and "
            f"{value.size(-2)}"
        )
    if not 0.0 <= dropout_p < 1.0:
        raise ValueError(f"dropout_p must be in [0, 1), got {dropout_p}")
    d_k = query.size(-1)
    scale = 1.0 / math.sqrt(d_k) if scale is None else scale
    scores = (query @ key.transpose(-2, -1)) * scale  # (..., T, S)
    num_queries, num_keys = scores.shape[-2:]
    if is_causal:
        future = ~causal_mask(num_queries, num_keys, device=scores.device)
        scores = scores.masked_fill(future, float("-inf"))
    if mask is not None:
        if not isinstance(mask, torch.Tensor):
            raise TypeError(
                f"mask must be a torch.Tensor or None, got {type(mask).__name__}"
            )
        try:
            torch.broadcast_shapes(mask.shape, scores.shape)
        except RuntimeError as err:
            raise ValueError(
                f"mask of shape {tuple(mask.shape)} does not broadcast to the scores "
                f"{tuple(scores.shape)}"
            ) from err
        if mask.dtype == torch.bool:
            scores = scores.masked_fill(~mask, float("-inf"))
        elif mask.is_floating_point():
            scores = scores + mask
        else:
            raise TypeError(
                f"mask must be boolean or floating point, got dtype {mask.dtype}"
            )
    weights = torch.softmax(scores, dim=-1)
    if dropout_p > 0.0:
        weights = F.dropout(weights, p=dropout_p, training=True)
    output = weights @ value
    return (output, weights) if return_weights else output


class MultiHeadAttention(nn.Module):
    """Multi-head self-attention: Concat(head_1, ..., head_h) Wᴼ with head_i =
    Attention(X W_iᵠ, X W_iᴷ, X W_iⱽ).

    The three input projections are one ``Linear(D, 3D)`` (``qkv``, laid out like
    ``in_proj_weight`` of :class:`torch.nn.MultiheadAttention`: queries, then keys, then
    values); ``out`` is Wᴼ. ``impl="ours"`` uses :func:`scaled_dot_product_attention`
    above; ``impl="sdpa"`` uses PyTorch's fused kernel (flash attention on a GPU).
    ``last_weights`` holds the ``(B, H, T, T)`` weights of the last call made with
    ``keep_weights=True``."""

    def __init__(
        self,
        d_model: int,
        num_heads: int,
        *,
        dropout: float = 0.0,
        bias: bool = True,
        causal: bool = True,
        impl: str = "ours",
    ) -> None:
        super().__init__()
        for name, value in (("d_model", d_model), ("num_heads", num_heads)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be an int, got {type(value).__name__}")
            if value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")
        if d_model % num_heads:
            raise ValueError(
                f"d_model ({d_model}) must be divisible by num_heads ({num_heads})"
            )
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        if impl not in ("ours", "sdpa"):
            raise ValueError(f"impl must be 'ours' or 'sdpa', got {impl!r}")
        self.d_model, self.num_heads, self.d_head = (
            d_model,
            num_heads,
            d_model // num_heads,
        )
        self.dropout, self.causal, self.impl = dropout, causal, impl
        self.qkv = nn.Linear(d_model, 3 * d_model, bias=bias)
        self.out = nn.Linear(d_model, d_model, bias=bias)
        self.resid_dropout = nn.Dropout(dropout)
        self.last_weights: torch.Tensor | None = None

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor | None = None,
        *,
        keep_weights: bool = False,
    ) -> torch.Tensor:
        """``x (B, T, D)`` → ``(B, T, D)``; ``mask`` (boolean, ``True`` = attend)
        broadcasts to ``(B, H, T, T)``."""
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
        if x.ndim != 3 or x.size(-1) != self.d_model:
            raise ValueError(
                f"x must have shape (batch, time, d_model={self.d_model}), "
                f"got {tuple(x.shape)}"
            )
        check = ShapeChecker()
        check(x, "B T D")
        B, T, _ = x.shape
        q, k, v = self.qkv(x).split(self.d_model, dim=-1)  # 3 × (B, T, D)
        # split D into H heads of K = D // H features and move heads next to the batch
        q, k, v = (
            t.view(B, T, self.num_heads, self.d_head).transpose(1, 2) for t in (q, k, v)
        )
        check(q, "B H T K"), check(k, "B H T K"), check(v, "B H T K")
        p = self.dropout if self.training else 0.0
        if self.impl == "sdpa" and not keep_weights:
            if (
                self.causal and mask is not None
            ):  # SDPA takes one or the other: fold causality into the mask
                mask = mask & causal_mask(T, device=x.device)
            heads = F.scaled_dot_product_attention(
                q,
                k,
                v,
                attn_mask=mask,
                dropout_p=p,
                is_causal=self.causal and mask is None,
            )
        else:
            heads, weights = scaled_dot_product_attention(
                q, k, v, mask, is_causal=self.causal, dropout_p=p, return_weights=True
            )
            if keep_weights:
                self.last_weights = check(weights, "B H T T").detach()
        check(heads, "B H T K")
        concat = heads.transpose(1, 2).reshape(
            B, T, self.d_model
        )  # Concat(head_1..h): (B, T, D)
        return check(self.resid_dropout(self.out(concat)), "B T D")


# ----------------------------------------------------------------------------- position
def sinusoidal_encoding(max_len: int, d_model: int) -> torch.Tensor:
    """The fixed encoding of Vaswani et al. (2017) as a ``(max_len, d_model)`` float
    tensor.

    PE[pos, 2i] = sin(pos / 10000^(2i/d)), PE[pos, 2i+1] = cos(pos / 10000^(2i/d)); an
    odd ``d_model`` ends with a sine column."""
    for name, value in (("max_len", max_len), ("d_model", d_model)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an int, got {type(value).__name__}")
        if value < 1:
            raise ValueError(f"{name} must be at least 1, got {value}")
    position = torch.arange(max_len, dtype=torch.float64).unsqueeze(1)  # (max_len, 1)
    two_i = torch.arange(0, d_model, 2, dtype=torch.float64)  # 0, 2, 4, ...
    angle = position / torch.pow(10000.0, two_i / d_model)  # (max_len, ceil(d/2))
    pe = torch.zeros(max_len, d_model, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(angle)
    pe[:, 1::2] = torch.cos(angle[:, : d_model // 2])
    return pe.to(torch.get_default_dtype())


class SinusoidalPositionalEncoding(nn.Module):
    """Adds :func:`sinusoidal_encoding` to a ``(B, T, D)`` input (a buffer: nothing to
    learn)."""

    def __init__(self, max_len: int, d_model: int) -> None:
        super().__init__()
        self.register_buffer(
            "pe", sinusoidal_encoding(max_len, d_model), persistent=False
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 3 or x.size(-1) != self.pe.size(1):
            raise ValueError(
                f"x must have shape (batch, time, {self.pe.size(1)}), "
                f"got {tuple(x.shape)}"
            )
        if x.size(1) > self.pe.size(0):
            raise ValueError(
                f"sequence of {x.size(1)} positions exceeds max_len {self.pe.size(0)}"
            )
        return x + self.pe[: x.size(1)].to(x.dtype)


# ------------------------------------------------------------------------------- blocks
class MLP(nn.Module):
    """Position-wise feed-forward network: Linear(D, 4D) → GELU → Linear(4D, D) →
    dropout."""

    def __init__(
        self, d_model: int, d_ff: int, *, dropout: float = 0.0, bias: bool = True
    ) -> None:
        super().__init__()
        self.up = nn.Linear(d_model, d_ff, bias=bias)
        self.act = nn.GELU()
        self.down = nn.Linear(d_ff, d_model, bias=bias)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.down(self.act(self.up(x))))


class Block(nn.Module):
    """Pre-LayerNorm transformer block: x + Attn(LN(x)), then x + MLP(LN(x))
    (Radford et al., 2019)."""

    def __init__(
        self,
        d_model: int,
        num_heads: int,
        d_ff: int,
        *,
        dropout: float = 0.0,
        bias: bool = True,
        impl: str = "ours",
    ) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(d_model, bias=bias)
        self.attn = MultiHeadAttention(
            d_model, num_heads, dropout=dropout, bias=bias, causal=True, impl=impl
        )
        self.ln2 = nn.LayerNorm(d_model, bias=bias)
        self.mlp = MLP(d_model, d_ff, dropout=dropout, bias=bias)

    def forward(self, x: torch.Tensor, *, keep_weights: bool = False) -> torch.Tensor:
        x = x + self.attn(self.ln1(x), keep_weights=keep_weights)
        return x + self.mlp(self.ln2(x))


# -------------------------------------------------------------------------------- model
@dataclass
class GPTConfig:
    """Sizes of a GPT-style model. ``d_ff`` defaults to ``4 * d_model``;
    ``pos_encoding`` is ``"learned"`` (GPT-2) or ``"sinusoidal"`` (Vaswani et al.);
    ``attention`` is ``"ours"`` or ``"sdpa"`` (fused kernel)."""

    vocab_size: int
    context_length: int = 64
    d_model: int = 128
    num_heads: int = 4
    num_layers: int = 4
    d_ff: int | None = None
    dropout: float = 0.0
    bias: bool = True
    pos_encoding: str = "learned"
    tie_weights: bool = True
    attention: str = "ours"

    def __post_init__(self) -> None:
        for name in (
            "vocab_size",
            "context_length",
            "d_model",
            "num_heads",
            "num_layers",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be an int, got {type(value).__name__}")
            if value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")
        if self.d_model % self.num_heads:
            d = self.d_model
            divisors = [h for h in range(1, d + 1) if d % h == 0][:8]
            raise ValueError(
                f"d_model ({d}) must be divisible by num_heads ({self.num_heads}); "
                f"try num_heads in {divisors}"
            )
        if self.d_ff is None:
            self.d_ff = 4 * self.d_model
        elif (
            isinstance(self.d_ff, bool)
            or not isinstance(self.d_ff, int)
            or self.d_ff < 1
        ):
            raise ValueError(f"d_ff must be a positive int or None, got {self.d_ff!r}")
        if not isinstance(self.dropout, (int, float)) or not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
        if self.pos_encoding not in ("learned", "sinusoidal"):
            raise ValueError(
                "pos_encoding must be 'learned' or 'sinusoidal', "
                f"got {self.pos_encoding!r}"
            )
        if self.attention not in ("ours", "sdpa"):
            raise ValueError(
                f"attention must be 'ours' or 'sdpa', got {self.attention!r}"
            )

    def to_dict(self) -> dict:
        return asdict(self)


class GPT(nn.Module):
    """A decoder-only transformer LM: token + position embeddings, ``num_layers``
    blocks, final LayerNorm and a linear head (tied to the token embedding by default),
    as in GPT-2 (Radford et al., 2019) and nanoGPT."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        if not isinstance(config, GPTConfig):
            raise TypeError(f"config must be a GPTConfig, got {type(config).__name__}")
        self.config = c = config
        self.tok_emb = nn.Embedding(c.vocab_size, c.d_model)
        if c.pos_encoding == "learned":
            self.pos_emb = nn.Embedding(c.context_length, c.d_model)
        else:
            self.pos_enc = SinusoidalPositionalEncoding(c.context_length, c.d_model)
        self.drop = nn.Dropout(c.dropout)
        self.blocks = nn.ModuleList(
            Block(
                c.d_model,
                c.num_heads,
                c.d_ff,
                dropout=c.dropout,
                bias=c.bias,
                impl=c.attention,
            )
            for _ in range(c.num_layers)
        )
        self.ln_f = nn.LayerNorm(c.d_model, bias=c.bias)
        self.lm_head = nn.Linear(c.d_model, c.vocab_size, bias=False)
        if c.tie_weights:
            self.lm_head.weight = self.tok_emb.weight
        self.apply(self._init_weights)
        for (
            name,
            p,
        ) in (
            self.named_parameters()
        ):  # GPT-2: scale residual projections by 1/sqrt(2 * layers)
            if name.endswith(("attn.out.weight", "mlp.down.weight")):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * c.num_layers))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(
        self,
        idx: torch.Tensor,
        targets: torch.Tensor | None = None,
        *,
        keep_weights: bool = False,
    ):
        """``idx (B, T)`` token ids → ``(logits (B, T, V), loss)``; ``loss`` is the mean
        cross-entropy against ``targets (B, T)`` (positions with target ``-100`` are
        ignored) or ``None`` without targets."""
        if not isinstance(idx, torch.Tensor) or idx.dtype not in (
            torch.int64,
            torch.int32,
        ):
            raise TypeError("idx must be an integer (int64) tensor of token ids")
        if idx.ndim != 2:
            raise ValueError(
                f"idx must have shape (batch, time), got {tuple(idx.shape)}"
            )
        B, T = idx.shape
        if T > self.config.context_length:
            raise ValueError(
                f"sequence length {T} exceeds the model's context_length "
                f"{self.config.context_length}; crop the input to the last "
                f"{self.config.context_length} tokens"
            )
        x = self.tok_emb(idx)  # (B, T, D)
        if self.config.pos_encoding == "learned":
            x = x + self.pos_emb(torch.arange(T, device=idx.device))
        else:
            x = self.pos_enc(x)
        x = self.drop(x)
        for block in self.blocks:
            x = block(x, keep_weights=keep_weights)
        logits = self.lm_head(self.ln_f(x))  # (B, T, V)
        loss = None
        if targets is not None:
            if targets.shape != idx.shape:
                raise ValueError(
                    f"targets must have the shape of idx {tuple(idx.shape)}, "
                    f"got {tuple(targets.shape)}"
                )
            loss = F.cross_entropy(
                logits.view(B * T, -1).float(),
                targets.reshape(B * T),
                ignore_index=-100,
            )
        return logits, loss

    # ------------------------------------------------------------------------- analysis
    def num_parameters(self, *, non_embedding: bool = False) -> int:
        """Number of parameters (a tied head counted once); ``non_embedding`` leaves out
        the position and token embeddings (the convention of Kaplan et al., 2020, which
        nanoGPT follows for the position table)."""
        n = sum(p.numel() for p in self.parameters())
        if non_embedding:
            n -= self.tok_emb.weight.numel()
            if self.config.pos_encoding == "learned":
                n -= self.pos_emb.weight.numel()
        return n

    def flops_per_token(
        self, *, training: bool = True, context_length: int | None = None
    ) -> float:
        """Matmul FLOPs per token: 2N forward (N = non-embedding parameters plus the
        head) plus attention's 2·2·L·T·D (QKᵀ and AV); training (forward + backward) is
        three times that (Kaplan et al., 2020; Chowdhery et al., 2022, appendix B)."""
        c = self.config
        T = c.context_length if context_length is None else context_length
        n_matmul = (
            self.num_parameters(non_embedding=True) + c.vocab_size * c.d_model
        )  # head matmul
        forward = 2 * n_matmul + 4 * c.num_layers * T * c.d_model
        return float(3 * forward if training else forward)

    @torch.no_grad()
    def attention_maps(self, idx: torch.Tensor) -> torch.Tensor:
        """Attention weights of every layer and head for ``idx (1, T)`` or ``(T,)``: a
        ``(L, H, T, T)`` tensor."""
        if isinstance(idx, torch.Tensor) and idx.ndim == 1:
            idx = idx.unsqueeze(0)
        if not isinstance(idx, torch.Tensor) or idx.ndim != 2 or idx.size(0) != 1:
            raise ValueError(
                "idx must be one sequence of token ids, shape (T,) or (1, T)"
            )
        was_training = self.training
        self.eval()
        try:
            self(idx, keep_weights=True)
        finally:
            self.train(was_training)
        return torch.stack([block.attn.last_weights[0] for block in self.blocks])

    # ----------------------------------------------------------------------- generation
    @torch.no_grad()
    def generate(
        self,
        idx: torch.Tensor,
        max_new_tokens: int,
        *,
        temperature: float = 1.0,
        top_k: int | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Extend ``idx (B, T)`` by ``max_new_tokens`` sampled tokens (the context
        cropped to the last ``context_length``). ``temperature=0`` picks the most likely
        token (greedy)."""
        if not isinstance(idx, torch.Tensor) or idx.ndim != 2:
            raise ValueError("idx must be a (batch, time) tensor of token ids")
        if (
            isinstance(max_new_tokens, bool)
            or not isinstance(max_new_tokens, int)
            or max_new_tokens < 0
        ):
            raise ValueError(
                f"max_new_tokens must be a non-negative int, got {max_new_tokens!r}"
            )
        if not isinstance(temperature, (int, float)) or temperature < 0:
            raise ValueError(f"temperature must be a number >= 0, got {temperature!r}")
        if top_k is not None and (
            isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1
        ):
            raise ValueError(f"top_k must be a positive int or None, got {top_k!r}")
        was_training = self.training
        self.eval()
        try:
            for _ in range(max_new_tokens):
                logits, _ = self(idx[:, -self.config.context_length :])
                logits = logits[:, -1, :].float()  # (B, V)
                if temperature == 0:
                    next_id = logits.argmax(dim=-1, keepdim=True)
                else:
                    logits = logits / temperature
                    if top_k is not None:
                        kth = torch.topk(logits, min(top_k, logits.size(-1))).values[
                            :, [-1]
                        ]
                        logits = logits.masked_fill(logits < kth, float("-inf"))
                    probs = torch.softmax(logits, dim=-1)
                    next_id = torch.multinomial(probs, 1, generator=generator)
                idx = torch.cat([idx, next_id.to(idx.dtype)], dim=1)
        finally:
            self.train(was_training)
        return idx
