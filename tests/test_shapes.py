"""lmbook.shapes.ShapeChecker on NumPy, PyTorch, TensorFlow and Keras tensors."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from lmbook.shapes import ShapeChecker, shape_of


def test_names_keep_their_sizes_across_calls():
    check = ShapeChecker()
    check(np.zeros((2, 3, 4)), "batch time d_model")
    check(np.zeros((2, 4)), "batch d_model")
    with pytest.raises(ValueError, match="'d_model' is 5 here but was 4"):
        check(np.zeros((2, 5)), "batch d_model")
    with pytest.raises(ValueError, match="3 dimensions"):
        check(np.zeros((2, 3, 4)), "batch time")
    with pytest.raises(TypeError, match="shape"):
        check([1, 2], "x")
    with pytest.raises(TypeError, match="names"):
        check(np.zeros(2), 3)


def test_wildcard_and_broadcast():
    check = ShapeChecker()
    check(np.zeros((2, 7)), "batch _")
    check(np.zeros((2, 9)), "batch _")
    check(np.zeros((1, 9)), "batch x", broadcast=True)
    assert check.sizes == {"batch": 2, "x": 9}


def test_torch_tensors_and_skipped_inside_torch_compile():
    torch = pytest.importorskip("torch")
    check = ShapeChecker()
    check(torch.zeros(2, 3), "batch time")
    with pytest.raises(ValueError, match="'time' is 4"):
        check(torch.zeros(2, 4), "batch time")
    import torch.compiler

    original = torch.compiler.is_compiling
    torch.compiler.is_compiling = lambda: True
    try:
        check(torch.zeros(2, 99), "batch time")  # a traced graph: no check
    finally:
        torch.compiler.is_compiling = original


KERAS_SCRIPT = textwrap.dedent(
    """
    import keras, numpy as np
    from lmbook.shapes import ShapeChecker
    check = ShapeChecker()
    check(keras.ops.zeros((2, 3)), "batch time")
    check(keras.Variable(np.zeros((2, 5))), "batch units")
    try:
        check(keras.ops.zeros((3, 3)), "batch time")
    except ValueError as err:
        print("raised:", "'batch' is 3" in str(err))
    if keras.config.backend() == "tensorflow":
        import tensorflow as tf

        @tf.function(input_signature=[tf.TensorSpec([None, 7])])
        def traced(x):
            return check(x, "batch time")  # inside a graph: skipped

        traced(tf.zeros((2, 7)))
        print("tf.function skipped:", True)
    print("backend:", keras.config.backend())
    """
)


@pytest.mark.parametrize("backend", ["tensorflow", "torch"])
def test_keras_tensors_on_both_backends(backend):
    env = {**os.environ, "KERAS_BACKEND": backend, "CUDA_VISIBLE_DEVICES": ""}
    out = subprocess.run(
        [sys.executable, "-c", KERAS_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "raised: True" in out.stdout and f"backend: {backend}" in out.stdout


def test_shape_of_unknown_dimensions():
    class FakeTFShape:
        rank = 2

        def as_list(self):
            return [None, 4]

    class FakeTensor:
        shape = FakeTFShape()

    assert shape_of(FakeTensor()) == (None, 4)
    check = ShapeChecker()
    check(FakeTensor(), "batch units")
    assert check.sizes == {"units": 4}
