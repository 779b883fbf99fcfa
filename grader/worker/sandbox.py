"""How a student worker process is confined: bubblewrap where it exists, rlimits always.

The judge asks this module for the command line and the pre-exec hook that
start `grader/worker/runtime.py` confined; it knows nothing of the wire.

# Note [Sandbox]
With bubblewrap (`bwrap`, Debian package `bubblewrap`) the worker gets a new
mount, PID, network, IPC and UTS namespace.  Its filesystem is an allow-list:
the system's /usr (and its /bin, /lib symlinks), /sys's CPU topology read-only,
the Python installation(s) and the virtual environment read-only, the worker
files, the staged submission read-only at /submission, and a fresh writable
size-limited tmpfs at /scratch (also its HOME and cwd) plus an empty /tmp
(Note [Sandbox views]).  The grader's
own source, the reference, checks, rubrics, other submissions and the output
folder are not there (covered where they lie inside a bound folder: Note [The
grader's own folders hidden]); there is no network (only a loopback device).
`--die-with-parent` and the PID namespace mean that killing the worker kills
every process it started, even ones that called setsid().

Always, whichever mode: the worker runs in its own session (so the judge can
kill its whole process group), with rlimits on address space, CPU seconds, file
size, process count and open files; and, where the machine allows it, in a
memory cgroup of its own that limits the whole tree (grader/worker/cgroup.py).  When the judge runs as root the worker must not stay
root (the kernel never applies RLIMIT_NPROC to uid 0, so a fork bomb would go
unchecked): bwrap is started as root, so that it can bind an interpreter that
lives under /root, with only CAP_SETUID/CAP_SETGID kept, and the runtime's very
first act, before any student code is imported, is to switch to an
unprivileged uid (the GRADER_WORKER_UID variable; Note [One uid per worker]),
which also drops those two capabilities.  No user namespace is created for the
same reason: inside one, that uid would have no mapping.  Without bwrap only the
rlimits and the session apply: student code can then read whatever the judge's
user can read and can reach the network, and a process that escapes with
setsid() is not found; the result says `"sandbox": "rlimits"` so nobody takes
that mode for isolation.

# Note [Sandbox views]
What else the worker sees under bubblewrap, and what a result's
`environment.isolation` reports (grader/scoring/pipeline.py):
- ipc: its own IPC namespace (`--unshare-ipc`) with its own POSIX message-queue
  mount at /dev/mqueue: System V shared memory, semaphores, message queues and
  POSIX queues of other workers or the host are not there, and a cold worker's
  die with it.  Warm workers share their slot zygote's namespace, one at a time;
  the zygote deletes everything the finished worker created and forks the next
  only into an empty namespace (Note [Warm IPC] in grader/worker/zygote.py).  A
  bubblewrap without `--mqueue` mounts no /dev/mqueue: POSIX queues are then
  still per namespace, but a warm slot cannot see or remove them.
- scratch: /scratch is a tmpfs of `Limits.scratch_bytes` (`--size`, bubblewrap
  0.5+; an older one keeps the host folder and says so), so a worker cannot fill
  the host's disk; /tmp and /dev/shm are empty and
  not writable by the worker's uid.  Without bubblewrap it is a host folder with
  only the per-file size limit.
- proc: a procfs of its own PID namespace.  bubblewrap's options (which name host
  folders: the staged submission, the worker files) are passed through a pipe
  (`--args FD`, SandboxPlan.launch), so /proc/1/cmdline shows only the
  interpreter and the worker's fixed paths.  /proc/self/mountinfo still names the
  source folders of the bind mounts; that is known and not hidden.
- sys: only /sys/devices/system/cpu (the CPU count thread pools read); with a GPU
  the whole /sys read-only, which the NVIDIA libraries need.
- memory, shared_memory, processes, cpu, open_files: the limits in force, in any mode
  (`limits_in_force`): the whole submission's memory in a cgroup, shared memory
  counted, or the per-process rlimits alone (Note [Memory per submission] in
  grader/worker/cgroup.py); its CPU quota and weight, or none (Note [CPU per submission]
  there); the open-file limit (Note [Open files per submission]).
"""

from __future__ import annotations

import dataclasses
import fcntl
import functools
import os
import resource
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

# Note [One uid per worker]
# RLIMIT_NPROC counts every process *and thread* of a uid, machine-wide.  If all
# workers ran as `nobody`, parallel workers in a batch (and TensorFlow's or
# torch's thread pools) would share one budget, and a correct submission could
# fail to start a thread because of its neighbours.  So each worker gets its own
# uid from an unused range (no /etc/passwd entry is needed for setuid); two
# workers drawing the same one have odds of 1 in 100,000 and then merely share.
WORKER_UIDS = range(200_000, 300_000)


def worker_uid() -> int:
    return secrets.choice(WORKER_UIDS)

WORKER_DIR = Path(__file__).resolve().parent
WORKER_FILES = ("start.py", "runtime.py", "wire.py", "numpy_compat.py", "zygote.py")
# How a cold worker's interpreter runs start.py: isolated, site set up by start.py itself (Note
# [Worker start] in grader/worker/start.py).
WORKER_FLAGS = ("-I", "-S")
SANDBOX_WORKER_DIR = "/opt/grader-worker"
SANDBOX_SUBMISSION = "/submission"
SANDBOX_SCRATCH = "/scratch"
SANDBOX_CONTROL = "/control"
SYS_CPU = "/sys/devices/system/cpu"  # how many CPUs: what numpy's, torch's and TF's thread pools read

# Environment passed to the worker: nothing of the judge's beyond what numerical
# libraries need to compute the same numbers (see the machine notes on OpenBLAS).
PASSED_ENV_PREFIXES = ("OPENBLAS_", "OMP_", "MKL_", "CUDA_", "NVIDIA_", "TF_CPP_", "TF_ENABLE_",
                        "LANG", "LC_")


@dataclass(frozen=True)
class Limits:
    """Resource limits for one worker process tree."""
    call_timeout_s: float = 30.0
    memory_bytes: int = 4 << 30
    cpu_seconds: int = 900
    file_bytes: int = 256 << 20
    processes: int = 256
    output_bytes: int = 64 << 10
    reply_bytes: int = 512 << 20
    scratch_bytes: int = 512 << 20  # the size of /scratch, a tmpfs under bubblewrap (Note [Sandbox views])
    open_files: int = 0  # RLIMIT_NOFILE; 0: from the machine's file table (Note [Open files per submission])
    # The whole tree's CPU quota, in CPUs, where the machine has a cpu cgroup; 0: none (Note
    # [CPU per submission] in grader/worker/cgroup.py).
    cpus: float = 1.0
    # The whole submission, staging included (Note [Time budget], grader/worker/client.py);
    # None: max(180 s, 8 call limits), far above what correct work needs (README "Measured").
    budget_s: float | None = None

    def budget(self) -> float:
        return float(self.budget_s) if self.budget_s else max(180.0, 8 * self.call_timeout_s)


@dataclass(frozen=True)
class SandboxPlan:
    """Everything needed to start one confined worker."""
    argv: list[str]
    env: dict[str, str]
    mode: str            # "bwrap" or "rlimits"
    submission_path: str  # where the worker sees the submission
    scratch_path: str     # where the worker sees its scratch folder
    worker_path: str      # folder holding runtime.py inside the worker's view
    drop_to_uid: int | None = None
    notes: list[str] = field(default_factory=list)
    isolation: dict = field(default_factory=dict)  # what is in force; Note [Sandbox views]

    def launch(self) -> tuple[list[str], int | None]:
        """(argv, fd) to start this plan with: under bubblewrap its options travel through a
        pipe (`--args FD`), so that /proc/1/cmdline in the sandbox shows no host path
        (Note [Sandbox views]).  The caller passes `fd` to the child and closes it after."""
        if self.mode != "bwrap" or "--" not in self.argv:
            return list(self.argv), None
        end = self.argv.index("--")
        data = b"".join(a.encode() + b"\0" for a in self.argv[1:end])
        if len(data) > 60_000:  # more than a pipe holds without a reader: pass them plainly
            return list(self.argv), None
        read, write = os.pipe()
        try:
            os.write(write, data)
        finally:
            os.close(write)
        fd = fcntl.fcntl(read, fcntl.F_DUPFD_CLOEXEC, 100)  # clear of the fds children dup2 onto
        os.close(read)
        return [self.argv[0], "--args", str(fd)] + self.argv[end:], fd


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


@functools.lru_cache(maxsize=None)
def bwrap_supports(option: str) -> bool:
    """Whether the installed bubblewrap knows `option` (`--size` came in 0.5, `--perms`
    for mounts in 0.5): older ones keep the host scratch folder (Note [Sandbox views])."""
    help_text = _bwrap_help(bwrap_path())
    return help_text is not None and f"{option} " in help_text


# Note [One bwrap --help]
# A cold worker's plan asks bubblewrap about three options (`--mqueue`, `--size`, `--perms`),
# and each used to run `bwrap --help` of its own: three subprocesses, 5-10 ms each, before
# `grade check` could launch its worker, which is on the critical path (Note [Worker before
# numpy] in grader/worker/launch.py).  The help text is the same for the three: it is read
# once per process and binary, and each option looked up in it.
@functools.lru_cache(maxsize=None)
def _bwrap_help(path: str | None) -> str | None:
    """What `bwrap --help` at `path` prints, or None (Note [One bwrap --help]); from the run
    `ask_bwrap_help_ahead` started, where it did (Note [bwrap --help asked ahead])."""
    if path is None:
        return None
    ahead = _HELP_AHEAD.pop(path, None)
    try:
        if ahead is not None:
            out, err = ahead.communicate(timeout=10)
            return out + err
        done = subprocess.run([path, "--help"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        if ahead is not None:
            ahead.kill()
            ahead.wait()
        return None
    return done.stdout + done.stderr


# Note [bwrap --help asked ahead]
# The one `bwrap --help` of Note [One bwrap --help] is a subprocess the judge waited for while
# it planned the worker's sandbox, just before the launch: 2-15 ms of `grade check`'s wall time
# on the benchmark VM (more under load), the judge idle and the worker not yet started, both on
# the critical path (Note [Worker before numpy] in launch.py).  `grade check` now starts it
# first thing (`ask_bwrap_help_ahead`, before the judge imports the grader's modules and reads
# the manifest), and the plan reads its answer from that process: the same command, the same
# text, asked once per process as before, only sooner; it has long ended when it is read.  A
# run that is never read (a command that stops before its plan) is left to end by itself.
_HELP_AHEAD: dict[str, subprocess.Popen] = {}


def ask_bwrap_help_ahead() -> None:
    """Start `bwrap --help` now for the first plan to read (Note [bwrap --help asked ahead]);
    nothing where bubblewrap is missing or its help is known already."""
    path = bwrap_path()
    if path is None or path in _HELP_AHEAD or _bwrap_help.cache_info().currsize:
        return
    try:
        _HELP_AHEAD[path] = subprocess.Popen([path, "--help"], stdin=subprocess.DEVNULL,
                                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                             text=True)
    except OSError:  # asked in the open when the plan needs it, as before
        pass


def _python_roots(python: str) -> list[str]:
    """Folders an interpreter needs: its prefix, base prefix and real executable's home."""
    real = Path(os.path.realpath(python))
    roots = {str(real.parent.parent)}
    if Path(python).absolute() == Path(sys.executable).absolute():
        roots |= {sys.prefix, sys.base_prefix, sys.exec_prefix}
    else:
        venv = Path(python).absolute().parent.parent
        if (venv / "pyvenv.cfg").exists():
            roots.add(str(venv))
            roots |= _venv_home(venv / "pyvenv.cfg")
    return sorted(r for r in roots if r and Path(r).exists())


def _venv_home(config: Path) -> set[str]:
    """The base installation a virtual environment names in pyvenv.cfg (`home = .../bin`).

    A venv made with --copies (or on a system that copies) holds its own python binary,
    so the real executable's folder is the venv itself; without its base installation
    bound, the worker would load whatever libpython and standard library /usr has,
    silently another Python than the one asked for."""
    try:
        lines = config.read_text().splitlines()
    except OSError:
        return set()
    for line in lines:
        key, sep, value = line.partition("=")
        if sep and key.strip() == "home" and value.strip():
            home = Path(os.path.realpath(value.strip()))
            return {str(home.parent)}
    return set()


def _system_binds(gpu: bool = False) -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.exists():
            args += ["--ro-bind", str(path), str(path)]
    for etc in ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "nsswitch.conf", "passwd", "group",
                "localtime", "hosts"):
        if Path("/etc", etc).exists():
            args += ["--ro-bind", f"/etc/{etc}", f"/etc/{etc}"]
    if gpu and Path("/sys").exists():  # the driver's libraries read the PCI tree (Note [Sandbox views])
        args += ["--ro-bind", "/sys", "/sys"]
    elif Path(SYS_CPU).exists():
        for folder in ("/sys", "/sys/devices", "/sys/devices/system"):
            args += ["--perms", "0755", "--dir", folder]
        args += ["--ro-bind", SYS_CPU, SYS_CPU]
    for device in sorted(Path("/dev").glob("nvidia*")) if gpu else ():  # the driver's nodes
        args += ["--dev-bind", str(device), str(device)]
    return args


def _world_readable(path: str) -> bool:
    """Whether any user can reach and read `path` (every ancestor o+x, the folder o+rx)."""
    current = Path(path)
    for folder in [current, *current.parents]:
        try:
            mode = folder.stat().st_mode
        except OSError:
            return False
        if not mode & 0o001:
            return False
    return bool(current.stat().st_mode & 0o004)


def _parents_readable(path: str, made: set[str]) -> list[str]:
    """Create the ancestors of a bind target world-traversable (bwrap makes them 0700)."""
    args = []
    for parent in reversed(Path(path).parents):
        text = str(parent)
        if text == "/" or text in made or text in ("/usr", "/etc", "/sys", "/tmp"):
            continue
        made.add(text)
        args += ["--perms", "0755", "--dir", text]
    return args


# Note [Worker byte code]
# Inside the sandbox the worker's own modules have no byte code: only the source files are
# bound, and the worker may write nowhere near them (PYTHONDONTWRITEBYTECODE is set too), so
# every worker compiled wire.py and numpy_compat.py on import (3.8 and 1.1 ms on the benchmark
# VM, best of 5), and every zygote runtime.py as well (9.2 ms).  Where the judge's checkout
# holds byte code for them (`make bytecode`, or any run that could write it), each such .pyc
# is bound read-only at the worker folder's __pycache__ (a folder of bubblewrap's, root's,
# 0755): the worker's import system takes it when its header matches the source's size and
# mtime (the bound source is the same file) and its interpreter's cache tag, and compiles the
# source as before otherwise (a stale .pyc, another Python).  Nothing there is writable by the
# worker, and nothing flows back: the judge never imports from the sandbox.  A cold
# worker runs start.py as its script, which Python always compiles (a few lines), and imports
# runtime.py from its byte code (Note [Worker start] in grader/worker/start.py); a zygote runs
# zygote.py as its script, which imports runtime.py the same way.
def _worker_bytecode_binds() -> list[str]:
    """bubblewrap options binding the judge's byte code of WORKER_FILES read-only (Note [Worker
    byte code]); none where there is none."""
    import importlib.util
    found = []
    for name in WORKER_FILES:
        try:
            cached = Path(importlib.util.cache_from_source(str(WORKER_DIR / name)))
        except (NotImplementedError, ValueError):  # no cache tag: no byte code to find
            return []
        if cached.is_file():
            found.append(cached)
    if not found:
        return []
    folder = f"{SANDBOX_WORKER_DIR}/__pycache__"
    args = ["--perms", "0755", "--dir", folder]
    for cached in found:
        args += ["--ro-bind", str(cached), f"{folder}/{cached.name}"]
    return args


# Note [The grader's own folders hidden]
# The worker's view is an allow-list of whole folders (Note [Sandbox]): /usr, the Python
# installation's prefix, the virtual environment.  The grader's own folders (its source, the
# reference solutions, the assignments' checks and hidden samples, the rubrics, the
# templates) are not bound themselves, but they can lie inside one of those folders: a
# checkout at /usr/src/app (the usual working folder of a Python container image, /usr being
# bound), under a conda or /usr/local prefix, or a non-editable install, which puts
# `grader` and `reference` in the bound site-packages (the assignments' checks, planted bugs
# and solutions and the rubrics inside `grader`: Note [Course folder] in
# grader/scoring/assignment.py, so covering the package covers them).  A submission there could read the
# checks and import the reference itself (`from reference.cs231n.layers import *`) and score
# full marks, or read other students' reports in the checkout's out/.  So each of those
# folders that lies inside a folder bound into the sandbox is covered by an empty read-only
# tmpfs, after the binds: the whole checkout where no bound folder lies inside it, else (a
# virtual environment inside the checkout, or an install in site-packages) the grader's
# package, the reference, assignments, rubrics, templates and the usual output and example
# folders.  The worker's own files are bound from their own place at /opt/grader-worker,
# apart from that view.  Where none lies inside (a
# checkout in a home folder, an editable install: the usual case) nothing is added.
def judge_folders(bound: list[Path] | None = None) -> list[Path]:
    """The grader's own folders a worker must never see (Note [The grader's own folders
    hidden]): the whole checkout where it holds no folder the worker needs (`bound`), else its
    package, the reference, and the project folders it reads checks from."""
    import importlib.util
    package = Path(__file__).resolve().parents[1]
    root = package.parent
    if (root / "pyproject.toml").is_file() and not any(_within(b, root) for b in bound or []):
        folders = {root}  # a checkout: its reports, examples and class folders too
    else:  # an install in site-packages, or a checkout holding the virtual environment
        folders = {package, root / "assignments", root / "rubrics", root / "templates",
                   root / "reference", root / "out", root / "grade-reports", root / "examples"}
    try:
        spec = importlib.util.find_spec("reference")  # a top-level name: nothing is imported
    except (ImportError, ValueError):
        spec = None
    for location in (spec.submodule_search_locations or []) if spec else []:
        folders.add(Path(location).resolve())
    return sorted(f for f in folders
                  if f.is_dir() and not any(o != f and _within(f, o) for o in folders))


def _within(path: Path, folder: Path) -> bool:
    """Whether `path` is `folder` or lies inside it (both absolute): by their parts, as
    `folder in path.parents` would say, without building each parent (that was 3 ms of a cold
    worker's plan, on the critical path: Note [Worker before numpy] in launch.py)."""
    return path.parts[:len(folder.parts)] == folder.parts


def _hide_judge_folders(args: list[str]) -> list[str]:
    """bubblewrap options covering each of `judge_folders()` that lies inside a folder `args`
    bind (Note [The grader's own folders hidden])."""
    binds = [(Path(args[i + 1]).resolve(), Path(args[i + 2])) for i, a in enumerate(args[:-2])
             if a in ("--ro-bind", "--bind", "--ro-bind-try", "--bind-try", "--dev-bind")]
    hidden: list[str] = []
    for folder in judge_folders([source for source, _ in binds]):
        for source, target in binds:
            if _within(folder, source):
                inside = str(target / folder.relative_to(source))
                if inside not in hidden:
                    hidden += ["--tmpfs", inside, "--remount-ro", inside]
    return hidden


def _worker_env(home: str, drop: int | None, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.startswith(PASSED_ENV_PREFIXES)}
    if drop is not None:
        env["GRADER_WORKER_UID"] = str(drop)
    env.update(HOME=home, TMPDIR="/tmp", PATH="/usr/bin:/bin", MPLBACKEND="Agg",
               PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1", TF_CPP_MIN_LOG_LEVEL="2")
    env.update(extra or {})
    return env


def plan(python: str, submission: Path, scratch: Path, mode: str = "auto",
         extra_env: dict[str, str] | None = None, gpu: bool = False,
         scratch_bytes: int = 512 << 20, scratch_perms: str = "1777") -> SandboxPlan:
    """Build the command that runs the worker runtime under `python` with `submission` visible.

    `mode` is "bwrap", "rlimits" or "auto" (bwrap when installed).  See Note [Sandbox].
    `extra_env` is set in the worker's environment last (the device's settings,
    Note [Same numbers on a GPU] in grader/worker/devices.py); `gpu` binds the NVIDIA
    device nodes into the sandbox (Note [Choosing the device] there), and the thread pools'
    sizes (Note [Thread pools under a CPU quota] in grader/worker/cgroup.py).
    """
    use_bwrap = mode == "bwrap" or (mode == "auto" and bwrap_path() is not None)
    if mode == "bwrap" and bwrap_path() is None:
        raise RuntimeError("bubblewrap (bwrap) was requested but is not installed")
    drop = worker_uid() if os.geteuid() == 0 else None
    if not use_bwrap:
        notes = ["bubblewrap not available: student code can read the judge's files and reach "
                 "the network; only resource limits apply"]
        if drop is not None and not all(_world_readable(r) for r in _python_roots(python)):
            drop = None  # an unprivileged uid could not even load the standard library
            notes.append("running as root with an interpreter only root can read: the worker "
                         "stays root, so the process-count limit is not enforced")
        return SandboxPlan([python, *WORKER_FLAGS, str(WORKER_DIR / "start.py")],
                           _worker_env(str(scratch), drop, extra_env), "rlimits", str(submission), str(scratch),
                           str(WORKER_DIR), drop, notes,
                           {"ipc": "shared with the host", "scratch": "host folder",
                            "proc": "host", "sys": "host"})
    args = [bwrap_path() or "bwrap", "--die-with-parent", "--new-session", "--unshare-ipc",
            "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
            "--hostname", "sandbox", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    if bwrap_supports("--mqueue"):  # the POSIX queues of this IPC namespace (Note [Sandbox views])
        args += ["--mqueue", "/dev/mqueue"]
    if drop is not None:
        args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    args += _system_binds(gpu)
    made: set[str] = set()
    for root in _python_roots(python):
        args += _parents_readable(root, made) + ["--ro-bind", root, root]
    args += _parents_readable(SANDBOX_WORKER_DIR, made) + ["--perms", "0755", "--dir", SANDBOX_WORKER_DIR]
    for name in WORKER_FILES:
        args += ["--ro-bind", str(WORKER_DIR / name), f"{SANDBOX_WORKER_DIR}/{name}"]
    args += _worker_bytecode_binds()  # Note [Worker byte code]
    args += _hide_judge_folders(args)  # Note [The grader's own folders hidden]
    args += ["--ro-bind", str(submission), SANDBOX_SUBMISSION]
    tmpfs_scratch = bwrap_supports("--size") and bwrap_supports("--perms")
    if tmpfs_scratch:
        args += ["--perms", scratch_perms, "--size", str(scratch_bytes), "--tmpfs", SANDBOX_SCRATCH]
    else:  # an older bubblewrap: the host folder, with the per-file size limit only
        args += ["--bind", str(scratch), SANDBOX_SCRATCH]
    args += ["--chdir", SANDBOX_SCRATCH]
    env = _worker_env(SANDBOX_SCRATCH, drop, extra_env)
    args += ["--clearenv"]
    for key, value in sorted(env.items()):
        args += ["--setenv", key, value]
    args += ["--", python, *WORKER_FLAGS, f"{SANDBOX_WORKER_DIR}/start.py"]  # Note [Worker start]
    return SandboxPlan(args, env, "bwrap", SANDBOX_SUBMISSION, SANDBOX_SCRATCH,
                       SANDBOX_WORKER_DIR, drop,
                       isolation=bwrap_isolation(gpu, scratch_bytes if tmpfs_scratch else 0))


def bwrap_isolation(gpu: bool, scratch_bytes: int, warm: bool = False) -> dict:
    """What a bubblewrap worker's views are, for a result's `environment` (Note [Sandbox views]);
    `scratch_bytes` 0: the host folder (a bubblewrap without --size)."""
    return {"ipc": ("the slot's namespace, found empty before each fork" if warm
                    else "own namespace"),
            "scratch": f"tmpfs of {scratch_bytes >> 20} MiB" if scratch_bytes else "host folder",
            "proc": "own PID namespace, no host paths in its command lines",
            "sys": "host (GPU)" if gpu else "CPU topology only"}


def zygote_plan(python: str, inbox: Path, scratch: Path, control: Path,
                preload: tuple[str, ...] = (), extra_env: dict[str, str] | None = None,
                gpu: bool = False, scratch_bytes: int = 512 << 20) -> SandboxPlan | None:
    """The command for a warm-worker zygote (Note [Warm workers] in grader/worker/zygote.py):
    the same sandbox as a cold worker's, with the slot's `inbox` at /submission, `scratch`
    at /scratch and a root-only `control` folder (the zygote's socket) at /control.  None
    where it would not be safe: only a judge running as root can give each forked worker a
    uid of its own, and only bubblewrap hides the other slots' folders."""
    if os.geteuid() != 0 or bwrap_path() is None:
        return None
    # /scratch is root's here: the zygote makes each worker's own folder in it (zygote.py).
    cold = plan(python, inbox, scratch, "bwrap", extra_env, gpu, scratch_bytes, "0755")
    # The zygote runs Python's own site setup (once per slot, off the critical path: Note [Worker
    # start] in grader/worker/start.py) and zygote.py in place of start.py.
    script = len(WORKER_FLAGS) + 1
    assert cold.argv[-script:] == [*WORKER_FLAGS, f"{SANDBOX_WORKER_DIR}/start.py"], cold.argv[-4:]
    end = cold.argv.index("--")
    argv = (cold.argv[:end] + ["--bind", str(control), SANDBOX_CONTROL]
            + cold.argv[end:-script] + ["-I", f"{SANDBOX_WORKER_DIR}/zygote.py"])
    if preload:
        argv += ["--preload", ",".join(preload)]
    return dataclasses.replace(cold, argv=argv)


def proc_status(pid: str | int) -> dict[str, str] | None:
    """The fields of /proc/PID/status (values unstripped), or None when the process is gone.
    The judge's one reader of it (the zygote, in the worker's environment, has its own)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            return dict(line.split(":", 1) for line in status if ":" in line)
    except OSError:
        return None


def _threads_of_uid(uid: int) -> int:
    """How many threads (what RLIMIT_NPROC counts) `uid` runs now, from /proc."""
    total = 0
    for entry in os.listdir("/proc"):
        fields = proc_status(entry) if entry.isdigit() else None
        if fields is not None and int(fields.get("Uid", "-1").split()[0]) == uid:
            total += int(fields.get("Threads", "1").strip())
    return total


def process_limit(limits: Limits) -> int:
    """RLIMIT_NPROC for a worker.  Run as root, the worker gets a uid of its own
    (Note [One uid per worker]), so the limit is just the allowance; run as a user,
    the count includes everything that user already runs (a desktop has hundreds of
    threads), so the allowance goes on top of what is there now."""
    if os.geteuid() == 0:
        return limits.processes
    return _threads_of_uid(os.geteuid()) + limits.processes


# Note [Memory limit with a GPU]
# The CUDA driver reserves virtual address space far beyond what it uses (tens
# of GB of PROT_NONE mappings for unified addressing), so RLIMIT_AS, which
# counts every mapping, stops CUDA from initialising at all.  A worker that is
# given a GPU is limited by RLIMIT_DATA instead: since Linux 4.7 it counts the
# private writable mappings (the heap, numpy's and torch's buffers, anonymous
# mmaps) and not the reservations, so a memory bomb is still stopped at the
# same size.  GPU memory itself is not limited by any rlimit; the GPU is the
# grading machine's, one submission at a time per GPU.


def memory_rlimit(gpu: bool) -> int:
    """Which rlimit caps the worker's memory; see Note [Memory limit with a GPU]."""
    return resource.RLIMIT_DATA if gpu else resource.RLIMIT_AS


# Note [Open files per submission]
# Every open file of every process takes an entry of the machine's file table
# (/proc/sys/fs/file-max); a process may hold RLIMIT_NOFILE of them (at most
# /proc/sys/fs/nr_open).  Inherited from the judge (often 1024 soft, 20,000 or
# more hard), and times the process limit, that let one submission open 228k files.
# So RLIMIT_NOFILE is chosen with the process limit: open files x processes stays
# within min(file-max / FILE_TABLE_SHARE, MAX_OPEN_FILES_TOTAL), i.e. one worker
# tree can take at most 1/64 of the file table and never more than 65,536 entries,
# and each process keeps at least MIN_OPEN_FILES (Python, numpy, torch need a few
# dozen) and never more than the judge's own hard limit.  With the default 256
# processes on a machine with file-max 2.4M that is 150 files per process, 38,400
# in all.  `limits: open_files:` in a manifest sets the number outright.  The
# processes counted are those of Limits.processes: pids.max of the worker's cgroup
# (Note [Memory per submission] in grader/worker/cgroup.py), else RLIMIT_NPROC.
FILE_TABLE_SHARE = 64
MAX_OPEN_FILES_TOTAL = 1 << 16
MIN_OPEN_FILES = 64


def _read_int(path: str, default: int) -> int:
    try:
        with open(path) as handle:
            return int(handle.read().split()[0])
    except (OSError, ValueError, IndexError):
        return default


def open_files_limit(limits: Limits) -> int:
    """RLIMIT_NOFILE for a worker (Note [Open files per submission])."""
    if limits.open_files:
        return limits.open_files
    file_max = _read_int("/proc/sys/fs/file-max", MAX_OPEN_FILES_TOTAL * FILE_TABLE_SHARE)
    total = min(file_max // FILE_TABLE_SHARE, MAX_OPEN_FILES_TOTAL)
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    ceiling = min(_read_int("/proc/sys/fs/nr_open", 1 << 20),
                  hard if hard != resource.RLIM_INFINITY else 1 << 20)
    return max(1, min(max(MIN_OPEN_FILES, total // max(1, limits.processes)), ceiling))


def limits_in_force(limits: Limits, gpu: bool, tree=None, nproc_enforced: bool = True) -> dict:
    """What a result's environment.isolation says of the resource limits (Note [Sandbox
    views]): memory, whether shared memory counts, processes, open files.  `tree`: the
    worker's cgroup (grader/worker/cgroup.py), None where the rlimits stand alone."""
    nofile = open_files_limit(limits)
    kind = "data" if gpu else "address space"
    if tree is not None:
        facts = tree.describe()
        facts["memory"] += f"; {limits.memory_bytes >> 20} MiB of {kind} per process too"
    else:
        facts = {"memory": f"{limits.memory_bytes >> 20} MiB of {kind} per process (rlimit); "
                           f"no cgroup for the whole submission",
                 "shared_memory": "not counted (memfd, System V and tmpfs pages escape per-process limits)",
                 "processes": (f"{limits.processes} per uid (RLIMIT_NPROC)" if nproc_enforced
                               else "not enforced (the worker runs as root)"),
                 "cpu": "no CPU limit for the whole submission (no cgroup); CPU seconds per process (rlimit)"}
    facts["open_files"] = (f"{nofile} per process, at most {nofile * limits.processes} "
                           f"with {limits.processes} processes")
    return facts


def make_preexec(limits: Limits, gpu: bool = False, tree=None):
    """The function run in the child between fork and exec: its own session and rlimits, and
    with `tree` (grader/worker/cgroup.py) the worker's cgroup, joined before bubblewrap starts."""
    nproc = process_limit(limits)  # computed before fork: no /proc walk in the child
    nofile = open_files_limit(limits)

    def preexec() -> None:
        os.setsid()
        if tree is not None:  # Note [Memory per submission] in grader/worker/cgroup.py
            tree.join_self()
        for limit, value in ((memory_rlimit(gpu), limits.memory_bytes),
                             (resource.RLIMIT_CPU, limits.cpu_seconds),
                             (resource.RLIMIT_FSIZE, limits.file_bytes),
                             (resource.RLIMIT_NPROC, nproc),
                             (resource.RLIMIT_NOFILE, nofile),
                             (resource.RLIMIT_CORE, 0)):
            resource.setrlimit(limit, (value, value))
    return preexec
