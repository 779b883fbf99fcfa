"""nbgrader's side of benchmarks/compare_tools.py: a course folder, its autograde, its scores.

Why it exists: to time nbgrader the way its documentation has instructors use
it.  The instructor writes a source notebook whose answer cells hold the
solution between `### BEGIN SOLUTION` / `### END SOLUTION` and whose
autograder-tests cells carry points (cell metadata `nbgrader.grade`), hidden
tests between `### BEGIN HIDDEN TESTS` / `### END HIDDEN TESTS`;
`nbgrader generate_assignment` makes the student version and records the
tests in the gradebook; students' notebooks go to
`submitted/<student>/<assignment>/<notebook>.ipynb`; `nbgrader autograde
<assignment>` executes each one in a Jupyter kernel, one after another, with
the recorded tests restored, and writes the scores to gradebook.db.

Only `nbgrader autograde` is timed (compare_tools.py); making the course,
generating the assignment and exporting the scores are set-up and read-out.
The tests are those of benchmarks/equivalent_tests.py, one grade cell each.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import tool_env
from equivalent_tests import ASSIGNMENT, FUNCTIONS, TESTS, Student

NOTEBOOK = "fc_layers"  # the notebook's name inside the assignment
KERNEL = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
          "language_info": {"name": "python"}}


def _meta(grade_id: str, *, solution: bool = False, grade: bool = False, locked: bool = False,
          points: float | None = None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def _code(source: str, metadata: dict) -> dict:
    return {"cell_type": "code", "metadata": metadata, "execution_count": None, "outputs": [],
            "source": source}


def _markdown(source: str) -> dict:
    return {"cell_type": "markdown", "metadata": {}, "source": source}


def test_grade_id(check_id: str) -> str:
    return "test_" + re.sub(r"[^A-Za-z0-9_]", "_", check_id)


def source_notebook() -> dict:
    """The instructor's notebook: solutions between markers, one grade cell per test."""
    cells = [_markdown("# Fully-connected layers\n\nImplement each function; the cells after "
                       "it test it."),
             _code("import numpy as np", _meta("imports", locked=True))]
    for name, function in FUNCTIONS.items():
        cells.append(_markdown(f"## `{name}`"))
        cells.append(_code(f"{function.signature}\n    ### BEGIN SOLUTION\n{function.body}"
                           f"    ### END SOLUTION\n", _meta(f"{name}_answer", solution=True)))
        for test in (t for t in TESTS if t.function == name):
            code = (f"### BEGIN HIDDEN TESTS\n{test.code}### END HIDDEN TESTS\n" if test.hidden
                    else test.code)
            cells.append(_code(code, _meta(test_grade_id(test.check_id), grade=True, locked=True,
                                           points=test.points)))
    return {"cells": cells, "metadata": KERNEL, "nbformat": 4, "nbformat_minor": 5}


CONFIG = """c = get_config()
c.CourseDirectory.root = {root!r}
c.CourseDirectory.course_id = "benchmark"
"""


class Course:
    """An nbgrader course folder under `root` (created), graded by the tools' venv."""

    def __init__(self, root: Path, work: Path) -> None:
        self.root = Path(root)
        self.work = Path(work)
        self.log = self.work / "nbgrader.log"

    def prepare(self, students: list[Student]) -> list[Path]:
        """Course, generated assignment and submitted notebooks; returns those notebooks."""
        self.root.mkdir(parents=True)
        (self.root / "nbgrader_config.py").write_text(CONFIG.format(root=str(self.root)))
        source = self.root / "source" / ASSIGNMENT
        source.mkdir(parents=True)
        (source / f"{NOTEBOOK}.ipynb").write_text(json.dumps(source_notebook(), indent=1))
        tool_env.run(["nbgrader", "generate_assignment", ASSIGNMENT, "--force"], self.work,
                     self.root, self.log)
        release = json.loads((self.root / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb").read_text())
        paths = []
        for student in students:
            notebook = json.loads(json.dumps(release))
            for cell in notebook["cells"]:
                grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")
                if grade_id.endswith("_answer"):
                    cell["source"] = student.sources[grade_id[:-len("_answer")]]
            folder = self.root / "submitted" / student.id / ASSIGNMENT
            folder.mkdir(parents=True)
            path = folder / f"{NOTEBOOK}.ipynb"
            path.write_text(json.dumps(notebook, indent=1))
            paths.append(path)
        return paths

    def grade_command(self) -> list[str]:
        """What is timed: autograde every submission (--create adds the students to the db)."""
        return ["nbgrader", "autograde", ASSIGNMENT, "--create"]

    def grade(self) -> None:
        tool_env.run(self.grade_command(), self.work, self.root, self.log)

    def scores(self) -> dict[str, float]:
        """student id -> score, from `nbgrader export` (the gradebook as CSV)."""
        tool_env.run(["nbgrader", "export"], self.work, self.root, self.log)
        with open(self.root / "grades.csv", newline="") as handle:
            return {row["student_id"]: float(row["raw_score"] or 0.0)
                    for row in csv.DictReader(handle) if row["assignment"] == ASSIGNMENT}

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
