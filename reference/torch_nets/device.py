"""Where tensors live and which dtype training uses, decided in one place.

The course picks CUDA when `torch.cuda.is_available()` and falls back to the
CPU, and trains in float32.  Every public function of `reference.torch_nets`
takes a `device` argument; `None` means "the default choice", resolved at call
time by `resolve_device` (see Note [Device resolved at call time]).
"""

from __future__ import annotations

import torch

# The dtype the course trains in.
DTYPE = torch.float32

# Note [Device resolved at call time]
# A default argument `device=default_device()` would be evaluated once, at
# import, and would freeze whatever CUDA state the importing process had then.
# Functions take `device=None` instead and call `resolve_device`, so the choice
# follows the machine the call runs on, and tests can fake CUDA availability.


def default_device() -> torch.device:
    """CUDA when PyTorch can see a GPU, else the CPU."""
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def resolve_device(device: torch.device | str | None) -> torch.device:
    """Turn a `device` argument into a `torch.device`; `None` means the default.

    See Note [Device resolved at call time].
    """
    return default_device() if device is None else torch.device(device)
