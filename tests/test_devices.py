"""lmbook.devices and lmbook.repro: device choice, the profile setting, and seeding."""

from __future__ import annotations

import random
import sys

import numpy as np
import pytest
import torch

from lmbook import devices, repro


def test_pick_device_on_this_machine(monkeypatch):
    monkeypatch.setattr(devices, "_cuda_available", lambda: False)
    monkeypatch.setattr(devices, "_mps_available", lambda: False)
    assert devices.pick_device() == "cpu"
    monkeypatch.setattr(devices, "_mps_available", lambda: True)
    assert devices.pick_device() == "mps"
    monkeypatch.setattr(devices, "_cuda_available", lambda: True)
    assert devices.pick_device() == "cuda"
    assert devices.pick_device("cpu") == "cpu"


def test_pick_device_rejects_bad_requests(monkeypatch):
    monkeypatch.setattr(devices, "_cuda_available", lambda: False)
    with pytest.raises(ValueError, match="prefer"):
        devices.pick_device("tpu")
    with pytest.raises(TypeError, match="prefer"):
        devices.pick_device(1)
    with pytest.raises(RuntimeError, match="not available"):
        devices.pick_device("cuda")


def test_profile_default_follows_cuda(monkeypatch):
    monkeypatch.delenv("LMBOOK_PROFILE", raising=False)
    monkeypatch.setattr(devices, "_cuda_available", lambda: False)
    assert devices.profile() == "cpu"
    monkeypatch.setattr(devices, "_cuda_available", lambda: True)
    assert devices.profile() == "gpu"


def test_profile_override_and_validation(monkeypatch):
    monkeypatch.setattr(devices, "_cuda_available", lambda: False)
    monkeypatch.setenv("LMBOOK_PROFILE", " GPU ")
    assert devices.profile() == "gpu"
    assert devices.by_profile(cpu=2, gpu=6) == 6
    monkeypatch.setenv("LMBOOK_PROFILE", "cpu")
    assert devices.by_profile(cpu=2, gpu=6) == 2
    monkeypatch.setenv("LMBOOK_PROFILE", "laptop")
    with pytest.raises(ValueError, match="LMBOOK_PROFILE"):
        devices.profile()


def test_environment_report_reads_versions_without_importing(monkeypatch):
    monkeypatch.setenv("LMBOOK_PROFILE", "cpu")
    report = devices.environment_report(("numpy", "tensorflow", "no_such_package_xyz"))
    assert report["numpy"] == np.__version__
    assert report["tensorflow"].startswith("2.21")
    assert report["no_such_package_xyz"] == "not installed"
    assert report["profile"] == "cpu" and report["device"] in ("cpu", "cuda", "mps")
    with pytest.raises(TypeError, match="modules"):
        devices.environment_report("numpy")


def test_seed_everything_makes_every_generator_repeat():
    def draw():
        return random.random(), np.random.rand(), torch.rand(1).item()

    repro.seed_everything(123)
    first = draw()
    repro.seed_everything(123)
    assert draw() == first
    repro.seed_everything(124)
    assert draw() != first


def test_seed_everything_seeds_keras_once_imported():
    import keras

    assert "keras" in sys.modules
    repro.seed_everything(7)
    a = keras.random.uniform((3,)).numpy()
    repro.seed_everything(7)
    assert np.array_equal(a, keras.random.uniform((3,)).numpy())


@pytest.mark.parametrize(
    "bad, error",
    [
        (1.5, TypeError),
        ("1", TypeError),
        (True, TypeError),
        (-1, ValueError),
        (2**32, ValueError),
    ],
)
def test_seed_everything_rejects_bad_seeds(bad, error):
    with pytest.raises(error, match="seed"):
        repro.seed_everything(bad)


def test_deterministic_mode(monkeypatch):
    calls = []
    monkeypatch.setattr(
        torch, "use_deterministic_algorithms", lambda flag: calls.append(flag)
    )
    assert repro.seed_everything(5, deterministic=True) == 5
    assert calls == [True]


def test_profile_knows_the_framework_asking(monkeypatch):
    monkeypatch.delenv("LMBOOK_PROFILE", raising=False)
    monkeypatch.setattr(
        devices, "_cuda_available", lambda: True
    )  # a CUDA GPU for PyTorch
    assert devices.profile("torch") == "gpu"
    monkeypatch.setattr(devices, "_keras_backend", lambda: "torch")
    assert devices.profile("keras") == "gpu"  # Keras on the torch backend can use it
    monkeypatch.setattr(devices, "_keras_backend", lambda: "tensorflow")
    # the pinned CPU-only TensorFlow build sees no GPU: Keras chapters stay small
    assert devices.profile("keras") == "cpu"
    assert devices.by_profile(cpu=2, gpu=6, framework="keras") == 2
    with pytest.raises(ValueError, match="framework"):
        devices.profile("jax")
