"""lmbook.autograd: the tiny scalar autograd equals finite differences and the
frameworks' own gradients (tf.GradientTape, torch.autograd) through Keras ops."""

import json
import math
import os
import subprocess
import sys

import pytest

from lmbook.autograd import Value, numerical_grad

POINT = (0.7, -1.3, 2.1)


def f_value(a, b, c):
    """tanh(a b + c) e^b / (1 + a^2) + log c - sigmoid(a) relu(c) (any scalar type)."""
    return (a * b + c).tanh() * b.exp() / (1 + a**2) + c.log() - a.sigmoid() * c.relu()


def f_float(a, b, c):
    sig = 1 / (1 + math.exp(-a))
    return (
        math.tanh(a * b + c) * math.exp(b) / (1 + a**2) + math.log(c) - sig * max(c, 0)
    )


def autograd_grads(point=POINT):
    xs = [Value(x) for x in point]
    out = f_value(*xs)
    out.backward()
    return out.data, [x.grad for x in xs]


def test_forward_value_and_gradients_equal_finite_differences():
    value, grads = autograd_grads()
    assert value == pytest.approx(f_float(*POINT), abs=1e-12)
    assert grads == pytest.approx(numerical_grad(f_float, POINT), abs=1e-7)


def test_a_value_used_twice_accumulates_its_gradient():
    x = Value(3.0)
    y = x * x + x  # dy/dx = 2x + 1
    y.backward()
    assert x.grad == 7.0
    y.backward()  # a second backward starts from zero again
    assert x.grad == 7.0


def test_arithmetic_with_plain_numbers():
    x = Value(2.0)
    y = 1 - x / 4 + 3 * x - 2 / x
    y.backward()
    assert y.data == pytest.approx(1 - 0.5 + 6 - 1)
    assert x.grad == pytest.approx(-0.25 + 3 + 2 / 4)


KERAS_GRAD = """
import json, sys
import keras
from keras import ops
a, b, c = (keras.Variable(x, dtype="float64") for x in json.loads(sys.argv[1]))
def f():
    return (ops.tanh(a * b + c) * ops.exp(b) / (1 + a**2) + ops.log(c)
            - ops.sigmoid(a) * ops.relu(c))
backend = keras.backend.backend()
if backend == "tensorflow":
    import tensorflow as tf
    with tf.GradientTape() as tape:
        out = f()
    grads = tape.gradient(out, [a.value, b.value, c.value])
    grads = [float(g) for g in grads]
else:
    import torch
    out = f()
    grads = [float(g) for g in torch.autograd.grad(out, [a.value, b.value, c.value])]
print(json.dumps({"backend": backend, "value": float(out), "grads": grads}))
"""


@pytest.mark.parametrize("backend", ["tensorflow", "torch"])
def test_gradients_equal_the_frameworks_through_keras_ops(backend):
    env = {**os.environ, "KERAS_BACKEND": backend}
    out = subprocess.run(
        [sys.executable, "-c", KERAS_GRAD, json.dumps(POINT)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found["backend"] == backend
    value, grads = autograd_grads()
    assert found["value"] == pytest.approx(value, abs=1e-12)
    assert found["grads"] == pytest.approx(grads, abs=1e-12)


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda: Value("1"), TypeError),
        (lambda: Value(True), TypeError),
        (lambda: Value(1.0) + "x", TypeError),
        (lambda: Value(1.0) ** Value(2.0), TypeError),
        (lambda: Value(0.0).log(), ValueError),
        (lambda: numerical_grad(3, [1.0]), TypeError),
        (lambda: numerical_grad(f_float, POINT, eps=0), ValueError),
        (lambda: numerical_grad(f_float, ["a"]), TypeError),
    ],
)
def test_bad_input(call, error):
    with pytest.raises(error):
        call()
