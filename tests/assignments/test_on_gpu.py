"""The CUDA path: framework assignments graded on a GPU (`--device cuda`).

Skipped, with the reason, on a machine without an NVIDIA GPU (the driver's
files are how grader/worker/devices.py finds one).  Where there is one: the PyTorch
and Pruning solutions get full marks on it, the result names the GPU, and
the reference's own CPU-vs-CUDA differences fit the `cuda` rows of the
tolerance table (Note [Tolerances] in grader/checks/compare.py), which is the
measurement those rows rest on.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from grader.scoring import assignment as assignments
from grader.worker import devices
from grader.checks.compare import DEVICE_TOLERANCES
from grader.scoring.pipeline import Options, grade_submission

ROOT = Path(__file__).resolve().parents[2]
GPUS = devices.gpus()
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not GPUS, reason="no NVIDIA GPU on this machine (grader/worker/devices.py "
                                                  "found none): the CUDA path is not exercised here")]


@pytest.fixture(scope="module")
def torch_cuda():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("the driver lists a GPU but this torch build has no CUDA (install the "
                    "frameworks-gpu extra)")
    return torch


@pytest.mark.parametrize("assignment, solution", [
    ("pytorch", "assignments/pytorch/solution/Q5-Pytorch.ipynb"),
    ("pruning", "assignments/pruning/solution/Q6-Pruning.ipynb"),
])
def test_solutions_get_full_marks_on_the_gpu(torch_cuda, assignment, solution):
    result = grade_submission(ROOT / solution, assignments.load(assignment), Options(device="cuda"))
    assert result.status == "graded", result.message
    lost = [(c.id, c.message[:300]) for c in result.checks if c.points < c.max_points]
    assert not lost, lost
    assert result.environment["device"].startswith(f"cuda:{GPUS[0].index}")
    used = {str(c.details.get("device", "")) for c in result.checks if "device" in c.details}
    assert used and all(d.startswith("cuda") for d in used), used


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_cpu_and_cuda_agree_within_the_cuda_tolerance(torch_cuda, dtype):
    torch = torch_cuda
    import torch.nn.functional as F
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    rng = np.random.default_rng(0)
    kind = getattr(torch, dtype)
    x = torch.tensor(rng.standard_normal((16, 3, 32, 32)), dtype=kind)
    w = torch.tensor(rng.standard_normal((32, 3, 5, 5)) * 0.1, dtype=kind)
    fc = torch.tensor(rng.standard_normal((32 * 32 * 32, 10)) * 0.01, dtype=kind)

    def net(x, w, fc):
        return F.relu(F.conv2d(x, w, padding=2)).flatten(1) @ fc

    on_cpu = net(x, w, fc).numpy()
    on_gpu = net(x.cuda(), w.cuda(), fc.cuda()).cpu().numpy()
    tol = DEVICE_TOLERANCES["cuda"][dtype]
    worst = np.max(np.abs(on_gpu - on_cpu) - tol.rtol * np.abs(on_cpu))
    print(f"{dtype}: max |cuda - cpu| = {np.max(np.abs(on_gpu - on_cpu)):.3e}; "
          f"max excess over rtol * |cpu| = {worst:.3e} (atol {tol.atol:g})")
    np.testing.assert_allclose(on_gpu, on_cpu, rtol=tol.rtol, atol=tol.atol)
