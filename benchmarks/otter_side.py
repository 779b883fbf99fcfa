"""Otter-Grader's side of benchmarks/compare_tools.py: otter assign, then `otter run` per notebook.

Why it exists: to time Otter the way its documentation has instructors use
it.  The instructor writes a master notebook in Otter Assign's format (raw
cells `# ASSIGNMENT CONFIG`, `# BEGIN QUESTION` / `# END QUESTION`,
`# BEGIN SOLUTION` / `# END SOLUTION`, `# BEGIN TESTS` / `# END TESTS`; a test
cell's `# BEGIN TEST CONFIG` block sets its points and whether it is hidden);
`otter assign` makes the student notebook and the autograder zip.  Otter grades
a class in Docker containers (`otter grade`); this machine has no Docker, and
the benchmark must not count image builds anyway, so it uses what Otter
documents for grading without containers: `otter run -a autograder.zip
SUBMISSION`, one submission per command, which executes the notebook in a
Jupyter kernel and runs the tests, writing results.json.  Say so wherever the
figures are quoted.

Only the `otter run` commands are timed (compare_tools.py); `otter assign` is
set-up.  `jobs` runs that many `otter run` commands at once (1: one after
another, as a loop over submissions would).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import tool_env
from equivalent_tests import ASSIGNMENT, FUNCTIONS, TESTS, Student

MASTER = f"{ASSIGNMENT}.ipynb"
ASSIGNMENT_CONFIG = f"""# ASSIGNMENT CONFIG
name: {ASSIGNMENT}
init_cell: true
check_all_cell: false
export_cell: false
run_tests: false
solutions_pdf: false
template_pdf: false
generate:
  pdf: false
"""


def _raw(source: str) -> dict:
    return {"cell_type": "raw", "metadata": {}, "source": source}


def _code(source: str) -> dict:
    return {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
            "source": source}


def _markdown(source: str) -> dict:
    return {"cell_type": "markdown", "metadata": {}, "source": source}


def master_notebook() -> dict:
    """One question per graded function, one test cell per check (points, hidden)."""
    cells = [_raw(ASSIGNMENT_CONFIG),
             _markdown("# Fully-connected layers\n\nImplement each function."),
             _code("import numpy as np")]
    for name, function in FUNCTIONS.items():
        cells += [_raw(f"# BEGIN QUESTION\nname: {name}\n"),
                  _markdown(f"## `{name}`"),
                  _raw("# BEGIN SOLUTION"),
                  _code(f"{function.signature}\n    # BEGIN SOLUTION\n{function.body}"
                        f"    # END SOLUTION\n"),
                  _raw("# END SOLUTION"),
                  _raw("# BEGIN TESTS")]
        for test in (t for t in TESTS if t.function == name):
            config = (f'""" # BEGIN TEST CONFIG\npoints: {test.points:g}\n'
                      f'hidden: {"true" if test.hidden else "false"}\n""" # END TEST CONFIG\n')
            cells.append(_code(config + test.code))
        cells += [_raw("# END TESTS"), _raw("# END QUESTION")]
    return {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "language": "python",
                                                        "display_name": "Python 3"},
                                         "language_info": {"name": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


def _is_answer(cell: dict, name: str) -> bool:
    source = cell.get("source", "")
    source = "".join(source) if isinstance(source, list) else source
    return cell.get("cell_type") == "code" and source.lstrip().startswith(f"def {name}(")


class Assignment:
    """An Otter assignment under `root` (created), graded by the tools' venv."""

    def __init__(self, root: Path, work: Path) -> None:
        self.root = Path(root)
        self.work = Path(work)
        self.log = self.work / "otter.log"
        self.autograder: Path | None = None
        self.submissions: dict[str, Path] = {}

    def prepare(self, students: list[Student]) -> list[Path]:
        """otter assign, then each student's notebook; returns those notebooks."""
        self.root.mkdir(parents=True)
        (self.root / MASTER).write_text(json.dumps(master_notebook(), indent=1))
        tool_env.run(["otter", "assign", MASTER, "dist"], self.work, self.root, self.log)
        zips = sorted((self.root / "dist" / "autograder").glob("*.zip"))
        if len(zips) != 1:
            raise RuntimeError(f"otter assign made {len(zips)} autograder zips; see {self.log}")
        self.autograder = zips[0]
        release = json.loads((self.root / "dist" / "student" / MASTER).read_text())
        folder = self.root / "submissions"
        folder.mkdir()
        for student in students:
            notebook = json.loads(json.dumps(release))
            for cell in notebook["cells"]:
                for name in FUNCTIONS:
                    if _is_answer(cell, name):
                        cell["source"] = student.sources[name]
            path = folder / f"{student.id}.ipynb"
            path.write_text(json.dumps(notebook, indent=1))
            self.submissions[student.id] = path
        return list(self.submissions.values())

    def grade_command(self, student_id: str) -> list[str]:
        return ["otter", "run", "-a", str(self.autograder), "-o",
                str(self.root / "results" / student_id), "--no-logo",
                str(self.submissions[student_id])]

    def grade(self, jobs: int = 1) -> None:
        """What is timed: one `otter run` per submission, `jobs` at a time."""
        for student_id in self.submissions:
            (self.root / "results" / student_id).mkdir(parents=True, exist_ok=True)
        env = tool_env.environment(self.work)

        def one(student_id: str) -> tuple[str, int, str]:
            completed = subprocess.run(self.grade_command(student_id), cwd=self.root, env=env,
                                       capture_output=True, text=True)
            return student_id, completed.returncode, completed.stdout + completed.stderr

        with ThreadPoolExecutor(max(1, jobs)) as pool:
            outcomes = list(pool.map(one, list(self.submissions)))
        with open(self.log, "a") as handle:
            for student_id, code, output in outcomes:
                handle.write(f"\n$ otter run ... {student_id} (exit {code})\n{output}")
        failed = [student_id for student_id, code, _ in outcomes if code != 0]
        if failed:
            raise RuntimeError(f"otter run failed for {failed}; see {self.log}")

    def scores(self) -> dict[str, float]:
        """student id -> score: the sum of the question scores in each results.json (its
        "Public Tests" summary entry has no score)."""
        scores = {}
        for student_id in self.submissions:
            results = json.loads((self.root / "results" / student_id / "results.json").read_text())
            scores[student_id] = float(sum(t.get("score") or 0.0 for t in results.get("tests", [])))
        return scores

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
