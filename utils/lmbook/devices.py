"""Where code runs: the compute device and the book's size profile.

Profiles: ``cpu`` (small sizes; every chapter runs in a few minutes on two cores;
committed outputs come from it) and ``gpu`` (full sizes). The default is ``gpu`` when
CUDA is available and ``cpu`` otherwise; the environment variable ``LMBOOK_PROFILE``
overrides it.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import sys
from typing import Any, TypeVar

__all__ = [
    "PROFILES",
    "PROFILE_ENV",
    "FRAMEWORKS",
    "pick_device",
    "profile",
    "by_profile",
    "environment_report",
]

PROFILES = ("cpu", "gpu")
PROFILE_ENV = "LMBOOK_PROFILE"
T = TypeVar("T")


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a pinned dependency
        return False
    return bool(torch.cuda.is_available())


def _mps_available() -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover
        return False
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def pick_device(prefer: str | None = None) -> str:
    """The best PyTorch device name: ``cuda``, then ``mps``, then ``cpu``.

    ``prefer`` forces one of them (``ValueError`` if unknown, ``RuntimeError`` if not
    available here).
    """
    if prefer is not None:
        if not isinstance(prefer, str):
            raise TypeError(
                f"prefer must be a string or None, got {type(prefer).__name__}"
            )
        if prefer not in ("cuda", "mps", "cpu"):
            raise ValueError(f"prefer must be 'cuda', 'mps' or 'cpu', got {prefer!r}")
        available = {
            "cuda": _cuda_available,
            "mps": _mps_available,
            "cpu": lambda: True,
        }[prefer]()
        if not available:
            raise RuntimeError(
                f"device {prefer!r} was asked for but is not available on this machine"
            )
        return prefer
    if _cuda_available():
        return "cuda"
    if _mps_available():
        return "mps"
    return "cpu"


FRAMEWORKS = ("torch", "keras")


def _keras_backend() -> str:
    """The Keras backend in use (or that ``import keras`` would pick), without importing
    it.
    """
    keras = sys.modules.get("keras")
    if keras is not None and hasattr(keras, "config"):
        return keras.config.backend()
    return os.environ.get("KERAS_BACKEND", "tensorflow").strip().lower() or "tensorflow"


def _framework_has_gpu(framework: str) -> bool:
    if framework == "torch":
        return _cuda_available()
    backend = _keras_backend()
    if backend == "torch":
        return _cuda_available()
    if (
        backend == "tensorflow"
    ):  # the book pins tensorflow-cpu: this is False unless swapped
        import tensorflow as tf

        return bool(tf.config.list_physical_devices("GPU"))
    return False


def profile(framework: str = "torch") -> str:
    """The size profile: ``$LMBOOK_PROFILE`` if set, else ``gpu`` when ``framework`` can
    use a GPU here and ``cpu`` otherwise.

    ``framework`` is the library the chapter trains with: ``"torch"`` (chapters 5-9) or
    ``"keras"`` (chapters 3-4: Keras on its configured backend; the CPU-only TensorFlow
    build never makes a Keras chapter size itself for a GPU it cannot use).
    """
    if framework not in FRAMEWORKS:
        raise ValueError(f"framework must be one of {FRAMEWORKS}, got {framework!r}")
    value = os.environ.get(PROFILE_ENV, "").strip().lower()
    if value:
        if value not in PROFILES:
            raise ValueError(f"{PROFILE_ENV} must be one of {PROFILES}, got {value!r}")
        return value
    return "gpu" if _framework_has_gpu(framework) else "cpu"


def by_profile(cpu: T, gpu: T, *, framework: str = "torch") -> T:
    """Pick a setting by profile, e.g. ``n_layers = by_profile(cpu=2, gpu=6)``."""
    return gpu if profile(framework) == "gpu" else cpu


# Distributions that provide an importable module under another name.
_DISTRIBUTIONS = {
    "tensorflow": ("tensorflow", "tensorflow-cpu"),
    "sklearn": ("scikit-learn",),
}


def _version(module: str) -> str:
    """Installed version of ``module``, read from package metadata (nothing is
    imported).
    """
    for dist in _DISTRIBUTIONS.get(module, (module,)):
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return "not installed"


def environment_report(
    modules: tuple[str, ...] = (
        "numpy",
        "torch",
        "tensorflow",
        "keras",
        "transformers",
        "matplotlib",
    ),
) -> dict[str, Any]:
    """Versions of Python and the given packages, the device and the profile, as a dict
    (for the preface).
    """
    if isinstance(modules, str) or not all(isinstance(m, str) for m in modules):
        raise TypeError("modules must be a sequence of module names")
    report: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": sys.platform,
    }
    for name in modules:
        report[name] = _version(name)
    report["device"] = pick_device()
    report["profile"] = profile()
    return report
