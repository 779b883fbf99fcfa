"""`--device auto|cpu|cuda[:N]` (grader/worker/devices.py): choosing, refusing, and what the worker sees.

GPUs are found from the driver's files, so a fake root with those files
stands in for a GPU machine here; the tests that need a real GPU skip, saying
so, where there is none (tests/assignments/test_on_gpu.py grades on one).
"""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from grader.scoring import assignment as assignments
from grader.worker import devices, sandbox
from grader.checks.compare import DEVICE_TOLERANCES, grading_device, on_device, tolerance_for
from grader.scoring.pipeline import Options, grade_submission, submission_device
from grader.worker.client import Worker

GRADE = str(Path(sys.executable).with_name("grade"))


def fake_machine(root: Path, gpus: dict[int, str], nodes: tuple[int, ...] | None = None) -> Path:
    """A root with the driver's /proc files for `gpus` (index -> model) and their /dev nodes."""
    for index, model in gpus.items():
        folder = root / "proc/driver/nvidia/gpus" / f"0000:0{index}:00.0"
        folder.mkdir(parents=True)
        (folder / "information").write_text(
            f"Model: \t\t {model}\nIRQ:   \t\t 42\nDevice Minor: \t {index}\nBus Type: \t PCIe\n")
    (root / "dev").mkdir(exist_ok=True)
    for index in gpus if nodes is None else nodes:
        (root / f"dev/nvidia{index}").touch()
    return root


def test_cpu_and_auto_without_a_gpu(tmp_path):
    assert devices.resolve("cpu", tmp_path) == devices.CPU
    assert devices.resolve("auto", tmp_path) == devices.CPU
    assert devices.resolve(None, tmp_path) == devices.CPU
    assert str(devices.CPU) == "cpu"


def test_auto_takes_the_first_gpu_and_names_it(tmp_path):
    root = fake_machine(tmp_path, {1: "NVIDIA A100-SXM4-40GB", 0: "NVIDIA H100 80GB HBM3"})
    device = devices.resolve("auto", root)
    assert (device.kind, device.index) == ("cuda", 0)
    assert str(device) == "cuda:0 (NVIDIA H100 80GB HBM3)"
    assert devices.resolve("cuda:1", root).name == "NVIDIA A100-SXM4-40GB"
    assert devices.resolve("CUDA", root).index == 0
    # A GPU chosen by auto reaches the course helpers as "auto" (a CPU-only framework build
    # then falls back to the CPU); one asked for by name as "cuda".
    assert device.in_worker == "auto"
    assert devices.resolve("cuda", root).in_worker == "cuda"


def test_a_gpu_without_its_device_node_is_not_there(tmp_path):
    root = fake_machine(tmp_path, {0: "NVIDIA T4"}, nodes=())
    assert devices.gpus(root) == []
    assert devices.resolve("auto", root) == devices.CPU


@pytest.mark.parametrize("spec, message", [
    ("cuda", "this machine has no NVIDIA GPU"),
    ("cuda:0", "this machine has no NVIDIA GPU"),
    ("gpu", "must be auto, cpu, cuda or cuda:N"),
    ("cuda:x", "must be auto, cpu, cuda or cuda:N"),
])
def test_wrong_devices_are_refused_with_a_reason(tmp_path, spec, message):
    with pytest.raises(devices.DeviceError, match=message):
        devices.resolve(spec, tmp_path)


def test_a_missing_gpu_index_lists_the_ones_there(tmp_path):
    root = fake_machine(tmp_path, {0: "NVIDIA T4"})
    with pytest.raises(devices.DeviceError, match=r"no GPU 3 here; there are cuda:0 \(NVIDIA T4\)"):
        devices.resolve("cuda:3", root)


def test_the_worker_sees_one_gpu_as_device_zero_without_tf32():
    gpu = devices.Device("cuda", 2, "NVIDIA L4")
    assert gpu.in_worker == "cuda"
    assert gpu.worker_env() == {"CUDA_VISIBLE_DEVICES": "2", "NVIDIA_TF32_OVERRIDE": "0",
                                "TF_FORCE_GPU_ALLOW_GROWTH": "true"}
    assert devices.CPU.worker_env() == {"CUDA_VISIBLE_DEVICES": ""}


def test_a_gpu_worker_is_limited_by_data_size_not_address_space():
    assert sandbox.memory_rlimit(gpu=False) == resource.RLIMIT_AS
    assert sandbox.memory_rlimit(gpu=True) == resource.RLIMIT_DATA


def test_gpu_device_nodes_are_bound_only_for_a_gpu_worker(monkeypatch, tmp_path):
    nodes = [tmp_path / "nvidia0", tmp_path / "nvidiactl"]
    for node in nodes:
        node.touch()
    real_glob = Path.glob
    monkeypatch.setattr(Path, "glob", lambda self, pattern: iter(nodes) if str(self) == "/dev"
                        and pattern == "nvidia*" else real_glob(self, pattern))
    with_gpu = sandbox._system_binds(gpu=True)
    without = sandbox._system_binds(gpu=False)
    assert ["--dev-bind", str(nodes[0]), str(nodes[0])] == with_gpu[with_gpu.index(str(nodes[0])) - 1:
                                                                   with_gpu.index(str(nodes[0])) + 2]
    assert str(nodes[0]) not in without and str(nodes[1]) not in without


def test_the_cpu_worker_cannot_see_a_gpu(submission):
    probe = submission({"probe.py": "import os\ndef env(name):\n    return os.environ.get(name)\n"})
    with Worker(probe, device=devices.CPU) as worker:
        assert worker.call("probe", "env", "CUDA_VISIBLE_DEVICES").value == ""
        assert worker.call("probe", "env", "NVIDIA_TF32_OVERRIDE").value is None


def test_tolerances_follow_the_device_being_graded():
    expected = np.zeros(3, np.float32)
    assert grading_device.get() == "cpu"
    with on_device("cuda"):
        assert grading_device.get() == "cuda"
        assert tolerance_for(expected) == DEVICE_TOLERANCES["cuda"]["float32"]
    assert grading_device.get() == "cpu"
    assert tolerance_for(expected, device="cuda") == DEVICE_TOLERANCES["cuda"]["float32"]
    assert set(DEVICE_TOLERANCES["cuda"]) == set(DEVICE_TOLERANCES["cpu"])


def test_numpy_assignments_always_run_on_the_cpu():
    fc_nets = assignments.load("fc_nets")
    assert not fc_nets.gpu
    assert submission_device(fc_nets, "auto") == devices.CPU
    assert submission_device(fc_nets, "cpu") == devices.CPU
    for framework in ("pytorch", "pruning", "tf_norms", "tensorflow"):
        assert assignments.load(framework).gpu, framework


@pytest.mark.skipif(bool(devices.gpus()), reason="this machine has a GPU: cuda is not refused here")
def test_asking_for_a_gpu_that_is_not_there_is_a_result_and_a_command_error(tmp_path):
    result = grade_submission(tmp_path, assignments.load("pytorch"), Options(device="cuda"))
    assert result.status == "error" and "no NVIDIA GPU" in result.message
    done = subprocess.run([GRADE, "check", str(tmp_path), "-a", "fc_nets", "--device", "cuda:1"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "grade: --device cuda:1: this machine has no NVIDIA GPU" in done.stderr
    done = subprocess.run([GRADE, "check", str(tmp_path), "-a", "fc_nets", "--device", "tpu"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "must be auto, cpu, cuda or cuda:N" in done.stderr
