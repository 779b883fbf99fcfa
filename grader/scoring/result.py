"""The `grader.result/1` document: the single source of truth for every report.

Results are small frozen dataclasses that serialise to JSON; reports, CSV,
Gradescope JSON and JUnit XML are rendered from this document and never
recompute anything (ARCHITECTURE.md, "Result schema").

# Note [Strict JSON]
A result file is strict JSON (RFC 8259), readable by a browser's `JSON.parse` and
by other languages: a non-finite number (an error of `inf`, a loss of `nan`) is
written as the string "inf", "-inf" or "nan", wherever it sits (`details`, charts,
scores); json.dumps runs with allow_nan=False, so nothing else can slip through.
Reading turns those three strings inside `details` back into floats, and reads
files written before this rule (bare `Infinity`/`NaN`, which Python's json accepts)
unchanged.

# Note [Bounded text]
Every string a submission can influence (exception type names, qualnames, the
"where" of an error, messages, notes, inline answers, names of files) is cut at the
boundary, so one crafted 2 MB class name cannot make a 76 MB result or report:
the worker client clips what the worker sends (grader/worker/client.py) and every
result object clips its own text fields when made (MAX_TEXT characters for a
message, note or answer, MAX_NAME for names and titles, also inside `details`; at
most MAX_NOTES notes and MAX_ANSWERS inline answers).  A cut string ends with how
much was left out.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

SCHEMA = "grader.result/1"
CHECK_STATUSES = ("passed", "failed", "error", "timeout", "skipped")
MAX_TEXT = 20_000  # characters; Note [Bounded text]
MAX_NAME = 300
MAX_NOTES = 200    # notes of one submission (a notebook may have 2,000 cells that raise)
MAX_ANSWERS = 100  # inline answers of one submission (a course has a dozen)
NON_FINITE = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}  # Note [Strict JSON]


def clip(text, limit: int = MAX_TEXT) -> str:
    """`text` as a string of at most `limit` characters, saying what was cut (Note [Bounded text]).
    Idempotent: clipping a clipped string changes nothing."""
    text = text if isinstance(text, str) else str(text)
    if len(text) <= limit:
        return text
    kept = max(0, limit - 48)  # room for the suffix
    return text[:kept] + f" [... {len(text) - kept} more characters not kept]"


def _clip_all(value, limit: int = MAX_TEXT, depth: int = 0):
    """Strings inside `value` (dict keys too) clipped; containers deeper than 50 dropped."""
    if isinstance(value, str):
        return clip(value, limit)
    if depth > 50:
        return "[nested too deeply, not kept]"
    if isinstance(value, dict):
        return {clip(k, MAX_NAME) if isinstance(k, str) else k: _clip_all(v, limit, depth + 1)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        clipped = [_clip_all(v, limit, depth + 1) for v in value]
        return tuple(clipped) if isinstance(value, tuple) else clipped
    return value


def _set(obj, **values) -> None:
    for name, value in values.items():
        object.__setattr__(obj, name, value)

# Note [Causes]
# A check that did not pass says why as data, in `cause`, so that a dashboard or a
# script never parses messages.  A small closed set, settled where failures are
# classified (grader/scoring/plugin.py `cause_of`, from the exception's type: CheckFailure
# and its MissingName / ImportFailure in grader/checks/, the worker's errors in
# grader/worker/client.py):
#   wrong            the code ran and returned a wrong answer (status `failed`)
#   raised           student code raised an exception (other than the next)
#   not_implemented  student code raised NotImplementedError (the starter's stub)
#   missing          the function, class or file is not in the submission
#   import_error     the file would not import (syntax error, failing import, hang)
#   timeout          a call ran out of time (now, or in an earlier check: Note [Fail fast])
#   crashed          the worker died (exit, signal, memory or output limit) or broke protocol
#   internal         a bug in the grader (details.internal; never the student's fault)
# `status` keeps its meaning (a student exception turned into a failure by a check
# stays `failed`); `cause` is null for `passed` and `skipped` checks and in
# documents written before it existed.
CAUSES = ("wrong", "raised", "not_implemented", "missing", "import_error", "timeout", "crashed",
          "internal")

SUBMISSION_STATUSES = ("graded", "error", "other_version")


# Note [Submission statuses]
# `graded`: the checks ran and `checks` holds their results.  `error`: nothing
# could be graded (no files found, several notebooks none of which the course's
# names pick, an import that timed out...); `message` says why.
# `other_version`: the notebook is of another version of the course (a TF1
# graph notebook, the 2017 PyTorch notebook; grader/submission/course_version.py), named
# in one line in `message`; no check ran, so `checks` is empty and `score` 0,
# but it is not a zero earned on this year's checks.  Both non-graded statuses
# make `grade check` exit 2.


# Note [Hidden checks]
# A hidden check (hidden samples the student never sees) is scored like any
# other; what a student may learn from it is the rubric's `hidden_details`.
# By default (`hidden`) only its title, status and points: reports, the
# terminal and the exports print "hidden check" instead of its message.  With
# `hidden_details: true` the check's visibility is `hidden_details`: its message
# and hint are shown (they say what is wrong, e.g. "dx differs in 12 of 48
# entries"), but never its pictures: the error map (where it differs) and any
# chart are dropped from the result at the boundary (grader/scoring/plugin.py).  The
# full message stays in the JSON either way, for the instructor.
@dataclass(frozen=True)
class CheckResult:
    id: str
    function: str
    title: str
    status: str
    points: float
    max_points: float
    visibility: str = "visible"     # "visible", "hidden" or "hidden_details" (Note [Hidden checks])
    message: str = ""
    hint: str = ""
    details: dict = field(default_factory=dict)
    duration_s: float = 0.0
    cause: str | None = None        # why it did not pass, one of CAUSES (Note [Causes])

    def __post_init__(self) -> None:
        if self.status not in CHECK_STATUSES:
            raise ValueError(f"unknown check status {self.status!r}")
        if self.cause is not None and self.cause not in CAUSES:
            raise ValueError(f"unknown check cause {self.cause!r}")
        _set(self, id=clip(self.id, MAX_NAME), function=clip(self.function, MAX_NAME),
             title=clip(self.title, MAX_NAME), message=clip(self.message), hint=clip(self.hint),
             details=_clip_all(self.details))  # Note [Bounded text]

    @property
    def shows_message(self) -> bool:
        """Whether a student may read this check's message and hint (Note [Hidden checks])."""
        return self.visibility in ("visible", "hidden_details")


@dataclass(frozen=True)
class InlineAnswer:
    """A notebook's answer to an inline question, for grading by hand (grader/submission/notebook.py).

    `points` are what the rubric's `manual:` table sets aside for it; they are not
    part of `score` or `max_score`."""
    question: str                   # "inline_question_1"
    answer: str                     # "" when the student left it unanswered
    points: float = 0.0
    prompt: str = ""
    notebook: str = ""

    def __post_init__(self) -> None:
        _set(self, question=clip(self.question, MAX_NAME), answer=clip(self.answer),
             prompt=clip(self.prompt, 2_000), notebook=clip(self.notebook, MAX_NAME))  # Note [Bounded text]


@dataclass(frozen=True)
class SubmissionResult:
    assignment: str
    submission: str
    status: str                     # SUBMISSION_STATUSES (Note [Submission statuses])
    score: float
    max_score: float
    duration_s: float
    environment: dict
    checks: tuple[CheckResult, ...] = ()
    message: str = ""
    notes: tuple[str, ...] = ()
    answers: tuple[InlineAnswer, ...] = ()

    def __post_init__(self) -> None:
        notes = tuple(clip(n) for n in self.notes[:MAX_NOTES])
        if len(self.notes) > MAX_NOTES:
            notes += (f"[... {len(self.notes) - MAX_NOTES} more notes not kept]",)
        _set(self, submission=clip(self.submission, MAX_NAME), message=clip(self.message),
             notes=notes, answers=tuple(self.answers[:MAX_ANSWERS]),
             environment=_clip_all(self.environment, MAX_NAME))  # Note [Bounded text]

    def score_cell(self, number: Callable[[float], object] = float) -> object:
        """The score a gradebook-like export writes, `number(score)`, or "" for a submission
        that was not graded: grades.csv, `grade export`'s csv and Canvas (Note [An ungraded
        submission has no score] in grader/course/export.py)."""
        return number(self.score) if self.status == "graded" else ""

    def to_dict(self) -> dict:
        data = {"schema": SCHEMA, **asdict(self)}  # checks and answers already dicts, in tuples
        for key in ("checks", "notes", "answers"):
            data[key] = list(data[key])
        return data

    def to_json(self) -> str:
        """Strict JSON (Note [Strict JSON])."""
        return json.dumps(strict(self.to_dict()), indent=2, sort_keys=False, allow_nan=False)

    def write(self, path: Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        from ..report.atomic import write_atomic  # Note [Atomic writes leave nothing behind]
        write_atomic(path, self.to_json())

    @classmethod
    def from_dict(cls, data: dict) -> "SubmissionResult":
        if data.get("schema") != SCHEMA:
            raise ValueError(f"not a {SCHEMA} document (schema={data.get('schema')!r})")
        fields = {k: v for k, v in data.items() if k != "schema"}
        fields["checks"] = tuple(CheckResult(**{**c, "details": _finite_back(c.get("details", {}))})
                                 for c in data.get("checks", []))
        fields["notes"] = tuple(data.get("notes", []))
        fields["answers"] = tuple(InlineAnswer(**a) for a in data.get("answers", []))
        return cls(**fields)


# Note [A damaged result file]
# A result file can be damaged after it was written: cut short by a full disk or a copy, edited
# by hand, another tool's JSON in the folder.  Every reader (the batch's reconciliation, the
# dashboard, `grade export`) read it with its own guess at what json.loads and from_dict raise,
# and the guesses differed: a file holding `[]` raised AttributeError, which the batch's
# reconciliation did not expect, and `grade batch` ended in a traceback; a score written as a
# string was read, and the export's arithmetic on it raised later.  `read_result` is the one
# reader: what it returns has the types the renderers rely on (numbers for the scores, times
# and points, strings for ids, statuses and messages), and a file it cannot read is one
# ValueError that says why, which each reader reports by the file's name and goes on with the
# others (Note [A damaged result costs only itself] in grader/course/export.py).
def read_result(path: Path) -> "SubmissionResult":
    """The result in the file at `path`; OSError when it cannot be read, ValueError (saying
    why) when it is not a whole grader.result/1 document (Note [A damaged result file])."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))  # a JSONDecodeError is a ValueError
    if not isinstance(data, dict):
        raise ValueError(f"not a {SCHEMA} document (a JSON {type(data).__name__})")
    try:
        result = SubmissionResult.from_dict(data)
    except (TypeError, KeyError, AttributeError) as exc:
        raise ValueError(f"not a whole {SCHEMA} document ({type(exc).__name__}: {exc})") from None
    _typed(result, {"assignment": str, "submission": str, "status": str, "message": str,
                    "score": float, "max_score": float, "duration_s": float, "environment": dict})
    for check in result.checks:
        _typed(check, {"id": str, "function": str, "title": str, "points": float,
                       "max_points": float, "duration_s": float, "details": dict},
               f"check {check.id!r}: " if isinstance(check.id, str) else "a check: ")
    return result


def _typed(obj, fields: dict, where: str = "") -> None:
    """ValueError naming the first of `fields` whose value in `obj` is not of its type (float:
    any number but a bool)."""
    for name, kind in fields.items():
        value = getattr(obj, name)
        ok = (isinstance(value, (int, float)) and not isinstance(value, bool)
              if kind is float else isinstance(value, kind))
        if not ok:
            raise ValueError(f"{where}{name} is {value!r}, not a "
                             f"{'number' if kind is float else kind.__name__}")


def strict(value):
    """`value` with numpy values made plain and non-finite floats as "inf", "-inf", "nan"
    (Note [Strict JSON]); what json.dumps(..., allow_nan=False) accepts."""
    if isinstance(value, dict):
        return {k: strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict(v) for v in value]
    if value is None or type(value) in (str, bool, int):
        return value
    if isinstance(value, float):  # numpy's float64 too
        return float(value) if math.isfinite(value) else ("nan" if value != value else
                                                          "inf" if value > 0 else "-inf")
    if isinstance(value, (str, int)):  # subclasses
        return str(value) if isinstance(value, str) else int(value)
    return strict(jsonable(value))


def _finite_back(value):
    """The strings Note [Strict JSON] writes for non-finite numbers, as floats again."""
    if isinstance(value, str):
        return NON_FINITE.get(value, value)
    if isinstance(value, dict):
        return {k: _finite_back(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite_back(v) for v in value]
    return value


def jsonable(value):
    """numpy scalars and arrays in `details` become plain JSON numbers and lists."""
    try:
        import numpy as np
    except ImportError:  # pragma: no cover
        raise TypeError(type(value).__name__)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
