"""Checks shared by every lab's tests (tests/test_lab*.py): grading a set of notebooks
once per session, and the properties every committed student version must have (a fresh
build, no solutions, no hidden tests)."""

from __future__ import annotations

import ast
import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat

from lmbook import labs


def grade_all(
    autograder: Path, jobs: dict[str, Path | tuple], timeout: float = 300
) -> dict[str, labs.GradeResult]:
    """Grade each notebook of ``jobs`` (name -> path, or -> (path, timeout,
    cell_timeout) or (path, timeout, cell_timeout, test_timeout)), two at a time."""
    padded = {k: v if isinstance(v, tuple) else (v, timeout) for k, v in jobs.items()}
    specs = {k: v + (None,) * (4 - len(v)) for k, v in padded.items()}
    with ThreadPoolExecutor(2) as pool:
        futures = {
            k: pool.submit(
                labs.grade_notebook, autograder, nb, t, cell_timeout=c, test_timeout=tt
            )
            for k, (nb, t, c, tt) in specs.items()
        }
        return {k: f.result() for k, f in futures.items()}


def assert_points(result: labs.GradeResult, expected: dict[str, float]) -> None:
    assert result.status == "ok", result.message
    assert result.points() == expected


def solution_lines(source_nb) -> set[str]:
    """Lines of the source's solution blocks that appear nowhere else in it (prompts
    quote some code)."""
    lines, inside, outside = set(), False, []
    for cell in source_nb.cells:
        if cell.cell_type != "code":
            outside.append(cell.source)
            continue
        for line in cell.source.split("\n"):
            s = line.strip()
            if s == "# BEGIN SOLUTION":
                inside = True
            elif s == "# END SOLUTION":
                inside = False
            elif inside and len(s) > 12:
                lines.add(s)
            else:
                outside.append(line)
    rest = "\n".join(outside)
    return {s for s in lines if s not in rest}


def hidden_tests(source_nb) -> list[tuple[str, str]]:
    """(function name, first assertion or error message) of each hidden test cell of the
    source."""
    out = []
    for cell in source_nb.cells:
        if cell.cell_type == "code" and re.search(
            r"BEGIN TEST CONFIG[\s\S]*hidden:\s*true", cell.source
        ):
            tree = ast.parse(cell.source)
            fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef))
            msgs = [
                ast.unparse(n.msg)
                for n in ast.walk(fn)
                if isinstance(n, ast.Assert) and n.msg is not None
            ]
            raises = [
                ast.unparse(n.exc)
                for n in ast.walk(fn)
                if isinstance(n, ast.Raise) and n.exc is not None
            ]
            out.append((fn.name, (msgs + raises + [""])[0]))
    return out


def student_texts(notebook: Path, tests_dir: Path) -> dict[str, str]:
    """The files a student gets: the notebook and the public tests, by name."""
    texts = {notebook.name: notebook.read_text(encoding="utf-8")}
    texts.update(
        {
            f"tests/{p.name}": p.read_text(encoding="utf-8")
            for p in sorted(tests_dir.glob("*.py"))
        }
    )
    return texts


def assert_committed_equals_fresh_build(lab_dir: Path, build: dict[str, Path]) -> None:
    lab = labs.find_lab(lab_dir)
    committed = student_texts(lab.student, lab.tests_dir)
    fresh = student_texts(build["student"], build["tests"])
    assert sorted(committed) == sorted(fresh)
    for name in fresh:
        assert committed[name] == fresh[name], (
            f"labs/{lab.dir.name}/{name} is stale: run `make labs`"
        )


def assert_student_files_are_clean(
    lab_dir: Path, questions: dict[str, float], your_code_cells: int
) -> None:
    """No solution line and no hidden test in the student files; the notebook is ready
    to open and check."""
    lab = labs.find_lab(lab_dir)
    src = nbformat.read(lab.source, as_version=4)
    solutions, hidden = solution_lines(src), hidden_tests(src)
    assert len(solutions) >= 10 and len(hidden) >= len(questions), (
        "the source must have solutions and hidden tests"
    )
    for name, text in student_texts(lab.student, lab.tests_dir).items():
        leaked = [s for s in solutions if s in text]
        assert not leaked, f"{name} contains solution code: {leaked[:3]}"
        for fn, msg in hidden:
            assert fn not in text, f"{name} contains the hidden test {fn}"
            if len(msg) > 12:
                assert msg[2:40] not in text, (
                    f"{name} contains text of the hidden test {fn}"
                )
    nb = json.loads(lab.student.read_text(encoding="utf-8"))
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    assert all(
        c.get("outputs", []) == [] for c in nb["cells"] if c["cell_type"] == "code"
    )
    code = [
        c["source"] if isinstance(c["source"], str) else "".join(c["source"])
        for c in nb["cells"]
        if c["cell_type"] == "code"
    ]
    assert f'grader = otter.Notebook("{lab.student.name}")' in code[0]
    for q in questions:
        assert f'grader.check("{q}")' in code, f"no grader.check cell for {q}"
    assert sum(c.count("# YOUR CODE HERE") for c in code) == your_code_cells
