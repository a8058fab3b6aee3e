"""Turning next-token distributions into text (chapter 6).

A language model here is anything called as ``model(idx, cache) -> logits`` with
``idx (B, T)`` token ids and ``logits (B, T, V)``, and ``model.new_cache()`` giving an
empty :class:`KVCache`: the book's :mod:`lmbook.gpt2` and :mod:`lmbook.llama`, or a
Hugging Face model wrapped in :class:`HuggingFaceLM`. Strategies: greedy, temperature,
top-k (Fan et al., 2018), nucleus / top-p (Holtzman et al., 2020), the repetition
penalty of CTRL (Keskar et al., 2019) and beam search. The KV cache keeps every layer's
keys and values, so each new token costs one position of work, not the whole prefix.
Scoring goes the other way: :func:`token_nll` gives the negative log-likelihood of
every token of a long text, from which perplexity follows.
"""

from __future__ import annotations

import torch

__all__ = [
    "KVCache",
    "HuggingFaceLM",
    "check_ids",
    "top_k_filter",
    "top_p_filter",
    "apply_repetition_penalty",
    "next_token",
    "generate",
    "beam_search",
    "token_nll",
]


class KVCache:
    """Keys and values ``(B, H, S, K)`` of every layer, grown one step at a time."""

    def __init__(self, num_layers: int) -> None:
        if isinstance(num_layers, bool) or not isinstance(num_layers, int):
            raise TypeError("num_layers must be an int")
        if num_layers < 1:
            raise ValueError(f"num_layers must be at least 1, got {num_layers}")
        self.keys: list[torch.Tensor | None] = [None] * num_layers
        self.values: list[torch.Tensor | None] = [None] * num_layers

    @property
    def length(self) -> int:
        """Positions held (those of the last layer, i.e. of complete steps)."""
        last = self.keys[-1]
        return 0 if last is None else last.size(2)

    def update(self, layer: int, k: torch.Tensor, v: torch.Tensor):
        """Append ``k, v (B, H, T, K)`` to ``layer``; return all keys and values."""
        if self.keys[layer] is not None:
            k = torch.cat([self.keys[layer], k], dim=2)
            v = torch.cat([self.values[layer], v], dim=2)
        self.keys[layer], self.values[layer] = k, v
        return k, v

    def reorder(self, index: torch.Tensor) -> None:
        """Keep batch rows ``index`` (beam search picks which beams go on)."""
        self.keys = [k.index_select(0, index) for k in self.keys]
        self.values = [v.index_select(0, index) for v in self.values]


class _HFCache:
    def __init__(self) -> None:
        self.past, self.length = None, 0

    def reorder(self, index: torch.Tensor) -> None:
        self.past.reorder_cache(index)


class HuggingFaceLM:
    """A ``transformers`` causal LM behind the ``model(idx, cache)`` interface."""

    def __init__(self, model) -> None:
        if not callable(model) or not hasattr(model, "config"):
            raise TypeError("model must be a transformers causal language model")
        self.model = model

    def new_cache(self) -> _HFCache:
        return _HFCache()

    def __call__(
        self, idx: torch.Tensor, cache: _HFCache | None = None
    ) -> torch.Tensor:
        if cache is None:
            return self.model(idx, use_cache=False).logits
        out = self.model(idx, past_key_values=cache.past, use_cache=True)
        cache.past, cache.length = out.past_key_values, cache.length + idx.size(1)
        return out.logits


def check_ids(
    idx: object, vocab_size: int, context_length: int, start: int = 0
) -> None:
    """Clear errors for token ids that are not a ``(B, T)`` tensor of valid ids."""
    if not isinstance(idx, torch.Tensor):
        raise TypeError(f"idx must be a torch.Tensor, got {type(idx).__name__}")
    if idx.ndim != 2 or idx.size(1) == 0:
        raise ValueError(f"idx must have shape (batch, time>0), got {tuple(idx.shape)}")
    if idx.is_floating_point() or idx.dtype == torch.bool:
        raise TypeError(f"idx must hold integer token ids, got {idx.dtype}")
    if int(idx.min()) < 0 or int(idx.max()) >= vocab_size:
        raise ValueError(
            f"token ids must be in [0, {vocab_size}), got {int(idx.max())}"
        )
    if start + idx.size(1) > context_length:
        raise ValueError(
            f"{start + idx.size(1)} positions exceed the context {context_length}"
        )


def _check_logits(logits: object) -> None:
    if not isinstance(logits, torch.Tensor) or not logits.is_floating_point():
        raise TypeError("logits must be a floating-point torch.Tensor (..., V)")


def top_k_filter(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Keep the ``k`` largest logits of each row; the others become -inf."""
    _check_logits(logits)
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"top_k must be a positive int, got {k!r}")
    kth = torch.topk(logits, min(k, logits.size(-1))).values[..., -1:]
    return logits.masked_fill(logits < kth, float("-inf"))


def top_p_filter(logits: torch.Tensor, p: float) -> torch.Tensor:
    """Nucleus filter: keep the smallest set of top tokens with mass >= ``p``."""
    _check_logits(logits)
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 < p <= 1:
        raise ValueError(f"top_p must be in (0, 1], got {p!r}")
    if p >= 1:  # float32 cumsum can reach 1.0 early and would drop the tail
        return logits
    sorted_logits, order = logits.sort(dim=-1, descending=True)
    probs = sorted_logits.softmax(dim=-1)
    mass_before = probs.cumsum(dim=-1) - probs  # mass of the more likely tokens
    drop_sorted = mass_before >= p  # already enough mass without this token
    drop = drop_sorted.scatter(-1, order, drop_sorted)
    return logits.masked_fill(drop, float("-inf"))


def apply_repetition_penalty(
    logits: torch.Tensor, idx: torch.Tensor, penalty: float
) -> torch.Tensor:
    """CTRL's penalty on tokens in ``idx``: positive logits / penalty, negative x."""
    _check_logits(logits)
    if not isinstance(penalty, (int, float)) or penalty <= 0:
        raise ValueError(f"repetition_penalty must be > 0, got {penalty!r}")
    seen = logits.gather(-1, idx)
    seen = torch.where(seen < 0, seen * penalty, seen / penalty)
    return logits.scatter(-1, idx, seen)


def next_token(
    logits: torch.Tensor,
    *,
    temperature: float = 0.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """One id per row of ``logits (B, V)``: argmax at temperature 0, else sample."""
    if not isinstance(temperature, (int, float)) or temperature < 0:
        raise ValueError(f"temperature must be a number >= 0, got {temperature!r}")
    if temperature == 0:
        return logits.argmax(dim=-1, keepdim=True)
    logits = logits / temperature
    if top_k is not None:
        logits = top_k_filter(logits, top_k)
    if top_p is not None:
        logits = top_p_filter(logits, top_p)
    return torch.multinomial(logits.softmax(dim=-1), 1, generator=generator)


def _check_generate(model: object, idx: object, max_new_tokens: object) -> None:
    if not callable(model) or not hasattr(model, "new_cache"):
        raise TypeError("model must be callable as model(idx, cache) with new_cache()")
    if not isinstance(idx, torch.Tensor) or idx.ndim != 2 or idx.size(1) == 0:
        raise ValueError("idx must be a (batch, time>0) tensor of token ids")
    if (
        isinstance(max_new_tokens, bool)
        or not isinstance(max_new_tokens, int)
        or max_new_tokens < 0
    ):
        raise ValueError(f"max_new_tokens must be an int >= 0, got {max_new_tokens!r}")


@torch.no_grad()
def generate(
    model,
    idx: torch.Tensor,
    max_new_tokens: int,
    *,
    temperature: float = 0.0,
    top_k: int | None = None,
    top_p: float | None = None,
    repetition_penalty: float = 1.0,
    eos_id: int | None = None,
    use_cache: bool = True,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Extend ``idx (B, T)`` to ``(B, T + n)``; after ``eos_id`` a row repeats it."""
    _check_generate(model, idx, max_new_tokens)
    cache = model.new_cache() if use_cache else None
    done = torch.zeros(idx.size(0), 1, dtype=torch.bool, device=idx.device)
    step_input = idx
    for _ in range(max_new_tokens):
        logits = model(step_input if use_cache else idx, cache)[:, -1, :].float()
        if repetition_penalty != 1.0:
            logits = apply_repetition_penalty(logits, idx, repetition_penalty)
        new = next_token(
            logits,
            temperature=temperature,
            top_k=top_k,
            top_p=top_p,
            generator=generator,
        )
        if eos_id is not None:
            new = new.masked_fill(done, eos_id)
            done = done | (new == eos_id)
        idx = torch.cat([idx, new.to(idx.dtype)], dim=1)
        step_input = new.to(idx.dtype)
        if eos_id is not None and bool(done.all()):
            break
    return idx


@torch.no_grad()
def beam_search(
    model,
    idx: torch.Tensor,
    max_new_tokens: int,
    num_beams: int = 4,
    *,
    eos_id: int | None = None,
    length_penalty: float = 1.0,
) -> tuple[torch.Tensor, float]:
    """The best continuation of one prompt ``idx (1, T)`` under beam search.

    Keeps the ``num_beams`` most probable partial sequences; a finished one is scored by
    its log-probability / length**length_penalty. Returns ``(ids (1, T + n), score)``.
    """
    _check_generate(model, idx, max_new_tokens)
    if idx.size(0) != 1:
        raise ValueError("beam_search takes one prompt: idx of shape (1, T)")
    if isinstance(num_beams, bool) or not isinstance(num_beams, int) or num_beams < 1:
        raise ValueError(f"num_beams must be a positive int, got {num_beams!r}")
    prompt_len, cache = idx.size(1), model.new_cache()
    beams, scores = idx, torch.zeros(1, device=idx.device)
    finished: list[tuple[float, torch.Tensor]] = []
    step_input = idx
    for _ in range(max_new_tokens):
        logp = model(step_input, cache)[:, -1, :].float().log_softmax(dim=-1)
        total = (scores[:, None] + logp).flatten()  # (beams * V,)
        top = total.topk(min(2 * num_beams, total.numel()))
        keep_rows, keep_tokens, keep_scores = [], [], []
        for score, flat in zip(top.values.tolist(), top.indices.tolist()):
            row, token = divmod(flat, logp.size(-1))
            if token == eos_id:
                if len(keep_rows) < num_beams:  # only among the best candidates
                    seq = torch.cat([beams[row], beams.new_tensor([token])])
                    length = seq.numel() - prompt_len
                    finished.append((score / length**length_penalty, seq))
                continue
            keep_rows.append(row), keep_tokens.append(token), keep_scores.append(score)
            if len(keep_rows) == num_beams:
                break
        rows = torch.tensor(keep_rows, device=idx.device)
        new = torch.tensor(keep_tokens, device=idx.device, dtype=idx.dtype)[:, None]
        beams = torch.cat([beams.index_select(0, rows), new], dim=1)
        scores = torch.tensor(keep_scores, device=idx.device)
        cache.reorder(rows)
        step_input = new
        if len(finished) >= num_beams:
            break
    length = beams.size(1) - prompt_len
    for score, seq in zip(scores.tolist(), beams):
        finished.append((score / max(length, 1) ** length_penalty, seq))
    best_score, best = max(finished, key=lambda pair: pair[0])
    return best[None, :], best_score


def _check_scoring(ids: object, window: object, stride: object) -> None:
    if not isinstance(ids, torch.Tensor) or ids.ndim != 1 or ids.numel() < 2:
        raise ValueError("ids must be a 1-D tensor of at least 2 token ids")
    if ids.is_floating_point() or ids.dtype == torch.bool:
        raise TypeError(f"ids must hold integer token ids, got {ids.dtype}")
    for name, value in (("window", window), ("stride", stride)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if not stride < window:
        raise ValueError(f"stride ({stride}) must be smaller than window ({window})")


@torch.no_grad()
def token_nll(
    model, ids: torch.Tensor, *, window: int = 512, stride: int = 256
) -> torch.Tensor:
    """Negative log-likelihood (nats, float64) of ``ids[1:]``, shape ``(N - 1,)``.

    A text longer than the model's context is read in windows of ``window`` tokens
    that move on by ``stride``: the first window scores all its tokens, every later
    one only its last ``stride``, each predicted from at least ``window - stride``
    earlier tokens. ``model(idx (1, T))`` returns logits ``(1, T, V)``.
    """
    _check_scoring(ids, window, stride)
    n, device = ids.numel(), ids.device
    nll = torch.empty(n - 1, dtype=torch.float64, device=device)
    begin, end = 0, min(window, n)
    scored = 1  # ids[0] has no context, so it is never predicted
    while scored < n:
        logp = model(ids[None, begin:end])[0, :-1].float().log_softmax(dim=-1)
        targets = ids[begin + 1 : end, None]
        token_logp = logp.gather(-1, targets)[:, 0].double()
        nll[scored - 1 : end - 1] = -token_logp[scored - begin - 1 :]
        scored = end
        end = min(end + stride, n)
        begin = max(0, end - window)
    return nll
