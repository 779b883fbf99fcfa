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
    return parser


def _run_selfcheck(args: argparse.Namespace) -> int:
    from .selfcheck import run_selfcheck
    return run_selfcheck(include_frameworks=args.frameworks)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
