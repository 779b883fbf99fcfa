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
    check.add_argument("submission", help="a course package folder, loose files, a .zip or a .py")
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
    check.set_defaults(run=_run_check)
    return parser


def _run_check(args: argparse.Namespace) -> int:
    from pathlib import Path

    from . import assignment as assignments
    from .pipeline import Options, grade_submission
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
    except assignments.AssignmentError as exc:
        print(f"grade: {exc}", file=sys.stderr)
        return 2
    progress = Progress(len(assignment.checks))
    result = grade_submission(Path(args.submission), assignment,
                              Options(args.sandbox, args.worker_python, args.select, progress))
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
