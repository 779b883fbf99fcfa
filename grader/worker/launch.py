"""Start a cold worker's process: its scratch folder, sandbox plan, cgroup, pipes and process.

Why a module of its own: `grade check` starts the worker before the judge imports numpy
(Note [Worker before numpy]), and the judge's client for the worker (client.py) needs numpy
for the wire format; starting the process needs neither numpy nor the wire.  `Worker` in
client.py starts its processes with `start` and takes them over with `Worker.adopt`.

# Note [Worker before numpy]
A cold worker takes a Python and numpy start of its own (bubblewrap, the interpreter, numpy,
the runtime: 0.1-0.2 s on a quiet machine, 0.2-0.5 s on a loaded one; what it runs and skips:
Note [Worker start] in grader/worker/start.py; benchmarks/worker_start_ab.py times it), and so
does the judge, whose numpy import used to come before the worker was launched: on a loaded
machine the judge then waited 0.1-0.3 s for the worker's first reply, after all its own start-up.
`grade check` now stages the submission and calls `start` with nothing imported but the
standard library and the grader's numpy-free modules (the manifest, staging, the
sandbox plan, the cgroup); numpy, the checks and pytest are imported while the worker starts
(grader/scoring/pipeline.py `Grading`, Note [Manifest before checks] in
grader/scoring/assignment.py).  The process is the one `Worker` always started: the same plan,
limits, cgroup and sandbox, the same pipes on the same descriptors; `Worker.adopt` takes it
over as if `Worker.launch` had started it, and the handshake is the first thing said on it
(Note [Early start] in client.py).  A process started and never adopted is ended by
`Launched.abandon`: killed with its tree, its cgroup and scratch folder removed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from . import cgroup, sandbox
from .devices import Device


def worker_python(python: str | None) -> str:
    """The interpreter a worker runs under: `python`, else the judge's own."""
    return python or sys.executable


def sandbox_mode(mode: str | None) -> str:
    """How a worker is confined: `mode`, else GRADER_SANDBOX=rlimits|bwrap|auto for a whole run."""
    return mode or os.environ.get("GRADER_SANDBOX", "auto")


@dataclass
class Launched:
    """A worker process started and not yet talked to: what `Worker.adopt` takes over."""
    process: subprocess.Popen
    request_w: int       # the judge's ends of the request, reply and output pipes
    reply_r: int
    output_r: int
    submission_path: str  # the submission as the worker sees it
    scratch: Path
    mode: str
    notes: list[str] = field(default_factory=list)
    isolation: dict = field(default_factory=dict)
    unprivileged: bool = True
    tree: cgroup.TreeCgroup | None = None

    def abandon(self) -> None:
        """End a process never adopted: its pipes closed, its tree killed, its cgroup and
        scratch folder removed (Note [Worker before numpy])."""
        for fd in (self.request_w, self.reply_r, self.output_r):
            try:
                os.close(fd)
            except OSError:
                pass
        kill_tree(self.process)
        tree, self.tree = self.tree, None
        if tree is not None:
            tree.remove()
        shutil.rmtree(self.scratch, ignore_errors=True)


def start(submission: Path, limits: sandbox.Limits, python: str, mode: str,
          device: Device) -> Launched:
    """Start the worker runtime confined, with `submission` visible; not waited for."""
    scratch = Path(tempfile.mkdtemp(prefix="grader-scratch-"))
    tree = None
    try:
        env = {**device.worker_env(), **cgroup.thread_pool_env(limits.cpus)}  # Note [Thread
        # pools under a CPU quota] in grader/worker/cgroup.py
        plan = sandbox.plan(python, submission, scratch, mode, env,
                            gpu=device.kind == "cuda", scratch_bytes=limits.scratch_bytes)
        if plan.drop_to_uid is not None:
            os.chown(scratch, plan.drop_to_uid, plan.drop_to_uid)
        isolation = dict(plan.isolation)
        unprivileged = plan.drop_to_uid is not None or os.geteuid() != 0
        gpu = device.kind == "cuda"
        tree, _ = cgroup.make(limits.memory_bytes, limits.processes, limits.cpus)
        isolation.update(sandbox.limits_in_force(limits, gpu, tree, unprivileged))
        request_r, request_w = os.pipe()
        reply_r, reply_w = os.pipe()
        output_r, output_w = os.pipe()
        # The child gets the request pipe on fd 3 and the reply pipe on fd 4.
        child_fds = {3: request_r, 4: reply_w}

        def preexec() -> None:
            for target, source in child_fds.items():
                os.dup2(source, target)
                os.set_inheritable(target, True)
            sandbox.make_preexec(limits, gpu, tree)()

        argv, args_fd = plan.launch()  # Note [Sandbox views] in grader/worker/sandbox.py
        try:
            process = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=output_w, stderr=output_w,
                env=plan.env, cwd=str(scratch),
                pass_fds=(3, 4) + ((args_fd,) if args_fd is not None else ()), preexec_fn=preexec,
                close_fds=True)
        except BaseException:
            for fd in (request_w, reply_r, output_r):
                os.close(fd)
            raise
        finally:
            for fd in (request_r, reply_w, output_w) + ((args_fd,) if args_fd is not None else ()):
                os.close(fd)
    except BaseException:
        if tree is not None:
            tree.remove()
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return Launched(process, request_w, reply_r, output_r, plan.submission_path, scratch,
                    plan.mode, plan.notes, isolation, unprivileged, tree)


def kill_tree(process: subprocess.Popen) -> None:
    """Kill the worker's process group (and, with bwrap, its PID namespace with it)."""
    try:
        os.killpg(process.pid, 9)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        process.kill()
    except ProcessLookupError:
        pass
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass
