"""Which images the accuracy checks train on: the digits that ship with scikit-learn, or
the instructor's CIFAR-10 / Fashion-MNIST / CINIC-10 files (`--data-dir`).

(Being written: the loading and the per-data-set targets come next.)
"""

from __future__ import annotations

import contextlib
import contextvars
from pathlib import Path
from typing import Iterator

# The folder `--data-dir` named for the current submission's checks; None: digits.
data_dir: contextvars.ContextVar[Path | None] = contextvars.ContextVar("data_dir", default=None)


@contextlib.contextmanager
def using(folder: Path | None) -> Iterator[None]:
    """Train the accuracy checks inside the block on `folder`'s data set (None: digits)."""
    token = data_dir.set(Path(folder) if folder else None)
    try:
        yield
    finally:
        data_dir.reset(token)
