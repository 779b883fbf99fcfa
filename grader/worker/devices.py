"""Which device a submission's framework code runs on: `--device auto|cpu|cuda[:N]`.

The judge decides once per run and tells the worker through its environment;
it never imports torch or TensorFlow to do so (TensorFlow alone takes seconds
to import, and a numpy assignment needs neither).

# Note [Choosing the device]
`auto` means the first NVIDIA GPU when the machine has one, else the CPU.  A
GPU is "there" when the kernel driver lists it (/proc/driver/nvidia/gpus/*,
whose `information` file also names the model) and its device node
/dev/nvidiaN exists: the same facts the CUDA runtime needs, read without
loading it.  `cuda:N` asks for one GPU by index and fails with a clear message
when it is not there.  The driver's GPU may still be unusable to the worker's
frameworks (a CPU-only torch build, tensorflow-cpu): a GPU chosen by `auto` is
passed to the course helpers as "auto", which they resolve to the CPU then, so
a machine's GPU never costs a correct submission points; `cuda` asked for by
name is not second-guessed.  Only assignments whose manifest says `gpu: true` (the
PyTorch and TensorFlow ones) ever get a GPU: numpy code cannot use one, and
passing a GPU to a worker that does not need it only widens what student code
can touch.

# Note [Same numbers on a GPU]
The worker sees only the chosen GPU, as device 0 (CUDA_VISIBLE_DEVICES), or no
GPU at all on the CPU (CUDA_VISIBLE_DEVICES="", so neither framework can
place work on one behind our back).  NVIDIA_TF32_OVERRIDE=0 turns TF32 off in
cuBLAS and cuDNN for every framework in the process, so float32 matrix
products and convolutions keep their 23-bit mantissa; the course helpers also
turn off torch's own TF32 switches and ask cuDNN for deterministic algorithms.
What still differs from the CPU is summation order, which is what the `cuda`
rows of grader/checks/compare.py's tolerance table are for.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path

SPEC = re.compile(r"^(auto|cpu|cuda(?::(\d+))?)$")


class DeviceError(ValueError):
    """The requested device does not exist here or is not a device name."""


@dataclass(frozen=True)
class Device:
    kind: str           # "cpu" or "cuda"
    index: int = 0      # which GPU, as the machine numbers them
    name: str = ""      # the GPU's model, when known
    by_auto: bool = False  # chosen by `auto`, not asked for by name (Note [Choosing the device])

    def __str__(self) -> str:
        if self.kind == "cpu":
            return "cpu"
        return f"cuda:{self.index}" + (f" ({self.name})" if self.name else "")

    @property
    def in_worker(self) -> str:
        """The device name the worker's frameworks use: the one GPU it sees is cuda:0, or
        "auto" when `auto` chose it, so a framework build without CUDA falls back to the CPU."""
        if self.kind == "cpu":
            return "cpu"
        return "auto" if self.by_auto else "cuda"

    def worker_env(self) -> dict[str, str]:
        """Environment for the worker; see Note [Same numbers on a GPU]."""
        if self.kind == "cpu":
            return {"CUDA_VISIBLE_DEVICES": ""}
        return {"CUDA_VISIBLE_DEVICES": str(self.index), "NVIDIA_TF32_OVERRIDE": "0",
                "TF_FORCE_GPU_ALLOW_GROWTH": "true"}


CPU = Device("cpu")


def gpus(root: Path = Path("/")) -> list[Device]:
    """The NVIDIA GPUs the driver lists and whose device nodes exist, by index."""
    found = []
    for info in sorted((root / "proc/driver/nvidia/gpus").glob("*/information")):
        try:
            fields = dict(line.split(":", 1) for line in info.read_text().splitlines() if ":" in line)
            index = int(fields.get("Device Minor", "").strip())
        except (OSError, ValueError):
            continue
        if (root / f"dev/nvidia{index}").exists():
            found.append(Device("cuda", index, fields.get("Model", "").strip()))
    return sorted(found, key=lambda d: d.index)


def resolve(spec: str | None, root: Path = Path("/")) -> Device:
    """The device for `spec` (None means auto); see Note [Choosing the device]."""
    spec = (spec or "auto").strip().lower()
    match = SPEC.match(spec)
    if not match:
        raise DeviceError(f"--device must be auto, cpu, cuda or cuda:N, not {spec!r}")
    if spec == "cpu":
        return CPU
    available = gpus(root)
    if spec == "auto":
        return dataclasses.replace(available[0], by_auto=True) if available else CPU
    if not available:
        raise DeviceError(f"--device {spec}: this machine has no NVIDIA GPU the driver lists "
                          f"(use --device cpu or auto)")
    index = int(match.group(2) or available[0].index)
    for device in available:
        if device.index == index:
            return device
    raise DeviceError(f"--device {spec}: no GPU {index} here; there are "
                      + ", ".join(str(d) for d in available))
