"""The Makefile's targets, `make help`, and the Binder configuration."""

import pathlib
import re
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[1]
MAKEFILE = (ROOT / "Makefile").read_text()


def _phony() -> list[str]:
    line = next(line for line in MAKEFILE.splitlines() if line.startswith(".PHONY:"))
    return line.split(":", 1)[1].split()


def test_every_phony_target_has_a_rule_and_is_in_help():
    out = subprocess.run(
        ["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    for target in _phony():
        assert re.search(rf"^{re.escape(target)}:", MAKEFILE, re.M), (
            f"no rule for {target}"
        )
        if target != "help":
            assert re.search(rf"make {re.escape(target)}\b", out.stdout), (
                f"make help omits {target}"
            )


def test_required_targets_exist():
    assert {"book", "test", "unit", "lint", "chapter", "labs", "grade"} <= set(_phony())


def test_make_chapter_explains_its_argument():
    out = subprocess.run(
        ["make", "-s", "chapter", "-o", "setup", "-o", str(ROOT / ".venv")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (
        out.returncode != 0 and "usage: make chapter CH=05" in out.stdout + out.stderr
    )


def test_test_target_checks_notebooks_under_a_lower_cpu_kernel_set():
    assert (
        "ATEN_CPU_CAPABILITY=avx2" in MAKEFILE
        and "NPY_DISABLE_CPU_FEATURES" in MAKEFILE
    )
    rule = MAKEFILE.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert "$(PORTABLE_ENV)" in rule


def test_binder_installs_what_make_setup_installs():
    post = ROOT / "binder" / "postBuild"
    assert post.stat().st_mode & 0o111, "binder/postBuild must be executable"
    text = post.read_text()
    for needed in (
        "-r requirements.txt -c requirements-lock.txt",
        "-e .",
        "lmbook.data install",
    ):
        assert needed in text
    runtime = (ROOT / "binder" / "runtime.txt").read_text().strip()
    assert re.fullmatch(r"python-3\.1[1-3]", runtime)
