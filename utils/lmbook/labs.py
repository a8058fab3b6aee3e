"""Graded labs: build student notebooks and autograders with otter-grader, grade
submissions into a CSV.

Layout of a lab (see labs/README.md)::

    labs/NN_topic/source/<name>.ipynb   otter assign source: solutions, tests, points
    labs/NN_topic/<name>.ipynb          student notebook (generated, committed)
    labs/NN_topic/tests/qK.py           public tests for ``grader.check`` (generated)
    labs/NN_topic/dist/autograder.zip   autograder with the hidden tests (git-ignored)

Command line::

    python -m lmbook.labs build [LAB_DIR ...]
    python -m lmbook.labs grade LAB_DIR SUBMISSIONS_DIR --out grades.csv
        [--timeout SECONDS] [--test-timeout SECONDS] [--jobs N]

Grading runs ``otter run`` (no Docker) in one subprocess per submission with a hard
wall-clock timeout that kills the whole process tree (the kernel included). Inside, a
cell that runs too long is interrupted and every test case has its own time limit, so a
function that never returns costs only the tests that call it. Each submission gets one
CSV row per question, with a ``message`` saying why it was not graded normally.
"""

from __future__ import annotations

import argparse
import ast
import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "labs_root",
    "BorrowedAnswer",
    "check_own_code",
    "forbid_calls",
    "Lab",
    "GradeResult",
    "find_lab",
    "list_labs",
    "build_lab",
    "build_autograder",
    "normalize_notebook",
    "question_max_points",
    "grade_notebook",
    "grade_submissions",
    "write_grades_csv",
    "replace_function",
    "make_variant",
    "make_submission",
    "main",
]

LABS_ENV = "LMBOOK_LABS_DIR"


def labs_root() -> Path:
    """The folder of the labs: ``$LMBOOK_LABS_DIR`` if set, else ``labs/`` of the book's
    repository."""
    override = os.environ.get(LABS_ENV)
    if override:
        return Path(override).resolve()
    from lmbook.data import repo_root

    return repo_root() / "labs"


CSV_COLUMNS = [
    "submission",
    "question",
    "points",
    "max_points",
    "total",
    "status",
    "message",
]
#: seconds per submission: after this the whole process tree is killed
DEFAULT_TIMEOUT = 300.0
#: a cell of a submission running longer than this is interrupted (like pressing stop)
DEFAULT_CELL_TIMEOUT = 30.0
#: a test case running longer than this fails ("took longer than ... s"); a hidden test
#: may ask for more with a docstring line ``time limit: 90 s``, and a test whose name
#: contains ``train`` gets at least DEFAULT_TRAIN_TEST_TIMEOUT
DEFAULT_TEST_TIMEOUT = 20.0
DEFAULT_TRAIN_TEST_TIMEOUT = 120.0
_TEST_LIMIT = re.compile(r"time limit:\s*(\d+(?:\.\d+)?)\s*s\b")
_LAB_NAME = re.compile(r"^\d\d_[A-Za-z0-9_]+$")
_KEEP_CELL_METADATA = ("deletable", "editable", "tags", "otter")


@dataclass(frozen=True)
class Lab:
    """Paths of one lab; ``name`` is the notebook stem shared by the source and the
    student notebook."""

    dir: Path
    source: Path

    @property
    def name(self) -> str:
        return self.source.stem

    @property
    def student(self) -> Path:
        return self.dir / self.source.name

    @property
    def tests_dir(self) -> Path:
        return self.dir / "tests"

    @property
    def dist(self) -> Path:
        return self.dir / "dist"

    @property
    def autograder_zip(self) -> Path:
        return self.dist / "autograder.zip"


@dataclass
class GradeResult:
    """Scores of one submission: ``scores[question] = (points, max_points)``; ``status``
    is ``ok``, ``timeout`` or ``error`` (then ``message`` says why and every question
    scores 0)."""

    submission: str
    scores: dict[str, tuple[float, float]]
    status: str = "ok"
    message: str = ""
    seconds: float = 0.0
    details: dict = field(default_factory=dict, repr=False)

    @property
    def total(self) -> float:
        return float(sum(p for p, _ in self.scores.values()))

    @property
    def max_total(self) -> float:
        return float(sum(m for _, m in self.scores.values()))

    def points(self) -> dict[str, float]:
        """``{question: points}``."""
        return {q: p for q, (p, _) in self.scores.items()}


# ------------------------------------------------------------------------ finding labs
def _as_path(value, name: str) -> Path:
    if isinstance(value, bool) or not isinstance(value, (str, os.PathLike)):
        raise TypeError(
            f"{name} must be a path (str or os.PathLike), got {type(value).__name__}"
        )
    return Path(value)


def find_lab(lab_dir) -> Lab:
    """Return the :class:`Lab` in folder ``lab_dir`` (which must hold exactly one
    ``source/*.ipynb``)."""
    path = _as_path(lab_dir, "lab_dir").resolve()
    if not path.is_dir():
        raise ValueError(f"lab_dir {str(lab_dir)!r} is not a directory")
    sources = sorted(
        p for p in (path / "source").glob("*.ipynb") if not p.name.startswith(".")
    )
    if len(sources) != 1:
        raise ValueError(
            f"lab_dir {str(lab_dir)!r} must contain exactly one source notebook "
            f"source/*.ipynb, found {len(sources)}"
        )
    return Lab(dir=path, source=sources[0])


def list_labs(root=None) -> list[Lab]:
    """Every lab under ``root`` (default: the repository's ``labs/``): folders
    ``NN_topic`` with a source."""
    root = labs_root() if root is None else _as_path(root, "root")
    if not root.is_dir():
        raise ValueError(f"root {str(root)!r} is not a directory")
    return [
        find_lab(p)
        for p in sorted(root.iterdir())
        if p.is_dir() and _LAB_NAME.match(p.name) and (p / "source").is_dir()
    ]


# ---------------------------------------------------------------------------- building
def normalize_notebook(nb: dict) -> dict:
    """Strip what varies between builds from a generated notebook (in place; also
    returned): outputs, execution counts, execution timestamps, random cell ids
    (replaced by ``cell-NN``), Python version."""
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise TypeError("nb must be a notebook dict with a 'cells' list")
    for i, cell in enumerate(nb["cells"]):
        cell["id"] = f"cell-{i:02d}"
        meta = cell.get("metadata", {})
        cell["metadata"] = {k: meta[k] for k in _KEEP_CELL_METADATA if k in meta}
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        if isinstance(cell.get("source"), list):
            cell["source"] = "".join(cell["source"])
    meta = nb.setdefault("metadata", {})
    meta["kernelspec"] = {
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "name": "python3",
    }
    lang = meta.get("language_info", {})
    meta["language_info"] = {k: v for k, v in lang.items() if k != "version"}
    nb["nbformat"], nb["nbformat_minor"] = 4, 5
    return nb


def _write_json_notebook(nb: dict, path: Path) -> None:
    path.write_text(
        json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n",
        encoding="utf-8",
    )


def _otter_assign(lab: Lab, workdir: Path, run_tests: bool) -> Path:
    """Run ``otter assign`` on the lab source into ``workdir``; return the output
    folder."""
    out = workdir / "assign"
    cmd = [sys.executable, "-m", "otter", "assign", str(lab.source), str(out)]
    if not run_tests:
        cmd.append("--no-run-tests")
    env = dict(
        os.environ, TMPDIR=str(workdir)
    )  # otter leaves a temp folder behind; keep it in workdir
    proc = subprocess.run(
        cmd, capture_output=True, text=True, env=env, cwd=lab.source.parent
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"otter assign failed for {lab.source}:\n{proc.stdout[-3000:]}\n"
            f"{proc.stderr[-3000:]}"
        )
    return out


def build_autograder(lab_dir, out_dir=None, *, run_tests: bool = False) -> Path:
    """Build only the autograder zip of a lab into ``out_dir`` (default ``LAB/dist``);
    return its path."""
    lab = find_lab(lab_dir)
    out = lab.dist if out_dir is None else _as_path(out_dir, "out_dir")
    return build_lab(lab.dir, out_dir=out, run_tests=run_tests, student=False)[
        "autograder"
    ]


def build_lab(
    lab_dir, out_dir=None, *, run_tests: bool = True, student: bool = True
) -> dict[str, Path]:
    """Regenerate a lab's student notebook, public tests and autograder zip from its
    source notebook.

    By default the student notebook and ``tests/`` go to the lab folder and the
    autograder to ``LAB/dist/``; with ``out_dir`` everything goes there instead (tests
    compare such a fresh build with the committed one). ``run_tests`` makes otter check
    that the source passes all its tests. Returns the written paths under the keys
    ``student``, ``tests`` and ``autograder`` (the first two only when ``student`` is
    true).
    """
    lab = find_lab(lab_dir)
    if out_dir is not None:
        out_dir = _as_path(out_dir, "out_dir")
    student_dir = lab.dir if out_dir is None else out_dir
    dist = lab.dist if out_dir is None else out_dir
    written: dict[str, Path] = {}
    with tempfile.TemporaryDirectory(prefix="lmbook-assign-") as tmp:
        out = _otter_assign(lab, Path(tmp), run_tests)
        dist.mkdir(parents=True, exist_ok=True)
        zips = sorted((out / "autograder").glob("*-autograder_*.zip"))
        if len(zips) != 1:
            raise RuntimeError(
                f"otter assign produced {len(zips)} autograder zips for {lab.source}"
            )
        written["autograder"] = Path(shutil.copyfile(zips[0], dist / "autograder.zip"))
        if student:
            student_dir.mkdir(parents=True, exist_ok=True)
            nb = json.loads(
                (out / "student" / lab.source.name).read_text(encoding="utf-8")
            )
            target = student_dir / lab.source.name
            _write_json_notebook(normalize_notebook(nb), target)
            tests = student_dir / "tests"
            shutil.rmtree(tests, ignore_errors=True)
            shutil.copytree(out / "student" / "tests", tests)
            written["student"], written["tests"] = target, tests
    return written


# ----------------------------------------------------------------------------- grading
def question_max_points(autograder) -> dict[str, float]:
    """``{question: max points}`` read from the test files inside an autograder zip."""
    path = _as_path(autograder, "autograder")
    if not path.is_file() or not zipfile.is_zipfile(path):
        raise ValueError(f"autograder {str(path)!r} is not a zip file")
    from otter.test_files import ExceptionTestFile, OKTestFile

    result = {}
    with (
        tempfile.TemporaryDirectory(prefix="lmbook-ag-") as tmp,
        zipfile.ZipFile(path) as zf,
    ):
        names = sorted(n for n in zf.namelist() if re.fullmatch(r"tests/[^/]+\.py", n))
        if not names:
            raise ValueError(f"autograder {str(path)!r} holds no tests/*.py")
        for name in names:
            file = Path(zf.extract(name, tmp))
            ok = "OK_FORMAT = True" in file.read_text(encoding="utf-8")
            tf = (OKTestFile if ok else ExceptionTestFile).from_file(str(file))
            result[tf.name] = float(tf.possible)
    return result


def _kill_tree(proc: subprocess.Popen) -> None:
    """Kill ``proc``, its process group and every descendant (the kernel runs in a
    session of its own)."""
    import psutil

    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    for p in children:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.kill()
    proc.wait()
    psutil.wait_procs(children, timeout=5)


def _check_timeout(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(
            f"{name} must be a number of seconds, got {type(value).__name__}"
        )
    if not value > 0 or value != value or value == float("inf"):
        raise ValueError(f"{name} must be a finite number > 0 of seconds, got {value}")
    return float(value)


#: otter-run subprocesses now running (killed on Ctrl-C or SIGTERM by grade_submissions)
_LIVE: set = set()
_LIVE_LOCK = threading.Lock()
#: set while a batch stops: a grading that starts its subprocess now kills it at once
_STOPPING = threading.Event()


def _kill_live() -> None:
    _STOPPING.set()
    with _LIVE_LOCK:
        procs = list(_LIVE)
    for proc in procs:
        _kill_tree(proc)


def _assignment_name(zip_path: Path) -> str | None:
    try:
        with zipfile.ZipFile(zip_path) as zf:
            return json.loads(zf.read("otter_config.json")).get("assignment_name")
    except (KeyError, ValueError, zipfile.BadZipFile):
        return None


def _read_submission(nb_path: Path) -> tuple[dict | None, str]:
    """The submitted notebook as JSON (from an ``.ipynb`` or an otter ``.zip`` export),
    or ``(None, why not)``."""
    if nb_path.suffix == ".zip":
        if not zipfile.is_zipfile(nb_path):
            return None, "not a zip file"
        with zipfile.ZipFile(nb_path) as zf:
            names = [
                n
                for n in zf.namelist()
                if n.endswith(".ipynb")
                and not n.startswith("__MACOSX")
                and ".ipynb_checkpoints" not in n
            ]
            if len(names) != 1:
                return None, f"the zip holds {len(names)} notebooks, expected 1"
            raw = zf.read(names[0])
    else:
        raw = nb_path.read_bytes()
    try:
        nb = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        return None, "not a notebook (no JSON)"
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        return None, "not a notebook (JSON without cells)"
    return nb, ""


def _first_line(source) -> str:
    text = "".join(source) if isinstance(source, list) else str(source)
    lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
    line = lines[0] if lines else ""
    return line if len(line) <= 50 else line[:47] + "..."


def _cell_errors_message(errors: list[dict]) -> str:
    """``the imports cell raised ModuleNotFoundError: ...`` from the recorded errors."""
    if not errors:
        return ""
    first = errors[0]
    where = (
        "the imports cell"
        if first.get("imports")
        else f"the cell starting `{first['line']}`"
    )
    if first["ename"] == "KeyboardInterrupt":
        what = f"{where} was stopped after the per-cell time limit"
    else:
        what = f"{where} raised {first['ename']}: {first['evalue']}"[:300]
    more = f" ({len(errors) - 1} more cells raised)" if len(errors) > 1 else ""
    return what + more


def grade_notebook(
    lab_or_autograder,
    notebook_path,
    timeout: float = DEFAULT_TIMEOUT,
    *,
    cell_timeout: float | None = None,
    test_timeout: float | None = None,
) -> GradeResult:
    """Grade one submitted notebook (``.ipynb`` or otter ``.zip`` export) with ``otter
    run`` in a subprocess; never hangs, never raises for a bad submission.

    ``lab_or_autograder`` is a lab folder (its ``dist/autograder.zip``; run ``build``
    first) or an autograder zip. After ``timeout`` seconds the whole process tree is
    killed and every question scores 0 (status ``timeout``). A cell running longer than
    ``cell_timeout`` (default ``min(30, timeout / 3)``) is interrupted, and a test case
    running longer than ``test_timeout`` (default ``min(20, timeout / 4)``) fails, so a
    function that never returns only costs the questions that call it. ``message`` says
    why a submission was not graded (status ``error``) and notes the first cell that
    raised or a missing otter metadata (then the notebook is graded as the autograder's
    lab) even when the status is ``ok``.
    """
    src = _as_path(lab_or_autograder, "lab_or_autograder")
    if src.is_dir():
        zip_path = find_lab(src).autograder_zip
        if not zip_path.is_file():
            raise ValueError(
                f"no autograder at {zip_path}: run "
                f"`python -m lmbook.labs build {src}` first"
            )
    elif src.is_file():
        zip_path = src
    else:
        raise ValueError(
            f"lab_or_autograder {str(src)!r} is neither a lab folder "
            "nor an autograder zip"
        )
    nb_path = _as_path(notebook_path, "notebook_path")
    if not nb_path.is_file():
        raise ValueError(f"notebook_path {str(nb_path)!r} is not a file")
    if nb_path.suffix not in (".ipynb", ".zip"):
        raise ValueError(
            f"notebook_path {str(nb_path)!r} must be an .ipynb notebook "
            "(or an otter .zip export)"
        )
    timeout = _check_timeout(timeout, "timeout")
    cell_timeout = (
        min(DEFAULT_CELL_TIMEOUT, timeout / 3)
        if cell_timeout is None
        else _check_timeout(cell_timeout, "cell_timeout")
    )
    test_timeout = (
        min(DEFAULT_TEST_TIMEOUT, timeout / 4)
        if test_timeout is None
        else _check_timeout(test_timeout, "test_timeout")
    )
    max_points = question_max_points(zip_path)
    zeros = {q: (0.0, m) for q, m in max_points.items()}
    start = time.monotonic()

    def result(status, message, scores=zeros, data=None):
        seconds = time.monotonic() - start
        return GradeResult(
            str(notebook_path), dict(scores), status, message, seconds, data or {}
        )

    nb, why = _read_submission(nb_path)
    if nb is None:
        return result("error", why)
    lab_name = _assignment_name(zip_path)
    notes = []
    otter_meta = nb.setdefault("metadata", {}).get("otter")
    got_name = (
        otter_meta.get("assignment_name") if isinstance(otter_meta, dict) else None
    )
    if got_name and lab_name and got_name != lab_name:
        return result("error", f"notebook is for lab {got_name}, not {lab_name}")
    if not got_name and lab_name:
        meta = otter_meta if isinstance(otter_meta, dict) else {}
        nb["metadata"]["otter"] = {**meta, "assignment_name": lab_name}
        notes.append(f"warning: no otter metadata, graded as lab {lab_name}")

    with tempfile.TemporaryDirectory(prefix="lmbook-grade-") as tmp:
        tmp = Path(tmp)
        out = tmp / "out"
        out.mkdir()
        (tmp / "tmp").mkdir()
        # otter run copies the submission by name: give it a plain name, a clean cwd
        sub = tmp / "submission.ipynb"
        sub.write_text(json.dumps(nb), encoding="utf-8")
        errors_file = tmp / "cell_errors.json"
        cmd = [
            sys.executable,
            "-m",
            "lmbook.labs",
            "_otter-run",
            "--cell-timeout",
            str(cell_timeout),
            "--test-timeout",
            str(test_timeout),
            "--errors",
            str(errors_file),
            "-a",
            str(zip_path.resolve()),
            "-o",
            str(out),
            str(sub),
        ]
        env = dict(
            os.environ,
            TMPDIR=str(tmp / "tmp"),
            PYTHONHASHSEED="0",
            LMBOOK_PROFILE="cpu",
        )
        env.pop("MPLBACKEND", None)
        with open(tmp / "log.txt", "wb") as log:
            proc = subprocess.Popen(
                cmd,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=tmp,
                start_new_session=True,
            )
            with _LIVE_LOCK:
                _LIVE.add(proc)
            try:
                if _STOPPING.is_set():  # the batch was interrupted meanwhile
                    _kill_tree(proc)
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                _kill_tree(proc)
                return result(
                    "timeout",
                    f"killed after the {timeout:g} s per-submission timeout",
                )
            except BaseException:  # Ctrl-C, SIGTERM: leave no kernel behind
                _kill_tree(proc)
                raise
            finally:
                with _LIVE_LOCK:
                    _LIVE.discard(proc)
        log_text = (tmp / "log.txt").read_bytes().decode("utf-8", "replace")
        errors = []
        if errors_file.is_file():
            errors = json.loads(errors_file.read_text(encoding="utf-8"))
        notes.append(_cell_errors_message(errors))
        results = out / "results.json"
        if proc.returncode != 0 or not results.is_file():
            if proc.returncode is not None and proc.returncode < 0:
                why = f"grading was killed (signal {-proc.returncode})"
            else:
                why = f"otter run failed: {_last_error_line(log_text)}"
            return result("error", "; ".join(n for n in [why, *notes] if n))
        data = json.loads(results.read_text(encoding="utf-8"))
    # otter writes Gradescope's format: {"tests": [{"name": "q1", "score": 3, ...}]}
    scores = dict(zeros)
    found = [t for t in data.get("tests", []) if t.get("name") in scores]
    for t in found:
        scores[t["name"]] = (float(t.get("score") or 0.0), max_points[t["name"]])
    for t in found:  # a borrowed answer loses the whole question
        why = re.search(r"BorrowedAnswer: (.*)", t.get("output") or "")
        if why:
            scores[t["name"]] = (0.0, max_points[t["name"]])
            notes.append(f"{t['name']}: 0, {why.group(1).strip()}")
        elif "TimeoutError: this test took longer" in (t.get("output") or ""):
            notes.append(f"{t['name']}: a test ran out of time (endless loop?)")
    status = "ok"
    if not found:
        status = "error"
        notes.insert(0, f"otter produced no test results: {_last_error_line(log_text)}")
    return result(status, "; ".join(n for n in notes if n), scores, data)


def _last_error_line(log_text: str) -> str:
    """The line of a log that says what went wrong (``SomeError: ...``), not a
    traceback."""
    lines = [ln.strip() for ln in log_text.splitlines() if ln.strip()]
    errs = [ln for ln in lines if re.match(r"^[\w.]*(Error|Exception|Interrupt)\b", ln)]
    line = (errs or lines or ["no output"])[-1]
    return line if len(line) <= 300 else line[:297] + "..."


def _skipped(path: Path, why: str) -> GradeResult:
    return GradeResult(path.name, {}, "skipped", why)


def grade_submissions(
    lab_dir,
    submissions_dir,
    out_csv=None,
    timeout: float = DEFAULT_TIMEOUT,
    *,
    progress=None,
    jobs: int = 1,
    test_timeout: float | None = None,
) -> list[GradeResult]:
    """Grade every ``*.ipynb`` and otter ``*.zip`` in ``submissions_dir`` (sorted by
    name) for the lab in ``lab_dir``, ``jobs`` at a time, building its autograder first
    if ``dist/autograder.zip`` is missing. Other files get a row with status
    ``skipped``.

    With ``out_csv`` the CSV gets each submission's rows as soon as it is graded (so
    Ctrl-C or a kill keeps what is done) and is rewritten in name order at the end: the
    same file whatever ``jobs``. On Ctrl-C every running kernel is killed before
    re-raising.
    """
    lab = find_lab(lab_dir)
    subs_dir = _as_path(submissions_dir, "submissions_dir")
    if not subs_dir.is_dir():
        raise ValueError(f"submissions_dir {str(subs_dir)!r} is not a directory")
    timeout = _check_timeout(timeout, "timeout")
    if test_timeout is not None:
        test_timeout = _check_timeout(test_timeout, "test_timeout")
    if isinstance(jobs, bool) or not isinstance(jobs, int):
        raise TypeError(f"jobs must be an int, got {type(jobs).__name__}")
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    files = sorted(
        p for p in subs_dir.iterdir() if p.is_file() and not p.name.startswith(".")
    )
    gradable = [p for p in files if p.suffix in (".ipynb", ".zip")]
    if not gradable:
        raise ValueError(
            f"submissions_dir {str(subs_dir)!r} holds no .ipynb (or .zip) files"
        )
    if not lab.autograder_zip.is_file():
        build_autograder(lab.dir)
    results: dict[Path, GradeResult] = {
        p: _skipped(p, f"not a notebook ({p.suffix or 'no extension'}): not graded")
        for p in files
        if p not in gradable
    }
    writer = _CsvWriter(out_csv) if out_csv is not None else None

    def done(path: Path, res: GradeResult) -> None:
        res.submission = path.name
        results[path] = res
        if writer is not None:
            writer.write(res)
        if progress is not None:
            progress(res)

    try:
        for p in sorted(results):
            done(p, results[p])
        if jobs == 1:
            for p in gradable:
                done(
                    p,
                    grade_notebook(
                        lab.autograder_zip, p, timeout, test_timeout=test_timeout
                    ),
                )
        else:
            with ThreadPoolExecutor(jobs) as pool:
                futures = {
                    pool.submit(
                        grade_notebook,
                        lab.autograder_zip,
                        p,
                        timeout,
                        test_timeout=test_timeout,
                    ): p
                    for p in gradable
                }
                pending = set(futures)
                try:
                    while pending:
                        # wake up twice a second: Linux may hand Ctrl-C to a worker
                        # thread, and a main thread asleep without a timeout would
                        # only see it when a submission finishes
                        finished, pending = wait(pending, 0.5, FIRST_COMPLETED)
                        for f in sorted(finished, key=futures.get):
                            done(futures[f], f.result())
                except BaseException:
                    for f in futures:
                        f.cancel()
                    _kill_live()
                    raise
    finally:
        _STOPPING.clear()
        if writer is not None:
            writer.close()
    ordered = [results[p] for p in sorted(results)]
    if out_csv is not None:
        write_grades_csv(ordered, out_csv)
    return ordered


def _csv_rows(r: GradeResult) -> list[list[str]]:
    if not r.scores:
        return [[r.submission, "", "", "", "", r.status, r.message]]
    return [
        [r.submission, q, f"{p:g}", f"{m:g}", f"{r.total:g}", r.status, r.message]
        for q, (p, m) in sorted(r.scores.items())
    ]


class _CsvWriter:
    """Append each result's rows to the CSV at once (flushed), header first."""

    def __init__(self, out_csv) -> None:
        path = _as_path(out_csv, "out_csv")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.file = open(path, "w", newline="", encoding="utf-8")  # noqa: SIM115
        self.csv = csv.writer(self.file)
        self.csv.writerow(CSV_COLUMNS)
        self.file.flush()

    def write(self, r: GradeResult) -> None:
        self.csv.writerows(_csv_rows(r))
        self.file.flush()

    def close(self) -> None:
        self.file.close()


def write_grades_csv(results, out_csv) -> Path:
    """Write one row per submission x question: submission, question, points,
    max_points, total, status, message (one row with no question for a skipped file).
    Lines end in ``\\r\\n`` (the CSV standard, RFC 4180), UTF-8 without BOM."""
    path = _as_path(out_csv, "out_csv")
    results = list(results)
    if not all(isinstance(r, GradeResult) for r in results):
        raise TypeError("results must be GradeResult objects")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(CSV_COLUMNS)
        for r in results:
            w.writerows(_csv_rows(r))
    return path


# ------------------------------------------------------------ integrity (hidden tests)
class BorrowedAnswer(AssertionError):
    """A graded function is not the student's own work (imported, or calls what the lab
    forbids)."""


def _resolve(dotted: str):
    import importlib

    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(dotted)


def _referenced_names(fn) -> set[str]:
    """Dotted names a function's code mentions (``np.linalg.norm``, ``F.softmax``,
    ``lmbook``)."""
    import inspect
    import textwrap

    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return set()
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            parts, cur = [], node
            while isinstance(cur, ast.Attribute):
                parts.append(cur.attr)
                cur = cur.value
            if isinstance(cur, ast.Name):
                found.add(".".join([cur.id, *reversed(parts)]))
        elif isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found |= {f"{node.module}.{a.name}" for a in node.names} | {node.module}
    return found


def check_own_code(
    fn, what: str, *, forbidden=(), namespace=None, home=("__main__",)
) -> None:
    """Raise :class:`BorrowedAnswer` unless ``fn`` was written in the notebook and its
    code names none of the ``forbidden`` dotted names (e.g. ``"lmbook"``,
    ``"torch.nn.functional.scaled_dot_product_attention"``, ``"nltk"``).

    ``namespace`` (the notebook's globals) lets aliases count: ``F.softmax`` is
    ``torch.nn.functional.softmax`` when ``F`` is that module there. Use it with
    :func:`forbid_calls`, which also catches calls hidden behind a helper. ``home``
    names the modules that count as the notebook (``__main__`` when otter runs it).
    """
    if not callable(fn):
        raise BorrowedAnswer(
            f"{what} should be a function you define, got {type(fn).__name__}"
        )
    module = getattr(fn, "__module__", None)
    if module is not None and module not in home:
        raise BorrowedAnswer(
            f"{what} is imported from {module!r}: write it yourself in the notebook"
        )
    namespace = namespace or getattr(fn, "__globals__", {})
    _check_code(fn, what, forbidden, namespace, home, seen=set())


def _check_code(fn, what, forbidden, namespace, home, seen) -> None:
    """The static check of :func:`check_own_code` on ``fn`` and on every helper of the
    notebook it calls (so a forbidden call cannot hide in a helper)."""
    if id(fn) in seen:
        return
    seen.add(id(fn))
    banned = {}
    for bad in forbidden:
        try:
            banned[id(_resolve(bad))] = bad
        except (ImportError, AttributeError):
            pass
    for name in sorted(_referenced_names(fn)):
        head, _, rest = name.partition(".")
        target = namespace.get(head)
        full = _full_name(target, rest) if target is not None else name
        hit = banned.get(id(target)) if target is not None and not rest else None
        hit = hit or next(
            (b for b in forbidden if full == b or full.startswith(b + ".")), None
        )
        if hit:
            raise BorrowedAnswer(
                f"{what} uses {hit} ({name} in your code), which this lab asks you to "
                f"write yourself"
            )
        if (
            target is not None
            and not rest
            and callable(target)
            and getattr(target, "__module__", None) in home
            and hasattr(target, "__code__")
        ):
            _check_code(target, what, forbidden, namespace, home, seen)


def _full_name(target, rest: str) -> str:
    """``F`` + ``softmax`` -> ``torch.nn.functional.softmax`` (modules, imported
    functions)."""
    import types

    if isinstance(target, types.ModuleType):
        base = target.__name__
    elif getattr(target, "__module__", None) and hasattr(target, "__qualname__"):
        base = f"{target.__module__}.{target.__qualname__}"
    else:
        return rest
    return f"{base}.{rest}" if rest else base


class forbid_calls:  # noqa: N801 - used like a function: ``with forbid_calls(...):``
    """Context manager: replace each dotted name by a function that raises
    :class:`BorrowedAnswer`, so a graded function that calls it (directly or through a
    helper) fails with a clear reason."""

    def __init__(self, *dotted: str, what: str = "your function") -> None:
        self.dotted, self.what, self.saved = dotted, what, []

    def __enter__(self):
        for name in self.dotted:
            owner_name, _, attr = name.rpartition(".")
            try:
                owner = _resolve(owner_name)
                original = getattr(owner, attr)
            except (ImportError, AttributeError):
                continue

            def refuse(*args, _name=name, **kwargs):
                raise BorrowedAnswer(
                    f"{self.what} calls {_name}, which this lab asks you to write "
                    "yourself"
                )

            setattr(owner, attr, refuse)
            self.saved.append((owner, attr, original))
        return self

    def __exit__(self, *exc) -> None:
        for owner, attr, original in reversed(self.saved):
            setattr(owner, attr, original)
        self.saved.clear()


# ---------------------------------------------------------------------------- variants
def replace_function(source: str, name: str, new_code: str) -> str:
    """Replace the top-level ``def name(...)`` or ``class name`` in the code ``source``
    by ``new_code`` (another definition)."""
    for arg, argname in ((source, "source"), (name, "name"), (new_code, "new_code")):
        if not isinstance(arg, str):
            raise TypeError(f"{argname} must be a str, got {type(arg).__name__}")
    try:
        tree = ast.parse(source)
    except SyntaxError as e:
        raise ValueError(f"source is not valid Python: {e}") from e
    nodes = [
        n
        for n in tree.body
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        and n.name == name
    ]
    if not nodes:
        raise ValueError(f"source defines no top-level function or class {name!r}")
    node = nodes[0]
    start = min([node.lineno] + [d.lineno for d in node.decorator_list]) - 1
    lines = source.split("\n")
    return "\n".join(
        lines[:start] + new_code.strip("\n").split("\n") + lines[node.end_lineno :]
    )


def make_variant(
    notebook_path,
    out_path,
    replacements: dict[str, str],
    *,
    metadata: dict | None = None,
) -> Path:
    """Copy a notebook to ``out_path`` with functions or classes replaced, e.g. a wrong
    submission made from a lab's source: ``make_variant(src, tmp / "wrong.ipynb",
    {"log_softmax": "def log_softmax(x): ..."})``. Each name must be defined at top
    level in exactly one code cell; outputs are cleared; ``metadata`` is merged into the
    notebook metadata."""
    import nbformat

    nb_path = _as_path(notebook_path, "notebook_path")
    out = _as_path(out_path, "out_path")
    if not nb_path.is_file():
        raise ValueError(f"notebook_path {str(nb_path)!r} is not a file")
    if not isinstance(replacements, dict) or not all(
        isinstance(k, str) for k in replacements
    ):
        raise TypeError("replacements must be a dict {function name: new code}")
    if metadata is not None and not isinstance(metadata, dict):
        raise TypeError(f"metadata must be a dict, got {type(metadata).__name__}")
    nb = nbformat.read(nb_path, as_version=4)
    nb.metadata.update(metadata or {})
    for name, code in replacements.items():
        hits = []
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            try:
                tree = ast.parse(cell.source)
            except SyntaxError:
                continue
            if any(
                isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name == name
                for n in tree.body
            ):
                hits.append(cell)
        if len(hits) != 1:
            raise ValueError(
                f"function or class {name!r} must be defined in exactly one code cell, "
                f"found {len(hits)}"
            )
        hits[0].source = replace_function(hits[0].source, name, code)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out)
    return out


def make_submission(
    lab_dir, out_path, replacements: dict[str, str] | None = None
) -> Path:
    """A gradable submission made from the lab's source notebook (all solutions), with
    the functions in ``replacements`` swapped for other code: ``make_submission(lab, tmp
    / "q1.ipynb", {"log_softmax": WRONG})``. It carries the student notebook's ``otter``
    metadata (the assignment name otter checks)."""
    lab = find_lab(lab_dir)
    if not lab.student.is_file():
        raise ValueError(
            f"{lab.student} is missing: run "
            f"`python -m lmbook.labs build {lab.dir}` first"
        )
    student_meta = json.loads(lab.student.read_text(encoding="utf-8")).get(
        "metadata", {}
    )
    return make_variant(
        lab.source,
        out_path,
        replacements or {},
        metadata={"otter": student_meta.get("otter", {})},
    )


# --------------------------------------------------------------------------------- CLI
_KERNEL_LIMIT_CELL = '''\
def _lmbook_limit_tests(limit):
    """Installed by lmbook.labs: each otter test case fails after `limit` seconds."""
    import re
    import signal

    from otter.test_files import exception_test as et

    def run(self, global_environment):
        self.test_case_results = []
        for tc in self.test_cases:
            doc = getattr(tc.body.test_func, "__doc__", None) or ""
            found = re.search(PATTERN, doc)
            name = getattr(tc.body.test_func, "__name__", "")
            seconds = float(found.group(1)) if found else limit
            if not found and "train" in name:  # a test that trains a model
                seconds = max(seconds, TRAIN)

            def stop(signum, frame, seconds=seconds):
                raise TimeoutError(
                    f"this test took longer than {seconds:g} s: "
                    "does a function loop forever?"
                )

            passed, message = True, "✅ Test case passed"
            old = signal.signal(signal.SIGALRM, stop)
            signal.setitimer(signal.ITIMER_REAL, seconds)
            try:
                tc.body.call_func(global_environment)
            except Exception as e:
                signal.setitimer(signal.ITIMER_REAL, 0)
                passed = False
                message = "❌ Test case failed\\n" + self._generate_error_message(e)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, old)
            self.test_case_results.append(
                et.TestCaseResult(test_case=tc, message=message, passed=passed)
            )

    et.ExceptionTestFile.run = run


_lmbook_limit_tests(LIMIT)
del _lmbook_limit_tests
'''


def _kernel_limit_source(test_timeout: float) -> str:
    """The cell run first in a submission's kernel: otter test cases get time limits."""
    return (
        _KERNEL_LIMIT_CELL.replace("PATTERN", repr(_TEST_LIMIT.pattern))
        .replace("TRAIN", repr(DEFAULT_TRAIN_TEST_TIMEOUT))
        .replace("LIMIT", repr(float(test_timeout)))
    )


def _otter_run(argv: list[str]) -> int:
    """``otter run`` with time limits per cell and per test case, recording the cells of
    the submission that raised (for the CSV's message)."""
    ap = argparse.ArgumentParser(prog="lmbook.labs _otter-run")
    ap.add_argument("--cell-timeout", type=float, required=True)
    ap.add_argument("--test-timeout", type=float, default=DEFAULT_TEST_TIMEOUT)
    ap.add_argument("--errors", default=None)
    args, rest = ap.parse_known_args(argv)
    import nbconvert.preprocessors as pre
    import nbformat
    from traitlets import Any, Bool

    limit = max(1, int(args.cell_timeout))
    limit_source = _kernel_limit_source(args.test_timeout)
    errors: list[dict] = []

    def cell_limit(cell) -> int | None:
        # otter's own set-up and results cells import otter and may be slow on a busy
        # machine: only the per-submission timeout bounds them; every other cell (the
        # student's, grader.check) gets `limit`
        return None if "otter" in cell.source else limit

    class _TimedExecutePreprocessor(pre.ExecutePreprocessor):
        timeout_func = Any(default_value=cell_limit, allow_none=True)
        interrupt_on_timeout = Bool(True)

        def preprocess(self, nb, resources=None, km=None):
            nb.cells.insert(0, nbformat.v4.new_code_cell(limit_source))
            return super().preprocess(nb, resources, km)

        def preprocess_cell(self, cell, resources, index):
            cell, resources = super().preprocess_cell(cell, resources, index)
            if cell.cell_type == "code" and "otter" not in cell.source:
                for o in cell.get("outputs", []):
                    if o.get("output_type") == "error":
                        errors.append(
                            {
                                "line": _first_line(cell.source),
                                "imports": _is_imports_cell(cell.source),
                                "ename": o.get("ename", "Error"),
                                "evalue": str(o.get("evalue", ""))[:300],
                            }
                        )
            return cell, resources

    pre.ExecutePreprocessor = (
        _TimedExecutePreprocessor  # otter imports it from here at call time
    )
    from otter.cli import cli

    try:
        cli.main(["run", "--no-logo", *rest], prog_name="otter", standalone_mode=False)
    finally:
        if args.errors:
            Path(args.errors).write_text(json.dumps(errors), encoding="utf-8")
    return 0


def _is_imports_cell(source: str) -> bool:
    """A cell whose statements are all imports (the lab's set-up cell)."""
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return False
    imports = [n for n in body if isinstance(n, (ast.Import, ast.ImportFrom))]
    return bool(imports) and body[0] in imports


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse prints the usage too)
        self.exit(2, f"{self.prog}: error: {message}\n")


def _positive(kind):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not value > 0 or value != value or value == float("inf"):
            raise argparse.ArgumentTypeError(f"{text!r} must be > 0")
        return value

    return parse


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["_otter-run"]:
        return _otter_run(argv[1:])
    ap = _ArgumentParser(
        prog="python -m lmbook.labs", description=__doc__.split("\n")[0]
    )
    sub = ap.add_subparsers(dest="cmd", required=True, parser_class=_ArgumentParser)
    b = sub.add_parser(
        "build", help="regenerate student notebooks, public tests and autograder zips"
    )
    b.add_argument(
        "labs", nargs="*", help="lab folders (default: every lab under labs/)"
    )
    b.add_argument(
        "--no-run-tests",
        action="store_true",
        help="skip otter's check that the source passes",
    )
    g = sub.add_parser("grade", help="grade a folder of submitted notebooks into a CSV")
    g.add_argument("lab")
    g.add_argument("submissions")
    g.add_argument("--out", default="grades.csv")
    g.add_argument(
        "--timeout",
        type=_positive(float),
        default=DEFAULT_TIMEOUT,
        help="seconds per submission",
    )
    g.add_argument(
        "--test-timeout",
        type=_positive(float),
        default=None,
        help=f"seconds per test case (default {DEFAULT_TEST_TIMEOUT:g})",
    )
    g.add_argument(
        "--jobs", type=_positive(int), default=1, help="submissions graded at once"
    )
    args = ap.parse_args(argv)
    try:
        if args.cmd == "build":
            return _build_command(args)
        return _grade_command(args)
    except (ValueError, TypeError) as e:
        print(f"{ap.prog}: error: {e}", file=sys.stderr)
        return 2


def _build_command(args) -> int:
    labs = [find_lab(p) for p in args.labs] if args.labs else list_labs()
    for lab in labs:
        t0 = time.monotonic()
        paths = build_lab(lab.dir, run_tests=not args.no_run_tests)
        rel = {k: os.path.relpath(v) for k, v in paths.items()}
        print(
            f"built {os.path.relpath(lab.dir)} in {time.monotonic() - t0:.1f} s: {rel}"
        )
    return 0


def _grade_command(args) -> int:
    find_lab(args.lab)  # bad input fails before anything starts
    count = [0]

    def report(r: GradeResult) -> None:
        count[0] += 1
        if r.status == "skipped":
            print(f"{r.submission}: skipped ({r.message})", flush=True)
            return
        note = f" ({r.status}: {r.message})" if r.status != "ok" else ""
        note = note or (f" (note: {r.message})" if r.message else "")
        print(
            f"{r.submission}: {r.total:g}/{r.max_total:g} in {r.seconds:.1f} s{note}",
            flush=True,
        )

    def terminate(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        results = grade_submissions(
            args.lab,
            args.submissions,
            args.out,
            args.timeout,
            progress=report,
            jobs=args.jobs,
            test_timeout=args.test_timeout,
        )
    except KeyboardInterrupt:
        print(
            f"interrupted: {count[0]} files done, their rows are in {args.out}",
            file=sys.stderr,
        )
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
    print(f"graded {len(results)} files -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
