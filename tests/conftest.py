"""pytest configuration of tests/.

Load triton, when installed, before any test imports TensorFlow. On Linux, PyPI's
PyTorch is the CUDA build, which brings triton and imports it on the first optimizer
it constructs; TensorFlow 2.20 and newer load their bundled LLVM into the process's
global symbols, and triton 3.7 loading its own LLVM after that crashes the process
(SIGSEGV; tensorflow/tensorflow#124205). A test worker runs Keras and PyTorch test
files one after another, so without this, `make test` lost workers on 3.12 and 3.13.
"""

import importlib.util

if importlib.util.find_spec("triton") is not None:
    import triton  # noqa: F401
