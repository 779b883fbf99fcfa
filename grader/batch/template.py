"""A job template: one process that has loaded the assignment and forks a fresh job per submission.

Every batch job is a process of its own (Note [Job processes] in
grader/batch/run.py).  This module starts them: a template is a fresh Python
(`python -c START grader.batch.template FD`) that imports the grader and loads
the batch's assignment once (Note [Warm job processes]), then only forks, one
job per request.  The local pool (run.py's `ForkPool`, one template per batch,
a child of the batch process) and each Dask worker (`template_for`, one
template per worker and batch settings; Note [One process per task on Dask] in
grader/batch/cluster.py) use the same template.

    owner (batch, or Dask worker)    template                             job (a fork)
    Template.start(call) --fds-->    recv_fds, fork, send pid ----------> reads the call,
    reads the answer, then the       reaps the job, sends its exit        makes it, sends
    exit status                      status                               its answer, exits

# Note [Job start]
What a job costs before it grades, fc_nets, on 2 shared cores (load average
3-4; the job loads the assignment as overhead.py's probe does; median of 15
jobs, three interleaved runs each): 57-61 ms a job on the ProcessPoolExecutor
over multiprocessing's fork server that the local pool used before, 16-20 ms
on a template.  The difference is the pool's machinery for one task per
process: a pickled Process object and preparation data sent to the fork
server, the parent's main script run again in every child (overhead.py's own
imports, or the `grade` script's), call and result queues with feeder threads,
and the pool's manager thread starting each replacement process only after the
last one exited.  A template's fork gets one request on a socket and sends one
answer.  What is left is the fork itself (page tables of a process that
imported numpy, pytest and the checks), init_job_process (the job's folder
and its watch thread), and the exit.  The YAML of the manifest and the rubric
(about 6 ms) is no longer read per job either (Note [Loaded once per batch]
in grader/batch/job.py).  gc.freeze() in the template (so that a job's
collections leave the template's objects, and their pages, alone) was tried
and left out: no full collection runs in an fc_nets job (gc callbacks, four
jobs), and the job's page faults were the same with it.

# Note [Job templates on Dask]
Each Dask worker process keeps its templates in a module global (`_templates`),
keyed by what the template loaded: the assignment, its conventions, the
assignments and rubrics folders, --select, the questions' secret and source,
and the job function's module.  A batch with another secret (another output
folder, another course file) gets a template of its own, so a task is never
graded with another batch's questions (Note [Fresh questions] in
grader/checks/questions.py); the oldest of more than MAX_TEMPLATES is stopped.
The template is built on the Dask worker's own machine, from the settings the
task carries: on a remote cluster nothing but the task's plain dicts crosses
the network.  The settings, the secret among them, reach the template on its
stdin, not in its environment (/proc/PID/environ stays readable for the
process's life).  A template is a fresh Python started by the Dask worker (not
a fork of it: the Dask worker has threads and an event loop), and it never
grades: it has no threads, imports the grader and loads the assignment, then
only forks.  So each job is, as before, a process of its own with nothing of
any other submission in it.

# Note [Talking to a template]
Each request hands the template two sockets with SCM_RIGHTS over the control
socket (SOCK_SEQPACKET, one message per request, so concurrent tasks of a Dask
worker with --nthreads N never interleave): one for the job (the call in, its
answer out) and one for the template (the job's pid, then its exit status).
The call is pickled (initializer, function and arguments, functions by
reference, as multiprocessing sends them) and so is the answer: both ends are
the judge's own code, and student code never runs in a job (its student
worker's answers cross the worker pipe as plain data).  The template runs
with its owner's sys.path, so a job imports what its owner can.
The template forks at once (or hands the job's socket to the process it forked
ahead, Note [Forked ahead]) and closes its copy of the job's socket; the job
closes the control socket and every other job's status socket, so a task sees
the end of its result exactly when its job has ended.  The template reaps its
jobs (SIGCHLD through a wake-up pipe, as multiprocessing's fork server does)
and sends each exit status, so a job that dies on its own (the OOM killer) is
still reported with how it ended (Note [Dask worker deaths] in cluster.py).
A job watches its owner (the batch process, or the Dask worker), not the
template (the pid in its request), so Note [One process per task on Dask]'s clean stop when the Dask
worker ends holds unchanged; the template ends when its control socket closes,
that is when its owner ends, however it ends.  A template that dies is
started again by the next task; a task whose template died under it still
gets its job's result when the job finished, and an abrupt-end answer
otherwise.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from concurrent.futures import Future
from typing import Callable

from .processes import kill_process_tree

MAX_TEMPLATES = 4
ENDED_WAIT_S = 30  # how long a pool thread waits for the exit of a job that answered
_INT = struct.Struct("!q")


class TemplateGone(OSError):
    """The template ended before it forked the job: start another."""


class JobTimedOut(Exception):
    """A job ran past its wall-clock limit and was killed with its process tree (Note [A limit
    per job] in grader/batch/run.py); `limit_s` is that limit."""

    def __init__(self, limit_s: float) -> None:
        super().__init__(limit_s)
        self.limit_s = limit_s


class JobDied(Exception):
    """A job ended without an answer; `status` is its exit status as subprocess gives it
    (negative: the signal), None when its template ended before it could say."""

    def __init__(self, status: int | None) -> None:
        super().__init__(status)
        self.status = status

    def how(self) -> str:
        if self.status is None:
            return "its job template ended while it ran; how the job ended is unknown"
        from ..worker.client import describe_exit
        return describe_exit(self.status)


def call(function, *args, initializer=None, initargs=()) -> bytes:
    """The request that runs `initializer(*initargs)`, then `function(*args)` in a job."""
    return pickle.dumps((initializer, tuple(initargs), function, tuple(args)))


# -- the owner's side (the batch process, or a Dask worker) ------------------------------------

def template_key(preload: dict) -> str:
    return hashlib.sha256(json.dumps(preload, sort_keys=True, default=str).encode()).hexdigest()


class Template:
    """A running template process and its control socket."""

    def __init__(self, preload: dict) -> None:
        here, there = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-c", START, "grader.batch.template", str(there.fileno())],
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, pass_fds=(there.fileno(),))
        except BaseException:
            here.close()
            raise
        finally:
            there.close()
        self.control, self.lock = here, threading.Lock()
        # Note [Job templates on Dask]: the settings on stdin, never in the environment; and
        # this process's sys.path, so that the jobs import what it can (as multiprocessing's
        # children do)
        start = {"sys_path": sys.path, "preload": preload}
        try:
            self.process.stdin.write(json.dumps(start, default=str).encode())
            self.process.stdin.close()
        except OSError:
            pass  # it died already: start() says so

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def start(self, request: bytes) -> "RunningJob":
        """Fork a job for `request`; TemplateGone when the template cannot."""
        job_here, job_there = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        status_here, status_there = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            with self.lock:
                try:
                    socket.send_fds(self.control, [b"J"], [job_there.fileno(),
                                                           status_there.fileno()])
                except OSError as exc:
                    raise TemplateGone(f"the job template ended ({exc})") from None
        except BaseException:
            job_here.close()
            status_here.close()
            raise
        finally:
            job_there.close()
            status_there.close()
        pid = _read_int(status_here)
        if pid is None:  # it ended with our sockets unread
            job_here.close()
            status_here.close()
            raise TemplateGone("the job template ended before it started the job")
        return RunningJob(pid, job_here, status_here, request)

    def stop(self) -> None:
        self.control.close()   # the template ends on its own (Note [Talking to a template])
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class RunningJob:
    """A forked job: send it its request, then read its result and its exit status."""

    def __init__(self, pid: int, job: socket.socket, status: socket.socket,
                 request: bytes) -> None:
        self.pid, self.job, self.status = pid, job, status
        self.output = bytearray()
        self.returncode: int | None = None
        self._result_done = self._status_done = False
        self._answer: tuple | None = None  # (ok, value) once the whole answer is in (Note [Answer first])
        threading.Thread(target=self._send, args=(request,), daemon=True,
                         name="job-request").start()

    def _send(self, request: bytes) -> None:
        try:
            self.job.sendall(request)
            self.job.shutdown(socket.SHUT_WR)
        except OSError:  # the job died: its status says how
            pass

    def wait(self, timeout: float) -> bool:
        """Read what is there for up to `timeout` seconds; True once the job's whole answer has
        been read (Note [Answer first]), or, when it ended without one, once its exit status
        (or the template's end) has been read too."""
        if self._answer is not None:
            return True
        waiting = [s for s, done in ((self.job, self._result_done),
                                     (self.status, self._status_done)) if not done]
        if not waiting:
            return True
        ready, _, _ = select.select(waiting, [], [], timeout)
        if self.job in ready:
            try:
                chunk = self.job.recv(1 << 16)
            except OSError:  # reset: the job died with our request unread (Ctrl-C, a kill)
                chunk = b""  # so its answer ends here and its status says how
            if chunk:
                self.output += chunk
            else:
                self._result_done = True
        if self.status in ready:
            code = _read_int(self.status)
            self.returncode = code
            self._status_done = True
        if self._result_done and self._answer is None and not self._status_done:
            self._answer = self._whole_answer()
            if self._answer is not None:
                return True
        return self._result_done and self._status_done

    def _whole_answer(self) -> tuple | None:
        """The job's answer, (ok, value), when all of it came; None when nothing or part did."""
        try:
            ok, value = pickle.loads(bytes(self.output))
        except Exception:  # nothing, or cut short
            return None
        return ok, value

    def outcome(self):
        """What the job's function returned (its exception raised again); JobDied when the job
        ended without saying all of it (a crash, a kill, its template gone with it unfinished);
        Note [Answer first]."""
        answer = self._answer if self._answer is not None else self._whole_answer()
        if answer is None:
            raise JobDied(self.returncode)
        ok, value = answer
        if not ok:
            raise value
        return value

    def wait_ended(self, timeout: float) -> None:
        """Wait up to `timeout` seconds for the job's exit status, once its answer is in."""
        deadline = time.monotonic() + timeout
        while not self._status_done and time.monotonic() < deadline:
            ready, _, _ = select.select([self.status], [], [], deadline - time.monotonic())
            if ready:
                self.returncode = _read_int(self.status)
                self._status_done = True

    def terminate(self) -> None:
        try:
            os.kill(self.pid, signal.SIGTERM)
        except OSError:
            pass

    def kill_tree(self) -> None:
        """Kill the job and every process below it, whatever it is doing (Note [A limit per
        job] in grader/batch/run.py): stopped first, so that it starts nothing new while its
        descendants are found; each descendant's process group, then each descendant, then the
        job, with SIGKILL (a job stuck in C code holding the GIL never runs a SIGTERM handler).
        The job's pid is not reused while the job runs (its template reaps it only after it
        died); the one window left is a job that died and was reaped an instant before this
        kill, before its status was read, as with any kill by pid."""
        kill_process_tree(self.pid)

    def close(self) -> None:
        self.job.close()
        self.status.close()


def _read_int(sock: socket.socket) -> int | None:
    data = b""
    while len(data) < _INT.size:
        try:
            chunk = sock.recv(_INT.size - len(data))
        except OSError:
            return None
        if not chunk:
            return None
        data += chunk
    return _INT.unpack(data)[0]


class ForkPool:
    """Submit calls to fresh forks of one template of its own, at most `workers` at a time:
    what the local pool needs of concurrent.futures' executors (Note [Job processes] in
    grader/batch/run.py)."""

    def __init__(self, workers: int, preload: dict, initializer=None, initargs=(),
                 template: Template | None = None, limit_s: float | None = None) -> None:
        """`template`: one already started with `preload` (Note [Template first] in
        grader/batch/run.py); the pool stops it when it shuts down.  `limit_s`: each job's
        wall-clock limit from its fork (Note [A limit per job] in grader/batch/run.py); past
        it the job is killed with its process tree and its future raises JobTimedOut."""
        self.limit_s = limit_s
        self.template = template if template is not None else Template(preload)
        self.preload, self.lock = preload, threading.Lock()
        self.slots = threading.BoundedSemaphore(workers)
        self.initializer, self.initargs = initializer, tuple(initargs)
        self.running: dict[int, RunningJob] = {}
        self.threads: list[threading.Thread] = []
        self.closed = False

    def submit(self, function, *args) -> Future:
        future: Future = Future()
        request = call(function, *args, initializer=self.initializer, initargs=self.initargs)
        thread = threading.Thread(target=self._run, args=(future, request), daemon=True,
                                  name="fork-job")
        thread.start()
        self.threads = [t for t in self.threads if t.is_alive()] + [thread]
        return future

    def _run(self, future: Future, request: bytes) -> None:
        with self.slots:
            if self.closed or not future.set_running_or_notify_cancel():
                return
            try:
                template = self.template
                try:
                    running = template.start(request)
                except TemplateGone:  # it died (the OOM killer?): the next jobs need another
                    running = self._replace(template).start(request)
            except BaseException as exc:
                future.set_exception(JobDied(None) if isinstance(exc, TemplateGone) else exc)
                return
            self.running[running.pid] = running
            deadline = None if self.limit_s is None else time.monotonic() + self.limit_s
            try:
                while not running.wait(1.0 if deadline is None
                                       else max(0.0, min(1.0, deadline - time.monotonic()))):
                    if deadline is not None and time.monotonic() >= deadline:
                        running.kill_tree()  # Note [A limit per job] in grader/batch/run.py
                        running.wait_ended(ENDED_WAIT_S)
                        running.close()
                        future.set_exception(JobTimedOut(self.limit_s))
                        return
            except BaseException as exc:  # the future says it, not a thread's traceback
                running.close()
                future.set_exception(exc)
                return
            finally:
                self.running.pop(running.pid, None)
        # The slot is free once the job has answered (Note [Answer first])
        try:
            future.set_result(running.outcome())
        except BaseException as exc:
            future.set_exception(exc)
        finally:
            try:
                running.wait_ended(ENDED_WAIT_S)  # so that shutdown() waits for it
            finally:
                running.close()

    def _replace(self, dead: Template) -> Template:
        """A new template instead of `dead` (once, whichever job found it dead first)."""
        with self.lock:
            if self.template is dead and not self.closed:
                dead.stop()
                self.template = Template(self.preload)
            return self.template

    def terminate(self) -> None:
        """SIGTERM every job running now (a job stops cleanly on it: job._stop)."""
        for running in list(self.running.values()):
            running.terminate()

    def shutdown(self, wait: bool = True) -> None:
        """Stop the template: after the jobs submitted have ended (`wait`), or now, stopping
        the running ones and dropping the rest."""
        if wait:
            for thread in self.threads:
                thread.join()
        else:
            self.closed = True
            self.terminate()
        self.closed = True
        self.template.stop()


_templates: dict[str, Template] = {}
_templates_lock = threading.Lock()


def template_for(preload: dict, fresh: bool = False) -> Template:
    """This Dask worker's template for `preload` (Note [Job templates on Dask]), started when it
    has none yet, or none alive, or `fresh` is asked (the last one could not fork)."""
    key = template_key(preload)
    with _templates_lock:
        current = _templates.get(key)
        if current is not None and (fresh or not current.alive()):
            _templates.pop(key)
            current.stop()
            current = None
        if current is None:
            while len(_templates) >= MAX_TEMPLATES:
                oldest = next(iter(_templates))
                _templates.pop(oldest).stop()
            current = _templates[key] = Template(preload)
        return current


def stop_templates() -> None:
    with _templates_lock:
        while _templates:
            _templates.popitem()[1].stop()


# -- the template --------------------------------------------------------------------------------

def serve(control_fd: int, data: dict, preload: Callable[[dict], None]) -> None:
    """The template's loop: fork a job for each task until the control socket closes."""
    control = socket.socket(fileno=control_fd)
    os.dup2(2, 1)  # nothing a job prints goes anywhere but stderr
    preload(data)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # the batch decides what Ctrl-C means
    jobs: dict[int, socket.socket] = {}
    spare: list = []  # [pid, socket] of the next job's process (Note [Forked ahead])

    def child() -> None:
        """In a fresh fork: drop the template's own ends (Note [Talking to a template])."""
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for sock in (control, *jobs.values()):
            sock.close()
        for fd in (wake_r, wake_w):
            os.close(fd)

    def fork_spare() -> None:
        here, there = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        pid = os.fork()
        if pid == 0:
            child()
            here.close()
            try:
                message, fds, _, _ = socket.recv_fds(there, 16, 1)
            except OSError:
                message, fds = b"", []
            if not message or len(fds) != 1:  # the template ended: so does its spare
                os._exit(0)
            there.close()
            _job(fds[0])  # never returns
        there.close()
        spare[:] = [pid, here]

    def hand_to_spare(job_fd: int) -> int | None:
        """The spare's pid once it has `job_fd`; None when there is no live spare."""
        if not spare:
            return None
        pid, sock = spare
        spare.clear()
        try:
            ended = os.waitpid(pid, os.WNOHANG)[0] == pid
        except ChildProcessError:
            ended = True
        try:
            if not ended:
                socket.send_fds(sock, [b"J"], [job_fd])
                return pid
        except OSError:
            pass
        finally:
            sock.close()
        return None

    fork_spare()
    while True:
        try:
            ready, _, _ = select.select([control, wake_r], [], [])
        except InterruptedError:
            continue
        if wake_r in ready:
            while True:
                try:
                    if not os.read(wake_r, 512):
                        break
                except BlockingIOError:
                    break
            _reap(jobs)
        if control in ready:
            try:
                message, fds, _, _ = socket.recv_fds(control, 16, 2)
            except OSError:
                message, fds = b"", []
            if not message:  # the Dask worker is gone: so is this template
                os._exit(0)
            if len(fds) != 2:
                for fd in fds:
                    os.close(fd)
                continue
            job_fd, status_fd = fds
            pid = hand_to_spare(job_fd)
            if pid is None:
                pid = os.fork()
                if pid == 0:
                    child()
                    os.close(status_fd)
                    _job(job_fd)  # never returns
            os.close(job_fd)
            status = socket.socket(fileno=status_fd)
            try:
                status.sendall(_INT.pack(pid))
            except OSError:
                pass
            jobs[pid] = status
            _reap(jobs)
            fork_spare()  # while that job runs (Note [Forked ahead])


def _reap(jobs: dict[int, socket.socket]) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        sock = jobs.pop(pid, None)
        if sock is not None:
            try:
                sock.sendall(_INT.pack(os.waitstatus_to_exitcode(status)))
            except OSError:
                pass
            sock.close()


def _job(job_fd: int) -> None:
    """In the forked job: read the call, make it, send back what it returned or raised, and
    exit without the template's exit hooks."""
    code = 0
    try:
        with socket.socket(fileno=job_fd) as sock:
            chunks = []
            while chunk := sock.recv(1 << 16):
                chunks.append(chunk)
            initializer, initargs, function, args = pickle.loads(b"".join(chunks))
            if initializer is not None:
                initializer(*initargs)
            try:
                reply = pickle.dumps((True, function(*args)))
            except Exception as exc:
                try:
                    reply = pickle.dumps((False, exc))
                except Exception:
                    reply = pickle.dumps((False, RuntimeError(f"{type(exc).__name__}: {exc}")))
            sock.sendall(reply)
    except BaseException:
        code = 1
        try:
            import traceback
            traceback.print_exc()  # the job's stderr is the template's: the Dask worker's, or ours
        except BaseException:
            pass
    finally:
        try:
            import multiprocessing.util
            multiprocessing.util._exit_function()  # the job folder's finalizer (job.py)
        except BaseException:
            pass
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BaseException:
                pass
        os._exit(code)


# Note [Answer first]
# A job's answer is complete when the job closes its end of the socket after sending it: the
# answer is one pickle, so all of it loads and a part does not.  Its exit status came after
# (the job runs its finalizers, removes its folder and exits; the template reaps it and sends
# the status): 6 ms per fc_nets submission (median of 10, 1 worker), during which the
# batch's one slot stayed taken.  So a RunningJob is done (`wait`) as soon as its whole answer
# is in, and its outcome is that answer; the exit status decides only for a job that did not
# say all of it (a crash, a kill, the OOM killer before or while it answered: JobDied, with
# how it ended, as before).  A job that is killed after it answered has still graded its
# submission, and its answer stands.  The local pool frees the job's slot and resolves its
# future at the answer, then waits (up to ENDED_WAIT_S) for the job's exit status in the same
# thread, so that the next job starts while this one exits, and `shutdown` (which joins the
# threads) still returns only once its jobs have ended.  Nothing grades in the ending job: it
# gave its student worker and warm slot back before it answered (grader/scoring/pipeline.py).

# Note [Forked ahead]
# Forking a job is the template's one piece of work on a job's critical path: the kernel
# copies the page tables of a process that imported numpy, pytest and the checks (about 4 ms
# from the owner's request to the job's pid, 40 notebooks graded with 1 worker).  So the
# template forks the next job's process ahead, while the current job runs: the spare waits,
# with nothing of any submission in it (it is a fork of the template, which never grades),
# for the socket of the job it is to become; a request hands it over, and the template forks
# the next spare.  The spare closes what every job closes (the control socket, the other
# jobs' status sockets, the wake-up pipe), and ends when the template does (its socket
# closes).  A spare that died is noticed before the hand-over (waitpid), and the job is then
# forked as before; one that dies after it is an ordinary job that died, whose status the
# template reaps and sends (Note [Talking to a template]).

# How a template starts: `python -c START grader.batch.template FD`, its start-up data on stdin
# (the name in its command line is only for people and tests looking at the process list).
START = ("import json, os, sys; start = json.loads(sys.stdin.buffer.read() or b'{}'); "
         "os.close(0); os.open(os.devnull, os.O_RDONLY); "
         "sys.path[:] = start.get('sys_path') or sys.path; "
         "import grader.batch.run; "  # what every job uses (the local pool preloaded it too)
         "from grader.batch.template import main; "
         "main(int(sys.argv[2]), start.get('preload') or {})")


def main(control_fd: int, preload: dict) -> None:
    from .job import preload_template  # START has imported grader.batch.run for the jobs
    from ..judge_environment import forget_pytest_environment
    # before the jobs' pytest configuration is made (Note [Config made once] in
    # grader/scoring/plugin.py): Note [The judge's pytest is the grader's own] in grader/cli.py
    forget_pytest_environment()
    serve(control_fd, preload, preload_template)
