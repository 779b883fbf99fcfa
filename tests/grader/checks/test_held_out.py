"""grader/checks/held_out.py: test digits that no file in the sandbox holds."""

from __future__ import annotations

import numpy as np

from grader.checks import held_out


def _digits():
    from sklearn.datasets import load_digits
    digits = load_digits()
    return (digits.data / 16.0).astype(np.float32)


def test_no_perturbed_test_image_is_found_in_scikit_learns_copy():
    from reference.datasets import load_digits_dataset
    test = load_digits_dataset(layout="NCHW").X_test
    known = _digits()
    for seed in (1, 2, None):
        x = held_out.perturbed(test, seed).reshape(len(test), -1)
        exact = [np.abs(known - image).max(axis=1).min() < 1e-6 for image in x]
        assert not any(exact), seed


def test_perturbation_keeps_shape_range_and_is_fixed_per_seed():
    x = np.random.default_rng(0).random((5, 1, 8, 8)).astype(np.float32)
    a, b = held_out.perturbed(x, 7), held_out.perturbed(x, 7)
    assert a.shape == x.shape and a.dtype == np.float32
    assert np.array_equal(a, b) and not np.array_equal(a, held_out.perturbed(x, 8))
    assert a.min() >= 0.0 and a.max() <= 1.0
    assert 0.02 < float(np.std(a - x)) < 0.06  # NOISE, less what clipping takes off
    assert np.array_equal(held_out.perturbed(x), held_out.perturbed(x))  # one seed per run


def test_the_run_seed_is_drawn_not_fixed():
    import subprocess
    import sys
    draw = [sys.executable, "-c", "from grader.checks import held_out; print(held_out.run_seed())"]
    seeds = {subprocess.run(draw, capture_output=True, text=True, check=True).stdout for _ in range(2)}
    assert len(seeds) == 2


def test_a_fixed_seed_holds_inside_its_block_only():
    x = np.random.default_rng(0).random((5, 1, 8, 8)).astype(np.float32)
    secret = held_out.run_seed()
    with held_out.fixed_seed(7):
        assert held_out.run_seed() == 7
        assert np.array_equal(held_out.perturbed(x), held_out.perturbed(x, 7))
        with held_out.fixed_seed(8):
            assert held_out.run_seed() == 8
        assert held_out.run_seed() == 7
    assert held_out.run_seed() == secret
