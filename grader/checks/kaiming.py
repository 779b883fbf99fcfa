"""The stated rule for Kaiming initialisation, shared by the `pytorch` and `tensorflow` checks.

Why it exists: both notebooks ask for "Kaiming normal" weights (the course's
`random_weight`, `create_matrix_with_kaiming_normal`, `nn.init.kaiming_normal_`,
`tf.initializers.VarianceScaling(scale=2.0)`), and students reach for the
neighbouring variants of the same library call.  What each variant earns is a
course decision, so it is written down once here and both assignments apply it.

# Note [Kaiming variants]
A weight is judged by the standard deviation of what was drawn, against
sqrt(gain^2 / fan), where fan_in is what one output unit sums over (a conv
weight's C_in * KH * KW, a dense weight's D_in) and fan_out the other side:

- fan_in, gain sqrt(2) (std sqrt(2 / fan_in)): He et al.'s rule for ReLU
  networks and what the notebooks ask for: full marks.
- fan_out, gain sqrt(2) (`mode='fan_out'`, `VarianceScaling(2.0,
  mode='fan_out')`, or the course's own `random_weight(layer.weight.shape)` on an
  nn.Linear weight, which reads D_out as its fan-in): He et al. show it also
  keeps the backward pass's variance; accepted as Kaiming initialisation, but
  not the notebook's: half the points, and a message.
- fan_in, gain 1 (std sqrt(1 / fan_in): `nonlinearity='linear'`,
  `VarianceScaling(1.0)`, LeCun normal): the right fan, the variance of a
  linear network, so activations shrink by sqrt(2) per ReLU layer: half the
  points, and a message.
- anything else (fan_out with gain 1, the framework's default initialisation,
  an unscaled randn, the variance used as the standard deviation): no points
  for initialisation.

These are the initialisation checks' points only: a model whose variant trains badly
(fan_out on a Linear layer with a few outputs draws weights hundreds of times too large)
also loses its accuracy check, which judges the training, not the rule.

The halves are two checks (the rubric has no partial credit inside a check):
`<model>/init` passes for any accepted variant, `<model>/init_fan_in` only for
fan_in with gain sqrt(2).  Uniform draws with the same variance (kaiming_uniform_,
he_uniform) are the same variant: only the standard deviation is judged.

The standard deviation is accepted within max(3%, 5.7 / sqrt(2 n)) of a
variant's, n the number of entries: the sample std has a relative standard
error of about 1 / sqrt(2 n), so a correct draw fails with a chance below 1e-8,
whatever the size of the layer a notebook's model has.  The variants of one
weight are further apart than that for every weight the checks judge
(tests/grader/checks/test_kaiming.py checks the notebooks' shapes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .spec import CheckFailure

MIN_RTOL = 0.03
STANDARD_ERRORS = 5.7
MEAN_STANDARD_ERRORS = 5.0


@dataclass(frozen=True)
class Variant:
    name: str          # short, for details: "fan_in", "fan_out", "gain 1"
    full_marks: bool
    explain: str       # what the student did, said to them when it is not the notebook's


def variants(fan_in: int, fan_out: int) -> list[tuple[Variant, float]]:
    """The accepted variants of one weight and the standard deviation each draws."""
    return [
        (Variant("fan_in", True, ""), math.sqrt(2.0 / fan_in)),
        (Variant("fan_out", False, f"this is Kaiming initialisation with mode='fan_out' (std sqrt(2 / "
                                   f"fan_out) = sqrt(2 / {fan_out})); the notebook's is fan_in"),
         math.sqrt(2.0 / fan_out)),
        (Variant("gain 1", False, f"this is std sqrt(1 / fan_in) = sqrt(1 / {fan_in}) (gain 1, "
                                  f"LeCun / VarianceScaling(scale=1.0)); Kaiming for ReLU has gain "
                                  f"sqrt(2)"), math.sqrt(1.0 / fan_in)),
    ]


def std_rtol(entries: int) -> float:
    """How far a correct draw's std may be from its variant's; Note [Kaiming variants]."""
    return max(MIN_RTOL, STANDARD_ERRORS / math.sqrt(2.0 * entries))


@dataclass(frozen=True)
class Judged:
    """One weight judged: the variant it matches, with what it measured."""
    variant: Variant
    details: dict

    @property
    def message(self) -> str:
        return self.variant.explain


def judge(name: str, weights, fan_in: int, fan_out: int, *, mistakes: dict[str, float] | None = None,
          hint: str = "") -> Judged:
    """The Kaiming variant `weights` was drawn with, or CheckFailure saying what it looks like.

    `mistakes` maps descriptions of known wrong initialisations to the std they draw;
    the matching ones are named in the failure message.
    """
    weights = np.asarray(weights, dtype=np.float64)
    entries = int(weights.size)
    std, mean = float(weights.std()), float(weights.mean())
    rtol = std_rtol(entries)
    expected = math.sqrt(2.0 / fan_in)
    details = {"std": std, "expected_std": expected, "mean": mean, "entries": entries,
               "accepted_rtol": rtol}
    found = next(((variant, want) for variant, want in variants(fan_in, fan_out)
                  if abs(std / want - 1) <= rtol), None)
    if found is None:
        looks = [text for text, wrong in (mistakes or {}).items() if abs(std / wrong - 1) <= rtol]
        raise CheckFailure(
            f"{name}: standard deviation {std:.4g}, expected sqrt(2 / fan_in) = sqrt(2 / {fan_in}) = "
            f"{expected:.4g} (off by {100 * (std / expected - 1):+.1f}%, accepted {100 * rtol:.3g}%; "
            f"{entries} entries); it is none of the Kaiming variants either (fan_out "
            f"{math.sqrt(2.0 / fan_out):.4g}, gain 1 {math.sqrt(1.0 / fan_in):.4g})"
            + "".join(f"\nlooks like: {text}" for text in looks), hint=hint, details=details)
    variant, want = found
    limit = MEAN_STANDARD_ERRORS * want / math.sqrt(entries)
    if abs(mean) > limit:
        raise CheckFailure(f"{name}: mean {mean:.3g}, expected 0 (within {limit:.2g} for {entries} "
                           f"draws): the weights should be centred at zero", hint=hint, details=details)
    details["variant"] = variant.name
    return Judged(variant, details)


def require_notebook_variant(judged: dict[str, Judged], hint: str = "") -> dict:
    """The `init_fan_in` half: every weight fan_in with gain sqrt(2), else one message per weight."""
    wrong = [f"{name}: {j.message}" for name, j in judged.items() if not j.variant.full_marks]
    details = {name: j.details for name, j in judged.items()}
    if wrong:
        raise CheckFailure("\n".join(wrong) + "\nKaiming initialisation with another mode or gain "
                           "keeps the init points but not these (Note [Kaiming variants])",
                           hint=hint, details=details)
    return details
