"""What one request to the student worker costs, machinery only (grader/worker/client.py,
Note [Request cost]).

Starts one sandboxed worker on a two-function submission, as grading does, and times
`--count` requests of each kind back to back: `hello` (no student code), a call of a
one-line function on a 1-element array, a call of an affine forward on three small
arrays that returns (out, cache), and, where the grader has them (Note [Streamed
calls]), the same affine call streamed ten to a request (the figure is per call).
Student code runs for microseconds here, so the figures are the cost of the pipe, the
wire format and both sides' handling.  Rounds alternate the kinds so that a change of
load on a shared machine touches them alike; the median round is printed.

Usage: PYTHONPATH=. .venv/bin/python benchmarks/request_cost.py [--count 500] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from grader.worker import sandbox
from grader.worker.client import Worker

SUBMISSION = """
def double(x):
    return 2 * x

def affine_forward(x, w, b):
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w, b)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="request-cost-"))
    folder.chmod(0o755)  # the worker runs as another user
    (folder / "layers.py").write_text(SUBMISSION)
    rng = np.random.default_rng(0)
    x, w, b = rng.random((4, 5)), rng.random((5, 3)), rng.random(3)
    affine = {"module": "layers", "attrs": ["affine_forward"]}
    with Worker(folder, limits=sandbox.Limits(call_timeout_s=10)) as worker:
        worker.start()
        kinds = {"hello": (1, lambda: worker.request("hello")),
                 "call double(1 element)": (1, lambda: worker.call("layers", "double", np.zeros(1))),
                 "call affine_forward(3 arrays)": (1, lambda: worker.call("layers", "affine_forward",
                                                                          x, w, b))}
        if hasattr(worker, "stream"):
            def streamed() -> None:
                with worker.stream([(affine, [x, w, b], {})] * 10) as results:
                    for _ in results:
                        pass
            kinds["affine_forward streamed, 10 a request"] = (10, streamed)
        seconds: dict[str, list[float]] = {kind: [] for kind in kinds}
        for _ in range(options.rounds):
            for kind, (per, run) in kinds.items():
                count = max(1, options.count // per)
                for _ in range(min(count, 20)):
                    run()  # warm
                start = time.perf_counter()
                for _ in range(count):
                    run()
                seconds[kind].append((time.perf_counter() - start) / (count * per))
        print(f"worker: {worker.mode}, {options.count} requests per kind and round, "
              f"median of {options.rounds} rounds")
        for kind, values in seconds.items():
            print(f"  {kind:40s} {statistics.median(values) * 1e6:8.1f} us per call")


if __name__ == "__main__":
    main()
