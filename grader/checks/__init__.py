"""Declarative checks: one registry entry per graded behaviour, run by pytest in the judge.

See Note [Checks are data] in grader/checks/spec.py.  Also here: version-break hints for
failures (hints.py) and the judge's side of grading by observation (observe.py).
"""
