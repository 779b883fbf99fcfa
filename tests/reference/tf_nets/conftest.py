"""Shared setup for the TensorFlow reference tests: quiet logs and a 2-thread runtime.

Every test in this folder needs TensorFlow, so the session fixture below skips
them all when it is missing.  Thread counts can only be set before TensorFlow
runs its first op, which is why this happens once, before any test, rather than
in a test module (the machine has 2 cores shared with other test runs).
"""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

TENSORFLOW_THREADS = 2


@pytest.fixture(scope="session", autouse=True)
def tensorflow_threads():
    tf = pytest.importorskip("tensorflow")
    try:
        tf.config.threading.set_intra_op_parallelism_threads(TENSORFLOW_THREADS)
        tf.config.threading.set_inter_op_parallelism_threads(TENSORFLOW_THREADS)
    except RuntimeError:  # the runtime already started (another folder's tests ran ops first)
        pass
