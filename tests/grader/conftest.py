"""Fixtures for the grader's tests: submissions written to folders the worker can read."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest


def write_submission(files: dict[str, str]) -> Path:
    """Write `files` (relative path -> source) to a fresh world-readable folder.

    pytest's tmp_path is private to root; the worker runs as `nobody`, so
    submissions live in their own 0755 folder under the system temp dir.
    """
    root = Path(tempfile.mkdtemp(prefix="grader-test-sub-"))
    os.chmod(root, 0o755)
    for relative, source in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        for parent in path.relative_to(root).parents:
            os.chmod(root / parent, 0o755)
        path.write_text(source)
        os.chmod(path, 0o644)
    return root


@pytest.fixture
def submission():
    """Factory: submission({'layers.py': '...'}) -> folder; removed after the test."""
    import shutil
    made: list[Path] = []

    def make(files: dict[str, str]) -> Path:
        made.append(write_submission(files))
        return made[-1]

    yield make
    for path in made:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def make_student(submission):
    """Factory: make_student({'layers.py': '...'}) -> a Student on a real, sandboxed worker.

    Course module names map to the top-level files of the folder ('layers' ->
    layers.py); the workers are closed after the test.
    """
    from grader.checks.student import Student
    from grader.worker.sandbox import Limits
    from grader.worker.client import Worker

    workers: list[Worker] = []

    def make(files: dict[str, str], call_timeout_s: float = 10) -> Student:
        folder = submission(files)
        workers.append(Worker(folder, limits=Limits(call_timeout_s=call_timeout_s)))
        modules = {Path(name).stem: Path(name).stem for name in files if name.endswith(".py")}
        return Student(workers[-1], modules, {m: f"{m}.py" for m in modules})

    yield make
    for worker in workers:
        worker.close()


@pytest.fixture(scope="session")
def numpy126_python() -> str:
    """The interpreter of a NumPy 1.26 worker environment (grader/worker/envs.py), made once per
    session by the real `grade env create --numpy 1.26`, in the same cache folder as `make
    worker-env-np126`, so a CI run or an earlier session that made it makes this instant.
    Skips, saying why, when it cannot be made (PyPI not reachable)."""
    import re
    import subprocess
    import sys

    grade = Path(sys.executable).with_name("grade")
    done = subprocess.run([str(grade), "env", "create", "--numpy", "1.26"], capture_output=True,
                          text=True, timeout=900)
    found = re.search(r"--worker-python (\S+)", done.stdout)
    if done.returncode != 0 or not found:
        why = (done.stderr.strip().splitlines() or ["no output"])[-1]
        pytest.skip(f"no NumPy 1.26 worker environment: `grade env create --numpy 1.26` "
                    f"failed (is PyPI reachable?): {why}")
    return found.group(1)
