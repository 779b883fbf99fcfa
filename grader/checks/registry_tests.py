"""The one pytest test module the grader runs: each registry entry is one test item.

pytest collects this file with the grading plugin (grader/scoring/plugin.py), which
parametrizes `check` with the assignment's registry; the student comes from the
plugin's `running()` (Note [Student without fixtures]).
"""

from __future__ import annotations

from grader.checks.compare import collecting_notes
from grader.scoring.plugin import running


def test_check(check) -> None:
    __tracebackhide__ = True
    student, record_property = running()  # Note [Student without fixtures] in grader/scoring/plugin.py
    student.call_timeout = check.timeout_s  # None: the assignment's per-call limit
    with collecting_notes() as notes:  # a shape accepted (Note [Singleton axes] in compare.py)
        details = check.run(student)
    if notes:  # a failing comparison says it in its own message; a passing check says it here
        student.notes.extend(notes)  # the plugin adds them to this check's message
        details = {**(details or {}), "notes": list(notes)}
    if details:  # a passing check may report facts it does not grade (Note [Checks are data])
        record_property("details", details)
