"""The one pytest test module the grader runs: each registry entry is one test item.

pytest collects this file with the grading plugin (grader/plugin.py), which
parametrizes `check` with the assignment's registry and provides `student`.
"""

from __future__ import annotations


def test_check(check, student) -> None:
    __tracebackhide__ = True
    check.run(student)
