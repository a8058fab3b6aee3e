"""Lab pipeline (lmbook.labs) and Lab 0: build, grading with hidden tests, wrong
submissions, timeouts.

Grading one notebook starts a kernel under ``otter run`` (10-20 s), so the notebooks are
graded once per session, two at a time, and the tests read the results. Other labs reuse
the helpers: see test_lab_NN.py and labcheck.py.
"""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

import labcheck
from lmbook import labs

LAB0 = labs.labs_root() / "00_warmup"

# Plausible wrong answers, each replacing one solution function of the source; the
# points they must lose are the test cases written to catch that mistake (see the source
# notebook).
WRONG_Q1_OVERFLOWING_SOFTMAX = """
def log_softmax(logits):
    x = np.asarray(logits)
    if x.dtype.kind not in "iuf":
        raise TypeError(f"logits must be numeric, got dtype {x.dtype}")
    if x.ndim == 0 or x.size == 0:
        raise ValueError("logits must be non-empty")
    e = np.exp(x.astype(np.float64))
    return np.log(e / e.sum(axis=-1, keepdims=True))
"""
WRONG_Q2_NO_VALIDATION = """
def sample_categorical(probs, n, seed):
    rng = np.random.default_rng(seed)
    k = np.searchsorted(np.cumsum(probs), rng.random(n), side="right")
    return np.minimum(k, len(probs) - 1)
"""
WRONG_Q3_NATURAL_LOG = {
    "entropy": """
def entropy(p, base=2):
    p = _check_distribution("p", p)
    _check_base(base)
    nz = p > 0
    return float(-np.sum(p[nz] * np.log(p[nz])))
""",
    "cross_entropy": """
def cross_entropy(p, q, base=2):
    p, q = _check_distribution("p", p), _check_distribution("q", q)
    if p.shape != q.shape:
        raise ValueError("p and q must have the same shape")
    _check_base(base)
    nz = p > 0
    if np.any(q[nz] == 0):
        return math.inf
    return float(-np.sum(p[nz] * np.log(q[nz])))
""",
}
WRONG_Q4_ITERATES_STRING = """
def unigram_model(tokens):
    counts = Counter(tokens)
    return {w: c / len(tokens) for w, c in counts.items()}
"""
WRONG_Q5_OFF_BY_ONE = """
def perplexity(model, sentence):
    if not isinstance(sentence, (list, tuple)):
        raise TypeError("sentence must be a list of tokens")
    if len(sentence) == 0:
        raise ValueError("sentence must not be empty")
    log_prob = 0.0
    for word in sentence:
        p = model.get(word, 0.0)
        if p <= 0:
            return math.inf
        log_prob += math.log(p)
    return math.exp(-log_prob / (len(sentence) + 1))
"""
WRONG = {
    "log_softmax": WRONG_Q1_OVERFLOWING_SOFTMAX,
    "sample_categorical": WRONG_Q2_NO_VALIDATION,
    **WRONG_Q3_NATURAL_LOG,
    "unigram_model": WRONG_Q4_ITERATES_STRING,
    "perplexity": WRONG_Q5_OFF_BY_ONE,
}
# points left per question (of 5.5, 4.5, 5.5, 2.5, 4.5): q1 loses the huge-logits test
# (2); q2 the bad-input test (0.5); q3 the public bits test (1; the nats tests pass); q4
# the bad-input test (0.5: a string is split into characters); q5 every test using the
# value (1 + 1 + 2)
EXPECTED_WRONG = {"q1": 3.5, "q2": 4.0, "q3": 4.5, "q4": 2.0, "q5": 0.5}
# Borrowed answers (SciPy, which the lab forbids) lose the whole question, whatever
# their tests say; a product of probabilities underflows on 5,000 tokens (q5 loses 2).
BORROWED = {
    "log_softmax": """
def log_softmax(logits):
    from scipy.special import log_softmax as scipy_log_softmax
    return scipy_log_softmax(np.asarray(logits, dtype=float), axis=-1)
""",
    "entropy": """
def entropy(p, base=2):
    import scipy.stats
    return float(scipy.stats.entropy(_check_distribution("p", p), base=base))
""",
    "perplexity": """
def perplexity(model, sentence):
    if not isinstance(sentence, (list, tuple)):
        raise TypeError("sentence must be a list of tokens")
    if len(sentence) == 0:
        raise ValueError("sentence must not be empty")
    product = math.prod(model.get(word, 0.0) for word in sentence)
    return math.inf if product == 0 else float(product ** (-1 / len(sentence)))
""",
}
EXPECTED_BORROWED = {"q1": 0.0, "q2": 4.5, "q3": 0.0, "q4": 2.5, "q5": 2.5}
MAX_POINTS = {"q1": 5.5, "q2": 4.5, "q3": 5.5, "q4": 2.5, "q5": 4.5}
LOOPING = "def log_softmax(logits):\n    while True:\n        pass\n"


@pytest.fixture(scope="session")
def lab0_build(tmp_path_factory):
    """A fresh build of Lab 0 in a private folder (xdist workers never share it)."""
    out = tmp_path_factory.mktemp("lab0_build")
    return labs.build_lab(LAB0, out_dir=out, run_tests=False)


@pytest.fixture(scope="session")
def lab0_grades(lab0_build, tmp_path_factory):
    """Grade the source, the student notebook, the wrong answers and two endless loops,
    two at a time."""
    d = tmp_path_factory.mktemp("lab0_subs")
    zip_path = lab0_build["autograder"]
    source = labs.make_submission(LAB0, d / "source.ipynb")
    wrong = labs.make_submission(LAB0, d / "wrong.ipynb", WRONG)
    borrowed = labs.make_submission(LAB0, d / "borrowed.ipynb", BORROWED)
    looping_fn = labs.make_submission(
        LAB0, d / "looping_function.ipynb", {"log_softmax": LOOPING}
    )
    # a stray top-level cell that prints forever: interrupted by the per-cell timeout,
    # the rest is graded
    nb = nbformat.read(source, as_version=4)
    nb.cells.insert(
        2, nbformat.v4.new_code_cell("while True:\n    print('spam ' * 20)")
    )
    spam = d / "prints_forever.ipynb"
    nbformat.write(nb, spam)
    return labcheck.grade_all(
        zip_path,
        {
            "source": source,
            "student": LAB0 / "warmup.ipynb",
            "wrong": wrong,
            "borrowed": borrowed,
            "prints_forever": (spam, 300, 5),
            # every cell and test that calls the endless log_softmax is stopped after 5
            # s (a cell) or 3 s (a test): only question 1 is lost
            "looping_function": (looping_fn, 300, 5, 3),
        },
    )


def _max_points(lab0_build):
    return labs.question_max_points(lab0_build["autograder"])


# ------------------------------------------------------------------------ Lab 0 grading
def test_source_scores_full_marks(lab0_grades, lab0_build):
    r = lab0_grades["source"]
    assert r.status == "ok", r.message
    assert r.scores == {q: (m, m) for q, m in _max_points(lab0_build).items()}
    assert set(r.scores) == {"q1", "q2", "q3", "q4", "q5"}


def test_student_notebook_scores_zero_everywhere(lab0_grades, lab0_build):
    r = lab0_grades["student"]
    assert r.status == "ok", (
        r.message
    )  # its cells raise (functions return None); grading goes on
    assert r.points() == {q: 0.0 for q in _max_points(lab0_build)}


def test_wrong_submissions_lose_exactly_the_intended_points(lab0_grades):
    r = lab0_grades["wrong"]
    assert r.status == "ok", r.message
    assert r.points() == EXPECTED_WRONG


def test_endless_printing_cell_is_interrupted_and_the_rest_graded(
    lab0_grades, lab0_build
):
    r = lab0_grades["prints_forever"]
    assert r.status == "ok", r.message
    assert r.points() == {q: m for q, m in _max_points(lab0_build).items()}


def test_endless_loop_in_a_graded_function_costs_only_its_question(lab0_grades):
    r = lab0_grades["looping_function"]
    assert r.status == "ok", r.message
    assert r.points() == {**MAX_POINTS, "q1": 0.0}
    assert "q1: a test ran out of time" in r.message


def test_borrowed_answers_lose_their_question_with_a_reason(lab0_grades):
    r = lab0_grades["borrowed"]
    labcheck.assert_points(r, EXPECTED_BORROWED)
    assert "q1: 0, log_softmax uses scipy" in r.message
    assert "q3: 0, entropy uses scipy" in r.message


# ---------------------------------------------------------------------- committed files
def test_committed_student_files_equal_a_fresh_build(lab0_build):
    labcheck.assert_committed_equals_fresh_build(LAB0, lab0_build)


def test_student_files_hold_no_solution_and_no_hidden_test(lab0_build):
    labcheck.assert_student_files_are_clean(
        LAB0, _max_points(lab0_build), your_code_cells=8
    )  # 6 functions + 2 helpers


def test_student_notebook_is_ready_for_students():
    nb = nbformat.read(LAB0 / "warmup.ipynb", as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert 'grader = otter.Notebook("warmup.ipynb")' in code[0]
    for q in ["q1", "q2", "q3", "q4", "q5"]:
        assert f'grader.check("{q}")' in code
    assert "grader.check_all()" in code
    assert (
        sum(c.count("# YOUR CODE HERE") for c in code) == 8
    )  # 6 functions + 2 optional helpers
    assert nb.cells[1].cell_type == "markdown" and nb.cells[1].source.startswith(
        "# Lab 0"
    )


def test_public_test_failure_names_input_expected_and_got(tmp_path):
    """What a student sees from grader.check: the input tried, the expected and the
    actual value."""
    from otter.test_files import ExceptionTestFile

    tf = ExceptionTestFile.from_file(str(LAB0 / "tests" / "q5.py"))
    tf.run({"perplexity": lambda model, sentence: 5.0})
    msg = tf.summary()
    assert "['a', 'b', 'd']" in msg and "should be 4.0" in msg and "got 5.0" in msg


# ------------------------------------------------------------------------------ helpers
def test_find_and_list_labs():
    lab = labs.find_lab(LAB0)
    assert lab.source == LAB0 / "source" / "warmup.ipynb"
    assert lab.student == LAB0 / "warmup.ipynb"
    assert lab.autograder_zip == LAB0 / "dist" / "autograder.zip"
    assert LAB0 in [x.dir for x in labs.list_labs()]


def test_find_lab_bad_input(tmp_path):
    with pytest.raises(ValueError, match="lab_dir"):
        labs.find_lab(tmp_path / "missing")
    with pytest.raises(ValueError, match="exactly one source notebook"):
        labs.find_lab(tmp_path)
    with pytest.raises(TypeError, match="lab_dir"):
        labs.find_lab(3)
    with pytest.raises(ValueError, match="root"):
        labs.list_labs(tmp_path / "missing")


def test_normalize_notebook_is_stable():
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "id": "x7",
                "source": ["a = 1\n", "b"],
                "execution_count": 4,
                "metadata": {"execution": {"t": 1}, "tags": ["t"]},
                "outputs": [{"output_type": "stream"}],
            }
        ],
        "metadata": {"language_info": {"name": "python", "version": "3.11.9"}},
    }
    out = labs.normalize_notebook(nb)
    cell = out["cells"][0]
    assert (
        cell["id"] == "cell-00"
        and cell["outputs"] == []
        and cell["execution_count"] is None
    )
    assert cell["metadata"] == {"tags": ["t"]} and cell["source"] == "a = 1\nb"
    assert out["metadata"]["language_info"] == {"name": "python"}
    with pytest.raises(TypeError, match="nb"):
        labs.normalize_notebook({"cells": None})


def test_replace_function():
    src = "import math\n\n@dec\ndef f(x):\n    return x\n\ndef g():\n    pass\n"
    out = labs.replace_function(src, "f", "def f(x):\n    return 2 * x")
    assert out == "import math\n\ndef f(x):\n    return 2 * x\n\ndef g():\n    pass\n"
    with pytest.raises(ValueError, match="no top-level function or class 'h'"):
        labs.replace_function(src, "h", "def h(): pass")
    classes = "class A:\n    def f(self):\n        return 1\n\nx = A()\n"
    out = labs.replace_function(classes, "A", "class A:\n    pass")
    assert out == "class A:\n    pass\n\nx = A()\n"
    with pytest.raises(ValueError, match="not valid Python"):
        labs.replace_function("def (", "f", "")
    with pytest.raises(TypeError, match="name"):
        labs.replace_function(src, None, "")


def test_make_variant(tmp_path):
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("def f():\n    return 1\n\nx = f()"),
            nbformat.v4.new_code_cell("def g():\n    return 2"),
        ]
    )
    src = tmp_path / "nb.ipynb"
    nbformat.write(nb, src)
    out = labs.make_variant(
        src,
        tmp_path / "v.ipynb",
        {"f": "def f():\n    return 3"},
        metadata={"otter": {"a": 1}},
    )
    got = nbformat.read(out, as_version=4)
    assert got.cells[0].source == "def f():\n    return 3\n\nx = f()"
    assert got.cells[1].source == "def g():\n    return 2" and got.metadata.otter == {
        "a": 1
    }
    with pytest.raises(ValueError, match="exactly one code cell"):
        labs.make_variant(src, tmp_path / "w.ipynb", {"h": "def h(): pass"})
    with pytest.raises(ValueError, match="notebook_path"):
        labs.make_variant(tmp_path / "missing.ipynb", tmp_path / "w.ipynb", {})
    with pytest.raises(TypeError, match="replacements"):
        labs.make_variant(src, tmp_path / "w.ipynb", ["f"])


def test_make_submission_uses_the_source_with_otter_metadata(tmp_path):
    out = labs.make_submission(
        LAB0, tmp_path / "s.ipynb", {"perplexity": WRONG_Q5_OFF_BY_ONE}
    )
    nb = nbformat.read(out, as_version=4)
    assert nb.metadata.otter["assignment_name"] == "00_warmup"
    assert any("len(sentence) + 1" in c.source for c in nb.cells)


def test_question_max_points(lab0_build, tmp_path):
    assert _max_points(lab0_build) == MAX_POINTS
    bad = tmp_path / "x.zip"
    bad.write_text("not a zip")
    with pytest.raises(ValueError, match="autograder"):
        labs.question_max_points(bad)


def test_grade_notebook_bad_input(lab0_build, tmp_path):
    zip_path = lab0_build["autograder"]
    with pytest.raises(ValueError, match="notebook_path"):
        labs.grade_notebook(zip_path, tmp_path / "missing.ipynb")
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(ValueError, match="ipynb"):
        labs.grade_notebook(zip_path, tmp_path / "a.txt")
    with pytest.raises(ValueError, match="timeout"):
        labs.grade_notebook(zip_path, LAB0 / "warmup.ipynb", timeout=0)
    with pytest.raises(TypeError, match="timeout"):
        labs.grade_notebook(zip_path, LAB0 / "warmup.ipynb", timeout="10")
    with pytest.raises(ValueError, match="lab_or_autograder"):
        labs.grade_notebook(tmp_path / "nothing", LAB0 / "warmup.ipynb")


def test_grade_submissions_writes_csv_and_survives_a_broken_file(
    lab0_build, tmp_path, monkeypatch
):
    """The batch grades every notebook into the CSV; a file that is not a notebook
    scores 0 (status error)."""
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "broken.ipynb").write_text("{ this is not json")
    lab = tmp_path / "00_copy"
    (lab / "source").mkdir(parents=True)
    (lab / "dist").mkdir()
    (lab / "source" / "warmup.ipynb").write_text("{}")
    (lab / "dist" / "autograder.zip").write_bytes(lab0_build["autograder"].read_bytes())
    results = labs.grade_submissions(lab, subs, tmp_path / "grades.csv", timeout=60)
    assert [r.status for r in results] == ["error"]
    rows = (tmp_path / "grades.csv").read_text().splitlines()
    assert rows[0] == "submission,question,points,max_points,total,status,message"
    assert rows[1:] == [
        f"broken.ipynb,{q},0,{m:g},0,error,not a notebook (no JSON)"
        for q, m in sorted(_max_points(lab0_build).items())
    ]
    with pytest.raises(ValueError, match="submissions_dir"):
        labs.grade_submissions(lab, tmp_path / "none", tmp_path / "g.csv")
    (tmp_path / "texts").mkdir()
    (tmp_path / "texts" / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="no .ipynb"):
        labs.grade_submissions(lab, tmp_path / "texts", tmp_path / "g.csv")


def test_write_grades_csv_bad_input(tmp_path):
    with pytest.raises(TypeError, match="GradeResult"):
        labs.write_grades_csv([{"q1": 1}], tmp_path / "g.csv")
    with pytest.raises(TypeError, match="out_csv"):
        labs.write_grades_csv([], None)


def test_every_lab_has_its_grading_checks():
    """A new lab must come with tests/test_lab_NN.py (source full marks, student zero,
    wrong answers, clean files)."""
    here = Path(__file__).resolve().parent
    for lab in labs.list_labs():
        number = lab.dir.name[:2]
        module = here / ("test_labs.py" if number == "00" else f"test_lab_{number}.py")
        assert module.is_file(), (
            f"labs/{lab.dir.name} has no grading checks in tests/{module.name}"
        )
        text = module.read_text(encoding="utf-8")
        for check in (
            "assert_committed_equals_fresh_build",
            "assert_student_files_are_clean",
        ):
            assert check in text, f"tests/{module.name} does not call labcheck.{check}"


# ---------------------------------------------------- a batch, as an instructor runs it
def _pasted_answers(path: Path) -> Path:
    """The lab's answers pasted into a fresh notebook (no otter metadata), with an
    imports cell that fails."""
    src = nbformat.read(LAB0 / "source" / "warmup.ipynb", as_version=4)
    answers = [
        c.source
        for c in src.cells
        if c.cell_type == "code" and c.source.startswith(("def ", "import "))
    ]
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import no_such_module_for_lmbook_tests")]
    nb.cells += [nbformat.v4.new_code_cell(a) for a in answers]
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="session")
def batch(lab0_build, tmp_path_factory):
    """A submissions folder with every kind of file an instructor meets; the lab folder
    is a copy holding the fresh autograder."""
    d = tmp_path_factory.mktemp("batch")
    lab = d / "00_warmup"
    (lab / "source").mkdir(parents=True)
    (lab / "dist").mkdir()
    (lab / "source" / "warmup.ipynb").write_text("{}")
    (lab / "dist" / "autograder.zip").write_bytes(lab0_build["autograder"].read_bytes())
    subs = d / "subs"
    subs.mkdir()
    _pasted_answers(subs / "a_pasted.ipynb")
    exported = labs.make_submission(LAB0, d / "warmup.ipynb")
    with zipfile.ZipFile(subs / "b_export.zip", "w") as zf:
        zf.write(exported, "warmup.ipynb")
    nb = nbformat.read(exported, as_version=4)
    nb.metadata.otter["assignment_name"] = "01_ngrams"
    nbformat.write(nb, subs / "c_wrong_lab.ipynb")
    (subs / "d_broken.ipynb").write_text("{ this is not json")
    (subs / "notes.txt").write_text("my answers are in the notebook")
    serial = labs.grade_submissions(lab, subs, d / "serial.csv", timeout=300)
    parallel = labs.grade_submissions(
        lab, subs, d / "parallel.csv", timeout=300, jobs=2
    )
    return {"dir": d, "lab": lab, "subs": subs, "serial": serial, "parallel": parallel}


def test_batch_grades_pasted_answers_and_zip_exports_with_reasons(batch):
    by_name = {r.submission: r for r in batch["serial"]}
    assert list(by_name) == [
        "a_pasted.ipynb",
        "b_export.zip",
        "c_wrong_lab.ipynb",
        "d_broken.ipynb",
        "notes.txt",
    ]
    pasted = by_name["a_pasted.ipynb"]
    assert pasted.status == "ok" and pasted.points() == MAX_POINTS, pasted.message
    assert "warning: no otter metadata, graded as lab 00_warmup" in pasted.message
    assert (
        "the imports cell raised ModuleNotFoundError: "
        "No module named 'no_such_module_for_lmbook_tests'" in pasted.message
    )
    export = by_name["b_export.zip"]
    assert export.status == "ok" and export.points() == MAX_POINTS, export.message
    wrong_lab = by_name["c_wrong_lab.ipynb"]
    assert (wrong_lab.status, wrong_lab.message) == (
        "error",
        "notebook is for lab 01_ngrams, not 00_warmup",
    )
    assert by_name["d_broken.ipynb"].message == "not a notebook (no JSON)"
    assert by_name["notes.txt"].status == "skipped"


def test_batch_csv_lists_skipped_files_and_ends_lines_in_crlf(batch):
    raw = (batch["dir"] / "serial.csv").read_bytes()
    assert raw.count(b"\r\n") == raw.count(b"\n") > 0  # RFC 4180 line endings
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8"))))
    assert rows[0] == labs.CSV_COLUMNS
    assert ["notes.txt", "", "", "", "", "skipped"] == rows[-1][:6]
    assert rows[-1][6] == "not a notebook (.txt): not graded"


def test_parallel_grading_writes_the_same_csv_as_serial(batch):
    serial = (batch["dir"] / "serial.csv").read_text()
    assert (batch["dir"] / "parallel.csv").read_text() == serial
    assert [r.points() for r in batch["parallel"]] == [
        r.points() for r in batch["serial"]
    ]


def _cli(*args, **kwargs):
    return subprocess.run(
        [sys.executable, "-m", "lmbook.labs", *args],
        capture_output=True,
        text=True,
        timeout=120,
        **kwargs,
    )


@pytest.mark.parametrize(
    "args, says",
    [
        (["grade", "labs/99_nothing", "."], "lab_dir"),
        (["grade", str(LAB0), "EMPTY"], "holds no .ipynb"),
        (["grade", str(LAB0), "EMPTY", "--timeout", "-3"], "must be > 0"),
        (["grade", str(LAB0), "EMPTY", "--timeout", "soon"], "is not a number"),
        (["grade", str(LAB0), "EMPTY", "--jobs", "0"], "must be > 0"),
        (["grade", str(LAB0)], "required"),
    ],
)
def test_cli_bad_input_prints_one_line_and_exits_2(args, says, tmp_path):
    args = [str(tmp_path) if a == "EMPTY" else a for a in args]
    out = _cli(*args, cwd=labs.labs_root().parent)
    assert out.returncode == 2, out.stderr
    assert out.stdout == "" and out.stderr.count("\n") == 1, out.stderr
    assert says in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM"])
def test_interrupted_batch_keeps_its_rows_and_leaves_nothing_running(
    how, batch, tmp_path
):
    """Ctrl-C (SIGINT) or a kill (SIGTERM) while a kernel runs: the rows graded so far
    stay in the CSV, no kernel is left running and no temporary folder is left behind.
    """
    import psutil

    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "a_broken.ipynb").write_text("not json")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import time\nwhile True:\n    time.sleep(1)")
    ]
    nbformat.write(nb, subs / "b_slow.ipynb")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    out_csv = tmp_path / "grades.csv"
    proc = subprocess.Popen(
        [sys.executable, "-m", "lmbook.labs", "grade", str(batch["lab"]), str(subs)]
        + ["--out", str(out_csv), "--jobs", "2"],
        env=dict(os.environ, TMPDIR=str(tmp)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    kernels = []
    deadline = time.monotonic() + 120
    while not kernels and time.monotonic() < deadline:
        time.sleep(0.5)
        kids = psutil.Process(proc.pid).children(recursive=True)
        kernels = [k for k in kids if "ipykernel" in " ".join(k.cmdline())]
    assert kernels, "no kernel started"
    descendants = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(getattr(signal, how))
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    rows = out_csv.read_text().splitlines()
    assert rows[0].startswith("submission,") and rows[1].startswith("a_broken.ipynb,")
    assert not any(row.startswith("b_slow") for row in rows)
    gone, alive = psutil.wait_procs(descendants, timeout=10)
    assert not alive, f"left running: {[p.cmdline() for p in alive]}"
    assert list(tmp.iterdir()) == []


def test_each_test_case_gets_its_own_time_limit(tmp_path, monkeypatch):
    """The cell run first in a graded kernel: a test that loops fails after the limit, a
    test that trains (by name) or asks for more time (docstring) gets it."""
    from otter.test_files import exception_test

    monkeypatch.setattr(exception_test.ExceptionTestFile, "run", None)
    exec(labs._kernel_limit_source(1), {})
    path = tmp_path / "q1.py"
    path.write_text(
        "from otter.test_files import test_case\n"
        "OK_FORMAT = False\nname = 'q1'\npoints = None\n\n"
        "@test_case(points=1, hidden=True)\ndef test_loops(f):\n    f(None)\n\n"
        "@test_case(points=1, hidden=True)\ndef test_train_model(f):\n    f(1.5)\n\n"
        "@test_case(points=1, hidden=True)\ndef test_slow(f):\n"
        "    '''time limit: 5 s'''\n    f(1.5)\n"
    )

    def f(seconds):
        start = time.monotonic()
        while seconds is None or time.monotonic() - start < seconds:
            pass

    tf = exception_test.ExceptionTestFile.from_file(str(path))
    tf.run({"f": f})
    passed = [r.passed for r in tf.test_case_results]
    assert passed == [False, True, True]
    assert "took longer than 1 s" in tf.test_case_results[0].message
