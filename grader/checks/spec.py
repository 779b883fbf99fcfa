"""What a check is, and the one failure type checks raise.

# Note [Checks are data]
An assignment's checks module exposes `CHECKS`, a list of `Check` entries (the
OpInfo idea): an id, the student function it is about, a title, a hint, and
`run`, a function of a `Student` (grader/checks/student.py) that returns
normally when the student's code behaves and raises `CheckFailure` when it does
not.  A passing `run` may return a dict of details it measured without
grading them (a speed ratio, say); they land in the result's `details`.
Most entries are made by the builders in grader/checks/builders.py from a
compact table (function, sample inputs, reference, outputs, tolerance); the
behaviours no table captures (running averages, dropout statistics, training to
a target) are plain functions.  Generic pytest machinery (grader/scoring/plugin.py)
runs the list; nothing about scoring or rendering lives here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable


class CheckFailure(AssertionError):
    """The student's code ran but gave a wrong answer.  `message` is what the student reads;
    `cause` is the result's cause (Note [Causes] in grader/scoring/result.py): left empty, the plugin
    derives it (`wrong`, or the student exception this failure was raised while handling)."""
    cause = ""

    def __init__(self, message: str, *, hint: str = "", details: dict | None = None,
                 cause: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = details or {}
        if cause:
            self.cause = cause

    def looking_like(self, named: str) -> "CheckFailure":
        """This failure with "looks like: `named`" under its first line, before the rest (a
        traceback): how a check names a known mistake behind what the student's code raised
        (Note [Known mistakes that raise] in grader/checks/builders.py); itself when `named` is ''."""
        if not named:
            return self
        first, _, rest = self.message.partition("\n")
        return type(self)(f"{first}\nlooks like: {named}" + (f"\n{rest}" if rest else ""),
                          hint=self.hint, details=self.details)


@dataclass(frozen=True)
class Sample:
    """One set of inputs: positional args and keyword args of plain data."""
    name: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Check:
    """One graded behaviour.  See Note [Checks are data]."""
    id: str
    function: str
    title: str
    run: Callable[[Any], dict | None]
    hint: str = ""
    hidden: bool = False
    timeout_s: float | None = None
    # Note [Assigned parts] in grader/scoring/assignment.py; set by the loader, not by checks:
    # (convention, value, who, part, when) for each course edition that does not assign this
    # check's part; `when` (missing or failing) is when a failure of the check says so
    editions: tuple[tuple[str, str, str, str, str], ...] = ()
    # Computes the reference's answers to the check's fixed questions for the given
    # conventions, ahead of any submission (Note [Answers before the fork] in
    # grader/batch/job.py); None where the check keeps none (grader/checks/answers.py)
    prepare: Callable[[dict], None] | None = None

    def __post_init__(self) -> None:
        if "/" not in self.id:
            raise ValueError(f"check id {self.id!r} must look like 'function/behaviour'")
