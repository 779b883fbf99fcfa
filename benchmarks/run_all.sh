#!/usr/bin/env bash
# Run every benchmark of issues 6 and 17 and rewrite benchmarks/RESULTS.md from their figures.
#
#   bash benchmarks/run_all.sh              # full sizes: each script under 15 minutes but the
#                                           # class of 1,000 (local pool and Dask: about 20-30
#                                           # minutes), about an hour in all on the 2-core machine
#   BENCH_PRESET=small bash benchmarks/run_all.sh   # small sizes, a few minutes: checks the
#                                                   # scripts, marks RESULTS.md preliminary
#
# `make bench` runs this after `make venv sandbox bench-tools`.  Each script writes its
# figures to $BENCH_OUT/<script>.json (default out/bench); benchmarks/write_results.py
# renders them.  Run it on a quiet machine: every figure is a wall time.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
OUT=${BENCH_OUT:-out/bench}
PRESET=${BENCH_PRESET:-full}
mkdir -p "$OUT"
rm -f "$OUT"/*.json
# The grader's byte code written ahead, as an installed package has it (the Makefile's
# `bytecode` target says why): without it every `grade` process here compiled the grader
# from source where PYTHONDONTWRITEBYTECODE is set, as on this project's machines.
$PY -m compileall -q -j 0 grader reference assignments >/dev/null
$PY -c 'from grader.report.html import compile_ahead; compile_ahead()'  # and the report's template

case "$PRESET" in
  full)
    $PY benchmarks/grade_check_times.py --runs 3 --drop-caches --json "$OUT/grade_check_times.json"
    $PY benchmarks/overhead.py --size 100 --workers 1 2 --sample 26 --json "$OUT/overhead.json"
    $PY benchmarks/scaling.py --counts 10 20 40 80 --workers 2 --json "$OUT/scaling.json"
    $PY benchmarks/compare_tools.py --size 40 --workers 1 2 --json "$OUT/compare_tools.json"
    $PY benchmarks/big_class.py --size 1000 --workers 2 --modes local dask --json "$OUT/big_class.json"
    $PY benchmarks/write_results.py "$OUT" --preset full
    ;;
  small)
    $PY benchmarks/grade_check_times.py --runs 1 --json "$OUT/grade_check_times.json"
    $PY benchmarks/overhead.py --size 8 --workers 1 2 --sample 4 --json "$OUT/overhead.json"
    $PY benchmarks/scaling.py --counts 4 8 --workers 2 --max-affine 3 --max-conv 3 \
      --json "$OUT/scaling.json"
    $PY benchmarks/compare_tools.py --size 6 --workers 1 2 --json "$OUT/compare_tools.json"
    $PY benchmarks/big_class.py --size 12 --workers 2 --modes local dask --json "$OUT/big_class.json"
    $PY benchmarks/write_results.py "$OUT" --preset small --preliminary
    ;;
  *)
    echo "run_all.sh: BENCH_PRESET must be full or small, not '$PRESET'" >&2
    exit 2
    ;;
esac
