"""`grade release`: the student bundle of an assignment, and `grade check` run from one.

A release is what students receive: the starter code, the public checks, the
reference's answers to those checks recorded on a tape (grader/course/replay.py), a
small config naming the assignment, a README and a GitHub Actions workflow.  It
holds no reference code, no solution and no hidden check, and `grade check`
run with it gives the same verdict on its checks as the course's grader.

# Note [Release layout]
    DIR/grader-release.yml          the config: assignment, how submissions are staged,
                                    the conventions it was recorded with, its checks
    DIR/README.md                   for students: how to run it, what it leaves out
    DIR/<package>/                  the starter code (cs231n/ ...)
    DIR/public-checks/checks.py     the assignment's checks.py less its hidden checks
    DIR/public-checks/rubric.yml    points of the checks in the release only
    DIR/public-checks/expected/     the tape: tape.json + arrays.npz (never a pickle)
    DIR/public-checks/course/       stand-ins for the course files the grader supplies
    DIR/.github/workflows/grade.yml the course CI (templates/github-workflow.yml.j2)
    DIR/wheels/                     the student package, what students install (Note [Student
                                    package] in grader/course/distribution.py)
`grade check SUBMISSION` inside DIR (or `--release DIR` from anywhere) finds the
config, loads checks.py with the tape standing in for `reference`, and notes in
its output that this is a public-checks-only run.

# Note [Which checks a release keeps]
A public check is in the release only when replaying it is proven to judge as
the course's grader does.  Building a release grades the assignment's solution
(grader/course/mutants.py, Note [Where a solution is]) several times:
  1. with the course's grader as it is: the verdicts to reproduce;
  2. recording, twice: a check whose reference answers the tape cannot hold, or
     that differ between the two recordings, is left out; then recording the
     assignment's planted bugs (grader/course/mutants.py), whose failures ask the
     reference for their known-mistake hints (Note [Hints the tape may lack]
     in grader/course/replay.py), so that a release names the same common mistakes;
  3. replaying, as a student's run would (the pruned checks.py, stand-in course
     files, Note [Course files in a release]): a check whose verdict differs
     from 1, or that asks something the tape does not hold, is left out;
  4. replaying with every float the submission returns moved by a few units in
     its last place (a "perturbing" worker): a check that now asks the reference
     something unrecorded computes the reference's inputs from the
     submission's output (the reference loss of the student's own initial
     weights, say), and is left out, as is one that stops passing (it could
     not be probed);
  5. the starter code, with the grader and replayed: verdicts must agree and
     the tape must cover every question.
Checks left out are listed in the README as "checked only by the course's
grader", with the reason.  Whatever the probes miss still cannot pass by
mistake (Note [Never a false pass] in grader/course/replay.py).

# Note [Course files in a release]
The course's grader copies course files into every submission (the manifest's
`replace` and `provide`: a numpy fast_layers.py, a seedable Solver) from
reference/, which a release must not contain.  So by default a release supplies
generated stand-ins instead: modules with the same names whose every function
raises "not part of this release", used only where the submission has no copy
of its own.  Step 3 of Note [Which checks a release keeps] grades the solution
without its own copies, so any check that runs one of these files is left out
("runs course code that the course's grader supplies itself"): with the
student's own copy (the course's Cython fast layers, its Solver without `seed`)
it might judge differently.  A course that hands these files out can give
them (`grade release --course-files DIR`): the release then ships those copies
and uses them as the course's grader uses its own (`replace` always, `provide`
where missing), and step 3 proves each check with them, keeping those that
judge alike (the fast layers' sandwiches, say) and leaving out those that do
not (a check that passes `seed` to a Solver that has none).

# Note [Hidden checks in a release]
Hidden checks are left out of the registry, the rubric, the tape and the
README (only their number is given).  The release's checks.py is the
assignment's with the code that builds hidden checks removed, so that none of
their inputs, seeds or sizes is on a student's disk (`public_checks_source`):
  1. from the source: list and tuple entries and statements that ask for a
     hidden check (`hidden=True`, or `True` in the position of a `hidden`
     parameter of a function the module defines, or of Check's), the `True`
     entries of a loop over a `hidden` flag, the `if hidden:` branches of
     functions no call asks for hidden samples any more, then every top-level
     definition nothing uses any more, until nothing changes;
  2. whatever form the samples take: the module is loaded and every top-level
     name its hidden checks reach at run time (through closures, defaults, the
     globals their code names, containers, dataclasses) and its public checks
     do not is removed, then step 1 again;
  3. the result must load and build no hidden check; otherwise the release is
     not built (a hidden check the pruning cannot take apart would show its
     inputs), and the error says which.
tests/grader/course/test_release.py scans each bundle for the hidden checks' ids, the
names only they use and the arrays only they hold.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import yaml

from .. import __version__
from ..scoring import assignment as assignments
from ..checks.spec import Check
from .replay import MODULE_SECTION, Recorder, Replayer, ReplayMismatch, Session
from ..scoring.result import SubmissionResult

CONFIG = "grader-release.yml"
SCHEMA = "grader.release/1"
INTERNALS = "public-checks"
WORKFLOW = Path(".github") / "workflows" / "grade.yml"
TEMPLATES = Path(__file__).resolve().parents[1] / "templates"  # the repository's templates/ (a link)
DEFAULT_REQUIREMENT = ""  # the student package in the release's wheels/ (Note [Student package])
STAND_IN_MARKER = "is not part of this release"
PUBLIC_ONLY = ("public checks only: this run replays the reference's recorded answers to the "
               "assignment's public checks; hidden checks and the checks listed in the release's "
               "README are run only by the course's grader")
FRAMEWORKS = {"torch": "PyTorch", "tensorflow": "TensorFlow", "keras": "Keras",
              "reference.torch_nets": "PyTorch", "reference.tf_nets": "TensorFlow"}


class ReleaseError(Exception):
    """A release cannot be built or read; the message says why."""


@dataclass(frozen=True)
class BuildOptions:
    sandbox: str | None = None
    python: str | None = None
    grader_requirement: str = DEFAULT_REQUIREMENT
    conventions: dict = field(default_factory=dict)
    progress: Callable[[str], None] | None = None
    mutant_hints: bool = True  # record what the planted bugs' failures ask (Note [Which checks...])
    course_files: Path | None = None  # the course's own copies (Note [Course files in a release])


@dataclass(frozen=True)
class Summary:
    """What `grade release` built."""
    folder: Path
    assignment: str
    checks: tuple[str, ...]          # in the release
    excluded: dict[str, str]         # public check id -> why it is left out
    hidden: int
    max_score: float

    def text(self) -> str:
        lines = [f"release of {self.assignment} in {self.folder}: {len(self.checks)} public checks "
                 f"({self.max_score:g} points), {len(self.excluded)} left to the course's grader, "
                 f"{self.hidden} hidden checks left out"]
        lines += [f"  not in the release: {cid}: {why}" for cid, why in self.excluded.items()]
        lines.append(f"students run: cd {self.folder} && grade check <their package>  "
                     f"(README.md says more)")
        return "\n".join(lines)


# ---------------------------------------------------------------------------
# Building a release
# ---------------------------------------------------------------------------

def unsupported(folder: Path) -> str | None:
    """Why a release of the assignment in `folder` cannot be built yet, or None.

    Read from its checks.py's imports without running it (importing TensorFlow
    only to say no would take seconds)."""
    tree = ast.parse((Path(folder) / "checks.py").read_text())
    for node in ast.walk(tree):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
            [node.module or ""] if isinstance(node, ast.ImportFrom) else []
        for name in names:
            for prefix, framework in FRAMEWORKS.items():
                if name == prefix or name.startswith(prefix + "."):
                    return (f"its checks call {framework} reference code, whose answers (tensors, "
                            f"modules, trained models) the tape of plain data cannot hold yet")
    return None


def build(assignment_id: str, out: Path, options: BuildOptions = BuildOptions()) -> Summary:
    """Build the release of `assignment_id` in `out`; Note [Which checks a release keeps]."""
    from . import distribution, mutants  # instructor-side: not in the student package

    out = Path(out)
    folder = assignments.ASSIGNMENTS_DIR / assignment_id
    why = unsupported(folder) if (folder / "checks.py").is_file() else None
    if why:
        raise ReleaseError(f"release not supported yet for {assignment_id}: {why}")
    assignment = assignments.load(assignment_id, options.conventions)
    try:
        fixtures = mutants.load(assignment_id)
    except mutants.MutantError as exc:
        raise ReleaseError(f"a release is proven on the assignment's solution: {exc}") from None
    solution = fixtures.solution
    _check_target(out)
    progress = options.progress or (lambda text: None)
    public = tuple(c for c in assignment.checks if not c.hidden)
    hidden = [c.id for c in assignment.checks if c.hidden]
    work = Path(tempfile.mkdtemp(prefix="grader-release-"))
    try:
        internals = work / "release" / INTERNALS
        internals.mkdir(parents=True)
        pruned = public_checks_source(assignment.folder / "checks.py")
        (internals / "checks.py").write_text(pruned)
        course_files = tuple(dict.fromkeys(assignment.layout.replace + assignment.layout.provide))
        if options.course_files is None:
            write_stand_ins(assignment, course_files, internals / "course")
        else:
            copy_course_files(Path(options.course_files), course_files, internals / "course")
        solution_copy = mutants.copy_solution(solution, work / "solution")
        bare = mutants.copy_solution(solution, work / "bare")
        for name in course_files:  # Note [Course files in a release]
            (bare / name).unlink(missing_ok=True)
        starter = assignment.folder / "starter" / assignment.layout.default_package
        planted = [(bug, mutants.make_mutant(solution, bug, work / "mutants" / str(number)))
                   for number, bug in enumerate(fixtures.mutants if options.mutant_hints else ())]
        excluded, loading = _prove(assignment, public, solution_copy, bare, starter, planted,
                                   internals, options, progress)
        kept = tuple(c.id for c in public if c.id not in excluded)
        if not kept:
            raise ReleaseError(f"no public check of {assignment_id} can be released: " +
                               "; ".join(f"{k}: {v}" for k, v in excluded.items()))
        _keep_only(internals / "expected", kept, loading)
        points = {cid: assignment.rubric.points[cid] for cid in kept}
        summary = Summary(out, assignment_id, kept, excluded, len(hidden), float(sum(points.values())))
        _write_release(work / "release", assignment, public, summary, points, course_files, options)
        progress("building the student package (wheels/)")
        try:
            distribution.build_wheel(work / "release" / distribution.WHEELS)
        except distribution.DistributionError as exc:
            raise ReleaseError(str(exc)) from None
        _install(work / "release", out)
        return summary
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _check_target(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir()) and not (out / CONFIG).exists()):
        raise ReleaseError(f"{out} exists and is not an earlier release (no {CONFIG}); "
                           f"choose a new folder")


def _install(built: Path, out: Path) -> None:
    if out.exists():
        shutil.rmtree(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(built, out)


def _statuses(result: SubmissionResult) -> dict[str, tuple[str, str]]:
    if result.status != "graded":
        raise ReleaseError(f"grading {result.submission} failed while building the release: "
                           f"{result.message}")
    return {c.id: (c.status, c.message) for c in result.checks}


def _grade(path: Path, assignment: assignments.Assignment, checks, options: BuildOptions,
           layout=None) -> dict[str, tuple[str, str]]:
    from ..scoring.pipeline import Options, grade_submission
    graded = dataclasses.replace(
        assignment, checks=tuple(checks), layout=layout or assignment.layout,
        rubric=assignments.Rubric({c.id: assignment.rubric.points[c.id] for c in checks}))
    return _statuses(grade_submission(path, graded, Options(options.sandbox, options.python)))


def _prove(assignment, public, solution: Path, bare: Path, starter: Path, planted: list,
           internals: Path, options: BuildOptions, progress) -> tuple[dict[str, str], set[str]]:
    """(public check id -> why it is left out, the keys the pruned checks.py asks while it is
    imported); Note [Which checks a release keeps]."""
    excluded: dict[str, str] = {}
    loading: set[str] = set()

    def leave_out(check_id: str, why: str) -> None:
        excluded.setdefault(check_id, why)

    progress("grading the solution with the course's grader")
    full = _grade(solution, assignment, public, options)
    for cid, (status, message) in full.items():
        if status != "passed":
            leave_out(cid, f"the solution does not pass it ({status}: {_first(message)})")
    tapes = []
    for attempt in (1, 2):
        progress(f"recording the reference's answers ({attempt} of 2)")
        recorder = Recorder()
        module = recorder.load_module(assignment.folder / "checks.py",
                                      f"grader_release_record_{assignment.id}_{attempt}")
        checks = _select(module, public, lambda c: _replayed(recorder, c))
        recorded = _grade(solution, assignment, checks, options)
        for cid, problems in recorder.problems.items():
            if cid == MODULE_SECTION:
                raise ReleaseError(f"loading {assignment.id}'s checks.py: {problems[0]}")
            leave_out(cid, "the reference's answers cannot be recorded: " + problems[0])
        for cid, (status, _) in recorded.items():
            if status != full[cid][0]:
                leave_out(cid, "recording changes its verdict")
        tapes.append(recorder)
    first, second = tapes
    for check in public:
        if first.tapes.get(check.id) != second.tapes.get(check.id):
            leave_out(check.id, "the reference answered differently in two recordings")
    if planted:
        progress(f"recording what the failures of {len(planted)} planted bugs ask the reference")
    for number, (bug, package) in enumerate(planted):
        affected = [c for c in public if c.function in (bug.target, *bug.may_affect)]
        if not affected:  # only the checks of the functions it breaks can fail
            continue
        recorder = Recorder()
        module = recorder.load_module(assignment.folder / "checks.py",
                                      f"grader_release_mutant_{assignment.id}_{number}")
        _grade(package, assignment, _select(module, affected, lambda c: _replayed(recorder, c)),
               options)
        first.merge(recorder, [c.id for c in affected])
    for cid, problems in first.problems.items():
        if cid != MODULE_SECTION:
            leave_out(cid, problems[-1])
    first.save(internals / "expected")

    replay_layout = release_layout(assignment.layout, internals / "course",
                                   stand_ins=options.course_files is None)

    def replay(path: Path, perturb: bool = False) -> tuple[dict, dict]:
        session = Replayer(internals / "expected")
        module = session.load_module(internals / "checks.py",
                                     f"grader_release_replay_{assignment.id}_{id(session)}")
        _no_hidden_left(getattr(module, "CHECKS", ()), assignment.folder / "checks.py")
        checks = _select(module, public, lambda c: _replayed(session, c, perturb))
        graded = _grade(path, assignment, checks, options, replay_layout)
        loading.update(key for section, key in session.served if section == MODULE_SECTION)
        return graded, session.mismatched

    progress("replaying on the solution, as a student's run would")
    replayed, mismatched = replay(bare)
    for cid, (status, message) in replayed.items():
        if cid in mismatched:
            leave_out(cid, "its reference inputs were not recorded (they depend on the "
                           "submission's output)")
        elif STAND_IN_MARKER in message:
            leave_out(cid, "it runs course code that the course's grader supplies itself ("
                           + ", ".join(_stand_ins_named(message, assignment)) + ")")
        elif status != full[cid][0]:
            leave_out(cid, f"replaying changes its verdict ({status}: {_first(message)})")
    progress("replaying with the submission's numbers perturbed")
    perturbed, mismatched = replay(bare, perturb=True)
    for cid, (status, _) in perturbed.items():
        if cid in mismatched:
            leave_out(cid, "its reference inputs depend on the submission's output")
        elif status != "passed" and replayed[cid][0] == "passed":
            leave_out(cid, "it could not be shown that its reference inputs do not depend on "
                           "the submission's output")
    progress("grading the starter code with the course's grader and replayed")
    graded_starter = _grade(starter, assignment, public, options)
    replayed_starter, mismatched = replay(starter)
    for cid, (status, _) in replayed_starter.items():
        if cid in mismatched:
            leave_out(cid, "on the starter code its reference inputs were not recorded")
        elif status != graded_starter[cid][0]:
            leave_out(cid, "replaying changes its verdict on the starter code")
    return {c.id: excluded[c.id] for c in public if c.id in excluded}, loading


def _first(message: str) -> str:
    return message.strip().splitlines()[0][:160] if message.strip() else ""


def _stand_ins_named(message: str, assignment) -> list[str]:
    names = [n for n in (*assignment.layout.replace, *assignment.layout.provide) if n in message]
    return names or ["a course file"]


def _select(module, public, wrap) -> list[Check]:
    """The public checks of a loaded checks module, wrapped, in registry order."""
    by_id = {c.id: c for c in getattr(module, "CHECKS", ()) if isinstance(c, Check)}
    missing = [c.id for c in public if c.id not in by_id]
    if missing:
        raise ReleaseError(f"the checks module lost public checks {missing}")
    return [wrap(by_id[c.id]) for c in public]


def _replayed(session: Session, check: Check, perturb: bool = False) -> Check:
    """`check` with its run going through `session` (and, to probe, a perturbing worker:
    Note [Perturbing worker])."""
    def run(student):
        __tracebackhide__ = True
        if not perturb:
            return session.run_check(check.id, check.run, student)
        worker = student.worker
        student.worker = _Perturbing(worker)
        try:
            return session.run_check(check.id, check.run, student)
        finally:
            student.worker = worker

    return dataclasses.replace(check, run=run)


def _keep_only(tape_folder: Path, kept: tuple[str, ...], loading: set[str]) -> None:
    """Drop every section but the kept checks', every answer given while checks.py is imported
    but those the pruned checks.py asks, and the arrays nothing uses any more."""
    document = json.loads((tape_folder / "tape.json").read_text())
    document["checks"] = {k: v for k, v in document["checks"].items() if k in kept}
    document["checks"][MODULE_SECTION] = {
        key: entry for key, entry in document["checks"].get(MODULE_SECTION, {}).items()
        if key in loading}
    text = json.dumps(document, indent=1)
    (tape_folder / "tape.json").write_text(text)
    with np.load(tape_folder / "arrays.npz", allow_pickle=False) as stored:
        arrays = {name: stored[name] for name in stored.files if f'"{name}"' in text}
    with open(tape_folder / "arrays.npz", "wb") as stream:
        np.savez_compressed(stream, **arrays)


# Note [Perturbing worker]
# Step 4 of Note [Which checks a release keeps] needs a submission whose every
# answer is a little different, without writing one: this proxy multiplies
# every float the worker sends back by 1 + 4 eps of its dtype.  That changes the
# bits (so any reference input computed from them changes its key) and not the
# verdict of a tolerance-based comparison (float64's rtol is 1e-6).

class _Perturbing:
    """A Worker whose answers come back with every float moved by 4 units in its last place."""

    def __init__(self, worker) -> None:
        object.__setattr__(self, "_worker", worker)

    def __getattr__(self, name: str):
        return getattr(self._worker, name)

    def __setattr__(self, name: str, value) -> None:
        setattr(self._worker, name, value)

    def call(self, *args, **kwargs):
        return _perturb_result(self._worker.call(*args, **kwargs))

    def call_ref(self, *args, **kwargs):
        return _perturb_result(self._worker.call_ref(*args, **kwargs))

    def get(self, *args, **kwargs):
        return _perturb(self._worker.get(*args, **kwargs))

    def stream(self, *args, **kwargs):
        return _PerturbedStream(self._worker.stream(*args, **kwargs), _reads_perturbed)

    def train(self, *args, **kwargs):
        return _PerturbedStream(self._worker.train(*args, **kwargs), _perturb_result)


class _PerturbedStream:
    """A stream whose results come back through `change`: a `calls` request's with their reads
    perturbed, as the `get`s they replace were (Note [Reads folded into a call] in
    grader/worker/client.py; the calls' values as they were), a training's steps whole, loss
    and gradients, so that the judge's parameters leave the recorded ones as a real
    submission's would (Note [Training mirrored in the worker] in grader/worker/runtime.py)."""

    def __init__(self, stream, change) -> None:
        self._stream, self._change = stream, change

    def __getattr__(self, name: str):
        return getattr(self._stream, name)  # a training's `state`, as the stream learns it

    def __iter__(self):
        return self

    def __next__(self):
        return self._change(next(self._stream))

    def close(self) -> None:
        self._stream.close()


def _reads_perturbed(result):
    return dataclasses.replace(result, reads=_perturb(result.reads))


def _perturb_result(result):
    return dataclasses.replace(result, value=_perturb(result.value),
                               args_after=_perturb(result.args_after),
                               kwargs_after=_perturb(result.kwargs_after),
                               reads=_perturb(result.reads))


def _perturb(value):
    from ..worker.client import Converted
    if isinstance(value, np.ndarray) and value.dtype.kind in "fc":
        return value * (1 + 4 * np.finfo(value.dtype).eps)
    if isinstance(value, np.floating):
        return value * value.dtype.type(1 + 4 * np.finfo(value.dtype).eps)
    if type(value) is float:  # stays a Python float: numpy scalars cannot cross the wire
        return value * (1 + 4 * float(np.finfo(np.float64).eps))
    if isinstance(value, Converted):
        return dataclasses.replace(value, value=_perturb(value.value))
    if type(value) in (list, tuple):
        return type(value)(_perturb(v) for v in value)
    if type(value) is dict:
        return {k: _perturb(v) for k, v in value.items()}
    return value


# ---------------------------------------------------------------------------
# What goes in the folder
# ---------------------------------------------------------------------------

def release_layout(layout, course_dir: Path, stand_ins: bool = True):
    """How a release stages a submission: course files from `course_dir`, as the course's
    grader does, except that stand-ins replace nothing (Note [Course files in a release])."""
    if not stand_ins:
        return dataclasses.replace(layout, course_dir=Path(course_dir))
    return dataclasses.replace(layout, replace=(), course_dir=Path(course_dir),
                               provide=tuple(dict.fromkeys(layout.replace + layout.provide)))


def copy_course_files(source: Path, names, folder: Path) -> None:
    """The course's own copies of its course files, from `source` (--course-files)."""
    missing = [name for name in names if not (source / name).is_file()]
    if missing:
        raise ReleaseError(f"--course-files {source}: {', '.join(missing)} not found there (the "
                           f"assignment's course files are {', '.join(names)})")
    for name in names:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / name, folder / name)


def write_stand_ins(assignment: assignments.Assignment, names, folder: Path) -> None:
    """Generated stand-ins for the course files; Note [Course files in a release]."""
    from ..submission.stage import REFERENCE_COURSE_DIR
    source_dir = assignment.layout.course_dir or REFERENCE_COURSE_DIR
    for name in names:
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(stand_in(name, (source_dir / name).read_text()))


def stand_in(name: str, source: str) -> str:
    """A module with the public names of `source`, each raising 'not part of this release'."""
    tree = ast.parse(source)
    message = (f"{name} {STAND_IN_MARKER}: the course's grader supplies its own copy, so the "
               f"checks that run it are run only by the course's grader")
    lines = [f'"""Stand-in for the course file {name} in a student release (generated by `grade '
             f'release`).\n\nEvery function raises; use the copy your course handed out."""',
             "", f"_MESSAGE = {message!r}", ""]
    for node in tree.body:
        if getattr(node, "name", "").startswith("_"):
            continue
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            lines += ["", f"def {node.name}(*args, **kwargs):", "    raise RuntimeError(_MESSAGE)", ""]
        elif isinstance(node, ast.ClassDef):
            lines += ["", f"class {node.name}:", "    def __init__(self, *args, **kwargs):",
                      "        raise RuntimeError(_MESSAGE)", ""]
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Name) \
                and all(isinstance(t, ast.Name) for t in node.targets):
            lines.append(" = ".join(t.id for t in node.targets) + f" = {node.value.id}")
    return "\n".join(lines).rstrip() + "\n"


def _write_release(folder: Path, assignment: assignments.Assignment, public, summary: Summary,
                   points: dict, course_files, options: BuildOptions) -> None:
    internals = folder / INTERNALS
    shutil.copytree(assignment.folder / "starter", folder, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    manifest = yaml.safe_load((assignment.folder / "manifest.yml").read_text()) or {}
    staging = {k: manifest[k] for k in ("package", "files", "limits", "notebooks", "notebook_mode",
                                        "notebook_limits", "aliases", "any_file_name", "python_mode",
                                        "notebook_names", "other_versions") if k in manifest}
    layout = release_layout(assignment.layout, Path(INTERNALS) / "course",
                            stand_ins=options.course_files is None)
    staging["course_files"] = {"replace": list(layout.replace), "provide": list(layout.provide),
                               "stand_ins": options.course_files is None}
    config = {"schema": SCHEMA, "assignment": assignment.id, "title": assignment.title,
              "grader_version": __version__, "grader_requirement": options.grader_requirement,
              "conventions": dict(assignment.conventions), "staging": staging,
              "checks": list(summary.checks),
              "excluded": dict(summary.excluded), "hidden_checks": summary.hidden}
    (folder / CONFIG).write_text(
        "# A student release of the assignment (grade release); `grade check` reads it.\n"
        + yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    (internals / "rubric.yml").write_text(yaml.safe_dump(
        {"assignment": assignment.id, "hidden_details": False, "points": points}, sort_keys=False))
    package = assignment.layout.default_package
    titles = {c.id: c for c in public}
    view = {
        "assignment": assignment.id, "title": assignment.title, "package": package,
        "checks": [{"id": cid, "function": titles[cid].function, "title": titles[cid].title,
                    "points": points[cid]} for cid in summary.checks],
        "excluded": [{"id": cid, "function": titles[cid].function, "title": titles[cid].title,
                      "points": assignment.rubric.points[cid], "reason": why}
                     for cid, why in summary.excluded.items()],
        "hidden": summary.hidden, "max_score": summary.max_score,
        "course_files": list(course_files), "stand_ins": options.course_files is None,
        "conventions": dict(assignment.conventions),
        "grader_requirement": options.grader_requirement, "config": CONFIG,
        "workflow": str(WORKFLOW), "grader_version": __version__}
    (folder / "README.md").write_text(_render("release-README.md.j2", view))
    (folder / WORKFLOW).parent.mkdir(parents=True, exist_ok=True)
    (folder / WORKFLOW).write_text(render_workflow(package, ".", options.grader_requirement,
                                                   assignment.id))


def _render(template: str, view: dict) -> str:
    import jinja2
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                                      undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                                      trim_blocks=True, lstrip_blocks=True)
    return environment.get_template(template).render(**view)


def render_workflow(submission: str, release: str, requirement: str, assignment: str) -> str:
    """The course CI workflow (templates/github-workflow.yml.j2) for one release.

    Each setting is a repository variable with the release's value as its default,
    written as a JSON string (which YAML reads as a double-quoted scalar)."""
    def setting(name: str, default: str) -> str:
        return json.dumps("${{ vars.%s || '%s' }}" % (name, default.replace("'", "''")))

    env = {"GRADER_PACKAGE": setting("GRADER_PACKAGE", requirement),
           "RELEASE_DIR": setting("RELEASE_DIR", release),
           "SUBMISSION": setting("SUBMISSION", submission)}
    return _render("github-workflow.yml.j2", {"env": env, "assignment": assignment})


# ---------------------------------------------------------------------------
# Pruning hidden checks out of checks.py (Note [Hidden checks in a release])
# ---------------------------------------------------------------------------

def _hidden_positions(tree: ast.AST) -> dict[str, int]:
    """Function name -> the position of its `hidden` parameter, for every function the module
    defines (at any depth) and for Check itself (its sixth field)."""
    positions = {"Check": [f.name for f in dataclasses.fields(Check)].index("hidden")}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names = [a.arg for a in node.args.posonlyargs + node.args.args]
            if "hidden" in names:
                positions[node.name] = names.index("hidden")
    return positions


def _passes_hidden(node: ast.AST, positions: dict[str, int] | None = None) -> bool:
    """Whether `node` holds a call that asks for a hidden check: `hidden=True`, or `True` in the
    position of a `hidden` parameter of a function the module defines (`positions`)."""
    def is_true(value: ast.AST) -> bool:
        return isinstance(value, ast.Constant) and value.value is True

    for n in ast.walk(node):
        if not isinstance(n, ast.Call):
            continue
        if any(k.arg == "hidden" and is_true(k.value) for k in n.keywords):
            return True
        name = n.func.id if isinstance(n.func, ast.Name) else \
            n.func.attr if isinstance(n.func, ast.Attribute) else None
        index = (positions or {}).get(name)
        if index is not None and len(n.args) > index and is_true(n.args[index]) and \
                not any(isinstance(a, ast.Starred) for a in n.args[:index + 1]):
            return True
    return False


class _Source:
    """checks.py as bytes, with AST positions (UTF-8 byte columns) turned into offsets."""

    def __init__(self, text: str) -> None:
        self.data = text.encode()
        self.starts = [0]
        for line in self.data.splitlines(keepends=True):
            self.starts.append(self.starts[-1] + len(line))

    def span(self, node: ast.AST) -> tuple[int, int]:
        return (self.starts[node.lineno - 1] + node.col_offset,
                self.starts[node.end_lineno - 1] + node.end_col_offset)

    def text(self, node: ast.AST) -> str:
        start, end = self.span(node)
        return self.data[start:end].decode()

    def replace(self, start: int, end: int, new: str) -> str:
        return (self.data[:start] + new.encode() + self.data[end:]).decode()


def public_checks_source(path: Path) -> str:
    """The checks module at `path` as a release holds it: Note [Hidden checks in a release].

    The source pruning first, then, whatever form the samples take, every top-level name that
    only hidden checks reach at run time (`hidden_only_names`) is removed with what then goes
    unused.  A hidden check that is still built after this makes the release fail to build
    (`_no_hidden_left`), never ship."""
    text = prune_hidden(Path(path).read_text())
    namespace = _load_namespace(Path(path))
    only = hidden_only_names(namespace.get("CHECKS", ()), namespace)
    if not only:
        return text
    text = prune_hidden(_without_definitions(text, only))
    with tempfile.TemporaryDirectory(prefix="grader-release-prune-") as folder:
        pruned = Path(folder) / "checks.py"
        pruned.write_text(text)
        try:
            left = _load_namespace(pruned)
        except ReleaseError as exc:
            raise ReleaseError(f"{path}: without what only its hidden checks use "
                               f"({', '.join(sorted(only))}) it no longer loads ({exc}); a release "
                               f"would show their inputs (Note [Hidden checks in a release])") from None
    _no_hidden_left(left.get("CHECKS", ()), path)
    return text


def _load_namespace(path: Path) -> dict:
    import importlib.util
    import sys
    name = f"grader_release_prune_{abs(hash(str(path)))}_{id(path)}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise ReleaseError(f"loading {path}: {type(exc).__name__}: {exc}") from None
    finally:
        sys.modules.pop(name, None)
    return vars(module)


_LEAVES = (int, float, complex, str, bytes, bool, type(None), np.ndarray, np.generic)


def _reached(roots, namespace: dict, arrays: list | None = None) -> set[str]:
    """The top-level names of `namespace` that the objects `roots` reach: through closures,
    defaults, the globals their code names, containers, dataclasses and other instances of
    classes the module defines.  The arrays reached are appended to `arrays`."""
    import types
    by_id = {id(v): k for k, v in namespace.items()
             if not k.startswith("__") and not isinstance(v, _LEAVES + (types.ModuleType,))}
    module_name = namespace.get("__name__")
    names, seen, stack = set(), set(), list(roots)

    def code_names(code) -> set[str]:
        found = set(code.co_names)
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                found |= code_names(const)
        return found

    def visit_name(name: str) -> None:
        if name in namespace and not name.startswith("__") and name not in names:
            names.add(name)
            stack.append(namespace[name])

    while stack:
        item = stack.pop()
        if isinstance(item, np.ndarray) and arrays is not None and id(item) not in seen:
            arrays.append(item)
        if id(item) in seen or isinstance(item, _LEAVES + (types.ModuleType,)):
            continue
        seen.add(id(item))
        if id(item) in by_id:
            visit_name(by_id[id(item)])
        if isinstance(item, types.MethodType):
            stack += [item.__func__, item.__self__]
        elif isinstance(item, types.FunctionType):
            if item.__globals__ is not namespace:
                continue  # library or grader code: not the checks module's to prune
            stack += [c.cell_contents for c in item.__closure__ or () if _filled(c)]
            stack += [*(item.__defaults__ or ()), *(item.__kwdefaults__ or {}).values()]
            for name in code_names(item.__code__):
                visit_name(name)
        elif isinstance(item, (list, tuple, set, frozenset)):
            stack += list(item)
        elif isinstance(item, dict):
            stack += [*item.keys(), *item.values()]
        elif isinstance(item, type):
            if item.__module__ == module_name:
                stack += list(vars(item).values())
        elif hasattr(item, "func") and hasattr(item, "args") and hasattr(item, "keywords"):
            stack += [item.func, *item.args, *item.keywords.values()]  # functools.partial
        elif dataclasses.is_dataclass(item) or type(item).__module__ == module_name:
            stack.append(type(item))
            stack += list(getattr(item, "__dict__", {}).values())
            stack += [getattr(item, f.name, None) for f in dataclasses.fields(item)] \
                if dataclasses.is_dataclass(item) else []
    return names


def _filled(cell) -> bool:
    try:
        cell.cell_contents
    except ValueError:
        return False
    return True


def hidden_only_names(checks, namespace: dict) -> set[str]:
    """Top-level names of a checks module that its hidden checks reach and its public ones do
    not: their samples, seeds and sizes, in whatever form."""
    checks = [c for c in checks if isinstance(c, Check)]
    return (_reached([c for c in checks if c.hidden], namespace)
            - _reached([c for c in checks if not c.hidden], namespace) - {"CHECKS"})


def _without_definitions(text: str, names: set[str]) -> str:
    """`text` less its top-level definitions (def, class, assignment) of `names`."""
    source, tree = _Source(text), ast.parse(text)
    cuts = []
    for statement in tree.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined = {statement.name}
        elif isinstance(statement, (ast.Assign, ast.AnnAssign)):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            defined = {t.id for t in targets if isinstance(t, ast.Name)}
            if len(defined) != len(targets):
                continue
        else:
            continue
        if defined and defined <= names:
            first = min([statement.lineno] + [d.lineno for d in
                                              getattr(statement, "decorator_list", [])])
            cuts.append((source.starts[first - 1], source.starts[statement.end_lineno]))
    data = source.data
    for start, end in reversed(cuts):
        data = data[:start] + data[end:]
    return data.decode()


def _no_hidden_left(checks, where: Path) -> None:
    left = [c.id for c in checks if isinstance(c, Check) and c.hidden]
    if left:
        raise ReleaseError(f"{where}: the hidden checks {left} are still built by the pruned "
                           f"checks.py, so a release would show their inputs (Note [Hidden "
                           f"checks in a release]); build them with `hidden=True` in a list entry")


def prune_hidden(text: str) -> str:
    """`text` (a checks module) less the code that only builds hidden checks."""
    for _ in range(10000):
        source, tree = _Source(text), ast.parse(text)
        edit = (_hidden_entry(tree, source) or _hidden_loop_entry(tree, source)
                or _dead_hidden_branch(tree, source) or _dead_definition(tree, source))
        if edit is None:
            return text
        text = source.replace(*edit)
    raise ReleaseError("pruning hidden checks did not finish")


def _literals(node: ast.AST) -> bool:
    return isinstance(node, ast.List) or isinstance(node, ast.Tuple) and isinstance(node.ctx, ast.Load)


def _hidden_entry(tree: ast.Module, source: _Source) -> tuple[int, int, str] | None:
    """The first list or tuple entry, or statement, that builds a hidden check, and its edit."""
    positions = _hidden_positions(tree)
    for node in ast.walk(tree):
        if _literals(node):
            hidden = [e for e in node.elts if _passes_hidden(e, positions)]
            inner = [e for e in hidden if any(_literals(n) and n is not node and any(
                _passes_hidden(x, positions) for x in n.elts) for n in ast.walk(e))]
            if hidden and not inner:
                return (*source.span(node), _without(node, hidden, source))
    for node in ast.walk(tree):
        for body in (getattr(node, "body", None), getattr(node, "orelse", None)):
            for statement in body if isinstance(body, list) else []:
                if isinstance(statement, ast.Expr) and _passes_hidden(statement, positions):
                    start = source.starts[statement.lineno - 1]
                    end = source.starts[statement.end_lineno]
                    return start, end, " " * statement.col_offset + "pass\n"
    return None


def _is_hidden_name(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id == "hidden"


def _hidden_loop_entry(tree: ast.Module, source: _Source) -> tuple[int, int, str] | None:
    """A loop over literals with `hidden` among its targets (`for samples, hidden in ((a,
    False), (b, True))`): the entries where it is True."""
    for node in ast.walk(tree):
        if not isinstance(node, (ast.For, ast.comprehension)) or not _literals(node.iter):
            continue
        if _is_hidden_name(node.target):
            dropped = [e for e in node.iter.elts
                       if isinstance(e, ast.Constant) and e.value is True]
        elif isinstance(node.target, ast.Tuple) and any(map(_is_hidden_name, node.target.elts)):
            index = next(i for i, t in enumerate(node.target.elts) if _is_hidden_name(t))
            dropped = [e for e in node.iter.elts if _literals(e) and len(e.elts) > index
                       and isinstance(e.elts[index], ast.Constant) and e.elts[index].value is True]
        else:
            continue
        if dropped:
            return (*source.span(node.iter), _without(node.iter, dropped, source))
    return None


def _never_hidden(tree: ast.Module) -> set[str]:
    """Top-level functions with a `hidden=False` parameter that no call sets (any more)."""
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    called = {id(c.func) for c in calls}
    found = set()
    for function in tree.body:
        if not isinstance(function, ast.FunctionDef):
            continue
        arguments = function.args
        positional = [a.arg for a in arguments.posonlyargs + arguments.args]
        defaults = dict(zip(positional[len(positional) - len(arguments.defaults):],
                            arguments.defaults))
        defaults.update({a.arg: d for a, d in zip(arguments.kwonlyargs, arguments.kw_defaults)})
        default = defaults.get("hidden")
        if not (isinstance(default, ast.Constant) and default.value is False):
            continue
        uses = [n for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id == function.name
                and isinstance(n.ctx, ast.Load)]
        if any(id(u) not in called for u in uses):
            continue  # passed around as a value: who knows what calls it with
        index = positional.index("hidden") if "hidden" in positional else None
        ok = True
        for call in calls:
            if not (isinstance(call.func, ast.Name) and call.func.id == function.name):
                continue
            given = [k.value for k in call.keywords if k.arg == "hidden"]
            if index is not None and len(call.args) > index:
                given.append(call.args[index])
            if any(isinstance(a, ast.Starred) for a in call.args) or \
                    any(k.arg is None for k in call.keywords) or \
                    any(not (isinstance(g, ast.Constant) and g.value is False) for g in given):
                ok = False
        if ok:
            found.add(function.name)
    return found


def _dead_hidden_branch(tree: ast.Module, source: _Source) -> tuple[int, int, str] | None:
    """In a function never asked for hidden samples, an `if hidden:` block (without else) or
    the `x if hidden else y` of an expression."""
    names = _never_hidden(tree)
    for function in tree.body:
        if not isinstance(function, ast.FunctionDef) or function.name not in names:
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.IfExp) and _is_hidden_name(node.test):
                return (*source.span(node), "(" + source.text(node.orelse) + ")")
            for body in (getattr(node, "body", None), getattr(node, "orelse", None)):
                for statement in body if isinstance(body, list) else []:
                    if isinstance(statement, ast.If) and _is_hidden_name(statement.test) \
                            and not statement.orelse:
                        start = source.starts[statement.lineno - 1]
                        end = source.starts[statement.end_lineno]
                        alone = len(body) == 1
                        return start, end, " " * statement.col_offset + "pass\n" if alone else ""
    return None


def _without(node: ast.List | ast.Tuple, dropped: list, source: _Source) -> str:
    """The list or tuple `node` as source, less the entries `dropped`, laid out as it was."""
    start, end = source.span(node)
    kept = [source.text(e) for e in node.elts if e not in dropped]
    opening, closing = ("[", "]") if isinstance(node, ast.List) else ("(", ")")
    text = source.data[start:end].decode()
    if text[:1] != opening:  # a tuple without parentheses
        opening = closing = ""
    if not kept:
        return opening + closing if opening else "()"
    first, last = source.span(node.elts[0]), source.span(node.elts[-1])
    lead = source.data[start + len(opening):first[0]].decode()
    trail = source.data[last[1]:end - len(closing)].decode()
    multiline = "\n" in text
    separator = ",\n" + " " * node.elts[0].col_offset if multiline and "\n" in lead else ", "
    if isinstance(node, ast.Tuple) and len(kept) == 1 and "," not in trail:
        trail = "," + trail
    return opening + lead + separator.join(kept) + trail + closing


def _dead_definition(tree: ast.Module, source: _Source) -> tuple[int, int, str] | None:
    used: dict[str, int] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            used[node.id] = used.get(node.id, 0) + 1
    for statement in tree.body:
        if isinstance(statement, (ast.FunctionDef, ast.ClassDef)):
            name = statement.name
        elif isinstance(statement, ast.Assign) and len(statement.targets) == 1 \
                and isinstance(statement.targets[0], ast.Name):
            name = statement.targets[0].id
        else:
            continue
        if name == "CHECKS" or name.startswith("__"):
            continue
        inside = sum(1 for n in ast.walk(statement)
                     if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id == name)
        if used.get(name, 0) - inside == 0:
            first = min([statement.lineno] + [d.lineno for d in
                                              getattr(statement, "decorator_list", [])])
            return source.starts[first - 1], source.starts[statement.end_lineno], ""
    return None


# ---------------------------------------------------------------------------
# Reading a release (`grade check` inside DIR, or --release DIR)
# ---------------------------------------------------------------------------

def find(start: Path) -> Path | None:
    """The release folder `start` is (or is inside), or None."""
    start = Path(start).resolve()
    for folder in (start, *start.parents):
        if (folder / CONFIG).is_file():
            return folder
    return None


def read_config(folder: Path) -> dict:
    path = Path(folder) / CONFIG
    try:
        config = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ReleaseError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        raise ReleaseError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(config, dict) or config.get("schema") != SCHEMA:
        raise ReleaseError(f"{path} is not a {SCHEMA} release config")
    for key in ("assignment", "checks", "staging"):
        if key not in config:
            raise ReleaseError(f"{path}: missing {key!r}")
    return config


def load(folder: Path, conventions: dict | None = None) -> assignments.Assignment:
    """The release in `folder` as an Assignment whose checks replay its tape."""
    from ..submission.stage import Layout
    from ..worker.sandbox import Limits

    folder = Path(folder).resolve()
    config = read_config(folder)
    recorded = {str(k): str(v) for k, v in (config.get("conventions") or {}).items()}
    changed = {k: v for k, v in (conventions or {}).items() if recorded.get(k) != str(v)}
    if changed:
        raise ReleaseError(f"this release recorded its expected outputs with the conventions "
                           f"{recorded or 'of the assignment'}; it cannot check others "
                           f"({changed}): ask for a release built with them")
    internals = folder / INTERNALS
    staging = config["staging"]
    try:
        course_files = staging.get("course_files") or {}
        layout = Layout(files=dict(staging["files"]), default_package=staging.get("package", "cs231n"),
                        replace=tuple(course_files.get("replace") or ()),
                        provide=tuple(course_files.get("provide") or ()),
                        course_dir=internals / "course")
        layout, aliases = assignments.notebook_settings(staging, layout)
        limits = Limits(**(staging.get("limits") or {}))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ReleaseError(f"{folder / CONFIG}: bad staging settings ({type(exc).__name__}: "
                           f"{exc})") from None
    try:
        rubric = yaml.safe_load((internals / "rubric.yml").read_text()) or {}
        points = {str(k): float(v) for k, v in (rubric.get("points") or {}).items()}
        session = Replayer(internals / "expected")
        module = session.load_module(internals / "checks.py",
                                     f"grader_release_{config['assignment']}_{abs(hash(folder))}")
    except ReleaseError:
        raise
    except Exception as exc:  # a damaged release: said plainly, never a traceback
        raise ReleaseError(f"the release in {folder} cannot be loaded: {type(exc).__name__}: "
                           f"{exc}") from None
    by_id = {c.id: c for c in getattr(module, "CHECKS", ()) if isinstance(c, Check)}
    wanted = [str(c) for c in config["checks"]]
    missing = [c for c in wanted if c not in by_id or c not in points]
    if missing:
        raise ReleaseError(f"the release in {folder} lists checks its checks.py or rubric does "
                           f"not have: {missing}")
    checks = tuple(_replayed(session, by_id[c]) for c in wanted)
    return assignments.Assignment(
        str(config["assignment"]), str(config.get("title", config["assignment"])), layout, limits,
        checks, assignments.Rubric({c: points[c] for c in wanted}), folder, recorded, aliases)


def stand_ins(assignment: assignments.Assignment) -> tuple[str, ...]:
    """The course files a loaded release supplies as stand-ins (none when it ships copies)."""
    course_files = (read_config(assignment.folder)["staging"].get("course_files") or {})
    return tuple(course_files.get("provide") or ()) if course_files.get("stand_ins") else ()


def public_only(result: SubmissionResult, stand_ins=()) -> SubmissionResult:
    """`result` saying it is a public-checks-only run (and which course files were stand-ins)."""
    notes = []
    for note in result.notes:
        for name in stand_ins:
            if note == f"supplied the course's {name}":
                note = (f"{name} was not in the submission: supplied a stand-in that raises when "
                        f"called (the course's grader supplies its own copy)")
        notes.append(note)
    return dataclasses.replace(result, notes=(PUBLIC_ONLY, *notes))


__all__ = ["ReleaseError", "ReplayMismatch", "build", "find", "load", "public_only",
           "render_workflow", "prune_hidden", "stand_in", "unsupported"]
