"""pytest configuration of labs/: nbval runs each lab's *source* notebook (solutions and all tests).

Everything else under labs/ is left out: the generated student notebooks (labs/NN_topic/*.ipynb, with ``...``
placeholders and no outputs), build outputs (dist/), the public test files (tests/) and the template.
"""
from pathlib import Path

LABS = Path(__file__).resolve().parent


def pytest_ignore_collect(collection_path, config):
    path = Path(collection_path).resolve()
    if path == LABS or LABS not in path.parents:
        return None
    rel = path.relative_to(LABS).parts
    if rel[0].startswith(("_", ".")):
        return True  # _template, _grading, hidden folders
    if len(rel) >= 2 and rel[1] != "source":
        return True  # student notebook, tests/, dist/
    return None
