"""A shape checker with named dimensions, for NumPy, PyTorch, TensorFlow and Keras
tensors.

In the spirit of TensorFlow's ``nmt_with_attention`` tutorial: ``check(x, "batch time
units")`` asserts that ``x`` has three dimensions and that each name keeps the size it
had the first time the checker saw it. Inside a traced graph (``torch.compile``,
``tf.function``) sizes may be symbolic, so the checker does nothing there. No framework
is imported by this module.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["ShapeChecker", "shape_of"]


def _tracing() -> bool:
    """True inside ``torch.compile`` or a ``tf.function`` graph (only frameworks already
    loaded).
    """
    torch = sys.modules.get("torch")
    if torch is not None:
        compiler = getattr(torch, "compiler", None)
        if compiler is not None and compiler.is_compiling():
            return True
    tf = sys.modules.get("tensorflow")
    if (
        tf is not None
        and hasattr(tf, "executing_eagerly")
        and not tf.executing_eagerly()
    ):
        return True
    return False


def shape_of(tensor: Any) -> tuple[int | None, ...]:
    """The shape of an array or tensor as a tuple (``None`` for an unknown size)."""
    shape = getattr(tensor, "shape", None)
    if shape is None:
        raise TypeError(
            f"expected an array or tensor with a .shape, got {type(tensor).__name__}"
        )
    dims = getattr(shape, "as_list", None)  # tf.TensorShape
    values = dims() if callable(dims) and shape.rank is not None else list(shape)
    return tuple(None if d is None else int(d) for d in values)


class ShapeChecker:
    """Assert shapes against named dimensions, remembering each name's size across
    calls.

    >>> import numpy as np
    >>> check = ShapeChecker()
    >>> _ = check(np.zeros((2, 5, 8)), "batch time d_model")
    >>> _ = check(np.zeros((2, 5, 4)), "batch time d_model")
    Traceback (most recent call last):
    ...
    ValueError: dimension 'd_model' is 4 here but was 8 before (shape (2, 5, 4), names
    'batch time d_model')

    ``_`` is a wildcard; ``broadcast=True`` lets a size-1 dimension match any size.
    """

    def __init__(self) -> None:
        self.sizes: dict[str, int] = {}

    def __call__(self, tensor: Any, names: str, *, broadcast: bool = False) -> Any:
        if not isinstance(names, str):
            raise TypeError(
                "names must be a string of space-separated names, got "
                f"{type(names).__name__}"
            )
        if _tracing():
            return tensor
        shape = shape_of(tensor)
        dims = names.split()
        if len(shape) != len(dims):
            raise ValueError(
                f"tensor has {len(shape)} dimensions {shape} but names {names!r} give "
                f"{len(dims)}"
            )
        for name, size in zip(dims, shape):
            if name == "_" or size is None or (broadcast and size == 1):
                continue
            known = self.sizes.setdefault(name, size)
            if known != size:
                raise ValueError(
                    f"dimension {name!r} is {size} here but was {known} before "
                    f"(shape {shape}, names {names!r})"
                )
        return tensor
