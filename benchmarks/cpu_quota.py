"""What a worker tree's CPU quota does (Note [CPU per submission], Note [Thread pools under a CPU
quota] in grader/worker/cgroup.py), measured on real workers, never asserted in a test.

1. spinners: a submission that forks SPINNERS processes which spin for SPIN_S seconds of wall
   time; the CPU seconds the tree used per wall second (the kernel's accounting: the children's
   rusage from wait4 and the parent's own), with the default quota (1 CPU) and with none
   (`cpus: 0`), interleaved.  Without the quota the tree takes every core it can get.
2. fairness: the same spinning tree with FORKS processes and no quota (`cpus: 0`, so only the
   equal weight acts) beside a tree of one spinner: the CPU seconds per wall second each gets
   while both run.  With the weights the one spinner keeps its share; without them and
   without the kernel's autogroup it would get 1 / (FORKS + 2) of the cores.
3. pools: a correct numpy workload (a two-layer network's forward and backward on 200 x 3072
   inputs, with elementwise work between the products, as a training check runs) under the
   1-CPU quota, with the pools sized to the quota (what the grader does) and with OpenBLAS
   told to start POOL threads (what the pools of a POOL-core server would be without it), and
   without the quota, interleaved: the wall and CPU seconds of the call.

    sudo .venv/bin/python benchmarks/cpu_quota.py [--rounds 3] [--spinners 4] [--forks 48] [--pool 16]

Needs a writable cpu cgroup (root on cgroup v1 or v2); says so and exits 2 otherwise.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from grader.worker import cgroup, sandbox  # noqa: E402
from grader.worker.client import Worker  # noqa: E402

SUBMISSION = """
import os, resource, time

def spin(n, seconds):
    end = time.monotonic() + seconds
    start = time.monotonic()
    pids = []
    for _ in range(n):
        pid = os.fork()
        if pid == 0:
            while time.monotonic() < end:
                pass
            os._exit(0)
        pids.append(pid)
    own = time.process_time()
    while time.monotonic() < end:
        pass
    children = 0.0
    for pid in pids:
        _, _, usage = os.wait4(pid, 0)
        children += usage.ru_utime + usage.ru_stime
    return [children + time.process_time() - own, time.monotonic() - start]

def train(steps):
    import numpy as np
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 3072))
    w1 = rng.standard_normal((3072, 100)) * 1e-3
    w2 = rng.standard_normal((100, 10)) * 1e-2
    wall, cpu = time.monotonic(), time.process_time()
    for _ in range(steps):
        h = np.maximum(x @ w1, 0)
        s = h @ w2
        s -= s.max(1, keepdims=True)
        p = np.exp(s)
        p /= p.sum(1, keepdims=True)
        dh = (p @ w2.T) * (h > 0)
        w1 -= 1e-3 * (x.T @ dh)
        for _ in range(20):
            p = np.tanh(p * 1.01)
    return [time.monotonic() - wall, time.process_time() - cpu]
"""


def run(folder: Path, cpus: float, function: str, *args, env: dict | None = None) -> list[float]:
    saved = {k: os.environ.get(k) for k in (env or {})}
    os.environ.update(env or {})
    try:
        limits = dataclasses.replace(sandbox.Limits(), cpus=cpus, call_timeout_s=300)
        worker = Worker(folder, limits=limits)
        try:
            return worker.call("layers", function, *args).value
        finally:
            worker.close()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def side_by_side(folder: Path, forks: int, seconds: float) -> tuple[list[float], list[float]]:
    """A tree of `forks` spinners and a tree of one, both without a quota, at the same time."""
    results: dict[int, list[float]] = {}

    def one(n: int) -> None:
        results[n] = run(folder, 0.0, "spin", n, seconds)
    threads = [threading.Thread(target=one, args=(n,)) for n in (forks, 0)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results[forks], results[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--spinners", type=int, default=4)
    parser.add_argument("--spin-s", type=float, default=3.0)
    parser.add_argument("--pool", type=int, default=16)
    parser.add_argument("--forks", type=int, default=48)
    parser.add_argument("--steps", type=int, default=150)
    options = parser.parse_args()
    if not cgroup.has_cpu_controller():
        print(f"no writable cpu cgroup here: {cgroup.find()[1] or 'no cpu controller'}")
        return 2
    print(f"{os.cpu_count()} CPUs; load average {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "layers.py").write_text(SUBMISSION)
        os.chmod(folder, 0o755)  # the worker runs as another uid (Note [One uid per worker])
        os.chmod(folder / "layers.py", 0o644)
        for round_ in range(options.rounds):
            for cpus in (1.0, 0.0):
                used, wall = run(folder, cpus, "spin", options.spinners, options.spin_s)
                print(f"round {round_} spinners  cpus={cpus:g}: {used:.2f} CPU s in {wall:.2f} s "
                      f"= {used / wall:.2f} CPUs")
            many, alone = side_by_side(folder, options.forks, options.spin_s)
            print(f"round {round_} fairness  {options.forks + 1} spinners: {many[0] / many[1]:.2f} CPUs; "
                  f"beside them 1 spinner: {alone[0] / alone[1]:.2f} CPUs")
            for label, cpus, env in (("quota 1, pools of 1", 1.0, None),
                                     (f"quota 1, OpenBLAS pool of {options.pool}", 1.0,
                                      {"OPENBLAS_NUM_THREADS": str(options.pool)}),
                                     ("no quota, pools as the machine", 0.0, None)):
                wall, cpu = run(folder, cpus, "train", options.steps, env=env)
                print(f"round {round_} train     {label}: {wall:.2f} s wall, {cpu:.2f} CPU s")
        print(f"load average {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
