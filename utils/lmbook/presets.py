"""Experiment configurations, written once: the model and training sizes of each
experiment for each profile, used alike by the chapters and by the benchmark scripts.

A preset is a plain dict (no framework imported here) with ``model`` and ``train``
entries that the chapter passes to its framework's config classes, e.g. for chapter 5::

    p = presets.get("ch05-char", devices.profile())
    config = GPTConfig(vocab_size=len(chars), **p["model"])
    train_config = TrainConfig(**p["train"], device=DEVICE)

Profiles: ``cpu`` (committed outputs), ``gpu`` (full size, results committed as JSON)
and ``smoke`` (tiny sizes that the test suite runs through the GPU scripts on a CPU). A
result JSON records the preset it ran (:func:`get` returns ``name`` and ``profile``
inside the dict), and a chapter checks a JSON's recorded preset equals the one it
describes."""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["PRESETS", "PROFILES", "get", "names"]

PROFILES = ("cpu", "gpu", "smoke")

# nanoGPT's Shakespeare-char recipe (Karpathy, 2022) for the gpu profile
_NANOGPT_CHAR = {
    "model": {
        "context_length": 256,
        "d_model": 384,
        "num_heads": 6,
        "num_layers": 6,
        "dropout": 0.2,
        "attention": "sdpa",
    },
    "train": {
        "max_steps": 5000,
        "batch_size": 64,
        "context_length": 256,
        "lr": 1e-3,
        "warmup_steps": 100,
        "betas": (0.9, 0.99),
        "eval_interval": 500,
        "eval_tokens": None,
        "log_interval": 50,
        "dtype": "bf16",
        "compile": True,
        "fused": True,
    },
}

# the smallest model that runs every code path (the GPU scripts' --smoke test on a CPU)
_SMOKE_MODEL = {"context_length": 16, "d_model": 32, "num_heads": 2, "num_layers": 1}

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    # chapter 5: character-level Shakespeare
    "ch05-char": {
        "cpu": {
            "model": {
                "context_length": 64,
                "d_model": 128,
                "num_heads": 4,
                "num_layers": 2,
            },
            "train": {
                "max_steps": 1200,
                "batch_size": 16,
                "context_length": 64,
                "lr": 1e-2,
                "warmup_steps": 50,
                "eval_interval": 300,
                "eval_tokens": 100_000,
            },
        },
        "gpu": _NANOGPT_CHAR,
        "smoke": {
            "model": _SMOKE_MODEL,
            "train": {
                "max_steps": 20,
                "batch_size": 4,
                "context_length": 16,
                "lr": 1e-3,
                "warmup_steps": 2,
                "betas": (0.9, 0.99),
                "eval_interval": 10,
                "eval_tokens": None,
                "log_interval": 1,
            },
        },
    },
    # chapter 5: word-level Penn Treebank
    "ch05-ptb": {
        "cpu": {
            "model": {
                "context_length": 32,
                "d_model": 32,
                "num_heads": 4,
                "num_layers": 2,
                "tie_weights": False,
            },
            "train": {
                "max_steps": 280,
                "batch_size": 24,
                "context_length": 32,
                "lr": 3e-3,
                "warmup_steps": 30,
                "eval_interval": 140,
                "eval_tokens": 20_000,
            },
        },
        "gpu": {
            "model": {
                "context_length": 128,
                "d_model": 384,
                "num_heads": 6,
                "num_layers": 6,
                "dropout": 0.3,
                "attention": "sdpa",
            },
            "train": {
                "max_steps": 4000,
                "batch_size": 64,
                "context_length": 128,
                "lr": 1e-3,
                "warmup_steps": 200,
                "eval_interval": 500,
                "eval_tokens": None,
                "log_interval": 50,
                "dtype": "bf16",
                "compile": True,
                "fused": True,
            },
        },
        "smoke": {
            "model": _SMOKE_MODEL,
            "train": {
                "max_steps": 10,
                "batch_size": 4,
                "context_length": 16,
                "lr": 1e-3,
                "warmup_steps": 2,
                "eval_interval": 10,
                "eval_tokens": None,
                "log_interval": 1,
            },
        },
    },
    # chapter 5: GPT-2-small-sized throughput (vocabulary padded to 50,304)
    "ch05-gpt2-small": {
        "gpu": {
            "model": {
                "vocab_size": 50304,
                "context_length": 1024,
                "d_model": 768,
                "num_heads": 12,
                "num_layers": 12,
                "bias": False,
                "attention": "sdpa",
            },
            "train": {
                "max_steps": 1,
                "warmup_steps": 0,
                "batch_size": 16,
                "context_length": 1024,
                "lr": 6e-4,
                "dtype": "bf16",
                "compile": True,
                "fused": True,
            },
        },
        "smoke": {
            "model": {
                "vocab_size": 128,
                "context_length": 32,
                "d_model": 48,
                "num_heads": 4,
                "num_layers": 2,
                "bias": False,
                "attention": "sdpa",
            },
            "train": {
                "max_steps": 1,
                "warmup_steps": 0,
                "batch_size": 2,
                "context_length": 32,
                "lr": 6e-4,
            },
        },
    },
    # chapter 5: the step-by-step build (bigram ... full block), one short training each
    "ch05-steps": {
        "cpu": {
            "model": {
                "context_length": 64,
                "d_model": 64,
                "num_heads": 4,
                "num_layers": 2,
            },
            "train": {
                "max_steps": 500,
                "batch_size": 16,
                "context_length": 64,
                "lr": 1e-2,
                "warmup_steps": 20,
                "eval_interval": 500,
                "eval_tokens": 100_000,
            },
        },
    },
    # chapter 6: a small random GPT-2 for the parity check against transformers
    "ch06-gpt2-tiny": {
        p: {
            "model": {
                "vocab_size": 1000,
                "context_length": 64,
                "d_model": 64,
                "num_heads": 4,
                "num_layers": 2,
            }
        }
        for p in ("cpu", "gpu", "smoke")
    },
    # chapter 6: byte-level BPE trained on the book's Shakespeare
    "ch06-bpe": {
        "cpu": {"train": {"vocab_size": 256 + 1000, "num_chars": 500_000}},
        "gpu": {"train": {"vocab_size": 256 + 2000, "num_chars": 2_000_000}},
        "smoke": {"train": {"vocab_size": 256 + 120, "num_chars": 60_000}},
    },
    # chapter 3: the MLP language model of Bengio et al. (2003) on PTB (Keras)
    "ch03-mlp": {
        "cpu": {
            "model": {"context": 3, "d_embed": 32, "d_hidden": 128, "dropout": 0.0},
            "train": {
                "train_tokens": 150_000,
                "batch_size": 128,
                "epochs": 1,
                "lr": 3e-3,
                "weight_decay": 0.0,
            },
        },
        "gpu": {
            "model": {"context": 5, "d_embed": 128, "d_hidden": 512, "dropout": 0.3},
            "train": {
                "train_tokens": None,
                "batch_size": 256,
                "epochs": 10,
                "lr": 1e-3,
                "weight_decay": 0.01,
            },
        },
        "smoke": {
            "model": {"context": 3, "d_embed": 8, "d_hidden": 16, "dropout": 0.0},
            "train": {
                "train_tokens": 2_000,
                "batch_size": 64,
                "epochs": 1,
                "lr": 3e-3,
                "weight_decay": 0.0,
            },
        },
    },
    # chapter 3: LSTM language model on PTB; gpu = Zaremba et al. (2014) medium
    "ch03-lstm": {
        "cpu": {
            "model": {"d_model": 64, "num_layers": 1, "dropout": 0.0},
            "train": {
                "train_tokens": 150_000,
                "batch_size": 10,
                "bptt": 20,
                "epochs": 1,
                "optimizer": "adam",
                "lr": 1e-2,
                "lr_decay": 1.0,
                "decay_after": 1,
                "clipnorm": 5.0,
            },
        },
        "gpu": {
            "model": {
                "d_model": 650,
                "num_layers": 2,
                "dropout": 0.5,
                "init_scale": 0.05,
            },
            "train": {
                "train_tokens": None,
                "batch_size": 20,
                "bptt": 35,
                "epochs": 39,
                "optimizer": "sgd",
                "lr": 1.0,
                "lr_decay": 1 / 1.2,
                "decay_after": 6,
                "clipnorm": 5.0,
            },
        },
        "smoke": {
            "model": {
                "d_model": 16,
                "num_layers": 2,
                "dropout": 0.5,
                "init_scale": 0.05,
            },
            "train": {
                "train_tokens": 4_000,
                "batch_size": 4,
                "bptt": 10,
                "epochs": 2,
                "optimizer": "sgd",
                "lr": 1.0,
                "lr_decay": 0.5,
                "decay_after": 1,
                "clipnorm": 5.0,
            },
        },
    },
    # chapter 7: classification fine-tuning of SmolLM2 (SMS spam, Rotten Tomatoes).
    # cpu: class-balanced subsets, only the top blocks trained (lower ones cached);
    # gpu: whole splits, every block, bf16 autocast + torch.compile + fused AdamW.
    "ch07-classify": {
        "cpu": {
            "train_per_class": 40,
            "test_per_class": 40,
            "max_len": 32,
            "top_layers": 2,
            "lora_rank": 8,
            "epochs": 3,
            "batch_size": 16,
            "lr": {"head": 1e-2, "lora": 2e-3, "full": 2e-4},
        },
        "gpu": {
            "train_per_class": None,
            "test_per_class": None,
            "max_len": 96,
            "top_layers": 30,
            "lora_rank": 8,
            "epochs": 2,
            "batch_size": 32,
            "lr": {"head": 1e-3, "lora": 5e-4, "full": 2e-5},
            "dtype": "bf16",
            "compile": True,
            "fused": True,
        },
        "smoke": {
            "train_per_class": 4,
            "test_per_class": 4,
            "max_len": 16,
            "top_layers": 1,
            "lora_rank": 2,
            "epochs": 1,
            "batch_size": 4,
            "lr": {"head": 1e-2, "lora": 2e-3, "full": 2e-4},
        },
    },
    # chapter 7: continued pre-training on Shakespeare and instruction tuning (cpu only;
    # the gpu benchmark covers classification)
    "ch07-adapt": {
        "cpu": {
            "context_length": 64,
            "train_windows": 24,
            "val_windows": 12,
            "top_layers": 2,
            "lora_rank": 8,
            "epochs": 2,
            "batch_size": 4,
            "lr": 2e-3,
            "instructions_train": 96,
            "instructions_test": 24,
        },
    },
    # chapter 4: dates in many formats and languages -> ISO (Keras LSTM seq2seq)
    "ch04-dates": {
        "cpu": {
            "model": {"embed_dim": 32, "units": 64},
            "train": {
                "n_train": 6000,
                "n_test": 1000,
                "n_held_out": 200,  # per held-out format
                "epochs": 8,
                "batch_size": 64,
                "lr": 1e-2,
                "schedule": "cosine",  # the learning rate decays to 0
            },
        },
        "gpu": {
            "model": {"embed_dim": 64, "units": 256},
            "train": {
                "n_train": 50000,
                "n_test": 5000,
                "epochs": 10,
                "batch_size": 128,
                "lr": 2e-3,
            },
        },
        "smoke": {
            "model": {"embed_dim": 8, "units": 16},
            "train": {
                "n_train": 64,
                "n_test": 16,
                "n_held_out": 4,
                "epochs": 1,
                "batch_size": 32,
                "lr": 3e-3,
                "schedule": "cosine",
            },
        },
    },
    # chapter 4: numbers -> English words (the bottleneck experiment)
    "ch04-numbers": {
        "cpu": {
            "model": {"embed_dim": 32, "units": 64},
            "train": {
                "n_train": 6000,
                "n_test": 700,
                "epochs": 16,
                "batch_size": 64,
                "lr": 3e-3,
                "max_digits": 6,
            },
        },
        "smoke": {
            "model": {"embed_dim": 8, "units": 16},
            "train": {
                "n_train": 64,
                "n_test": 16,
                "epochs": 1,
                "batch_size": 32,
                "lr": 3e-3,
                "max_digits": 3,
            },
        },
    },
    # chapter 4: English -> French on Django's human translations
    "ch04-translation": {
        "cpu": {
            "model": {"embed_dim": 64, "units": 128},
            "train": {
                "max_tokens": 12,
                "epochs": 30,
                "batch_size": 32,
                "lr": 3e-3,
                "language": "fr",
            },
        },
        "gpu": {
            "model": {"embed_dim": 256, "units": 512},
            "train": {
                "max_tokens": 40,
                "epochs": 60,
                "batch_size": 64,
                "lr": 1e-3,
                "language": "fr",
            },
        },
        "smoke": {
            "model": {"embed_dim": 8, "units": 16},
            "train": {
                "max_tokens": 8,
                "epochs": 1,
                "batch_size": 16,
                "lr": 3e-3,
                "language": "fr",
            },
        },
    },
    # chapter 6: SmolLM2's per-word perplexity; cpu: the first sentences of PTB test and
    # lines of held-out Shakespeare, gpu: the whole texts (None = all)
    "ch06-perplexity": {
        "cpu": {
            "ptb_sentences": 300,
            "shakespeare_lines": 300,
            "window": 512,
            "stride": 384,
        },
        "gpu": {
            "ptb_sentences": None,
            "shakespeare_lines": None,
            "window": 512,
            "stride": 384,
        },
        "smoke": {
            "ptb_sentences": 2,
            "shakespeare_lines": 3,
            "window": 16,
            "stride": 12,
        },
    },
}


def names() -> list[str]:
    """The names of all presets."""
    return sorted(PRESETS)


def get(name: str, profile: str) -> dict[str, Any]:
    """A fresh copy of preset ``name`` for ``profile``, with ``name`` and ``profile``
    keys added."""
    if not isinstance(name, str) or name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; known: {', '.join(names())}")
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, got {profile!r}")
    if profile not in PRESETS[name]:
        raise ValueError(
            f"preset {name!r} has no {profile!r} profile "
            f"(it has: {', '.join(PRESETS[name])})"
        )
    out = copy.deepcopy(PRESETS[name][profile])
    return {"name": name, "profile": profile, **out}
