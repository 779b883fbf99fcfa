"""The warm-worker template: imports numpy (and torch) once, forks one fresh worker per request.

Runs inside the sandbox exactly where runtime.py would (grader/worker/sandbox.py,
`zygote_plan`), as `python -I zygote.py [--preload torch]`, before any
submission exists.  Like runtime.py it needs only the standard library and
numpy and must run on Python 3.9-3.12 (see the docstring of runtime.py).

# Note [Warm workers]
Starting Python and importing numpy costs about 0.6 s per worker, torch 6-8 s,
TensorFlow 15 s (measured on the grading machine, see README.md); the checks of
a whole submission take about as long as the numpy start alone.  So a batch
keeps one *zygote* per pool slot: this process, started under bubblewrap with
the same binds as a cold worker (the slot's inbox folder read-only at
/submission, the slot's scratch at /scratch, and a root-only control folder at
/control), running as root with only CAP_SETUID/CAP_SETGID.  It imports
runtime.py (hence numpy) and, for torch assignments, torch: imports only, so
the process is still single-threaded when it forks (checked before every fork;
a zygote with a second thread refuses to fork and the judge starts a cold
worker).  TensorFlow starts threads when imported and is not fork-safe, so TF
assignments always get cold workers.  It never imports student code.

The judge (a job process, grader/worker/client.py `WarmWorker`) connects to
/control/zygote.sock (SOCK_SEQPACKET) and sends, per worker, a `fork` request
with three fresh pipe ends (SCM_RIGHTS): requests, replies, output.  The zygote
first kills and cleans up the previous worker (below), then forks; the child
starts its own session, dup2s the pipes to fds 3/4 and 1/2, closes everything
else (the control socket included), sets the rlimits the judge asked for,
switches to a FRESH uid (never the zygote's, never one used before in this
sandbox) and chdirs into its own new scratch folder (0700, that uid's), and
only then serves runtime.py's loop, in which the submission is imported.  The
child's numpy, torch and builtins are copy-on-write copies of the zygote's:
whatever the student patches, no other process sees it.  Before its first
request the judge moves the fork into a memory cgroup of its own, where the
machine allows one (Note [Memory per submission] in grader/worker/cgroup.py), and sets
RLIMIT_NOFILE as for a cold worker (Note [Open files per submission] in
grader/worker/sandbox.py).

Cleaning up after a worker (`_reap`): the zygote forks a reaper that switches
to the finished worker's uid and repeats kill(-1, SIGKILL) until no process of
that uid is left in the sandbox's PID namespace (a setsid() daemon included:
kill(-1) reaches every process the sender may signal, i.e. those of its uid),
then deletes every file of that uid in /tmp, /dev/shm and the scratch folder,
and its System V IPC objects.  Only then is the next worker forked, and only
then does the judge stage the next submission in the inbox (the `hello` reply
comes after the previous connection's clean-up).  A worker cannot signal,
ptrace or write into the zygote: it runs as another uid, and the zygote keeps
nothing writable that a worker can reach.  If the zygote dies or misbehaves,
the judge grades on cold workers (never a wrong verdict, never a hang).
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import os
import resource
import secrets
import select
import shutil
import signal
import socket
import stat
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import runtime  # noqa: E402  (imports numpy: the point of the zygote)

CONTROL = "/control/zygote.sock"
SCRATCH = "/scratch"
SHARED_WRITABLE = ("/tmp", "/dev/shm", "/dev/mqueue")  # POSIX message queues are files there
UIDS = range(300_000, 400_000)  # apart from sandbox.WORKER_UIDS (cold workers, Note [One uid per worker])
MAX_MESSAGE = 1 << 16


class Zygote:
    def __init__(self) -> None:
        self.used_uids = set()
        self.child = None  # (pid, uid, scratch)
        self.status = None  # exit status of the last child, once known
        self.unclean = []  # (uid, scratch) of ended workers not yet cleaned up (Note [Reply, then clean])

    # -- the loop --------------------------------------------------------------
    def serve(self, listener: socket.socket) -> None:
        while True:
            connection, _ = listener.accept()
            try:
                self.session(connection)
            finally:
                connection.close()
                self.finish()  # a judge that went away leaves nothing running

    def session(self, connection: socket.socket) -> None:
        while True:
            try:
                data, fds, _, _ = socket.recv_fds(connection, MAX_MESSAGE, 8)
            except OSError:
                return
            if not data:
                for fd in fds:
                    os.close(fd)
                return
            try:
                request = json.loads(data.decode())
                reply = self.handle(request, fds)
            except Exception as exc:  # a bad request from the judge: say so, keep serving
                reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            finally:
                for fd in fds:
                    os.close(fd)
            try:
                connection.sendall(json.dumps(reply).encode())
            except OSError:  # the judge went away: serve() cleans up
                return
            finally:
                self.clean()  # before the next request is read (Note [Reply, then clean])

    def handle(self, request: dict, fds: list) -> dict:
        op = request.get("op")
        if op == "hello":
            return {"ok": True, "pid": os.getpid(), "preloaded": sorted(PRELOADED)}
        if op == "fork":
            self.finish()
            if len(fds) != 3:
                raise ValueError("fork needs three file descriptors")
            threads = _threads()
            if threads != 1:
                raise RuntimeError(f"the zygote runs {threads} threads; forking is not safe")
            left = _ipc_left()
            if left:  # Note [Warm IPC]: never fork into a namespace a previous worker used
                raise RuntimeError(f"IPC objects of an earlier worker are left ({', '.join(left)}); "
                                   f"not forking")
            return {"ok": True, **self.fork(fds, request)}
        if op == "poll":
            return {"ok": True, "alive": self.poll()}
        if op == "kill":
            if request.get("clean") == "after":  # Note [Reply, then clean]
                self.stop()
            else:
                self.finish()
            return {"ok": True, "status": self.status}
        raise ValueError(f"unknown op {op!r}")

    # -- one worker ------------------------------------------------------------
    def fork(self, fds: list, request: dict) -> dict:
        uid = secrets.choice(UIDS)
        while uid in self.used_uids:
            uid = secrets.choice(UIDS)
        self.used_uids.add(uid)
        scratch = os.path.join(SCRATCH, f"w{uid}")
        os.mkdir(scratch, 0o700)
        os.chown(scratch, uid, uid)
        limits = request.get("limits", {})
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                _become_worker(fds, uid, scratch, limits)
                runtime.serve()
                code = 0
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        self.child, self.status = (pid, uid, scratch), None
        return {"pid": pid, "uid": uid}

    def poll(self) -> bool:
        if self.child is None:
            return False
        if self.status is None:
            pid, status = os.waitpid(self.child[0], os.WNOHANG)
            if pid == 0:
                return True
            self.status = _exit_code(status)
        return False

    def finish(self) -> None:
        """Kill the current worker and everything of its uid, then delete its files."""
        self.stop()
        self.clean()

    def stop(self) -> None:
        """End the current worker and know its exit status: it ends on its own when the judge
        has closed its pipes (runtime.serve returns), else the reaper kills every process of its
        uid now.  Its uid's clean-up is left to `clean` (Note [Reply, then clean])."""
        if self.child is None:
            return
        pid, uid, scratch = self.child
        self.child = None
        self.unclean.append((uid, scratch))
        if self.status is None:
            self.status = _wait_exit(pid, EXIT_WAIT_S)
        if self.status is None:
            _reap(uid)
            try:
                _, status = os.waitpid(pid, 0)
                self.status = _exit_code(status)
            except ChildProcessError:
                pass

    def clean(self) -> None:
        """Kill every process of the ended workers' uids, then delete their files."""
        while self.unclean:
            uid, scratch = self.unclean.pop(0)
            _reap(uid)
            try:
                os.rmdir(scratch)  # the reaper emptied it; root owns /scratch
            except OSError:
                pass  # left behind, 0700 and of a uid never used again: harmless


# Note [Reply, then clean]
# Stopping a worker was one `kill` request whose reply waited for the whole clean-up: a reaper
# forked as the worker's uid killing every process of it, /tmp, /dev/shm, the scratch folder
# and IPC objects searched, then the worker's exit status (4-6 ms of every submission's end,
# on the judge's critical path; issue 17).  The judge closes the worker's pipes before it asks
# (WarmWorker.close), so the worker itself is normally ending already: runtime.serve returns
# at the end of its requests.  So `kill` with "clean": "after" waits, for at most EXIT_WAIT_S,
# for the worker to exit (a pidfd where Python and the kernel have one, else waitpid polls),
# replies with its exit status, and only then does the clean-up of its uid.  The judge asks so
# only for a worker in a cgroup of its own, whose removal right after kills whatever of the
# worker is left there (a setsid() daemon cannot leave it), so that, as before, nothing of
# the worker runs once the judge has stopped it; without one, `kill` cleans up before it
# replies, as before.  A worker that has not ended by then
# (busy in student code, or a submission that ignores the end of its requests) is killed with
# everything of its uid before the reply, as before.  The clean-up runs before the zygote
# reads anything else: the next request on the connection (a `fork`, which also cleans first)
# or, once the connection closes, the next judge's `hello`.  So, as before, no process of a
# finished worker is left when the next worker is forked or the next submission staged; only
# the judge of the same submission, whose grading is over, goes on meanwhile (it removes the
# worker's cgroup, killing what is left there itself).  A judge that went away before the
# reply (its sendall fails) ends the session: serve() finishes, as for any closed connection.
EXIT_WAIT_S = 0.05


def _wait_exit(pid: int, seconds: float):
    """The exit status of child `pid` once it has exited within `seconds`, else None."""
    deadline = time.monotonic() + seconds
    handle = None
    try:
        handle = os.pidfd_open(pid)
    except (AttributeError, OSError):
        pass
    try:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done == pid:
                return _exit_code(status)
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            if handle is not None:
                select.select([handle], [], [], left)
            else:
                time.sleep(min(left, 0.001))
    except ChildProcessError:
        return None
    finally:
        if handle is not None:
            os.close(handle)


def _become_worker(fds: list, uid: int, scratch: str, limits: dict) -> None:
    """In the fresh child: session, pipes, rlimits, fresh uid, own folder (Note [Warm workers])."""
    os.setsid()
    # Above every target first, so that no dup2 below overwrites a source still needed.
    request_fd, reply_fd, output_fd = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in fds]
    null = fcntl.fcntl(os.open(os.devnull, os.O_RDONLY), fcntl.F_DUPFD, 10)
    for source, target in ((null, 0), (output_fd, 1), (output_fd, 2),
                           (request_fd, runtime.REQUEST_FD), (reply_fd, runtime.REPLY_FD)):
        os.dup2(source, target)
    os.closerange(runtime.REPLY_FD + 1, 1 << 16)  # the control socket, the listener, the pipes' originals
    memory = resource.RLIMIT_DATA if limits.get("gpu") else resource.RLIMIT_AS
    for which, value in ((memory, limits["memory_bytes"]), (resource.RLIMIT_CPU, limits["cpu_seconds"]),
                         (resource.RLIMIT_FSIZE, limits["file_bytes"]),
                         (resource.RLIMIT_NPROC, limits["processes"]), (resource.RLIMIT_CORE, 0)):
        resource.setrlimit(which, (value, value))
    if limits.get("open_files"):  # Note [Open files per submission] in grader/worker/sandbox.py
        resource.setrlimit(resource.RLIMIT_NOFILE, (limits["open_files"], limits["open_files"]))
    for key in [k for k in os.environ if k.startswith("GRADER_")]:
        del os.environ[key]
    os.environ.update(HOME=scratch, PWD=scratch)
    os.chdir(scratch)
    _switch_uid(uid)
    # A cold worker draws fresh seeds when it starts; so does a warm one (Python's `random`
    # reseeds itself after os.fork; numpy's global RandomState does not).
    import numpy as np
    np.random.seed()


def _switch_uid(uid: int) -> None:
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
    if os.getuid() != uid or os.geteuid() != uid:
        raise SystemExit("could not switch to the worker's uid")


def _reap(uid: int) -> None:
    """Fork a reaper as `uid`: kill every process of it, delete its files and IPC objects."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.closerange(3, 1 << 16)
            _switch_uid(uid)
            _kill_all_of_uid(uid)
            for folder in SHARED_WRITABLE + (SCRATCH,):
                _remove_owned(folder, uid)
            _remove_ipc(uid)
            code = 0
        finally:
            os._exit(code)
    os.waitpid(pid, 0)


def _kill_all_of_uid(uid: int) -> None:
    """kill(-1) as `uid` until /proc shows no live process of it (a fork bomb races the first)."""
    me = os.getpid()
    for _ in range(1000):
        try:
            os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if not [p for p in _live_processes_of(uid) if p != me]:
            return
        time.sleep(0.002)


def _live_processes_of(uid: int) -> list:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as handle:
                fields = dict(line.split(":", 1) for line in handle if ":" in line)
        except (OSError, ValueError):
            continue
        if (int(fields.get("Uid", "-1").split()[0]) == uid
                and not fields.get("State", "").strip().startswith(("Z", "X"))):
            found.append(int(entry))
    return found


def _remove_owned(folder: str, uid: int) -> None:
    try:
        entries = os.listdir(folder)
    except OSError:
        return
    for name in entries:
        path = os.path.join(folder, name)
        try:
            info = os.lstat(path)
        except OSError:
            continue
        if info.st_uid != uid:
            continue
        if stat.S_ISDIR(info.st_mode):
            _make_removable(path)
            shutil.rmtree(path, ignore_errors=True)
        else:
            try:
                os.unlink(path)
            except OSError:
                pass


def _make_removable(top: str) -> None:
    """A worker may leave folders of mode 0: give its own folders back u+rwx first."""
    for root, dirs, _ in os.walk(top):
        for name in [root] + [os.path.join(root, d) for d in dirs]:
            try:
                if not os.path.islink(name):
                    os.chmod(name, 0o700)
            except OSError:
                pass
    try:
        os.chmod(top, 0o700)
    except OSError:
        pass


# Note [Warm IPC]
# System V shared memory, semaphores and message queues, and POSIX message queues,
# outlive the processes that made them.  Each slot's zygote runs in an IPC namespace
# of its own (bubblewrap's --unshare-ipc, with its own mqueue mount at /dev/mqueue;
# Note [Sandbox views] in grader/worker/sandbox.py), which its workers share one at a time.
# The zygote cannot give each fork a namespace of its own: unshare(CLONE_NEWIPC)
# needs CAP_SYS_ADMIN, which it does not keep (it would be the host's).  So the
# reaper, running as the finished worker's uid, deletes every System V object whose
# creator *or* owner is that uid (the creator may hand an object to another owner,
# but stays its creator, and a creator may always remove it) and every queue file of
# that uid in /dev/mqueue (owners cannot be changed without CAP_CHOWN); then, before
# each fork, the zygote checks that /proc/sysvipc and /dev/mqueue are empty and
# refuses to fork otherwise (the judge then grades on a cold worker, whose namespace
# is its own).  So the next submission always starts in an empty namespace.
def _ipc_left() -> list:
    """What System V and POSIX IPC objects exist in this namespace ([] when none)."""
    left = []
    for table in ("shm", "sem", "msg"):
        try:
            with open(f"/proc/sysvipc/{table}") as handle:
                rows = handle.read().splitlines()[1:]
        except OSError:
            continue
        if rows:
            left.append(f"{len(rows)} System V {table}")
    try:
        queues = os.listdir("/dev/mqueue")
    except OSError:
        queues = []
    if queues:
        left.append(f"{len(queues)} POSIX message queue(s)")
    return left


def _remove_ipc(uid: int) -> None:
    """System V shared memory, semaphores and message queues `uid` created or owns (Note [Warm IPC])."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return
    IPC_RMID = 0
    for table, remove in (("shm", lambda i: libc.shmctl(i, IPC_RMID, None)),
                          ("sem", lambda i: libc.semctl(i, 0, IPC_RMID)),
                          ("msg", lambda i: libc.msgctl(i, IPC_RMID, None))):
        try:
            with open(f"/proc/sysvipc/{table}") as handle:
                header = handle.readline().split()
                rows = [line.split() for line in handle]
        except OSError:
            continue
        ids = [i for i, name in enumerate(header) if name in ("shmid", "semid", "msqid", "id")]
        if not ids or "uid" not in header:  # the id column is "shmid", "semid" or "msqid"
            continue
        columns = [header.index(c) for c in ("uid", "cuid") if c in header]
        for row in rows:
            if len(row) == len(header) and any(int(row[c]) == uid for c in columns):
                remove(int(row[ids[0]]))


def _exit_code(status: int):
    if os.WIFSIGNALED(status):
        return -os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def _threads() -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return 1


PRELOADED = {"numpy"}


def main(argv: list) -> None:
    os.environ.pop("GRADER_WORKER_UID", None)  # the zygote stays root; each child gets its own
    if os.getuid() != 0:
        raise SystemExit("the zygote must start as root (with only CAP_SETUID/CAP_SETGID)")
    if "--preload" in argv:
        for name in argv[argv.index("--preload") + 1].split(","):
            if name == "torch":
                import torch  # noqa: F401  (import only: no thread pool starts until first use)
                PRELOADED.add("torch")
            elif name:
                raise SystemExit(f"cannot preload {name!r} in a zygote (only torch)")
    # OpenBLAS starts its thread pool when numpy is imported and stops it in its own
    # pthread_atfork handler (restarting it lazily, on the next BLAS call, which the zygote
    # never makes); one throwaway fork now leaves the zygote single-threaded, as the check
    # before every real fork requires.
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    if _threads() != 1:
        raise SystemExit(f"the zygote runs {_threads()} threads after its imports; "
                         f"forking it would not be safe")
    os.chmod(SCRATCH, 0o755)  # children get their own 0700 folders inside
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        os.unlink(CONTROL)
    except FileNotFoundError:
        pass
    listener.bind(CONTROL)
    os.chmod(CONTROL, 0o600)
    listener.listen(4)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    Zygote().serve(listener)


if __name__ == "__main__":
    main(sys.argv[1:])
