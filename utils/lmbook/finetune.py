"""Fine-tuning a pretrained decoder (chapter 7): LoRA from scratch, answer-only loss
masks for chat-formatted examples, a classification head on the last token, and a
training entry point that runs alone, under ``torchrun`` or ``accelerate launch`` (DDP).

The optimizer, schedule and checkpoints come from :mod:`lmbook.train`.

``python -m lmbook.finetune --help`` lists its options; on two CPU processes::

    torchrun --standalone --nproc_per_node 2 -m lmbook.finetune --model tiny --steps 4
    accelerate launch --cpu --num_processes 2 -m lmbook.finetune --model tiny --steps 4
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lmbook import train as lt

__all__ = [
    "IGNORE_INDEX",
    "LoRALinear",
    "add_lora",
    "merge_lora",
    "unmerge_lora",
    "remove_lora",
    "count_parameters",
    "answer_only_labels",
    "chat_example",
    "CLASSIFICATION_TASKS",
    "LABEL_WORDS",
    "classification_prompt",
    "pad_batch",
    "ClassifierOnLastToken",
    "top_backbone",
    "collate",
    "lm_loss",
    "fit_classifier",
    "predict",
    "classification_metrics",
    "balanced_sample",
    "memory_estimate",
    "tiny_llama",
    "load_smollm2",
    "byte_ids",
    "main",
]

IGNORE_INDEX = (
    -100
)  # label value that cross-entropy skips (PyTorch's and Hugging Face's)


# ------------------------------------------------------------------------------- checks
def _check_positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


def _check_linear(base: Any) -> None:
    if not isinstance(base, nn.Linear):
        raise TypeError(f"LoRA wraps an nn.Linear, got {type(base).__name__}")


# --------------------------------------------------------------------------------- LoRA
class LoRALinear(nn.Module):
    """A frozen linear layer plus a trainable low-rank update (Hu et al., 2021).

    ``y = x W^T + b + (alpha / r) x A^T B^T`` with ``A (r, in)`` random and
    ``B (out, r)`` zero at the start, so the layer first computes what ``base`` did.
    """

    def __init__(self, base: nn.Linear, r: int = 8, alpha: float = 16.0):
        super().__init__()
        _check_linear(base)
        _check_positive_int("r", r)
        self.base, self.r, self.scaling = base, r, alpha / r
        base.weight.requires_grad_(False)
        if base.bias is not None:
            base.bias.requires_grad_(False)
        w = base.weight
        self.lora_A = nn.Parameter(torch.empty(r, w.shape[1], dtype=w.dtype))
        self.lora_B = nn.Parameter(torch.zeros(w.shape[0], r, dtype=w.dtype))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))  # as peft and nn.Linear
        self.merged = False

    def delta_weight(self) -> torch.Tensor:
        """The update ``(alpha / r) B A``, shape ``(out, in)`` like ``base.weight``."""
        return self.scaling * (self.lora_B @ self.lora_A)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.base(x)
        if self.merged:
            return y
        return y + self.scaling * (x @ self.lora_A.T) @ self.lora_B.T

    @torch.no_grad()
    def merge(self) -> None:
        """Add the update into ``base.weight``: one matmul per layer at inference."""
        if not self.merged:
            self.base.weight += self.delta_weight()
            self.merged = True

    @torch.no_grad()
    def unmerge(self) -> None:
        """Subtract the update again (to keep training, or to swap adapters)."""
        if self.merged:
            self.base.weight -= self.delta_weight()
            self.merged = False


def add_lora(
    model: nn.Module,
    targets: tuple[str, ...] = ("q_proj", "v_proj"),
    *,
    r: int = 8,
    alpha: float = 16.0,
    freeze: bool = True,
) -> list[str]:
    """Replace every ``nn.Linear`` whose name ends in one of ``targets`` by a
    :class:`LoRALinear` (in place); freeze everything else first. Returns the names."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    if freeze:
        model.requires_grad_(False)
    names = [
        name
        for name, module in model.named_modules()
        if isinstance(module, nn.Linear) and name.split(".")[-1] in targets
    ]
    if not names:
        raise ValueError(f"no nn.Linear named {targets} in the model")
    for name in names:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, LoRALinear(getattr(parent, child), r=r, alpha=alpha))
    return names


def _lora_layers(model: nn.Module) -> list[LoRALinear]:
    return [m for m in model.modules() if isinstance(m, LoRALinear)]


def merge_lora(model: nn.Module) -> int:
    """Merge every LoRA update into its base weight; returns how many layers."""
    layers = _lora_layers(model)
    for layer in layers:
        layer.merge()
    return len(layers)


def unmerge_lora(model: nn.Module) -> int:
    """Undo :func:`merge_lora`; returns how many layers."""
    layers = _lora_layers(model)
    for layer in layers:
        layer.unmerge()
    return len(layers)


def remove_lora(model: nn.Module) -> int:
    """Put the base layers back (updates dropped, not merged); returns how many."""
    names = [n for n, m in model.named_modules() if isinstance(m, LoRALinear)]
    for name in names:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, getattr(parent, child).base)
    return len(names)


def count_parameters(model: nn.Module) -> dict[str, int]:
    """``{"total": ..., "trainable": ...}`` over distinct parameters (tied: once)."""
    params = {id(p): p for p in model.parameters()}.values()
    return {
        "total": sum(p.numel() for p in params),
        "trainable": sum(p.numel() for p in params if p.requires_grad),
    }


# ------------------------------------------------------------ chat data and loss masks
def answer_only_labels(input_ids: list[int], prompt_length: int) -> list[int]:
    """Labels for next-token training that count only the answer: the first
    ``prompt_length`` positions become ``IGNORE_INDEX`` (-100), the rest copy ids."""
    _check_ids(input_ids)
    if isinstance(prompt_length, bool) or not isinstance(prompt_length, int):
        raise TypeError(f"prompt_length must be an int, got {prompt_length!r}")
    if not 0 <= prompt_length < len(input_ids):
        raise ValueError(
            f"prompt_length must be in [0, {len(input_ids)}) so that some answer "
            f"is left, got {prompt_length}"
        )
    return [IGNORE_INDEX] * prompt_length + list(input_ids[prompt_length:])


def _check_ids(input_ids: Any) -> None:
    if not isinstance(input_ids, (list, tuple)) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in input_ids
    ):
        raise TypeError("input_ids must be a list of ints")
    if not input_ids:
        raise ValueError("input_ids is empty")


def chat_example(
    tokenizer: Any, prompt: str, answer: str, system: str | None = None
) -> tuple[list[int], list[int]]:
    """``(input_ids, labels)`` of one chat turn rendered with the tokenizer's chat
    template; the labels keep only the answer (and the end-of-turn token after it)."""
    if not isinstance(prompt, str) or not isinstance(answer, str) or not answer:
        raise ValueError("prompt must be a string and answer a non-empty string")
    messages = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": prompt})
    head = _template_ids(tokenizer, messages, add_generation_prompt=True)
    full = _template_ids(
        tokenizer, [*messages, {"role": "assistant", "content": answer}]
    )
    if full[: len(head)] != head:
        raise ValueError("the chat template does not render the prompt as a prefix")
    return full, answer_only_labels(full, len(head))


def _template_ids(tokenizer: Any, messages: list, **kwargs: Any) -> list[int]:
    text = tokenizer.apply_chat_template(messages, tokenize=False, **kwargs)
    return tokenizer(text, add_special_tokens=False)["input_ids"]


# what the text is and the yes/no question asked about it, per classification task
CLASSIFICATION_TASKS = {
    "sms": ("Text message", "Is this message spam?"),
    "rotten": ("Movie review", "Is this review positive?"),
}
LABEL_WORDS = ("no", "yes")  # the answers that stand for class 0 and class 1


def classification_prompt(
    tokenizer: Any,
    task: str,
    text: str,
    *,
    shots: tuple | list = (),
    max_len: int | None = None,
) -> list[int]:
    """Ids of a yes/no question about ``text`` in the tokenizer's chat template, ending
    with the assistant header, so that the next token is the answer. ``shots``: solved
    ``(text, label)`` pairs shown as earlier turns (few-shot prompting); ``max_len``
    first cuts ``text`` to that many tokens."""
    if task not in CLASSIFICATION_TASKS:
        raise ValueError(f"task must be one of {sorted(CLASSIFICATION_TASKS)}")
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if max_len is not None:
        _check_positive_int("max_len", max_len)
        text = tokenizer.decode(tokenizer(text)["input_ids"][:max_len])
    kind, question = CLASSIFICATION_TASKS[task]

    def ask(x: str) -> dict:
        return {"role": "user", "content": f"{kind}: {x}\n{question}"}

    messages = [{"role": "system", "content": "Answer yes or no."}]
    for x, label in shots:
        messages += [ask(x), {"role": "assistant", "content": LABEL_WORDS[label]}]
    messages.append(ask(text))
    return _template_ids(tokenizer, messages, add_generation_prompt=True)


def pad_batch(
    examples: list[tuple[list[int], list[int]]], pad_id: int
) -> dict[str, torch.Tensor]:
    """Right-pad ``(input_ids, labels)`` pairs: ``input_ids (B, T)``, ``labels (B, T)``
    padded with -100, ``lengths (B,)``. Right padding needs no mask in a causal model:
    no real token ever attends to the pads after it."""
    if not examples:
        raise ValueError("examples is empty")
    for ids, labels in examples:
        _check_ids(ids)
        if len(labels) != len(ids):
            raise ValueError("input_ids and labels must have the same length")
    width = max(len(ids) for ids, _ in examples)
    input_ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE_INDEX, dtype=torch.long)
    for i, (ids, lab) in enumerate(examples):
        input_ids[i, : len(ids)] = torch.tensor(ids)
        labels[i, : len(lab)] = torch.tensor(lab)
    lengths = torch.tensor([len(ids) for ids, _ in examples])
    return {"input_ids": input_ids, "labels": labels, "lengths": lengths}


def lm_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Next-token cross-entropy: position t predicts labels[t + 1]; -100 is skipped.
    ``logits (B, T, V)``, ``labels (B, T)``."""
    if logits.shape[:2] != labels.shape:
        raise ValueError(
            f"logits {tuple(logits.shape)} vs labels {tuple(labels.shape)}"
        )
    return F.cross_entropy(
        logits[:, :-1].flatten(0, 1).float(),
        labels[:, 1:].flatten(),
        ignore_index=IGNORE_INDEX,
    )


# ------------------------------------------------------------------ classification head
class ClassifierOnLastToken(nn.Module):
    """A decoder backbone and a linear head on the hidden state of each sequence's last
    real token (the only position that has read the whole text): logits ``(B, C)``.

    ``init`` (``(C, d_model)``) starts the head from given rows, e.g. the language-model
    head's rows for the label words, so that training starts from the zero-shot prompt.
    """

    def __init__(
        self,
        backbone: nn.Module,
        d_model: int,
        num_classes: int = 2,
        init: torch.Tensor | None = None,
    ):
        super().__init__()
        _check_positive_int("num_classes", num_classes)
        self.backbone = backbone
        self.head = nn.Linear(d_model, num_classes, bias=True)
        if init is not None:
            if tuple(init.shape) != (num_classes, d_model):
                raise ValueError(f"init must have shape {(num_classes, d_model)}")
            with torch.no_grad():
                self.head.weight.copy_(init)
                self.head.bias.zero_()

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        lengths: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
    ) -> torch.Tensor:
        out = self.backbone(
            input_ids=input_ids, inputs_embeds=inputs_embeds, use_cache=False
        )
        hidden = out.last_hidden_state  # (B, T, d_model)
        if lengths is None:
            lengths = torch.full((hidden.shape[0],), hidden.shape[1])
        last = hidden[torch.arange(hidden.shape[0]), lengths.to(hidden.device) - 1]
        return self.head(last)


def top_backbone(model: nn.Module, k: int) -> nn.Module:
    """A Llama backbone made of the LAST ``k`` decoder blocks of ``model`` (shared, not
    copied) and its final norm. Fed ``inputs_embeds = hidden_states[L - k]`` of the
    full model, it returns the full model's last hidden state: the frozen lower blocks
    then run once per example instead of once per step (the book's CPU shortcut)."""
    from transformers import LlamaConfig, LlamaModel

    layers = model.model.layers
    _check_positive_int("k", k)
    if k > len(layers):
        raise ValueError(f"k must be at most the number of blocks, {len(layers)}")
    config = LlamaConfig(**{**model.config.to_dict(), "num_hidden_layers": k})
    config.use_cache = False  # the blocks keep their layer index: no KV cache here
    with torch.device("meta"):  # allocate nothing: every part is replaced below
        top = LlamaModel(config)
    top.embed_tokens = None  # inputs always come as embeddings
    top.layers = nn.ModuleList(layers[-k:])
    top.norm = model.model.norm
    top.rotary_emb = model.model.rotary_emb
    return top


def _check_examples(inputs: list, labels: Any) -> None:
    if not isinstance(inputs, list) or not inputs:
        raise ValueError("inputs must be a non-empty list of tensors")
    if labels is not None and len(labels) != len(inputs):
        raise ValueError(f"{len(inputs)} inputs but {len(labels)} labels")


def collate(items: list[torch.Tensor]) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Right-pad 1-D id tensors (to ``input_ids``, padded with 0) or ``(T, d)`` hidden
    states (to ``inputs_embeds``); also return the lengths ``(B,)``. Pass both to
    :class:`ClassifierOnLastToken`: ``model(**batch, lengths=lengths)``."""
    _check_examples(items, None)
    if not all(isinstance(x, torch.Tensor) for x in items):
        raise TypeError("items must be tensors")
    if any(len(x) == 0 for x in items):
        raise ValueError("every item needs at least one position")
    if items[0].dtype == torch.long:
        if any(x.dtype != torch.long or x.dim() != 1 for x in items):
            raise ValueError("id tensors must all be 1-D and of dtype long")
    elif any(x.dim() != 2 or x.shape[1:] != items[0].shape[1:] for x in items):
        raise ValueError("hidden states must all have shape (T, d) with the same d")
    lengths = torch.tensor([len(x) for x in items])
    padded = nn.utils.rnn.pad_sequence(items, batch_first=True)
    key = "input_ids" if items[0].dtype == torch.long else "inputs_embeds"
    return {key: padded}, lengths


def fit_classifier(
    model: nn.Module,
    inputs: list[torch.Tensor],
    labels: list[int],
    *,
    epochs: int = 1,
    batch_size: int = 16,
    lr: float = 1e-3,
    seed: int = 0,
) -> list[float]:
    """Train ``model`` (a :class:`ClassifierOnLastToken`) with cross-entropy and AdamW
    on the parameters that require gradients; returns the loss of every step."""
    _check_examples(inputs, labels)
    optimizer = lt.configure_optimizer(model, lr=lr, weight_decay=0.0)
    g, y_all, losses = torch.Generator().manual_seed(seed), torch.tensor(labels), []
    model.train()
    for _ in range(epochs):
        for idx in torch.randperm(len(inputs), generator=g).split(batch_size):
            batch, lengths = collate([inputs[i] for i in idx])
            loss = F.cross_entropy(model(**batch, lengths=lengths), y_all[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    model.eval()
    return losses


@torch.no_grad()
def predict(
    model: nn.Module, inputs: list[torch.Tensor], batch_size: int = 32
) -> np.ndarray:
    """Predicted class of every input (argmax of the classifier's logits)."""
    _check_examples(inputs, None)
    model.eval()
    out = []
    for i in range(0, len(inputs), batch_size):
        batch, lengths = collate(inputs[i : i + batch_size])
        out.append(model(**batch, lengths=lengths).argmax(-1))
    return torch.cat(out).numpy()


# ------------------------------------------------------------------------------ metrics
def classification_metrics(y_true: Any, y_pred: Any) -> dict[str, Any]:
    """Accuracy, balanced accuracy, F1 of class 1 and the confusion matrix
    (rows = true class, columns = predicted) of binary predictions."""
    y_true = np.asarray(y_true).astype(np.int64)
    y_pred = np.asarray(y_pred).astype(np.int64)
    if y_true.shape != y_pred.shape or y_true.ndim != 1 or y_true.size == 0:
        raise ValueError("y_true and y_pred must be non-empty 1-D arrays of one length")
    if not set(np.unique(np.r_[y_true, y_pred])) <= {0, 1}:
        raise ValueError("labels must be 0 or 1")
    cm = np.zeros((2, 2), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    recalls = [cm[c, c] / cm[c].sum() for c in (0, 1) if cm[c].sum()]
    tp, fp, fn = cm[1, 1], cm[0, 1], cm[1, 0]
    return {
        "accuracy": float(np.trace(cm) / cm.sum()),
        "balanced_accuracy": float(np.mean(recalls)),
        "f1": float(2 * tp / (2 * tp + fp + fn)) if tp else 0.0,
        "confusion": cm.tolist(),
    }


def balanced_sample(pairs: list, per_class: int | None, seed: int) -> list:
    """A shuffled sample of ``(text, label)`` pairs with ``per_class`` examples of each
    label 0 and 1, drawn without replacement (all pairs, unshuffled, if ``per_class``
    is None)."""
    if per_class is None:
        return pairs
    if isinstance(per_class, bool) or not isinstance(per_class, int) or per_class < 1:
        raise ValueError(f"per_class must be a positive int or None, got {per_class!r}")
    rng = np.random.default_rng(seed)
    out = []
    for c in (0, 1):
        idx = [i for i, (_, y) in enumerate(pairs) if y == c]
        if len(idx) < per_class:
            have = len(idx)
            raise ValueError(f"only {have} examples of label {c}, asked {per_class}")
        out += [pairs[i] for i in rng.choice(idx, per_class, replace=False)]
    return [out[i] for i in rng.permutation(len(out))]


# ------------------------------------------------------------------- memory accounting
def memory_estimate(
    n_params: int,
    n_trainable: int,
    *,
    tokens: int,
    d_model: int,
    num_layers: int,
    param_bytes: int = 4,
    act_bytes: int = 4,
    checkpointing: bool = False,
) -> dict[str, float]:
    """Predicted training memory in GiB: weights, gradients (trainable only), AdamW's
    two moments (fp32, trainable only) and activations, ~``34 d_model`` values per token
    per block (Korthikanti et al., 2022), one ``d_model`` if checkpointed."""
    for name, value in (("n_params", n_params), ("tokens", tokens)):
        _check_positive_int(name, value)
    if not 0 <= n_trainable <= n_params:
        raise ValueError("n_trainable must be in [0, n_params]")
    per_token = d_model * (1 if checkpointing else 34) * num_layers
    gib = 2**30
    parts = {
        "weights": n_params * param_bytes / gib,
        "gradients": n_trainable * param_bytes / gib,
        "optimizer": n_trainable * 8 / gib,
        "activations": tokens * per_token * act_bytes / gib,
    }
    return {**parts, "total": sum(parts.values())}


# ------------------------------------------------------------------------------- models
def tiny_llama(vocab_size: int = 260, seed: int = 0) -> nn.Module:
    """A tiny random ``LlamaForCausalLM`` (2 blocks of width 32) for tests and demos."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        tie_word_embeddings=True,
    )
    return LlamaForCausalLM(config).eval()


def byte_ids(text: str, max_len: int = 64) -> list[int]:
    """The tiny model's "tokenizer": UTF-8 bytes (ids 0-255), at most ``max_len``."""
    return list(text.encode("utf-8")[:max_len]) or [0]


def load_smollm2(weights: str | os.PathLike | None = None):
    """SmolLM2-135M-Instruct and its tokenizer: from the book's GGUF file by default,
    or from a folder written by ``benchmarks/finetune_gpu.py --export-weights``
    (safetensors and tokenizer files; needs no ``gguf`` package)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if weights is None:
        from lmbook.data import smollm2_path

        path = smollm2_path()
        kwargs = {"gguf_file": path.name}
        folder = path.parent
    else:
        folder, kwargs = Path(weights), {}
        if not (folder / "config.json").is_file():
            raise FileNotFoundError(f"no exported model (config.json) in {folder}")
    tokenizer = AutoTokenizer.from_pretrained(folder, **kwargs)
    model = AutoModelForCausalLM.from_pretrained(folder, **kwargs)
    if weights is None:  # the same tokens under transformers 4 and 5
        from lmbook.llama import use_gguf_special_tokens

        use_gguf_special_tokens(tokenizer, model.config)
    return model.eval(), tokenizer


# ------------------------------------------------------------------------ entry point
def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m lmbook.finetune",
        description="Fine-tune a classifier on SMS spam or movie reviews; runs alone, "
        "under torchrun or under accelerate launch (DDP).",
    )
    p.add_argument("--model", default="tiny", help="tiny | smollm2 | exported folder")
    p.add_argument("--task", default="sms", choices=["sms", "rotten"])
    p.add_argument("--method", default="lora", choices=["lora", "full", "head"])
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--global-batch", type=int, default=8)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--rank", type=int, default=8, help="LoRA rank r")
    p.add_argument("--train-size", type=int, default=256)
    p.add_argument("--max-len", type=int, default=48)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--checkpoint", default=None, help="checkpoint file to write")
    p.add_argument("--resume", action="store_true", help="resume from --checkpoint")
    p.add_argument("--stop-after", type=int, default=None, help="end after this step")
    p.add_argument("--out", default=None, help="JSON file for the loss history")
    return p


def _check_args(args: argparse.Namespace, world: int) -> None:
    for name in ("steps", "global_batch", "train_size", "max_len", "rank"):
        _check_positive_int(name.replace("_", "-"), getattr(args, name))
    if args.global_batch % world:
        raise ValueError(
            f"--global-batch {args.global_batch} must divide by the {world} processes"
        )
    if args.resume and not args.checkpoint:
        raise ValueError("--resume needs --checkpoint")


def _distributed() -> tuple[int, int]:
    """(rank, world size) from the variables torchrun and accelerate launch both set."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if world > 1 and not torch.distributed.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        torch.distributed.init_process_group(backend)
    return rank, world


def _build(args: argparse.Namespace, device: str):
    from lmbook import data

    load = {"sms": data.load_sms_spam, "rotten": data.load_rotten_tomatoes}[args.task]
    pairs = load("train")[: args.train_size]
    torch.manual_seed(args.seed)
    if args.model == "tiny":
        lm = tiny_llama(seed=args.seed)
        encode = lambda text: byte_ids(text, args.max_len)  # noqa: E731
        pad_id = 0
    else:
        lm, tok = load_smollm2(None if args.model == "smollm2" else args.model)
        encode = lambda text: tok(text)["input_ids"][: args.max_len]  # noqa: E731
        pad_id = tok.pad_token_id or 0
    if args.method == "lora":
        add_lora(lm, r=args.rank)
    elif args.method == "head":
        lm.requires_grad_(False)
    torch.manual_seed(args.seed + 1)
    model = ClassifierOnLastToken(lm.model, lm.config.hidden_size).to(device)
    examples = [(encode(text), label) for text, label in pairs]
    return model, examples, pad_id


def _batch(examples, indices, pad_id, device):
    batch = pad_batch([(examples[i][0], examples[i][0]) for i in indices], pad_id)
    labels = torch.tensor([examples[i][1] for i in indices], device=device)
    return batch["input_ids"].to(device), batch["lengths"], labels


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Train; the global batch of step s is drawn from (seed, s) alone, and each of the
    ``world`` processes takes every world-th example of it, so 1 and N processes see
    the same global batches and (DDP averaging the gradients) take the same steps."""
    args = _parser().parse_args(argv)
    rank, world = _distributed()
    _check_args(args, world)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model, examples, pad_id = _build(args, device)
    optimizer = lt.configure_optimizer(model, lr=args.lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lt.WarmupCosine(0, args.steps, 1.0)
    )
    start, history = 0, []
    if args.resume and Path(args.checkpoint).is_file():
        state = lt.load_checkpoint(
            args.checkpoint, model=model, optimizer=optimizer, scheduler=sched
        )
        start, history = state["step"], state["history"]
    ddp = world > 1
    net = nn.parallel.DistributedDataParallel(model) if ddp else model
    stop = min(args.steps, args.stop_after or args.steps)
    t0 = time.perf_counter()
    for step in range(start, stop):
        g = torch.Generator().manual_seed(args.seed * 1_000_003 + step)
        batch = torch.randperm(len(examples), generator=g)[: args.global_batch]
        x, lengths, y = _batch(examples, batch[rank::world].tolist(), pad_id, device)
        loss = F.cross_entropy(net(input_ids=x, lengths=lengths), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        sched.step()
        if ddp:  # the global batch's mean loss, for the log
            loss = loss.detach().clone()
            torch.distributed.all_reduce(loss)
            loss /= world
        history.append(float(loss.detach()))
    result = {
        "world_size": world,
        "steps": stop,
        "losses": history,
        "seconds": time.perf_counter() - t0,
        **count_parameters(model),
    }
    if args.checkpoint and rank == 0:
        lt.save_checkpoint(
            args.checkpoint,
            model=model,
            optimizer=optimizer,
            scheduler=sched,
            step=stop,
            history=history,
        )
    if args.out and rank == 0:
        Path(args.out).write_text(json.dumps(result, indent=1))
    if ddp:
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()
    return result


if __name__ == "__main__":
    main()
