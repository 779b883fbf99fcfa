"""A cold worker's start, launch to first reply, in two checkouts of the grader, interleaved.

Why it exists: `grade check` starts its worker before the judge imports numpy (Note [Worker
before numpy] in grader/worker/launch.py) and says `hello` once its own start is done; how long
the worker takes to answer, and the CPU its start costs, decide whether the judge waits at that
first request.  Timing the whole `grade check` (grade_check_ab.py) hides a 20-40 ms change in
the load of a shared machine; this times the start alone.  Each round runs `--launches` starts
in a fresh process per checkout (PYTHONPATH set to it), alternating the checkouts, so both see
the same load.  One start: `launch.start` of a one-file submission with the assignment-default
limits, `Worker.adopt`, the handshake (`hello` and `path`), then `close`.  Reported per
checkout: the median and minimum of launch-to-handshake wall time, and, where the benchmark may
make a cgroup v1 `cpuacct` group (root), the median CPU of the started tree (bubblewrap and
the worker: the group's CPU over one start, less the measuring process's own).
Usage: .venv/bin/python benchmarks/worker_start_ab.py BEFORE_DIR AFTER_DIR
           [--rounds 5] [--launches 8] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import bench_common as common

# Run in a fresh interpreter per round, with the checkout's grader first on sys.path.
PROBE = r"""
import json, os, sys, tempfile, time
from pathlib import Path
from grader.worker import launch, sandbox
from grader.worker.client import Worker
from grader.worker.devices import CPU
group = None
root = Path("/sys/fs/cgroup/cpuacct")
if (root / "cpuacct.usage").exists():
    try:
        group = root / f"worker-start-ab-{os.getpid()}"
        group.mkdir()
        (group / "cgroup.procs").write_text(str(os.getpid()))
    except OSError:
        group = None
used = lambda: int((group / "cpuacct.usage").read_text()) / 1e9 if group else 0.0
own = lambda: sum(os.times()[:2])
submission = Path(tempfile.mkdtemp(prefix="worker-start-ab-"))
(submission / "solution.py").write_text("x = 1\n")
walls, cpus = [], []
for _ in range(int(sys.argv[1])):
    tree0, own0, start = used(), own(), time.perf_counter()
    launched = launch.start(submission, sandbox.Limits(), sys.executable, "auto", CPU)
    worker = Worker(submission)
    worker.adopt(launched)
    worker.wait_started()
    walls.append(time.perf_counter() - start)
    worker.close()
    time.sleep(0.05)  # the tree's last exits counted
    cpus.append(used() - tree0 - (own() - own0))
if group is not None:
    (root / "cgroup.procs").write_text(str(os.getpid()))
    try:
        group.rmdir()
    except OSError:
        pass
print(json.dumps({"walls_s": walls, "tree_cpus_s": cpus if group else None,
                  "mode": launched.mode}))
"""


def one_round(checkout: Path, launches: int) -> dict:
    env = dict(os.environ, PYTHONPATH=str(checkout))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    done = subprocess.run([sys.executable, "-c", PROBE, str(launches)], env=env, cwd=checkout,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--launches", type=int, default=8)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    checkouts = {"before": args.before.resolve(), "after": args.after.resolve()}
    load = os.getloadavg()
    print(f"load average at the start: {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f}", flush=True)
    runs: dict[str, dict] = {label: {"walls_s": [], "tree_cpus_s": []} for label in checkouts}
    for _ in range(args.rounds):
        for label, checkout in checkouts.items():
            measured = one_round(checkout, args.launches)
            runs[label]["mode"] = measured["mode"]
            runs[label]["walls_s"] += measured["walls_s"]
            runs[label]["tree_cpus_s"] += measured["tree_cpus_s"] or []
    for label, measured in runs.items():
        walls, cpus = measured["walls_s"], measured["tree_cpus_s"]
        measured.update(wall_median_s=statistics.median(walls), wall_min_s=min(walls),
                        tree_cpu_median_s=statistics.median(cpus) if cpus else None)
        print(f"{label:<7} ({measured['mode']}, {len(walls)} starts): launch to handshake median "
              f"{1000 * measured['wall_median_s']:.0f} ms (min {1000 * measured['wall_min_s']:.0f})"
              + (f", the started tree's CPU median {1000 * measured['tree_cpu_median_s']:.0f} ms"
                 if cpus else ""), flush=True)
    end = os.getloadavg()
    print(f"load average at the end: {end[0]:.2f}, {end[1]:.2f}, {end[2]:.2f}")
    common.write_json(args.json, {"benchmark": "worker_start_ab", "machine": common.machine(),
                                  "checkouts": {k: str(v) for k, v in checkouts.items()},
                                  "load_end": end, "runs": runs})
    return 0


if __name__ == "__main__":
    sys.exit(main())
