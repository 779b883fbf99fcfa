"""Grade a batch on a Dask cluster: `grade batch --cluster local` or `--scheduler tcp://HOST:PORT`.

grader/batch/run.py decides what to grade and writes every result; this module only
replaces its job pool (`schedule_locally`) with a Dask cluster.  The parent imports
this module, and so Dask, only when --cluster or --scheduler is given.

    parent (grade batch)       Dask worker (any machine)      job process                   student
    keep(): JSON, gradebook, <-- run_task(spec, job) -----> a fork of the worker's job --> worker
    report, progress            result as a JSON dict        template (template.py),        (bwrap)
                                                             grade_job(spec, job)

# Note [Grading on Dask]
The same `grade_job(spec, job)` as the local run grades each submission, so the
verdicts are the local run's (durations and environment facts aside).  The
parent submits one Dask task per submission (`run_task`, a pure function of the
JobSpec and the Job, sent as plain dicts), and writes each result as it arrives
(`distributed.as_completed`) through run.py's own `keep`: Note [Nothing lost]
and Note [When a submission is graded again] hold unchanged, and so does the
resume after a kill.  What comes back over the wire is the result's JSON dict
(SubmissionResult.to_dict, rebuilt with from_dict), never a grader object.  The
Dask worker is grader code, as trusted as the parent; student code never runs
in it (Note [One process per task on Dask]).  Ctrl-C, or a scheduler that goes
away mid-batch (ClusterLost), stops the batch as Ctrl-C stops a local one:
the results received are kept, the run is marked interrupted, and the next run
grades the rest.

# Note [One process per task on Dask]
grade_job runs pytest in-process and sets module globals (the assignments
folder), so, as in Note [Job processes], every submission is graded in a fresh
process, and never in the Dask worker itself (it has threads, an event loop and
other tasks' state).  Multiprocessing's pools are out: Dask workers are
daemonic processes by default (`distributed.worker.daemon`), and multiprocessing
refuses to start children of a daemonic process.  Until issue 17 each task
started `python -m grader.batch.cluster`, paying a Python start and the
grader's imports per submission (about 0.8 s of CPU, as much as grading a numpy
submission: the batch ran 1.6x slower on Dask than on the local pool).  Now the
Dask worker starts a job template once per batch settings, a fresh Python that
loads the assignment as the local pool's fork server does (Note [Warm job
processes] in grader/batch/run.py), and each task forks its job from it
(Note [Job templates on Dask] and Note [Talking to a template] in
grader/batch/template.py): a job is still a process of its own that no other
submission ran in, started in milliseconds.  The job is handed its request on
a socket and writes its result's dict back; the template reports its exit
status, so a job that dies is said as before.  When no template can be made
twice in a row, the task falls back to the fresh Python (`job_main`).  The job
process then starts the usual sandboxed student worker
(grader/worker/client.py).  With --cluster local the student workers are warm
as in a local run (the batch's zygotes are on this machine; Note [When workers
are warm] in grader/worker/warm.py).  As each task has its own process, a Dask
worker may run several at once (`--nthreads N`).  The job process is set up by
job.py's `init_job_process`, watching its Dask worker (not its template): when
that worker ends, however it ends, the job kills its student workers, removes
its temporary folder and exits, and the template ends with it too.  With
`--cluster local` the Dask workers are children of the batch and exit when it
does (distributed's parent-alive pipe), so `kill -9` of the batch still stops
every job.  A task whose future is cancelled (Ctrl-C, or the batch's client
gone) stops its job process (SIGTERM, which the job turns into the same clean
stop).

# Note [Templates first on Dask]
A Dask worker used to start its job template when its first task came, after
the batch had started the cluster and then waited for its warm workers'
zygotes: a fresh Python importing the grader and loading the assignment (about
0.5 s of CPU) on the critical path of the first two submissions (in `grade
batch` of 2 fc_nets submissions, the first result came 1.1-2.2 s after the
tasks were submitted).  The local pool starts its template before the zygotes, side
by side (Note [Template first] in grader/batch/run.py).  So does a
LocalCluster now: run.py calls `prepare` once the batch's settings are known,
and each worker starts the template for those very settings (`_preload`, the
key every task computes, so a task finds it and never starts a second one:
one template per worker, checked by test_cluster) while the zygotes start.
Only with --cluster local, whose workers all take this batch's tasks: the
workers of a remote scheduler may be shared, or offer no GPU to a GPU batch,
so there the first task of each worker still starts its template.
The batch's similarity document (Note [Similarity beside the jobs] in run.py)
is made beside the Dask jobs too, by a template of the batch process, as the
local pool makes it by its own: on Dask it used to be made at the end, after
the last result, in the batch process (0.95 s for 150 fc_nets submissions,
2.56 s for 400: about 6 s of a 1,000-submission batch).  That template costs
about 0.5 s of CPU at the start, and memory: the judge side's sampled peak
(benchmarks/big_class.py, Note [Memory samples]) went from 559 to 723 MiB on
150 submissions (the template, its spare fork and the similarity job).

# Note [Submissions on a remote cluster]
A task carries paths, not bytes: the submissions folder, the grader's
installation (assignments and rubrics folders), --worker-python and --data-dir
must be on a filesystem that every Dask worker machine mounts at the same path,
as on any Slurm or Kubernetes cluster with a shared home or project volume.
Shipping the bytes would double the traffic of large zips and notebooks and
still need the grader installed on the workers.  A path missing on a worker is
said plainly (which path, which worker) as a job failure, graded again by the
next run.  Each Dask worker machine needs bubblewrap for isolation; without it
the student workers there fall back to resource limits, and each result says
what ran (environment.sandbox).

# Note [Dask worker deaths]
When a Dask worker process dies, the scheduler gives its tasks to other
workers, up to `distributed.scheduler.allowed-failures` (3) deaths per task;
after that the task fails with KilledWorker.  Every task the dead worker held
counts a death, innocent or not (as in Note [Crash attribution]), so a
KilledWorker task is graded again alone, with nothing else in flight; a task
that still kills its worker alone is the culprit and gets an `error` result
saying so, marked `job_failure` (graded again by the next run).  A job process
that dies on its own (the OOM killer) does not take its Dask worker with it:
its task reports the exit status directly (its template sends it: Note
[Talking to a template] in grader/batch/template.py), with no one else to
blame.

# Note [Devices on a cluster]
GPU assignments (`gpu: true`) whose device resolves to cuda submit their tasks
with `resources={"GPU": 1}`, so only Dask workers started with `--resources
GPU=1` take them, one at a time each.  With --cluster local the device is
resolved on this machine, exactly as in a local run.  With --scheduler the
parent is usually a login node without a GPU, so --device is taken as written:
`cuda` or `cuda:N` is not looked for here, and each job uses the GPU its Dask
worker was given (CUDA_VISIBLE_DEVICES holding one index, as dask-cuda and
Slurm's --gres set it; else `cuda:N`, or the first GPU there); `auto` means
the CPU, and the batch says so, because the workers' GPUs cannot be seen from
here before the settings key (Note [When a submission is graded again]) is
fixed.  A Dask worker that offers GPU but has none gives a job failure naming it.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from typing import TextIO

from ..scoring import assignment as assignments
from ..worker import devices
from .job import BatchError, Job, JobSpec, first_line, gave_up, job_of
from .processes import kill_process_tree
from .template import JobDied, TemplateGone, call, template_for
from ..submission.discover import Submission
from ..scoring.result import SubmissionResult

LOCAL = "local"
CONNECT_TIMEOUT_S = 10   # reaching a --scheduler; then the command fails with exit status 2
POLL_S = 0.1             # how often the parent looks for Ctrl-C between results
WATCH_S = 0.5            # how often a task checks whether it is still wanted

# Note [A quiet LocalCluster]
# What Dask itself costs beside the jobs, with --cluster local, is CPU taken from them on the
# same cores.  Measured over the steady part of `grade batch` of 60 fc_nets submissions,
# --workers 2 (CPU of each process while the results went from 10 to 55, /proc; load average
# 2.7-4.7, two runs each): the batch process (which holds the scheduler and the nannies)
# spent 24-25 ms of CPU per result against 6.4 ms with the local pool, and each Dask worker
# 9.1-9.3 ms; with the three settings below, 13.3-14.4 ms and 4.0-4.4 ms.  Most of it was time-driven, not per task: every
# Dask server (the scheduler, each nanny, each worker) wakes 50 times a second to time its own
# event loop (`distributed.admin.tick`, only for a warning when a tick comes over 3 s late,
# which our silenced logs never show); with a 1 s tick that warning still comes, and a task of
# 0.3 s costs 4.5 ms less CPU in the workers and 3.7 ms less in the batch process (a
# 2-worker cluster running sleeping tasks that return a result's dict, three interleaved
# runs each).  Work stealing (a scheduler pass every 100 ms that moves tasks between workers;
# with one thread per worker and the scheduler's queue, a worker holds at most its running
# task and the next one) and a 5 s system monitor (psutil readings for the dashboard we do
# not start, every 0.5 s in every server) take 0.5 ms less from the workers and 0.4 ms less
# from the batch process per task, in all three runs.  None of them decides which worker
# runs a task or when.  Dask sets OMP/MKL/OPENBLAS_NUM_THREADS=1 in the workers it starts
# (pre-spawn-environ); the jobs would inherit that, and the local run does not have it.  With
# no dashboard, nobody reads the workers' statistical profiler (a thread sampling every 10 ms:
# about a quarter of their own CPU on 50 ms tasks).  A remote --scheduler's settings are its
# owner's.
LOCAL_CONFIG = {"distributed.nanny.pre-spawn-environ": {"MALLOC_TRIM_THRESHOLD_": 65536},
                "distributed.worker.profile.enabled": False,
                "distributed.admin.tick.interval": "1s",
                "distributed.scheduler.work-stealing": False,
                "distributed.admin.system-monitor.interval": "5s"}


# -- the parent ----------------------------------------------------------------------------------

def cluster_device(assignment: assignments.Assignment, target: str,
                   spec: str | None) -> devices.Device:
    """The device the batch grades on; see Note [Devices on a cluster]."""
    from ..scoring.pipeline import submission_device
    if target == LOCAL:
        return submission_device(assignment, spec)
    text = (spec or "auto").strip().lower()
    match = devices.SPEC.match(text)
    if not match:
        raise devices.DeviceError(f"--device must be auto, cpu, cuda or cuda:N, not {text!r}")
    if not assignment.gpu or text in ("auto", "cpu"):
        return devices.CPU
    return devices.Device("cuda", int(match.group(2) or 0))


def task_resources(device: devices.Device) -> dict[str, float] | None:
    """What a task asks the scheduler for: one GPU for a cuda run (Note [Devices on a cluster])."""
    return {"GPU": 1} if device.kind == "cuda" else None


def open_cluster(target: str, workers: int, assignment: assignments.Assignment,
                 options, device: devices.Device, stream: TextIO = sys.stderr) -> "DaskScheduler":
    """Start a LocalCluster of `workers` processes (target "local") or connect to the scheduler
    at `target`; a BatchError, one line, when that cannot be done."""
    import logging

    import dask
    import distributed

    resources = task_resources(device)
    if target == LOCAL:
        try:
            with dask.config.set(LOCAL_CONFIG):  # Note [A quiet LocalCluster]
                cluster = distributed.LocalCluster(
                    n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                    protocol="tcp", dashboard_address=None, memory_limit=0,
                    resources=resources, silence_logs=logging.CRITICAL)
            client = distributed.Client(cluster, set_as_default=False)
        except Exception as exc:  # the batch cannot run: say why in one line
            raise BatchError(f"could not start a local Dask cluster: "
                             f"{first_line(str(exc))}") from None
        return DaskScheduler(client, cluster, target, resources, device_spec=None)
    client = _connect(target)
    for handler in logging.getLogger("distributed").handlers:  # what matters, we say ourselves
        handler.setLevel(logging.CRITICAL)                       # (as LocalCluster's silence_logs)
    # Note [Devices on a cluster]: the jobs get --device as written (cuda or cuda:N), or cpu.
    device_spec = "cpu" if device.kind == "cpu" else (options.device or "cuda").strip().lower()
    scheduler = DaskScheduler(client, None, target, resources, device_spec=device_spec)
    if assignment.gpu and device.kind == "cpu" and (options.device or "auto") == "auto":
        stream.write(f"note: with --scheduler, {assignment.id} runs on the Dask workers' CPUs; "
                     f"--device cuda runs it on workers started with --resources GPU=1\n")
    scheduler.say_when_idle(stream)
    return scheduler


def _connect(target: str):
    """A Client of the scheduler at `target`, or a BatchError saying why not in one line."""
    import gc

    import distributed

    failure, hook = "", sys.unraisablehook
    # A Client that failed half-way complains when it is dropped ("Exception ignored in
    # Client.__del__"); the one line below says all there is to say.
    sys.unraisablehook = lambda unraisable: None
    try:
        try:
            return distributed.Client(target, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
        except Exception as exc:  # unreachable, refused, not a Dask scheduler: a bad command
            failure = f"{type(exc).__name__}: {first_line(str(exc)) if str(exc) else 'no answer'}"
        gc.collect()
    finally:
        sys.unraisablehook = hook
    raise BatchError(f"cannot reach the Dask scheduler at {target} ({failure})")


class ClusterLost(KeyboardInterrupt):
    """The scheduler went away mid-batch: the batch stops as after Ctrl-C (interrupted, every
    result received kept, the rest graded by the next run), so run.py's handling of Ctrl-C is
    this one's too."""


class DaskScheduler:
    """run.py's `schedule_locally` on a Dask cluster: called once with the todo list, then closed."""

    def __init__(self, client, cluster, target: str, resources: dict | None,
                 device_spec: str | None) -> None:
        self.client, self.cluster, self.target = client, cluster, target
        self.resources, self.device_spec = resources, device_spec

    def prepare(self, spec: JobSpec, job) -> None:
        """Start each worker's job template now, while the batch starts its warm workers (Note
        [Templates first on Dask]); on a remote cluster, only the tasks start them."""
        if self.cluster is None:
            return
        try:
            self.client.run(_start_template, _preload(dataclasses.asdict(spec), _reference(job)),
                            wait=False)
        except Exception:  # only a head start: the first task starts the template otherwise
            pass

    def say_when_idle(self, stream: TextIO) -> None:
        """Tell the user when no worker can take the tasks yet (they would wait silently)."""
        try:
            found = self.client.scheduler_info(n_workers=-1).get("workers", {})
        except Exception:  # only a courtesy
            return
        if not found:
            stream.write(f"note: the Dask scheduler at {self.target} has no workers yet; the "
                         f"batch waits for some (`dask worker {self.target} --nthreads N`)\n")
        elif self.resources and not any(w.get("resources", {}).get("GPU") for w in found.values()):
            stream.write("note: no Dask worker offers a GPU yet; the batch waits for one started "
                         "with --resources GPU=1\n")
        stream.flush()

    def __call__(self, todo: list[Submission], workers: int, spec: JobSpec, job, keep, failed,
                 progress) -> None:
        try:
            if todo:
                self._run(todo, spec, job, keep, failed, progress)
        finally:
            self.close()

    def _run(self, todo, spec: JobSpec, job, keep, failed, progress) -> None:
        from distributed import KilledWorker, as_completed
        from distributed.client import FutureCancelledError
        from distributed.comm.core import CommClosedError

        reference = _reference(job)
        if self.device_spec is not None:  # Note [Devices on a cluster]
            spec = dataclasses.replace(spec, device=self.device_spec)
        spec_data = dataclasses.asdict(spec)
        pin_gpu = self.cluster is None and self.resources is not None
        in_flight: dict = {}   # future -> (submission, alone)
        finished = as_completed(loop=self.client.loop)
        suspects: deque[Submission] = deque()

        def submit(submission: Submission, alone: bool) -> None:
            future = self.client.submit(
                run_task, spec_data, dataclasses.asdict(job_of(submission)), reference, pin_gpu,
                key=f"grade-{submission.id}-{uuid.uuid4().hex[:8]}", resources=self.resources,
                pure=False)
            in_flight[future] = (submission, alone)
            finished.add(future)

        # Ctrl-C only sets a flag; the loop stops between results (as Note [Ctrl-C at a safe
        # point] in run.py), so a result is never half kept.
        interrupted = threading.Event()
        previous = None
        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGINT, lambda signum, frame: interrupted.set())
        try:
            for submission in todo:
                submit(submission, False)
            while in_flight or suspects:
                if interrupted.is_set():
                    raise KeyboardInterrupt
                if self.client.status in ("closing", "closed"):
                    raise self._lost(progress)
                if suspects and not in_flight:
                    submission = suspects.popleft()  # Note [Dask worker deaths]: alone
                    submit(submission, True)
                done = finished.next_batch(block=False)
                if not done:
                    time.sleep(POLL_S)
                    continue
                for future in done:
                    submission, alone = in_flight.pop(future)
                    try:
                        answer = future.result()
                    except KilledWorker as exc:
                        deaths = f"its Dask worker died {exc.allowed_failures + 1} times while " \
                                 f"grading it"
                        if alone:
                            keep(submission, failed(submission, _abrupt(deaths)), failure=deaths)
                        else:
                            suspects.append(submission)
                            progress.note(f"{submission.id}: {deaths}; grading it again with "
                                          f"nothing else in flight to find whether it is the cause")
                    except FutureCancelledError:
                        if self.client.status != "running":  # the client cancels all it had
                            raise self._lost(progress) from None
                        why = "the Dask scheduler cancelled its task"
                        keep(submission, failed(submission, _abrupt(why)), failure=why)
                    except CommClosedError:
                        # The scheduler (or the worker holding the result) went away while the
                        # result was fetched, before the client's status said so: a lost
                        # scheduler, not a verdict, so nothing is kept for this submission and
                        # the next run grades it (Note [Grading on Dask]).
                        raise self._lost(progress) from None
                    except Exception as exc:  # the task itself failed: not a verdict either
                        why = f"{type(exc).__name__}: {exc}"
                        keep(submission, failed(submission, f"internal grader error in the batch "
                                                            f"job ({why})"), failure=why)
                    else:
                        _settle(submission, answer, keep, failed)
                    finally:
                        future.release()
        except BaseException:
            # Ctrl-C or a lost scheduler: stop what is in flight (Note [One process per task
            # on Dask]: a cancelled task stops its job process).
            try:
                self.client.cancel(list(in_flight), force=True)
            except Exception:
                pass
            raise
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)

    def _lost(self, progress) -> "ClusterLost":
        progress.note(f"lost the Dask scheduler at {self.target}; the results received are kept")
        return ClusterLost()

    def close(self) -> None:
        for thing in (self.client, self.cluster):
            if thing is not None:
                try:
                    thing.close(timeout=CONNECT_TIMEOUT_S)
                except Exception:  # closing is best effort; local workers die with the batch
                    pass


def _abrupt(why: str) -> str:
    return (f"the grading process ended abruptly ({why}); nothing was graded, and the next "
            f"grade batch tries again")


def _settle(submission: Submission, answer: dict, keep, failed) -> None:
    """Keep what a task returned: a result, or why there is none (all job failures)."""
    if "result" in answer:
        keep(submission, SubmissionResult.from_dict(answer["result"]))
    elif "crashed" in answer:
        keep(submission, failed(submission, _abrupt(answer["crashed"])), failure=answer["crashed"])
    elif "timed_out" in answer:  # Note [A limit per job] in grader/batch/run.py
        message, why = gave_up(float(answer["timed_out"]))
        keep(submission, failed(submission, message), failure=why)
    elif "unavailable" in answer:
        keep(submission, failed(submission, f"could not be graded on the Dask cluster: "
                                            f"{answer['unavailable']}"),
             failure=answer["unavailable"])
    else:
        why = answer.get("error", "the task returned nothing")
        keep(submission, failed(submission, f"internal grader error in the batch job ({why})"),
             failure=why)


def _reference(job) -> str:
    """`module:name` of the job function, which the job process imports by name."""
    module, name = getattr(job, "__module__", None), getattr(job, "__qualname__", "")
    if not module or module == "__main__" or "<" in name:
        raise BatchError(f"a batch job on Dask must be a module-level function of an importable "
                         f"module, not {job!r}")
    return f"{module}:{name}"


# -- the Dask worker ------------------------------------------------------------------------------

def run_task(spec: dict, job: dict, reference: str, pin_gpu: bool = False) -> dict:
    """One submission, on a Dask worker: check that what it needs is here, grade it in a job
    process of its own (Note [One process per task on Dask]) and return the result's dict, or
    why there is none."""
    from .job import remove_dead_job_folders

    where = _worker_name()
    needed = [("submission", job["path"]), *[("submission file", p) for _, p in job["members"]],
              ("assignments folder", spec["assignments_dir"]),
              ("rubrics folder", spec["rubrics_dir"]), ("--worker-python", spec["python"]),
              ("--data-dir", spec["data_dir"])]
    for what, path in needed:
        if path and not os.path.exists(path):
            return {"unavailable": f"the {what} {path} is not on Dask worker {where}; the "
                                   f"submissions and the grader must be on a filesystem every "
                                   f"worker mounts at the same path"}
    device = spec["device"] or ""
    if device.startswith("cuda"):
        if not devices.gpus():
            return {"unavailable": f"Dask worker {where} offers the GPU resource but has no "
                                   f"NVIDIA GPU the driver lists"}
        visible = os.environ.get("CUDA_VISIBLE_DEVICES", "").strip()
        if pin_gpu and visible.isdigit():  # the one GPU this worker was given
            spec = {**spec, "device": f"cuda:{visible}"}
    remove_dead_job_folders()
    request = {"spec": spec, "job": job, "reference": reference, "watch": os.getpid()}
    try:
        return _run_forked(spec, reference, request)
    except TemplateGone:  # twice in a row: grade it as before, in a Python of its own
        return _run_fresh(request)


def _preload(spec: dict, reference: str) -> dict:
    """What this batch's template on a Dask worker loads (its key: Note [Job templates on Dask]
    in grader/batch/template.py); the same for `prepare` and for every task."""
    from .job import preload_data
    return {**preload_data(spec), "reference": reference}


async def _start_template(preload: dict) -> None:
    """On a Dask worker, from `prepare`: start the template the tasks will fork from.  A
    coroutine, as Client.run(wait=False) takes no other; it runs on the worker's event loop,
    and starting a template only starts a process (Template does not wait for it)."""
    template_for(preload)


def _run_forked(spec: dict, reference: str, request: dict) -> dict:
    """Grade the job in a fork of this Dask worker's template (Note [Job templates on Dask] in
    grader/batch/template.py), starting the template again once if it has died."""
    preload = _preload(spec, reference)
    request_call = call(job_answer, request)
    try:
        running = template_for(preload).start(request_call)
    except TemplateGone:
        running = template_for(preload, fresh=True).start(request_call)
    limit = spec.get("job_limit_s")  # Note [A limit per job] in grader/batch/run.py
    deadline = None if limit is None else time.monotonic() + limit
    try:
        while not running.wait(WATCH_S):
            if not _still_wanted():
                running.terminate()  # the job stops cleanly on SIGTERM (job._stop)
                return {"error": "cancelled"}
            if deadline is not None and time.monotonic() >= deadline:
                running.kill_tree()
                return {"timed_out": limit}
    finally:
        running.close()
    try:
        return running.outcome()
    except JobDied as died:
        return {"crashed": died.how()}
    except Exception as exc:  # job_answer catches the job's own errors: this is ours
        return {"error": f"{type(exc).__name__}: {exc}"}


def _run_fresh(request: dict) -> dict:
    """Grade the job in a fresh `python -m grader.batch.cluster`: the way before templates, kept
    for a Dask worker where no template can start."""
    process = subprocess.Popen([sys.executable, "-m", "grader.batch.cluster"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE)
    output: list[bytes] = []
    talk = threading.Thread(
        target=lambda: output.append(process.communicate(json.dumps(request).encode())[0]),
        daemon=True, name="job-process")
    talk.start()
    limit = request["spec"].get("job_limit_s")  # Note [A limit per job] in grader/batch/run.py
    deadline = None if limit is None else time.monotonic() + limit
    while talk.is_alive():
        talk.join(WATCH_S)
        if talk.is_alive() and not _still_wanted():
            process.terminate()  # the job stops cleanly on SIGTERM (job._stop)
            talk.join()
            return {"error": "cancelled"}
        if talk.is_alive() and deadline is not None and time.monotonic() >= deadline:
            kill_process_tree(process.pid)
            talk.join()
            return {"timed_out": limit}
    if process.returncode != 0:
        from ..worker.client import describe_exit
        return {"crashed": describe_exit(process.returncode)}
    try:
        return json.loads(output[0] if output else b"")
    except ValueError:
        return {"error": "the job process wrote no result"}


def _worker_name() -> str:
    try:
        from distributed import get_worker
        return f"{get_worker().address} ({socket.gethostname()})"
    except Exception:  # not on a Dask worker (a test calling run_task directly)
        return socket.gethostname()


def _still_wanted() -> bool:
    """False once the scheduler has cancelled this task (Ctrl-C, or its client gone)."""
    try:
        from distributed import get_worker
        from distributed.worker import thread_state
        task = get_worker().state.tasks.get(thread_state.key)
        return task is not None and task.state != "cancelled"
    except Exception:  # not on a Dask worker, or Dask changed: keep grading
        return True


# -- the job process -----------------------------------------------------------------------------

def job_answer(request: dict) -> dict:
    """Grade the job `request` names in this (fresh or forked) job process: the result's dict,
    or why there is none."""
    from .job import init_job_process

    init_job_process(request["watch"])
    # JSON made the spec's tuples lists; put them back (the conventions stay a dict)
    spec = JobSpec(**{k: tuple(v) if isinstance(v, list) else v
                      for k, v in request["spec"].items()})
    job = Job(request["job"]["id"], request["job"]["path"],
              tuple(tuple(member) for member in request["job"]["members"]))
    module, name = request["reference"].split(":", 1)
    try:
        grade = importlib.import_module(module)
        for part in name.split("."):
            grade = getattr(grade, part)
        from ..scoring.result import jsonable
        # through JSON, as a result file is written: plain data, whichever way it travels
        return {"result": json.loads(json.dumps(grade(spec, job).to_dict(), default=jsonable))}
    except Exception as exc:  # the job itself failed (grade_job catches its own errors)
        return {"error": f"{type(exc).__name__}: {exc}"}


def job_main() -> int:
    """`python -m grader.batch.cluster`: grade the job given on stdin; its result's dict on stdout."""
    answer = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # anything printed while grading goes to stderr, not into the answer
    reply = job_answer(json.load(sys.stdin))
    from ..scoring.result import jsonable
    answer.write(json.dumps(reply, default=jsonable))
    answer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(job_main())
