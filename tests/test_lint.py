"""ruff keeps the package, tests, benchmarks and notebooks linted and formatted (lines
<= 88 columns, so the code the site shows reads without scrolling sideways)."""

import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
RUFF = shutil.which(
    "ruff", path=str(pathlib.Path(sys.executable).parent)
) or shutil.which("ruff")


@pytest.mark.parametrize(
    "args", [["check", "."], ["format", "--check", "."]], ids=["lint", "format"]
)
def test_ruff(args):
    assert RUFF, (
        "ruff is not installed (it is pinned in requirements.txt: run make setup)"
    )
    out = subprocess.run(
        [RUFF, *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, (out.stdout + out.stderr)[-4000:]
