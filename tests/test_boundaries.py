"""Framework boundaries, checked in fresh interpreters: the neutral modules import no
deep-learning framework, torch modules never import TensorFlow, Keras modules never
import torch themselves."""

import ast
import pathlib
import subprocess
import sys

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "utils" / "lmbook"
NEUTRAL = [
    "data",
    "text",
    "shapes",
    "notebook",
    "viz",
    "devices",
    "repro",
    "ngram",
    "hmm",
    "presets",
    "tokenizer",
    "labs",
    "autograd",
    "tasks",
]
FRAMEWORKS = ("torch", "tensorflow", "keras")


def _imports(module: str) -> dict[str, bool]:
    code = (
        "import sys, importlib; importlib.import_module(sys.argv[1]); "
        "print(','.join(f for f in sys.argv[2:] if f in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, module, *FRAMEWORKS],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    loaded = set(out.stdout.strip().split(",")) - {""}
    return {f: f in loaded for f in FRAMEWORKS}


@pytest.mark.parametrize("module", ["lmbook", *(f"lmbook.{m}" for m in NEUTRAL)])
def test_neutral_modules_import_no_framework(module):
    assert not any(_imports(module).values()), _imports(module)


def _module_kind(path: pathlib.Path) -> set[str]:
    """Top-level frameworks a module's source imports (at any depth of the file)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        found |= {n.split(".")[0] for n in names} & set(FRAMEWORKS)
    return found


def test_every_module_is_classified():
    modules = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__"}
    for stem in modules:
        kind = _module_kind(PACKAGE / f"{stem}.py")
        if stem in NEUTRAL:
            # checked at run time above (lazy imports inside functions are allowed)
            continue
        assert not ({"torch"} <= kind and {"keras", "tensorflow"} & kind), (
            f"lmbook.{stem} imports both torch and Keras/TensorFlow: split it"
        )


@pytest.mark.parametrize(
    "stem",
    sorted(
        p.stem for p in PACKAGE.glob("*.py") if p.stem not in NEUTRAL + ["__init__"]
    ),
)
def test_framework_modules_keep_apart(stem):
    kind = _module_kind(PACKAGE / f"{stem}.py")
    loaded = _imports(f"lmbook.{stem}")
    if "torch" in kind:
        assert not loaded["tensorflow"] and not loaded["keras"], (
            f"lmbook.{stem} (torch) loaded {loaded}"
        )
    if kind & {"keras", "tensorflow"}:
        assert not loaded["torch"], (
            f"lmbook.{stem} (Keras) imported torch itself: {loaded}"
        )
