"""The job: one submission graded in a job process of its own, locally or on a Dask worker.

A batch grades each submission in a fresh process (Note [Job processes] in
grader/batch/run.py): run.py's local pool and cluster.py's Dask tasks both
fork it from a job template (grader/batch/template.py) that ran
`preload_template`.  Both send the same `JobSpec` and `Job`, run the same
`grade_job`, and set the process up with the same `init_job_process`; this
module holds what they share, so that neither imports the other.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.util
import os
import select
import shutil
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..checks.questions import Questions
from ..scoring import assignment as assignments
from ..scoring.pipeline import Options, grade_submission
from ..scoring.result import SubmissionResult
from ..submission.discover import Submission
from .processes import children_map, kill_group_and_process

JOB_TMP_PREFIX = "grader-batch-job-"


class BatchError(Exception):
    """The batch cannot start (bad folder, busy output folder): a bad command."""


@dataclass(frozen=True)
class JobSpec:
    """What a job process needs to load the assignment exactly as the parent did."""
    assignment: str
    conventions: dict
    assignments_dir: str
    rubrics_dir: str
    sandbox: str | None
    python: str | None
    select: str | None
    notebook_mode: str | None = None
    device: str | None = None
    data_dir: str | None = None
    warm: tuple[str, ...] = ()     # slot folders of the batch's zygotes (grader/worker/warm.py)
    # the assignment's questions (Note [Fresh questions] in grader/checks/questions.py), as
    # plain strings so that a Dask task's JSON carries them; never in a repr
    secret: str | None = field(default=None, repr=False)
    questions_source: str = "public"
    job_limit_s: float | None = None  # the job's wall-clock limit (Note [A limit per job] in run.py)


@dataclass(frozen=True)
class Job:
    id: str
    path: str
    members: tuple[tuple[str, str], ...] = ()   # Canvas group: (original name, file)


def job_of(submission: Submission) -> Job:
    return Job(submission.id, str(submission.path),
               tuple((name, str(path)) for name, path in submission.members))


def gave_up(limit_s: float) -> tuple[str, str]:
    """The error message and the job_failure of a job killed at its limit (Note [A limit per
    job] in grader/batch/run.py), the same locally and on Dask."""
    return (f"the grader gave up on this submission after {limit_s:g} s; tell the course staff "
            f"(a judge-side hang: the job ran past the batch's per-job limit, --job-limit, and "
            f"was killed; the next grade batch tries again)",
            f"the job ran past its limit of {limit_s:g} s and was killed")


def first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0] if lines else "no reason given"


def assignment_of(spec: JobSpec) -> assignments.Assignment:
    """`spec`'s assignment in a job process: the template's when it is the very same (Note
    [Loaded once per batch]), else loaded now."""
    assignments.ASSIGNMENTS_DIR = Path(spec.assignments_dir)
    assignments.RUBRICS_DIR = Path(spec.rubrics_dir)
    assignment = _preloaded(spec)  # Note [Loaded once per batch]
    if assignment is None:
        _forget_stale_checks(spec.assignment)  # Note [Warm job processes] in grader/batch/run.py
        assignment = assignments.load(spec.assignment, spec.conventions,
                                      Questions(spec.secret, spec.questions_source))
    return assignment


def similarity_job(spec: JobSpec, submissions: dict[str, str]) -> dict:
    """The class's similarity.json document, made in a job process beside the grading jobs
    (Note [Similarity beside the jobs] in grader/batch/run.py)."""
    from .similarity import similarity_report
    return similarity_report({sid: Path(path) for sid, path in submissions.items()},
                             assignment_of(spec))


def grade_job(spec: JobSpec, job: Job) -> SubmissionResult:
    """Grade one submission in a job process (Note [Job processes] in grader/batch/run.py)."""
    assignment = assignment_of(spec)
    options = Options(sandbox=spec.sandbox, python=spec.python, select=spec.select,
                      notebook_mode=spec.notebook_mode, device=spec.device, data_dir=spec.data_dir,
                      warm=spec.warm)
    assembled = None
    try:
        target = Path(job.path)
        if job.members:
            assembled = Path(tempfile.mkdtemp(prefix="canvas-"))
            for name, path in job.members:
                shutil.copyfile(path, assembled / name)
            target = assembled
        return grade_submission(target, assignment, options, name=job.id)
    except Exception as exc:  # the grader's own bug: this submission only, said plainly
        return SubmissionResult(spec.assignment, job.id, "error", 0.0,
                                assignment.rubric.max_score(), 0.0, {},
                                message=f"internal grader error ({type(exc).__name__}: {exc}); "
                                        f"please tell the course staff")
    finally:
        if assembled is not None:
            shutil.rmtree(assembled, ignore_errors=True)


_job_tmp: Path | None = None  # this job process's temporary folder
_watched: int | None = None   # the batch process (or Dask worker) this job stops with


def watched_pid() -> int | None:
    """The process this job process stops with (init_job_process), None before it is set up."""
    return _watched


def init_job_process(batch_pid: int) -> None:
    """Runs first in every job process; Note [Job processes] in grader/batch/run.py."""
    from ..judge_environment import forget_pytest_environment
    # a Dask worker's own, too: Note [The judge's pytest is the grader's own] in grader/cli.py
    forget_pytest_environment()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda signum, frame: _stop())
    global _job_tmp, _watched
    _watched = batch_pid
    folder = _job_tmp = _job_folder(os.getpid())  # before tempdir points into it
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)  # student workers (another uid, rlimits mode) reach their scratch
    tempfile.tempdir = str(folder)
    from ..submission import stage
    stage.removed_later = folder  # Note [Staged copies removed after the answer] in stage.py
    # multiprocessing children skip atexit; its own finalizers run when the process ends.
    multiprocessing.util.Finalize(None, shutil.rmtree, args=(str(folder),),
                                  kwargs={"ignore_errors": True}, exitpriority=0)
    threading.Thread(target=_watch, args=(batch_pid,), daemon=True,
                     name="watch-batch").start()
    threading.Thread(target=prime_cgroup_moves, daemon=True, name="prime-cgroups").start()


# Note [Cgroup moves primed]
# A job puts its student worker in a cgroup of its own (Note [Memory per submission] in
# grader/worker/cgroup.py): the worker's pid is written to cgroup.procs (a warm fork, by the
# job; a cold worker, by itself before exec).  The kernel's first such move after a quiet
# spell sleeps for an RCU grace period before it takes its lock (the cgroup threadgroup lock's
# rcu_sync: readers use a fast path until a writer comes, and keep the slow one for a grace
# period after the last writer); a move within that grace period does not wait.  With one
# submission every few hundred ms, every worker's move was the first after a quiet spell:
# 11-13 ms of a 17 ms warm start (cgroup v1; 0.2 ms for moves back to back).  So each job,
# as it starts, writes its own pid to its own cgroup's cgroup.procs from a thread (a move to
# the cgroup it is in: nothing changes but the lock taken once).  Its grace period runs
# while the job loads and stages the submission, and the worker's move 7-8 ms later finds the
# lock warm: measured in one process (a fork moved 60 ms after the last move, 12 times each):
# 13 ms alone, 8.6 ms with the priming move 3 ms before, 1.4 ms with it 8 ms before, 0.3 ms
# with it 15 ms before.  Only where the grader puts workers in cgroups (cgroup.find, which
# probes the hierarchy with a cgroup made and removed, about 1 ms: done once in the job
# template, with the path of its cgroup.procs, which every job inherits: a job is a fork of
# the template, in its cgroup); any failure leaves things as they were.
def prime_cgroup_moves() -> None:
    """Move this process to the cgroup it is in (Note [Cgroup moves primed])."""
    try:
        procs = _own_procs or _own_procs_file()
        if procs is not None:
            with open(procs, "w") as handle:
                handle.write(str(os.getpid()))
    except Exception:
        pass


_own_procs: Path | None = None  # the job template's (so each job's) own cgroup.procs


def _own_procs_file() -> Path | None:
    """cgroup.procs of this process's own cgroup; None where the grader makes no cgroups."""
    from ..worker import cgroup
    return cgroup.own_procs_file()


def _watch(batch_pid: int) -> None:
    """Stop this job process when the batch process ends, however it ends."""
    try:
        handle = os.pidfd_open(batch_pid)     # Linux 5.3+: readable once the process has ended
        select.select([handle], [], [])
    except (AttributeError, OSError):
        while _alive(batch_pid):
            time.sleep(0.5)
    _stop()


def _stop() -> None:
    """Kill this job's student workers (each leads its own process group, grader/worker/sandbox.py), remove
    its temporary folder, and exit at once.  The job's own thread may be starting a fresh
    worker meanwhile, so this repeats until the folder is gone (moved aside first, so that
    nothing new is made in it)."""
    folder = _job_tmp or _job_folder(os.getpid())
    doomed = folder.with_name(folder.name + "-stopping")
    for _ in range(40):
        for pid in _children(os.getpid()):
            kill_group_and_process(pid)
        try:
            folder.rename(doomed)
        except OSError:
            pass
        shutil.rmtree(doomed, ignore_errors=True)
        if not folder.exists() and not doomed.exists():
            break
        time.sleep(0.05)
    os._exit(128 + signal.SIGTERM)


def _job_folder(pid: int) -> Path:
    return Path(tempfile.gettempdir()) / f"{JOB_TMP_PREFIX}{pid}"


def _children(parent: int) -> list[int]:
    return children_map().get(parent, [])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_dead_job_folders() -> None:
    for folder in Path(tempfile.gettempdir()).glob(f"{JOB_TMP_PREFIX}*"):
        pid = folder.name[len(JOB_TMP_PREFIX):].split("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


# -- the job template's preload (Note [Warm job processes] in grader/batch/run.py) ------------

def preload_data(spec: JobSpec | dict) -> dict:
    """What a template loads for `spec`'s jobs (preload_template): the settings that decide
    which checks module and which questions a job gets."""
    data = spec if isinstance(spec, dict) else spec.__dict__
    return {name: data.get(name) for name in ("assignment", "conventions", "assignments_dir",
                                              "rubrics_dir", "select", "secret")} | {
        "questions_source": data.get("questions_source") or "public"}


def _checks_stamp(assignment_id: str) -> tuple[str, int, int] | None:
    return _file_stamp(assignments.ASSIGNMENTS_DIR / assignment_id / "checks.py")


# Note [Loaded once per batch]
# A job used to call assignments.load itself, reading the manifest and the
# rubric again (two YAML parses, about 6 ms of a job's start; Note [Job start]
# in grader/batch/template.py).  The template loaded the same assignment with
# the same settings, so a job takes the template's Assignment as it is when
# everything it was made from is unchanged: the same settings (preload_data:
# assignment, conventions, folders, --select, questions) and the same
# manifest.yml, rubric and checks.py (path, size and mtime, taken before the
# template read them).  Anything else, and the job loads the assignment itself
# as before.  The job is a fork, so whatever grading does to the object stays
# in that job.

# assignment id -> (path, size, mtime) of the checks.py the template loaded
_template_checks: dict[str, tuple[str, int, int]] = {}
# (settings, file stamps, the Assignment) the template loaded; Note [Loaded once per batch]
_template_assignment: tuple[dict, tuple, assignments.Assignment] | None = None


def _file_stamp(path: Path) -> tuple[str, int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return str(path), stat.st_size, stat.st_mtime_ns


def _assignment_stamps(assignment_id: str) -> tuple:
    return (_file_stamp(assignments.ASSIGNMENTS_DIR / assignment_id / "manifest.yml"),
            _file_stamp(assignments.RUBRICS_DIR / f"{assignment_id}.yml"),
            _checks_stamp(assignment_id))


def _preloaded(spec: JobSpec) -> assignments.Assignment | None:
    """The template's Assignment when `spec` would load the very same one, else None."""
    if _template_assignment is None:
        return None
    settings, stamps, assignment = _template_assignment
    if settings != preload_data(spec) or stamps != _assignment_stamps(spec.assignment):
        return None
    return assignment


def preload_template(data: dict) -> None:
    """In a job template (grader/batch/template.py): load `data`'s assignment with its
    questions, import the job function's module, run pytest's collection once, and make the
    configuration of the jobs' pytest sessions (Note [Config made once] in
    grader/scoring/plugin.py)."""
    global _template_assignment
    if not data.get("assignment"):
        return
    try:
        assignments.ASSIGNMENTS_DIR = Path(data["assignments_dir"])
        assignments.RUBRICS_DIR = Path(data["rubrics_dir"])
        stamps = _assignment_stamps(data["assignment"])
        assignment = assignments.load(data["assignment"], data["conventions"],
                                      Questions(data.get("secret"),
                                                data.get("questions_source", "public")))
        if stamps[2] is not None:
            _template_checks[assignment.id] = stamps[2]
        if None not in stamps:
            _template_assignment = (preload_data(data), stamps, assignment)
        from ..scoring import plugin
        if _template_assignment is None:  # else prepare collects them (and imports the same)
            plugin.select_checks(assignment.checks, data["select"])
        if data.get("reference"):
            import importlib
            importlib.import_module(data["reference"].split(":", 1)[0])
        if _template_assignment is not None:  # the jobs run these very checks
            plugin.prepare(assignment.checks, data["select"])  # Note [Config made once]
    except BaseException:  # only a cache: each job loads what it needs itself
        pass
    else:
        _prepare_answers(assignment)
    try:  # Note [Modules every job imports]
        from ..worker import warm  # noqa: F401
        from ..submission import course_version, which_notebook  # noqa: F401
    except BaseException:
        pass
    try:  # Note [Platform read once]
        import platform
        platform.platform(terse=True)
    except BaseException:
        pass
    try:  # Note [Bubblewrap asked once]
        from ..worker import sandbox
        for option in ("--size", "--perms", "--mqueue"):
            sandbox.bwrap_supports(option)
    except BaseException:
        pass
    try:
        if data.get("notebooks", True):  # Note [No reader for a class without notebooks]
            from ..submission.notebook import warm_reader
            warm_reader()  # Note [Reader warmed once] in grader/submission/notebook.py
    except BaseException:
        pass
    try:  # which cgroup hierarchy workers go in (a probe, about 1 ms): found once, for every job
        global _own_procs
        _own_procs = _own_procs_file()  # Note [Cgroup moves primed]
    except BaseException:
        pass


# Note [Answers before the fork]
# The reference's answers to an assignment's fixed questions depend only on the assignment, its
# questions (the secret) and its conventions (Note [Fresh questions] in
# grader/checks/questions.py), and a check keeps them once computed (Note [Answers kept per
# process] in grader/checks/answers.py).  Computed in a job, they were computed once per
# submission, since each job is a fresh fork; so the template computes them (`Check.prepare`,
# with the assignment's conventions, as the jobs' Student gets them) after loading the
# checks, and every job forks with them.  Measured (CPU time of `_prepare_answers` after
# loading the assignment, load about 6 on 2 cores): fc_nets 20 ms, batchnorm 61 ms, cnn 32 ms,
# dropout none (its checks keep only draws, Note [Drawn once per process]), once per batch,
# in the template's start.  Only a cache: a check whose preparation fails computes its
# answers in each job, as before.
def _prepare_answers(assignment: assignments.Assignment) -> None:
    conventions = dict(assignment.conventions)
    for check in assignment.checks:
        if check.prepare is not None:
            try:
                check.prepare(conventions)
            except BaseException:
                pass


# Note [Bubblewrap asked once]
# Whether the installed bubblewrap knows an option (`sandbox.bwrap_supports`) is found by
# running `bwrap --help`, once per process and option (a cache in the process).  The batch
# process asks when it starts the zygotes, but the template is a fresh Python, so every job
# asked again: a warm worker's start asks for `--size` and `--perms` (Note [Sandbox views] in
# grader/worker/sandbox.py), a cold one for those and `--mqueue`: strace -f of a 30-submission
# batch counted 60 `bwrap --help` runs in its jobs (2 a job, on the worker's start, so on
# the critical path).  Measured in forks of a process that imported numpy, pytest and the
# grader (15 each, load about 4): 6.1-6.5 ms of CPU (the job's and bwrap's) and 4.9-17 ms of
# wall time a warm start, 0.1 ms once cached.  The template asks for the three options once
# and every job forks with the answers; the same binary, so the same answers.

# Note [Platform read once]
# Every result names the judge's platform (`platform.platform(terse=True)`, grader/scoring/
# pipeline.py), and the standard library reads it by running `uname -p` in a subprocess, once
# per process, the first time (for the processor field, which the terse form does not even
# show): a fork, an exec and a wait in every job, after its checks (seen with strace -f on a
# job: a PATH search of 9 execve calls).  Measured in forks of a process that imported numpy,
# pytest and the grader (15 each, load about 7): 3.7-4.3 ms of CPU (the job's and the
# child's) and 3.3-14 ms of wall time a job, against 0.1 ms once it is cached.  The template
# asks once, and its answer (platform's own caches) is what every job forks with: the same
# string, the same machine.

# Note [Modules every job imports]
# A job imported two of the grader's modules itself, after its fork, each time: the warm
# worker's client (grader/worker/warm.py, imported by the pipeline only when the batch has
# zygotes) and which_notebook (imported by staging for every submission).  With no bytecode
# cache (PYTHONDONTWRITEBYTECODE, as in this project's sessions, or a read-only checkout) an
# import compiles the module's source: 2 compile() calls a job, 12 ms of CPU under cProfile
# (30 fc_nets jobs, load 3-4), and in forks of a prepared template (CPU of the import alone,
# 7 runs, load about 3) 7.3-10.3 ms for warm.py and 2.7-3.1 ms for which_notebook.py.  The
# template imports them (and course_version, which staging imports for notebooks) once, so
# every job finds them loaded; a cache like the rest of the preload, and a module that did not
# import here is imported by the job, as before.  Found by comparing sys.modules before and
# after a job (grade_job, init_job_process included): nothing else is imported in a job.

# Note [No reader for a class without notebooks]
# Warming the notebook reader (Note [Reader warmed once] in grader/submission/notebook.py) is
# about 0.2 s of the template's start, and the batch's first job waits for the template (and
# for the warm workers' zygotes, which start beside it: Note [Template first] in run.py; the
# template was the later of the two by about 0.15 s on fc_nets).  A class in which no
# submission holds a notebook never reads one in a job (a notebook is read only where staging
# finds one in the submission, grader/submission/stage.py), so the local batch says so in the
# template's preload (`notebooks`, from `holds_notebooks`) and the template skips the warming;
# wherever that is not said (a Dask worker's template, a template started again), it warms, as
# before.  Only a cache either way: a job whose reader is cold reads as well, more slowly.
def holds_notebooks(submissions) -> bool:
    """Whether any of `submissions` (grader.submission.discover.Submission) is or holds a
    notebook: an .ipynb entry, a folder with one, a zip with one; True when unsure."""
    import zipfile
    for submission in submissions:
        for path in [Path(p) for _, p in submission.members] or [Path(submission.path)]:
            suffix = path.suffix.lower()
            try:
                if suffix == ".ipynb":
                    return True
                if suffix == ".zip":
                    with zipfile.ZipFile(path) as archive:
                        if any(name.lower().endswith(".ipynb") for name in archive.namelist()):
                            return True
                elif path.is_dir() and any(name.lower().endswith(".ipynb")
                                           for _, _, names in os.walk(path) for name in names):
                    return True
            except (OSError, zipfile.BadZipFile, ValueError):
                return True
    return False


def _forget_stale_checks(assignment_id: str) -> None:
    """Drop the template's checks modules when checks.py is no longer the file it loaded (one
    module per secret: Note [Fresh questions] in grader/checks/questions.py)."""
    stamp = _template_checks.pop(assignment_id, None)
    if stamp is not None and stamp != _checks_stamp(assignment_id):
        prefix = f"grader_assignment_checks_{assignment_id}"
        for name in [n for n in sys.modules if n == prefix or n.startswith(prefix + "_q")]:
            sys.modules.pop(name, None)

