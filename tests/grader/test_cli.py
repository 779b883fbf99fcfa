"""End-to-end: the `grade` console script, run in a subprocess as a user would."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

import grader

GRADE = Path(sys.executable).with_name("grade")


def run_grade(*args: str, timeout: float = 300, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(GRADE), *args], capture_output=True, text=True, timeout=timeout,
                          cwd=cwd)


def test_console_script_is_installed_next_to_python() -> None:
    assert GRADE.exists(), f"{GRADE} missing: is the package installed (make venv)?"


def test_version() -> None:
    result = run_grade("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"grade {grader.__version__}"


def test_help_lists_selfcheck() -> None:
    result = run_grade("--help")
    assert result.returncode == 0
    assert "selfcheck" in result.stdout


def test_no_command_prints_help_and_exits_2() -> None:
    result = run_grade()
    assert result.returncode == 2
    assert "usage: grade" in result.stdout


def test_unknown_command_exits_2_with_message() -> None:
    result = run_grade("frobnicate")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


def test_selfcheck_without_frameworks_passes_and_prints_table() -> None:
    result = run_grade("selfcheck", "--no-frameworks")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "conv_forward_naive" in result.stdout
    assert "BAD" not in result.stdout
    assert "All " in result.stdout and "within their bounds" in result.stdout


# -- grade check ----------------------------------------------------------------------------------

REFERENCE = Path(__file__).resolve().parents[2] / "reference" / "cs231n"
DATA = Path(__file__).resolve().parent / "data"
SCORE = re.compile(r"^score (\S+) / (\S+)   \(", re.MULTILINE)
# The real CLI's main(), in a subprocess, with the tiny test assignment of tests/grader/data
# (three functions, 2 s call timeout) in place of the course's assignments folder.
WITH_TINY = ("import sys; from pathlib import Path; import grader.scoring.assignment as a; "
             f"a.ASSIGNMENTS_DIR = Path({str(DATA / 'assignments')!r}); "
             f"a.RUBRICS_DIR = Path({str(DATA / 'rubrics')!r}); "
             "from grader.cli import main; sys.exit(main(sys.argv[1:]))")


def run_tiny(*args: str, timeout: float = 120, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", WITH_TINY, "check", *args, "-a", "tiny"],
                          capture_output=True, text=True, timeout=timeout, cwd=cwd)


def reference_files() -> dict[str, str]:
    return {f"cs231n/{p.relative_to(REFERENCE)}": p.read_text() for p in REFERENCE.rglob("*.py")
            if "__pycache__" not in p.parts}


def score(stdout: str) -> tuple[float, float]:
    match = SCORE.search(stdout)
    assert match, stdout
    return float(match.group(1)), float(match.group(2))


def test_check_reference_gets_full_score_and_writes_json(tmp_path) -> None:
    out = tmp_path / "results" / "reference.json"
    result = run_grade("check", str(REFERENCE), "-a", "fc_nets", "--json", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("fc_nets: cs231n\n")
    got, total = score(result.stdout)
    assert got == total > 0
    assert "  ok affine_forward " in result.stdout
    assert not re.search(r"^  -- ", result.stdout, re.MULTILINE), result.stdout
    data = json.loads(out.read_text())
    assert data["schema"] == "grader.result/1"
    assert data["status"] == "graded" and data["score"] == data["max_score"] == total
    assert data["checks"], data
    for check in data["checks"]:
        assert {"id", "function", "status", "points"} <= set(check)
        assert check["status"] == "passed" and check["points"] == check["max_points"]
    assert sum(c["points"] for c in data["checks"]) == total


def test_check_buggy_copy_exits_1_and_shows_the_failure(submission) -> None:
    files = reference_files()
    files["cs231n/layers.py"] += "\n\ndef relu_forward(x):\n    return np.abs(x), x\n"
    result = run_grade("check", str(submission(files) / "cs231n"), "-a", "fc_nets", "-v")
    assert result.returncode == 1, result.stdout + result.stderr
    got, total = score(result.stdout)
    assert got < total
    assert re.search(r"^  -- relu_forward +0/\S+$", result.stdout, re.MULTILINE), result.stdout
    # the diagnosis first (Note [Terminal layout]), then with -v the whole message, sample and all
    assert re.search(r"^       FAIL    out: out: \d+ of \d+ entries differ", result.stdout,
                     re.MULTILINE), result.stdout
    assert re.search(r"^         \[sample .*\] out: \d+ of \d+ entries differ", result.stdout,
                     re.MULTILINE), result.stdout
    assert re.search(r"^         worst at out\[", result.stdout, re.MULTILINE)  # -v: whole message
    assert re.search(r"^  ok affine_forward ", result.stdout, re.MULTILINE)


def test_check_exit_at_import_time_is_an_error_not_a_crash(submission) -> None:
    files = reference_files()
    files["cs231n/layers.py"] += "\nimport os\nos._exit(7)\n"
    result = run_grade("check", str(submission(files)), "-a", "fc_nets", "-k", "affine_forward", "-v",
                       timeout=60)
    assert result.returncode == 1, result.stdout + result.stderr
    assert re.search(r"^       ERROR   out: importing layers.py did not finish: .*exit status 7\)$",
                     result.stdout, re.MULTILINE), result.stdout
    assert "Traceback" not in result.stderr


def test_check_hostile_functions_cost_only_their_own_points(submission, tmp_path) -> None:
    layers = ("import numpy as np\n\ndef relu_forward(x):\n    while True:\n        pass\n\n"
              "def affine_forward(x, w, b):\n    return x.reshape(x.shape[0], -1) @ w + b, None\n")
    optim = "import os\nos._exit(3)\n"
    out = tmp_path / "hostile.json"
    start = time.monotonic()
    result = run_tiny(str(submission({"layers.py": layers, "optim.py": optim})), "--json", str(out), "-v")
    assert time.monotonic() - start < 30
    assert result.returncode == 1, result.stdout + result.stderr
    assert re.search(r"^       TIMEOUT out: timed out", result.stdout, re.MULTILINE), result.stdout
    assert re.search(r"^       ERROR   next_w: importing optim.py did not finish: .*exit status 3",
                     result.stdout, re.MULTILINE), result.stdout
    assert re.search(r"^  ok affine_forward +2/2$", result.stdout, re.MULTILINE)
    assert score(result.stdout) == (2.0, 4.0)
    data = json.loads(out.read_text())
    assert [(c["id"], c["status"]) for c in data["checks"]] == [
        ("relu_forward/out", "timeout"), ("sgd/next_w", "error"), ("affine_forward/out", "passed")]


def test_check_survives_an_exception_message_no_utf8_writer_accepts(submission, tmp_path) -> None:
    """Hostile: Note [No lone surrogates] in grader/worker/wire.py: a lone surrogate in an
    exception's message made `grade check` die printing the report, after the JSON."""
    layers = ("import numpy as np\n\ndef relu_forward(x):\n    raise ValueError('bad \\ud800 value')\n\n"
              "def affine_forward(x, w, b):\n    return x.reshape(x.shape[0], -1) @ w + b, None\n")
    out = tmp_path / "result.json"
    result = run_tiny(str(submission({"layers.py": layers, "optim.py": "import os\n"})), "--json", str(out), "-v")
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stdout + result.stderr
    assert "raised ValueError: bad ? value" in result.stdout, result.stdout
    assert score(result.stdout) == (2.0, 4.0)
    assert "bad ? value" in json.loads(out.read_text())["checks"][0]["message"]


def corrupt_zip(folder: Path) -> Path:
    path = folder / "alice.zip"
    buffer = folder / "whole.zip"
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("cs231n/layers.py", "x = 1\n" * 500)
    whole = buffer.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])
    return path


@pytest.mark.parametrize("make, expected", [
    (lambda d: (d / "empty").mkdir() or d / "empty", "could not be graded: no Python files found in empty"),
    (corrupt_zip, "could not be graded: alice.zip is not a valid zip file"),
    # Note [What an ungradable submission holds] in grader/submission/stage.py: said alike before
    (lambda d: zipfile.ZipFile(d / "carl.zip", "w").close() or d / "carl.zip",
     "could not be graded: no Python files found in carl.zip, which is empty\n"),
    (lambda d: (d / "dan").mkdir() or (d / "dan" / "README.md").write_text("see drive") and d / "dan",
     "could not be graded: no Python files found in dan, which holds only README.md\n"),
], ids=["empty_folder", "corrupt_zip", "empty_zip", "only_a_readme"])
def test_check_ungradable_submission_exits_2(tmp_path, make, expected) -> None:
    path = make(tmp_path)
    out = tmp_path / "result.json"
    result = run_grade("check", str(path), "-a", "fc_nets", "--json", str(out))
    assert result.returncode == 2, result.stdout + result.stderr
    assert expected in result.stdout
    data = json.loads(out.read_text())
    assert data["schema"] == "grader.result/1"
    assert data["status"] == "error" and data["checks"] == [] and data["score"] == 0
    assert data["message"] and data["message"] in result.stdout


def test_check_missing_path_says_so_and_writes_nothing(tmp_path) -> None:
    # a typo, not a submission: no report named after it (Note [Command errors])
    result = run_grade("check", str(tmp_path / "nowhere"), "-a", "fc_nets", "--json",
                       str(tmp_path / "r.json"), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == f"grade: {tmp_path / 'nowhere'} does not exist\n"
    assert result.stdout == "" and sorted(tmp_path.iterdir()) == []


def test_check_unknown_assignment_exits_2_listing_the_available_ones(tmp_path) -> None:
    result = run_grade("check", str(tmp_path), "-a", "fc_netz")
    assert result.returncode == 2
    assert result.stderr.startswith("grade: unknown assignment 'fc_netz'; available: ")
    assert "fc_nets" in result.stderr
    assert result.stdout == ""


def test_check_bad_convention_exits_2(tmp_path) -> None:
    result = run_grade("check", str(REFERENCE), "-a", "fc_nets", "--convention", "eps")
    assert result.returncode == 2
    assert result.stderr.strip() == "grade: --convention expects NAME=VALUE, got 'eps'"


# Note [Conventions] in grader/scoring/assignment.py: a wrong convention is the command's error, one
# line naming what is valid, before anything is graded (no output folder for a batch).
BAD_CONVENTIONS = [
    (["--convention", "dropout_p=drop"], "fc_nets",
     "grade: --convention: fc_nets has no convention 'dropout_p'; its conventions: adam_t, "
     "edition, fc_no_dropout"),
    (["--convention", "dropout_p=dorp"], "dropout",
     "grade: --convention: dropout_p='dorp' is not valid for dropout; valid values: keep, drop"),
    (["--convention", "adam_t=2017"], "fc_nets",
     "grade: --convention: adam_t='2017' is not valid for fc_nets; valid values: auto, "
     "from_0, from_1"),
    (["--convention", "bn_eps=tiny"], "batchnorm",
     "grade: --convention: bn_eps='tiny' is not valid for batchnorm; bn_eps takes a number "
     "(default 1e-05)"),
    (["--convention", "fc_no_dropout=dropout"], "fc_nets",
     "grade: --convention: fc_no_dropout='dropout' is not valid for fc_nets; valid values: "
     "default, <keyword>=<value>"),
    (["--course", "{course}"], "dropout",
     "grade: --course {course}: not valid YAML (expected ',' or '}}', but got '<stream end>' at "
     "line 2, column 1)"),
]
COURSE_FILES = {"dropout": "conventions: {dropout: {dropout_p: drop}\n"}


@pytest.mark.parametrize("command", ["check", "batch"])
@pytest.mark.parametrize("flags, assignment, line", BAD_CONVENTIONS,
                         ids=[" ".join(f[0]) for f in BAD_CONVENTIONS])
def test_a_wrong_convention_is_a_command_error(tmp_path, command, flags, assignment, line) -> None:
    course = tmp_path / "course.yml"
    course.write_text(COURSE_FILES[assignment] if "--course" in flags else "")
    flags = [f.format(course=course) for f in flags]
    where = ([str(REFERENCE)] if command == "check" else [str(REFERENCE.parent), "--out",
                                                          str(tmp_path / "out")])
    result = run_grade(command, *where, "-a", assignment, *flags)
    assert result.returncode == 2
    assert result.stderr == line.format(course=course) + "\n"
    assert result.stdout == "" and not (tmp_path / "out").exists()


@pytest.mark.parametrize("text, error", [
    ("conventions:\n  dropuot: {dropout_p: drop}\n",
     "conventions: unknown assignment 'dropuot'; assignments: batchnorm, cnn, dropout, fc_nets, "),
    ("convention:\n  dropout: {dropout_p: drop}\n",
     "unknown key 'convention'; a course file has conventions, worker_python, secret"),
    ("conventions:\n  cnn: {gamma_shape: C}\n",
     "conventions.cnn: cnn has no convention 'gamma_shape'; its conventions: "
     "edition, groupnorm_param_shape, l2_scale"),
    ("conventions:\n  cnn: {groupnorm_param_shape: '(C, 1)'}\n",
     "conventions.cnn: groupnorm_param_shape='(C, 1)' is not valid for cnn; valid values: "
     "(1, C, 1, 1), (C,)"),
    ("worker_python:\n  fc_net: /usr/bin/python3\n", "worker_python: unknown assignment 'fc_net'"),
    ("conventions: [dropout]\n", "conventions must map assignment ids to conventions"),
])
def test_a_course_file_is_checked_whole(tmp_path, text, error) -> None:
    """Every assignment the file names, not only the one graded now."""
    from grader.cli import _course_conventions
    course = tmp_path / "course.yml"
    course.write_text(text)
    with pytest.raises(ValueError) as info:
        _course_conventions(course, "fc_nets")
    assert str(info.value).startswith(error) and "\n" not in str(info.value)


def test_check_without_assignment_is_a_usage_error() -> None:
    # outside a student release (grader/course/release.py), --assignment or --release is needed
    result = run_grade("check", str(REFERENCE))
    assert result.returncode == 2
    assert "check needs --assignment ID, or --release DIR" in result.stderr


def test_course_file_sets_conventions_and_convention_flag_wins(tmp_path) -> None:
    from grader.cli import _course_conventions
    course = tmp_path / "course.yml"
    course.write_text("conventions:\n  dropout: {dropout_p: drop}\n"
                      "  cnn: {groupnorm_param_shape: '(C,)'}\n")
    assert _course_conventions(course, "dropout") == {"dropout_p": "drop"}
    assert _course_conventions(course, "fc_nets") == {}


def test_course_files_restore_numpy_is_every_assignments_and_one_assignment_may_differ(tmp_path) -> None:
    """Note [Conventions] in grader/scoring/assignment.py: `restore_numpy` course-wide, under the
    conventions of one assignment (which win), and refused when it is no true or false."""
    from grader.cli import _course_conventions
    course = tmp_path / "course.yml"
    course.write_text("restore_numpy: false\nconventions:\n  cnn: {restore_numpy: true}\n")
    assert _course_conventions(course, "fc_nets") == {"restore_numpy": "false"}
    assert _course_conventions(course, "cnn") == {"restore_numpy": "True"}
    course.write_text("restore_numpy: 0\n")
    with pytest.raises(ValueError, match="^restore_numpy must be true or false, not 0$"):
        _course_conventions(course, "fc_nets")


def test_course_file_errors_exit_2(tmp_path) -> None:
    bad = tmp_path / "course.yml"
    bad.write_text("- just\n- a list\n")
    for course in (bad, tmp_path / "missing.yml"):
        reference = Path(__file__).resolve().parents[2] / "reference" / "cs231n"
        result = run_grade("check", str(reference), "-a", "fc_nets", "--course", str(course))
        assert result.returncode == 2
        assert "--course" in result.stderr


def test_check_writes_a_report_by_default_and_not_with_no_html(submission, tmp_path) -> None:
    layers = "def affine_forward(x, w, b):\n    return x.reshape(x.shape[0], -1) @ w + b, None\n"
    student = submission({"layers.py": layers})
    result = run_tiny(str(student), cwd=tmp_path)
    report = tmp_path / "grade-reports" / f"tiny-{student.name}.html"
    assert f"report: grade-reports/tiny-{student.name}.html" in result.stdout, result.stdout
    assert "<h1>tiny &mdash; " in report.read_text()
    report.unlink()
    result = run_tiny(str(student), "--no-html", cwd=tmp_path)
    assert "report:" not in result.stdout and not report.exists()


@pytest.mark.parametrize("flag", ["--html", "--json"])
def test_a_file_asked_for_that_cannot_be_written_keeps_the_verdict_and_exits_2(
        submission, tmp_path, flag) -> None:
    """Note [Command errors] in grader/cli.py: the verdict is printed, then one line, exit 2."""
    layers = "def affine_forward(x, w, b):\n    return x.reshape(x.shape[0], -1) @ w + b, None\n"
    (tmp_path / "blocked").write_text("a file where a folder should be")
    target = tmp_path / "blocked" / "out.file"
    result = run_tiny(str(submission({"layers.py": layers})), flag, str(target), "--no-html"
                      if flag == "--json" else "--verbose")
    assert result.returncode == 2 and score(result.stdout) == (2.0, 4.0)
    what = "the report" if flag == "--html" else "--json"
    assert without_progress(result.stderr) == (f"grade: could not write {what} {target}: {tmp_path / 'blocked'} is "
                             f"a file, not a folder\n")


def _file_size_limit(limit: int):
    """A soft RLIMIT_FSIZE for a subprocess: a write past `limit` bytes fails with EFBIG, half
    written (Python ignores SIGXFSZ), as on a disk that fills up during the write."""
    import resource

    def limit_writes() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
    return limit_writes


def test_a_report_that_cannot_be_written_whole_keeps_the_last_one(submission, tmp_path) -> None:
    """Note [Every report written whole] in grader/report/atomic.py: the page (about 8 KB)
    stops at the 4 KB limit; the last good report stays, and no half page or .tmp is left."""
    layers = "def affine_forward(x, w, b):\n    return x.reshape(x.shape[0], -1) @ w, None\n"
    report = tmp_path / "report.html"
    report.write_text("the last good report")
    result = subprocess.run([sys.executable, "-c", WITH_TINY, "check", str(submission({"layers.py": layers})),
                             "-a", "tiny", "--html", str(report)], capture_output=True, text=True,
                            timeout=120, preexec_fn=_file_size_limit(4096))
    assert result.returncode == 2 and score(result.stdout) == (0.0, 4.0), result.stdout + result.stderr
    assert without_progress(result.stderr).endswith(
        f"grade: could not write the report {report}: File too large\n")
    assert report.read_text() == "the last good report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_an_export_that_cannot_be_written_whole_keeps_the_last_one(tmp_path) -> None:
    """Note [Every report written whole]: `grade export -o` (a gradebook to upload) too."""
    from grader.scoring.result import SubmissionResult
    for sid in ("ada", "ben", "cy"):
        SubmissionResult("tiny", sid, "graded", 1, 4, 0.1, {}).write(tmp_path / "r" / f"{sid}.json")
    (tmp_path / "out").mkdir()
    grades = tmp_path / "out" / "grades.csv"
    grades.write_text("the last good export")
    result = subprocess.run([str(GRADE), "export", str(tmp_path / "r"), "--format", "csv", "-o", str(grades)],
                            capture_output=True, text=True, timeout=120, preexec_fn=_file_size_limit(100))
    assert result.returncode == 2, result.stderr
    assert result.stderr == f"grade: could not write -o {grades}: File too large\n"
    assert grades.read_text() == "the last good export"
    assert sorted(p.name for p in grades.parent.iterdir()) == ["grades.csv"]


def test_the_default_report_place_unwritable_only_warns(submission, tmp_path) -> None:
    layers = "def affine_forward(x, w, b):\n    return x.reshape(x.shape[0], -1) @ w + b, None\n"
    (tmp_path / "grade-reports").write_text("a file where the reports folder would be")
    result = run_tiny(str(submission({"layers.py": layers})), cwd=tmp_path)
    assert result.returncode == 1 and score(result.stdout) == (2.0, 4.0)  # not asked for: a warning
    assert without_progress(result.stderr).startswith("grade: could not write the report grade-reports/")
    assert "Traceback" not in result.stderr


# -- command errors (Note [Command errors] in grader/cli.py) -------------------------------------

TINY_LAYERS = ("import numpy as np\n\ndef relu_forward(x):\n    return np.maximum(0, x), x\n\n"
               "def affine_forward(x, w, b):\n    return x.reshape(x.shape[0], -1) @ w + b, None\n")


def run_tiny_command(*args: str, timeout: float = 120, cwd: Path | None = None,
                     prelude: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", prelude + WITH_TINY, *args, "-a", "tiny"],
                          capture_output=True, text=True, timeout=timeout, cwd=cwd)


PROGRESS_LINE = re.compile(r"^\[ *\d+/\d+\] .*\n", re.MULTILINE)


def without_progress(stderr: str) -> str:
    """stderr without grade check's progress lines (Note [Progress in a log] in
    grader/report/terminal.py), which a captured stderr gets."""
    return PROGRESS_LINE.sub("", stderr)


def tiny_class(folder: Path, names: list[str]) -> Path:
    """Correct tiny submissions, and 'empty_*' ones with no files."""
    for name in names:
        (folder / name / "cs231n").mkdir(parents=True)
        if not name.startswith("empty"):
            (folder / name / "cs231n" / "layers.py").write_text(TINY_LAYERS)
    return folder


@pytest.mark.parametrize("command", ["check", "batch"])
def test_a_selection_that_matches_no_check_is_a_command_error(submission, tmp_path, command) -> None:
    """Note [Zero checks] in grader/scoring/plugin.py: never "score 0 / 0", exit 0."""
    where = ([str(submission({"layers.py": TINY_LAYERS}))] if command == "check" else
             [str(tiny_class(tmp_path / "class", ["ada"])), "-o", str(tmp_path / "out")])
    result = run_tiny_command(command, *where, "-k", "nomatch", cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr == ("grade: -k 'nomatch' matches none of the 3 checks (their ids look "
                             "like relu_forward/out; `-k relu_forward` selects a function's "
                             "checks)\n")
    assert result.stdout == "" and not (tmp_path / "out").exists()
    assert not (tmp_path / "grade-reports").exists()


@pytest.mark.parametrize("command", ["check", "batch"])
def test_checks_that_cannot_be_collected_are_a_command_error(submission, tmp_path, command) -> None:
    """The registry without its pytest.ini (what a package that forgot it holds): exit 2."""
    import shutil
    registry = tmp_path / "registry" / "registry_tests.py"
    registry.parent.mkdir()
    shutil.copyfile(Path(grader.__file__).parent / "checks" / "registry_tests.py", registry)
    prelude = f"import grader.scoring.plugin as p; from pathlib import Path; p.REGISTRY_TESTS = Path({str(registry)!r}); "
    where = ([str(submission({"layers.py": TINY_LAYERS}))] if command == "check" else
             [str(tiny_class(tmp_path / "class", ["ada"])), "-o", str(tmp_path / "out")])
    result = run_tiny_command(command, *where, cwd=tmp_path, prelude=prelude)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith("grade: pytest collected no check (exit code 4: ")
    assert "pytest.ini" in result.stderr and result.stderr.count("\n") == 1


def test_batch_on_a_folder_without_submissions_is_a_command_error(tmp_path) -> None:
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "notes.txt").write_text("not a submission")
    result = run_tiny_command("batch", str(tmp_path / "class"), "-o", str(tmp_path / "out"))
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr == (f"grade: no submissions found in {tmp_path / 'class'} "
                             f"(1 entries that are not submissions)\n")
    assert not (tmp_path / "out").exists()


def test_batch_summary_counts_ungradable_submissions_apart(tmp_path) -> None:
    klass = tiny_class(tmp_path / "class", ["ada", "empty_ben"])
    result = run_tiny_command("batch", str(klass), "-o", str(tmp_path / "out"))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 graded now, 0 unchanged, 1 could not be graded" in result.stdout


def test_export_to_a_file_that_cannot_be_written_is_one_line(tmp_path) -> None:
    from grader.scoring.result import SubmissionResult
    SubmissionResult("tiny", "ada", "graded", 1, 4, 0.1, {}).write(tmp_path / "r" / "ada.json")
    (tmp_path / "blocked").write_text("a file where a folder should be")
    result = run_grade("export", str(tmp_path / "r"), "--format", "csv", "-o",
                       str(tmp_path / "blocked" / "grades.csv"))
    assert result.returncode == 2
    assert result.stderr == (f"grade: could not write -o {tmp_path / 'blocked' / 'grades.csv'}: "
                             f"{tmp_path / 'blocked'} is a file, not a folder\n")


SLOW_LAYERS = "def relu_forward(x):\n    while True:\n        pass\n"


def _descendant_cpu_seconds(root: int) -> float:
    """The most CPU time any process below `root` has used (the student's spinning worker)."""
    parents, cpu = {}, {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
            cpu[int(entry.name)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    best = 0.0
    for pid, used in cpu.items():
        ancestor = parents.get(pid)
        while ancestor and ancestor != root:
            ancestor = parents.get(ancestor)
        if ancestor == root:
            best = max(best, used)
    return best


def _wait_for_spinning_worker(process: subprocess.Popen, cpu_s: float = 0.5, within: float = 60) -> None:
    """Until a process under `process` has used `cpu_s` of CPU: the student's relu_forward is
    spinning (a worker's start uses less); the command may still be starting before that."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline and process.poll() is None:
        if _descendant_cpu_seconds(process.pid) >= cpu_s:
            return
        time.sleep(0.05)


@pytest.mark.parametrize("command", ["check", "batch"])
def test_ctrl_c_exits_130_with_one_line(submission, tmp_path, command) -> None:
    import signal
    where = ([str(submission({"layers.py": SLOW_LAYERS}))] if command == "check" else
             [str(tiny_class(tmp_path / "class", ["ada"])), "-o", str(tmp_path / "out")])
    if command == "batch":
        (tmp_path / "class" / "ada" / "cs231n" / "layers.py").write_text(SLOW_LAYERS)
    # As from a terminal: a suite started in the background by a shell without job control
    # (`make test &` in a script, CI runners) inherits SIGINT ignored, and Python then leaves it
    # ignored, so the command would never see this Ctrl-C.
    process = subprocess.Popen([sys.executable, "-c", WITH_TINY, command, *where, "-a", "tiny"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               cwd=tmp_path,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        _wait_for_spinning_worker(process)  # grading has begun: the student's relu_forward spins
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, stdout + stderr
    assert "Traceback" not in stderr
    if command == "check":
        assert stderr.strip().splitlines()[-1] == "grade: interrupted"
        assert not (tmp_path / "grade-reports").exists()
    else:
        assert "interrupted:" in stdout and "run the same command again" in stdout


# -- notebooks in the numpy assignments (README "Notebooks") --------------------------------------

ANSWERED = {"cells": [
    {"cell_type": "markdown", "id": "q", "metadata": {}, "source": ["## Inline Question 1:\n", "Why?\n"]},
    {"cell_type": "markdown", "id": "a", "metadata": {}, "source": ["## Answer:\n", "ReLU kills negatives.\n"]},
    {"cell_type": "code", "id": "c", "metadata": {}, "execution_count": 1, "outputs": [],
     "source": ["from cs231n.layers import *\n"]}],
    "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def test_a_course_package_with_its_notebooks_is_graded_and_answers_read(tmp_path) -> None:
    import shutil
    folder = tmp_path / "alice"
    shutil.copytree(REFERENCE, folder / "cs231n", ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "FullyConnectedNets.ipynb").write_text(json.dumps(ANSWERED))
    out = tmp_path / "alice.json"
    result = run_grade("check", str(folder), "-a", "fc_nets", "--json", str(out), "--no-html")
    assert result.returncode == 0, result.stdout + result.stderr
    answers = json.loads(out.read_text())["answers"]
    assert [(a["notebook"], a["answer"]) for a in answers] == [
        ("FullyConnectedNets.ipynb", "ReLU kills negatives.")]


def test_a_notebook_alone_for_a_numpy_assignment_says_to_hand_in_the_package(tmp_path) -> None:
    notebook = tmp_path / "FullyConnectedNets.ipynb"
    notebook.write_text(json.dumps(ANSWERED))
    result = run_grade("check", str(notebook), "-a", "fc_nets", "--no-html")
    assert result.returncode == 2
    assert ("could not be graded: no Python files found in FullyConnectedNets.ipynb, only "
            "FullyConnectedNets.ipynb: this assignment is graded from the course package "
            "(cs231n/layers.py, layer_utils.py, optim.py, classifiers/fc_net.py); hand the "
            "notebooks in with the package") in result.stdout


@pytest.mark.parametrize("command", ["batch", "release"])
def test_an_output_folder_that_cannot_be_one_is_refused_before_any_work(tmp_path, command) -> None:
    (tmp_path / "blocked").write_text("a file where a folder should be")
    where = [str(REFERENCE.parent)] if command == "batch" else []
    result = run_grade(command, *where, "-a", "fc_nets", "--out", str(tmp_path / "blocked" / "out"),
                       timeout=60)
    assert result.returncode == 2
    assert result.stderr == (f"grade: --out {tmp_path / 'blocked' / 'out'}: {tmp_path / 'blocked'} "
                             f"is a file, not a folder\n")
    assert result.stdout == ""


def test_check_leaves_the_collector_on_and_frozen_only_after_start_up(tmp_path) -> None:
    """Note [Start-up without the collector] and Note [Quick exit] in grader/cli.py: the
    collector is off only while `grade check` starts, on while the submission is graded, on
    again after any return, and the command still writes its verdict and reports."""
    probe = (WITH_TINY.replace("sys.exit(main(sys.argv[1:]))", "")
             + "import gc; from grader.scoring import plugin; run = plugin.run\n"
               "def spy(*a, **k):\n"
               "    print('collector during grading:', gc.isenabled(), file=sys.stderr)\n"
               "    return run(*a, **k)\n"
               "plugin.run = spy\n"
               "code = main(sys.argv[1:])\n"
               "print('collector after:', gc.isenabled(), file=sys.stderr)\n"
               "early = main(['check', sys.argv[2] + '-missing', '-a', 'tiny', '--no-html'])\n"
               "print('collector after an early return:', gc.isenabled(), early, file=sys.stderr)\n"
               "sys.exit(code)\n")
    (tmp_path / "layers.py").write_text("def relu(x):\n    return x\n")
    result = subprocess.run([sys.executable, "-c", probe, "check", str(tmp_path), "-a", "tiny",
                             "--json", str(tmp_path / "r.json"), "--no-html"],
                            capture_output=True, text=True, timeout=120)
    assert "collector during grading: True" in result.stderr
    assert "collector after: True" in result.stderr
    assert "collector after an early return: True 2" in result.stderr
    assert json.loads((tmp_path / "r.json").read_text())["schema"] == "grader.result/1"


def test_the_parser_of_check_alone_parses_and_explains_check_as_the_whole_one(capsys) -> None:
    """Note [Parser of the command asked]: `grade check ...` is parsed by a parser with the other
    commands left out, which reads the same arguments and says the same help and errors."""
    from grader import cli
    lines = [["check", "sub", "-a", "fc_nets", "--no-html", "--json", "r.json", "-v"],
             ["check", "sub.zip", "--release", "rel", "--select", "affine", "--convention", "a=b",
              "--convention", "c=d", "--sandbox", "rlimits", "--device", "cpu"],
             ["check", "nb.ipynb", "--notebook-mode", "execute", "--course", "c.yml"]]
    for argv in lines:
        whole, alone = cli.build_parser().parse_args(argv), cli.build_parser("check").parse_args(argv)
        assert vars(whole) == vars(alone)
    said = []
    for parser in (cli.build_parser(), cli.build_parser("check")):
        for argv in (["check", "--help"], ["check"], ["check", "sub", "--sandbox", "none"]):
            with pytest.raises(SystemExit) as exited:
                parser.parse_args(argv)
            out = capsys.readouterr()
            said.append((exited.value.code, out.out, out.err))
    assert said[:3] == said[3:]
    assert "usage: grade check" in said[0][1] and "invalid choice: 'none'" in said[2][2]
    with pytest.raises(SystemExit):
        cli.build_parser("check").parse_args(["batch", "subs", "-a", "fc_nets"])  # not there


# -- what students and staff type (the user trial) ------------------------------------------------

# stdout as a UTF-8 desktop locale (en_US.UTF-8) has it: strict (a C or C.UTF-8 locale escapes)
STRICT_UTF8 = {**os.environ, "PYTHONIOENCODING": "utf-8:strict"}


def run_tiny_in(env: dict, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", WITH_TINY, *args, "-a", "tiny"],
                          capture_output=True, text=True, timeout=120, cwd=cwd, env=env,
                          errors="replace")


@pytest.mark.parametrize("typed, inside", [(".", ""), ("..", "cs231n"), ("./", "")],
                         ids=["dot", "dotdot", "dot_slash"])
def test_check_names_the_folder_a_dot_stands_for(submission, typed, inside) -> None:
    """Note [The submission's name] in grader/cli.py: `grade check .` inside the package named
    the submission "" ("tiny: ", grade-reports/tiny-.html)."""
    folder = submission({"cs231n/layers.py": TINY_LAYERS})
    result = run_tiny(typed, cwd=folder / inside)
    assert result.returncode == 1, result.stdout + result.stderr  # no optim.py: sgd lost
    assert result.stdout.startswith(f"tiny: {folder.name}\n"), result.stdout
    assert (folder / inside / "grade-reports" / f"tiny-{folder.name}.html").is_file()


def test_check_names_a_folder_by_its_whole_name(submission) -> None:
    """A folder `john.doe` is john.doe, as `grade batch` names it, not "john"."""
    folder = submission({"john.doe/layers.py": TINY_LAYERS})
    result = run_tiny(str(folder / "john.doe"), "--no-html")
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.startswith("tiny: john.doe\n"), result.stdout


def _not_utf8_folder(parent: Path, files: dict[str, str]) -> Path:
    """A folder under `parent` whose name is the Latin-1 bytes of "café" (not UTF-8)."""
    folder = Path(os.fsdecode(bytes(parent) + b"/caf\xe9"))
    folder.mkdir()
    os.chmod(folder, 0o755)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def test_check_of_a_folder_whose_name_is_not_utf8_prints_and_writes_its_report(submission) -> None:
    """Note [The submission's name] in grader/cli.py: the name reached stdout as a lone surrogate
    and `grade check` died with UnicodeEncodeError after grading (the HTML report's write in any
    locale, the table's print in a UTF-8 one)."""
    folder = _not_utf8_folder(submission({"x.txt": ""}), {"layers.py": TINY_LAYERS})
    result = run_tiny_in(STRICT_UTF8, "check", str(folder), cwd=folder.parent)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.startswith("tiny: caf\ufffd\n"), result.stdout
    assert (folder.parent / "grade-reports" / "tiny-caf_.html").is_file()


def test_an_ungradable_folder_whose_name_is_not_utf8_says_why_in_one_line(submission) -> None:
    """Note [Terminal text] and Note [Names that are not UTF-8 in the report]: staging's message
    names the folder; printed raw, it ended `grade check` in a traceback."""
    folder = _not_utf8_folder(submission({"x.txt": ""}), {})
    report = folder.parent / "report.html"
    result = run_tiny_in(STRICT_UTF8, "check", str(folder), "--html", str(report), "--json",
                         str(folder.parent / "r.json"))
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2, result.stdout + result.stderr
    assert "could not be graded: no Python files found in caf\\udce9" in result.stdout
    assert "no Python files found in caf?" in report.read_text(encoding="utf-8")
    assert json.loads((folder.parent / "r.json").read_text())["status"] == "error"


@pytest.mark.parametrize("make, said", [
    (lambda d: d / "class.zip", "class.zip is a file: grade batch grades a folder that holds one "
                                "entry per submission (unzip it into a folder first: unzip -d "
                                "submissions {path}); grade check grades a single submission"),
    (lambda d: d / "nowhere", "{path} does not exist"),
], ids=["lms_zip", "typo"])
def test_batch_on_what_is_not_a_class_folder_says_what_it_is(tmp_path, make, said) -> None:
    """Note [A class is a folder] in grader/cli.py: an LMS's zip, not unzipped, was "not a folder"."""
    path = make(tmp_path)
    if path.suffix == ".zip":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("ada/cs231n/layers.py", TINY_LAYERS)
    result = run_tiny_command("batch", str(path), "-o", str(tmp_path / "out"))
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.endswith(said.format(path=path) + "\n"), result.stderr
    assert result.stderr.count("\n") == 1 and not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["check", "batch"])
def test_a_ci_jobs_pytest_options_do_not_reach_the_graders_session(submission, tmp_path, command) -> None:
    """Note [The judge's pytest is the grader's own] in grader/cli.py: PYTEST_ADDOPTS=--junitxml=...,
    set by a course CI for its own tests, made `grade check` a command error ("pytest collected
    no check ... unrecognized arguments"), as did PYTEST_PLUGINS naming an uninstalled plugin."""
    wrong_relu = TINY_LAYERS.replace("np.maximum(0, x)", "np.abs(x)")
    env = {**os.environ, "PYTEST_ADDOPTS": f"--junitxml={tmp_path / 'j.xml'} -x --maxfail=1 -W error",
           "PYTEST_PLUGINS": "xdist_not_installed"}
    if command == "check":
        where = [str(submission({"layers.py": wrong_relu})), "--json", str(tmp_path / "r.json")]
    else:
        klass = tiny_class(tmp_path / "class", ["ada"])
        (klass / "ada" / "cs231n" / "layers.py").write_text(wrong_relu)
        where = [str(klass), "-o", str(tmp_path / "out")]
    result = run_tiny_in(env, command, *where, "--no-html" if command == "check" else "-j1",
                         cwd=tmp_path)
    assert result.returncode == (1 if command == "check" else 0), result.stdout + result.stderr
    data = json.loads((tmp_path / ("r.json" if command == "check" else "out/results/ada.json")).read_text())
    assert [(c["id"], c["status"]) for c in data["checks"]] == [
        ("relu_forward/out", "failed"), ("sgd/next_w", "error"), ("affine_forward/out", "passed")]
    assert (data["score"], data["max_score"]) == (2, 4)


def test_check_says_its_progress_in_plain_lines_on_stderr_when_not_a_terminal(submission, tmp_path) -> None:
    """Note [Progress in a log] in grader/report/terminal.py: with stderr not a terminal (a CI
    log), grade check said nothing until its table; now one line per function, on stderr only."""
    result = run_tiny(str(submission({"layers.py": TINY_LAYERS})), "--no-html", "--json",
                      str(tmp_path / "r.json"))
    assert result.returncode == 1, result.stderr
    assert re.fullmatch(r"\[1/3\] relu_forward: 1 passed \(\d+\.\ds\)\n"
                        r"\[2/3\] sgd: 1 error \(\d+\.\ds\)\n"
                        r"\[3/3\] affine_forward: 1 passed \(\d+\.\ds\)\n", result.stderr), result.stderr
    assert "[1/3]" not in result.stdout and result.stdout.startswith("tiny: ")
    assert json.loads((tmp_path / "r.json").read_text())["score"] == 3


def test_progress_names_each_function_once_when_its_checks_are_not_adjacent(tmp_path) -> None:
    """Note [A function's line when all its checks are done] in grader/report/terminal.py:
    cnn's hidden pooling checks run after both functions' public ones, and the log named
    max_pool_forward_naive and max_pool_backward_naive twice each, "1 passed" every time."""
    import shutil
    shutil.copytree(REFERENCE, tmp_path / "cs231n")
    result = subprocess.run([sys.executable, "-m", "grader", "check", str(tmp_path), "-a", "cnn",
                             "-k", "max_pool", "--no-html"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.fullmatch(r"\[3/4\] max_pool_forward_naive: 2 passed \(\d+\.\ds\)\n"
                        r"\[4/4\] max_pool_backward_naive: 2 passed \(\d+\.\ds\)\n", result.stderr), result.stderr


def test_a_zip_inside_the_submission_is_named_with_what_to_hand_in(submission, tmp_path) -> None:
    """Note [A zip inside the submission] in grader/submission/stage.py: "no Python files found
    in submission.zip" said nothing of the assignment2.zip inside it."""
    inner = tmp_path / "assignment2.zip"
    with zipfile.ZipFile(inner, "w") as archive:
        archive.writestr("cs231n/layers.py", TINY_LAYERS)
    outer = submission({"x.txt": ""}) / "submission.zip"
    with zipfile.ZipFile(outer, "w") as archive:
        archive.write(inner, "assignment2.zip")
    result = run_tiny(str(outer), "--no-html")
    assert result.returncode == 2, result.stdout + result.stderr
    assert ("could not be graded: no Python files found in submission.zip, which holds "
            "assignment2.zip: a zip inside a submission is not unpacked; hand in the folder of "
            "your code, zipped once") in result.stdout


def test_batch_refuses_an_output_folder_of_another_assignment(tmp_path) -> None:
    """Note [One assignment per output folder] in grader/cli.py: `-o graded/` reused for the
    next assignment regraded every submission and replaced the first assignment's results."""
    from grader.scoring.result import SubmissionResult
    klass = tiny_class(tmp_path / "class", ["ada"])
    kept = SubmissionResult("fc_nets", "ada", "graded", 40, 42, 1.0, {})
    kept.write(tmp_path / "out" / "results" / "ada.json")
    before = (tmp_path / "out" / "results" / "ada.json").read_text()
    result = run_tiny_command("batch", str(klass), "-o", str(tmp_path / "out"))
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr == (f"grade: --out {tmp_path / 'out'} holds the results of fc_nets (1 in "
                             f"results/); grading tiny there would replace them: give each "
                             f"assignment its own output folder\n")
    assert (tmp_path / "out" / "results" / "ada.json").read_text() == before
    again = run_tiny_command("batch", str(klass), "-o", str(tmp_path / "out2"))
    assert again.returncode == 0, again.stdout + again.stderr
    assert run_tiny_command("batch", str(klass), "-o", str(tmp_path / "out2")).returncode == 0


def test_a_class_folder_whose_name_is_not_utf8_keeps_its_report_and_dashboard(tmp_path) -> None:
    """Note [Names that are not UTF-8 in what is written] in grader/report/text.py: one empty
    folder named in Latin-1 cost its report and the whole class dashboard."""
    klass = tiny_class(tmp_path / "class", ["ada"])
    _not_utf8_folder(klass, {})
    result = run_tiny_in(STRICT_UTF8, "batch", str(klass), "-o", str(tmp_path / "out"), "-j1")
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 1, result.stdout + result.stderr
    assert "report not written" not in result.stdout and "dashboard: not written" not in result.stdout
    assert "not graded: caf: no Python files found in caf\\udce9" in result.stdout, result.stdout
    assert "no Python files found in caf?" in (tmp_path / "out" / "reports" / "caf.html").read_text()
    assert "caf?" in (tmp_path / "out" / "summary.html").read_text()


def test_a_framework_assignment_without_the_frameworks_says_what_to_install(tmp_path) -> None:
    """Note [Frameworks not installed] in grader/cli.py: a wheel installed without its
    frameworks extra said only that checks.py "cannot be loaded: ModuleNotFoundError"."""
    blocked = ("import sys; sys.modules['torch'] = None; "
               "from grader.cli import main; sys.exit(main(sys.argv[1:]))")
    (tmp_path / "PyTorch.ipynb").write_text(json.dumps(ANSWERED))
    result = subprocess.run([sys.executable, "-c", blocked, "check", str(tmp_path / "PyTorch.ipynb"),
                             "-a", "pytorch", "--no-html"], capture_output=True, text=True,
                            timeout=120, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1 and "checks.py cannot be loaded" in result.stderr
    assert result.stderr.endswith("; the grader was installed without the frameworks (PyTorch, "
                                  "TensorFlow): pip install torch==2.13.0 tensorflow-cpu==2.21.0 "
                                  "(the CPU builds; the frameworks-gpu extra for CUDA)\n"), result.stderr


@pytest.mark.parametrize("assignment, model", [("fc_nets", "TwoLayerNet"),
                                               ("cnn", "ThreeLayerConvNet"),
                                               ("batchnorm", "FullyConnectedNet")])
def test_starter_models_say_what_raised_within_80_columns(tmp_path, assignment, model) -> None:
    """Note [The constructor's error first] in grader/checks/builders.py: each model check's
    line read as the constructor's arguments cut at the terminal's width, never the error."""
    starter = Path(grader.__file__).resolve().parent / "assignments" / assignment / "starter" / "cs231n"
    done = subprocess.run([str(GRADE), "check", str(starter), "-a", assignment, "--no-html"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path,
                          env={**os.environ, "COLUMNS": "80"})
    assert done.returncode == 1, done.stderr
    lines = [line for line in done.stdout.splitlines() if f"`{model}(...)`" in line]
    assert lines, done.stdout
    assert all(len(line) <= 80 and f"`{model}(...)` raised NotImpl" in line
               for line in lines), "\n".join(lines)


@pytest.mark.parametrize("renamed, says", [
    ("deleted", "`relu_forward` not found in layers.py\n"),  # no guess
    ("relu_fwd", "`relu_forward` not found in layers.py (did you mean `relu_fwd`?)"),
])
def test_a_missing_function_is_not_given_another_function_of_the_course(submission, renamed,
                                                                        says) -> None:
    """Note [Names suggested for a missing one] in grader/checks/student.py: a layers.py
    without relu_forward was asked "did you mean `dropout_forward`?"."""
    files = reference_files()
    layers = files["cs231n/layers.py"]
    start = layers.index("def relu_forward")
    end = layers.index("\ndef ", start + 1)
    if renamed == "relu_fwd":
        files["cs231n/layers.py"] = layers.replace("def relu_forward(", "def relu_fwd(")
    else:
        files["cs231n/layers.py"] = layers[:start] + layers[end + 1:]
    result = run_grade("check", str(submission(files) / "cs231n"), "-a", "fc_nets", "-v",
                       "-k", "relu_forward", "--no-html")
    assert result.returncode == 1, result.stdout + result.stderr
    assert says in result.stdout, result.stdout
    assert "dropout_forward" not in result.stdout


@pytest.mark.parametrize("command", ["check", "batch", "selftest", "gradescope", "release"])
def test_each_commands_help_names_the_assignments(command) -> None:
    """Note [Assignments named in the help] in grader/cli.py: -a said "e.g. fc_nets" only."""
    done = run_grade(command, "--help")
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())
    from grader.scoring.assignment import available
    assert "fc_nets" in available() and "tf_norms" in available()
    assert f"assignment id: {', '.join(available())}" in text, done.stdout


def test_check_of_a_class_folder_says_whose_package_it_graded(submission) -> None:
    """Note [Folders of course files not graded] in grader/submission/stage.py: `grade check`
    on a folder of students' packages graded the first one alone, without a word."""
    files = {f"{name}/{path}": text for name in ("alice", "bob", "carol")
             for path, text in reference_files().items()}
    result = run_grade("check", str(submission(files)), "-a", "fc_nets", "--no-html")
    assert result.returncode == 0, result.stdout + result.stderr
    assert ("note: graded the course files in alice/cs231n/, not those in bob/cs231n/, "
            "carol/cs231n/ (a folder of several submissions is graded with `grade batch`)"
            ) in result.stdout + result.stderr, result.stdout + result.stderr


def test_check_of_a_file_the_course_does_not_name_says_what_it_found(tmp_path) -> None:
    """Note [What an ungradable submission holds] in grader/submission/stage.py: `grade check
    my_layers.py` said only which names were wanted."""
    (tmp_path / "my_layers.py").write_text("def affine_forward(x, w, b):\n    return x\n")
    result = run_grade("check", str(tmp_path / "my_layers.py"), "-a", "fc_nets", "--no-html")
    assert result.returncode == 2, result.stdout + result.stderr
    assert ("could not be graded: none of the assignment's files (fc_net.py, layer_utils.py, "
            "layers.py, optim.py) were found; its Python files are my_layers.py: name them as "
            "the course does") in result.stdout, result.stdout


def test_a_missing_file_is_not_explained_by_another_edition(submission) -> None:
    """Note [A missing file is no edition's part] in grader/scoring/assignment.py: layers.py
    alone was told that cs231n 2021 does not assign TwoLayerNet and COMPSCI 682 rmsprop."""
    files = reference_files()
    alone = {"cs231n/layers.py": files["cs231n/layers.py"]}
    result = run_grade("check", str(submission(alone) / "cs231n"), "-a", "fc_nets", "-v",
                       "--no-html")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "not found in the submission: layer_utils.py, optim.py, classifiers/fc_net.py" in result.stdout
    assert "is not assigned in" not in result.stdout, result.stdout
    fc_net = files["cs231n/classifiers/fc_net.py"]
    start = fc_net.index("class TwoLayerNet")
    files["cs231n/classifiers/fc_net.py"] = fc_net[:start] + fc_net[fc_net.index("\nclass ", start + 1) + 1:]
    result = run_grade("check", str(submission(files) / "cs231n"), "-a", "fc_nets", "--no-html")
    assert ("note: TwoLayerNet is not assigned in cs231n 2021-2024 (assignment 2): 9 of the points "
            "lost; if your course is one of them, grade with --convention edition=cs231n_2021"
            ) in result.stdout, result.stdout  # a part alone not found: still explained
