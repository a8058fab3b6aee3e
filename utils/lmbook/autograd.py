"""A tiny scalar reverse-mode autograd (chapter 3), in plain Python.

Each :class:`Value` holds a number, the values it was computed from and a function that
passes its gradient back to them. :meth:`Value.backward` visits the graph in reverse
topological order and applies the chain rule: the idea behind ``tf.GradientTape`` and
``torch.autograd``, one scalar at a time (after Karpathy's micrograd, 2020).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from numbers import Real

__all__ = ["Value", "numerical_grad"]


def _check_real(x: object, what: str) -> float:
    if isinstance(x, bool) or not isinstance(x, Real):
        raise TypeError(f"{what} must be a real number, got {type(x).__name__}")
    return float(x)


def _lift(x: object) -> Value:
    return x if isinstance(x, Value) else Value(_check_real(x, "operand"))


class Value:
    """A scalar in a computation graph; after backward, ``grad`` = d(output)/d(self)."""

    def __init__(self, data: float, _parents: tuple = (), op: str = "") -> None:
        self.data = _check_real(data, "data")
        self.grad = 0.0
        self._parents = _parents
        self._backward: Callable[[], None] = lambda: None
        self.op = op

    def __repr__(self) -> str:
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g})"

    # each operation returns its result and says how to pass a gradient back
    def __add__(self, other: object) -> Value:
        other = _lift(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward() -> None:
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other: object) -> Value:
        other = _lift(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward() -> None:
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, k: float) -> Value:
        k = _check_real(k, "exponent")
        out = Value(self.data**k, (self,), f"**{k:g}")

        def _backward() -> None:
            self.grad += k * self.data ** (k - 1) * out.grad

        out._backward = _backward
        return out

    def _unary(self, value: float, local: float, op: str) -> Value:
        out = Value(value, (self,), op)

        def _backward() -> None:
            self.grad += local * out.grad

        out._backward = _backward
        return out

    def tanh(self) -> Value:
        t = math.tanh(self.data)
        return self._unary(t, 1 - t * t, "tanh")

    def exp(self) -> Value:
        e = math.exp(self.data)
        return self._unary(e, e, "exp")

    def log(self) -> Value:
        if self.data <= 0:
            raise ValueError(f"log needs a positive value, got {self.data}")
        return self._unary(math.log(self.data), 1 / self.data, "log")

    def sigmoid(self) -> Value:
        s = 1 / (1 + math.exp(-self.data))
        return self._unary(s, s * (1 - s), "sigmoid")

    def relu(self) -> Value:
        return self._unary(max(self.data, 0.0), float(self.data > 0), "relu")

    def __neg__(self) -> Value:
        return self * -1

    def __sub__(self, other: object) -> Value:
        return self + (-_lift(other))

    def __truediv__(self, other: object) -> Value:
        return self * _lift(other) ** -1

    def __radd__(self, other: object) -> Value:
        return self + other

    def __rmul__(self, other: object) -> Value:
        return self * other

    def __rsub__(self, other: object) -> Value:
        return _lift(other) - self

    def __rtruediv__(self, other: object) -> Value:
        return _lift(other) / self

    def backward(self) -> None:
        """Fill ``grad`` of every value this one depends on (reverse-mode)."""
        order, seen = [], set()

        def visit(v: Value) -> None:  # depth-first topological sort
            if id(v) not in seen:
                seen.add(id(v))
                for p in v._parents:
                    visit(p)
                order.append(v)

        visit(self)
        for v in order:
            v.grad = 0.0
        self.grad = 1.0
        for v in reversed(order):
            v._backward()


def numerical_grad(
    f: Callable[..., float], xs: Sequence[float], eps: float = 1e-6
) -> list[float]:
    """Central differences (f(x + eps) - f(x - eps)) / 2 eps, one input at a time."""
    if not callable(f):
        raise TypeError("f must be callable")
    xs = [_check_real(x, "each input") for x in xs]
    if _check_real(eps, "eps") <= 0:
        raise ValueError(f"eps must be positive, got {eps}")
    grads = []
    for i in range(len(xs)):
        up, down = list(xs), list(xs)
        up[i] += eps
        down[i] -= eps
        grads.append((float(f(*up)) - float(f(*down))) / (2 * eps))
    return grads
