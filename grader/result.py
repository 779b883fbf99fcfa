"""The `grader.result/1` document: the single source of truth for every report.

Results are small frozen dataclasses that serialise to JSON; reports, CSV,
Gradescope JSON and JUnit XML are rendered from this document and never
recompute anything (ARCHITECTURE.md, "Result schema").
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

SCHEMA = "grader.result/1"
CHECK_STATUSES = ("passed", "failed", "error", "timeout", "skipped")
SUBMISSION_STATUSES = ("graded", "error", "other_version")


# Note [Submission statuses]
# `graded`: the checks ran and `checks` holds their results.  `error`: nothing
# could be graded (no files found, several notebooks none of which the course's
# names pick, an import that timed out...); `message` says why.
# `other_version`: the notebook is of another version of the course (a TF1
# graph notebook, the 2017 PyTorch notebook; grader/course_version.py), named
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
# chart are dropped from the result at the boundary (grader/plugin.py).  The
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

    def __post_init__(self) -> None:
        if self.status not in CHECK_STATUSES:
            raise ValueError(f"unknown check status {self.status!r}")

    @property
    def shows_message(self) -> bool:
        """Whether a student may read this check's message and hint (Note [Hidden checks])."""
        return self.visibility in ("visible", "hidden_details")


@dataclass(frozen=True)
class InlineAnswer:
    """A notebook's answer to an inline question, for grading by hand (grader/notebook.py).

    `points` are what the rubric's `manual:` table sets aside for it; they are not
    part of `score` or `max_score`."""
    question: str                   # "inline_question_1"
    answer: str                     # "" when the student left it unanswered
    points: float = 0.0
    prompt: str = ""
    notebook: str = ""


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

    def to_dict(self) -> dict:
        data = {"schema": SCHEMA, **asdict(self)}
        data["checks"] = [asdict(c) for c in self.checks]
        data["notes"] = list(self.notes)
        data["answers"] = [asdict(a) for a in self.answers]
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False, default=_jsonable)

    def write(self, path: Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(self.to_json())
        tmp.replace(path)

    @classmethod
    def from_dict(cls, data: dict) -> "SubmissionResult":
        if data.get("schema") != SCHEMA:
            raise ValueError(f"not a {SCHEMA} document (schema={data.get('schema')!r})")
        fields = {k: v for k, v in data.items() if k != "schema"}
        fields["checks"] = tuple(CheckResult(**c) for c in data.get("checks", []))
        fields["notes"] = tuple(data.get("notes", []))
        fields["answers"] = tuple(InlineAnswer(**a) for a in data.get("answers", []))
        return cls(**fields)


def _jsonable(value):
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
