"""Worker environments (grader/worker/envs.py): `grade env create` / `grade env check`, and grading
one submission under two of them, the grader's own (NumPy 2.4) and a NumPy 1.26 one.

The NumPy 1.26 environment comes from the session fixture `numpy126_python`
(tests/grader/conftest.py), which runs the real `grade env create` once and skips,
saying why, when PyPI cannot be reached.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from grader.scoring import assignment as assignments
from grader.worker import envs, sandbox
from grader.scoring.pipeline import Options, grade_submission

GRADE = Path(sys.executable).with_name("grade")
ROOT = Path(__file__).resolve().parents[3]
REFERENCE = ROOT / "reference" / "cs231n"
DATA = Path(__file__).resolve().parents[1] / "data"
JUDGE_NUMPY = np.__version__


def run_grade(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([str(GRADE), *args], capture_output=True, text=True, timeout=timeout,
                          cwd=cwd)


def bare_venv(folder: Path, *options: str) -> Path:
    """A virtual environment of the grader's base Python with nothing installed (no NumPy)."""
    subprocess.run([envs._base_interpreter(), "-m", "venv", "--without-pip", *options, str(folder)],
                   check=True, capture_output=True)
    return folder


# -- naming an interpreter ---------------------------------------------------------------------

def test_interpreter_takes_an_environment_folder_or_an_interpreter(tmp_path) -> None:
    venv = bare_venv(tmp_path / "env")
    assert envs.interpreter(venv) == str(venv / "bin" / "python")
    assert envs.interpreter(venv / "bin" / "python") == str(venv / "bin" / "python")
    assert envs.interpreter("env", base=tmp_path) == str(venv / "bin" / "python")  # course-relative


@pytest.mark.parametrize("make, error", [
    (lambda d: d / "nowhere", "nowhere: no such interpreter"),
    (lambda d: (d / "empty").mkdir() or d / "empty", "empty: a folder without bin/python"),
    (lambda d: (d / "script.txt").write_text("x") and d / "script.txt", "script.txt: not executable"),
], ids=["missing", "folder_without_python", "not_executable"])
def test_interpreter_says_what_is_wrong(tmp_path, make, error) -> None:
    with pytest.raises(envs.EnvError, match=re.escape(error)):
        envs.interpreter(make(tmp_path))


@pytest.mark.parametrize("version, requirement", [
    ("1.26", "numpy==1.26.*"), ("1.26.4", "numpy==1.26.4"), (" 2.0 ", "numpy==2.0.*")])
def test_numpy_versions_become_exact_pins(version, requirement) -> None:
    assert envs.numpy_requirement(version) == requirement


@pytest.mark.parametrize("version", ["1", "latest", "1.26.4.1", ">=1.26", ""])
def test_numpy_version_that_is_not_one_is_refused(version) -> None:
    with pytest.raises(envs.EnvError, match="--numpy expects a version such as 1.26 or 1.26.4"):
        envs.numpy_requirement(version)


# -- grade env create: what it refuses, without the network -------------------------------------

@pytest.mark.parametrize("force", [(), ("--force",)], ids=["plain", "force"])
def test_create_refuses_a_folder_that_is_not_a_worker_environment(tmp_path, force) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    result = run_grade("env", "create", "--numpy", "1.26", "--dir", str(tmp_path / "mine"), *force,
                       cwd=tmp_path)
    assert result.returncode == 2
    assert "is not a worker environment made by `grade env create`" in result.stderr
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_create_refuses_an_environment_made_for_other_pins(tmp_path) -> None:
    made = tmp_path / "env"
    made.mkdir()
    (made / envs.STAMP).write_text(json.dumps({"requested": {
        "numpy": "numpy==2.0.*", "extra": [], "base_python": envs._base_interpreter()}}))
    result = run_grade("env", "create", "--numpy", "1.26", "--dir", str(made), cwd=tmp_path)
    assert result.returncode == 2
    assert "was made for numpy==2.0.*" in result.stderr and "--force" in result.stderr


@pytest.mark.slow
def test_force_rebuilds_an_environment_made_for_other_pins(tmp_path) -> None:
    made = tmp_path / "env"
    made.mkdir()
    (made / envs.STAMP).write_text(json.dumps({"requested": {"numpy": "numpy==2.0.*"}}))
    result = run_grade("env", "create", "--numpy", "1.26.4", "--dir", str(made), "--force",
                       cwd=tmp_path, timeout=900)
    if "pip install failed" in result.stderr:
        pytest.skip(f"NumPy 1.26.4 could not be installed (is PyPI reachable?): "
                    f"{result.stderr.strip().splitlines()[-1]}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{made}: made in ")
    stamp = json.loads((made / envs.STAMP).read_text())
    assert stamp["requested"]["numpy"] == "numpy==1.26.4" and stamp["packages"]["numpy"] == "1.26.4"
    assert [p.name for p in tmp_path.iterdir()] == ["env"]  # no half-built folder left beside it


def test_create_with_a_bad_version_is_a_usage_error(tmp_path) -> None:
    result = run_grade("env", "create", "--numpy", "newest", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == ("grade: --numpy expects a version such as 1.26 or 1.26.4, "
                                     "not 'newest'")


def test_a_failed_build_leaves_nothing_behind(tmp_path) -> None:
    # No NumPy 0.1 wheel exists (and without a network nothing can be installed at all).
    result = run_grade("env", "create", "--numpy", "0.1", "--dir", str(tmp_path / "env"),
                       cwd=tmp_path)
    assert result.returncode == 2
    assert "\ngrade: pip install failed (exit status 1):\n" in result.stderr, result.stderr
    assert list(tmp_path.iterdir()) == []  # neither the folder nor a half-built one


def test_env_without_an_action_is_a_usage_error(tmp_path) -> None:
    result = run_grade("env", cwd=tmp_path)
    assert result.returncode == 2
    assert "the following arguments are required: ACTION" in result.stderr


# -- grade env check ---------------------------------------------------------------------------

def test_check_reports_the_graders_own_environment(tmp_path) -> None:
    result = run_grade("env", "check", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"worker environment: {sys.executable}" in result.stdout
    assert re.search(rf"^  NumPy +{re.escape(JUDGE_NUMPY)}$", result.stdout, re.MULTILINE)
    assert re.search(r"^  torch +\S", result.stdout, re.MULTILINE)
    assert re.search(r"^  TensorFlow +\S", result.stdout, re.MULTILINE)
    assert re.search(rf"^  worker +starts under (bwrap|rlimits) in [\d.]+ s \(Python "
                     rf"{re.escape('.'.join(map(str, sys.version_info[:3])))}, NumPy "
                     rf"{re.escape(JUDGE_NUMPY)}\)$", result.stdout, re.MULTILINE), result.stdout
    assert result.stdout.rstrip().endswith("usable for grading")


def test_check_of_an_environment_without_numpy_says_it_is_not_usable(tmp_path) -> None:
    venv = bare_venv(tmp_path / "bare")
    result = run_grade("env", "check", str(venv), cwd=tmp_path)
    assert result.returncode == 1
    assert re.search(r"^  NumPy +not installed$", result.stdout, re.MULTILINE)
    assert "problem: NumPy does not import: ModuleNotFoundError" in result.stdout
    assert "`grade env create --numpy VERSION`" in result.stdout
    assert result.stdout.rstrip().endswith("NOT usable for grading")


def test_check_of_a_path_that_is_no_interpreter_exits_2(tmp_path) -> None:
    result = run_grade("env", "check", str(tmp_path / "nowhere"), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == f"grade: {tmp_path / 'nowhere'}: no such interpreter"
    assert result.stdout == ""


def test_the_sandbox_binds_the_base_installation_of_a_copied_interpreter(tmp_path) -> None:
    # A venv made with --copies has its own python binary: without the base installation
    # from pyvenv.cfg bound, the worker silently ran /usr's libpython and standard library.
    venv = bare_venv(tmp_path / "copies", "--copies")
    base = Path(os.path.realpath(envs._base_interpreter())).parent.parent
    assert str(base) in sandbox._python_roots(str(venv / "bin" / "python"))


# -- the NumPy 1.26 environment that `grade env create` made ------------------------------------

def test_created_environment_is_pinned_locked_and_reused(numpy126_python, tmp_path) -> None:
    folder = Path(numpy126_python).parent.parent
    stamp = json.loads((folder / envs.STAMP).read_text())
    assert stamp["requested"]["numpy"] == "numpy==1.26.*"
    assert stamp["packages"]["numpy"].startswith("1.26.")
    assert f"numpy=={stamp['packages']['numpy']}" in (folder / envs.LOCK).read_text().split()
    assert os.stat(folder / "pyvenv.cfg").st_mode & 0o004  # the worker's uid can read it
    result = run_grade("env", "create", "--numpy", "1.26", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{folder}: already there (Python ")
    assert f"--worker-python {numpy126_python}" in result.stdout


def test_check_reports_the_numpy_126_environment(numpy126_python, tmp_path) -> None:
    folder = Path(numpy126_python).parent.parent
    result = run_grade("env", "check", str(folder), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^  NumPy +1\.26\.\d+$", result.stdout, re.MULTILINE)
    assert re.search(r"^  torch +not installed$", result.stdout, re.MULTILINE)
    assert re.search(r"^  worker +starts under \w+ in [\d.]+ s \(Python [\d.]+, NumPy 1\.26\.\d+\)$",
                     result.stdout, re.MULTILINE), result.stdout


NEEDS_NUMPY_1 = """

def affine_forward(x, w, b):
    # NumPy 1.x code: int() of a one-element array is an error since NumPy 2.4.
    n = int(np.array(x.shape)[:1])
    out = x.reshape(n, -1).dot(w) + b
    return out, (x, w, b)
"""


def numpy1_submission(submission) -> Path:
    """The reference package with an affine_forward that only NumPy 1.x (up to 2.3) accepts."""
    files = {f"cs231n/{p.relative_to(REFERENCE)}": p.read_text() for p in REFERENCE.rglob("*.py")
             if "__pycache__" not in p.parts}
    files["cs231n/layers.py"] += NEEDS_NUMPY_1
    return submission(files) / "cs231n"


def graded(tmp_path: Path, name: str, *args: str) -> tuple[subprocess.CompletedProcess, dict]:
    out = tmp_path / f"{name}.json"
    result = run_grade("check", *args, "-a", "fc_nets", "-k", "affine_forward", "-v",
                       "--json", str(out), cwd=tmp_path)
    return result, json.loads(out.read_text())


def test_one_submission_under_two_worker_environments(numpy126_python, submission, tmp_path) -> None:
    if np.lib.NumpyVersion(JUDGE_NUMPY) < "2.4.0":
        pytest.skip(f"the default worker's NumPy {JUDGE_NUMPY} still takes int() of a one-element array")
    path = numpy1_submission(submission)

    default, default_json = graded(tmp_path, "default", str(path))
    assert default.returncode == 1, default.stdout + default.stderr
    assert default_json["environment"]["worker_numpy"] == JUDGE_NUMPY
    assert f"worker Python {default_json['environment']['worker_python']}, NumPy {JUDGE_NUMPY})" \
        in default.stdout
    checks = default_json["checks"]
    assert checks and all(c["status"] != "passed" and c["points"] == 0 for c in checks)
    for check in checks:
        assert "only 0-dimensional arrays can be converted" in check["message"]
        assert check["hint"].startswith("Since NumPy 2.4, `int()`")
    # -v: the version hint first, the check's own hint on the next line, indented under it
    assert re.search(r"^         hint: Since NumPy 2\.4, `int\(\)`.*\n {15}\S",
                     default.stdout, re.MULTILINE), default.stdout

    old, old_json = graded(tmp_path, "numpy126", str(path), "--worker-python", numpy126_python)
    assert old.returncode == 0, old.stdout + old.stderr
    assert old_json["environment"]["worker_numpy"].startswith("1.26.")
    assert re.search(r"worker Python [\d.]+, NumPy 1\.26\.\d+\)$", old.stdout, re.MULTILINE)
    assert [c["id"] for c in old_json["checks"]] == [c["id"] for c in checks]
    assert all(c["status"] == "passed" and c["hint"] == "" for c in old_json["checks"])
    assert old_json["score"] == old_json["max_score"] > 0


def test_the_html_report_states_the_worker_versions(numpy126_python, tmp_path) -> None:
    html = tmp_path / "report.html"
    result = run_grade("check", str(REFERENCE), "-a", "fc_nets", "-k", "affine_forward",
                       "--worker-python", numpy126_python, "--html", str(html), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    text = html.read_text()
    assert re.search(r"Python [\d.]+,\s+NumPy 1\.26\.\d+\b", text), text


# -- worker_python in the course file ----------------------------------------------------------

@pytest.mark.parametrize("setting", ["course_wide", "per_assignment", "relative"])
def test_course_file_names_the_worker_interpreter(numpy126_python, tmp_path, setting) -> None:
    folder = Path(numpy126_python).parent.parent
    value = {"course_wide": str(folder), "per_assignment": {"fc_nets": numpy126_python},
             "relative": os.path.relpath(folder, tmp_path)}[setting]
    course = tmp_path / "course.yml"
    course.write_text(json.dumps({"worker_python": value}))  # JSON is YAML
    result, data = graded(tmp_path, setting, str(REFERENCE), "--course", str(course))
    assert result.returncode == 0, result.stdout + result.stderr
    assert data["environment"]["worker_numpy"].startswith("1.26.")


def test_worker_python_flag_wins_over_the_course_file(numpy126_python, tmp_path) -> None:
    course = tmp_path / "course.yml"
    course.write_text(f"worker_python: {numpy126_python}\n")
    result, data = graded(tmp_path, "flag", str(REFERENCE), "--course", str(course),
                          "--worker-python", sys.executable)
    assert result.returncode == 0, result.stdout + result.stderr
    assert data["environment"]["worker_numpy"] == JUDGE_NUMPY


def test_course_file_for_another_assignment_leaves_the_default(tmp_path) -> None:
    course = tmp_path / "course.yml"
    course.write_text("worker_python: {cnn: /nowhere/python}\n")
    result, data = graded(tmp_path, "other", str(REFERENCE), "--course", str(course))
    assert result.returncode == 0, result.stdout + result.stderr
    assert data["environment"]["worker_numpy"] == JUDGE_NUMPY


@pytest.mark.parametrize("command", ["check", "batch"])
def test_bad_worker_python_in_the_course_file_exits_2(tmp_path, command) -> None:
    course = tmp_path / "course.yml"
    course.write_text("worker_python: envs/none\n")
    extra = ("--out", str(tmp_path / "out")) if command == "batch" else ()
    result = run_grade(command, str(REFERENCE), "-a", "fc_nets", "--course", str(course), *extra,
                       cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (f"grade: --course {course}: worker_python: envs/none: "
                                     f"no such interpreter")


def test_bad_worker_python_flag_exits_2(tmp_path) -> None:
    result = run_grade("check", str(REFERENCE), "-a", "fc_nets", "--worker-python",
                       str(tmp_path / "python9"), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == f"grade: --worker-python {tmp_path / 'python9'}: no such interpreter"


# -- the judge never imports anything from the worker environment --------------------------------

def test_the_judge_never_imports_from_the_worker_environment(numpy126_python, submission,
                                                            monkeypatch) -> None:
    monkeypatch.setattr(assignments, "ASSIGNMENTS_DIR", DATA / "assignments")
    monkeypatch.setattr(assignments, "RUBRICS_DIR", DATA / "rubrics")
    folder = str(Path(numpy126_python).parent.parent)
    path_before = list(sys.path)
    layers = ("import numpy as np\n\ndef relu_forward(x):\n    return np.maximum(0, x), x\n\n"
              "def affine_forward(x, w, b):\n    return x.reshape(x.shape[0], -1) @ w + b, None\n")
    result = grade_submission(submission({"layers.py": layers}), assignments.load("tiny"),
                              Options(python=numpy126_python))
    assert result.status == "graded" and result.environment["worker_numpy"].startswith("1.26.")
    assert {c.id: c.status for c in result.checks}["affine_forward/out"] == "passed"
    assert np.__version__ == JUDGE_NUMPY
    assert sys.path == path_before
    loaded = [name for name, module in list(sys.modules.items())
              if (getattr(module, "__file__", None) or "").startswith(folder)]
    assert loaded == []


# -- the oldest supported worker: Python 3.9 with NumPy 1.23 -------------------------------------

def python39() -> str | None:
    found = shutil.which("python3.9")
    candidates = [found] if found else []
    candidates += sorted(str(p) for p in Path.home().glob(".pyenv/versions/3.9*/bin/python3.9"))
    for candidate in candidates:
        probe = subprocess.run([candidate, "-c", "import sys; print(sys.version_info[:2])"],
                               capture_output=True, text=True)
        if probe.returncode == 0 and probe.stdout.strip() == "(3, 9)":
            return candidate
    return None


@pytest.mark.slow
def test_the_worker_runtime_runs_under_python_39_and_numpy_123(tmp_path) -> None:
    python = python39()
    if python is None:
        pytest.skip("no Python 3.9 interpreter on this machine (python3.9 or pyenv)")
    start = time.monotonic()
    made = run_grade("env", "create", "--numpy", "1.23", "--python", python, cwd=tmp_path,
                     timeout=900)
    if made.returncode != 0:
        pytest.skip(f"a Python 3.9 / NumPy 1.23 environment could not be made (is PyPI "
                    f"reachable?): {made.stderr.strip().splitlines()[-1:]}")
    print(f"grade env create --numpy 1.23 --python {python}: {time.monotonic() - start:.1f} s")
    worker_python = re.search(r"--worker-python (\S+)", made.stdout).group(1)
    out = tmp_path / "py39.json"
    result = run_grade("check", str(REFERENCE), "-a", "fc_nets", "--worker-python", worker_python,
                       "--json", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr  # every fc_nets check passed
    data = json.loads(out.read_text())
    assert data["environment"]["worker_python"].startswith("3.9.")
    assert data["environment"]["worker_numpy"].startswith("1.23.")


@pytest.mark.parametrize("name", ["start.py", "runtime.py", "wire.py", "notebook_cells.py"])
def test_worker_files_are_python_39_syntax(name) -> None:
    # The cheap guard, for machines without a Python 3.9 to run the test above with.
    import ast
    source = (ROOT / "grader" / "worker" / name).read_text()
    ast.parse(source, filename=name, feature_version=(3, 9))
    assert "from __future__ import annotations" in source  # `X | None` annotations stay text
