"""The reference reproduces every vector the course published (reference/published.py)."""

from __future__ import annotations

import numpy as np
import pytest

from reference.published import PUBLISHED, PublishedVector, reproduce


@pytest.mark.parametrize("vector", PUBLISHED, ids=lambda v: v.name)
def test_reference_reproduces_published_vector(vector: PublishedVector) -> None:
    result = reproduce(vector)
    assert result.ok, (f"{vector.name}: max |ours - published| = {result.max_abs_error:.3e} "
                       f"> {result.tolerance:.1e} (rel_error {result.rel_error:.2e})")


def test_published_names_are_unique() -> None:
    names = [v.name for v in PUBLISHED]
    assert len(names) == len(set(names))


def test_a_wrong_implementation_is_not_reproduced() -> None:
    """The comparison can fail: a momentum update with the sign of dw flipped misses."""
    vector = next(v for v in PUBLISHED if v.name == "sgd_momentum")

    def flipped() -> dict[str, np.ndarray]:
        from reference.cs231n.optim import sgd_momentum
        N, D = 4, 5
        w = np.linspace(-0.4, 0.6, num=N * D).reshape(N, D)
        dw = -np.linspace(-0.6, 0.4, num=N * D).reshape(N, D)
        config = {"learning_rate": 1e-3, "velocity": np.linspace(0.6, 0.9, num=N * D).reshape(N, D)}
        next_w, config = sgd_momentum(w, dw, config=config)
        return {"next_w": next_w, "velocity": config["velocity"]}

    wrong = PublishedVector(vector.name, vector.source, flipped, vector.expected)
    assert not reproduce(wrong).ok


def test_tolerance_is_half_a_unit_in_the_last_printed_decimal() -> None:
    vector = PublishedVector("x", "", lambda: {}, {}, decimals=8)
    assert 5e-9 < vector.tolerance < 5.1e-9
