"""Shared fixtures for the torch_nets tests: one torch thread, digits, trained runs.

Training the digits convnet is the slowest thing these tests do, so each seed
is trained at most once per session and shared by the training and pruning
tests.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread():
    """Run torch on one thread.

    Measured here: with 2 threads on a 2-core machine shared with other test
    runs, digits training took 5-10x longer (threads waiting on each other);
    with 1 it takes about 1.5 s of CPU per run.
    """
    torch = pytest.importorskip("torch")
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def digits_split():
    pytest.importorskip("torch")
    from reference.torch_nets.data import load_digits_split

    return load_digits_split()


@pytest.fixture(scope="session")
def trained_digits(digits_split):
    """A function seed -> (DigitsRun, CPU seconds of its training), cached per seed."""
    import time

    from reference.torch_nets.training import train_digits

    runs = {}

    def run(seed: int):
        if seed not in runs:
            start = time.process_time()
            result = train_digits(seed=seed, split=digits_split, device="cpu")
            runs[seed] = (result, time.process_time() - start)
        return runs[seed]

    return run
