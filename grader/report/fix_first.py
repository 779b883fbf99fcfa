"""What a student should fix first: the failures of a result, in fix order, one line each.

The student report opens with this list and the terminal ends with it, so both say the
same thing in the same order; it is read from the grader.result/1 document alone.

# Note [Fix order]
A student reads the top of a report and stops, so the top says what to do next:
1. Whatever stops whole files from being graded, stated once however many checks it
   fails: a file that is missing, a file that does not import (`cause` `missing` or
   `import_error`, Note [Causes] in grader/scoring/result.py), grouped by its one-line message
   ("optim.py not found in the submission" once, not once per optimizer).
2. Then each function that lost points on anything else, in the assignment's order
   (the registry lists layers before the models built from them), except that a
   backward pass comes right after its forward pass: a wrong forward makes its
   backward's checks fail too, so fixing it first may fix both.
Each item has one diagnosis line (`diagnosis`: what differs, without the sample's label
or the tolerance, and, where a known bug matches, what it looks like) and the first line of its hint.  A hidden check gives
neither its message nor its hint (Note [Hidden checks] in grader/scoring/result.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..scoring.result import CheckResult, SubmissionResult

BLOCKING = ("missing", "import_error")
HIDDEN = "a hidden check failed (its inputs are not shown)"
_TOLERANCE = re.compile(r"; tolerance [^)]*(?=\))")


@dataclass(frozen=True)
class Fix:
    """One item of the fix-first list."""
    title: str                      # a function, or the file-level message of a blocker
    functions: tuple[str, ...]      # the functions whose points it costs
    lost: float                     # points lost to it
    diagnosis: str                  # one line
    hint: str = ""                  # one line, or ""
    blocker: bool = False           # a missing file or an import error (fix these first)


def diagnosis(check: CheckResult) -> str:
    """One line saying what is wrong with `check` (Note [Fix order]): its message's first
    line without the sample prefix, and what a known bug it matches looks like."""
    if not check.shows_message:
        return HIDDEN
    lines = [line.strip() for line in check.message.strip().splitlines() if line.strip()]
    if not lines:
        return check.status
    first = _TOLERANCE.sub("", without_sample(lines[0]))  # the same for every student
    looks = next((line for line in lines if line.startswith("looks like: ")), "")
    if looks:  # the numbers give way to the name of the mistake
        return f"{first.split(' (', 1)[0]}; {looks}"
    return first


def without_sample(line: str) -> str:
    """`line` less its leading "[sample ...]" label (which may hold brackets of its own)."""
    if not line.startswith("["):
        return line
    depth = 0
    for at, char in enumerate(line):
        depth += {"[": 1, "]": -1}.get(char, 0)
        if depth == 0:
            return line[at + 1:].lstrip()
    return line


def first_hint_line(check: CheckResult) -> str:
    if not check.shows_message or not check.hint.strip():
        return ""
    return check.hint.strip().splitlines()[0]


def _lost(checks) -> float:
    return round(sum(c.max_points - c.points for c in checks), 6)


def _forward_first(functions: list[str]) -> list[str]:
    ordered = list(functions)
    for name in functions:  # relu_backward, conv_backward_naive, ...
        if "backward" in name:
            forward = name.replace("backward", "forward")
            if forward in ordered and ordered.index(forward) > ordered.index(name):
                ordered.remove(name)
                ordered.insert(ordered.index(forward) + 1, name)
    return ordered


def fix_order(result: SubmissionResult) -> list[Fix]:
    """The result's failures as the list a student should work through (Note [Fix order])."""
    # a 0-point check only advises (Note [Advisory checks] in grader/scoring/assignment.py): nothing to fix
    failing = [c for c in result.checks
               if c.status not in ("passed", "skipped") and c.max_points > 0]
    blockers: dict[str, list[CheckResult]] = {}
    rest: dict[str, list[CheckResult]] = {}
    for check in sorted(failing, key=lambda c: c.cause != "missing"):  # missing files first
        if check.cause in BLOCKING and check.shows_message:
            blockers.setdefault(diagnosis(check), []).append(check)
        else:
            rest.setdefault(check.function, []).append(check)
    for function, checks in list(rest.items()):  # a hidden check failing for the same reason
        for line, blocked in blockers.items():
            if function in {c.function for c in blocked}:
                same = [c for c in checks if c.cause in BLOCKING]
                blocked += same
                checks[:] = [c for c in checks if c not in same]
                break
        if not checks:
            del rest[function]
    order = {c.function: at for at, c in enumerate(result.checks)}
    fixes = [Fix(line, tuple(dict.fromkeys(c.function for c in checks)), _lost(checks), line,
                 first_hint_line(checks[0]) if len({c.function for c in checks}) == 1 else "",
                 blocker=True)
             for line, checks in blockers.items()]
    for function in _forward_first(sorted(rest, key=order.__getitem__)):
        checks = rest[function]
        shown = next((c for c in checks if c.shows_message), checks[0])
        fixes.append(Fix(function, (function,), _lost(checks), diagnosis(shown),
                         first_hint_line(shown)))
    return fixes
