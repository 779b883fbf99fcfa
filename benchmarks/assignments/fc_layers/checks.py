"""Checks for the benchmark-only `fc_layers` assignment: fc_nets's layer checks, unchanged.

Why it exists: benchmarks/compare_tools.py grades the same notebooks with our
grader, nbgrader and Otter, and the three must do the same work.  The other two
tools grade a notebook of layer functions, so this registry is exactly the
layers.py part of assignments/fc_nets/checks.py (`LAYER_CHECKS`: affine
forward/backward, ReLU forward/backward, softmax and SVM losses, public and
hidden samples), imported from there so that the benchmark can never drift
from what the course grades.  benchmarks/equivalent_tests.py turns the same
samples and reference outputs into the other tools' test cells.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

FC_NETS_CHECKS = Path(__file__).resolve().parents[3] / "assignments" / "fc_nets" / "checks.py"
_NAME = "benchmark_fc_nets_checks"


def fc_nets_checks():
    """assignments/fc_nets/checks.py as a module (loaded once per process)."""
    if _NAME not in sys.modules:
        spec = importlib.util.spec_from_file_location(_NAME, FC_NETS_CHECKS)
        module = importlib.util.module_from_spec(spec)
        sys.modules[_NAME] = module
        spec.loader.exec_module(module)
    return sys.modules[_NAME]


CHECKS = list(fc_nets_checks().LAYER_CHECKS)
