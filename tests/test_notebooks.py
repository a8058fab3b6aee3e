"""Every chapter notebook and every lab source notebook is stored executed, without
errors, with the book's kernel.

nbval re-runs them and compares outputs; this checks what nbval takes for granted: that
there are stored outputs to compare with (a never-executed notebook would otherwise pass
on cells that print nothing)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(
    p
    for p in [*ROOT.glob("chapters/*/*.ipynb"), *ROOT.glob("labs/*/source/*.ipynb")]
    if ".ipynb_checkpoints" not in p.parts
)


def test_there_are_notebooks():
    assert any("00_preface" in p.parts for p in NOTEBOOKS)


@pytest.mark.parametrize(
    "path", NOTEBOOKS, ids=[p.relative_to(ROOT).as_posix() for p in NOTEBOOKS]
)
def test_notebook_is_stored_executed(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert nb["metadata"]["kernelspec"]["name"] == "python3", (
        "use the python3 kernel (nbval runs it)"
    )
    code = [
        c
        for c in nb["cells"]
        if c["cell_type"] == "code" and "".join(c["source"]).strip()
    ]
    assert code, "a notebook without code cells belongs in Markdown"
    missing = [i for i, c in enumerate(code) if c.get("execution_count") is None]
    assert not missing, (
        f"code cells {missing[:10]} were never executed: execute the notebook and "
        "store outputs"
    )
    counts = [c["execution_count"] for c in code]
    assert counts == sorted(counts), (
        "cells were executed out of order: restart the kernel and run all"
    )
    assert any(c["outputs"] for c in code), "no stored outputs at all"
    errors = [
        i
        for i, c in enumerate(code)
        for o in c["outputs"]
        if o["output_type"] == "error"
        and "raises-exception" not in c.get("metadata", {}).get("tags", [])
    ]
    assert not errors, f"code cells {errors} store an error"
    if "chapters" in path.relative_to(ROOT).parts:
        headings = [
            c
            for c in nb["cells"]
            if c["cell_type"] == "markdown"
            and "".join(c["source"]).lstrip().startswith("# ")
        ]
        assert len(headings) == 1 and nb["cells"][0] is headings[0], (
            "one '# Title' heading, in the first cell"
        )


def sanitized(text: str) -> str:
    """``text`` as nbval compares it, with the shared sanitize file's patterns."""
    import re

    from nbval.plugin import get_sanitize_patterns

    patterns = get_sanitize_patterns((ROOT / "tests" / "sanitize.cfg").read_text())
    for regex, replace in patterns:
        text = re.sub(regex, replace, text)
    return text


def test_the_python_version_line_matches_on_every_supported_python():
    """The preface prints the Python it runs on: executed on 3.11, it still passes
    nbval on 3.12 and 3.13, and an unsupported version still fails."""
    report = "      python: {}\n    platform: linux\n       numpy: 2.4.6\n"
    stored = sanitized(report.format("3.11"))
    for version in ("3.12", "3.13"):
        assert sanitized(report.format(version)) == stored
    for version in ("3.10", "3.14", "3.1"):
        assert sanitized(report.format(version)) != stored
    assert sanitized("numpy: 3.12\n") == "numpy: 3.12\n", "only the python line"
