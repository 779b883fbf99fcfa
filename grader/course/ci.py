"""What a course repository's CI reports after `grade check`: the job summary and JUnit XML.

The release's workflow (templates/github-workflow.yml.j2) runs `grade check ... --json
grade-result.json`, which fails the job when a check loses points, then, whatever
happened, `python -m grader.course.ci grade-result.json --summary "$GITHUB_STEP_SUMMARY"
--junit grade-junit.xml`.  Both are rendered from the result JSON alone (the single
source of truth); nothing is graded here.  Part of the student package (Note [Student
package] in grader/course/distribution.py).
"""

from __future__ import annotations

import argparse
import sys
from collections import OrderedDict
from pathlib import Path

from ..report.atomic import write_atomic
from ..scoring.result import SubmissionResult, read_result


# Note [Advice in the job summary]
# A check the rubric gives 0 points only advises (Note [Advisory checks] in
# grader/scoring/assignment.py): `grade check` shows it as `advice` and exits 0 when nothing
# else failed.  The job summary listed it among the checks that "lost points" ("1 of 46 checks
# lost points in 1 functions", "0 / 0"), under a full score, and a student with every point
# was told to fix something.  The summary now lists the checks that cost points, and the
# advice after them under its own heading, saying it costs nothing.
def summary_markdown(result: SubmissionResult) -> str:
    """The job summary: the score, then each function that lost points with its checks, then
    the advice (Note [Advice in the job summary])."""
    lines = [f"## {result.assignment}: {result.score:g} / {result.max_score:g}", ""]
    if result.status != "graded":
        return "\n".join(lines + [f"Not graded: {_cell(result.message) or 'no message'}", ""])
    lost: OrderedDict[str, list] = OrderedDict()
    advice = [c for c in result.checks if c.status != "passed" and c.max_points == 0]
    for check in result.checks:
        if check.status != "passed" and check.max_points != 0:
            lost.setdefault(check.function, []).append(check)
    if not lost:
        lines.append(f"Every check passed ({len(result.checks)} checks)." if not advice else
                     f"No check lost points ({len(result.checks)} checks).")
    else:
        lines += [f"{sum(len(v) for v in lost.values())} of {len(result.checks)} checks lost points "
                  f"in {len(lost)} functions:", "", "| function | check | status | points | why |",
                  "| --- | --- | --- | --- | --- |"]
        for function, checks in lost.items():
            for check in checks:
                lines.append(f"| `{function}` | `{check.id}` | {check.status} | 0 / "
                             f"{check.max_points:g} | {_cell(_why(check))[:200]} |")
    if advice:
        lines += ["", f"Advice ({len(advice)}: checks worth 0 points, which never cost any):", "",
                  "| function | check | why |", "| --- | --- | --- |"]
        lines += [f"| `{c.function}` | `{c.id}` | {_cell(_why(c))[:200]} |" for c in advice]
    return "\n".join(lines + [""])


def _why(check) -> str:
    return check.message.strip().splitlines()[0] if check.shows_message and check.message.strip() else ""


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.course.ci", description=__doc__.splitlines()[0])
    parser.add_argument("result", help="the grader.result/1 JSON that `grade check --json` wrote")
    parser.add_argument("--summary", metavar="FILE",
                        help="append the Markdown summary here (GitHub's $GITHUB_STEP_SUMMARY)")
    parser.add_argument("--junit", metavar="FILE", help="write JUnit XML here")
    args = parser.parse_args(argv)
    try:
        result = read_result(Path(args.result))  # Note [A damaged result file] in grader/scoring/result.py
    except (OSError, ValueError) as exc:
        text = f"## public checks\n\nNo result to report: {args.result}: {exc}\n"
        if args.summary:
            with open(args.summary, "a") as stream:
                stream.write(text)
        print(text, file=sys.stderr)
        return 2
    markdown = summary_markdown(result)
    print(markdown)
    if args.summary:
        with open(args.summary, "a") as stream:
            stream.write(markdown + "\n")
    if args.junit:
        from .export import grading_times, to_junit  # graded when --json was written
        times = {result.submission: grading_times(Path(args.result))[Path(args.result).stem]}
        # Note [Every report written whole] in grader/report/atomic.py
        write_atomic(Path(args.junit), to_junit([(result.submission, result)], times))
    return 0


if __name__ == "__main__":
    sys.exit(main())
