"""Warm workers, judge side: the zygotes of a batch and the Worker that forks from them.

See Note [Warm workers] in grader/worker/zygote.py for the design and why it
keeps the trust boundary.  This module holds the two judge-side halves:

- `SlotPool`, made by the batch process (grader/batch/run.py): one slot folder per
  job process (inbox, scratch, root-only control folder, lock file) and one
  zygote per slot, started under bubblewrap by sandbox.zygote_plan.
- `WarmWorker`, made by a job process instead of a Worker: it claims a free
  slot (a flock on its lock file, released by the kernel when the job ends,
  however it ends), stages the submission in the slot's inbox once the zygote
  has cleaned up after the previous submission, and asks the zygote for a
  fresh worker at every (re)start.  Anything wrong with the zygote or the slot
  makes it a cold Worker for the rest of the submission, with a note saying so.

# Note [When workers are warm]
Only when it is safe and it pays: the judge runs as root (so each worker can
get a fresh uid) and bubblewrap exists (so a slot sees only its own inbox),
the submission is graded by `grade batch` on this machine (its own job pool or
a `--cluster local`, whose Dask workers are this machine's processes; never a
remote `--scheduler`, whose workers cannot reach this machine's zygotes), the
sandbox mode is not rlimits, and the assignment is not a TensorFlow one
(TensorFlow starts threads at import and cannot be forked safely; those
submissions get cold workers).  Where all of that holds, `grade batch` uses
warm workers by default (issue 17; after the warm, zygote and hostile tests
and the slow batch tests passed with them on); `--no-warm` turns them off,
and `--warm` asks for them and says why when they cannot be had.  Everything
else, `grade check` included (one submission: nothing to amortise), starts
cold workers exactly as before.  Each result's environment says which:
"worker_start": "warm" or "cold".
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from . import cgroup, sandbox
from .devices import CPU, Device
from .client import Worker, WorkerFailure
from .launch import kill_tree

SOCKET_NAME = "zygote.sock"
READY_TIMEOUT_S = 180.0   # a zygote importing torch on a loaded machine
CONTROL_TIMEOUT_S = 30.0  # one request to the zygote (a kill waits for the clean-up)


class ZygoteError(Exception):
    """The zygote is missing, dead or answered nonsense: grade on cold workers instead."""


def framework_of(folder: Path) -> str:
    """"tensorflow", "torch" or "numpy": what the assignment's code imports (its .py files)."""
    found = "numpy"
    for path in sorted(Path(folder).rglob("*.py")):
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        if "import tensorflow" in text or "from tensorflow" in text:
            return "tensorflow"
        if "import torch" in text or "from torch" in text:
            found = "torch"
    return found


def warm_refusal(framework: str) -> str:
    """Why this judge cannot use warm workers for `framework`, or "" when it can
    (Note [When workers are warm])."""
    if os.geteuid() != 0:
        return "the grader does not run as root, so forked workers could not get uids of their own"
    if sandbox.bwrap_path() is None:
        return "bubblewrap is not installed"
    if framework == "tensorflow":
        return "TensorFlow cannot be imported before a fork"
    return ""


# -- the batch side: slots and their zygotes ------------------------------------------------------

class SlotPool:
    """One zygote per slot for the life of a batch (Note [Warm workers])."""

    def __init__(self, count: int, python: str | None = None, framework: str = "numpy",
                 device: Device = CPU) -> None:
        self.python = python or os.environ.get("GRADER_WORKER_PYTHON") or _sys_executable()
        self.preload = ("torch",) if framework == "torch" else ()
        self.device = device
        self.root = Path(tempfile.mkdtemp(prefix="grader-warm-"))
        os.chmod(self.root, 0o755)
        self.slots = [self.root / f"slot{i}" for i in range(count)]
        self.processes: dict[Path, subprocess.Popen] = {}
        for slot in self.slots:
            for name, mode in (("inbox", 0o755), ("scratch", 0o755), ("control", 0o700)):
                (slot / name).mkdir(parents=True)
                os.chmod(slot / name, mode)
            os.chmod(slot, 0o755)
            (slot / "lock").touch()

    def start(self, wait: bool = True) -> list[str]:
        """Start every slot's zygote; with `wait`, until each answers.  Returns the slot
        folders whose zygote is ready (the others are graded cold)."""
        for slot in self.slots:
            self._start(slot)
        if not wait:
            return [str(s) for s in self.slots]
        deadline = time.monotonic() + READY_TIMEOUT_S
        return [str(s) for s in self.slots if self._wait_ready(s, deadline)]

    def _start(self, slot: Path) -> None:
        # Pools sized to the default CPU quota (Note [Thread pools under a CPU quota] in cgroup.py).
        env = {**self.device.worker_env(), **cgroup.thread_pool_env(sandbox.Limits.cpus)}
        plan = sandbox.zygote_plan(self.python, slot / "inbox", slot / "scratch", slot / "control",
                                   self.preload, env, gpu=self.device.kind == "cuda")
        if plan is None:
            raise ZygoteError(warm_refusal("numpy") or "warm workers are not possible here")
        (slot / "control" / SOCKET_NAME).unlink(missing_ok=True)
        argv, args_fd = plan.launch()  # Note [Sandbox views] in grader/worker/sandbox.py
        try:
            with open(slot / "zygote.log", "ab") as log:
                self.processes[slot] = subprocess.Popen(
                    argv, env=plan.env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                    cwd=str(slot / "scratch"), start_new_session=True, close_fds=True,
                    pass_fds=(args_fd,) if args_fd is not None else ())
        finally:
            if args_fd is not None:
                os.close(args_fd)

    def _wait_ready(self, slot: Path, deadline: float) -> bool:
        while time.monotonic() < deadline:
            if self.processes[slot].poll() is not None:
                return False
            try:
                with _Control(slot, timeout=5) as control:
                    control.ask({"op": "hello"})
                return True
            except (OSError, ZygoteError):
                time.sleep(0.1)
        return False

    def revive(self) -> None:
        """Restart the zygotes that died (a job found it dead and graded cold meanwhile)."""
        for slot, process in list(self.processes.items()):
            if process.poll() is None:
                continue
            with open(slot / "lock") as lock:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    continue  # a job holds the slot; try again after the next result
                self._start(slot)

    def stop(self) -> None:
        for process in self.processes.values():
            kill_tree(process)
        self.processes.clear()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "SlotPool":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


# Note [Inbox emptied meanwhile]
# A job stages its submission in its slot's inbox (`_claim`) once the zygote has cleaned up
# after the previous worker; the previous submission's files were deleted there first, on the
# start's critical path: about 3 ms a submission (each rmdir of this disk took 0.4-1.4 ms).
# They are moved instead (one rename for each entry of the inbox) into the slot's `trash`
# folder, which is root's (0700) and outside every sandbox (bubblewrap binds only the inbox,
# the scratch and the control folders), and a thread of the job deletes them while it
# grades; the job waits for that thread when it gives the slot back, and the next job deletes
# whatever is left there before it stages.  So the inbox holds only the new submission's files
# from the moment it is staged, as before.

# Note [Staged copy moved in]
# A job stages the submission in its own folder (grader/submission/stage.py), then copied
# that staged copy into its slot's inbox: a second copy of every file (copy2, each file's
# data, mode and times), 8.5-9 ms for the 9 files of an fc_nets submission on the benchmark
# disk (min of 7), on the warm start's critical path, against 0.5 ms to rename the same
# entries.  The staged copy is the judge's own (made by the job, root's, modes set by
# staging) and nothing reads its files once the worker has been started but a cold
# worker that replaces the warm one; so `_claim` renames its top-level entries into the
# emptied inbox (copying only where the two are on different file systems) and gives the
# inbox the staged folder's mode and times, as copytree did: the worker sees exactly the
# files, modes and times it saw before.  Meanwhile the worker's `submission` (where the judge
# reads a staged file, e.g. tf_norms' `staged_source` for a module it has no source of) is
# the inbox.  A submission that goes cold after its claim (`_go_cold`) gets the entries
# renamed back, and `submission` the staged copy again, before its cold worker starts from
# there; the inbox's entries are otherwise moved to the trash by the slot's next job, as
# before.  The staged folder, empty now, is removed as before (Note [Staged copies removed
# after the answer] in grader/submission/stage.py).
def _empty(folder: Path) -> None:
    """Delete what `folder` holds (a worker may have left folders of mode 0: root ignores it)."""
    try:
        entries = list(folder.iterdir())
    except OSError:
        return
    for entry in entries:
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            try:
                entry.unlink()
            except OSError:
                pass


def _sys_executable() -> str:
    import sys
    return sys.executable


class _Control:
    """One connection to a slot's zygote: JSON requests, file descriptors alongside."""

    def __init__(self, slot: Path, timeout: float = CONTROL_TIMEOUT_S) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(str(Path(slot) / "control" / SOCKET_NAME))
        except OSError:
            self.sock.close()
            raise

    def ask(self, request: dict, fds: tuple[int, ...] = ()) -> dict:
        try:
            socket.send_fds(self.sock, [json.dumps(request).encode()], list(fds))
            data = self.sock.recv(1 << 16)
        except OSError as exc:
            raise ZygoteError(f"the zygote did not answer ({exc})") from None
        try:
            reply = json.loads(data.decode()) if data else None
        except ValueError:
            reply = None
        if not isinstance(reply, dict):
            raise ZygoteError("the zygote's connection closed or sent a malformed reply")
        if not reply.get("ok"):
            raise ZygoteError(f"the zygote refused: {reply.get('error', '?')}")
        return reply

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "_Control":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# -- the job side: a worker forked from a zygote --------------------------------------------------

# Note [Liveness without the zygote]
# The judge asks whether its worker is alive before every request (`Worker.alive`, so that a
# worker that died after its last reply is replaced before the next request is sent).  Asking
# the zygote (a round trip on its control socket, whose waitpid answers) cost 0.7 ms each under
# load, 137 times per fc_nets submission (cProfile: 97 ms per submission, load 4; issue 17).
# Graded alternately with and without the pidfd in one process (39 submissions each, load
# 2.5-2.8), a submission took 288 ms instead of 322 (median; paired ratio 0.913).  So the
# judge holds a pidfd of the forked worker, opened by its host pid right after
# the fork (found as `_join_tree` finds it; the zygote reaps the child only when the judge asks,
# so that pid cannot be reused before then): while the pidfd is not readable the process has not
# exited, which is exactly when the zygote's waitpid(WNOHANG) would have said "alive".  Once it
# is readable (or where no pidfd could be had), the zygote is asked as before, so the exit status
# and every later answer are the zygote's.

class _ForkedChild:
    """Stands for subprocess.Popen where Worker needs one: the zygote knows the child."""

    def __init__(self, control: _Control, pid: int) -> None:
        self.control, self.pid, self.code = control, pid, None
        self.pidfd: int | None = None  # Note [Liveness without the zygote]

    def watch(self, host_pid: int | None) -> None:
        """Hold a pidfd of the child by its host pid (Note [Liveness without the zygote])."""
        if host_pid is not None and hasattr(os, "pidfd_open"):
            try:
                self.pidfd = os.pidfd_open(host_pid)
            except OSError:
                self.pidfd = None

    def _unwatch(self) -> None:
        pidfd, self.pidfd = self.pidfd, None
        if pidfd is not None:
            os.close(pidfd)

    def poll(self):
        if self.code is None and self.pidfd is not None \
                and not select.select([self.pidfd], [], [], 0)[0]:
            return None  # not exited (Note [Liveness without the zygote])
        if self.code is None:
            try:
                if not self.control.ask({"op": "poll"})["alive"]:
                    self.code = self._status(self.control.ask({"op": "kill"}).get("status"))
            except ZygoteError:
                self.code = -9  # no zygote: no child either (bwrap's PID namespace went with it)
        return self.code

    def wait(self, timeout: float | None = None):
        deadline = time.monotonic() + (timeout or 0)
        while self.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        if self.code is None:
            raise subprocess.TimeoutExpired("worker", timeout)
        return self.code

    def kill(self, clean_after: bool = False) -> None:
        """Have the zygote stop the child; `clean_after`: its uid's clean-up may follow the
        reply (Note [Reply, then clean] in grader/worker/zygote.py)."""
        self._unwatch()
        if self.code is None:
            request = {"op": "kill", **({"clean": "after"} if clean_after else {})}
            try:
                self.code = self._status(self.control.ask(request).get("status"))
            except ZygoteError:
                self.code = -9

    @staticmethod
    def _status(status):
        # As bwrap reports a cold worker's end (Worker._crashed turns 128 + N into signal N),
        # so that a crash reads the same warm or cold.
        if isinstance(status, int) and status < 0:
            return 128 - status
        return status if isinstance(status, int) else -9


# Note [Cgroup joined meanwhile]
# Moving the forked worker into its cgroup (writing its pid to cgroup.procs, Note [Memory per
# submission] in grader/worker/cgroup.py) took 11-13 ms of a 17 ms warm start, nearly all of
# it asleep: the kernel's first migration after a quiet spell waits for an RCU grace period
# (cgroup v1 here; measured: 0.2 ms for migrations back to back, 11 ms each 50 ms apart, the
# same for a process that imported numpy).  Nothing of it needs the judge.  So the write
# runs in a thread of its own, started right after the fork, while the judge goes on with the
# handshake (hello and path: runtime.py's own code, no student code) and, when the worker
# was started by `launch` (Note [Early start] in grader/worker/client.py: the judge's
# pipeline), its own work up to the first check's first request; every request but the
# handshake's (`_send`, which every request goes through) waits for the write first.  A start
# in any other way (`start`, or a restart inside a request after a crash or a timeout) waits
# for the write before it returns, so the request that started it is never sent before.  So,
# as before, no student code runs in the worker before it is in its cgroup.  A write that
# failed makes the submission go cold, as a failed join in `_fork` did (the forked worker is
# stopped, the submission graded on a cold worker, and its notes say why).  `close` waits
# for the write too, so the cgroup is removed only once the write has ended.

class WarmWorker(Worker):
    """A Worker whose every start is a fork of a slot's zygote (Note [Warm workers]);
    a cold Worker where that is not possible (Note [When workers are warm])."""

    def __init__(self, submission: Path, *, slots: tuple[str, ...] = (), **kwargs) -> None:
        super().__init__(submission, **kwargs)
        self.slots = tuple(slots)
        self.slot: Path | None = None
        self._lock = None
        self._control: _Control | None = None
        self.refusal = ""      # why this submission went cold, once it did
        self.warm_starts = 0
        self._joining: tuple[threading.Thread, list] | None = None  # Note [Cgroup joined meanwhile]
        self._handshake = False  # the start's own hello and path requests are being sent
        self._early = False      # started by launch (Note [Cgroup joined meanwhile])
        self._emptying: threading.Thread | None = None  # Note [Inbox emptied meanwhile]
        self._moved: list[str] = []  # entries of the staged copy now in the inbox (_move_in)
        self._staged: Path | None = None  # the staged copy while `submission` is the inbox
        if self.sandbox_mode == "rlimits":
            self.refusal = "the sandbox mode is rlimits (warm workers need bubblewrap)"

    @property
    def start_kind(self) -> str:
        return "warm" if self.warm_starts and not self.refusal else "cold"

    def launch(self) -> None:
        """Start the worker; its cgroup join may end later (Note [Cgroup joined meanwhile])."""
        self._early = True
        try:
            self.start()
        finally:
            self._early = False

    def start(self) -> None:
        self._start(joined=not self._early)

    def _start(self, joined: bool) -> None:
        self.close()
        if not self.refusal:
            try:
                self._fork()
                if joined:
                    self._settle_join()
                return
            except (OSError, ZygoteError) as exc:
                self._go_cold(f"the warm worker could not start ({exc})")
        super().start()
        self.notes = list(self.notes) + [f"cold worker: {self.refusal}"]

    def _settle_join(self) -> None:
        """Wait for the worker's cgroup join; ZygoteError, the worker stopped, if it failed."""
        failure = self._joined()
        if failure is not None:
            self.close()
            raise ZygoteError(f"the forked worker could not be put in its cgroup ({failure})")

    def _go_cold(self, why: str) -> None:
        self.refusal = why
        self._move_out()  # a cold worker reads the staged copy (Note [Staged copy moved in])
        self._disconnect()

    def _fork(self) -> None:
        if self._control is None:
            self._claim()
        request_r, request_w = os.pipe()
        reply_r, reply_w = os.pipe()
        output_r, output_w = os.pipe()
        limits = {"memory_bytes": self.limits.memory_bytes, "cpu_seconds": self.limits.cpu_seconds,
                  "file_bytes": self.limits.file_bytes,
                  "processes": sandbox.process_limit(self.limits),
                  "open_files": sandbox.open_files_limit(self.limits),
                  "gpu": self.device.kind == "cuda"}
        try:
            reply = self._control.ask({"op": "fork", "limits": limits},
                                      (request_r, reply_w, output_w))
        except ZygoteError:
            for fd in (request_r, request_w, reply_r, reply_w, output_r, output_w):
                os.close(fd)
            raise
        for fd in (request_r, reply_w, output_w):
            os.close(fd)
        self.process = _ForkedChild(self._control, int(reply["pid"]))
        try:
            self.process.watch(self._join_tree(int(reply["pid"])))
        except (OSError, ZygoteError):
            for fd in (request_w, reply_r, output_r):
                os.close(fd)
            self.process.kill()
            self.process = None
            self._remove_tree()
            raise
        self.mode, self.notes = "bwrap", []
        tmpfs = sandbox.bwrap_supports("--size") and sandbox.bwrap_supports("--perms")
        self.isolation = sandbox.bwrap_isolation(  # zygote_plan's default scratch size
            self.device.kind == "cuda", sandbox.Limits.scratch_bytes if tmpfs else 0, warm=True)
        self.isolation.update(sandbox.limits_in_force(self.limits, self.device.kind == "cuda",
                                                      self.tree))
        self.unprivileged = True
        self.warm_starts += 1
        self._handshake = True  # Note [Cgroup joined meanwhile]
        try:
            self._attach(request_w, reply_r, output_r, sandbox.SANDBOX_SUBMISSION)
        except WorkerFailure:
            # The handshake failed: the zygote (or its fork) is broken, not the submission.
            self.close()
            raise ZygoteError("the forked worker did not answer its first request") from None
        finally:
            self._handshake = False

    def _join_tree(self, pid_in_sandbox: int) -> int | None:
        """Give the just-forked worker a cgroup of its own before its first request that can run
        student code (Note [Memory per submission] in grader/worker/cgroup.py, Note [Cgroup
        joined meanwhile]); no student code has run in it yet.  Returns its host pid (Note
        [Liveness without the zygote]), None where not found."""
        self.tree, _ = cgroup.make(self.limits.memory_bytes, self.limits.processes,
                                   self.limits.cpus)
        zygote = struct.unpack("3i", self._control.sock.getsockopt(
            socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))[0]
        host = cgroup.host_pid(zygote, pid_in_sandbox)
        if self.tree is None:
            return host
        if host is None:
            raise ZygoteError("the forked worker could not be found to put it in its cgroup")
        failure: list = []

        def join(tree=self.tree) -> None:
            try:
                tree.join(host)
            except BaseException as exc:
                failure.append(exc)
        thread = threading.Thread(target=join, daemon=True, name="cgroup-join")
        thread.start()
        self._joining = (thread, failure)
        return host

    def _joined(self) -> BaseException | None:
        """Wait for the worker's cgroup join (Note [Cgroup joined meanwhile]); why it failed,
        None when it did not (or there was none)."""
        joining, self._joining = self._joining, None
        if joining is None:
            return None
        joining[0].join()
        return joining[1][0] if joining[1] else None

    def _send(self, op: str, timeout: float | None, fields: dict):
        # Every request goes through here (grader/worker/client.py): none but the start's own
        # handshake before the worker is in its cgroup (Note [Cgroup joined meanwhile]).  A
        # start inside super()._send (a restart) waits for its join itself.
        if self._joining is not None and not self._handshake:
            try:
                self._settle_join()
            except ZygoteError as exc:  # as a join that failed in _fork: the submission goes cold
                self._go_cold(f"the warm worker could not start ({exc})")
        return super()._send(op, timeout, fields)

    def _claim(self) -> None:
        """Take a free slot, wait for its zygote's clean-up, stage the submission there."""
        if not self.slots:
            raise ZygoteError("no warm slot was given")
        for slot in self.slots:
            lock = open(Path(slot) / "lock")
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                lock.close()
                continue
            self._lock, self.slot = lock, Path(slot)
            break
        else:
            raise ZygoteError("every warm slot is busy")
        self._control = _Control(self.slot)
        # The zygote answers only after the previous connection's clean-up (zygote.py), so no
        # process of the previous submission is left to see this one's files.
        self._control.ask({"op": "hello"})
        inbox, trash = self.slot / "inbox", self.slot / "trash"  # Note [Inbox emptied meanwhile]
        trash.mkdir(mode=0o700, exist_ok=True)
        _empty(trash)  # what an earlier job left there (normally nothing)
        for number, entry in enumerate(list(inbox.iterdir())):
            os.rename(entry, trash / f"{os.getpid()}-{number}")
        self._move_in(inbox)  # Note [Staged copy moved in]
        self._emptying = threading.Thread(target=_empty, args=(trash,), daemon=True,
                                          name="empty-trash")
        self._emptying.start()

    def _move_in(self, inbox: Path) -> None:
        """Put the staged copy's entries in the (emptied) inbox: renamed where it is on the same
        file system, else copied (Note [Staged copy moved in])."""
        self._moved, self._staged = [], self.submission
        for entry in sorted(self.submission.iterdir()):
            try:
                os.rename(entry, inbox / entry.name)
            except OSError:  # another file system: copy what is left, as before
                shutil.copytree(self.submission, inbox, dirs_exist_ok=True, symlinks=True)
                break
            self._moved.append(entry.name)
        shutil.copystat(self.submission, inbox)  # what copytree did to the inbox itself
        self.submission = inbox  # where the judge finds the files meanwhile (a check may read one)

    def _move_out(self) -> None:
        """Give the staged copy back the entries moved into the inbox (Note [Staged copy moved
        in]): a submission that goes cold after its claim is read from there."""
        moved, self._moved = self._moved, []
        if self._staged is None:
            return
        self.submission, self._staged = self._staged, None
        for name in moved:
            source, target = self.slot / "inbox" / name, self.submission / name
            try:
                os.rename(source, target)
            except OSError:
                if source.is_dir() and not source.is_symlink():
                    shutil.copytree(source, target, symlinks=True)
                else:
                    shutil.copy2(source, target, follow_symlinks=False)

    # Note [A closed worker's stream]
    # Worker.close detaches an open stream (Note [Streamed calls] in grader/worker/client.py):
    # its replies went with the process.  This close used to skip that for a forked worker, so
    # a stream left unread stayed open and attached, and the next request, on the fresh worker,
    # first "drained" the old stream from the new worker's pipe: it waited DRAIN_LIMIT_S for
    # replies that never come, then stopped the fresh worker (one wasted start and 2 s, and a
    # read of a closed pipe where no worker was started).  Detached here as there.
    def close(self) -> None:
        if not isinstance(self.process, _ForkedChild):
            super().close()
            return
        stream, self._stream = self._stream, None  # Note [A closed worker's stream]
        if stream is not None:
            stream.open = False
        process, self.process = self.process, None
        self._joined()  # before its cgroup is removed (Note [Cgroup joined meanwhile])
        for fd in (self._request_fd, self._reply_fd):
            try:
                os.close(fd)
            except OSError:
                pass
        # The zygote kills every process of the child's uid and cleans up; after its reply where
        # the cgroup's removal kills what is left (Note [Reply, then clean] in zygote.py).
        process.kill(clean_after=self.tree is not None)
        self._remove_tree()
        self._output.join(timeout=2)

    def release(self) -> None:
        """Stop the worker and give the slot back (the job's end does the same)."""
        self.close()
        self._disconnect()

    def _disconnect(self) -> None:
        emptying, self._emptying = self._emptying, None
        if emptying is not None:
            emptying.join(timeout=10)
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def __exit__(self, *exc) -> None:
        self.release()
