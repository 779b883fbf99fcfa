"""Grade a folder of submissions in parallel, keeping every result the moment it exists.

`grade batch` (cli.py) calls `run_batch`: discover the submissions
(discover.py), reconcile the gradebook with the result files (gradebook.py),
grade what is missing or changed in job processes, and render the grades
table, the reports and the class dashboard from the JSON files.

# Note [Nothing lost]
The parent process alone writes.  Each result, as soon as its job returns, is
written to results/<id>.json atomically (a temporary file, fsync, rename), then
to the gradebook in one transaction, then rendered to reports/<id>.html
(atomically too).  A kill at any moment leaves each submission either with its
whole JSON or with none; on the next start the gradebook is reconciled with
the JSON files (a JSON without its row is imported, a row without its JSON is
dropped and the submission graded again), and only what has no current
result is graded.  grades.csv is rewritten from the JSON files on every start
and at the end, so it always agrees with them.  A lock on OUT_DIR keeps two
batches from writing the same gradebook.

# Note [When a submission is graded again]
A submission is graded when it has no result, when its content hash differs
from the one its result was graded from, when the settings key differs (the
assignment, the rubric's points, the conventions and --select: what decides a
verdict), when its last grading process crashed (not a verdict: Note [Crash
attribution]), or with --regrade.  Otherwise it is counted as unchanged.

# Note [Job processes]
pytest runs in-process, once per submission, so each job is a process of its
own: a fork of the batch's job template (grader/batch/template.py, a fresh
Python started once per batch that imports the grader and loads the
assignment, and never grades), one fork per submission, at most --workers at a
time (ForkPool).  A job inherits no threads of the batch and nothing of any
other submission.  Until issue 17 the jobs came from a ProcessPoolExecutor on
multiprocessing's 'forkserver' context with max_tasks_per_child=1; its
machinery per task (pickled process objects, re-running the parent's main
script in each child, call and result queues with their feeder threads, a new
process spawned by the pool's manager thread after each exit) cost about 30 ms
a job, more than the fork itself (Note [Job start] in template.py), and the
parent's main script no longer needs an `if __name__ == "__main__":` guard.
A job process watches the batch process (a pidfd, else polling) and, when it
ends, however it ends (SIGKILL included), kills its student workers' process
groups, removes its temporary folder and exits; SIGTERM does the same.  A
parent-death signal would not do: a job's parent is the template.  The
template ends when the batch does (its control socket closes).  Jobs ignore
SIGINT: the batch decides what Ctrl-C means (stop, keep what was graded).
Each job keeps its temporary files in a folder named after its pid; the batch
removes those of dead processes when it starts and ends.

# Note [Warm job processes]
A job process is still one per submission (Note [Job processes]), but what it
would pay at its start is paid once, in the template every job is forked from:
the batch hands the template its assignment's settings (on its stdin, the
questions' secret among them: Note [Job templates on Dask] in template.py),
and the template, besides importing the grader, loads that assignment (its
checks module and the reference code that imports) and runs pytest's
collection of its checks once, so that pytest's lazy imports and first-run
set-up are done too, and builds the pytest configuration each job's session
starts from (Note [Config made once] in grader/scoring/plugin.py).  Each job
is a fork of that template: it inherits those modules and nothing of any
submission (the template never grades).
grade_job still calls assignments.load, which reads the manifest and the
rubric afresh, and reuses the checks module only while checks.py is the file
the template loaded (same path, size and mtime).  The preload is only a cache:
when it fails, jobs load what they need themselves.  Measured on fc_nets (the
batch's own pool, one task per process loading the assignment, median of 7,
load average about 1): 67 ms a job before the preload, 30-38 ms with it on the
fork server; and pytest's first run in a process, about 35 ms more than a
later one, is paid in the template.

# Note [Next job first]
Keeping a result (its JSON, its gradebook rows, its HTML report: about 10 ms,
in the batch process) does not wait for a job slot: when results come in, the
next jobs are started first, then the results are kept, so the batch process
writes while the next submission grades (with --workers 1 on 40 notebooks,
that is 40 writes off the critical path).  Crash attribution is settled before
(a suspect is queued before any new job starts), and the order in which
results are kept is unchanged.

# Note [Template first]
The job template takes a few hundred milliseconds to be ready (a fresh Python
that imports the grader, loads the assignment, collects its checks and makes
pytest's configuration), and so do the warm workers' zygotes (grader/worker/warm.py);
the batch waits for the zygotes before its first job, and used to start the
template only then.  Now the template is started first (its settings never
include the zygotes' slots, which each job gets in its call), so that the two
start side by side, on two cores, and the first job forks sooner.  A batch
with nothing to grade starts neither.

# Note [Results read once at the end]
When the jobs are done, grades.csv and the class dashboard are both made from every
results/<id>.json (Note [Nothing lost]), and each used to read and parse all of them: 1-2 ms
a result, twice, after the last job (0.2-0.3 s of a class of 100).  Nothing writes a result
between the two (the reports, the gradebook's run and similarity.json are other files), so
the JSON files are read once, by the dashboard's own `load_results`, and both are made from
that.  A JSON it could not read is read again by grades.csv, which leaves its row out and
says so (Note [A damaged result file] in grader/scoring/result.py).

# Note [Similarity beside the jobs]
Similar-code pairs (grader/batch/similarity.py) are made from the submissions
alone, never from their results, and used to be made at the end, in the batch
process, after the last job (staging every submission again: 0.3-0.5 s of a
40-notebook batch, serial).  Now the batch asks its template for one more job
as soon as the template is started, outside the --workers limit, that makes
the similarity document for every submission found while the grading jobs
run; the batch process writes it at the end, as it writes everything (Note
[Nothing lost]).  Same document: the same function on the same files, with
the template's own copy of the assignment.  With --workers below the number
of cores it runs on a core the jobs leave free; otherwise it takes its turn
with them.  When that job fails or is stopped (Ctrl-C) the batch makes the
document itself, as before.

# Note [Crash attribution]
A job that dies (the kernel's OOM killer, a crash in native code) is reported
by its own exit status, which the template sends (Note [Talking to a
template]); the other jobs in flight go on.  As the OOM killer may pick an
innocent job for another's memory, a job that died while others ran is graded
again alone, with nothing else in flight; a job that dies while it runs alone
(or with --workers 1) is the culprit and gets an `error` result saying how its
process ended.  Such a result is marked `job_failure` and graded again by the
next run, as is one whose job raised instead of returning a result.  "Alone"
counts grading jobs: the similarity job (Note [Similarity beside the jobs]) and
the template's idle spare fork (Note [Forked ahead] in template.py) may run
beside it; neither runs student code, and the similarity job holds a class's
parsed functions (megabytes), far from what a memory kill is about.
"""

from __future__ import annotations

import csv
import dataclasses
import fcntl
import functools
import hashlib
import io
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, TextIO

from ..checks.questions import Questions
from ..scoring import assignment as assignments
from ..submission.discover import Submission, content_hash, discover
from .gradebook import Gradebook, Reconciled, load_result
from ..scoring.pipeline import submission_device
from ..scoring.result import SubmissionResult
from ..report.atomic import write_atomic  # Note [Atomic writes leave nothing behind]
from ..report.terminal import printable, printable_lines
from ..report.text import writable
from .job import (BatchError, Job, JobSpec, first_line, gave_up, grade_job, init_job_process, job_of,
                  holds_notebooks, preload_data, remove_dead_job_folders, similarity_job)
from .template import ForkPool, JobDied, JobTimedOut, Template, call


@dataclass(frozen=True)
class BatchOptions:
    workers: int | None = None      # None: os.cpu_count()
    regrade: bool = False
    sandbox: str | None = None
    python: str | None = None       # interpreter for student workers
    select: str | None = None       # pytest -k expression
    notebook_mode: str | None = None  # "definitions" or "execute"; None: the manifest's
    device: str | None = None       # --device: auto, cpu, cuda, cuda:N
    data_dir: str | None = None     # --data-dir: the accuracy checks' data set
    cluster: str | None = None      # "local" or a scheduler address: grade on Dask (cluster.py)
    warm: bool | None = None        # zygote workers: None where safe, True asked, False never
                                    # (Note [When workers are warm] in grader/worker/warm.py)
    job_limit_s: float | None = None  # --job-limit; None: job_limit(assignment) (Note [A limit per job])


@dataclass
class Outcome:
    layout: str
    out_dir: Path
    submissions: int = 0
    graded: int = 0                 # results written now (graded or not)
    ungradable_now: int = 0         # of those, the ones that could not be graded
    unchanged: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)   # (id, why) not graded
    # (id, why) graded and kept, but its HTML report not written (Note [A report that fails])
    report_failures: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)    # entries that are not one
    reconciled: Reconciled = field(default_factory=Reconciled)
    interrupted: bool = False
    ctrl_c: bool = False            # interrupted by the user (not by a lost Dask scheduler)
    seconds: float = 0.0
    dashboard: Path | None = None
    dashboard_error: str = ""
    # (id, why) of result files that could not be read at the end: not in grades.csv
    unreadable: list[tuple[str, str]] = field(default_factory=list)

    @property
    def exit_status(self) -> int:
        if self.ctrl_c:  # Note [Command errors] in grader/cli.py
            return 130
        return 1 if (self.failures or self.report_failures or self.unreadable
                     or self.interrupted) else 0


# -- the job process ---------------------------------------------------------------------------

# Note [A limit per job]
# The worker has a limit per call and a budget per submission (Note [Time budget] in
# grader/worker/client.py), but those are kept by the job process, the judge's side; nothing
# bounded the job process itself.  A judge-side hang in one job (a crafted text that makes a
# regular expression or a parser slow, a pipe that never ends) held its slot forever, and the
# batch waited for it: one submission stopped the class.  So the batch gives each job a
# wall-clock limit from its fork, kept by the batch process (ForkPool, grader/batch/
# template.py), which the job cannot hold up.  Past it the job is stopped and killed with its
# whole process tree (SIGSTOP, then SIGKILL for each descendant's group, each descendant and
# the job: a job stuck in C code that holds the GIL never runs its SIGTERM handler; a warm
# worker, a child of its zygote, is killed by the zygote when the job's connection closes),
# and the submission gets an `error` result: "the grader gave up on this submission after N
# s; tell the course staff".  It is the grader's failure, not a verdict, so it is marked
# `job_failure` and graded again by the next run (Note [Crash attribution]); it is not a
# suspect to grade again alone (a job slow because of its neighbours is not what a limit this
# generous catches).  The limit is generous: twice what the worker's own limits allow a
# submission (its time budget, plus the notebook's whole-run limit for a notebook that is
# executed), plus a minute for staging and the job's own start: 540 s for fc_nets, whose
# submissions take well under a few seconds each (README "Measured").  `--job-limit SECONDS`
# sets it for a batch.  The similarity job beside the grading jobs (Note [Similarity beside
# the jobs]) parses every submission's code in the judge, so it gets the same kind of limit
# (plus a second a submission, as it reads the whole class); past it the job is killed the
# same way and the batch writes a similarity.json that says why no list was made (the
# dashboard shows that), rather than making the list in its own process (the very parse that
# hung).
# On Dask the task keeps the same limit around its job (the spec's job_limit_s; cluster.py's
# _run_forked and _run_fresh), and the batch keeps the same error result.
JOB_LIMIT_SLACK_S = 60.0


def job_limit(assignment: assignments.Assignment) -> float:
    """A job's default wall-clock limit in seconds (Note [A limit per job])."""
    return 2.0 * (assignment.limits.budget() + float(assignment.layout.notebook_total_s)) \
        + JOB_LIMIT_SLACK_S


def _executor(workers: int, spec: JobSpec | None = None,
              template: Template | None = None, limit_s: float | None = None) -> ForkPool:
    """The batch's job processes: forks of a template that loaded `spec`'s assignment (Note [Job
    processes], Note [Warm job processes]); with no spec, of one that loaded only the grader.
    `template`: one started already for `spec` (Note [Template first]); `limit_s`: each job's
    wall-clock limit (Note [A limit per job])."""
    return ForkPool(workers, preload_data(spec) if spec is not None else {},
                    initializer=init_job_process, initargs=(os.getpid(),), template=template,
                    limit_s=limit_s)


# -- writing -----------------------------------------------------------------------------------

def _number(value: float) -> str:
    return f"{value:.10g}"


def write_grades_csv(results_dir: Path, path: Path, check_ids: list[str],
                     names: dict[str, str], read: dict | None = None,
                     unreadable: list[tuple[str, str]] | None = None) -> int:
    """grades.csv from the JSON files alone: id, name, score (blank when not graded), max_score,
    status, message (why a submission was not graded: Note [Why in grades.csv]), then one
    column per rubric check (points, empty when the check did not run).  Returns the rows.
    `read`: id -> the result its JSON holds, read already (Note [Results read once at the
    end]); any other JSON is read here.  `unreadable`: where a JSON that cannot be read goes,
    as (id, why), its row left out (Note [A damaged result file] in
    grader/scoring/result.py); without it, an error."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["id", "name", "score", "max_score", "status", "message", *check_ids])
    count = 0
    for json_path in sorted(results_dir.glob("*.json"), key=lambda p: p.stem.casefold()):
        result = read.get(json_path.stem) if read else None
        try:
            result = result if result is not None else load_result(json_path)
        except (OSError, ValueError) as exc:
            if unreadable is None:
                raise
            unreadable.append((json_path.stem, f"{type(exc).__name__}: {exc}"))
            continue
        points = {c.id: c.points for c in result.checks}
        writer.writerow([json_path.stem, names.get(json_path.stem, result.submission),
                         result.score_cell(_number),  # Note [Why in grades.csv]
                         _number(result.max_score), result.status,
                         first_line(result.message) if result.status != "graded" else "",
                         *[_number(points[c]) if c in points else "" for c in check_ids]])
        count += 1
    # a message names what it found, in any encoding (Note [Names that are not UTF-8 in what
    # is written] in grader/report/text.py)
    write_atomic(path, writable(buffer.getvalue()))
    return count


# Note [Why in grades.csv]
# grades.csv is what an instructor opens first, and a submission that could not be graded
# was a row of "0, error" and empty check columns: why (an empty zip, a folder holding only
# a README, a notebook where the package was asked for) was in its report, its JSON and the
# batch's summary, never in the file that holds the grades, so every 0 had to be looked up
# before it could be told from a wrong answer.  The row now says it in a `message` column,
# the first line of the result's message, empty for a graded submission.  Its score is blank,
# not 0 (Note [An ungraded submission has no score] in grader/course/export.py).


def _render_html(result: SubmissionResult) -> str:
    """The report page; imported when first needed (Jinja2 and the report module), which is
    never in a job process: a Dask job process imports this module for its start alone."""
    from ..report.html import render_html
    return render_html(result)


# Note [A report that fails]
# A submission's HTML report is a view of its JSON, written after the JSON and the gradebook's
# rows (Note [Nothing lost]).  Its failure (a template error on an odd result, a full disk, a
# name the file system refuses) used to end the batch, so one report cost the rest of the
# class.  Now it costs that report only: the result and its score stay kept (the JSON and the
# gradebook, so grades.csv and the dashboard too), the batch goes on, the summary names the
# submission and why under "report not written", and the exit status is 1, as for a
# submission not graded, so that a script notices.  The next run writes the missing report
# (_render_missing_reports, which writes a report for every JSON without a current one) and
# grades nothing again for it.  The report writer leaves no .tmp (Note [Atomic writes leave
# nothing behind] in grader/report/atomic.py).
def _write_report(reports_dir: Path, submission_id: str, result: SubmissionResult) -> str:
    """Write `result`'s report; "" when written, else why not (Note [A report that fails])."""
    path = reports_dir / f"{submission_id}.html"
    try:
        write_atomic(path, _render_html(result))  # no .tmp left on a failure
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return ""


def _render_missing_reports(results_dir: Path, reports_dir: Path,
                            read: dict | None = None) -> list[tuple[str, str]]:
    """A report for every JSON that has none or an older one (a kill between the writes, a
    report that failed: Note [A report that fails]); returns (id, why) of those not written.
    `read`: id -> the result its JSON holds, read already."""
    failed = []
    for json_path in sorted(results_dir.glob("*.json")):
        report = reports_dir / f"{json_path.stem}.html"
        if not report.exists() or report.stat().st_mtime < json_path.stat().st_mtime:
            result = (read or {}).get(json_path.stem)
            try:
                result = result if result is not None else load_result(json_path)
            except (OSError, ValueError) as exc:  # Note [A damaged result file]
                failed.append((json_path.stem, f"its result file cannot be read ({exc})"))
                continue
            why = _write_report(reports_dir, json_path.stem, result)
            if why:
                failed.append((json_path.stem, why))
    return failed


def settings_key(assignment: assignments.Assignment, select: str | None,
                 notebook_mode: str | None = None, device: str = "cpu",
                 data_dir: str | None = None) -> str:
    """What decides a verdict besides the submission; Note [When a submission is graded again].
    `device` is the kind the framework code runs on (always cpu for numpy assignments)."""
    data = {"assignment": assignment.id, "points": assignment.rubric.points,
            "conventions": {str(k): str(v) for k, v in assignment.conventions.items()},
            "select": select or "", "notebook_mode": notebook_mode or ""}
    if device != "cpu":  # keys of runs made before devices existed stay valid on the CPU
        data["device"] = device
    if data_dir:  # likewise for the default data set, digits
        data["data_dir"] = str(Path(data_dir).resolve())
    if assignment.questions.secret is not None:  # other questions, other verdicts
        data["questions"] = assignment.questions.fingerprint
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


# -- progress ----------------------------------------------------------------------------------

class Progress:
    """tqdm's bar (counts, rate, ETA) on a terminal; one plain line per submission otherwise."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total, self.done, self.stream = total, 0, stream
        self.start = time.monotonic()
        self.bar = None
        if stream.isatty() and total:
            from tqdm import tqdm
            self.bar = tqdm(total=total, file=stream, unit="sub", dynamic_ncols=True,
                            smoothing=0.1, desc="grading")

    def __call__(self, result: SubmissionResult) -> None:
        self.done += 1
        # Student text shown, never interpreted (Note [Terminal text] in grader/report/terminal.py).
        verdict = printable(f"{result.score:g}/{result.max_score:g}" if result.status == "graded"
                            else f"not graded: {first_line(result.message)}")
        name = printable(result.submission)
        if self.bar is not None:
            self.bar.set_postfix_str(f"{name} {verdict}"[:40], refresh=False)
            self.bar.update(1)
            return
        from tqdm import tqdm
        elapsed = time.monotonic() - self.start
        left = elapsed / self.done * (self.total - self.done)
        self.stream.write(f"[{self.done}/{self.total}] {name}: {verdict} "
                          f"({result.duration_s:.1f}s; {60 * self.done / max(elapsed, 1e-9):.1f}"
                          f"/min, eta {tqdm.format_interval(left)})\n")
        self.stream.flush()

    def note(self, text: str) -> None:
        text = printable_lines(text)
        if self.bar is not None:
            self.bar.write(text, file=self.stream)
        else:
            self.stream.write(text + "\n")
            self.stream.flush()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


# -- the batch ---------------------------------------------------------------------------------

def run_batch(folder: Path, assignment: assignments.Assignment, out_dir: Path,
              options: BatchOptions = BatchOptions(), *,
              job: Callable[[JobSpec, Job], SubmissionResult] = grade_job,
              stream: TextIO = sys.stderr) -> Outcome:
    """Grade every submission in `folder` that has no current result (Note [Nothing lost])."""
    folder, out_dir = Path(folder), Path(out_dir)
    if not folder.is_dir():
        raise BatchError(f"{folder} is not a folder")
    if out_dir.resolve() == folder.resolve():
        raise BatchError("the output folder must not be the submissions folder")
    workers = options.workers or os.cpu_count() or 1
    if workers < 1:
        raise BatchError(f"--workers must be at least 1, not {workers}")
    found = discover(folder, exclude=(out_dir,))
    if not found.submissions:  # a wrong folder, not a class of zero (no output folder made)
        why = f" ({len(found.skipped)} entries that are not submissions)" if found.skipped else ""
        raise BatchError(f"no submissions found in {folder}{why}")
    out_dir.mkdir(parents=True, exist_ok=True)
    lock = open(out_dir / ".lock", "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.close()
        raise BatchError(f"another grade batch is writing {out_dir}") from None
    try:
        _keep_questions(out_dir, assignment.questions)
        return _run_locked(folder, assignment, out_dir, options, workers, job, stream)
    finally:
        lock.close()


QUESTIONS_FILE = "questions.secret"  # beside the gradebook; never in a result or a report


def _keep_questions(out_dir: Path, questions: Questions) -> None:
    """Write the secret a batch drew for its output folder on its first run, readable by its
    owner only, so that resuming or regrading the folder asks the same questions (Note [Fresh
    questions] in grader/checks/questions.py; grader/cli.py reads it)."""
    if questions.source != "batch" or questions.secret is None:
        return
    path = out_dir / QUESTIONS_FILE
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if path.read_text().strip() != questions.secret:
            raise BatchError(f"{path} changed while the batch started; run it again") from None
        return
    with os.fdopen(descriptor, "w") as file:
        file.write(questions.secret + "\n")


def _run_locked(folder, assignment, out_dir, options, workers, job, stream) -> Outcome:
    start = time.monotonic()
    results_dir, reports_dir = out_dir / "results", out_dir / "reports"
    results_dir.mkdir(exist_ok=True)
    reports_dir.mkdir(exist_ok=True)
    remove_dead_job_folders()
    gradebook = Gradebook(out_dir / "gradebook.sqlite")
    try:
        found = discover(folder, exclude=(out_dir,))
        outcome = Outcome(found.layout, out_dir, len(found.submissions), skipped=found.skipped)
        outcome.reconciled = gradebook.reconcile(results_dir)
        hashes = {s.id: content_hash(s) for s in found.submissions}
        gradebook.set_submissions([(s.id, s.source, hashes[s.id], s.name, s.email)
                                   for s in found.submissions])
        check_ids = list(assignment.rubric.points)
        write_grades_csv(results_dir, out_dir / "grades.csv", check_ids, gradebook.names())
        if options.cluster:  # Note [Devices on a cluster] in grader/batch/cluster.py
            from .cluster import cluster_device, open_cluster
            device = cluster_device(assignment, options.cluster, options.device)
        else:
            device = submission_device(assignment, options.device)
        key = settings_key(assignment, options.select, options.notebook_mode, device.kind,
                           options.data_dir)
        rows = gradebook.rows()
        todo = [s for s in found.submissions
                if options.regrade or s.id not in rows or rows[s.id].content_hash != hashes[s.id]
                or rows[s.id].settings != key or rows[s.id].retry]
        outcome.unchanged = len(found.submissions) - len(todo)
        schedule = schedule_locally
        if options.cluster and todo:  # Note [Grading on Dask]; a BatchError when unreachable
            schedule = open_cluster(options.cluster, min(workers, len(todo)), assignment, options,
                                    device, stream)
        run_id = gradebook.start_run(assignment.id, {
            "submissions": str(folder.resolve()), "workers": workers, "regrade": options.regrade,
            "sandbox": options.sandbox, "select": options.select, "device": str(device),
            "conventions": assignment.conventions, "settings": key, "cluster": options.cluster})
        spec = JobSpec(assignment.id, dict(assignment.conventions),
                       str(assignments.ASSIGNMENTS_DIR), str(assignments.RUBRICS_DIR),
                       options.sandbox, options.python, options.select, options.notebook_mode,
                       options.device, options.data_dir,
                       secret=assignment.questions.secret,
                       questions_source=assignment.questions.source,
                       job_limit_s=options.job_limit_s or job_limit(assignment))
        pool, early_ctrl_c, template = None, False, None
        limit_s = spec.job_limit_s  # Note [A limit per job]
        beside = None
        if todo:  # Note [Template first]
            # Note [No reader for a class without notebooks] in grader/batch/job.py
            template = Template({**preload_data(spec), "notebooks": holds_notebooks(found.submissions)})
            if schedule is schedule_locally:
                schedule = functools.partial(schedule_locally, template=template,
                                             limit_s=limit_s)
            else:  # Note [Templates first on Dask] in grader/batch/cluster.py
                schedule.prepare(spec, job)
            beside = _Beside(template, call(similarity_job, spec, {
                s.id: str(s.path) for s in found.submissions}, initializer=init_job_process,
                initargs=(os.getpid(),)),  # Note [Similarity beside the jobs]
                limit_s + len(found.submissions))  # Note [A limit per job]
        # Warm workers on this machine: the local pool's jobs, or those of a --cluster local
        # (its Dask workers are this machine's processes too); never a remote --scheduler's.
        if options.warm is not False and todo and options.cluster in (None, "local"):
            try:
                pool, slots = _warm_pool(assignment, options, device, min(workers, len(todo)),
                                         stream, asked=options.warm is True)
            except KeyboardInterrupt:  # while the zygotes start: a Ctrl-C like any other
                early_ctrl_c = True
            except BaseException:
                if template is not None:
                    template.stop()
                raise
            else:
                spec = dataclasses.replace(spec, warm=slots)

        def keep(submission: Submission, result: SubmissionResult, failure: str = "") -> None:
            facts = {"run": run_id, "sha256": hashes[submission.id], "settings": key,
                     "job_failure": failure}
            result = dataclasses.replace(result, environment={**result.environment, "batch": facts})
            json_path = results_dir / f"{submission.id}.json"
            write_atomic(json_path, result.to_json())
            gradebook.record(result, json_path, submission.id)
            # Note [A report that fails]: said at the end; the end tries it once more
            _write_report(reports_dir, submission.id, result)
            outcome.graded += 1
            outcome.ungradable_now += result.status != "graded"
            progress(result)
            if pool is not None:
                pool.revive()

        progress = Progress(len(todo), stream)
        if outcome.unchanged:
            progress.note(f"{outcome.unchanged} of {len(found.submissions)} submissions unchanged "
                          f"since graded (--regrade grades them again)")
        try:
            if early_ctrl_c:
                raise KeyboardInterrupt
            schedule(todo, min(workers, max(len(todo), 1)), spec, job, keep,
                     lambda submission, why: _failed(assignment, submission, why), progress)
        except KeyboardInterrupt as exc:
            outcome.interrupted = True
            outcome.ctrl_c = type(exc) is KeyboardInterrupt  # ClusterLost is a subclass
            for child in multiprocessing.active_children():
                child.terminate()
            if beside is not None:
                beside.stop()
        finally:
            progress.close()
            if pool is not None:
                pool.stop()
            if template is not None:  # stopped by its ForkPool already, unless none ran
                template.stop()
        gradebook.reconcile(results_dir)  # a Ctrl-C may have come between a JSON and its row
        rows = gradebook.rows()
        from ..report.dashboard import load_results  # Note [Results read once at the end]
        results = load_results(out_dir)
        read = dict(results[0])
        for submission in found.submissions:
            row = rows.get(submission.id)
            if row is None:
                continue  # interrupted before it was graded
            if row.status != "graded":
                kept = read.get(submission.id)
                outcome.failures.append((submission.id, first_line(kept.message) if kept else
                                         "its result file cannot be read"))
        # Note [A damaged result file]: one damaged between the reconciliation and here (by
        # something else) costs its row only, and is said
        write_grades_csv(results_dir, out_dir / "grades.csv", check_ids, gradebook.names(),
                         read, outcome.unreadable)
        outcome.report_failures = _render_missing_reports(results_dir, reports_dir, read)
        gradebook.finish_run(run_id, "interrupted" if outcome.interrupted else "finished",
                             outcome.graded, len(outcome.failures), outcome.unchanged)
        report = beside.result() if beside is not None else None
        if beside is not None and beside.timed_out:  # Note [A limit per job]
            report = {"assignment": assignment.id, "pairs": [], "error": (
                f"Similar-code detection was stopped: it ran past its limit of "
                f"{beside.limit_s:g} s (a judge-side hang; tell the course staff).")}
        _similarity(out_dir, {s.id: s.path for s in found.submissions}, assignment, report)
        outcome.dashboard, outcome.dashboard_error = _dashboard(out_dir, assignment, results)
    finally:
        gradebook.close()
        remove_dead_job_folders()
    outcome.seconds = time.monotonic() - start
    return outcome


def _warm_pool(assignment, options: BatchOptions, device, count: int, stream: TextIO,
               asked: bool = True):
    """One zygote per job slot, or (None, ()) when the batch grades cold: with a line saying
    why when --warm was asked for; by default (warm where safe) a judge that cannot have warm
    workers grades cold without a word, as before warm workers were the default (Note [When
    workers are warm] in grader/worker/warm.py).  Each result's environment says which ran."""
    from ..worker.warm import SlotPool, ZygoteError, framework_of, warm_refusal
    framework = framework_of(assignment.folder)
    why = warm_refusal(framework) or ("the sandbox mode is rlimits"
                                      if (options.sandbox or os.environ.get("GRADER_SANDBOX"))
                                      == "rlimits" else "")
    if why:
        if asked:
            print(f"--warm: cold workers ({why})", file=stream)
        return None, ()
    pool = SlotPool(count, options.python, framework, device)
    try:
        slots = tuple(pool.start())
    except ZygoteError as exc:
        slots, why = (), str(exc)
    except KeyboardInterrupt:
        pool.stop()
        raise
    if not slots:
        pool.stop()
        print(f"--warm: cold workers (no zygote started{': ' + why if why else ''}; "
              f"see grader/worker/zygote.py)", file=stream)
        return None, ()
    return pool, slots


def _failed(assignment: assignments.Assignment, submission: Submission,
            why: str) -> SubmissionResult:
    return SubmissionResult(assignment.id, submission.id, "error", 0.0,
                            assignment.rubric.max_score(), 0.0, {}, message=why)


def schedule_locally(todo: list[Submission], workers: int, spec: JobSpec, job, keep, failed,
                     progress, template: Template | None = None,
                     limit_s: float | None = None) -> None:
    """Run `todo` on `workers` job processes (forks of `template` when one was started for
    `spec` already, Note [Template first]), each within `limit_s` seconds (Note [A limit per
    job]); Note [Crash attribution]."""
    if not todo:
        return
    pending = deque(todo)
    suspects: deque[Submission] = deque()
    in_flight: dict[Future, tuple[Submission, bool]] = {}
    # Note [Ctrl-C at a safe point]: a KeyboardInterrupt raised asynchronously inside
    # concurrent.futures.wait() can leave its internal locks held, and the pool's exit
    # hook then waits forever (seen about once in ten interrupted runs under load).  So
    # SIGINT only sets a flag, and the loop raises KeyboardInterrupt itself, between waits.
    interrupted = threading.Event()
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGINT, lambda signum, frame: interrupted.set())
    pool = _executor(workers, spec, template, limit_s if limit_s is not None else spec.job_limit_s)

    def start_jobs() -> None:
        if interrupted.is_set():
            return
        if suspects and not in_flight:
            # Note [Crash attribution]: a suspect runs alone, so nothing else can have
            # taken the machine's memory from it
            submission = suspects.popleft()
            in_flight[pool.submit(job, spec, job_of(submission))] = (submission, True)
        while (not suspects and pending and len(in_flight) < workers
               and not any(alone for _, alone in in_flight.values())):
            submission = pending.popleft()
            in_flight[pool.submit(job, spec, job_of(submission))] = (submission, False)

    try:
        while pending or suspects or in_flight:
            if interrupted.is_set():
                raise KeyboardInterrupt
            start_jobs()
            done, _ = wait(list(in_flight), timeout=0.2, return_when=FIRST_COMPLETED)
            finished: list[tuple[Submission, SubmissionResult, str]] = []
            for future in done:
                submission, alone = in_flight.pop(future)
                try:
                    result = future.result()
                except JobTimedOut as late:  # Note [A limit per job]
                    message, why = gave_up(late.limit_s)
                    finished.append((submission, failed(submission, message), why))
                    continue
                except JobDied as died:
                    if not alone and workers > 1:
                        suspects.append(submission)
                        progress.note(f"{submission.id}: its grading process died "
                                      f"({died.how()}); grading it again, one at a time, "
                                      f"to find whether it is the cause")
                        continue
                    why = died.how()
                    finished.append((submission, failed(
                        submission, f"the grading process ended abruptly ({why}); nothing was "
                                    f"graded, and the next grade batch tries again"), why))
                    continue
                except Exception as exc:  # the job itself failed: not a verdict either
                    why = f"{type(exc).__name__}: {exc}"
                    finished.append((submission, failed(
                        submission, f"internal grader error in the batch job ({why})"), why))
                    continue
                finished.append((submission, result, ""))
            if finished:
                start_jobs()  # Note [Next job first]
            for submission, result, failure in finished:
                if failure:
                    keep(submission, result, failure=failure)
                else:
                    keep(submission, result)
    except BaseException:
        # Ctrl-C (or a bug): stop the job processes now (each stops cleanly on SIGTERM).
        pool.shutdown(wait=False)
        raise
    finally:
        pool.shutdown(wait=False)
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


class _Beside:
    """One job of the batch's template outside the --workers limit, made while the grading
    jobs run (Note [Similarity beside the jobs]); `result()` is what it returned, None when it
    did not (then the batch does that work itself)."""

    def __init__(self, template: Template, request: bytes, limit_s: float | None = None) -> None:
        self.running = None
        self.value = None
        self.limit_s, self.timed_out = limit_s, False  # Note [A limit per job]
        self.done = threading.Event()
        threading.Thread(target=self._run, args=(template, request), daemon=True,
                         name="beside-job").start()

    def _run(self, template: Template, request: bytes) -> None:
        try:
            self.running = template.start(request)
            deadline = None if self.limit_s is None else time.monotonic() + self.limit_s
            while not self.running.wait(1.0):
                if deadline is not None and time.monotonic() >= deadline:
                    self.timed_out = True  # Note [A limit per job]
                    self.running.kill_tree()
                    return
            self.value = self.running.outcome()
        except BaseException:  # the template or the job died: the batch does it itself
            pass
        finally:
            if self.running is not None:
                self.running.close()
            self.done.set()

    def stop(self) -> None:
        if self.running is not None:
            self.running.terminate()

    def result(self):
        self.done.wait()
        return self.value


def _similarity(out_dir: Path, submissions: dict, assignment: assignments.Assignment,
                report: dict | None = None) -> None:
    """Pairs of similar code for the dashboard (grader/batch/similarity.py); never a penalty, and
    a failure here costs nothing but the list.  `report`: made already, beside the jobs."""
    from .similarity import write_similarity
    try:
        write_similarity(out_dir, submissions, assignment, report=report)
    except Exception as exc:  # the grades are safe; the similarity list is only a view
        print(f"warning: similar-code detection failed ({type(exc).__name__}: {exc}); "
              f"the dashboard will say it was not run", file=sys.stderr)


def _dashboard(out_dir: Path, assignment: assignments.Assignment,
               results: tuple | None = None) -> tuple[Path | None, str]:
    """The class dashboard (grader/report/dashboard.py)."""
    from ..report.dashboard import write_dashboard
    try:
        return Path(write_dashboard(out_dir, assignment, results)), ""
    except Exception as exc:  # the grades are safe; the dashboard is only a view of them
        return None, f"{type(exc).__name__}: {exc}"


def summary(outcome: Outcome) -> str:
    """What `grade batch` prints at the end: failures with why, and where everything is."""
    out = outcome.out_dir
    lines = []
    if outcome.skipped:
        lines.append(f"not submissions ({len(outcome.skipped)}): " +
                     ", ".join(f"{name} ({why})" for name, why in outcome.skipped))
    rec = outcome.reconciled
    if rec.imported or rec.dropped or rec.set_aside:
        lines.append(f"gradebook reconciled with the result files: {len(rec.imported)} imported, "
                     f"{len(rec.dropped)} without a result file dropped"
                     + (f", unreadable ones set aside as results/*.json.bad (graded again if "
                        f"still in the class): {', '.join(rec.set_aside)}" if rec.set_aside else ""))
    state = "interrupted" if outcome.interrupted else "done"
    lines.append(f"{state}: {outcome.submissions} submissions ({outcome.layout} layout), "
                 f"{outcome.graded - outcome.ungradable_now} graded now, {outcome.unchanged} unchanged, "
                 f"{len(outcome.failures)} could not be graded, in {outcome.seconds:.1f}s")
    if outcome.interrupted:
        lines.append("run the same command again to grade the rest")
    for submission_id, why in outcome.failures:
        lines.append(f"  not graded: {submission_id}: {why}")
    for submission_id, why in outcome.unreadable:  # Note [A damaged result file]
        lines.append(f"  not in grades.csv: {submission_id}: results/{submission_id}.json cannot "
                     f"be read ({first_line(why)}); the next grade batch sets it aside and "
                     f"grades the submission again")
    for submission_id, why in outcome.report_failures:  # Note [A report that fails]
        lines.append(f"  report not written: {submission_id}: {first_line(why)} (graded and "
                     f"kept; the next grade batch writes it)")
    lines += [f"results:   {out / 'results'}/<id>.json", f"reports:   {out / 'reports'}/<id>.html",
              f"grades:    {out / 'grades.csv'}" + (  # Note [An ungraded submission has no score]
                  f" (the {len(outcome.failures)} not graded have a blank score, not 0)"
                  if outcome.failures else ""),
              f"gradebook: {out / 'gradebook.sqlite'}"]
    if outcome.dashboard is not None:
        lines.append(f"dashboard: {outcome.dashboard}")
    elif outcome.dashboard_error:
        lines.append(f"dashboard: not written ({outcome.dashboard_error})")
    return printable_lines("\n".join(lines))  # Note [Terminal text] in grader/report/terminal.py
