"""grader/course/distribution.py, grader/course/student_cli.py, grader/course/ci.py: what students install and run.

The fast tests build both wheels and read their file lists: the student's holds no reference,
assignment, hidden check, solution or planted bug, and either wheel holds the pytest.ini and
templates a grader needs once installed.  The slow one builds a release of fc_nets with the
CLI, then runs its GitHub workflow's `run:` steps as a shell script in a fresh venv, as a
course repository's CI would: the student package is installed from the release's wheels/,
the starter code fails the job with 0 points, the solution passes with full marks, each with
a report, a job summary and JUnit XML.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest
import yaml

from grader.course import ci, distribution, mutants, student_cli
from grader.scoring.result import CheckResult, SubmissionResult

ROOT = Path(__file__).resolve().parents[3]
GRADE = Path(sys.executable).with_name("grade")
# What no student may receive (Note [Student package]).
INSTRUCTOR_ONLY = ("reference/", "assignments/", "rubrics/", "grader/course/mutants.py", "grader/batch/run.py",
                   "grader/batch/cluster.py", "grader/course/selfcheck.py", "grader/course/selftest.py",
                   "grader/checks/training_data.py", "mutants.py", "solution")


def wheel_files(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def wheel_requirements(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        metadata = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        text = archive.read(metadata).decode()
    return [line.split(":", 1)[1].strip() for line in text.splitlines()
            if line.startswith("Requires-Dist:")]


@pytest.fixture(scope="module")
def student_wheel(tmp_path_factory) -> Path:
    return distribution.build_wheel(tmp_path_factory.mktemp("student-wheel"))


def test_the_student_wheel_holds_the_student_side_only(student_wheel) -> None:
    files = wheel_files(student_wheel)
    modules = [f for f in files if not f.endswith((".dist-info/RECORD", ".dist-info/METADATA",
                                                   ".dist-info/WHEEL", ".dist-info/top_level.txt",
                                                   ".dist-info/entry_points.txt"))]
    assert sorted(modules) == sorted(["grader/" + f for f in distribution.STUDENT_FILES]
                                     + ["grader/templates/__init__.py"])
    for name in files:
        assert not any(part in name for part in INSTRUCTOR_ONLY), name
    assert "grader/checks/pytest.ini" in files and "grader/templates/report.html.j2" in files
    names = {re.match(r"[A-Za-z0-9_.-]+", r).group(0).lower() for r in wheel_requirements(student_wheel)}
    assert names == {"numpy", "pytest", "pyyaml", "jinja2", "nbformat"}
    assert all("==" in r for r in wheel_requirements(student_wheel)), "pinned as the grader is"
    with zipfile.ZipFile(student_wheel) as archive:
        entry = next(n for n in archive.namelist() if n.endswith("entry_points.txt"))
        assert "grade = grader.course.student_cli:main" in archive.read(entry).decode()


def test_no_student_module_imports_instructor_code() -> None:
    """An import of reference/, mutants or Dask anywhere in the student's modules would fail on a
    student's machine (or, worse, mean the code is there)."""
    for relative in distribution.STUDENT_FILES:
        if not relative.endswith(".py"):
            continue
        text = (distribution.PACKAGE / relative).read_text()
        for pattern in (r"^\s*(from|import)\s+reference\b", r"\bimport\s+(dask|distributed|sklearn)\b",
                        r"^\s*from\s+\.[.\w]*\s+import\s+.*\b(mutants|batch|cluster)\b"):
            hits = [m.group(0) for m in re.finditer(pattern, text, re.M)]
            # release.py builds releases, lazily: those imports never run in the student's tool
            if relative == "course/release.py":
                hits = [h for h in hits if "mutants" not in h]
            assert not hits, f"grader/{relative}: {hits}"


def build_instructors_wheel(tmp_path: Path) -> Path:
    """The instructor's wheel (dl_grader), built from the checkout's files as pip builds it."""
    source = tmp_path / "source"
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.split()
    for name in listed:
        path = ROOT / name
        if path.is_symlink() or path.is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            if path.is_symlink():
                os.symlink(os.readlink(path), source / name)
            else:
                shutil.copyfile(path, source / name)
    import importlib.util
    isolation = ["--no-build-isolation"] if importlib.util.find_spec("setuptools") else []
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation,
                           "-q", "-w", str(tmp_path / "dist"), str(source)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return next((tmp_path / "dist").glob("dl_grader-*.whl"))


def test_the_instructors_wheel_ships_the_plugin_config_and_templates(tmp_path) -> None:
    """Note [What the instructor's wheel holds] in pyproject.toml: besides the package and the
    reference, every file of the course (each assignment's manifest, checks, planted bugs,
    starter, solution and course folders, each rubric) inside the grader package, where
    grader/scoring/assignment.py finds it once installed (Note [Course folder]); no byte code."""
    files = wheel_files(build_instructors_wheel(tmp_path))
    for needed in ("grader/checks/pytest.ini", "grader/templates/report.html.j2",
                   "grader/templates/dashboard.html.j2", "grader/templates/github-workflow.yml.j2",
                   "grader/templates/release-README.md.j2", "reference/cs231n/layers.py"):
        assert needed in files
    ids = sorted(p.parent.name for p in (ROOT / "assignments").glob("*/manifest.yml"))
    assert {"fc_nets", "pytorch", "tf_norms"} <= set(ids)
    for assignment in ids:
        for needed in (f"grader/assignments/{assignment}/manifest.yml",
                       f"grader/assignments/{assignment}/checks.py",
                       f"grader/rubrics/{assignment}.yml"):
            assert needed in files, needed
    course = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "assignments", "rubrics"],
                            cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    assert "assignments/pytorch/solution/Q5-Pytorch.ipynb" in course
    assert not sorted(set(f"grader/{name}" for name in course) - set(files))
    assert not [f for f in files if f.endswith(".pyc") or "__pycache__" in f]
    assert not [f for f in files if f.startswith(("assignments/", "rubrics/"))], \
        "top-level course folders in site-packages"


def test_the_student_command_runs_check_only(capsys) -> None:
    assert student_cli.main(["selftest", "-a", "fc_nets"]) == 2
    assert "not part of the student package" in capsys.readouterr().err
    assert student_cli.main([]) == 2 and "grade check SUBMISSION" in capsys.readouterr().out
    assert student_cli.main(["--help"]) == 0


def _result(*statuses: str) -> SubmissionResult:
    checks = tuple(CheckResult(id=f"affine_forward/s{i}", function="affine_forward", title="t",
                               status=s, points=1.0 if s == "passed" else 0.0, max_points=1.0,
                               visibility="visible", message="" if s == "passed" else
                               "out: 12 of 12 entries differ | max abs error 3")
                   for i, s in enumerate(statuses))
    return SubmissionResult("fc_nets", "cs231n", "graded", float(statuses.count("passed")),
                            float(len(statuses)), 0.5, {}, checks)


def test_the_job_summary_gives_the_score_and_the_functions_that_lost_points(tmp_path) -> None:
    (tmp_path / "r.json").write_text(_result("passed", "failed").to_json())
    summary = tmp_path / "summary.md"
    assert ci.main([str(tmp_path / "r.json"), "--summary", str(summary),
                    "--junit", str(tmp_path / "j.xml")]) == 0
    text = summary.read_text()
    assert "fc_nets: 1 / 2" in text and "| `affine_forward` | `affine_forward/s1` | failed" in text
    assert "12 of 12 entries differ \\| max abs error 3" in text
    assert ET.parse(tmp_path / "j.xml").getroot().get("failures") == "1"
    (tmp_path / "r.json").write_text(_result("passed").to_json())
    assert "Every check passed" in ci.summary_markdown(_result("passed"))
    assert ci.main([str(tmp_path / "missing.json"), "--summary", str(summary)]) == 2
    assert "No result to report" in summary.read_text()


def test_the_job_summary_puts_advice_apart_from_lost_points(tmp_path) -> None:
    """Note [Advice in the job summary] in grader/course/ci.py: a 0-point check that failed was
    listed among the checks that "lost points", under a full score."""
    advice = CheckResult(id="softmax_loss/underflow", function="softmax_loss", title="t",
                         status="failed", points=0.0, max_points=0.0, visibility="visible",
                         message="loss: 1 of 1 entries differ (max abs error inf)")
    full = _result("passed")
    (tmp_path / "r.json").write_text(SubmissionResult(
        "fc_nets", "cs231n", "graded", 1.0, 1.0, 0.5, {}, full.checks + (advice,)).to_json())
    done = subprocess.run([sys.executable, "-m", "grader.course.ci", str(tmp_path / "r.json"),
                           "--summary", str(tmp_path / "summary.md")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "summary.md").read_text()
    assert "fc_nets: 1 / 1" in text and "checks lost points in" not in text, text
    assert "No check lost points (2 checks)." in text
    assert "Advice (1: checks worth 0 points, which never cost any):" in text
    assert "| `softmax_loss` | `softmax_loss/underflow` | loss: 1 of 1 entries differ" in text


# ---------------------------------------------------------------------------------------------
# A release's CI, run from a fresh venv
# ---------------------------------------------------------------------------------------------

def _setting(value: str) -> str:
    """The default of a `${{ vars.NAME || 'default' }}` setting (Note in render_workflow)."""
    match = re.fullmatch(r"\$\{\{ vars\.\w+ \|\| '(.*)' \}\}", value)
    return match.group(1).replace("''", "'") if match else value


def run_workflow(workflow: Path, repository: Path, venv: Path, summary: Path) -> tuple[bool, list]:
    """Run a workflow's `run:` steps as GitHub would (bash -eo pipefail, the job's env, later
    steps only with `if: always()` once one failed); (job passed, [(step, exit status)])."""
    job = yaml.safe_load(workflow.read_text())["jobs"]["grade"]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update({k: _setting(str(v)) for k, v in job["env"].items()})
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{env['PATH']}", GITHUB_STEP_SUMMARY=str(summary))
    passed, ran = True, []
    for step in job["steps"]:
        if "run" not in step or (not passed and step.get("if") != "always()"):
            continue
        done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                              cwd=repository, env=env, capture_output=True, text=True, timeout=900)
        ran.append((step["name"], done.returncode, done.stdout + done.stderr))
        passed = passed and done.returncode == 0
    return passed, ran


@pytest.mark.slow
def test_a_course_repository_ci_from_a_fresh_venv_gives_the_verdicts(tmp_path) -> None:
    release = tmp_path / "release"
    built = subprocess.run([str(GRADE), "release", "-a", "fc_nets", "--out", str(release),
                            "--no-mutant-hints"], capture_output=True, text=True, timeout=900)
    assert built.returncode == 0, built.stdout + built.stderr
    wheels = list((release / "wheels").glob("dl_grader_student-*.whl"))
    assert len(wheels) == 1 and "pip install wheels/*.whl" in (release / "README.md").read_text()
    assert "wheels/*.whl" in (release / ".github" / "workflows" / "grade.yml").read_text()
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    solution = mutants.copy_solution(mutants.load("fc_nets").solution, tmp_path / "solution")
    verdicts = {}
    for name, package in (("starter", None), ("solution", solution)):
        repository = tmp_path / f"repo-{name}"
        shutil.copytree(release, repository)
        if package is not None:
            shutil.rmtree(repository / "cs231n")
            shutil.copytree(package, repository / "cs231n")
        summary = tmp_path / f"summary-{name}.md"
        passed, ran = run_workflow(repository / ".github" / "workflows" / "grade.yml", repository,
                                   venv, summary)
        log = "\n".join(f"{step}: {rc}\n{out[-3000:]}" for step, rc, out in ran)
        assert [step for step, _, _ in ran] == ["Install the grader", "Run the public checks",
                                                "Summarize"], log
        assert ran[0][1] == 0, log
        result = json.loads((repository / "grade-result.json").read_text())
        assert (repository / "grade-report.html").stat().st_size > 1000
        junit = ET.parse(repository / "grade-junit.xml").getroot()
        verdicts[name] = passed, ran[1][1], result["score"], result["max_score"]
        assert int(junit.get("tests")) == len(result["checks"]) > 0
        text = summary.read_text()
        assert f"fc_nets: {result['score']:g} / {result['max_score']:g}" in text
        if name == "starter":
            # a 0-point advisory that fails is advice, not a JUnit failure, and is listed apart
            # in the summary (Notes [Advice in JUnit] in grader/course/export.py and [Advice in
            # the job summary] in grader/course/ci.py)
            graded = [c for c in result["checks"] if c["max_points"] > 0]
            advice = [c for c in result["checks"] if c["max_points"] == 0 and c["status"] != "passed"]
            assert "| `affine_forward` |" in text and int(junit.get("failures")) + \
                int(junit.get("errors")) == len(graded)
            assert len(graded) + len(advice) == len(result["checks"])
            assert not advice or f"Advice ({len(advice)}:" in text, text
        else:
            assert "Every check passed" in text
    max_score = verdicts["solution"][3]
    assert verdicts == {"starter": (False, 1, 0, max_score), "solution": (True, 0, max_score, max_score)}
    # The student's environment holds no reference code, and the other commands are refused.
    site = next((venv / "lib").glob("python*/site-packages"))
    assert not (site / "reference").exists() and not (site / "grader" / "course" / "mutants.py").exists()
    assert not list(site.glob("dask*")) and not list(site.glob("sklearn*"))
    refused = subprocess.run([str(venv / "bin" / "grade"), "selftest", "-a", "fc_nets"],
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "not part of the student package" in refused.stderr


# An instructor's non-editable install: a whole grader, its own files in the bound site-packages
# ---------------------------------------------------------------------------------------------

# fc_nets' layers.py of a student who looks for the grader's own files.  What it finds decides
# what it has, one layer for each kind of file, so that the verdict on each layer says whether
# the worker could see that kind: the reference (`affine_forward`, imported from it), an
# assignment's checks.py (`relu_forward`), an assignment's solution folder (`softmax_loss`),
# a rubric or manifest (`svm_loss`); the last three are correct copies of the reference's,
# standing for what a student who read those files would write.  Four functions whose checks
# call no other (a backward check runs the student's forward: affine_backward's verdict would
# follow affine_forward's).  Where it finds nothing it has none of them.  The rest of the file
# is the reference's, where it can import it.
THIEF_FINDS = {"affine_forward": "the reference", "relu_forward": "an assignment's checks.py",
               "softmax_loss": "an assignment's solution folder",
               "svm_loss": "a rubric or manifest"}
THIEF = """
import os, sys
import numpy as np

def _look():
    seen = {}
    for start in [e for e in sys.path if e and os.path.isdir(e)] + ["/"]:
        for top, folders, files in os.walk(start):  # sys.path first: where pip installs
            if top == "/":
                folders[:] = [f for f in folders if f not in ("proc", "sys", "dev")]
            parent = os.path.dirname(top)
            if top.endswith(os.path.join("reference", "cs231n")) and "layers.py" in files:
                seen.setdefault("reference", os.path.dirname(parent))
            if os.path.basename(parent) == "assignments" and "checks.py" in files:
                seen.setdefault("checks", top)
            if (os.path.basename(top) == "solution"
                    and os.path.basename(os.path.dirname(parent)) == "assignments"):
                seen.setdefault("solution", top)
            if (os.path.basename(top) == "rubrics" and "fc_nets.yml" in files) or (
                    os.path.basename(parent) == "assignments" and "manifest.yml" in files):
                seen.setdefault("rubric", top)
            if len(seen) == 4:
                return seen
    return seen

_seen = _look()
if "reference" in _seen:
    sys.path.insert(0, _seen["reference"])
    from reference.cs231n.layers import *
    del relu_forward, softmax_loss, svm_loss
{copies}
if "checks" in _seen:
    relu_forward = _relu_forward
if "solution" in _seen:
    softmax_loss = _softmax_loss
if "rubric" in _seen:
    svm_loss = _svm_loss
"""


def thief_source() -> str:
    """THIEF with the reference's own relu_forward, softmax_loss and svm_loss as
    `_relu_forward`...: what a student who found the checks or a solution would hand in."""
    import inspect
    import reference.cs231n.layers as layers
    copies = "\n".join(inspect.getsource(getattr(layers, name)).replace(f"def {name}(", f"def _{name}(")
                       for name in ("relu_forward", "softmax_loss", "svm_loss"))
    return THIEF.replace("{copies}", copies)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed "
                    "(apt-get install bubblewrap); without it the worker sees every file")
def test_a_non_editable_install_grades_and_hides_its_own_files_from_the_student(tmp_path) -> None:
    """Note [What the instructor's wheel holds] in pyproject.toml and Note [The grader's own
    folders hidden] in grader/worker/sandbox.py, on a real install: the instructor's wheel
    installed with pip (not editable) into a fresh venv is a working grader on its own (no
    checkout, nothing copied beside it: `grade check`, `grade batch` on examples/, `grade
    selftest --quick`, `grade release`), and it puts `grader` (with the course's checks, solutions and rubrics
    inside) and `reference` in the site-packages every worker has bound.  A layers.py that
    looks for those files gets full marks where the worker can see them (GRADER_SANDBOX=rlimits:
    the cheat works) and none of its four functions under bubblewrap."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    wheel = build_instructors_wheel(tmp_path / "build")
    done = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)],
                          capture_output=True, text=True, timeout=1500)
    assert done.returncode == 0, done.stdout + done.stderr
    site = next((venv / "lib").glob("python*/site-packages"))
    assert (site / "reference" / "cs231n" / "layers.py").is_file()
    assert (site / "grader" / "assignments" / "fc_nets" / "checks.py").is_file()
    assert (site / "grader" / "assignments" / "pytorch" / "solution").is_dir()
    assert not (site / "grader" / "__editable__").exists() and not list(site.glob("__editable__*"))
    assert not (site / "assignments").exists() and not (site / "rubrics").exists()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    grade = str(venv / "bin" / "grade")
    work = tmp_path / "elsewhere"  # not the checkout: nothing of it is found from here
    work.mkdir()

    def run(*args: str, mode: str = "auto", timeout: int = 900) -> subprocess.CompletedProcess:
        return subprocess.run([grade, *args], cwd=work, env={**env, "GRADER_SANDBOX": mode},
                              capture_output=True, text=True, timeout=timeout)

    located = subprocess.run([str(venv / "bin" / "python"), "-c",
                              "from grader.scoring import assignment as a; print(a.ASSIGNMENTS_DIR)"],
                             cwd=work, env=env, capture_output=True, text=True, timeout=120)
    assert located.stdout.strip() == str((site / "grader" / "assignments").resolve()), located.stderr

    solution = mutants.copy_solution(mutants.load("fc_nets").solution, tmp_path / "solution")
    graded = run("check", "-a", "fc_nets", str(solution), "--json", str(tmp_path / "ok.json"),
                 "--no-html")
    assert graded.returncode == 0, graded.stdout + graded.stderr
    result = json.loads((tmp_path / "ok.json").read_text())
    assert result["score"] == result["max_score"] > 0, result["checks"]

    batch = run("batch", str(ROOT / "examples" / "fc_nets"), "--assignment", "fc_nets", "--out",
                str(tmp_path / "batch"))
    assert batch.returncode == 0, batch.stdout + batch.stderr
    graded_ids = sorted(p.stem for p in (tmp_path / "batch" / "results").glob("*.json"))
    assert graded_ids == sorted(p.stem for p in (ROOT / "examples" / "fc_nets").iterdir()), graded_ids

    selftest = run("selftest", "-a", "fc_nets", "--quick")
    assert selftest.returncode == 0, selftest.stdout + selftest.stderr

    # the venv's setuptools (65 on Python 3.11) cannot build the student wheel by itself
    release = run("release", "-a", "fc_nets", "--out", str(tmp_path / "release"), "--no-mutant-hints")
    assert release.returncode == 0, release.stdout + release.stderr
    assert list((tmp_path / "release" / "wheels").glob("dl_grader_student-*.whl"))
    assert (tmp_path / "release" / "cs231n" / "layers.py").is_file()

    thief = mutants.copy_solution(mutants.load("fc_nets").solution, tmp_path / "thief")
    (thief / "layers.py").write_text(thief_source())
    scores = {}
    for mode in ("rlimits", "bwrap"):
        out = tmp_path / f"result-{mode}.json"
        graded = run("check", "-a", "fc_nets", str(thief), "--json", str(out), "--no-html", mode=mode)
        assert out.is_file(), graded.stdout + graded.stderr
        result = json.loads(out.read_text())
        assert result["environment"]["sandbox"] == mode
        statuses = {}
        for check in result["checks"]:
            if check["function"] in THIEF_FINDS:
                statuses.setdefault(check["function"], set()).add(check["status"])
        assert set(statuses) == set(THIEF_FINDS), [c["function"] for c in result["checks"]]
        scores[mode] = (result["score"], result["max_score"], statuses)
    assert scores["rlimits"][0] == scores["rlimits"][1] > 0, scores  # the cheat, where it can see
    seen = {f"{THIEF_FINDS[function]} ({sorted(found)})"
            for function, found in scores["bwrap"][2].items() if not found <= {"failed", "error"}}
    assert not seen, f"the worker could see {sorted(seen)}"
    assert scores["bwrap"][0] < scores["bwrap"][1], scores


def _grader_imports(path: Path, package: str = "grader") -> set[str]:
    """The grader modules `path` imports, as paths relative to the grader package."""
    import ast
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] != package:
                continue
            for candidate in ("/".join(parts[1:]) + ".py", "/".join(parts[1:]) + "/__init__.py"):
                if candidate != ".py" and (ROOT / package / candidate).is_file():
                    found.add(candidate)
    return found


@pytest.mark.parametrize("assignment", ["fc_nets", "batchnorm", "dropout", "cnn"])
def test_every_grader_module_a_releasable_checks_file_imports_is_in_the_student_package(assignment):
    """A released checks.py that imports a grader module the student wheel lacks cannot even
    load (`grade release` ships the checks as they are; Note [Student package])."""
    needed = _grader_imports(ROOT / "assignments" / assignment / "checks.py")
    assert needed, "the checks import nothing from grader: the scan is broken"
    assert needed <= set(distribution.STUDENT_FILES), sorted(needed - set(distribution.STUDENT_FILES))


def _module_level_relative_imports(relative: str) -> set[str]:
    """The grader modules the student package's module `relative` imports when it is loaded
    (its top-level `from .x import` / `from ..x import y` statements; imports inside functions
    are left out: the commands the student package refuses import theirs there)."""
    import ast
    path = ROOT / "grader" / relative
    package = Path(relative).parent.parts
    found = set()
    for node in ast.parse(path.read_text()).body:
        if not isinstance(node, ast.ImportFrom) or node.level == 0:
            continue
        base = list(package[:len(package) - (node.level - 1)] if node.level > 1 else package)
        base += node.module.split(".") if node.module else []
        for parts in [base] + [base + [alias.name] for alias in node.names]:
            for candidate in ("/".join(parts) + ".py", "/".join(parts) + "/__init__.py"):
                if (ROOT / "grader" / candidate).is_file():
                    found.add(candidate.lstrip("/"))
    return found


def test_the_student_package_holds_every_module_its_modules_import_when_loaded() -> None:
    """Note [Student package]: a module of the wheel that imports a grader module the wheel
    lacks fails the student's `grade check` at start (seen: worker/launch.py, new, left out of
    the list; only the slow fresh-venv test above found it)."""
    files = set(distribution.STUDENT_FILES)
    missing = {f"{relative} imports {needed}" for relative in files if relative.endswith(".py")
               for needed in _module_level_relative_imports(relative) if needed not in files}
    assert not missing, sorted(missing)
    assert "worker/launch.py" in _module_level_relative_imports("scoring/pipeline.py"), \
        "the scan finds nothing: it is broken"


def test_the_student_package_holds_every_file_the_worker_runs() -> None:
    """Note [Student package]: the worker's own files are run, not imported, by the judge
    (sandbox.WORKER_FILES), so the import scan above cannot see them; a student's `grade check`
    from a wheel without one cannot start a worker (seen: worker/start.py, new)."""
    from grader.worker import sandbox
    missing = {f"worker/{name}" for name in sandbox.WORKER_FILES} - set(distribution.STUDENT_FILES)
    assert not missing, sorted(missing)
