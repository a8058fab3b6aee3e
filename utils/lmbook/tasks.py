"""Seeded sequence-to-sequence tasks for chapter 4 (no deep-learning framework here).

* dates written in many human formats and languages -> ISO ``YYYY-MM-DD``
  (random dates from ``faker``, written by ``babel``), and test dates in formats that
  training never uses;
* numbers <-> words in several languages (``num2words``);
* English -> another language on Django's human translations, with two baselines
  (copy the source; a word-by-word dictionary learned from co-occurrence).

Every generator returns plain ``(source, target)`` string pairs and is deterministic
for a given seed.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections import Counter
from numbers import Integral

import numpy as np

__all__ = [
    "DATE_FORMATS",
    "HELD_OUT_DATE_FORMATS",
    "NUMBER_LANGUAGES",
    "date_pairs",
    "held_out_date_pairs",
    "date_layout",
    "date_words",
    "number_pairs",
    "tokenize",
    "detokenize",
    "split_pairs",
    "copy_baseline",
    "word_dictionary",
    "dictionary_baseline",
]

# (babel locale, CLDR pattern); numeric day/month orders are never ambiguous here
DATE_FORMATS = (
    ("en_US", "MMMM d, y"),
    ("en_US", "MMM d, y"),
    ("en_US", "EEEE, MMMM d, y"),
    ("en_US", "M/d/y"),
    ("en_GB", "d MMMM y"),
    ("en_GB", "EEE d MMM y"),
    ("fr_FR", "d MMMM y"),
    ("fr_FR", "EEEE d MMMM y"),
    ("de_DE", "d. MMMM y"),
    ("de_DE", "dd.MM.y"),
    ("de_DE", "EEEE, d. MMMM y"),
    ("es_ES", "d 'de' MMMM 'de' y"),
    ("es_ES", "EEEE, d 'de' MMMM 'de' y"),
    ("it_IT", "d MMMM y"),
    ("pt_BR", "d 'de' MMM 'de' y"),
    ("en_US", "y/MM/dd"),
)
# Formats that DATE_FORMATS never uses, to test on: English words in layouts that
# training writes with other words; new layouts; month or weekday names that training
# never writes (other widths, Portuguese full names, Italian weekdays); and a language
# that training never sees (Dutch).
HELD_OUT_DATE_FORMATS = (
    ("en_GB", "d MMM y"),
    ("en_GB", "EEEE d MMMM y"),
    ("en_US", "EEE, MMM d, y"),
    ("en_GB", "EEE, d MMMM y"),
    ("es_ES", "EEEE d 'de' MMMM 'de' y"),
    ("fr_FR", "d MMM y"),
    ("de_DE", "d. MMM y"),
    ("pt_BR", "d 'de' MMMM 'de' y"),
    ("it_IT", "EEEE d MMMM y"),
    ("nl_NL", "d MMMM y"),
)
NUMBER_LANGUAGES = ("en", "fr", "es")
_DIRECTIONS = ("to_words", "to_digits")


def _check_count(n: object, name: str = "n") -> None:
    if isinstance(n, bool) or not isinstance(n, Integral):
        raise TypeError(f"{name} must be an int, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"{name} must be >= 1, got {n}")


def _check_seed(seed: object) -> None:
    if isinstance(seed, bool) or not isinstance(seed, Integral):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")


def _check_formats(formats: object) -> None:
    if isinstance(formats, str) or not formats:
        raise ValueError("formats must be a non-empty sequence of (locale, pattern)")
    for item in formats:
        if not (isinstance(item, tuple) and len(item) == 2):
            raise ValueError(
                f"each format must be a (locale, pattern) pair, got {item!r}"
            )


def date_pairs(
    n: int,
    seed: int = 0,
    formats=DATE_FORMATS,
    start: _dt.date = _dt.date(1950, 1, 1),
    end: _dt.date = _dt.date(2049, 12, 31),
) -> list[tuple[str, str]]:
    """``n`` pairs ``(written date, ISO)``, e.g. ``("3. März 1987", "1987-03-03")``."""
    _check_count(n)
    _check_seed(seed)
    _check_formats(formats)
    if not start < end:
        raise ValueError(f"start must be before end, got {start} and {end}")
    from babel.dates import format_date
    from faker import Faker

    fake = Faker()
    fake.seed_instance(seed)
    pairs = []
    for _ in range(n):
        day = fake.date_between_dates(start, end)
        locale, pattern = formats[fake.random.randrange(len(formats))]
        pairs.append((format_date(day, pattern, locale=locale), day.isoformat()))
    return pairs


def held_out_date_pairs(
    n: int,
    seed: int = 0,
    formats=HELD_OUT_DATE_FORMATS,
    train_formats=DATE_FORMATS,
) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """For each of ``formats``, up to ``n`` pairs ``(written date, ISO)`` (as
    :func:`date_pairs` draws them) whose written form no format of ``train_formats``
    produces for the same day: every kept input is written in a format that training
    never shows (``"8 mars 2020"`` is dropped from French ``d MMM y``, since
    ``d MMMM y`` writes it too)."""
    _check_formats(formats)
    _check_formats(train_formats)
    from babel.dates import format_date

    held_out = {}
    for fmt in formats:
        kept = []
        for text, iso in date_pairs(n, seed, formats=[fmt]):
            day = _dt.date.fromisoformat(iso)
            if all(format_date(day, p, locale=loc) != text for loc, p in train_formats):
                kept.append((text, iso))
        held_out[fmt] = kept
    return held_out


_WORD = re.compile(r"[^\W\d_]+")


def date_layout(text: str) -> str:
    """The layout of a written date: every word becomes ``A`` and every run of digits
    ``9``, separators stay (``"Wed, Jan 8, 2020"`` -> ``"A, A 9, 9"``)."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return re.sub(r"\d+", "9", _WORD.sub("A", text))


def date_words(text: str) -> list[str]:
    """The words of a written date, without digits or punctuation
    (``"mer. 8 janv. 2020"`` -> ``["mer", "janv"]``)."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return _WORD.findall(text)


def number_pairs(
    n: int,
    seed: int = 0,
    languages=NUMBER_LANGUAGES,
    max_digits: int = 6,
    direction: str = "to_words",
) -> list[tuple[str, str]]:
    """``n`` pairs ``("fr|1234", "mille deux cent trente-quatre")`` (or reversed with
    ``direction="to_digits"``); the number of digits is uniform in 1..``max_digits``."""
    _check_count(n)
    _check_seed(seed)
    _check_count(max_digits, "max_digits")
    if direction not in _DIRECTIONS:
        raise ValueError(f"direction must be one of {_DIRECTIONS}, got {direction!r}")
    if isinstance(languages, str) or not languages:
        raise ValueError("languages must be a non-empty sequence of language codes")
    from num2words import num2words

    rng = np.random.default_rng(seed)
    pairs = []
    for _ in range(n):
        digits = int(rng.integers(1, max_digits + 1))
        low = 0 if digits == 1 else 10 ** (digits - 1)
        value = int(rng.integers(low, 10**digits))
        lang = languages[int(rng.integers(len(languages)))]
        words = num2words(value, lang=lang)
        if direction == "to_words":
            pairs.append((f"{lang}|{value}", words))
        else:
            pairs.append((f"{lang}|{words}", str(value)))
    return pairs


_TOKEN = re.compile(r"%\(\w+\)[sd]|\w+|[^\w\s]", re.UNICODE)


def tokenize(text: str) -> list[str]:
    """Words, placeholders such as ``%(name)s`` and single punctuation marks."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return _TOKEN.findall(text)


def detokenize(tokens) -> str:
    """Undo :func:`tokenize` well enough for BLEU: spaces between tokens, none around
    apostrophes or before ``. , ) :`` marks written without a space."""
    if isinstance(tokens, str):
        raise TypeError("tokens must be a sequence of strings, not one string")
    text = " ".join(tokens)
    text = re.sub(r" ?([’']) ?", r"\1", text)
    return re.sub(r" ([.,)])", r"\1", text).replace("( ", "(")


def split_pairs(pairs, test_fraction: float = 0.15, seed: int = 0):
    """Shuffle ``pairs`` with ``seed`` and split them into ``(train, test)``."""
    _check_seed(seed)
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    pairs = list(pairs)
    if len(pairs) < 2:
        raise ValueError("need at least two pairs to split")
    order = np.random.default_rng(seed).permutation(len(pairs))
    n_test = max(1, round(test_fraction * len(pairs)))
    test = [pairs[i] for i in order[:n_test]]
    return [pairs[i] for i in order[n_test:]], test


def copy_baseline(sources: list[str]) -> list[str]:
    """The trivial translation: the source itself."""
    return [str(s) for s in sources]


def word_dictionary(pairs) -> dict[str, str]:
    """A word-by-word dictionary from sentence pairs: each source word's target word
    of highest Dice coefficient ``2 c(e, f) / (c(e) + c(f))`` (ties: alphabetical)."""
    pairs = list(pairs)
    if not pairs:
        raise ValueError("pairs must not be empty")
    src_count, tgt_count, both = Counter(), Counter(), Counter()
    for src, tgt in pairs:
        e_words, f_words = set(tokenize(src)), set(tokenize(tgt))
        src_count.update(e_words)
        tgt_count.update(f_words)
        both.update((e, f) for e in e_words for f in f_words)
    best: dict[str, tuple[float, str]] = {}
    for (e, f), c in both.items():
        dice = 2 * c / (src_count[e] + tgt_count[f])
        if e not in best or (-dice, f) < (-best[e][0], best[e][1]):
            best[e] = (dice, f)
    return {e: f for e, (_, f) in best.items()}


def dictionary_baseline(sources: list[str], dictionary: dict[str, str]) -> list[str]:
    """Translate word by word (unknown words are copied); tokens joined by spaces."""
    return [detokenize([dictionary.get(t, t) for t in tokenize(s)]) for s in sources]
