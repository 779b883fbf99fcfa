"""Where one `grade check` spends its wall time: timestamps of its phases, in one process.

Why it exists: issue 17's goal for `grade check` (0.6 s) is a sum of many small phases, and
cProfile of the command stretches the Python-heavy ones and hides the waits (a profiled run
took 0.83 s where the command took 0.6).  This runs the real command (`grader.cli.main`,
`check SOLUTION -a ID --no-html --json FILE`) in a fresh process per run with a few
functions wrapped to note when they begin and end (the worker's launch, the manifest, numpy
and pytest imported, the checks collected, the handshake, the checks' run, the NumPy note,
the result written, the close), plus the time the judge sat in `select` waiting for the
worker and the time the reference's kept answers took (grader/checks/answers.py).  Times are
ms since the shell started the process (`date +%s.%N` before it, passed in T0), so Python's
own start is included.  The solution is the one benchmarks/grade_check_times.py writes.
Usage: PYTHONPATH=CHECKOUT .venv/bin/python benchmarks/grade_check_phases.py [-a ID ...]
       [--runs 3]   (PYTHONPATH picks the tree measured)
"""

from __future__ import annotations

import os
import sys
import time

if __name__ == "__main__" and sys.argv[1:2] == ["--child"]:
    T0 = float(os.environ["T0"])
    import functools
    import importlib.abc

    marks: list[tuple[float, str]] = []
    stats = {"select_s": 0.0, "selects": 0, "answers_s": 0.0, "answers": 0}

    def mark(what: str) -> None:
        marks.append((time.time() - T0, what))

    mark("Python started")

    def wrap(owner, name: str, label: str) -> None:
        real = getattr(owner, name)

        @functools.wraps(real)
        def timed(*args, **kwargs):
            mark(label + " >")
            try:
                return real(*args, **kwargs)
            finally:
                mark(label + " <")
        setattr(owner, name, timed)

    def select_timed(module) -> None:
        real = module.select

        class Timed:
            @staticmethod
            def select(*args):
                start = time.perf_counter()
                try:
                    return real.select(*args)
                finally:
                    stats["select_s"] += time.perf_counter() - start
                    stats["selects"] += 1
        module.select = Timed

    def answers_timed(module) -> None:
        real_init = module.Answers.__init__

        def init(self, compute, keys=()):
            def timed(key):
                start = time.perf_counter()
                try:
                    return compute(key)
                finally:
                    stats["answers_s"] += time.perf_counter() - start
                    stats["answers"] += 1
            real_init(self, timed, keys)
        module.Answers.__init__ = init

    PATCHES = {
        "grader.worker.launch": lambda m: wrap(m, "start", "worker launched (launch.start)"),
        "grader.scoring.assignment": lambda m: wrap(m.Manifest, "complete",
                                                    "checks and references imported (Manifest.complete)"),
        "grader.scoring.plugin": lambda m: (wrap(m, "prepare_selected", "pytest session collected"),
                                            wrap(m, "run", "checks run (plugin.run)")),
        "grader.worker.client": lambda m: (wrap(m.Worker, "wait_started", "handshake (wait_started)"),
                                           select_timed(m)),
        "grader.scoring.pipeline": lambda m: wrap(m.Grading, "close", "Grading.close"),
        "grader.scoring.result": lambda m: wrap(m.SubmissionResult, "write", "JSON written"),
        "grader.checks.hints": lambda m: wrap(m, "restored_numpy_note", "NumPy note"),
        "grader.checks.answers": answers_timed,
        "numpy": lambda m: mark("numpy imported"),
        "pytest": lambda m: mark("pytest imported"),
    }

    class Finder(importlib.abc.MetaPathFinder):
        """Applies PATCHES to a module right after it is executed."""

        def find_spec(self, name, path, target=None):
            if name not in PATCHES:
                return None
            for finder in sys.meta_path:
                if finder is not self and hasattr(finder, "find_spec"):
                    spec = finder.find_spec(name, path, target)
                    if spec is not None:
                        break
            else:
                return None
            real_exec = spec.loader.exec_module

            def exec_module(module):
                real_exec(module)
                PATCHES[name](module)
            spec.loader.exec_module = exec_module
            return spec

    sys.meta_path.insert(0, Finder())

    def report() -> None:
        mark("exit")
        before = 0.0
        for at, what in marks:
            print(f"{at * 1000:8.1f} ms (+{(at - before) * 1000:6.1f})  {what}", file=sys.stderr)
            before = at
        print(f"judge waiting in select for the worker: {stats['select_s'] * 1000:.1f} ms in "
              f"{stats['selects']} selects; reference answers computed: {stats['answers']} in "
              f"{stats['answers_s'] * 1000:.1f} ms", file=sys.stderr)

    import atexit
    atexit.register(report)
    _, _, submitted, assignment_id, json_path = sys.argv
    sys.argv = ["grade", "check", submitted, "-a", assignment_id, "--no-html", "--json", json_path]
    from grader import cli
    mark("grader.cli imported")
    cli.main()  # exits through Note [Exit without teardown], atexit callbacks run


def main(argv: list[str] | None = None) -> int:
    import argparse
    import subprocess
    import tempfile
    from pathlib import Path

    import grade_check_times
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-a", "--assignment", dest="assignments", nargs="+",
                        default=["fc_nets", "batchnorm", "dropout", "cnn"], metavar="ID")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args(argv)
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # the checkout's byte code, as grade_check_ab.py
    with tempfile.TemporaryDirectory() as folder:
        for assignment_id in args.assignments:
            submitted = grade_check_times.submission(assignment_id, Path(folder) / "solutions")
            for number in range(args.runs):
                load = os.getloadavg()[0]
                print(f"== {assignment_id}, run {number + 1}, load {load:.2f}", flush=True)
                env["T0"] = repr(time.time())
                done = subprocess.run([sys.executable, __file__, "--child", str(submitted),
                                       assignment_id, str(Path(folder) / "result.json")],
                                      env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                      text=True)
                print("\n".join(line for line in done.stderr.splitlines()
                                if " ms (+" in line or line.startswith("judge")), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
