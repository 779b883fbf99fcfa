"""The `grade` command line.

Subcommands are added as the engine grows; each lives in its own module and
registers a parser here, so `grade --help` always lists exactly what works.
"""

from __future__ import annotations

import argparse
import sys

from . import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="grade",
        description="Autograder for deep-learning courses: checks a submission against "
                    "trusted reference implementations.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    selfcheck = commands.add_parser(
        "selfcheck",
        help="verify the reference library against the course's published values",
        description="Run the reference implementations on the course's published test "
                    "vectors and on numerical gradient checks, and print a table.",
    )
    selfcheck.add_argument("--frameworks", action=argparse.BooleanOptionalAction, default=True,
                           help="include the PyTorch and TensorFlow cross-checks (default: yes)")
    selfcheck.set_defaults(run=_run_selfcheck)

    check = commands.add_parser(
        "check", help="grade one submission (folder, .zip or .py) and print the verdict",
        description="Grade one submission against the reference. Exit status: 0 when every "
                    "check passed, 1 when some check lost points, 2 when the submission could "
                    "not be graded or the command was wrong.")
    check.add_argument("submission",
                       help="a course package folder, loose files, a .zip, a .py or an .ipynb")
    check.add_argument("--assignment", "-a", required=True, help="assignment id, e.g. fc_nets")
    check.add_argument("--json", metavar="FILE", help="write the grader.result/1 JSON here")
    check.add_argument("--html", metavar="FILE", help="write the HTML report here")
    check.add_argument("--sandbox", choices=("auto", "bwrap", "rlimits"), default=None,
                       help="how to confine student code (default: bwrap when installed)")
    check.add_argument("--worker-python", metavar="PATH", help="interpreter that runs student code")
    check.add_argument("-k", dest="select", metavar="EXPR", help="only checks matching EXPR (pytest -k)")
    check.add_argument("--course", metavar="FILE",
                       help="course settings (YAML): conventions per assignment, e.g. "
                            "'conventions: {dropout: {dropout_p: drop}}'")
    check.add_argument("--convention", action="append", default=[], metavar="NAME=VALUE",
                       help="override one of the assignment's conventions for this run "
                            "(wins over --course)")
    check.add_argument("--verbose", "-v", action="store_true", help="show whole failure messages")
    check.add_argument("--device", default="auto", metavar="auto|cpu|cuda[:N]",
                       help="where framework code (PyTorch, TensorFlow) runs: the first GPU when "
                            "there is one (auto, the default), the CPU, or one GPU; numpy "
                            "assignments always run on the CPU")
    check.add_argument("--data-dir", metavar="DIR",
                       help="train the accuracy checks on the CIFAR-10, Fashion-MNIST or CINIC-10 "
                            "files in DIR instead of scikit-learn's digits (nothing is downloaded)")
    check.add_argument("--notebook-mode", choices=("definitions", "execute"), default=None,
                       help="how a notebook is graded: its definitions only, or every cell run in "
                            "order (default: the assignment's manifest, else definitions)")
    check.set_defaults(run=_run_check)

    export = commands.add_parser(
        "export", help="convert grading results to CSV, Canvas, Gradescope or JUnit XML",
        description="Render grading results (a batch's OUT_DIR, a folder of result JSON files, or "
                    "one result file) in another format; nothing is regraded.")
    export.add_argument("results", metavar="OUT_DIR",
                        help="a batch output folder (its results/*.json), a folder of result "
                             "JSON files, or one result JSON file")
    export.add_argument("--format", required=True, choices=("csv", "canvas", "gradescope", "junit"),
                        help="csv: one row per submission; canvas: gradebook import CSV; "
                             "gradescope: results.json (one per submission); junit: JUnit XML")
    export.add_argument("--output", "-o", metavar="FILE",
                        help="where to write (default: standard output; for gradescope with "
                             "several submissions, a folder, default OUT_DIR/gradescope)")
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
                    "graded, 1 when some could not be, 2 when the command was wrong.")
    batch.add_argument("submissions", metavar="SUBMISSIONS_DIR", help="the class's submissions")
    batch.add_argument("--assignment", "-a", required=True, help="assignment id, e.g. fc_nets")
    batch.add_argument("--out", "-o", required=True, metavar="OUT_DIR", help="where results go")
    batch.add_argument("--workers", "-j", type=int, metavar="N",
                       help="submissions graded at once (default: the number of CPUs)")
    batch.add_argument("--regrade", action="store_true",
                       help="grade every submission again, even those unchanged since graded")
    batch.add_argument("--sandbox", choices=("auto", "bwrap", "rlimits"), default=None,
                       help="how to confine student code (default: bwrap when installed)")
    batch.add_argument("--worker-python", metavar="PATH", help="interpreter that runs student code")
    batch.add_argument("--select", "-k", metavar="EXPR", help="only checks matching EXPR (pytest -k)")
    batch.add_argument("--device", default="auto", metavar="auto|cpu|cuda[:N]",
                       help="where framework code runs (default auto: the first GPU when there is one)")
    batch.add_argument("--data-dir", metavar="DIR",
                       help="the accuracy checks' data set (CIFAR-10, Fashion-MNIST or CINIC-10 "
                            "files), as for check; default: scikit-learn's digits")
    batch.add_argument("--notebook-mode", choices=("definitions", "execute"), default=None,
                       help="how notebooks are graded (default: the assignment's manifest)")
    batch.add_argument("--course", metavar="FILE", help="course settings (YAML), as for check")
    batch.add_argument("--convention", action="append", default=[], metavar="NAME=VALUE",
                       help="override one of the assignment's conventions (wins over --course)")
    batch.set_defaults(run=_run_batch)
    return parser


def _run_check(args: argparse.Namespace) -> int:
    from pathlib import Path

    from . import assignment as assignments
    from .devices import DeviceError
    from .pipeline import Options, grade_submission, submission_device
    from .terminal import Progress, render

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
    try:
        assignment = assignments.load(args.assignment, conventions)
        submission_device(assignment, args.device)  # a wrong --device is the command's error
    except (assignments.AssignmentError, DeviceError) as exc:
        print(f"grade: {exc}", file=sys.stderr)
        return 2
    progress = Progress(len(assignment.checks))
    result = grade_submission(Path(args.submission), assignment,
                              Options(args.sandbox, args.worker_python, args.select, progress,
                                      notebook_mode=args.notebook_mode, device=args.device,
                                      data_dir=args.data_dir))
    progress.finish()
    print(render(result, verbose=args.verbose))
    if args.json:
        result.write(Path(args.json))
    if args.html:
        from .report import write_html
        write_html(result, Path(args.html))
        print(f"report: {args.html}")
    if result.status != "graded":
        return 2
    return 0 if all(c.status == "passed" for c in result.checks) else 1


def _run_selfcheck(args: argparse.Namespace) -> int:
    from .selfcheck import run_selfcheck
    return run_selfcheck(include_frameworks=args.frameworks)


def _run_batch(args: argparse.Namespace) -> int:
    from pathlib import Path

    from . import assignment as assignments
    from .batch import BatchError, BatchOptions, run_batch, summary

    conventions = {}
    try:
        if args.course:
            conventions.update(_course_conventions(Path(args.course), args.assignment))
        for item in args.convention:
            key, sep, value = item.partition("=")
            if not sep:
                raise ValueError(f"--convention expects NAME=VALUE, got {item!r}")
            conventions[key] = value
        if args.workers is not None and args.workers < 1:
            raise ValueError(f"--workers must be at least 1, not {args.workers}")
        assignment = assignments.load(args.assignment, conventions)
        outcome = run_batch(Path(args.submissions), assignment, Path(args.out),
                            BatchOptions(args.workers, args.regrade, args.sandbox,
                                         args.worker_python, args.select, args.notebook_mode,
                                         args.device, args.data_dir))
    except (ValueError, OSError, assignments.AssignmentError, BatchError) as exc:
        # OSError: an unreadable --course file or submissions folder, an output folder that
        # cannot be written.  The batch cannot go on; every result it wrote is kept.
        print(f"grade: {exc}", file=sys.stderr)
        return 2
    print(summary(outcome))
    return outcome.exit_status


def _run_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from . import export

    try:
        results = export.load(Path(args.results))
        roster = export.read_roster(Path(args.roster)) if args.roster else None
    except (export.ExportError, OSError) as exc:
        print(f"grade: {exc}", file=sys.stderr)
        return 2
    output = Path(args.output) if args.output else None
    if args.format == "gradescope" and (len(results) > 1 or (output and output.is_dir())):
        folder = output or Path(args.results) / "gradescope"
        for sid, result in results:
            _write(folder / f"{sid}.json", export.gradescope_json(result, args.hidden_visibility))
        print(f"wrote {len(results)} Gradescope results to {folder}/", file=sys.stderr)
        return 0
    if args.format == "gradescope":
        text = export.gradescope_json(results[0][1], args.hidden_visibility)
    elif args.format == "canvas":
        text = export.to_canvas(results, args.title or _assignment_title(results[0][1].assignment),
                                roster)
    elif args.format == "junit":
        text = export.to_junit(results)
    else:
        text = export.to_csv(results)
    if output is None:
        sys.stdout.write(text)
    else:
        _write(output, text)
    return 0


def _write(path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _assignment_title(assignment_id: str) -> str:
    """The manifest's title (read directly: an export needs no checks or rubric), else the id."""
    import yaml

    from .assignment import ASSIGNMENTS_DIR
    try:
        manifest = yaml.safe_load((ASSIGNMENTS_DIR / assignment_id / "manifest.yml").read_text()) or {}
        return str(manifest.get("title") or assignment_id)
    except (OSError, yaml.YAMLError, AttributeError):
        return assignment_id


def _course_conventions(path, assignment_id: str) -> dict:
    """Conventions the course settings file gives this assignment (precedence: manifest <
    course file < --convention)."""
    import yaml
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise ValueError("expected a mapping at the top level")
    per_assignment = (data.get("conventions") or {}).get(assignment_id) or {}
    if not isinstance(per_assignment, dict):
        raise ValueError(f"conventions.{assignment_id} must be a mapping")
    return {str(k): str(v) for k, v in per_assignment.items()}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
