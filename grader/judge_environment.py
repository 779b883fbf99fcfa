"""What of the caller's environment the judge's own pytest session must not see.

Every process that judges calls `forget_pytest_environment` first: the `grade` command's
`main`, and a batch's job templates and job processes, which never run `main` (on a remote
Dask worker they start with the worker's environment).  A module of its own so that the
CLI and the batch's job processes share it without importing each other; see Note [The
judge's pytest is the grader's own] in grader/cli.py.
"""

from __future__ import annotations

import os

PYTEST_ENVIRONMENT = ("PYTEST_ADDOPTS", "PYTEST_PLUGINS")


def forget_pytest_environment() -> None:
    """Drop the variables through which a caller's pytest settings would reach the grader's
    own session (Note [The judge's pytest is the grader's own] in grader/cli.py)."""
    for name in PYTEST_ENVIRONMENT:
        os.environ.pop(name, None)
