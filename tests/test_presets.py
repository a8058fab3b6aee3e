"""lmbook.presets: experiment sizes written once, for chapters and benchmarks alike."""

import pytest

from lmbook import presets


def test_every_preset_builds_the_framework_configs():
    torch = pytest.importorskip("torch")  # noqa: F841
    from lmbook import train as tr
    from lmbook import transformer as tfm

    for name in presets.names():
        if not name.startswith("ch05"):
            continue
        for profile in presets.PRESETS[name]:
            p = presets.get(name, profile)
            assert p["name"] == name and p["profile"] == profile
            model = {"vocab_size": 65, **p["model"]}
            tfm.GPTConfig(**model)
            tr.TrainConfig(**p["train"])


def test_get_returns_a_copy():
    a = presets.get("ch05-char", "cpu")
    a["model"]["d_model"] = -1
    assert presets.get("ch05-char", "cpu")["model"]["d_model"] > 0


@pytest.mark.parametrize(
    "args, match",
    [
        (("nope", "cpu"), "unknown preset"),
        (("ch05-char", "tpu"), "profile must be"),
        (("ch05-gpt2-small", "cpu"), "has no 'cpu' profile"),
    ],
)
def test_bad_names(args, match):
    with pytest.raises(ValueError, match=match):
        presets.get(*args)
