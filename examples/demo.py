"""`make demo`: grade the bundled example submissions and say where the reports are.

The examples in examples/fc_nets/ are a small class for the `fc_nets` assignment:
ada (correct, written with loops), ben (two classic bugs, partly done, under
another package name), cy (hostile: cheats, hangs, kills its own process, hogs
memory), dee (a zip with Python 2 syntax).  Each is graded exactly as
`grade check` would, with JSON and HTML written under out/demo/.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from grader import assignment as assignments
from grader.pipeline import Options, grade_submission
from grader.report import write_html

EXAMPLES = Path(__file__).resolve().parent / "fc_nets"
OUT = Path("out") / "demo"


def main() -> int:
    assignment = assignments.load("fc_nets")
    submissions = sorted(p for p in EXAMPLES.iterdir() if p.is_dir() or p.suffix == ".zip")
    print(f"Grading {len(submissions)} example submissions for '{assignment.id}' "
          f"({len(assignment.checks)} checks each); the hostile one takes ~20 s (it loops forever).\n")
    start = time.perf_counter()
    rows = []
    for path in submissions:
        name = path.stem
        result = grade_submission(path, assignment, Options(), name=name)
        result.write(OUT / "results" / f"{name}.json")
        write_html(result, OUT / "reports" / f"{name}.html")
        lost = list(dict.fromkeys(c.function for c in result.checks if c.points < c.max_points))
        summary = result.message if result.status != "graded" else (
            "full marks" if not lost else "lost points in " + ", ".join(lost[:4])
            + (f" and {len(lost) - 4} more" if len(lost) > 4 else ""))
        rows.append((name, result.score, result.max_score, result.duration_s, summary))
        print(f"  {name:<5} {result.score:5g} / {result.max_score:g}  {result.duration_s:5.1f}s  {summary}")
    print(f"\nDone in {time.perf_counter() - start:.1f} s (student code isolated with "
          f"{result.environment.get('sandbox')}).")
    print(f"HTML reports: {(OUT / 'reports').resolve()}/<name>.html")
    print(f"JSON results: {(OUT / 'results').resolve()}/<name>.json")
    print("Grade your own: .venv/bin/grade check PATH -a fc_nets --html report.html")
    return 0


if __name__ == "__main__":
    sys.exit(main())
