"""A synthetic class of 1,000 fc_nets submissions: throughput, peak memory, local pool vs Dask.

Why it exists: issue 17 asks what a large class costs with `--workers 2`
(submissions per minute, and the judge's peak memory: does it grow with the
class?), and whether grading on a Dask LocalCluster of 2 workers is within 10%
of the local pool on the same class.  One run:

1. builds a class of `--size` submissions (default 1000) with overhead.py's
   `build_class` (make_class's ordinary kinds: correct folders, zips, loose
   files and the six one-bug copies; no hostile entries, whose time limits
   would measure limits);
2. for each of `--modes` (default: local dask), times `grade batch CLASS -a
   fc_nets --workers W` on a fresh output folder (`dask` adds `--cluster
   local`; `local-cold` adds `--no-warm`), sampling memory every
   `--interval` seconds, Note [Memory samples];
3. checks that every mode gave every submission the same score as the first
   mode, and reports the Dask / local wall-time ratio.

Usage: .venv/bin/python benchmarks/big_class.py [--size 1000] [--workers 2]
           [--modes local dask] [--interval 0.5] [--json FILE]

# Note [Memory samples]
Every `--interval` seconds, from /proc, over the `grade batch` process and all
of its descendants: the batch process's own peak resident set (VmHWM, the
kernel's high-water mark, read at every sample so the last one before it exits
counts), and the sampled peak of the summed resident sets of the judge side
(the batch process, its job template and job processes, Dask's scheduler and
workers: every process that is not a student worker) and of the whole tree
(student workers, their zygotes and bubblewrap included).  A sum of RSS counts
pages shared between processes (numpy's libraries, copy-on-write pages of a
fork) once per process, so it overstates what the machine gives up; it is an
upper bound, sampled, so a peak shorter than the interval can be missed.
Which start each submission's workers had comes from each result's
`environment.worker_start`.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import bench_common as common
from grader.batch.processes import children_map
from overhead import build_class

ASSIGNMENT = "fc_nets"
MODES = {"local": (), "local-cold": ("--no-warm",), "dask": ("--cluster", "local")}
WORKER_MARKS = (b"start.py", b"runtime.py", b"zygote.py", b"bwrap")  # student-worker side of the tree


def _tree(pid: int) -> list[int]:
    children, found, frontier = children_map(), [], [pid]
    while frontier:
        current = frontier.pop()
        found.append(current)
        frontier.extend(children.get(current, ()))
    return found


def _status_kib(pid: int, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _is_worker(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return any(mark in cmdline for mark in WORKER_MARKS)


class MemorySampler:
    """Note [Memory samples]."""

    def __init__(self, pid: int, interval: float) -> None:
        self.pid, self.interval = pid, interval
        self.batch_hwm_kib = self.judge_kib = self.tree_kib = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            judge = tree = 0
            for pid in _tree(self.pid):
                rss = _status_kib(pid, "VmRSS")
                tree += rss
                if not _is_worker(pid):
                    judge += rss
            self.batch_hwm_kib = max(self.batch_hwm_kib, _status_kib(self.pid, "VmHWM"))
            self.judge_kib, self.tree_kib = max(self.judge_kib, judge), max(self.tree_kib, tree)
            self.samples += 1
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def one_run(klass: Path, out: Path, workers: int, mode: str, interval: float) -> dict:
    import subprocess
    argv = common.grade_argv("batch", str(klass), "-a", ASSIGNMENT, "-o", str(out),
                             "--workers", str(workers), *MODES[mode])
    load = os.getloadavg()
    start = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sampler = MemorySampler(process.pid, interval)
    stdout, stderr = process.communicate()
    wall = time.perf_counter() - start
    sampler.stop()
    if process.returncode not in (0, 1):
        raise SystemExit(f"{common.shown(argv)} failed (exit {process.returncode}):\n"
                         f"{stdout}\n{stderr}")
    scores = common.result_scores(out)
    starts = Counter(common.result_environment(out, "worker_start").values())
    shown = common.shown(argv).replace(str(klass.parent), "WORK")
    return {"mode": mode, "workers": workers, "command": shown, "wall_s": wall,
            "graded": len(scores), "per_minute": common.per_minute(len(scores), wall),
            "load_before": list(load), "load_after": list(os.getloadavg()),
            "batch_peak_rss_mib": sampler.batch_hwm_kib / 1024,
            "judge_peak_rss_mib": sampler.judge_kib / 1024,
            "tree_peak_rss_mib": sampler.tree_kib / 1024, "memory_samples": sampler.samples,
            "worker_start": dict(starts), "scores": scores}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--modes", nargs="+", choices=sorted(MODES), default=["local", "dask"])
    parser.add_argument("--interval", type=float, default=0.5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if args.size < 1 or args.workers < 1:
        parser.error("--size and --workers must be at least 1")
    with tempfile.TemporaryDirectory(prefix="big-class-bench-") as tmp:
        klass = Path(tmp) / "class"
        kinds = build_class(klass, args.size)
        print(f"class of {args.size} fc_nets submissions ({len(set(kinds.values()))} kinds); "
              f"load average {common.machine()['load_average']}", flush=True)
        runs = []
        for mode in args.modes:
            run = one_run(klass, Path(tmp) / f"out-{mode}", args.workers, mode, args.interval)
            runs.append(run)
            print(f"{mode}, --workers {args.workers}: {run['graded']} in {run['wall_s']:.1f} s = "
                  f"{run['per_minute']:.1f}/min; peak RSS: batch process "
                  f"{run['batch_peak_rss_mib']:.0f} MiB, judge side "
                  f"{run['judge_peak_rss_mib']:.0f} MiB, whole tree "
                  f"{run['tree_peak_rss_mib']:.0f} MiB; workers {run['worker_start']}", flush=True)
    first = runs[0]["scores"]
    disagree = sorted({s for run in runs[1:] for s in set(first) | set(run["scores"])
                       if run["scores"].get(s) != first.get(s)})
    walls = {run["mode"]: run["wall_s"] for run in runs}
    dask_ratio = walls["dask"] / walls["local"] if "dask" in walls and "local" in walls else None
    if dask_ratio is not None:
        print(f"Dask / local wall time: {dask_ratio:.3f} (goal: at most 1.10)")
    print("scores: " + ("the same in every mode" if not disagree else f"DIFFER for {disagree}"))
    common.write_json(args.json, {
        "benchmark": "big_class", "machine": common.machine(), "size": args.size,
        "workers": args.workers, "assignment": ASSIGNMENT, "kinds": sorted(set(kinds.values())),
        "runs": runs, "dask_ratio": dask_ratio, "scores_agree": not disagree,
        "disagreements": disagree})
    return 0 if not disagree else 1


if __name__ == "__main__":
    sys.exit(main())
