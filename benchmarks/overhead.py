"""Batch throughput for 100 numpy submissions, the overhead ratio, and where the rest goes.

Why it exists: issue 6 asks how much of a batch's time is the grading itself
and how much is everything around it (processes, sandbox, pytest, files).
One run:

1. builds a class of `--size` fc_nets submissions (default 100) from
   examples/batch/make_class.py's ordinary kinds: correct folders, zips and
   loose files, and the six one-bug copies (no hostile, empty or Python 2
   entries: their time limits would measure limits, not overhead);
2. times `grade batch CLASS -a fc_nets --workers W` for each W (default 1 2),
   each on a fresh output folder: wall time and submissions per minute;
3. runs the same checks' computation alone for every submission
   (benchmarks/in_process.py, Note [Computation alone]) and checks that it
   reaches the same score as the batch for every submission;
4. reports the overhead ratio, Note [Overhead ratio];
5. measures where the rest goes, Note [Breakdown].

Usage: .venv/bin/python benchmarks/overhead.py [--size 100] [--workers 1 2]
           [--sample 26] [--json FILE]

# Note [Overhead ratio]
overhead ratio (W workers) = wall time of `grade batch` with W workers, from
the command's start to its exit (interpreter start, discovery, every job,
grades.csv, reports, similarity, dashboard included)
  / the sum over all submissions of the computation alone (the checks' run
functions in one process: reference calls, student calls, comparisons).
With 1 worker both sides use one core, so the ratio is the factor the grader's
safety and reporting cost; with 2 workers the numerator runs on two cores and
the denominator on one, so that ratio shows what a second core buys back.

# Note [Breakdown]
Measured, on the first `--sample` submissions (default 26: two of each kind),
by grading each as a batch does, in a fork of a fresh process made as the batch's
job template is (Note [Profiled in a fresh template]): the assignment loaded and the
pytest session prepared once, before the forks (Note [Session collected once] in
grader/scoring/plugin.py), and each fork set up by the job's own init_job_process
(its folder, and Note [Cgroup moves primed] in grader/batch/job.py), untimed; the fork calls the
same `grade_submission` a job process calls, with timers wrapped around its
stages (exclusive time: a stage's own
time, less the stages inside it): staging, worker start (bubblewrap, Python,
numpy, the hello request; every start, restarts included), worker stop,
requests to the worker (pipe, wire format, the worker's own handling) with
the time student code ran inside the worker (the reply's own measurement)
split out, the checks' judge-side code (reference calls, comparisons,
messages), pytest (collection, hooks, reports: plugin.run less its checks), and
the rest of grade_submission.  Then the batch's own work, measured on the
1-worker run's results: writing each result JSON, its gradebook rows, its HTML
report; once per batch: `grade batch` on an empty class (interpreter start,
imports, loading the assignment, the gradebook), discovery with content hashes, reading the
results at the end, grades.csv (at the start and at the end), the dashboard, and
similar-code pairs (shown, but not counted: a job of their own makes them while the grading
jobs run, on a core the 1-worker batch leaves free); and starting a job process (the batch's pool, one fork of its job
template per task, taking the template's assignment as a job does).  The per-submission parts are scaled to
the class size and set against the 1-worker wall time; what is left is shown
as unaccounted, never spread over the parts.

# Note [Profiled in a fresh template]
The profiled jobs used to be forks of this benchmark's own process, which by then had graded
nothing itself but had run the computation alone of every submission (benchmarks/in_process.py)
and built the class: whatever a real job pays once per process (a cache filled on first use, a
module imported or compiled on first use, a lazily built table) could have been paid there
already and then been missing from the breakdown, which would show up only as "unaccounted".
So the sample is graded in a fresh interpreter (this script with --profile-child), which does
exactly what the batch's job template does before its forks (`preload_template` of
grader/batch/job.py with the batch's preload settings), then forks one job per submission, as
before.  That process imports this script's modules too (the benchmark's, the batch process's,
the report's): modules a job never imports, so none of them hides a job's cost.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import bench_common as common
import in_process

sys.path.insert(0, str(common.ROOT / "examples" / "batch"))
import make_class  # noqa: E402

from grader.scoring import assignment as assignments  # noqa: E402
from grader.batch import run as batch  # noqa: E402
from grader.scoring import pipeline, plugin  # noqa: E402
from grader.submission.discover import content_hash, discover  # noqa: E402
from grader.batch.gradebook import Gradebook, load_result  # noqa: E402
from grader.report.html import render_html  # noqa: E402
from grader.worker.client import Worker  # noqa: E402

ASSIGNMENT = "fc_nets"


def build_class(folder: Path, size: int) -> dict[str, str]:
    """`size` ordinary submissions (make_class's FILL kinds, in its order); entry -> kind.
    Uses make_class's own writer for one entry, so the kinds are exactly the demo class's."""
    folder.mkdir(parents=True)
    return {make_class._make(folder, n, make_class.FILL[(n - 1) % len(make_class.FILL)]):
            make_class.FILL[(n - 1) % len(make_class.FILL)] for n in range(1, size + 1)}


# -- timers ------------------------------------------------------------------------------------

class Profiler:
    """Exclusive time per label for nested, wrapped calls (Note [Breakdown])."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = {}
        self.counts: dict[str, int] = {}
        self._stack: list[list] = []  # [label, start, time spent in children]

    def add(self, label: str, seconds: float) -> None:
        self.totals[label] = self.totals.get(label, 0.0) + seconds

    def wrap(self, label: str, function):
        def timed(*args, **kwargs):
            frame = [label, time.perf_counter(), 0.0]
            self._stack.append(frame)
            try:
                return function(*args, **kwargs)
            finally:
                self._stack.pop()
                elapsed = time.perf_counter() - frame[1]
                self.add(label, elapsed - frame[2])
                self.counts[label] = self.counts.get(label, 0) + 1
                if self._stack:
                    self._stack[-1][2] += elapsed
        return timed

    def move(self, seconds: float, to: str) -> None:
        """Count `seconds` of the running frame under `to` instead (worker-measured time)."""
        if self._stack:
            self._stack[-1][2] += seconds
        self.add(to, seconds)

    @property
    def current(self) -> str:
        return self._stack[-1][0] if self._stack else ""


STAGING, START, STOP, STUDENT = ("staging", "worker start", "worker stop",
                                 "student code in the worker")
CALLS = "worker requests: {op} (pipe, wire, worker's handling)"
# made in a job of its own while the grading jobs run (Note [Similarity beside the jobs] in
# grader/batch/run.py): shown, not counted in the 1-worker batch's time
BESIDE = "similar-code pairs (beside the jobs, not in the sum)"
CHECKS, PYTEST, OTHER = ("checks, judge side (references, comparisons, messages)",
                         "pytest (collection, hooks, reports)", "rest of grade_submission")


def profile_grading(paths: list[tuple[str, Path]], assignment,
                    warm: tuple[str, ...] = ()) -> tuple[Profiler, float]:
    """Grade each submission in this process with timers on every stage; (profiler, wall).
    With `warm` (slot folders of a running SlotPool), workers start as a warm batch's do."""
    from grader.worker.warm import WarmWorker
    profiler = Profiler()
    originals = (pipeline.stage, plugin.run, Worker.start, Worker.close, Worker.request,
                 Worker._launch, Worker.wait_started)
    warm_originals = (WarmWorker.start, WarmWorker.close)
    request = Worker.request

    def timed_request(worker, op, **fields):
        if profiler.current == START:  # hello and path belong to the start
            return request(worker, op, **fields)

        def call():
            reply = request(worker, op, **fields)
            if op == "call":
                profiler.move(float(reply.get("seconds", 0.0)), STUDENT)
            return reply
        return profiler.wrap(CALLS.format(op=op), call)()

    # Streamed calls (Note [Streamed calls] in grader/worker/client.py): one request, counted by
    # `stream`, whose replies are read by Stream.__next__, timed under the same label.
    from grader.worker.client import Stream
    stream_originals = (Worker.stream, Stream.__next__)
    streamed = CALLS.format(op="calls")

    def timed_next(stream):
        def read():
            result = stream_originals[1](stream)
            profiler.move(result.seconds, STUDENT)
            return result
        try:
            return profiler.wrap(streamed, read)()
        finally:
            profiler.counts[streamed] -= 1
    Worker.stream = profiler.wrap(streamed, Worker.stream)
    Stream.__next__ = timed_next
    pipeline.stage = profiler.wrap(STAGING, pipeline.stage)
    plugin.run = profiler.wrap(PYTEST, plugin.run)
    # A start is _launch + wait_started (the pipeline calls them apart: Note [Early start] in
    # grader/worker/client.py): both timed as the start, counted once, by _launch.
    wait_started = profiler.wrap(START, Worker.wait_started)

    def uncounted_wait(worker):
        try:
            return wait_started(worker)
        finally:
            profiler.counts[START] -= 1
    Worker._launch = profiler.wrap(START, Worker._launch)
    Worker.wait_started = uncounted_wait
    Worker.close = profiler.wrap(STOP, Worker.close)
    Worker.request = timed_request
    WarmWorker.start = profiler.wrap(START, WarmWorker.start)
    WarmWorker.close = profiler.wrap(STOP, WarmWorker.close)
    checks = tuple(dataclasses.replace(c, run=profiler.wrap(CHECKS, c.run)) for c in assignment.checks)
    timed_assignment = dataclasses.replace(assignment, checks=checks)
    grade = profiler.wrap(OTHER, pipeline.grade_submission)
    start = time.perf_counter()
    try:
        # untimed, once, as a batch's job template makes it before its jobs (Note [Config made
        # once], Note [Session collected once] in grader/scoring/plugin.py)
        plugin.prepare(timed_assignment.checks)
        from grader.batch import job
        job._own_procs = job._own_procs_file()  # as preload_template finds it, once
        for name, path in paths:
            totals, counts = _in_a_job(lambda: grade(path, timed_assignment,
                                                     pipeline.Options(warm=warm), name=name),
                                       profiler)
            for label, seconds in totals.items():
                profiler.add(label, seconds)
            for label, n in counts.items():
                profiler.counts[label] = profiler.counts.get(label, 0) + n
    finally:
        (pipeline.stage, plugin.run, Worker.start, Worker.close, Worker.request,
         Worker._launch, Worker.wait_started) = originals
        (WarmWorker.start, WarmWorker.close) = warm_originals
        (Worker.stream, Stream.__next__) = stream_originals
    return profiler, time.perf_counter() - start


def _in_a_job(grade, profiler: Profiler) -> tuple[dict, dict]:
    """Run `grade` in a fork of this process set up as a batch job is (Note [Breakdown]); the
    fork's (totals, counts) of `profiler`'s labels for that run alone."""
    from grader.batch import job
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the job
        code = 1
        try:
            os.close(read)
            profiler.totals, profiler.counts = {}, {}
            job.init_job_process(os.getppid())  # untimed: the job's start is its own part
            try:
                grade()
            finally:
                shutil.rmtree(job._job_tmp, ignore_errors=True)
            with os.fdopen(write, "w") as out:
                json.dump([profiler.totals, profiler.counts], out)
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    with os.fdopen(read) as answer:
        text = answer.read()
    _, status = os.waitpid(pid, 0)
    if status != 0 or not text:
        raise RuntimeError(f"the profiled job ended with status {status}")
    totals, counts = json.loads(text)
    return totals, counts


def profile_in_template(paths: list[tuple[str, Path]], assignment,
                        warm: tuple[str, ...] = ()) -> tuple[Profiler, float]:
    """`profile_grading` of `paths` in a fresh process set up as the batch's job template is
    (Note [Profiled in a fresh template]); (profiler, wall) as profile_grading gives them."""
    spec = batch.JobSpec(ASSIGNMENT, dict(assignment.conventions), str(assignments.ASSIGNMENTS_DIR),
                         str(assignments.RUBRICS_DIR), None, None, None)
    request = {"preload": {**batch.preload_data(spec), "notebooks": False},
               "paths": [[name, str(path)] for name, path in paths], "warm": list(warm)}
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--profile-child"],
                          input=json.dumps(request), capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"the profiling template failed:\n{done.stderr[-3000:]}")
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    profiler = Profiler()
    profiler.totals, profiler.counts = answer["totals"], answer["counts"]
    return profiler, answer["wall"]


def _profile_child() -> int:
    """The fresh process of profile_in_template: the template's preload, then the profiled
    forks; its answer is one JSON line on stdout."""
    request = json.loads(sys.stdin.read())
    from grader.batch import job
    job.preload_template(request["preload"])  # exactly what the batch's template does first
    loaded = job._template_assignment
    assignment = loaded[2] if loaded is not None else assignments.load(ASSIGNMENT)
    profiler, wall = profile_grading([(name, Path(path)) for name, path in request["paths"]],
                                     assignment, tuple(request["warm"]))
    print(json.dumps({"totals": profiler.totals, "counts": profiler.counts, "wall": wall}))
    return 0


def warm_slots():
    """A one-slot SlotPool when this machine can have warm workers (as grade batch would by
    default), else (None, ()); Note [When workers are warm] in grader/worker/warm.py."""
    from grader.worker.warm import SlotPool, ZygoteError, warm_refusal
    if warm_refusal("numpy"):
        return None, ()
    pool = SlotPool(1)
    try:
        slots = tuple(pool.start())
    except ZygoteError:
        slots = ()
    if not slots:
        pool.stop()
        return None, ()
    return pool, slots


def job_start_seconds(tasks: int) -> tuple[float, list[float]]:
    """(first job incl. the fork server's start, later jobs' seconds): the batch's own pool,
    one task per process, each taking the assignment as a job does, the template's (Note [Job
    processes] and Note [Warm job processes] in grader/batch/run.py, Note [Loaded once per
    batch] in grader/batch/job.py).
    Uses the batch's own pool factory, so that what is timed is exactly what grade batch starts."""
    assignment = assignments.load(ASSIGNMENT)
    spec = batch.JobSpec(ASSIGNMENT, dict(assignment.conventions), str(assignments.ASSIGNMENTS_DIR),
                         str(assignments.RUBRICS_DIR), None, None, None)
    executor = batch._executor(1, spec)  # with the template's preload, as grade batch does
    times = []
    try:
        for _ in range(tasks + 1):
            start = time.perf_counter()
            executor.submit(common.job_probe, spec).result()
            times.append(time.perf_counter() - start)
    finally:
        executor.shutdown()
    return times[0], times[1:]


def batch_side(klass: Path, out_1: Path, assignment, scratch: Path) -> tuple[dict, dict]:
    """(per-result seconds by part, once-per-batch seconds by part), measured on out_1's results."""
    results = [load_result(p) for p in sorted((out_1 / "results").glob("*.json"))]
    (scratch / "results").mkdir(parents=True)
    (scratch / "reports").mkdir()
    book = Gradebook(scratch / "gradebook.sqlite")
    found = discover(klass)
    book.set_submissions([(s.id, s.source, "", s.name, s.email) for s in found.submissions])
    per = {"result JSON": 0.0, "gradebook rows": 0.0, "HTML report": 0.0}
    for result in results:
        json_path = scratch / "results" / f"{result.submission}.json"
        t0 = time.perf_counter()
        batch.write_atomic(json_path, result.to_json())
        t1 = time.perf_counter()
        book.record(result, json_path, result.submission)
        t2 = time.perf_counter()
        batch.write_atomic(scratch / "reports" / f"{result.submission}.html", render_html(result))
        t3 = time.perf_counter()
        per["result JSON"] += t1 - t0
        per["gradebook rows"] += t2 - t1
        per["HTML report"] += t3 - t2
    per = {k: v / max(1, len(results)) for k, v in per.items()}

    once = {}
    empty = scratch / "empty-class"
    empty.mkdir()
    # An empty class is refused (exit 2, "no submissions found") after the interpreter's start,
    # the imports, loading the assignment and discovery: what is timed here.
    walls = [common.timed(common.grade_argv("batch", str(empty), "-a", ASSIGNMENT, "-o",
                                            str(scratch / f"empty-out-{n}")), ok=(0, 2))[0]
             for n in range(3)]
    once["grade batch on an empty class (start, imports, set-up; median of 3)"] = \
        statistics.median(walls)
    t0 = time.perf_counter()
    found = discover(klass)
    for submission in found.submissions:
        content_hash(submission)
    once["discovery and content hashes"] = time.perf_counter() - t0
    from grader.report.dashboard import load_results, write_dashboard
    copy = scratch / "dashboard-out"
    shutil.copytree(out_1, copy, ignore=shutil.ignore_patterns("summary.html", ".lock"))
    t0 = time.perf_counter()
    read = load_results(copy)  # once, for both (Note [Results read once at the end] in run.py)
    once["results read at the end (for grades.csv and the dashboard)"] = time.perf_counter() - t0
    (scratch / "no-results").mkdir()
    t0 = time.perf_counter()
    batch.write_grades_csv(scratch / "no-results", scratch / "grades.csv",  # the batch's start
                           list(assignment.rubric.points), book.names())
    batch.write_grades_csv(copy / "results", scratch / "grades.csv",  # its end
                           list(assignment.rubric.points), book.names(), dict(read[0]))
    once["grades.csv (at the start and at the end)"] = time.perf_counter() - t0
    from grader.batch.similarity import write_similarity
    t0 = time.perf_counter()
    write_similarity(scratch, {s.id: s.path for s in found.submissions}, assignment)
    once[BESIDE] = time.perf_counter() - t0
    t0 = time.perf_counter()
    write_dashboard(copy, assignment, read)
    once["class dashboard"] = time.perf_counter() - t0
    book.close()
    return per, once


def main(argv: list[str] | None = None) -> int:
    if (sys.argv[1:] if argv is None else argv) == ["--profile-child"]:
        return _profile_child()  # Note [Profiled in a fresh template]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--sample", type=int, default=26,
                        help="submissions profiled for the breakdown (default 26)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if args.size < 1 or args.sample < 1 or min(args.workers) < 1:
        parser.error("--size, --sample and --workers must be at least 1")
    if 1 not in args.workers:
        parser.error("--workers must include 1 (the breakdown is set against the 1-worker run)")
    with tempfile.TemporaryDirectory(prefix="overhead-bench-") as tmp:
        return _run(args, Path(tmp))


def _run(args, tmp: Path) -> int:
    klass = tmp / "class"
    kinds = build_class(klass, args.size)
    assignment = assignments.load(ASSIGNMENT)
    print(f"class of {args.size} fc_nets submissions ({len(set(kinds.values()))} kinds); "
          f"load average {common.machine()['load_average'][0]}", flush=True)
    runs = []
    for workers in args.workers:
        out = tmp / f"out-{workers}"
        argv = common.grade_argv("batch", str(klass), "-a", ASSIGNMENT, "-o", str(out),
                                 "--workers", str(workers))
        wall, _ = common.timed(argv)
        scores = common.result_scores(out)
        starts = dict(Counter(common.result_environment(out, "worker_start").values()))
        runs.append({"workers": workers, "wall_s": wall, "graded": len(scores),
                     "worker_start": starts,
                     "per_minute": common.per_minute(len(scores), wall),
                     "grading_s_summed": sum(common.result_durations(out).values()),
                     "command": common.shown(argv), "scores": scores})
        print(f"--workers {workers}: {len(scores)} in {wall:.1f} s = "
              f"{runs[-1]['per_minute']:.1f} submissions/minute; workers {starts}", flush=True)

    found = discover(klass).submissions
    computed = [in_process.compute_alone(s.path, assignment, s.id) for s in found]
    compute_total = sum(c.seconds for c in computed)
    mismatched = [c.submission for c in computed if c.score != runs[0]["scores"].get(c.submission)]
    print(f"computation alone: {compute_total:.1f} s for {len(computed)} submissions "
          f"({compute_total / len(computed):.3f} s each); scores "
          + ("match the batch's" if not mismatched else f"DIFFER for {mismatched}"), flush=True)
    for run in runs:
        run["overhead_ratio"] = run["wall_s"] / compute_total
        print(f"overhead ratio, {run['workers']} worker(s): {run['overhead_ratio']:.2f}")

    sample = [(s.id, s.path) for s in found[:args.sample]]
    pool, slots = warm_slots()
    try:
        profiler, profiled_wall = profile_in_template(sample, assignment, slots)
    finally:
        if pool is not None:
            pool.stop()
    per_submission = {label: seconds / len(sample) for label, seconds in profiler.totals.items()}
    counts = {label: n / len(sample) for label, n in profiler.counts.items()}
    starts = profiler.counts.get(START, 0) / len(sample)
    first_job, later_jobs = job_start_seconds(min(10, args.size))
    per_result, once = batch_side(klass, tmp / "out-1", assignment, tmp / "batch-side")
    per_submission["job process start (pool, the template's assignment)"] = statistics.median(later_jobs)
    per_submission.update(per_result)
    once["fork server start (first job)"] = max(0.0, first_job - statistics.median(later_jobs))
    wall_1 = next(r["wall_s"] for r in runs if r["workers"] == 1)
    accounted = (sum(per_submission.values()) * args.size
                 + sum(seconds for label, seconds in once.items() if label != BESIDE))
    print(f"\nwhere the 1-worker batch's {wall_1:.1f} s go (per-submission parts measured on "
          f"{len(sample)} submissions, {starts:.2f} worker starts each, x {args.size}):")
    for label, seconds in sorted(per_submission.items(), key=lambda kv: -kv[1]):
        times = f"{counts[label]:.0f}x" if label in counts and label not in (OTHER, STUDENT) else ""
        print(f"  {label:<62} {times:>5} {seconds * 1000:8.1f} ms each  {seconds * args.size:7.1f} s")
    for label, seconds in once.items():
        print(f"  {label:<62} {'':>5} {'once':>11}  {seconds:7.1f} s")
    print(f"  {'unaccounted (scheduling, contention, measurement)':<62} {'':>5} {'':>11}  "
          f"{wall_1 - accounted:7.1f} s")
    print(f"  computation alone, for comparison: {compute_total / len(computed) * 1000:.1f} ms each")
    common.write_json(args.json, {
        "benchmark": "overhead", "machine": common.machine(), "size": args.size,
        "assignment": ASSIGNMENT, "kinds": sorted(set(kinds.values())), "runs": runs,
        "compute_alone_s": compute_total, "compute_alone_each_s": compute_total / len(computed),
        "scores_match": not mismatched, "mismatched": mismatched, "sample": len(sample),
        "profiled_wall_s": profiled_wall, "worker_starts_per_submission": starts,
        "breakdown_worker_start": "warm" if slots else "cold",
        "per_submission_s": per_submission, "calls_per_submission": counts, "once_s": once, "accounted_s": accounted,
        "unaccounted_s": wall_1 - accounted})
    return 0 if not mismatched else 1


if __name__ == "__main__":
    sys.exit(main())
