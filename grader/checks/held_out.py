"""Test images the worker cannot look up: the digits test set, perturbed afresh in every run.

Why it exists: the accuracy checks train on scikit-learn's bundled digits, and
scikit-learn is importable inside the worker (the sandbox mounts the whole
Python environment the worker shares with the judge; Note [Held-out test
images]).  A model sent the test images exactly as `load_digits` stores them
can find each one there and answer its label without having learned
anything.  `perturbed(x)` is what those checks send instead; the labels stay
in the judge, which computes the accuracy from the scores the worker returns.

# Note [Held-out test images]
Every accuracy check on digits (pytorch ThreeLayerConvNet/accuracy and
Sequential/accuracy, tensorflow's `trains`, tf_norms' NormalizedCNN/trains_*)
sends the worker the test images plus Gaussian noise of standard deviation
NOISE, clipped to [0, 1], drawn with a seed the judge takes from the
operating system's randomness once per process (`run_seed`) and never sends.
The images keep their shape, layout and meaning, so a convnet's task is
unchanged (no permutation or shift, which would change what a convolution
sees), and no file in the sandbox holds them: an exact or hashed lookup in
scikit-learn's copy finds nothing.  The labels never leave the judge; the
training images and labels do (training needs them), and they are the 80 %
of digits that are not test images.

What this does not stop: a "model" that returns the label of the nearest
scikit-learn digit is a nearest-neighbour classifier; with the noise it still
finds most test images, but a nearest-neighbour classifier on the training
images alone (which the worker is given anyway) is about as accurate on
digits, so accuracy cannot tell them apart on this data set.  The
architecture checks (`out`, `init`) judge the model itself.  Removing
scikit-learn from the worker's view is not possible while the worker shares
the judge's Python environment; the perturbation is what makes the lookup
useless.

The thresholds were re-measured on perturbed test sets (see each check's
Note): the noise costs the reference at most a point or two.  The accuracy
on digits therefore varies slightly between runs (the seed is in no result,
so a regrade draws new noise); the margins between the reference and the
thresholds are several times that variation.
"""

from __future__ import annotations

import contextlib
import functools
import secrets

import numpy as np

NOISE = 0.05


# Note [A fixed noise seed for measurements]
# A measurement of a check's spread (benchmarks/training_tails.py) needs many noise draws in
# one process, and a test that grades one submission twice needs the same draw both times to
# tell the submission's own variation from the noise's.  `fixed_seed(n)` makes `run_seed()`
# answer n inside its block.  Nothing in grading calls it: a run's seed stays secret.
_FIXED: list[int] = []


@functools.cache
def _secret_seed() -> int:
    return secrets.randbits(63)


def run_seed() -> int:
    """This process's secret seed for the test images' noise; Note [Held-out test images]
    (inside `fixed_seed(n)`: n, Note [A fixed noise seed for measurements])."""
    return _FIXED[-1] if _FIXED else _secret_seed()


@contextlib.contextmanager
def fixed_seed(seed: int):
    """`run_seed()` is `seed` inside the block; Note [A fixed noise seed for measurements]."""
    _FIXED.append(int(seed))
    try:
        yield
    finally:
        _FIXED.pop()


def perturbed(x: np.ndarray, seed: int | None = None) -> np.ndarray:
    """`x` (images in [0, 1], any layout) plus N(0, NOISE) noise, clipped; float32, a new array.

    The same images give the same noise within one process (one seed), so every
    check of a run sees the same test set; `seed` is for measurements and tests.
    """
    x = np.asarray(x, dtype=np.float32)
    rng = np.random.default_rng(run_seed() if seed is None else seed)
    return np.clip(x + rng.normal(0.0, NOISE, size=x.shape).astype(np.float32), 0.0, 1.0)
