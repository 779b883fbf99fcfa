"""The `grade` command line.

Subcommands are added as the engine grows; each lives in its own module and
registers a parser here, so `grade --help` always lists exactly what works.
"""

from __future__ import annotations

import argparse
import sys

from . import __version__


# Note [Parser of the command asked]
# The parser of every command (eight commands and their options, each with its help text) took
# 7.4 ms of the judge's CPU in each `grade check` on the benchmark VM (min of 7 fresh processes),
# to parse the one command asked for; check's own parser takes 0.7 ms.  So when a command line
# starts with `check`, `main` builds the parser with the other commands left out
# (`build_parser(only="check")`): their `add_parser` gives a stand-in that takes every call and
# keeps nothing.  check's parser is made by the very same lines, under the same parent (its
# usage still reads "grade check ..."), so `grade check` parses, refuses and explains its
# arguments exactly as before; every other command line, `grade --help` among them, gets the
# whole parser.
class _LeftOut:
    """A command's parser that `build_parser(only=...)` leaves out (Note [Parser of the command
    asked]): every method takes its arguments and returns a stand-in again."""

    def __getattr__(self, name: str):
        return lambda *args, **kwargs: self


class _Commands:
    """The subparsers action, with every command but `only` left out (None: none)."""

    def __init__(self, commands, only: str | None) -> None:
        self.commands, self.only = commands, only

    def add_parser(self, name: str, **kwargs):
        if self.only is None or name == self.only:
            return self.commands.add_parser(name, **kwargs)
        return _LeftOut()


# Note [Assignments named in the help]
# Every command's -a said "assignment id, e.g. fc_nets", so the help never said which ids there
# are: a new user learnt them from the error of a wrong guess.  The help now lists them, read
# from the course folder's manifests as `available()` reads them (a glob of eight folders; the
# module it comes from imports json and pathlib only, Note [Parser of the command asked]).
def _assignment_help(extra: str = "") -> str:
    """-a's help: the course's assignment ids (Note [Assignments named in the help])."""
    from .scoring.course_files import COURSE_ROOT
    ids = sorted(p.parent.name for p in (COURSE_ROOT / "assignments").glob("*/manifest.yml"))
    return f"assignment id: {', '.join(ids) or 'none found'}{extra}"


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The `grade` command's parser; `only`: with that command's alone (Note [Parser of the
    command asked])."""
    assignment_help = _assignment_help()
    parser = argparse.ArgumentParser(
        prog="grade",
        description="Autograder for deep-learning courses: checks a submission against "
                    "trusted reference implementations.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = _Commands(parser.add_subparsers(dest="command", metavar="COMMAND"), only)

    selfcheck = commands.add_parser(
        "selfcheck",
        help="verify the reference library against the course's published values",
        description="Run the reference implementations on the course's published test "
                    "vectors and on numerical gradient checks, and print a table.",
    )
    selfcheck.add_argument("--frameworks", action=argparse.BooleanOptionalAction, default=True,
                           help="include the PyTorch and TensorFlow cross-checks (default: yes)")
    selfcheck.set_defaults(run=_run_selfcheck)

    selftest = commands.add_parser(
        "selftest", help="prove an assignment's checks: the solution gets full marks, the "
                         "starter zero, and every check fails on some planted bug",
        description="Grade the assignment's solution (must get full marks), its starter code "
                    "(must score zero without crashing) and every mutant in "
                    "assignments/NAME/mutants.py (must lose points on its target), then list "
                    "each check with the mutants that make it fail. Exit status: 0 when all "
                    "holds, 1 when something does not (a check with no failing fixture, say), "
                    "2 when the command was wrong.")
    selftest.add_argument("--assignment", "-a", required=True, help=assignment_help)
    selftest.add_argument("--quick", action="store_true",
                          help="grade only the solution and the starter code")
    selftest.add_argument("--workers", "-j", type=int, metavar="N",
                          help="submissions graded at once (default: the number of CPUs)")
    selftest.add_argument("--sandbox", choices=("auto", "bwrap", "rlimits"), default=None,
                          help="how to confine the graded code (default: bwrap when installed)")
    selftest.add_argument("--secret", metavar="TEXT|random",
                          help="ask the questions official grading asks with this secret (or a "
                               "random one, printed), instead of the public ones a release "
                               "records (Note [Fresh questions] in grader/checks/questions.py)")
    selftest.set_defaults(run=_run_selftest)

    check = commands.add_parser(
        "check", help="grade one submission (folder, .zip, .py or .ipynb) and print the verdict",
        description="Grade one submission against the reference. Exit status: 0 when every "
                    "check passed, 1 when some check lost points, 2 when the submission could "
                    "not be graded or the command was wrong (a path that does not exist, a --json "
                    "or --html that cannot be written, no check selected), 130 after Ctrl-C.")
    check.add_argument("submission",
                       help="a course package folder, loose files, a .zip, a .py or an .ipynb")
    check.add_argument("--assignment", "-a",
                       help=_assignment_help(" (not needed inside a student release)"))
    check.add_argument("--release", metavar="DIR",
                       help="grade with the student release in DIR (`grade release`): its public "
                            "checks against recorded expected outputs; the default without -a "
                            "when run inside a release folder")
    check.add_argument("--json", metavar="FILE", help="write the grader.result/1 JSON here")
    check.add_argument("--html", metavar="FILE",
                       help="write the HTML report here (default: grade-reports/<assignment>-"
                            "<submission>.html in the current folder)")
    check.add_argument("--no-html", action="store_true", help="write no HTML report")
    check.add_argument("--verbose", "-v", action="store_true", help="show whole failure messages")
    _add_grading_options(check)
    check.set_defaults(run=_run_check)


    gradescope = commands.add_parser(
        "gradescope", help="build a Gradescope autograder zip (setup.sh, run_autograder)",
        description="Write an autograder zip for Gradescope that grades each submission with "
                    "this grader inside Gradescope's container (Note [Gradescope autograder] in "
                    "grader/course/gradescope.py). Exit status: 0 built, 2 it could not be built.")
    gradescope.add_argument("--assignment", "-a", required=True, help=assignment_help)
    gradescope.add_argument("--out", "-o", required=True, metavar="ZIP", help="the zip to write")
    gradescope.set_defaults(run=_run_gradescope)

    export = commands.add_parser(
        "export", help="convert grading results to CSV, Canvas, Gradescope or JUnit XML",
        description="Render grading results (a batch's OUT_DIR, a folder of result JSON files, or "
                    "one result file) in another format; nothing is regraded. Exit status: 0 "
                    "written, 1 written without the result files that could not be read (each "
                    "named on stderr), 2 nothing could be written.")
    export.add_argument("results", metavar="OUT_DIR",
                        help="a batch output folder (its results/*.json), a folder of result "
                             "JSON files, or one result JSON file")
    export.add_argument("--format", required=True, choices=("csv", "canvas", "gradescope", "junit"),
                        help="csv: one row per submission; canvas: gradebook import CSV; "
                             "gradescope: results.json (one per submission); junit: JUnit XML")
    export.add_argument("--output", "-o", metavar="FILE",
                        help="where to write (default: standard output; for gradescope with "
                             "several submissions, a folder of <submission>.json files, not a "
                             ".json file; default OUT_DIR/gradescope)")
    export.add_argument("--title", help="assignment name for the Canvas column (default: the "
                                        "assignment's title)")
    export.add_argument("--roster", metavar="CSV",
                        help="canvas: map submission ids to students (a 'submission' column plus "
                             "Student, ID, SIS User ID, SIS Login ID, Section)")
    export.add_argument("--hidden-visibility", default="after_published",
                        choices=("after_published", "after_due_date", "hidden"),
                        help="gradescope: when students see hidden checks' scores "
                             "(default: after_published)")
    export.set_defaults(run=_run_export)

    batch = commands.add_parser(
        "batch", help="grade a folder of submissions into a gradebook, resumably, in parallel",
        description="Grade every submission in SUBMISSIONS_DIR (folders, .zip, .py, .ipynb; "
                    "Gradescope, Canvas and GitHub Classroom downloads are recognised) and write "
                    "OUT_DIR/results/<id>.json, reports/<id>.html, grades.csv and "
                    "gradebook.sqlite. Run it again after a crash or a change: only what is "
                    "missing or changed is graded. Exit status: 0 when every submission was "
                    "graded, 1 when some could not be (or the Dask scheduler was lost), 2 when "
                    "the command was wrong (no submissions in the folder, no check selected), "
                    "130 after Ctrl-C.")
    batch.add_argument("submissions", metavar="SUBMISSIONS_DIR", help="the class's submissions")
    batch.add_argument("--assignment", "-a", required=True, help=assignment_help)
    batch.add_argument("--out", "-o", required=True, metavar="OUT_DIR", help="where results go")
    batch.add_argument("--workers", "-j", type=int, metavar="N",
                       help="submissions graded at once (default: the number of CPUs)")
    batch.add_argument("--regrade", action="store_true",
                       help="grade every submission again, even those unchanged since graded")
    batch.add_argument("--job-limit", type=float, metavar="SECONDS", dest="job_limit",
                       help="wall-clock limit of one submission's grading process; past it the "
                            "process is killed and the submission gets an error result (default: "
                            "twice the assignment's time budget and notebook limit, plus 60 s; "
                            "see Note [A limit per job] in grader/batch/run.py)")
    _add_grading_options(batch)
    batch.add_argument("--warm", action=argparse.BooleanOptionalAction, default=None,
                       help="fork each submission's workers from a zygote that has imported numpy "
                            "(and torch) once per worker slot; needs root and bubblewrap, not "
                            "for TensorFlow (default: warm where that is possible, else cold; "
                            "--warm says why when it is not; --no-warm: always cold; see "
                            "grader/worker/warm.py)")
    on_dask = batch.add_mutually_exclusive_group()  # grader/batch/cluster.py; README "Grading on a cluster"
    on_dask.add_argument("--cluster", choices=("local",),
                         help="grade on a Dask LocalCluster of --workers processes")
    on_dask.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                         help="grade on the Dask cluster whose scheduler is at this address")
    batch.set_defaults(run=_run_batch)

    env = commands.add_parser(
        "env", help="make or inspect a worker environment (the Python and NumPy that run "
                    "student code)",
        description="Student code can run under the course's own Python and NumPy rather than "
                    "the grader's: make such an environment with `create`, see what one holds "
                    "with `check`, then grade with --worker-python PATH or `worker_python: PATH` "
                    "in the --course file.")
    env_actions = env.add_subparsers(dest="env_action", metavar="ACTION", required=True)
    env_create = env_actions.add_parser(
        "create", help="make a virtual environment with a pinned NumPy for the worker",
        description="Make (or reuse, when it exists with the same pins) a virtual environment "
                    "holding an exact NumPy release from a wheel, plus requirements.lock to "
                    "make it again. Exit status: 0 made or reused, 2 it could not be made.")
    env_create.add_argument("--numpy", required=True, metavar="VERSION",
                            help="NumPy release: 1.26 (the newest 1.26.x) or 1.26.4")
    env_create.add_argument("--python", metavar="PATH",
                            help="the Python to base it on (default: the grader's own)")
    env_create.add_argument("--dir", metavar="DIR",
                            help="where to make it (default: ~/.cache/grader/envs/pyX.Y-numpyV)")
    env_create.add_argument("--with", dest="extra", action="append", default=[],
                            metavar="REQUIREMENT",
                            help="another pinned package for the worker, e.g. torch==2.3.1")
    env_create.add_argument("--force", action="store_true", help="rebuild it if it exists")
    env_create.set_defaults(run=_run_env_create)
    env_check = env_actions.add_parser(
        "check", help="report a worker environment's Python, NumPy, torch and TensorFlow",
        description="Report what a worker environment contains and whether the worker runtime "
                    "starts in it under the sandbox. Exit status: 0 usable, 1 not usable, 2 the "
                    "path names no interpreter.")
    env_check.add_argument("path", nargs="?", metavar="PATH",
                           help="an interpreter or an environment folder (default: the grader's "
                                "own interpreter, which runs student code unless told otherwise)")
    env_check.add_argument("--sandbox", choices=("auto", "bwrap", "rlimits"), default=None,
                           help="how to confine the worker (default: bwrap when installed)")
    env_check.set_defaults(run=_run_env_check)

    release_command = commands.add_parser(
        "release", help="build the student release of an assignment (starter code, public checks, "
                        "recorded expected outputs, README, CI workflow)",
        description="Write to DIR what students receive: the starter code, the assignment's "
                    "public checks with the reference's answers recorded (no reference code, no "
                    "hidden checks), a config, a README and a GitHub Actions workflow. `grade "
                    "check` run inside DIR then gives the course's grader's verdict on those "
                    "checks. Exit status: 0 built, 2 it could not be built.")
    release_command.add_argument("--assignment", "-a", required=True,
                                 help=assignment_help)
    release_command.add_argument("--out", "-o", required=True, metavar="DIR",
                                 help="the release folder: new, empty or an earlier release")
    release_command.add_argument("--grader-requirement", metavar="SPEC",
                                 help="what the README and the workflow tell pip to install "
                                      "(default: the student package in the release's wheels/)")
    release_command.add_argument("--course", metavar="FILE",
                                 help="course settings (YAML): conventions to record with")
    release_command.add_argument("--convention", action="append", default=[],
                                 metavar="NAME=VALUE",
                                 help="record with another convention (wins over --course)")
    release_command.add_argument("--course-files", metavar="DIR",
                                 help="the course's own copies of the course files the grader "
                                      "supplies (e.g. fast_layers.py, solver.py), shipped in the "
                                      "release; default: stand-ins, and the checks that run them "
                                      "are left to the course's grader")
    release_command.add_argument("--no-mutant-hints", dest="mutant_hints", action="store_false",
                                 help="do not record what the planted bugs' failures ask the "
                                      "reference (faster; the release then cannot name those "
                                      "known mistakes in its failure messages)")
    release_command.add_argument("--sandbox", choices=("auto", "bwrap", "rlimits"), default=None,
                                 help="how to confine the solution while proving the release")
    release_command.add_argument("--worker-python", metavar="PATH",
                                 help="interpreter that runs the graded code")
    release_command.set_defaults(run=_run_release)
    return parser


def _add_grading_options(command: argparse.ArgumentParser) -> None:
    """The options that decide how a submission is graded, the same for check and batch."""
    command.add_argument("--sandbox", choices=("auto", "bwrap", "rlimits"), default=None,
                         help="how to confine student code (default: bwrap when installed)")
    command.add_argument("--worker-python", metavar="PATH",
                         help="interpreter that runs student code")
    command.add_argument("--select", "-k", dest="select", metavar="EXPR",
                         help="only checks matching EXPR (pytest -k)")
    command.add_argument("--course", metavar="FILE",
                         help="course settings (YAML): conventions per assignment, e.g. "
                              "'conventions: {dropout: {dropout_p: drop}}', worker_python, "
                              "secret (the official questions' seed; Note [Fresh questions]), and "
                              "restore_numpy (false: no removed NumPy names served again)")
    command.add_argument("--convention", action="append", default=[], metavar="NAME=VALUE",
                         help="override one of the assignment's conventions for this run "
                              "(wins over --course)")
    command.add_argument("--device", default="auto", metavar="auto|cpu|cuda[:N]",
                         help="where framework code (PyTorch, TensorFlow) runs: the first GPU when "
                              "there is one (auto, the default), the CPU, or one GPU; numpy "
                              "assignments always run on the CPU")
    command.add_argument("--data-dir", metavar="DIR",
                         help="train the accuracy checks on the CIFAR-10, Fashion-MNIST or "
                              "CINIC-10 files in DIR instead of scikit-learn's digits (nothing is "
                              "downloaded)")
    command.add_argument("--notebook-mode", choices=("definitions", "execute"), default=None,
                         help="how a notebook is graded: its definitions only, or every cell run "
                              "in order (default: the assignment's manifest, else definitions)")


# Note [Start-up without the collector]
# Starting `grade check` (imports of numpy and pytest, the assignment's checks and
# references, pytest's collection) makes some hundred thousand objects and almost no
# garbage, yet the cyclic collector ran about 90 times over them, going through the young
# objects again and again: 25 ms of a quiet machine's `grade check` (60 ms on a busy one),
# to free some 600 objects.  So the collector is off from the command's start until the
# checks are collected; then what start-up made is frozen (`gc.freeze()`: kept, never
# traversed again, as a long-lived process's start-up state should be) and the collector
# runs as usual while the submission is graded.  Grading itself, the only part that
# depends on the submission, runs with the collector on, as before.  `grade batch` does the
# same in its own process, up to its checks' collection, before any job or worker starts.
# Note [What check imports]
# `grade check` imports what grading one submission needs and nothing else, each module where
# it is first used: the manifest before the worker is launched (its form parsed ahead, PyYAML
# only where that is not current or for a --course file: Note [Course files parsed ahead] in
# grader/scoring/course_files.py), numpy, the
# assignment's checks and references and pytest after (Note [Early start] in
# grader/worker/client.py, Note [Manifest before checks] in grader/scoring/assignment.py), Jinja2 only to write
# the HTML report (not with --no-html), the release builder (grader/course/release.py) only to
# grade with a student release, grader/worker/envs.py only for --worker-python or a --course
# file, grader/submission/course_version.py only for a notebook graded under a manifest that
# names other course versions; pytest's junitxml (and with it xml.etree) is not loaded (Note [Lean pytest] in
# grader/scoring/plugin.py); no sqlite3, no Dask.
def _run_check(args: argparse.Namespace) -> int:
    import gc
    gc.disable()  # Note [Start-up without the collector]
    try:
        return _check(args)
    finally:
        gc.enable()


def _check(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .worker import launch, sandbox
    if launch.sandbox_mode(args.sandbox) != "rlimits":
        sandbox.ask_bwrap_help_ahead()  # Note [bwrap --help asked ahead] in grader/worker/sandbox.py
    from .scoring import assignment as assignments
    from .worker.devices import DeviceError
    from .scoring.pipeline import Options, Grading, submission_device
    from .report.terminal import Progress, render

    try:
        release_dir = _release_folder(args)  # Note [Release layout] in grader/course/release.py
    except ValueError as exc:
        print(f"grade: {exc}", file=sys.stderr)
        return 2
    conventions = {}
    if args.course:
        try:
            conventions.update(_course_conventions(Path(args.course), args.assignment))
        except (OSError, ValueError) as exc:
            print(f"grade: --course {args.course}: {exc}", file=sys.stderr)
            return 2
    for item in args.convention:
        key, sep, value = item.partition("=")
        if not sep:
            print(f"grade: --convention expects NAME=VALUE, got {item!r}", file=sys.stderr)
            return 2
        conventions[key] = value
    errors: tuple = (assignments.AssignmentError, DeviceError, ValueError)
    if release_dir:  # the release builder imported only to grade with one (Note [What check imports])
        from .course import release
        errors += (release.ReleaseError,)
    if not Path(args.submission).exists():  # a typo, not a submission: no report is written
        print(f"grade: {args.submission} does not exist", file=sys.stderr)
        return 2
    try:
        # Note [Fresh questions] in grader/checks/questions.py: a release asks its recorded
        # public questions; the full grader the course's, or ones drawn for this run
        # Note [Manifest before checks] in grader/scoring/assignment.py: the full grader's checks
        # are imported once the worker is launched (`manifest.complete()` below)
        manifest = (None if release_dir
                    else assignments.read_manifest(args.assignment, conventions, _questions(args)))
        assignment = release.load(release_dir, conventions) if release_dir else manifest.assignment
        submission_device(assignment, args.device)  # a wrong --device is the command's error
        worker_python = _worker_python(args)
        if args.data_dir:  # a bad --data-dir is the command's error (a ValueError)
            from .checks.training_data import describe
            print(f"data: {describe(args.data_dir)}", file=sys.stderr)
    except errors as exc:
        print(f"grade: {exc}", file=sys.stderr)
        return 2
    progress = Progress(0)
    # Staged and its worker launched before pytest is imported and the checks collected, which
    # the worker's start overlaps (Note [Early start] in grader/worker/client.py).
    grading = Grading(Path(args.submission), assignment,
                      Options(args.sandbox, worker_python, args.select, progress,
                              notebook_mode=args.notebook_mode, device=args.device,
                              data_dir=args.data_dir),
                      name=submission_name(Path(args.submission)))
    platform_known = _platform_meanwhile()
    try:
        if manifest is not None:  # Note [Manifest before checks]: the worker starts meanwhile
            try:
                assignment = manifest.complete()
            except errors as exc:
                print(f"grade: {exc}{_frameworks_hint(exc)}", file=sys.stderr)
                return 2
            grading.complete(assignment)
        from .scoring.plugin import NoChecks, prepare_selected
        try:  # Note [Zero checks]; Note [One session for grade check] in grader/scoring/plugin.py
            selected = prepare_selected(assignment.checks, args.select)
            functions = {c.id: c.function for c in assignment.checks}
            # Note [A function's line when all its checks are done] in grader/report/terminal.py
            progress.expect([functions.get(i, i.split("/")[0]) for i in selected])
        except NoChecks as exc:
            print(f"grade: {exc}", file=sys.stderr)
            return 2
        import gc
        gc.freeze()  # Note [Start-up without the collector]: start-up is over
        gc.enable()
        platform_known.join()  # long done: no thread of its own runs while checks run
        # the worker stopped while the verdict is printed and written, `close` below waiting
        # for it (Note [Worker stopped behind the verdict] in grader/scoring/pipeline.py)
        result = grading.finish(behind=True)
        progress.finish()
        if release_dir:
            result = release.public_only(result, release.stand_ins(assignment))
        print(render(result, verbose=args.verbose))
        # Note [Command errors]: a file asked for and not written is the command's error (exit 2),
        # said in one line after the verdict, which is kept.
        unwritten = False
        if args.json:
            try:
                result.write(Path(args.json))
            except OSError as exc:
                print(f"grade: could not write --json {args.json}: {_reason(exc, args.json)}", file=sys.stderr)
                unwritten = True
        if not args.no_html:
            from .report.html import write_html
            html = Path(args.html) if args.html else default_report_path(result)
            try:
                write_html(result, html)
                print(f"report: {html}")
            except OSError as exc:  # a read-only folder must not cost the verdict just printed
                print(f"grade: could not write the report {html}: {_reason(exc, html)}", file=sys.stderr)
                unwritten = unwritten or bool(args.html)  # the default place is not asked for
    finally:
        grading.close()
    if result.status != "graded" or unwritten:
        return 2
    from .report.terminal import advisory  # Note [Advisory checks] in grader/scoring/assignment.py
    return 0 if all(c.status == "passed" or advisory(c) for c in result.checks) else 1


# Note [Platform while the worker starts]
# Every result names the judge's platform (`environment.platform`, platform.platform()), which
# on Linux asks `uname -p` in a subprocess the first time: 2-20 ms of the judge's own time
# at the end of grading.  `grade check` asks it in a thread while the judge imports numpy,
# the checks and pytest, which is mostly waiting for that subprocess; the module keeps the
# answer, so the result reads the same string from it.  The thread is started after the
# worker's process (so no fork of the judge runs beside it) and joined before the checks run.
# Note [Frameworks not installed]
# `pip install dl-grader` (or its wheel) installs the numpy assignments' needs; PyTorch and
# TensorFlow come with the `frameworks-cpu` or `frameworks-gpu` extra (README, "Quick start"),
# and the framework assignments' checks import them.  Without them `grade check -a pytorch`
# said only "<site-packages>/grader/assignments/pytorch/checks.py cannot be loaded:
# ModuleNotFoundError: No module named 'torch'", which reads like a broken install.  The line
# now ends with the command that installs the extra's pinned builds, read from the installed
# package's own metadata (the pins live in pyproject.toml alone: Note [Pinned dependencies]).
FRAMEWORK_MODULES = ("torch", "torchvision", "tensorflow", "keras")


def _frameworks_hint(exc: BaseException) -> str:
    """"; ... pip install ..." when `exc` comes from a framework that is not installed (Note
    [Frameworks not installed]), else ""."""
    cause = exc.__cause__
    if not (isinstance(cause, ModuleNotFoundError)
            and (cause.name or "").split(".")[0] in FRAMEWORK_MODULES):
        return ""
    from importlib import metadata
    try:
        pins = [r.split(";")[0].strip() for r in metadata.requires("dl-grader") or ()
                if "frameworks-cpu" in r.partition(";")[2]]
    except metadata.PackageNotFoundError:
        pins = []
    how = f"pip install {' '.join(pins)}" if pins else "the frameworks-cpu extra of dl-grader"
    return (f"; the grader was installed without the frameworks (PyTorch, TensorFlow): {how} "
            f"(the CPU builds; the frameworks-gpu extra for CUDA)")


def _platform_meanwhile():
    """A started thread that makes platform.platform(terse=True) known (Note [Platform while
    the worker starts])."""
    import platform
    import threading

    def ask() -> None:
        try:
            platform.platform(terse=True)
        except Exception:  # asked again, in the open, where the result is made
            pass
    thread = threading.Thread(target=ask, name="grader-platform", daemon=True)
    thread.start()
    return thread


def _output_folder(path: str, flag: str) -> None:
    """A ValueError of one line when `path` cannot be an output folder, said before any work
    (Note [Command errors]): a file there or on the way, or a folder that cannot be written."""
    import os
    from pathlib import Path
    folder = Path(path)
    if folder.exists():
        if not folder.is_dir():
            raise ValueError(f"{flag} {path}: a file, not a folder")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise ValueError(f"{flag} {path}: cannot be written (permission denied)")
        return
    for parent in folder.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ValueError(f"{flag} {path}: {parent} is a file, not a folder")
            if not os.access(parent, os.W_OK | os.X_OK):
                raise ValueError(f"{flag} {path}: {parent} cannot be written (permission denied)")
            return


def _reason(exc: OSError, path=None) -> str:
    """An OSError in a few words ("Permission denied"), without repeating the path; for a
    folder on the way that is a file, says which."""
    from pathlib import Path
    for parent in Path(path).parents if path is not None else ():
        if parent.exists():
            if not parent.is_dir():
                return f"{parent} is a file, not a folder"
            break
    return exc.strerror or str(exc)


def _run_gradescope(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .scoring import assignment as assignments
    from .course import gradescope
    try:
        out = gradescope.build(args.assignment, Path(args.out))
    except (OSError, assignments.AssignmentError) as exc:
        print(f"grade: {exc}", file=sys.stderr)
        return 2
    print(f"autograder for {args.assignment}: {out} (upload it as the assignment's autograder)")
    return 0


# Note [The release a submission is in]
# A student release is a folder students work in (`cd release && grade check cs231n`, README of
# the release).  Run from elsewhere (the repository's root, an editor's terminal in another
# folder) with the package inside the release, `grade check release/cs231n` answered "check
# needs --assignment ID, or --release DIR, or to be run inside a student release", though the
# release was plain from the path.  So without --assignment and --release, the release is the
# one the current folder is in, else the one the submission is in; the full grader is still
# chosen only by --assignment.
def _release_folder(args: argparse.Namespace):
    """The student release `grade check` uses, or None for the full grader: --release DIR,
    else the release the current folder is in when no --assignment is given.  Sets
    args.assignment to the release's assignment; ValueError says what is wrong."""
    if args.assignment and not args.release:  # the full grader (Note [What check imports])
        return None
    from pathlib import Path

    from .course import release
    if args.release:
        folder = Path(args.release)
        if not (folder / release.CONFIG).is_file():
            raise ValueError(f"--release {args.release}: no {release.CONFIG} there (make one "
                             f"with `grade release`)")
    elif args.assignment:
        return None
    else:
        folder = release.find(Path.cwd())
        if folder is None and Path(args.submission).exists():  # Note [The release a submission is in]
            folder = release.find(Path(args.submission))
        if folder is None:
            raise ValueError("check needs --assignment ID, or --release DIR, or to be run inside "
                             "a student release (a folder with grader-release.yml)")
    try:
        assignment_id = str(release.read_config(folder)["assignment"])
    except release.ReleaseError as exc:
        raise ValueError(str(exc)) from None
    if args.assignment and args.assignment != assignment_id:
        raise ValueError(f"--assignment {args.assignment} does not match the release in {folder}, "
                         f"which is {assignment_id}")
    args.assignment = assignment_id
    return folder


def _run_release(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .scoring import assignment as assignments
    from .course import release

    try:
        _output_folder(args.out, "--out")
        conventions = _conventions(args)
        options = release.BuildOptions(
            args.sandbox, _worker_python(args), args.grader_requirement or
            release.DEFAULT_REQUIREMENT, conventions,
            progress=lambda text: print(f"  {text}", file=sys.stderr),
            mutant_hints=args.mutant_hints,
            course_files=Path(args.course_files) if args.course_files else None)
        summary = release.build(args.assignment, Path(args.out), options)
    except (ValueError, OSError, assignments.AssignmentError, release.ReleaseError) as exc:
        print(f"grade: {exc}", file=sys.stderr)
        return 2
    print(summary.text())
    return 0


# Note [The submission's name]
# `grade check` names the submission (the result's `submission`, the table's first line, the
# default report's file name) after the path it was given, as `grade batch` names an entry of
# a class (grader/submission/discover.py): a folder by its whole name, a file by its stem.  The
# stem of the path as typed said nothing or the wrong thing for what students type: `grade
# check .` inside their package gave "" ("fc_nets: " and grade-reports/fc_nets-.html), `..`
# gave "..", and a folder `john.doe` gave "john".  So `.`, `..` and the like are resolved to
# the folder they name first.  A name that is not UTF-8 (bytes from another system's
# encoding) is shown with those bytes replaced, as discover.shown does for a class: as it
# came, it reached the terminal and the HTML report as lone surrogates, which no UTF-8
# writer accepts, and `grade check` died with a UnicodeEncodeError after grading.
def submission_name(path: "Path") -> str:
    """What `grade check` calls the submission at `path` (Note [The submission's name])."""
    if path.name in ("", ".", ".."):
        path = path.resolve()
    name = path.name if path.is_dir() else path.stem
    # discover.shown's conversion, without importing discover (PyYAML: Note [What check imports])
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace") or "submission"


def default_report_path(result) -> "Path":
    """Where `grade check` writes its report without --html: next to where it was run,
    one file per assignment and submission, so rerunning overwrites the old report."""
    from pathlib import Path
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in f"{result.assignment}-{result.submission}")
    return Path("grade-reports") / f"{safe}.html"


def _run_selfcheck(args: argparse.Namespace) -> int:
    from .course.selfcheck import run_selfcheck
    return run_selfcheck(include_frameworks=args.frameworks)


def _run_selftest(args: argparse.Namespace) -> int:
    from .course.selftest import run_selftest
    return run_selftest(args.assignment, quick=args.quick, workers=args.workers,
                        sandbox=args.sandbox, secret=args.secret)


def _run_batch(args: argparse.Namespace) -> int:
    import gc
    gc.disable()  # Note [Start-up without the collector], as for grade check
    try:
        return _batch(args)
    finally:
        gc.enable()


def _batch(args: argparse.Namespace) -> int:
    import gc
    from pathlib import Path

    from .scoring import assignment as assignments
    from .batch.run import BatchError, BatchOptions, run_batch, summary
    from .scoring.plugin import NoChecks, select_checks

    try:
        conventions = _conventions(args)
        _output_folder(args.out, "--out")
        if args.workers is not None and args.workers < 1:
            raise ValueError(f"--workers must be at least 1, not {args.workers}")
        if args.job_limit is not None and not args.job_limit > 0:  # NaN too
            raise ValueError(f"--job-limit must be a number of seconds above 0, not {args.job_limit}")
        _submissions_folder(Path(args.submissions))
        if args.scheduler is not None and ":" not in args.scheduler:
            raise ValueError(f"--scheduler expects an address like tcp://HOST:PORT, "
                             f"not {args.scheduler!r}")
        assignment = assignments.load(args.assignment, conventions,
                                      _questions(args, batch_out=Path(args.out)))
        _same_assignment(Path(args.out), assignment.id)  # Note [One assignment per output folder]
        select_checks(assignment.checks, args.select)  # Note [Zero checks] in grader/scoring/plugin.py
        gc.freeze()  # Note [Start-up without the collector]: before any job or worker starts
        gc.enable()
        if args.data_dir:  # a bad --data-dir is the command's error (a ValueError)
            from .checks.training_data import describe
            print(f"data: {describe(args.data_dir)}", file=sys.stderr)
        outcome = run_batch(Path(args.submissions), assignment, Path(args.out),
                            BatchOptions(args.workers, args.regrade, args.sandbox,
                                         _worker_python(args), args.select, args.notebook_mode,
                                         args.device, args.data_dir,
                                         args.cluster or args.scheduler, args.warm,
                                         args.job_limit))
    except (ValueError, OSError, assignments.AssignmentError, BatchError, NoChecks) as exc:
        # OSError: an unreadable --course file or submissions folder, an output folder that
        # cannot be written.  The batch cannot go on; every result it wrote is kept.
        print(f"grade: {exc}{_frameworks_hint(exc)}", file=sys.stderr)
        return 2
    print(summary(outcome))
    return outcome.exit_status


# Note [A class is a folder]
# `grade batch` grades the entries of a folder, one submission each.  What instructors hand it
# instead: the zip an LMS gives them (Canvas's and Gradescope's "download all" are zips), one
# student's package, a typo.  run_batch answered "X is not a folder" for all of them alike;
# this says which it is and what to do, before the output folder is made or anything loaded.
def _submissions_folder(folder: "Path") -> None:
    """A ValueError of one line when `folder` cannot be a class's submissions folder (Note [A
    class is a folder])."""
    if not folder.exists():
        raise ValueError(f"{folder} does not exist")
    if not folder.is_dir():
        unzip = (f" (unzip it into a folder first: unzip -d submissions {folder})"
                 if folder.suffix.lower() == ".zip" else "")
        raise ValueError(f"{folder} is a file: grade batch grades a folder that holds one entry "
                         f"per submission{unzip}; grade check grades a single submission")


# Note [One assignment per output folder]
# A batch's output folder is one assignment's gradebook: results/<id>.json, reports, grades.csv,
# the dashboard.  Graded again with another --assignment (the next week's `grade batch
# submissions/ -a cnn -o graded/`, reusing the folder), every submission's settings differ, so
# every one was regraded and its fc_nets result, report and grades.csv row replaced by the cnn
# ones, without a word: the first assignment's grades were gone.  So a folder whose results are
# another assignment's is refused before anything is graded, saying which it holds; one result
# file is read (they are all the same assignment's, by this rule), and an unreadable one
# decides nothing (the batch's reconciliation reports it).
def _same_assignment(out: "Path", assignment_id: str) -> None:
    """A ValueError of one line when `out` holds another assignment's results (Note [One
    assignment per output folder])."""
    import json
    found = sorted((out / "results").glob("*.json")) if (out / "results").is_dir() else []
    for path in found[:1]:
        try:
            other = json.loads(path.read_text()).get("assignment")
        except (OSError, ValueError, AttributeError):
            return
        if isinstance(other, str) and other != assignment_id:
            raise ValueError(f"--out {out} holds the results of {other} ({len(found)} in "
                             f"results/); grading {assignment_id} there would replace them: give "
                             f"each assignment its own output folder")


def _run_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .course import export

    unreadable: list = []  # Note [A damaged result costs only itself] in grader/course/export.py
    try:
        results = export.load(Path(args.results), unreadable)
    except (export.ExportError, OSError) as exc:
        print(f"grade: {exc}", file=sys.stderr)
        return 2
    try:
        roster = export.read_roster(Path(args.roster)) if args.roster else None
    except export.ExportError as exc:
        print(f"grade: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # one line naming the flag, not Python's "[Errno 2] ..." (Note [Command errors])
        print(f"grade: --roster {args.roster}: {_reason(exc, args.roster)}", file=sys.stderr)
        return 2
    code = _export(args, results, roster, several=len(results) + len(unreadable) > 1)
    if unreadable:  # Note [A damaged result costs only itself]: said even when writing failed
        base = Path(args.results)
        for file, why in unreadable:
            shown = file.relative_to(base) if file.is_relative_to(base) else file
            print(f"grade: {file.stem}: {shown} is not a readable grading result ({why}); left "
                  f"out of the export", file=sys.stderr)
        print(f"grade: {len(unreadable)} of {len(results) + len(unreadable)} result files could "
              f"not be read and are not in the export (named above); the other {len(results)} "
              f"are; grade those submissions again (grade batch) or restore the files",
              file=sys.stderr)
    return code or (1 if unreadable else 0)


# Note [Several Gradescope results need a folder]
# Gradescope reads exactly one results.json per submission, so `grade export --format gradescope`
# of several results writes a folder of <submission>.json files.  `-o gs.json` then made a
# folder named gs.json (as documented, and still a surprise: whoever names a .json expects a
# file); an -o that names an existing file failed with an OSError.  Both are now one line that
# says why and what to give instead, exit 2, and nothing is written.  An -o that is a folder,
# or a new name without .json, is the folder, as before.
def _export(args: argparse.Namespace, results: list, roster, several: bool) -> int:
    """Write `results` in args.format; the exit status (0, or 2 when it cannot be written).
    `several`: the input held more than one result file (Gradescope's folder of files)."""
    from pathlib import Path

    from .course import export
    output = Path(args.output) if args.output else None
    if (args.format == "gradescope" and several and output is not None and not output.is_dir()
            and (output.suffix.lower() == ".json" or output.exists())):
        # Note [Several Gradescope results need a folder]: before any warning, nothing is written
        print(f"grade: -o {output}: {len(results)} results make {len(results)} Gradescope "
              f"files (one <submission>.json each), and -o names one file; give -o a folder "
              f"(e.g. -o {output.with_suffix('')}/), or leave -o out for "
              f"{Path(args.results) / 'gradescope'}/", file=sys.stderr)
        return 2
    warnings: list[str] = []
    # Note [An ungraded submission has no score] in grader/course/export.py: said, never silent
    # (the three formats' warnings in one form: what the file holds, who, why)
    said = {"gradescope": "its Gradescope score is 0 with the reason",
            "csv": "its score left blank"}.get(args.format)
    if said:
        warnings += [f"not graded, {said}: {sid} ({(r.message.splitlines() or ['not graded'])[0]})"
                     for sid, r in results if r.status != "graded"]
    for warning in warnings:
        print(f"grade: warning: {warning}", file=sys.stderr)
    if args.format == "gradescope" and (several or (output and output.is_dir())):
        folder = output or Path(args.results) / "gradescope"
        try:
            for sid, result in results:
                _write(folder / f"{sid}.json", export.gradescope_json(result, args.hidden_visibility))
        except OSError as exc:
            print(f"grade: could not write {folder}: {_reason(exc, folder / 'x')}", file=sys.stderr)
            return 2
        print(f"wrote {len(results)} Gradescope results to {folder}/", file=sys.stderr)
        return 0
    if args.format == "gradescope":
        text = export.gradescope_json(results[0][1], args.hidden_visibility)
    elif args.format == "canvas":
        text = export.to_canvas(results, args.title or _assignment_title(results[0][1].assignment),
                                roster, export.identities(Path(args.results)), warnings)
        for warning in warnings:
            print(f"grade: warning: {warning}", file=sys.stderr)
    elif args.format == "junit":
        text = export.to_junit(results, export.grading_times(Path(args.results)))
    else:
        text = export.to_csv(results)
    from .report.text import writable  # Note [Names that are not UTF-8 in what is written]
    text = writable(text)
    if output is None:
        sys.stdout.write(text)
    else:
        try:
            _write(output, text)
        except OSError as exc:
            print(f"grade: could not write -o {output}: {_reason(exc, output)}", file=sys.stderr)
            return 2
    return 0


def _write(path, text: str) -> None:
    from .report.atomic import write_atomic  # Note [Every report written whole]
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, text)


def _assignment_title(assignment_id: str) -> str:
    """The manifest's title (read directly: an export needs no checks or rubric), else the id."""
    import yaml

    from .scoring.assignment import ASSIGNMENTS_DIR
    try:
        manifest = yaml.safe_load((ASSIGNMENTS_DIR / assignment_id / "manifest.yml").read_text()) or {}
        return str(manifest.get("title") or assignment_id)
    except (OSError, yaml.YAMLError, AttributeError):
        return assignment_id


def _conventions(args: argparse.Namespace) -> dict:
    """The run's conventions: the --course file's for this assignment, then each --convention
    (precedence: manifest < course file < --convention); ValueError or OSError says what is wrong."""
    from pathlib import Path
    conventions = {}
    if args.course:
        try:
            conventions.update(_course_conventions(Path(args.course), args.assignment))
        except (OSError, ValueError) as exc:
            raise ValueError(f"--course {args.course}: {exc}") from None
    for item in args.convention:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--convention expects NAME=VALUE, got {item!r}")
        conventions[key] = value
    return conventions


COURSE_KEYS = ("conventions", "worker_python", "secret", "restore_numpy")


def _questions(args: argparse.Namespace, batch_out=None):
    """The questions the full grader asks (Note [Fresh questions] in
    grader/checks/questions.py): the --course file's `secret:`, else the one kept in a batch's
    output folder (made on its first run, so resuming or regrading the folder asks the same
    questions), else one drawn for this run.  ValueError says what is wrong."""
    from pathlib import Path

    from .checks import questions
    if args.course:
        import yaml  # only for a course file (Note [Course files parsed ahead] in grader/scoring/course_files.py)
        try:
            data = yaml.safe_load(Path(args.course).read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ValueError(f"--course {args.course}: {exc}") from None
        if isinstance(data, dict) and data.get("secret") is not None:
            secret = data["secret"]
            secret = str(secret) if isinstance(secret, int) and not isinstance(secret, bool) else secret
            return questions.Questions(
                questions.valid_secret(secret, f"--course {args.course}: secret"), "course")
    if batch_out is None:
        return questions.Questions(questions.new_secret(), "run")
    from .batch.run import QUESTIONS_FILE
    path = Path(batch_out) / QUESTIONS_FILE  # written by run_batch (grader/batch/run.py)
    try:
        return questions.Questions(questions.valid_secret(path.read_text(), str(path)), "batch")
    except FileNotFoundError:
        return questions.Questions(questions.new_secret(), "batch")
    except OSError as exc:
        raise ValueError(f"{path}: {exc.strerror or exc}") from None


def _course_conventions(path, assignment_id: str) -> dict:
    """Conventions the course settings file gives this assignment (precedence: manifest <
    course file < --convention).  The whole file is checked first, every assignment it names
    (Note [Conventions] in grader/scoring/assignment.py): a file that is not YAML, a key, assignment or
    convention it does not know, or a value a convention does not allow is a ValueError of one
    line."""
    import yaml

    from .scoring import assignment as assignments
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise ValueError(f"not valid YAML ({problem}{where})") from None
    if not isinstance(data, dict):
        raise ValueError("expected a mapping at the top level")
    unknown = sorted(str(k) for k in data if k not in COURSE_KEYS)
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r}; a course file has {', '.join(COURSE_KEYS)}")
    if data.get("secret") is not None and not isinstance(data["secret"], (str, int)):
        raise ValueError("secret must be a string (Note [Fresh questions])")
    restore = data.get("restore_numpy")  # every assignment's (Note [Conventions] in grader/scoring/assignment.py)
    if restore is not None and _normal_word(restore) not in ("true", "false"):
        raise ValueError(f"restore_numpy must be true or false, not {restore!r}")
    known = assignments.available()
    conventions = data.get("conventions") or {}
    worker_python = data.get("worker_python")
    if not isinstance(conventions, dict):
        raise ValueError("conventions must map assignment ids to conventions")
    per_assignment_python = worker_python if isinstance(worker_python, dict) else {}
    for key, mapping in (("conventions", conventions), ("worker_python", per_assignment_python)):
        strangers = sorted(str(k) for k in mapping if k not in known)
        if strangers:
            raise ValueError(f"{key}: unknown assignment {strangers[0]!r}; assignments: "
                             f"{', '.join(known)}")
    for aid, given in conventions.items():
        if not isinstance(given, dict):
            raise ValueError(f"conventions.{aid} must be a mapping")
        try:
            assignments.check_conventions(aid, {str(k): str(v) for k, v in given.items()},
                                          where=f"conventions.{aid}")
        except assignments.AssignmentError as exc:
            raise ValueError(str(exc)) from None
    course_wide = {} if restore is None else {"restore_numpy": _normal_word(restore)}
    return course_wide | {str(k): str(v) for k, v in (conventions.get(assignment_id) or {}).items()}


def _normal_word(value) -> str:
    """A course file's true/false as a convention's word (YAML reads `false` as a bool)."""
    return str(value).strip().lower()


def _worker_python(args: argparse.Namespace) -> str | None:
    """The interpreter that runs student code (grader/worker/envs.py), with this precedence:
    --worker-python, then the course file's `worker_python:` (a path for every assignment, or
    a mapping from assignment id to path; relative to the course file), then the grader's own
    (None).  A path that names no interpreter is a ValueError saying where it came from."""
    if not (args.worker_python or args.course):  # the grader's own (Note [What check imports])
        return None
    from pathlib import Path

    import yaml

    from .worker.envs import EnvError, interpreter
    try:
        if args.worker_python:
            return interpreter(args.worker_python)
        if not args.course:
            return None
        data = yaml.safe_load(Path(args.course).read_text()) or {}
        value = data.get("worker_python") if isinstance(data, dict) else None
        if isinstance(value, dict):
            value = value.get(args.assignment)
        if value is None:
            return None
        if not isinstance(value, str):
            raise EnvError(f"worker_python must be a path or a mapping from assignment id to "
                           f"path, not {value!r}")
        return interpreter(value, base=Path(args.course).resolve().parent)
    except EnvError as exc:
        where = "--worker-python " if args.worker_python else f"--course {args.course}: worker_python: "
        raise ValueError(f"{where}{exc}") from None
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"--course {args.course}: {exc}") from None


def _run_env_create(args: argparse.Namespace) -> int:
    from .worker.envs import cli_create
    return cli_create(args)


def _run_env_check(args: argparse.Namespace) -> int:
    from .worker.envs import cli_check
    return cli_check(args)


# Note [Command errors]
# The exit status says what happened, the same in every command: 0 all is well, 1 points
# were lost (or, for batch, some submission could not be graded), 2 the command was wrong
# or a path it names cannot be used (no such submission, a --json, --html or -o that cannot
# be written, an empty submissions folder, no check selected: Note [Zero checks] in
# grader/scoring/plugin.py), and 130 after Ctrl-C, as a shell reports a command ended by SIGINT.
# Each is one line on stderr starting "grade: ", never a traceback.  A verdict already
# printed is kept: an unwritable --json still shows the score, and exits 2.
# Note [Quick exit]
# When a command ends, the interpreter's shutdown runs the cyclic garbage collector over
# everything still alive, several times, as it tears the modules down: with numpy, pytest,
# an assignment's checks and references loaded, 40 ms of a `grade check` on a quiet machine
# (and 100-200 ms when the machine is busy), for memory the operating system takes back at
# once.  So `main` asks for `gc.freeze()` at exit (an atexit callback, which runs before the
# shutdown's collections): what is alive then is left to the process's end.  Nothing is
# lost by it: files and reports are written and closed before a command returns, atexit
# callbacks (weakref finalizers, multiprocessing's clean-up) run as before, sys.stdout and
# sys.stderr are flushed by the shutdown itself, and objects freed by reference counting
# when the modules are cleared are freed as before; only objects in reference cycles are
# not collected, which the shutdown never promised.  A process that calls `main` several
# times (a test) gets the one callback, at its own exit.
_freeze_at_exit = []


def _quick_exit() -> None:
    """Note [Quick exit]."""
    if not _freeze_at_exit:
        import atexit
        import gc
        atexit.register(gc.freeze)
        _freeze_at_exit.append(True)


# Note [Exit without teardown]
# Once `grade check` has returned its exit status, everything it promised is done: the verdict
# printed, the JSON and HTML written and closed, the worker's tree killed and its cgroup
# removed, the staged copy and the scratch folder deleted.  What the interpreter's shutdown
# still does is tear down every module (numpy, pytest, the checks and the references), freeing
# object after object of memory the operating system takes back at once: 20-70 ms of a
# `grade check` on a loaded machine, after Note [Quick exit].  So when `main` runs as the
# command itself (the `grade` script or `python -m grader`: no argv given), `check` ends with
# `os._exit` once the threads the shutdown would wait for have ended (a worker being stopped
# after Ctrl-C: Note [Teardown in parallel] in grader/scoring/pipeline.py), the standard
# streams are flushed and the atexit callbacks have run (weakref finalizers, such as a
# temporary folder's, and logging's shutdown are among them), so that nothing but the module
# teardown is skipped.  A caller that passes argv (a test, another
# command) gets the exit status back, as before, with the usual shutdown at its own end.
def _exit_now(code: int) -> None:
    """Note [Exit without teardown]."""
    import atexit
    import os
    import threading
    for thread in threading.enumerate():  # as the shutdown would: a worker still being stopped
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    atexit._run_exitfuncs()
    os._exit(code)


# Note [The judge's pytest is the grader's own]
# The grader runs its checks in a pytest session of its own (grader/scoring/plugin.py), and
# pytest reads two variables from the environment of whoever runs `grade`: PYTEST_ADDOPTS
# (options added to every session) and PYTEST_PLUGINS (plugins to load).  CI jobs set them
# for their own test suites (`--junitxml=report.xml`, `--timeout=60`, `-n auto`, `-p xdist`),
# and the grader's session took them too: with any option of a plugin the grader leaves out
# (junitxml, pytest-timeout, xdist, the cache's `--lf`) or a plugin not installed, `grade
# check` and `grade batch` refused to grade ("pytest collected no check (exit code 4: ...
# unrecognized arguments: --junitxml=report.xml)"), a message about the grader's insides.  The
# session's options are the grader's alone, so every command starts without these two
# variables; student code never sees the judge's environment anyway.  A batch's jobs do not
# run `main`: on a remote Dask worker they are forks of a template the worker started, or a
# `python -m grader.batch.cluster` of its own, with the worker's environment (its own CI's
# or its shell's PYTEST_ADDOPTS), so the template and every job process drop them too
# (`forget_pytest_environment` in grader/judge_environment.py, called by
# grader/batch/template.py's main and grader/batch/job.py's init_job_process).


def main(argv: list[str] | None = None) -> int:
    _quick_exit()
    from .judge_environment import forget_pytest_environment
    forget_pytest_environment()  # Note [The judge's pytest is the grader's own]
    asked = sys.argv[1:] if argv is None else argv
    # Note [Parser of the command asked]
    parser = build_parser(only="check" if asked[:1] == ["check"] else None)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        code = args.run(args)
    except KeyboardInterrupt:  # Note [Command errors]
        print("\ngrade: interrupted", file=sys.stderr)
        code = 130
    if argv is None and args.command == "check":
        _exit_now(code)  # Note [Exit without teardown]
    return code


if __name__ == "__main__":
    sys.exit(main())
