"""How grading time grows: with the number of submissions, and with layer size for gradients.

Why it exists: issue 6 asks whether a class of 1000 is 10 classes of 100
(linear, and what the fixed cost is), and why the grader checks gradients
directionally.

1. Submission count: `grade batch CLASS -a fc_nets --workers W` on classes of
   `--counts` submissions (default 10 20 40 80; make_class's ordinary kinds,
   as benchmarks/overhead.py builds them), each on a fresh output folder; a
   least-squares line wall = fixed + per_submission * n says what one more
   submission costs and what a batch costs before the first.
2. Layer size: on growing affine and conv layers (reference/cs231n, float64,
   seeded), the time of one forward and one backward pass, of the directional
   check (`directional_check` in reference/cs231n/gradient_check.py: two
   forward calls whatever the size, Note [Directional gradient check] there)
   and of the element-wise numerical gradient (`eval_numerical_gradient_array`
   for x and w: two forward calls per entry), which is what
   grader/checks/builders.py runs only when a gradient is wrong.  An
   element-wise gradient whose estimate (2 x entries x forward time, a lower
   bound: it leaves out the per-entry bookkeeping) exceeds
   `--elementwise-budget` seconds is not run; its row says ">= N (est.)".  Both
   checks must agree with the analytic gradient, or the script fails.

Usage: .venv/bin/python benchmarks/scaling.py [--counts 10 20 40 80] [--workers 2]
           [--elementwise-budget 20] [--skip-batch] [--json FILE]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import bench_common as common
from overhead import build_class

from reference.cs231n import layers as ref  # noqa: E402
from reference.cs231n.gradient_check import (directional_check,  # noqa: E402
                                             eval_numerical_gradient_array, rel_error)

# (N, D, M): x (N, D), w (D, M)
AFFINE_SIZES = ((2, 16, 8), (4, 64, 32), (8, 256, 64), (16, 512, 128), (32, 1024, 256))
# (N, C, H, W, F): x (N, C, H, W), w (F, C, 3, 3), stride 1, pad 1
CONV_SIZES = ((1, 1, 4, 4, 2), (2, 3, 8, 8, 4), (2, 3, 16, 16, 8), (4, 8, 16, 16, 16),
              (4, 16, 32, 32, 32))
CONV_PARAM = {"stride": 1, "pad": 1}


def _normwise_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / max(1e-300, np.linalg.norm(a) + np.linalg.norm(b)))


def _median_time(function, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def gradient_row(layer: str, shape: tuple, budget: float) -> dict:
    rng = np.random.default_rng(0)
    if layer == "affine":
        n, d, m = shape
        x, w, b = rng.standard_normal((n, d)), rng.standard_normal((d, m)), rng.standard_normal(m)
        forward = lambda x, w: ref.affine_forward(x, w, b)  # noqa: E731
        backward = ref.affine_backward
        described = f"x ({n},{d}), w ({d},{m})"
    else:
        n, c, h, wd, f = shape
        x, w, b = (rng.standard_normal((n, c, h, wd)), rng.standard_normal((f, c, 3, 3)),
                   rng.standard_normal(f))
        forward = lambda x, w: ref.conv_forward_naive(x, w, b, CONV_PARAM)  # noqa: E731
        backward = ref.conv_backward_naive
        described = f"x ({n},{c},{h},{wd}), w ({f},{c},3,3)"
    out, cache = forward(x, w)
    dout = rng.standard_normal(out.shape)
    dx, dw = backward(dout, cache)[:2]
    row = {"layer": layer, "shape": described, "entries": int(x.size + w.size),
           "forward_s": _median_time(lambda: forward(x, w)),
           "backward_s": _median_time(lambda: backward(dout, cache))}
    result = None

    def directional():
        nonlocal result
        result = directional_check(lambda x, w: forward(x, w)[0], {"x": x, "w": w},
                                   {"x": dx, "w": dw}, df=dout)
    row["directional_s"] = _median_time(directional)
    if result.rel_error > 1e-5:
        raise SystemExit(f"{layer} {described}: directional check disagrees ({result.rel_error:.1e})")
    row["elementwise_estimate_s"] = 2 * row["entries"] * row["forward_s"]
    if row["elementwise_estimate_s"] <= budget:
        start = time.perf_counter()
        num_dx = eval_numerical_gradient_array(lambda v: forward(v, w)[0], x.copy(), dout)
        num_dw = eval_numerical_gradient_array(lambda v: forward(x, v)[0], w.copy(), dout)
        row["elementwise_s"] = time.perf_counter() - start
        # A sanity check of the timing, not a verdict: normwise, because the cs231n element-wise
        # rel_error of a gradient entry near zero grows with the layer (rounding in a sum of
        # thousands of products divided by h), 5.6e-06 on x (16,512), w (512,128) for a correct
        # backward.
        error = max(_normwise_error(num_dx, dx), _normwise_error(num_dw, dw))
        if error > 1e-7:
            raise SystemExit(f"{layer} {described}: element-wise gradient disagrees ({error:.1e})")
    else:
        row["elementwise_s"] = None
    return row


def count_rows(counts: list[int], workers: int, tmp: Path) -> list[dict]:
    rows = []
    for n in counts:
        klass = tmp / f"class-{n}"
        build_class(klass, n)
        out = tmp / f"out-{n}"
        argv = common.grade_argv("batch", str(klass), "-a", "fc_nets", "-o", str(out),
                                 "--workers", str(workers))
        wall, _ = common.timed(argv)
        graded = len(common.result_scores(out))
        rows.append({"submissions": n, "graded": graded, "wall_s": wall,
                     "per_minute": common.per_minute(graded, wall), "command": common.shown(argv)})
        print(f"  {n:>4} submissions: {wall:7.1f} s  {rows[-1]['per_minute']:6.1f}/min", flush=True)
    return rows


def linear_fit(rows: list[dict]) -> dict | None:
    """wall = fixed + per_submission * n, least squares (None with fewer than two sizes)."""
    if len({r["submissions"] for r in rows}) < 2:
        return None
    n = np.array([r["submissions"] for r in rows], dtype=float)
    wall = np.array([r["wall_s"] for r in rows])
    slope, fixed = np.polyfit(n, wall, 1)
    return {"fixed_s": float(fixed), "per_submission_s": float(slope)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[10, 20, 40, 80])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--elementwise-budget", type=float, default=20.0,
                        help="run the element-wise gradient only below this estimate (s)")
    parser.add_argument("--max-conv", type=int, default=len(CONV_SIZES),
                        help="use only the first N conv sizes (default all)")
    parser.add_argument("--max-affine", type=int, default=len(AFFINE_SIZES),
                        help="use only the first N affine sizes (default all)")
    parser.add_argument("--skip-batch", action="store_true", help="only the layer-size part")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if min(args.counts) < 1 or args.workers < 1:
        parser.error("--counts and --workers must be at least 1")
    payload = {"benchmark": "scaling", "machine": common.machine(), "workers": args.workers}
    if not args.skip_batch:
        print(f"grade batch -a fc_nets --workers {args.workers} by class size:", flush=True)
        with tempfile.TemporaryDirectory(prefix="scaling-bench-") as tmp:
            payload["counts"] = count_rows(args.counts, args.workers, Path(tmp))
        payload["fit"] = linear_fit(payload["counts"])
        if payload["fit"]:
            print(f"  fit: {payload['fit']['fixed_s']:.1f} s + "
                  f"{payload['fit']['per_submission_s']:.2f} s x submissions")
    print("\ngradient checks by layer size (reference/cs231n, float64):", flush=True)
    print(f"  {'layer':<7} {'shape':<36} {'entries':>8} {'fwd ms':>8} {'bwd ms':>8} "
          f"{'direct. ms':>10} {'elem.-wise s':>13} {'ratio':>8}")
    rows = []
    sizes = ([("affine", s) for s in AFFINE_SIZES[:args.max_affine]]
             + [("conv", s) for s in CONV_SIZES[:args.max_conv]])
    for layer, shape in sizes:
        row = gradient_row(layer, shape, args.elementwise_budget)
        rows.append(row)
        elementwise = row["elementwise_s"]
        shown = (f"{elementwise:13.2f}" if elementwise is not None
                 else f"{'>=' + format(row['elementwise_estimate_s'], '.0f') + ' (est.)':>13}")
        ratio = (elementwise if elementwise is not None else row["elementwise_estimate_s"]) \
            / row["directional_s"]
        row["ratio"] = ratio
        print(f"  {layer:<7} {row['shape']:<36} {row['entries']:>8} {row['forward_s'] * 1e3:8.3f} "
              f"{row['backward_s'] * 1e3:8.3f} {row['directional_s'] * 1e3:10.3f} {shown} "
              f"{ratio:7.0f}x", flush=True)
    payload["gradients"] = rows
    common.write_json(args.json, payload)
    return 0


if __name__ == "__main__":
    sys.exit(main())
