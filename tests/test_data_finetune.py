"""lmbook.data: the labelled data of chapter 7 (SMS spam, Rotten Tomatoes snippets)."""

from __future__ import annotations

import pytest

from lmbook import data

LOADERS = {"sms": data.load_sms_spam, "rotten": data.load_rotten_tomatoes}


def test_sms_matches_the_published_counts():
    pairs = data.load_sms_spam("all")
    assert len(pairs) == 4_837
    assert data.class_balance(pairs) == {0: 4_199, 1: 638}
    assert all(isinstance(t, str) and t for t, _ in pairs)


def test_rotten_tomatoes_matches_the_published_counts():
    pairs = data.load_rotten_tomatoes("all")
    assert data.class_balance(pairs) == {0: 5_405, 1: 7_403}


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_splits_partition_the_data_without_leaks(name):
    load = LOADERS[name]
    parts = {s: load(s) for s in ("train", "validation", "test")}
    assert sum(map(len, parts.values())) == len(load("all"))
    texts = {s: {t for t, _ in p} for s, p in parts.items()}
    assert not texts["train"] & texts["test"]
    assert not texts["train"] & texts["validation"]
    assert not texts["validation"] & texts["test"]
    share = len(parts["test"]) / len(load("all"))
    assert 0.17 < share < 0.23
    assert load("test") == parts["test"]  # fixed: the same every call


def test_fixed_split_sizes_and_balance():
    assert data.class_balance(data.load_sms_spam("test")) == {0: 847, 1: 115}
    assert data.class_balance(data.load_rotten_tomatoes("test")) == {0: 1105, 1: 1457}


@pytest.mark.parametrize("bad", ["dev", "valid", ""])
def test_labelled_loaders_reject_unknown_splits(bad):
    for load in LOADERS.values():
        with pytest.raises(ValueError, match="split must be one of"):
            load(bad)


def test_class_balance_rejects_bad_input():
    with pytest.raises(TypeError):
        data.class_balance("spam")
    with pytest.raises(ValueError, match="pair"):
        data.class_balance([("a", 1, 2)])
    assert data.class_balance([]) == {}


def test_missing_data_names_the_install_command(monkeypatch, tmp_path):
    monkeypatch.setenv("LMBOOK_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(data, "_package_dir", lambda name: tmp_path / name)
    with pytest.raises(data.DataNotFoundError, match="install"):
        data.sms_spam_path()
    with pytest.raises(data.DataNotFoundError, match="install"):
        data.rotten_tomatoes_path()
