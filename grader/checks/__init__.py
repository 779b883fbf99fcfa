"""Declarative checks: one registry entry per graded behaviour, run by pytest in the judge.

See Note [Checks are data] in grader/checks/spec.py.
"""
