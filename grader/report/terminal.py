"""What `grade check` prints: a live progress line (plain lines in a log), then a compact
table per function.

# Note [Terminal layout]
Each check that did not pass gets one line, and that line is its diagnosis (what
differs and, where a known bug matches, what it looks like: `diagnosis` in
grader/report/fix_first.py), cut to the terminal's width rather than to a fixed 100
columns, so the line that matters shows without `-v`.  `-v` adds the whole message
and the hint below it.  The table ends with the same fix-first list as the report
(Note [Fix order]), so the last thing on the screen, above the score, is what to do
next.  Every piece of student-controlled text goes through `_shown` before layout.
"""

from __future__ import annotations

import shutil
import sys
from collections import OrderedDict
from typing import TextIO

from .fix_first import diagnosis, fix_order
from ..scoring.result import CheckResult, SubmissionResult

# Note [Terminal text]
# Student text (exception messages, names of files, notes) reaches the terminal; raw,
# an escape sequence in it could move the cursor, clear lines and draw a fake
# "score 51 / 51".  Everything printed here and in grade batch's progress goes through
# `printable`: control characters (C0, DEL, C1) and the invisible format characters that
# reorder or hide text (bidirectional overrides, zero-width characters) are shown as
# escapes (`\x1b`, `\u202e`), never interpreted.  Only the line breaks the grader
# itself puts between lines are kept.  Lone surrogates are escaped too (`\udcff`): a file name
# that is not UTF-8 comes to Python as one (a message of staging names the folder it found
# empty), and no UTF-8 terminal writer accepts it: `grade check` died printing the table.
_ESCAPED = {c: f"\\x{c:02x}" for c in [*range(0x00, 0x20), *range(0x7f, 0xa0)]}
_ESCAPED.update({c: f"\\u{c:04x}" for c in [*range(0x200b, 0x2010), *range(0x2028, 0x202f),
                                             *range(0x2060, 0x2070), 0xfeff, 0x061c,
                                             *range(0xd800, 0xe000)]})
_ESCAPED.update({ord("\t"): "    "})


def printable(text: str) -> str:
    """One line of `text` safe to print: control and format characters escaped."""
    return str(text).translate(_ESCAPED)


def printable_lines(text: str) -> str:
    """`text` with its "\n" line breaks kept and everything else as `printable` shows it."""
    return "\n".join(printable(line) for line in str(text).split("\n"))


MARKS = {"passed": "ok", "failed": "FAIL", "error": "ERROR", "timeout": "TIMEOUT", "skipped": "skip",
         "note": "note"}


# Note [Progress in a log]
# On a terminal, `grade check` shows one status line that rewrites itself ("[12/46]
# affine_backward/dx: passed").  Where stderr is not a terminal (a CI job's log, a file) that
# line was left out, and the log stayed silent for the whole grading: 15-40 s for a framework
# assignment, which reads as a hang.  Rewriting a line there would fill the log with carriage
# returns, so it gets what pytest and pip give a CI log instead: plain lines, each written
# once and flushed at once.  One line per function, when its checks are done ("[ 7/46]
# affine_forward: 3 passed (0.4s)"), as pytest gives one per test file: a line every few
# seconds, fifteen-odd lines for an assignment, each saying what finished, how it went and
# how long it took.  The lines go to stderr only: stdout keeps the table alone, and --json and
# --html are files, so what a script reads is unchanged.
#
# Note [A function's line when all its checks are done]
# A function's checks do not always run together: cnn's hidden pooling checks come after both
# pooling functions' public ones, so a line per run of adjacent checks named
# max_pool_forward_naive and max_pool_backward_naive twice each ("1 passed", then "1 passed"
# again), which reads as two functions, or one graded twice, and neither line said how the
# function did as a whole.  So `expect` is told, before grading, which function each selected
# check belongs to, and a function's line is written when its last check is in, counting all
# of them ("[12/45] max_pool_backward_naive: 2 passed").  A function that is not told of (a
# Progress used without `expect`) gets its line when the next function's check arrives, as
# before; whatever has not had its line at `finish` (a run cut short) gets it then, in the
# order the functions began.
class Progress:
    """A self-overwriting status line on a terminal; one plain line per function otherwise,
    when its checks are all done (Note [Progress in a log], Note [A function's line when all
    its checks are done])."""

    def __init__(self, total: int, stream: TextIO = sys.stderr) -> None:
        self.total, self.done, self.stream = total, 0, stream
        self.live = stream.isatty()
        # not live: each function's checks in so far, in the order the functions began, and
        # how many of its checks are still to come (Note [A function's line when all its
        # checks are done])
        self.groups: OrderedDict[str, list[CheckResult]] = OrderedDict()
        self.pending: dict[str, int] = {}

    def expect(self, functions: list[str]) -> None:
        """The function of every selected check, one entry per check; sets `total`."""
        self.total = len(functions)
        self.pending = {}
        for function in functions:
            self.pending[function] = self.pending.get(function, 0) + 1

    def __call__(self, result: CheckResult) -> None:
        self.done += 1
        if self.live:
            self.stream.write(f"\r\033[K[{self.done}/{self.total}] {printable(result.id)}: "
                              f"{result.status}")
            self.stream.flush()
            return
        function = result.function
        for other in [f for f in self.groups if f != function and f not in self.pending]:
            self._line(other, self.done - 1)  # not told of: its line once another's check comes
        self.groups.setdefault(function, []).append(result)
        if function in self.pending:
            self.pending[function] -= 1
            if self.pending[function] <= 0:
                del self.pending[function]
                self._line(function, self.done)

    def _line(self, function: str, done: int) -> None:
        """The line of `function`'s checks, written when the `done`th check is in."""
        group = self.groups.pop(function)
        counts: OrderedDict[str, int] = OrderedDict()
        for check in group:
            word = "advice" if check.status != "passed" and advisory(check) else check.status
            counts[word] = counts.get(word, 0) + 1
        said = ", ".join(f"{n} {word}" for word, n in counts.items())
        seconds = sum(c.duration_s for c in group)
        width = len(str(self.total))
        self.stream.write(f"[{done:>{width}}/{self.total}] {printable(function)}: "
                          f"{said} ({seconds:.1f}s)\n")
        self.stream.flush()

    def finish(self) -> None:
        if self.live:
            self.stream.write("\r\033[K")
            self.stream.flush()
            return
        for function in list(self.groups):
            self._line(function, self.done)


FIX_FIRST_SHOWN = 5


def _shown(text: str) -> str:
    """Student-controlled text as it may be printed (the one place to make it safe)."""
    return text


def _first_line(text: str, width: int = 100) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= width else line[: max(width - 3, 0)] + "..."


def terminal_width() -> int:
    """The terminal's width ($COLUMNS first); 100 where output is not a terminal."""
    return shutil.get_terminal_size((100, 24)).columns


def render(result: SubmissionResult, verbose: bool = False, width: int | None = None) -> str:
    """The table; student text in it shown, never interpreted (Note [Terminal text])."""
    return printable_lines(_render(result, verbose, width))


def _render(result: SubmissionResult, verbose: bool = False, width: int | None = None) -> str:
    columns = max(width or terminal_width(), 40)
    lines = [f"{result.assignment}: {result.submission}"]
    if result.status != "graded":
        lines.append(f"{'other_version' if result.status == 'other_version' else 'could not be graded'}: "
                     f"{result.message}")
        return "\n".join(lines)
    by_function: OrderedDict[str, list[CheckResult]] = OrderedDict()
    for check in result.checks:
        by_function.setdefault(check.function, []).append(check)
    width = max((len(f) for f in by_function), default=10)
    for function, checks in by_function.items():
        got = sum(c.points for c in checks)
        total = sum(c.max_points for c in checks)
        status = "ok" if all(c.status == "passed" or advisory(c) for c in checks) else "--"
        lines.append(f"  {status:2} {function:<{width}}  {got:g}/{total:g}")
        for check in checks:
            if check.status == "passed" and check.shows_message:
                # a passed check's notes: a shape accepted (Note [Singleton axes] in compare.py)
                behaviour = check.id.split("/", 1)[1]
                notes = list(check.details.get("notes", ()))
                for note in notes if verbose else notes[:1]:
                    more = f" (+{len(notes) - 1} more)" if len(notes) > 1 and not verbose else ""
                    text = _first_line(note, width=100 if not verbose else len(note))
                    lines.append(f"       {MARKS['note']:7} {behaviour}: {text}{more}")
            if check.status != "passed":
                behaviour = check.id.split("/", 1)[1]
                mark = "advice" if advisory(check) else MARKS[check.status]
                head = f"       {mark:7} {behaviour}: "
                said = _shown(diagnosis(check)) if check.shows_message else "hidden check"
                lines.append(head + _first_line(said, width=len(said) if verbose
                                                else columns - len(head)))
                if verbose and check.shows_message:
                    lines += [f"         {l}" for l in _shown(check.message).splitlines()]
                    if check.hint:  # one line per hint (grader/checks/hints.py puts each first)
                        first, *more = _shown(check.hint).splitlines()
                        lines.append(f"         hint: {first}")
                        lines += [f"               {l}" for l in more]
    lines += _fix_first(result, columns)
    lines.append(f"score {result.score:g} / {result.max_score:g}   "
                 f"({result.duration_s:.1f}s, sandbox: {result.environment.get('sandbox')}"
                 f"{_memory_scope(result.environment)}{_worker_versions(result.environment)})")
    for note in result.notes:
        lines.append(f"note: {note}")
    return "\n".join(lines)


def advisory(check: CheckResult) -> bool:
    """A 0-point check: it reports, never costs (Note [Advisory checks] in grader/scoring/assignment.py)."""
    return check.max_points == 0


def _fix_first(result: SubmissionResult, width: int) -> list[str]:
    """The report's fix-first list, shortest form (Note [Terminal layout])."""
    fixes = fix_order(result)
    if not fixes:
        return []
    lines = ["fix first:"]
    for at, fix in enumerate(fixes[:FIX_FIRST_SHOWN], 1):
        what = (f"{_shown(fix.title)} ({', '.join(fix.functions)})" if fix.blocker
                else f"{fix.title}: {_shown(fix.diagnosis)}")
        lines.append("  " + _first_line(f"{at}. {f'-{fix.lost:g}':<4} {what}", width=width - 2))
    if len(fixes) > FIX_FIRST_SHOWN:
        lines.append(f"  and {len(fixes) - FIX_FIRST_SHOWN} more (see the report)")
    return lines


def _memory_scope(environment: dict) -> str:
    """", memory: 4096 MiB for the whole submission (cgroup v2)" or "... per process (rlimit)":
    the first clause of environment.isolation.memory (Note [Memory per submission] in
    grader/worker/cgroup.py); empty for results that do not say."""
    isolation = environment.get("isolation")
    memory = isolation.get("memory") if isinstance(isolation, dict) else None
    return f", memory: {_shown(memory.split(';')[0])}" if isinstance(memory, str) and memory else ""


def _worker_versions(environment: dict) -> str:
    """What ran the student's code (", worker Python 3.11.7, NumPy 1.26.4"), which may differ
    from the judge's own Python (grader/worker/envs.py); empty for results that do not say."""
    python, numpy = environment.get("worker_python"), environment.get("worker_numpy")
    return f", worker Python {python}, NumPy {numpy}" if python else ""
