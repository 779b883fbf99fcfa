"""`grade gradescope`: an autograder zip that runs this grader inside Gradescope's container.

Gradescope's autograder specification: the zip holds `setup.sh` (run once, as root, when
the image is built) and `run_autograder` (run for every submission); the zip is unpacked
into /autograder/source, the student's files are in /autograder/submission, and the
results go to /autograder/results/results.json (score, execution_time, output,
visibility, stdout_visibility, tests[] with name, score, max_score, output, visibility).

# Note [Gradescope autograder]
The zip carries the grader's own source (grader/, reference/, the assignment's folder
without its planted bugs, its rubric, the templates) under `grader-source/`, and
`requirements.txt` with the grader's pins of what grading that assignment imports
(numpy, pytest, PyYAML, Jinja2, nbformat; scikit-learn for accuracy checks; the
frameworks' CPU builds for framework assignments).  Gradescope's container is the
course's, never the students', so the reference may be there; the student's code still
runs in the worker, confined with bubblewrap where setup.sh could install it and with
resource limits otherwise.  `run_autograder` runs `python -m grader.course.gradescope run`,
which grades /autograder/submission and writes results.json from the result JSON
(`export.to_gradescope`): hidden checks are `after_published`; a submission that could
not be graded gets 0 with the reason, as the overall output and as a `grading` test
worth every point, never a silent 0; a crash of the grader itself still writes a
results.json saying so.  Both scripts read AUTOGRADER_ROOT (default /autograder) and
run_autograder GRADER_PYTHON (default python3), so a test can run them in a temporary
root.  The pins need Python 3.11 or later: choose a Gradescope base image that has it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import stat
import sys
import time
import zipfile
from pathlib import Path

from . import distribution
from ..checks import questions
from ..report.atomic import write_atomic

SETUP = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image
# (Note [Gradescope autograder] in the grader's grader/course/gradescope.py).
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
cd "$ROOT/source"
if command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pip \\
     python3-venv bubblewrap) || echo "warning: no bubblewrap; student code runs with resource limits"
fi
python3 -c 'import sys; assert sys.version_info >= (3, 11), "the grader needs Python 3.11+: choose a newer base image"'
python3 -m pip install --break-system-packages -r requirements.txt \\
  || python3 -m pip install -r requirements.txt
"""

RUN = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission (Note [Gradescope autograder]).
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
mkdir -p "$ROOT/results"
cd "$ROOT/source"
PYTHONPATH="$ROOT/source/grader-source" exec "${{GRADER_PYTHON:-python3}}" -m grader.course.gradescope run \\
  --assignment {assignment} --root "$ROOT"
"""

# The grader package's assignments/ and rubrics/ (links in a checkout, folders in an installed
# wheel: Note [Course folder] in grader/scoring/assignment.py) hold every assignment; the zip
# carries only this one's, beside the package, where the grader then looks.
EXCLUDED = re.compile(r"(^|/)(__pycache__|mutants\.py|\.pytest_cache)(/|$)|\.pyc$"
                      r"|^grader-source/grader/(assignments|rubrics)(/|$)")


def requirements(assignment_folder: Path) -> list[str]:
    """The grader's pins of what grading this assignment imports (Note [Gradescope autograder])."""
    known = distribution.pins()
    names = list(distribution.STUDENT_REQUIREMENTS)
    text = "\n".join(p.read_text() for p in assignment_folder.rglob("*.py")
                     if "mutants" not in p.name)
    if "training_data" in text or "sklearn" in text:
        names.append("scikit-learn")
    wanted = [known.get(name, name) for name in names]
    if re.search(r"^\s*(import|from)\s+(torch|reference\.torch_nets)\b", text, re.M):
        wanted.append(_extra("torch"))
    if re.search(r"^\s*(import|from)\s+(tensorflow|keras|reference\.tf_nets)\b", text, re.M):
        wanted.append(_extra("tensorflow"))
    return wanted


def _extra(name: str) -> str:
    """The frameworks-cpu pin of `name`: from pyproject.toml in a checkout, else from the installed
    package's metadata (an instructor's `pip install .` has no pyproject.toml beside the package),
    as distribution.pins reads the core pins."""
    pyproject = distribution.PROJECT_ROOT / "pyproject.toml"
    if pyproject.is_file():
        extras = distribution.pyproject_list(pyproject.read_text(), "frameworks-cpu")
    else:
        from importlib import metadata
        extras = [r.split(";")[0].strip() for r in metadata.requires("dl-grader") or ()
                  if re.search(r"""extra\s*==\s*['"]frameworks-cpu['"]""", r)]
    return next((e for e in extras if e.startswith(name)), name)


def build(assignment_id: str, out: Path) -> Path:
    """Write the autograder zip of `assignment_id` to `out`."""
    from ..scoring import assignment as assignments
    assignment = assignments.load(assignment_id)  # an unknown id is the command's error
    root = distribution.PROJECT_ROOT
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    sources = [("grader", root / "grader"), ("reference", root / "reference"),
               (f"assignments/{assignment_id}", assignment.folder),
               (f"rubrics/{assignment_id}.yml", assignments.RUBRICS_DIR / f"{assignment_id}.yml")]
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        _add_script(archive, "setup.sh", SETUP)
        _add_script(archive, "run_autograder", RUN.format(assignment=assignment_id))
        _add_script(archive, "requirements.txt", "\n".join(requirements(assignment.folder)) + "\n",
                    0o644)
        # Note [Fresh questions] in grader/checks/questions.py: one secret per autograder,
        # drawn here, so every upload is asked the same questions and none a release's
        _add_script(archive, f"grader-source/{QUESTIONS_FILE}", questions.new_secret() + "\n",
                    0o600)
        for name, path in sources:
            for file, relative in _files(path):
                arcname = f"grader-source/{name}/{relative}" if relative else f"grader-source/{name}"
                if not EXCLUDED.search(arcname):
                    archive.write(file, arcname)
    return out


def _files(path: Path):
    if path.is_file():
        yield path, ""
        return
    for folder, _, names in os.walk(path, followlinks=True):  # grader/templates is a link
        for name in sorted(names):
            file = Path(folder) / name
            yield file, file.relative_to(path).as_posix()


def _add_script(archive: zipfile.ZipFile, name: str, text: str, mode: int = 0o755) -> None:
    info = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
    info.external_attr = (stat.S_IFREG | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, text)


# ---------------------------------------------------------------------------------------------
# Inside Gradescope's container
# ---------------------------------------------------------------------------------------------

def results_for(result, max_score: float) -> dict:
    """results.json for one result; a submission not graded says why (Note [Gradescope
    autograder])."""
    from .export import to_gradescope
    data = to_gradescope(result, hidden_visibility="after_published")
    if result.status != "graded":
        data["score"] = 0
        data["tests"] = [{"name": "grading", "score": 0, "max_score": max_score,
                          "status": "failed", "visibility": "visible",
                          "output": f"This submission could not be graded, so it gets 0: "
                                    f"{result.message}"}]
    return data


QUESTIONS_FILE = "questions.secret"


def _questions(root: Path) -> questions.Questions:
    """The autograder's secret (written by `build`); one drawn now for a zip made without."""
    path = Path(root) / "source" / "grader-source" / QUESTIONS_FILE
    try:
        return questions.Questions(questions.valid_secret(path.read_text(), str(path)), "course")
    except FileNotFoundError:
        return questions.Questions(questions.new_secret(), "run")


def run(assignment_id: str, root: Path) -> int:
    start = time.perf_counter()
    results = Path(root) / "results" / "results.json"
    results.parent.mkdir(parents=True, exist_ok=True)
    try:
        from ..scoring import assignment as assignments
        from ..scoring.pipeline import Options, grade_submission
        assignment = assignments.load(assignment_id, None, _questions(Path(root)))
        result = grade_submission(Path(root) / "submission", assignment, Options(),
                                  name="submission")
        data = results_for(result, assignment.rubric.max_score())
    except Exception as exc:  # the autograder's own failure: said, never a silent 0
        data = {"score": 0, "execution_time": round(time.perf_counter() - start, 3),
                "output": f"The autograder failed ({type(exc).__name__}: {exc}); this is not "
                          f"your fault: please tell the course staff.",
                "visibility": "visible", "stdout_visibility": "hidden", "tests": []}
    # Note [Every report written whole] in grader/report/atomic.py
    write_atomic(results, json.dumps(data, indent=2, allow_nan=False) + "\n")
    print(data["output"])
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.course.gradescope")
    commands = parser.add_subparsers(dest="command", required=True)
    runner = commands.add_parser("run", help="grade /autograder/submission (run_autograder)")
    runner.add_argument("--assignment", required=True)
    runner.add_argument("--root", default="/autograder")
    args = parser.parse_args(argv)
    return run(args.assignment, Path(args.root))


if __name__ == "__main__":
    sys.exit(main())
