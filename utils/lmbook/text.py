"""Text as numbers: one vocabulary class for every chapter (n-grams, Keras and PyTorch).

A :class:`Vocab` maps tokens (words or characters) to integer ids and back. Ids are
NumPy ``int64`` arrays, so the same object serves counting code, Keras and PyTorch
(``torch.from_numpy(vocab.encode(...))``). Special symbols come first, in the order
``pad``, ``bos``, ``eos``, ``unk`` (each optional), then the ordinary tokens.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from numbers import Integral

import numpy as np

__all__ = ["Vocab"]

_SPECIALS = ("pad", "bos", "eos", "unk")


def _check_special(name: str, value: object) -> None:
    if value is not None and (not isinstance(value, str) or not value):
        raise TypeError(f"{name} must be a non-empty string or None, got {value!r}")


class Vocab:
    """Token <-> id table.

    ``tokens`` are the ordinary types, given their ids in the order given (duplicates
    and specials among them are skipped). ``pad``, ``bos``, ``eos`` and ``unk`` name
    optional special symbols, which take the first ids in that order. Without ``unk``
    the vocabulary is closed: encoding an unknown token raises ``ValueError``.
    ``char_level=True`` lets :meth:`encode` take a string as a sequence of characters.
    """

    def __init__(
        self,
        tokens: Iterable[str],
        *,
        pad: str | None = None,
        bos: str | None = None,
        eos: str | None = None,
        unk: str | None = None,
        char_level: bool = False,
    ) -> None:
        for name, value in zip(_SPECIALS, (pad, bos, eos, unk)):
            _check_special(name, value)
        if isinstance(tokens, (str, bytes)) and not char_level:
            raise TypeError(
                "tokens must be an iterable of strings, not one string "
                "(use Vocab.from_text for a character vocabulary)"
            )
        specials = [s for s in (pad, bos, eos, unk) if s is not None]
        if len(set(specials)) != len(specials):
            raise ValueError(f"special symbols must differ, got {specials}")
        self.pad, self.bos, self.eos, self.unk = pad, bos, eos, unk
        self.char_level = bool(char_level)
        self.itos: list[str] = list(specials)
        self.stoi: dict[str, int] = {s: i for i, s in enumerate(specials)}
        for tok in tokens:
            if not isinstance(tok, str):
                raise TypeError(f"tokens must be strings, got {type(tok).__name__}")
            if tok not in self.stoi:
                self.stoi[tok] = len(self.itos)
                self.itos.append(tok)
        if not self.itos:
            raise ValueError("a vocabulary needs at least one token")

    # ------------------------------------------------------------------ builders
    @classmethod
    def from_text(cls, text: str, **specials) -> Vocab:
        """Character vocabulary of ``text``, characters in sorted order."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a string, got {type(text).__name__}")
        if not text:
            raise ValueError("text must not be empty")
        return cls(sorted(set(text)), char_level=True, **specials)

    @classmethod
    def from_sentences(
        cls, sentences: Iterable[Sequence[str]], *, min_count: int = 1, **specials
    ) -> Vocab:
        """Vocabulary of the tokens seen at least ``min_count`` times, most frequent
        first (ties alphabetical). ``min_count > 1`` needs an ``unk`` symbol."""
        if isinstance(min_count, bool) or not isinstance(min_count, Integral):
            raise TypeError(f"min_count must be an int, got {type(min_count).__name__}")
        if min_count < 1:
            raise ValueError(f"min_count must be >= 1, got {min_count}")
        if min_count > 1 and specials.get("unk") is None:
            raise ValueError(
                "min_count > 1 drops rare words, which needs an unk symbol (unk=None)"
            )
        if isinstance(sentences, str):
            raise TypeError(
                "sentences must be a sequence of token sequences, got a string"
            )
        freq: Counter[str] = Counter()
        for sentence in sentences:
            if isinstance(sentence, str):
                raise TypeError(
                    "sentences must be sequences of tokens, got a string (split it "
                    "first)"
                )
            freq.update(sentence)
        kept = sorted(
            (t for t, c in freq.items() if c >= min_count), key=lambda t: (-freq[t], t)
        )
        return cls(kept, **specials)

    # ------------------------------------------------------------------ queries
    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: object) -> bool:
        return token in self.stoi

    def __repr__(self) -> str:
        named = ", ".join(
            f"{n}={getattr(self, n)!r}"
            for n in _SPECIALS
            if getattr(self, n) is not None
        )
        return f"{type(self).__name__}(size={len(self)}{', ' + named if named else ''})"

    def _special_id(self, name: str) -> int | None:
        symbol = getattr(self, name)
        return None if symbol is None else self.stoi[symbol]

    pad_id = property(
        lambda self: self._special_id("pad"), doc="id of ``pad`` (or None)"
    )
    bos_id = property(
        lambda self: self._special_id("bos"), doc="id of ``bos`` (or None)"
    )
    eos_id = property(
        lambda self: self._special_id("eos"), doc="id of ``eos`` (or None)"
    )
    unk_id = property(
        lambda self: self._special_id("unk"), doc="id of ``unk`` (or None)"
    )

    def token_id(self, token: str, on_unknown: str = "unk") -> int:
        """Id of ``token``; an unknown token maps to ``unk`` or, with
        ``on_unknown="error"`` or a closed vocabulary, raises ``ValueError``."""
        if not isinstance(token, str):
            raise TypeError(f"token must be a string, got {type(token).__name__}")
        if on_unknown not in ("unk", "error"):
            raise ValueError(f"on_unknown must be 'unk' or 'error', got {on_unknown!r}")
        found = self.stoi.get(token)
        if found is not None:
            return found
        if on_unknown == "error":
            raise ValueError(
                f"token {token!r} is not in the vocabulary (on_unknown='error')"
            )
        if self.unk is None:
            raise ValueError(
                f"token {token!r} is not in the vocabulary, which has no unk symbol"
            )
        return self.stoi[self.unk]

    # ------------------------------------------------------------------ encoding
    def encode(
        self, tokens: Sequence[str] | str, on_unknown: str = "unk"
    ) -> np.ndarray:
        """Tokens (a string for a character vocabulary) -> int64 ids."""
        if isinstance(tokens, str) and not self.char_level:
            raise TypeError(
                "tokens must be a sequence of strings, got one string (split it first)"
            )
        try:  # fast path: every token known
            return np.fromiter((self.stoi[t] for t in tokens), dtype=np.int64)
        except (KeyError, TypeError):
            return np.array(
                [self.token_id(t, on_unknown) for t in tokens], dtype=np.int64
            )

    def encode_corpus(
        self, sentences: Iterable[Sequence[str]], on_unknown: str = "unk"
    ) -> list[np.ndarray]:
        """Encode every sentence (see :meth:`encode`)."""
        if isinstance(sentences, str):
            raise TypeError(
                "sentences must be a sequence of token sequences, got a string"
            )
        return [self.encode(s, on_unknown) for s in sentences]

    def decode(self, ids: Iterable[int], sep: str | None = None) -> list[str] | str:
        """Ids -> tokens; joined with ``sep`` into one string when ``sep`` is given
        (``""`` for characters, ``" "`` for words). Accepts NumPy arrays and CPU
        tensors."""
        if hasattr(ids, "tolist"):
            ids = ids.tolist()
        out = []
        for i in ids:
            if (
                isinstance(i, bool)
                or not isinstance(i, Integral)
                or not 0 <= i < len(self)
            ):
                raise ValueError(
                    f"id {i!r} is not a valid id for a vocabulary of size {len(self)}"
                )
            out.append(self.itos[int(i)])
        return out if sep is None else sep.join(out)
