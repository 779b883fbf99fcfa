"""grader/course/gradescope.py and `grade gradescope`: the autograder zip, run as Gradescope runs it.

The zip is built with the CLI, unpacked into a temporary /autograder root, and its
run_autograder is run on a correct, a buggy and an ungradable submission; each results.json
is checked against the fields Gradescope's autograder specification requires.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader.scoring import assignment as assignments
from grader.course import mutants

GRADE = Path(sys.executable).with_name("grade")
VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}


def validate(results: dict) -> None:
    """The fields of Gradescope's results.json, with their types."""
    assert isinstance(results["score"], (int, float))
    assert isinstance(results["execution_time"], (int, float)) and results["execution_time"] >= 0
    assert isinstance(results["output"], str) and results["output"]
    assert results["visibility"] in VISIBILITY and results["stdout_visibility"] in VISIBILITY
    for test in results["tests"]:
        assert isinstance(test["name"], str) and test["name"]
        assert isinstance(test["output"], str) and test["visibility"] in VISIBILITY
        assert test["status"] in ("passed", "failed")
        if "advice" in test.get("tags", ()):  # an informational check (Note [Advice on Gradescope])
            assert not {"score", "max_score"} & set(test)
            continue
        assert isinstance(test["score"], (int, float)) and isinstance(test["max_score"], (int, float))
        assert 0 <= test["score"] <= test["max_score"]
    assert results["score"] == pytest.approx(sum(t.get("score", 0) for t in results["tests"]))


@pytest.fixture(scope="module")
def autograder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("gradescope")
    zip_path = folder / "autograder.zip"
    done = subprocess.run([str(GRADE), "gradescope", "-a", "fc_nets", "--out", str(zip_path)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return zip_path


def test_the_zip_follows_the_specification_and_holds_no_planted_bug(autograder) -> None:
    with zipfile.ZipFile(autograder) as archive:
        names = archive.namelist()
        modes = {i.filename: i.external_attr >> 16 for i in archive.infolist()}
        requirements = archive.read("requirements.txt").decode().split()
    assert {"setup.sh", "run_autograder", "requirements.txt"} <= set(names)
    for script in ("setup.sh", "run_autograder"):
        assert modes[script] & stat.S_IXUSR, f"{script} must be executable"
    assert "grader-source/rubrics/fc_nets.yml" in names
    assert "grader-source/grader/checks/pytest.ini" in names
    assert "grader-source/grader/templates/report.html.j2" in names
    assert not [n for n in names if n.endswith("mutants.py") or "__pycache__" in n]
    assert not [n for n in names if n.startswith("grader-source/assignments/")
                and not n.startswith("grader-source/assignments/fc_nets/")]
    # nor through the grader package's links to every assignment (Note [Course folder])
    assert not [n for n in names if n.startswith(("grader-source/grader/assignments/",
                                                  "grader-source/grader/rubrics/"))]
    assert "numpy==2.4.6" in requirements and not [r for r in requirements if "dask" in r]


def test_an_unknown_assignment_is_the_commands_error(tmp_path) -> None:
    done = subprocess.run([str(GRADE), "gradescope", "-a", "nope", "--out", str(tmp_path / "a.zip")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "nope" in done.stderr and "Traceback" not in done.stderr


def run_autograder(autograder: Path, root: Path, submission: Path | None) -> dict:
    """Unpack the zip into ROOT/source, put `submission`'s files into ROOT/submission, run
    run_autograder as Gradescope does; results.json."""
    (root / "source").mkdir(parents=True)
    with zipfile.ZipFile(autograder) as archive:
        archive.extractall(root / "source")
    os.chmod(root / "source" / "run_autograder", 0o755)
    (root / "submission").mkdir()
    if submission is not None:
        shutil.copytree(submission, root / "submission" / submission.name)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(AUTOGRADER_ROOT=str(root), GRADER_PYTHON=sys.executable)
    done = subprocess.run(["bash", "-n", str(root / "source" / "setup.sh")], capture_output=True)
    assert done.returncode == 0, done.stderr
    done = subprocess.run([str(root / "source" / "run_autograder")], cwd=root, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    validate(results)
    return results


def test_the_autograder_grades_correct_buggy_and_ungradable_submissions(autograder, tmp_path) -> None:
    fixtures = mutants.load("fc_nets")
    assignment = assignments.load("fc_nets")
    max_score = assignment.rubric.max_score()
    hidden = {c.id for c in assignment.checks if c.hidden}
    solution = mutants.copy_solution(fixtures.solution, tmp_path / "solution")
    correct = run_autograder(autograder, tmp_path / "correct", solution)
    assert correct["score"] == max_score and f"{len(assignment.checks)} of" in correct["output"]
    by_id = {t["name"].rsplit("[", 1)[1].rstrip("]"): t for t in correct["tests"]}
    assert hidden and {by_id[h]["visibility"] for h in hidden} == {"after_published"}
    assert {t["visibility"] for i, t in by_id.items() if i not in hidden} == {"visible"}

    bug = next(b for b in fixtures.mutants if b.target == "affine_forward")
    buggy = mutants.make_mutant(fixtures.solution, bug, tmp_path / "bug")
    graded = run_autograder(autograder, tmp_path / "buggy", buggy)
    assert 0 < graded["score"] < max_score
    lost = [t for t in graded["tests"] if "score" in t and t["score"] < t["max_score"]]
    assert lost and all(t["output"] for t in lost)
    assert any("affine_forward" in t["name"] for t in lost)

    empty = run_autograder(autograder, tmp_path / "ungradable", None)
    assert empty["score"] == 0 and "could not be graded" in empty["output"]
    assert [t["name"] for t in empty["tests"]] == ["grading"]
    assert empty["tests"][0]["max_score"] == max_score
    assert "could not be graded" in empty["tests"][0]["output"]


def test_framework_pins_come_from_the_installed_metadata_without_pyproject(monkeypatch, tmp_path) -> None:
    """An instructor's non-editable install has no pyproject.toml beside the package: the torch and
    TensorFlow pins of a framework autograder's requirements.txt come from the installed package's
    metadata, the same as the checkout's (before: FileNotFoundError)."""
    from grader.course import distribution, gradescope
    in_checkout = (gradescope._extra("torch"), gradescope._extra("tensorflow"))
    assert in_checkout[0].startswith("torch==") and in_checkout[1].startswith("tensorflow-cpu==")
    monkeypatch.setattr(distribution, "PROJECT_ROOT", tmp_path)  # no pyproject.toml there
    assert (gradescope._extra("torch"), gradescope._extra("tensorflow")) == in_checkout
