"""The `grade` command of the student package (Note [Student package] in grader/course/distribution.py).

Only `grade check` on a student release: the package has no assignments, rubrics or
reference to run the other commands with, so they are refused by name, saying why,
rather than failing on a missing module.
"""

from __future__ import annotations

import sys

STUDENT_COMMANDS = ("check",)
USAGE = """\
usage: grade check SUBMISSION [--release DIR] [--html FILE] [--json FILE] [-v]

The student side of dl-grader: runs a course release's public checks on your code.
Inside a release folder (one holding grader-release.yml), `grade check cs231n` needs
nothing else; `grade check --help` lists every option.
Exit status: 0 when every check passed, 1 when some check lost points, 2 when your
code could not be graded or the command was wrong."""


def main(argv: list[str] | None = None) -> int:
    from .. import cli
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    if command is None:
        if "--version" in argv:
            return cli.main(["--version"])
        print(USAGE)
        return 0 if {"-h", "--help"} & set(argv) else 2
    if command not in STUDENT_COMMANDS:
        print(f"grade: `{command}` is not part of the student package (dl-grader-student runs "
              f"`grade check` on a release; the course's grader, dl-grader, has the other "
              f"commands)", file=sys.stderr)
        return 2
    return cli.main(argv)


if __name__ == "__main__":
    sys.exit(main())
