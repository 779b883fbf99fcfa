"""The judge's handle on one student worker process.

# Note [Trust boundary]
Student code never runs in the judge's process.  The judge starts
`runtime.py` in a confined child (grader/worker/sandbox.py, Note [Sandbox]) and talks
to it over two pipes in the wire format of wire.py (Note [Frame format]): plain
data in, plain data out, never a pickle.  So a student who patches numpy,
pytest or builtins patches them in the worker only; an object whose `__eq__`
always says yes never reaches the judge (it arrives as {"__opaque__": ...});
and every comparison, tolerance and score is computed here, on arrays the judge
decoded itself.  Each request has a deadline; a worker that dies, hangs or
floods is killed with its whole process tree, the request fails with a typed
error, and the next request starts a fresh worker, so one bad function costs
only its own checks.

# Note [Time budget]
Besides each call's limit, a submission has a time budget (`Limits.budget()`:
`limits: budget_s:` in a manifest, else the larger of 180 s and 8 call limits),
counted from the moment grading it began, so staging counts too
(grader/scoring/pipeline.py).  No request is sent once it is spent: the request raises
BudgetSpent, a WorkerTimeout, so the check's status is `timeout` and its message
says the budget was spent and the check was not run; a request running when the
budget ends is cut there (BudgetSpent too) and says so.  Neither is held against
the function by Note [Fail fast].  The result notes how many checks were cut.
Together with Note [Fail fast] in grader/checks/student.py (a function that timed
out or crashed the worker is not called again) this bounds what a submission that
sleeps at import and exits in every function can cost.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import cgroup, launch, sandbox
from .devices import CPU, Device
from ..scoring.result import MAX_NAME, clip
from . import wire

# What the worker's strings may take up in the judge (Note [Bounded text] in grader/scoring/result.py):
# names (exception types, qualnames, "where", files) and messages, per field.
_FIELD_LIMITS = {"type": MAX_NAME, "where": MAX_NAME, "file": MAX_NAME, "text": 1_000,
                 "message": 4_000, "traceback": 8_000}


class WorkerFailure(Exception):
    """Base of everything that can go wrong with a request to the worker.  `cause` is the
    check result's cause it leads to (Note [Causes] in grader/scoring/result.py)."""
    cause = "crashed"


@dataclass
class StudentError(WorkerFailure):
    """Student code raised an exception (reported, never re-raised as-is)."""
    type: str
    message: str
    traceback: str = ""
    where: str = ""
    file: str = ""
    line: int = 0
    text: str = ""
    index: int = -1  # which of a batch of sets raised (Note [Batched sets]); -1: not a batch

    @property
    def cause(self) -> str:
        return "not_implemented" if self.type == "NotImplementedError" else "raised"

    def __str__(self) -> str:
        location = f" ({self.where})" if self.where else ""
        return f"{self.type}: {self.message}{location}"


class WorkerTimeout(WorkerFailure):
    """The request did not finish within its wall-clock limit; the worker was killed."""
    cause = "timeout"


class BudgetSpent(WorkerTimeout):
    """The submission's time budget was spent before this request (Note [Time budget])."""


class WorkerCrashed(WorkerFailure):
    """The worker process ended (exit, signal, memory limit) while handling a request."""


class ProtocolError(WorkerFailure):
    """The worker sent something that is not a well-formed reply."""


# Note [Terminal colours in a student's error]
# Keras 3 writes its errors for a terminal: "\x1b[1mInvalid padding ...\x1b[0m".  Shown in a
# check's message, the report and the terminal escape the ESC (Note [Terminal text] in
# grader/report/terminal.py), so a student read "[1mInvalid padding ...[0m" in the middle of
# a real TensorFlow hand-in's message.  A terminal's control sequences (CSI: ESC, "[", its
# parameters, one final letter) carry no words, so they are dropped from the error's strings
# when the judge receives them; anything else stays as it is and is escaped where it is shown.
_CONTROL_SEQUENCE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")


def _student_error(error) -> StudentError:
    """The StudentError of an error the worker reported, its strings clipped (Note [Bounded
    text] in grader/scoring/result.py) and without terminal colours (Note [Terminal colours in
    a student's error])."""
    error = error if isinstance(error, dict) else {}
    fields = {k: clip(_CONTROL_SEQUENCE.sub("", v), _FIELD_LIMITS[k]) if isinstance(v, str) else v
              for k, v in error.items() if k in StudentError.__dataclass_fields__
              and (isinstance(v, str) if k not in ("line", "index") else type(v) is int)}
    return StudentError(**{"type": "Error", "message": "?", **fields})


@dataclass(frozen=True)
class Opaque:
    """A value the student returned that cannot cross the wire, described by its type."""
    type_name: str


@dataclass(frozen=True)
class Converted:
    """A value converted in the worker (an ndarray subclass, a tensor, an int subclass)."""
    type_name: str
    value: object


_LEAVES = wire.LEAVES_AND_ARRAYS  # Note [Leaves first] in wire.py


def unmark(value):
    """Turn the worker's markers into Opaque / Converted objects, recursively."""
    if type(value) in _LEAVES:
        return value
    if isinstance(value, dict):
        if "__opaque__" in value and isinstance(value["__opaque__"], str):
            return Opaque(clip(value["__opaque__"], MAX_NAME))
        if "__converted__" in value and isinstance(value["__converted__"], str):
            return Converted(clip(value["__converted__"], MAX_NAME), unmark(value.get("value")))
        return {k: unmark(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unmark(v) for v in value]
    if isinstance(value, tuple):
        return tuple(unmark(v) for v in value)
    return value


@dataclass(frozen=True)
class Ref:
    """Something kept in the worker: a call's result or a path into it (Note [Worker objects])."""
    handle: int
    path: tuple = ()

    def item(self, key) -> "Ref":
        return Ref(self.handle, self.path + (("item", key),))

    def attr(self, name: str) -> "Ref":
        return Ref(self.handle, self.path + (("attr", name),))

    def wire(self) -> dict:
        return {"__ref__": [self.handle, *[list(step) for step in self.path]]}


@dataclass
class CallResult:
    """What a call returned: plain data, a Ref to the real object, and side facts."""
    value: object
    ref: Ref
    seconds: float
    mutated: list[str] = field(default_factory=list)
    args_after: object = None
    kwargs_after: object = None
    output: str = ""
    reads: list = field(default_factory=list)  # values or StudentErrors: Note [Reads folded ...]

    def read(self, index: int = 0):
        """The value of read `index` made after the call; its StudentError if reading raised."""
        value = self.reads[index]
        if isinstance(value, StudentError):
            raise value
        return value


RESULT = Ref(0)  # in `reads`: the result of the call itself (Note [Reads folded into a call])


@dataclass(frozen=True)
class Part:
    """The result of an earlier call of the same stream, or a path into it (Note [Streamed calls])."""
    index: int
    path: tuple = ()

    def item(self, key) -> "Part":
        return Part(self.index, self.path + (("item", key),))

    def attr(self, name: str) -> "Part":
        return Part(self.index, self.path + (("attr", name),))

    def wire(self) -> dict:
        return {"__part__": [self.index, *[list(step) for step in self.path]]}


# The judge's markers in a request, turned into plain data as the request is encoded (Note [One
# pass to encode] in wire.py).
_MARKERS = {Ref: Ref.wire, Part: Part.wire}


class _OutputTail(threading.Thread):
    """Drains the worker's stdout/stderr so it can never block, keeping a bounded head."""

    def __init__(self, fd: int, limit: int) -> None:
        super().__init__(daemon=True)
        self.fd, self.limit = fd, limit
        self.lock = threading.Lock()
        self.kept = bytearray()
        self.dropped = 0

    def run(self) -> None:
        while True:
            try:
                chunk = os.read(self.fd, 1 << 16)
            except OSError:
                break
            if not chunk:
                break
            with self.lock:
                room = max(0, self.limit - len(self.kept))
                self.kept += chunk[:room]
                self.dropped += len(chunk) - min(room, len(chunk))
        os.close(self.fd)

    def take(self) -> str:
        with self.lock:
            text = self.kept.decode("utf-8", "replace")
            if self.dropped:
                text += f"\n[... {self.dropped} more bytes of output not kept]"
            self.kept.clear()
            self.dropped = 0
            return text


# Note [Pipe size]
# A request or reply larger than the pipe (64 KiB by default on Linux) is written in pieces,
# each waiting for the other side to wake up and read: the overfitting check of fc_nets sends
# 40 requests of 139 KB (a network's parameters), whose writes took 1.25 ms each (median, on
# a loaded 2-core machine; 10-15 us for those that fit), 41 ms per submission spent waiting
# for room, and its replies of the same size wait for the judge in the same way.  With 1 MiB
# pipes the same writes took 24-32 us (median), 9-10 ms per submission in all, against 23-44
# ms with 64 KiB pipes in the same runs (alternated, load 3.5-3.8).  The judge
# makes both pipes 1 MiB (Linux's default `pipe-max-size`), so such a message is written at
# once and the writer goes on (the judge to its own reference computation, Note [Judge works
# while the worker computes] in grader/checks/student.py).  Nothing else changes: every
# reply is still read under its deadline and its size cap (`Limits.reply_bytes`), a stuck
# reader is still found by `_write_all`'s deadline, and a worker can hold at most 1 MiB in
# the reply pipe, as it could hold 64 KiB, until the judge reads it.  A pipe that cannot be
# resized keeps its size.
PIPE_BYTES = 1 << 20

READ_INTO_BYTES = 1 << 14  # Note [Large parts read in place]

DRAIN_LIMIT_S = 2.0  # Note [Streamed calls]: how long a call no check asked for may run


class Stream:
    """The replies of a `calls` request, one CallResult per call (Note [Streamed calls]).
    Iterating raises the failure of the call that failed; `close` drops what is left."""

    def __init__(self, worker: "Worker", request_id: int, count: int, limit: float,
                 started: float) -> None:
        self.worker, self.request_id, self.count = worker, request_id, count
        self.limit, self.started, self.received = limit, started, 0
        self.open, self.draining = True, False
        self.reads: list[int] = []  # reads asked of each call (Note [Reads folded into a call])
        self.state: int | None = None  # a `train` request's training (Note [Training mirrored ...])

    def __iter__(self) -> "Stream":
        return self

    def __next__(self) -> CallResult:
        if self.received >= self.count or not self.open:
            self._end()
            raise StopIteration
        worker, part = self.worker, self.received
        self.received += 1
        try:
            if part and not self.draining:
                worker._within_budget()  # where a request of its own would have been refused
            reply = worker._receive(self.request_id, part, self.limit, self.started)
        except BaseException:
            self._end()  # the worker stops after a call that raised; any other failure stopped it
            raise
        self.started = time.monotonic()  # when the worker began the next call
        if self.received >= self.count:
            self._end()
        if type(reply.get("state")) is int:
            self.state = reply["state"]
        try:
            return worker._call_result(reply, self.reads[part] if part < len(self.reads) else 0)
        except BaseException:  # a malformed reply stopped the worker (Note [A call's reply is
            self._end()        # checked before it is used]): nothing is left to drain
            raise

    def _end(self) -> None:
        self.open = False
        if getattr(self.worker, "_stream", None) is self:
            self.worker._stream = None

    def close(self) -> None:
        """Read and drop the replies not yet read, each within DRAIN_LIMIT_S of the one before;
        a failure among them (a call still running then included) only stops the worker."""
        self.draining = True
        self.limit = min(self.limit, DRAIN_LIMIT_S)
        while self.open:
            try:
                next(self)
            except StopIteration:
                break
            except WorkerFailure:
                break

    def __enter__(self) -> "Stream":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Worker:
    """One confined worker for one submission; restarts itself after a crash or timeout."""

    start_kind = "cold"  # a fresh interpreter per start; "warm": forked (grader/worker/warm.py)

    def __init__(self, submission: Path, *, limits: sandbox.Limits | None = None,
                 python: str | None = None, sandbox_mode: str | None = None,
                 sys_paths: tuple[str, ...] = ("",), device: Device = CPU,
                 restore_numpy: bool = True) -> None:
        self.submission = Path(submission).resolve()
        # Note [NumPy names restored] in numpy_compat.py; False: NumPy as it is (`restore_numpy`)
        self.restore_numpy = restore_numpy
        self.limits = limits or sandbox.Limits()
        self.python = launch.worker_python(python)
        self.sandbox_mode = launch.sandbox_mode(sandbox_mode)
        self.sys_paths = sys_paths  # relative to the submission as the worker sees it
        self.device = device  # Note [Same numbers on a GPU] in grader/worker/devices.py
        self.process: subprocess.Popen | None = None
        self._launched: launch.Launched | None = None  # launched, not yet attached
        self.info: dict = {}
        self.isolation: dict = {}  # Note [Sandbox views] in grader/worker/sandbox.py
        self.tree: cgroup.TreeCgroup | None = None  # Note [Memory per submission] in grader/worker/cgroup.py
        self.mode = ""
        self.notes: list[str] = []
        self.starts = 0
        self._next_id = 0
        # Note [Time budget]: time.monotonic() after which no request is sent; None: no budget.
        self.deadline: float | None = None
        self.budget_s = 0.0
        self.refused = 0  # requests refused because the budget was spent
        self._stream: Stream | None = None  # a `calls` request with replies not yet read

    # -- lifecycle -------------------------------------------------------------
    def start(self) -> None:
        self._launch()
        self.wait_started()

    # Note [Early start]
    # A cold worker takes 0.1-0.2 s to start (bubblewrap, Python, numpy) while the judge has
    # work of its own before the first check runs (importing pytest, collecting the checks).
    # `launch` starts the process and returns at once; `wait_started` (or the first request)
    # does the handshake.  Nothing about the worker changes: the same plan, limits and
    # sandbox, and a failed handshake is the same WorkerFailure as from `start`.  `grade check`
    # starts the process earlier still, before the judge imports numpy, and the Worker adopts
    # it (Note [Worker before numpy] in grader/worker/launch.py).
    def launch(self) -> None:
        """Start the worker's process without waiting for it (Note [Early start])."""
        if type(self).start is not Worker.start:  # a subclass that starts its own way (warm.py)
            self.start()
        else:
            self._launch()

    def _launch(self) -> None:
        self.close()
        self.adopt(launch.start(self.submission, self.limits, self.python, self.sandbox_mode,
                                self.device))

    def adopt(self, launched: launch.Launched) -> None:
        """Take over a process `launch.start` started for this worker, as if `launch` had
        started it (Note [Worker before numpy] in grader/worker/launch.py)."""
        self.close()
        self.scratch = launched.scratch
        self.mode, self.notes, self.isolation = launched.mode, launched.notes, launched.isolation
        self.unprivileged = launched.unprivileged
        self.tree = launched.tree
        self.process = launched.process
        self._launched = launched

    def wait_started(self) -> None:
        """Finish the start `launch` began: the handshake (Note [Early start])."""
        launched, self._launched = self._launched, None
        if launched is not None:
            self._attach(launched.request_w, launched.reply_r, launched.output_r,
                         launched.submission_path)

    def _attach(self, request_w: int, reply_r: int, output_r: int, submission_path: str) -> None:
        """Talk to a just-started worker (cold, or forked by a zygote: grader/worker/warm.py)."""
        self._request_fd, self._reply_fd = request_w, reply_r
        for fd in (request_w, reply_r):  # Note [Pipe size]
            try:
                fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
            except (AttributeError, OSError):
                pass  # not Linux, or above this user's pipe allowance: the default size
        self._pending = bytearray()  # Note [Read ahead]
        os.set_blocking(request_w, False)  # see _write_all
        self._output = _OutputTail(output_r, self.limits.output_bytes)
        self._output.start()
        self.starts += 1
        self.submission_path = submission_path
        self.info = self.request("hello", timeout=60,  # restores NumPy's names unless told not to
                                 **({} if self.restore_numpy else {"restore_numpy": False}))
        paths = [os.path.join(submission_path, p) if p else submission_path
                 for p in self.sys_paths]
        self.request("path", paths=paths, timeout=10)

    def close(self) -> None:
        stream, self._stream = getattr(self, "_stream", None), None
        if stream is not None:  # its replies went with the process
            stream.open = False
        process, self.process = self.process, None
        launched, self._launched = self._launched, None
        if process is None:
            return
        if launched is not None:  # launched, never attached: its pipes are not ours yet
            self.tree = None  # the launch's own, which `abandon` removes
            launched.abandon()
            return
        for fd in (self._request_fd, self._reply_fd):
            try:
                os.close(fd)
            except OSError:
                pass
        launch.kill_tree(process)
        self._remove_tree()
        self._output.join(timeout=2)
        shutil.rmtree(self.scratch, ignore_errors=True)

    def _remove_tree(self) -> None:
        """Kill whatever is left in the worker's cgroup and remove it (Note [Memory per submission])."""
        tree, self.tree = self.tree, None
        if tree is not None:
            tree.remove()

    def _memory_exceeded(self) -> bool:
        """Whether the cgroup's out-of-memory killer struck a process of the tree since the
        last request (Note [Memory per submission] in grader/worker/cgroup.py)."""
        return self.tree is not None and self.tree.new_oom_kill()

    def _held_at_memory_limit(self) -> str:
        """What a timeout's message adds when the tree's memory sits at its limit, else "" (Note
        [Held at the memory limit] in grader/worker/cgroup.py)."""
        held = self.tree.held_at_limit() if self.tree is not None else None
        if held is None:
            return ""
        used, limit = held
        return (f", while the submission's processes were at their memory limit ({used >> 20:,} of "
                f"{limit >> 20:,} MiB in use; code held at its memory limit can stall there while "
                f"memory is reclaimed, instead of failing)")

    def _memory_message(self) -> str:
        return (f"the submission's processes together exceeded the memory limit of "
                f"{self.limits.memory_bytes >> 20} MiB (shared memory included); the out-of-memory "
                f"killer stopped them")

    def __enter__(self) -> "Worker":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    # -- requests --------------------------------------------------------------
    # Note [Request cost]
    # A request is a round trip between two processes, each of which wakes up with cold
    # caches: measured on a shared 2-core machine (issue 17, benchmarks/request_cost.py), a
    # `hello` took 140-215 us and a call of a small affine forward 400-440 us, of which the
    # pipe itself is some 30 us; the rest is Python on both sides (encoding, decoding, the
    # worker's copy of the inputs to notice writes into them, converting the result).  So:
    # - fewer round trips first: a model's parameters in one request (Note [Batched sets]),
    #   folded into the call that follows (Note [Sets folded into a call]), a check's calls
    #   streamed in one request (Note [Streamed calls]), library objects made once per worker
    #   (Note [Worker constants] in grader/checks/student.py); a `grade check` of the solution
    #   went from 383 requests to 210 (fc_nets), 205 to 167 (batchnorm), 321 to 243 (dropout)
    #   and 291 to 200 (cnn), with every verdict and message of the selftest fixtures the same;
    #   then a model's construction, its seeding and the read of its `params` in one request
    #   (Note [Reads folded into a call]), a module's import and description in one (Note
    #   [Import and describe]), and a check's networks built and asked together (Note [A
    #   check's models made together] in assignments/fc_nets/checks.py, Note [Nets of a check
    #   together] in assignments/batchnorm/checks.py): 118 (fc_nets) and 96 (batchnorm), every
    #   verdict, message and cause of their selftest fixtures the same;
    # - then each one cheaper, with every check kept: the cgroup's out-of-memory count, read
    #   after every reply (Note [Memory per submission] in cgroup.py), is read from a descriptor kept open
    #   (1 us, not 15); npy headers are remembered on both sides (wire.py, Note [Header memo]);
    #   a request is written at once and `select` is asked only when the pipe is full.  The
    #   same `hello` then took 80-117 us, the affine call 284-295 us, and each call of a
    #   stream 114-207 us.
    # - then (issue 17, fourth round) the machinery around each request: the liveness asked
    #   of a warm worker's pidfd, not its zygote (Note [Liveness without the zygote] in
    #   warm.py), 1 MiB pipes (Note [Pipe size]), requests encoded in one walk and frames
    #   written in parts (Note [One pass to encode], Note [Frames in parts], Note [Leaves
    #   first] in wire.py), and the judge's reference work done while the worker computes
    #   (Note [Judge works while the worker computes] in grader/checks/student.py): graded
    #   alternately with main (52 submissions each, load 4.4-5), a warm fc_nets submission
    #   took 438 ms instead of 570 (median; paired ratio 0.78).
    # - then (issue 17, fifth round) the overfitting checks' 40 training steps, one round trip
    #   and a network's parameters each way per step, became `train` requests (Note [Training
    #   mirrored in the worker] in runtime.py, Note [Training in few requests] in
    #   grader/checks/student.py): 41 requests and 5.6 MB out per fc_nets submission became 5
    #   and 0.16 MB; with fc_nets's initialisation cases streamed together and cnn's
    #   `params` read with the model, a `grade check` of the solution makes 77 requests instead
    #   of 117 (fc_nets) and 53 instead of 62 (cnn), every selftest verdict the same.
    # - then (issue 17, sixth round) more round trips folded, every selftest verdict and message
    #   the same: a model check's networks built and asked in one request (Note [Models built
    #   and asked together] in assignments/fc_nets/checks.py, the worker putting the judge's
    #   values in the shapes the model holds: Note [Sets in the student's shape] in
    #   runtime.py), a wrong gradient's notes in one request per check (Note [Directional notes
    #   in one request] there), cnn's model built and asked in one request (Note [Built and
    #   asked in one request] in grader/checks/student.py), Adam's probe in its check's
    #   request, constants made together, batchnorm's speed runs in one request: a `grade
    #   check` of the solution makes 63 requests instead of 79 (fc_nets), 90 instead of 96
    #   (batchnorm), 80 instead of 93 (dropout), 44 instead of 50 (cnn), and an fc_nets
    #   submission of benchmarks/overhead.py's class 67 instead of 114.
    # - then (issue 17, seventh round) what comes back: dropout_forward's cache, as large as its
    #   input and never read by the judge (dropout_backward takes it by handle), stays in the
    #   worker (Note [Items of a result] in runtime.py): a dropout `grade check` of the solution
    #   reads 8.0 MB of replies instead of 14.1, in the same 80 requests.
    # The limits stay as they were: every reply is still read under its deadline, sized,
    # decoded strictly and matched to its request, the memory check runs after each reply,
    # and the worker still copies and compares every input.
    def request(self, op: str, *, timeout: float | None = None, **fields) -> dict:
        """Send one request and wait for its reply; raise a WorkerFailure on any trouble."""
        request_id, limit, sent = self._send(op, timeout, fields)
        return self._receive(request_id, None, limit, sent)

    def _send(self, op: str, timeout: float | None, fields: dict) -> tuple[int, float, float]:
        """Send a request: (its id, its time limit, when it was sent)."""
        self._finish_stream()  # Note [Streamed calls]
        self._within_budget()
        if self._launched is not None:  # Note [Early start]
            self.wait_started()
        if not self.alive:
            self.start()
            self._within_budget()
        self._next_id += 1
        request_id = self._next_id
        message = {"op": op, "id": request_id, **fields}
        limit = timeout or self.limits.call_timeout_s
        now = time.monotonic()
        deadline = now + self._limit(limit, now)
        try:
            self._write_all(wire.encode_parts(message, _MARKERS), deadline,
                            self._limit(limit, now))
        except (BrokenPipeError, OSError):
            raise self._crashed("before the request could be sent") from None
        return request_id, limit, now

    def _limit(self, limit: float, now: float) -> float:
        """`limit`, cut to what is left of the budget (Note [Time budget])."""
        if self.deadline is not None and self.deadline - now < limit:
            return max(0.001, self.deadline - now)
        return limit

    def _receive(self, request_id: int, part: int | None, limit: float, started: float) -> dict:
        """The reply to `request_id` (part `part` of a `calls` request), which the worker began
        working on at `started`: it must arrive within `limit` of then."""
        limit = self._limit(limit, started)
        deadline = started + limit
        try:
            frame = wire.read_frame(lambda n: self._read_exact(n, deadline, limit),
                                    self.limits.reply_bytes)
            reply = wire.decode(frame, self.limits.reply_bytes)
        except wire.WireError as exc:
            self.close()
            raise ProtocolError(f"the worker sent a malformed reply ({exc}); it was stopped") from None
        if self._memory_exceeded():  # a process of the tree was killed: the whole tree goes
            output = self._output.take()
            self.close()
            raise WorkerCrashed(f"the worker was stopped: {self._memory_message()}"
                                + (f"\n{output}" if output else ""))
        if not isinstance(reply, dict) or reply.get("id") != request_id or reply.get("part") != part:
            self.close()
            raise ProtocolError("the worker's reply did not match the request; it was stopped")
        if not reply.get("ok"):
            raise _student_error(reply.get("error"))
        return reply

    # Note [Streamed calls]
    # A check asks the same function on several samples (a forward check's five samples, an
    # update rule's cases), or a chain of calls where each takes an earlier result (forward,
    # then backward on its cache; `steps` handing each config to the next call): one round
    # trip each.  `calls` sends them in one request and the worker answers with one reply
    # frame per call, in order, as each call ends, stopping after the first that raises.  The
    # judge reads the replies one at a time, exactly as it read separate replies:
    # - each call keeps its own time limit: the limit of call i runs from the moment the
    #   reply of call i-1 arrived (when the worker began call i), not from when the judge
    #   asks for it, so no call gets more time than a request of its own; once the time
    #   budget is spent, reading call i is refused as its own request would have been (Note
    #   [Time budget]); a timeout, crash,
    #   memory kill or malformed reply is the failure of that call, and the worker is stopped;
    # - a later call refers to an earlier one's result as `Part(i)` (`.item(k)`, `.attr(n)`),
    #   which the worker resolves to that result's handle;
    # - every reply is checked as a single reply is (its id, its part number, its size, plain
    #   data only): a worker that sends a part twice, skips one or answers another request
    #   is stopped with a ProtocolError.
    # The one difference: the worker does not wait for the judge's verdict on call i before
    # running call i+1.  Where a check stops at call i (its output was wrong), the calls after
    # it still ran; `Stream.close` (and any next request) reads their replies and drops them,
    # and a timeout or crash among them only stops the worker: it is not the failure of any
    # check and is not remembered against the function (Note [Fail fast] in
    # grader/checks/student.py), so the verdict of this check and the list of functions
    # refused later are those of separate requests.  A call no check asked for gets at most
    # DRAIN_LIMIT_S (then the worker is stopped and the next request starts a fresh one), so
    # a wrong answer followed by an endless loop costs seconds, not a call's limit, of the
    # submission's time budget.  Those extra calls run only after a wrong answer, and only
    # the student's own code can tell them apart (its global state, its draws from an
    # unseeded generator); a correct submission makes exactly the calls it made before, in
    # the same order.  Output printed by call i+1 may be shown with call i's.
    def stream(self, calls: list[tuple], timeout: float | None = None) -> "Stream":
        """Send `calls`, each (target, args, kwargs) or (target, args, kwargs, options), in one
        request; iterate the Stream for each call's CallResult (Note [Streamed calls]).
        `options` may hold "sets", [(Ref, value), ...] made first (Note [Sets folded into a
        call]), "reads", [Ref, ...] read after (Note [Reads folded into a call]), and
        "watch_inputs" (False: as `call_ref`'s)."""
        options = [call[3] if len(call) > 3 else {} for call in calls]
        fields = {"calls": [{"target": call[0], "args": list(call[1]), "kwargs": call[2],
                             **_call_options(option.get("sets"), option.get("reads"),
                                             option.get("watch_inputs", True))}
                            for call, option in zip(calls, options)]}
        request_id, limit, sent = self._send("calls", timeout, fields)
        stream = Stream(self, request_id, len(calls), limit, sent)
        stream.reads = [len(option.get("reads") or ()) for option in options]
        self._stream = stream
        return stream

    def train(self, ref: Ref, method: str, batches: list, *, state: int | None = None,
              owner: Ref | None = None, params: dict | None = None, X=None, y=None,
              learning_rate: float = 0.0, timeout: float | None = None) -> "Stream":
        """SGD steps of `ref.method(X[batch], y[batch])` for each batch, the worker holding a
        mirror of the judge's parameters (Note [Training mirrored in the worker] in
        grader/worker/runtime.py): a new training from `params` (installed into the dict at
        `owner`), `X`, `y` and `learning_rate`, or the one the Stream of an earlier request
        named (`state`).  Iterate the Stream for each step's CallResult, as a `calls`
        request's (Note [Streamed calls]); its `state` names the training once a reply came."""
        fields: dict = {"target": {"ref": ref.wire()["__ref__"], "attrs": [method]},
                        "batches": list(batches)}
        if state is not None:
            fields["state"] = state
        else:
            fields.update(owner=owner.wire()["__ref__"], params=params, X=X, y=y,
                          learning_rate=float(learning_rate))
        request_id, limit, sent = self._send("train", timeout, fields)
        stream = Stream(self, request_id, len(fields["batches"]), limit, sent)
        stream.state = state
        self._stream = stream
        return stream

    def _finish_stream(self) -> None:
        """Read and drop what is left of an open stream (Note [Streamed calls])."""
        stream = getattr(self, "_stream", None)
        if stream is not None:
            stream.close()

    def start_budget(self, seconds: float, started: float | None = None) -> None:
        """Refuse requests once `seconds` have passed since `started` (time.monotonic())."""
        self.budget_s = float(seconds)
        self.deadline = (started if started is not None else time.monotonic()) + self.budget_s

    def _within_budget(self) -> None:
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self.refused += 1
            self.close()
            raise BudgetSpent(f"the submission's time budget of {self.budget_s:g} s was spent "
                              f"before this check could run; it was not run")

    def _write_all(self, parts: list, deadline: float, limit: float) -> None:
        """Send a request, the buffers of `wire.encode_parts` (Note [Frames in parts] in
        wire.py), without ever blocking past the deadline (a stopped or stuck worker that does
        not read must not hang the judge; the pipe is non-blocking)."""
        # The pipe is asked whether it has room only when a write would block (Note [Request
        # cost]): a request almost always fits in the empty pipe at once (Note [Pipe size]).
        ready = [False]

        def write(buffers) -> int:
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or ready[0] is None \
                        and not select.select([], [self._request_fd], [], left)[1]:
                    held = self._held_at_memory_limit()  # read before close removes the cgroup
                    self.close()
                    failure = BudgetSpent if self._budget_cut() else WorkerTimeout
                    raise failure(f"the worker did not accept the request within the time "
                                  f"limit of {limit:g} s{held}; it was stopped")
                try:
                    written = os.writev(self._request_fd, buffers)
                except BlockingIOError:
                    ready[0] = None  # full: wait for room before the next try
                    continue
                ready[0] = False
                return written

        wire.write_parts(write, parts)

    def _read_exact(self, n: int, deadline: float, limit: float) -> bytearray:
        # Note [Read ahead]: a frame's parts are taken from what one read brought, so a reply
        # costs one select and one read, not two per part.  What a reply brings beyond its own
        # frame waits here for the next request, as it would have waited in the pipe, and goes
        # with the worker that sent it: a restarted worker starts with nothing pending.
        pending = self._pending
        if n - len(pending) >= READ_INTO_BYTES:  # Note [Large parts read in place]
            return self._read_into(n, deadline, limit)
        while len(pending) < n:
            self._wait_readable(deadline, limit)
            chunk = os.read(self._reply_fd, max(n - len(pending), 1 << 16))
            if not chunk:
                raise self._crashed("while handling the request")
            pending += chunk
        data = pending[:n]  # Note [Large parts read in place]: one copy, not two
        del pending[:n]
        return data

    # Note [Large parts read in place]
    # A reply's large arrays (a network's gradients, 129 KB at each of the overfitting check's
    # training steps; a model's parameters read after it was built: 6.3 MB of replies in a
    # correct fc_nets `grade check`) were copied four times on their way from the pipe to
    # `read_frame`: the read's chunk, appended to the pending bytes, sliced from them, and the
    # slice made bytes; each a fresh allocation of the part's size, whose pages were faulted
    # in anew.  A part that needs READ_INTO_BYTES or more beyond what is pending is read from
    # the pipe straight into one buffer of its exact size (`os.readv`, as many times as the
    # pipe needs), what was pending copied to its start; nothing beyond the part is read, so
    # nothing is left pending.  A smaller part is sliced from the pending bytes once (a
    # bytearray; `read_frame` joins the parts as it did).  The bytes are the same, each read
    # still waits under the request's deadline (`_wait_readable`, which fails the request as
    # before), an end of the pipe is still the worker's crash, and `read_frame` still checks
    # every length against the reply's cap before asking for that many bytes.  Measured on the
    # 244 replies of a correct fc_nets `grade check` replayed through `_receive` (CPU, median
    # of 15, load 4-6): 12.7 -> 10.2 ms.
    def _read_into(self, n: int, deadline: float, limit: float) -> bytearray:
        """The next `n` bytes of the reply pipe, read into one buffer (Note [Large parts read in
        place])."""
        pending = self._pending
        buffer = bytearray(n)
        view = memoryview(buffer)
        filled = len(pending)
        view[:filled] = pending
        pending.clear()
        while filled < n:
            self._wait_readable(deadline, limit)
            got = os.readv(self._reply_fd, [view[filled:]])
            if not got:
                raise self._crashed("while handling the request")
            filled += got
        view.release()
        return buffer

    def _wait_readable(self, deadline: float, limit: float) -> None:
        """Return once the reply pipe can be read; past the deadline, stop the worker and raise
        the request's failure (a memory kill, the budget spent, or the time limit)."""
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([self._reply_fd], [], [], left)[0]:
            output = self._output.take()
            memory = self._memory_exceeded()  # e.g. waiting for a child the limit killed
            held = self._held_at_memory_limit()  # read before close removes the cgroup
            self.close()
            if memory:
                raise WorkerCrashed(f"the worker was stopped: {self._memory_message()}"
                                    + (f"\n{output}" if output else ""))
            if self._budget_cut():
                raise BudgetSpent(f"no reply within {limit:.1f} s, what was left of the submission's "
                                  f"time budget of {self.budget_s:g} s{held}; the worker was stopped"
                                  + (f"\n{output}" if output else ""))
            raise WorkerTimeout(f"no reply within the time limit of {limit:g} s{held}; the worker "
                                f"was stopped" + (f"\n{output}" if output else ""))

    def _budget_cut(self) -> bool:
        """Whether the request now timing out was cut short by the budget (Note [Time budget])."""
        return self.deadline is not None and time.monotonic() >= self.deadline - 0.01

    def _crashed(self, when: str) -> WorkerCrashed:
        process = self.process
        code = None
        if process is not None:
            try:
                code = process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                code = None
        output = self._output.take() if process is not None else ""
        memory = self._memory_exceeded()
        self.close()
        if code is not None and code > 128 and self.mode == "bwrap":
            code = 128 - code  # bwrap, as PID 1, reports a signal N as exit status 128 + N
        why = self._memory_message() if memory else describe_exit(code)
        return WorkerCrashed(f"the worker process ended {when} ({why})"
                             + (f"\n{output}" if output else ""))

    # -- conveniences ----------------------------------------------------------
    def call(self, module: str, attrs: str | list[str], *args, timeout: float | None = None,
             return_args: bool = False, reads: list[Ref] | None = None,
             value_items: list[int] | None = None, **kwargs) -> CallResult:
        """Call `module.attr(*args, **kwargs)` in the worker (attrs may be a dotted path);
        `reads`, values read after it in the same request (Note [Reads folded into a call]);
        `value_items`, the only items of a returned tuple or list sent back (Note [Items of a
        result] in grader/worker/runtime.py)."""
        target = {"module": module, "attrs": attrs.split(".") if isinstance(attrs, str) else attrs}
        return self._call(target, args, kwargs, timeout, return_args, reads=reads,
                          value_items=value_items)

    def call_ref(self, ref: Ref, method: str | None, *args, timeout: float | None = None,
                 return_args: bool = False, sets: list[tuple[Ref, object]] | None = None,
                 reads: list[Ref] | None = None, watch_inputs: bool = True,
                 **kwargs) -> CallResult:
        """Call a method of (or, with method None, the object at) a Ref; `sets`, assignments
        made first in the same request (Note [Sets folded into a call]); `reads`, values read
        after it (Note [Reads folded into a call]); `watch_inputs=False`: the reply's
        `mutated` is not wanted, so the worker does not copy the inputs to find it."""
        target = {"ref": ref.wire()["__ref__"], "attrs": [method] if method else []}
        return self._call(target, args, kwargs, timeout, return_args, sets, reads, watch_inputs)

    # Note [Sets folded into a call]
    # A check that installs parameters and then asks for the loss (`model.params[...] = ...`
    # for each, then `model.loss(X, y)`: every training step of a judged overfit, every model
    # check) paid two round trips for one question.  `call_ref(..., sets=[(ref, value), ...])`
    # sends the assignments with the call: the worker makes them in order, exactly as
    # `set_many` does (Note [Batched sets]), and only then resolves and calls the target, so
    # the call sees what it saw after the separate requests.  A set that raises ends the
    # request before the call, and its StudentError carries its `index` (>= 0), as from
    # `set_many`; an exception of the call itself carries -1 (the student's code could fake an
    # index on its exception, which only changes which failure message a failure gets).  The
    # request has the call's one time limit, the assignments counted in it: a plain
    # `__setitem__` costs microseconds, so this never takes time from a call that did not
    # already spend it in the assignments, and it gives no request more time than before.  A
    # crash or a timeout in the folded request cannot be told apart between the sets and the
    # call, and is reported as the call's (Note [Fail fast] then refuses that method in later
    # checks, where the separate requests would have crashed again in the same assignment):
    # the same check fails either way, with the same cause.
    def _call(self, target, args, kwargs, timeout, return_args, sets=None, reads=None,
              watch_inputs=True, value_items=None) -> CallResult:
        reply = self.request("call", target=target, args=list(args), kwargs=kwargs,
                             return_args=return_args, timeout=timeout,
                             **_call_options(sets, reads, watch_inputs),
                             **({"value_items": list(value_items)} if value_items is not None else {}))
        return self._call_result(reply, len(reads or ()))

    # Note [Reads folded into a call]
    # A check that builds a model and then reads what the constructor made (`model.params`:
    # the initialisation checks judge it; every check that installs parameters reads the
    # shapes the student keeps them in, Note [Singleton axes] in grader/checks/compare.py)
    # paid a `get` round trip after the call: 43 of the 210 requests of an fc_nets `grade
    # check`.  `call(..., reads=[ref, ...])` asks for them in the call's own request: once the
    # call has returned and its reply's fields are made, the worker reads each ref in order
    # and converts it as `get` does (`RESULT`, handle 0, stands for the call's own result), so
    # they see what a `get` sent right after the reply saw, with no student code in between.
    # A read that raises is answered as that `get`'s StudentError (`CallResult.read` raises
    # it) and does not fail the call; a call that raises makes no reads, as no `get` followed
    # it.  The reads share the call's time limit: a plain attribute costs microseconds, and a
    # read that crashes or hangs (a hostile `params` property) is reported as the call's
    # crash or timeout, held against the function by Note [Fail fast] as a crash in the call
    # itself would be; before, the separate `get` failed the same check with the same cause.
    # Note [A call's reply is checked before it is used]
    # A call's reply names the object it made (`handle`) and how long the call took
    # (`seconds`): fields the worker's runtime writes, after the student's code has run in the
    # same process and could have replaced the runtime's functions (`op_call`, `_answer`).  A
    # reply whose handle is not an int or whose time is not a number (a string, a list, none
    # at all) used to reach `int()` and `float()` here and fail the check as an internal
    # grader error, "not your fault: please tell the course staff", on every call of the
    # submission.  It is a malformed reply: the worker is stopped and the call fails as a
    # protocol error (`crashed`), as a forged frame does; so is a read's reply without its
    # value (`get`), and a description without its members describes nothing.
    def _call_result(self, reply: dict, reads: int = 0) -> CallResult:
        handle, seconds = reply.get("handle"), reply.get("seconds", 0.0)
        if type(handle) is not int or type(seconds) not in (int, float):
            self.close()
            raise ProtocolError("the worker's reply to a call carried no valid handle or time "
                                "(the submission changed the worker's own code?); it was stopped")
        mutated = reply.get("mutated") if isinstance(reply.get("mutated"), list) else []
        values = []
        if reads:
            answered = reply.get("reads")
            if not isinstance(answered, list) or len(answered) != reads \
                    or not all(isinstance(a, dict) for a in answered):
                self.close()
                raise ProtocolError("the worker's reply did not carry the reads asked for; it was "
                                    "stopped")
            values = [_student_error(a.get("error")) if "error" in a else unmark(a.get("value"))
                      for a in answered]
        return CallResult(unmark(reply.get("value")), Ref(handle), float(seconds),
                          [clip(m, MAX_NAME) for m in mutated[:100]],
                          unmark(reply.get("args_after")), unmark(reply.get("kwargs_after")),
                          self._output.take(), values)

    def get(self, ref: Ref, timeout: float | None = None):
        reply = self.request("get", ref=ref.wire()["__ref__"], timeout=timeout)
        if "value" not in reply:  # Note [A call's reply is checked before it is used]
            self.close()
            raise ProtocolError("the worker's reply to a read carried no value; it was stopped")
        return unmark(reply["value"])

    def set(self, ref: Ref, value, timeout: float | None = None) -> None:
        self.request("set", ref=ref.wire()["__ref__"], value=value, timeout=timeout)

    # Note [Batched sets]
    # A check that installs a model's parameters (`model.params[name] = value` for each, as
    # the Solver does; Note [Judge holds the state] in grader/checks/trust.py) did one
    # request per parameter: 400 of the 550 requests of an fc_nets `grade check`.  `set_many`
    # sends them in one request; the worker makes the assignments in order, as the separate
    # requests did, and the first that raises ends it, its StudentError's `index` saying
    # which one (the ones before it were made, as before).
    def set_many(self, items: list[tuple[Ref, object]], timeout: float | None = None) -> None:
        if items:
            self.request("set", items=[[ref.wire()["__ref__"], value] for ref, value in items],
                         timeout=timeout)

    # Note [Import and describe]
    # Every module a check needs was imported and then described (its public callables and
    # their signatures, for names and adapters): two round trips per module, ten per fc_nets
    # submission.  `import_module(..., describe=True)` asks for both in one request: the worker
    # imports the module and, once that returned, describes it exactly as `describe` would,
    # under the import's time limit (an import's limit is the larger where it differs: a
    # notebook's modules).  An exception in either is the request's StudentError, as either
    # request's was, and the judge reports both the same way (an import failure).
    def import_module(self, module: str, timeout: float | None = None,
                      describe: bool = False) -> dict:
        """Import `module` in the worker; with `describe`, the reply's "members" are what
        `describe` returns (Note [Import and describe])."""
        reply = self.request("import", module=module, timeout=timeout,
                             **({"describe": True} if describe else {}))
        if describe:
            reply["members"] = _members(reply.get("members"))
        return reply

    def describe(self, module: str, timeout: float | None = None) -> dict[str, str]:
        reply = self.request("describe", target={"module": module}, timeout=timeout)
        return _members(reply.get("members"))

    def take_output(self) -> str:
        return self._output.take() if self.process is not None else ""


def _call_options(sets, reads, watch_inputs: bool) -> dict:
    """A call's optional request fields, for `call`/`call_ref` and each call of a stream: its
    folded sets (Note [Sets folded into a call]), reads (Note [Reads folded into a call]) and
    `watch_inputs` (only when False, the worker's default being True)."""
    fields: dict = {}
    if sets:  # (ref, value), or (ref, value, "like"): Note [Sets in the student's shape]
        fields["sets"] = [[_ref_wire(item[0]), *item[1:]] for item in sets]
    if reads:
        fields["reads"] = [ref.wire()["__ref__"] for ref in reads]
    if watch_inputs is False:
        fields["watch_inputs"] = False
    return fields


def _ref_wire(ref: "Ref | Part"):
    """A ref in an assignment: [handle, step...] for a Ref, {"__part__": [...]} for a Part of
    the same stream, which the worker resolves to that call's result (Note [Streamed calls])."""
    return ref.wire()["__ref__"] if isinstance(ref, Ref) else ref.wire()


def _members(members) -> dict[str, str]:
    # A name longer than MAX_NAME is no course name; signatures are shown in messages.
    return {name: clip(signature, 1_000) for name, signature in members.items()
            if len(name) <= MAX_NAME} if isinstance(members, dict) else {}


def describe_exit(code: int | None) -> str:
    if code is None:
        return "still running, killed"
    if code < 0:
        import signal
        name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
        hint = {"SIGKILL": "killed: memory or CPU limit, or the grader stopped it",
                "SIGSEGV": "segmentation fault: a crash in native code, or recursion too deep",
                "SIGXCPU": "CPU time limit exceeded", "SIGXFSZ": "file size limit exceeded"}
        return f"signal {name}" + (f": {hint[name].split(': ', 1)[-1]}" if name in hint else "")
    return f"exit status {code}"
