"""One cgroup per worker tree: memory (shared memory included), processes and CPU limited for all
of one submission's processes together, where the machine lets the judge make cgroups.

The judge (grader/worker/client.py, grader/worker/warm.py) makes a `TreeCgroup` before each
worker starts, puts the worker in it before any student code runs, asks it after every
request whether its out-of-memory killer struck, and removes it once the tree is dead.

# Note [Memory per submission]
RLIMIT_AS (RLIMIT_DATA with a GPU) limits each process on its own: three forked children of
1.6 GiB each pass a 4 GiB limit, and pages of memfds, System V segments and tmpfs files
written with write() count against no process's address space at all.  A memory cgroup
counts every page any process of the tree faults in, shared memory and tmpfs pages (the
/scratch tmpfs, memfds, SysV shm) included, so `Limits.memory_bytes` becomes the limit of
the whole submission.  Which hierarchy, in this order:
- cgroup v2: a child of the judge's own cgroup (or of the folder named by GRADER_CGROUP, a
  cgroup delegated to the judge, e.g. systemd's `Delegate=yes`) with the memory controller
  enabled: memory.max, memory.swap.max = 0, memory.oom.group = 1 (an out-of-memory kill
  takes the whole tree), pids.max.  A judge whose own cgroup holds processes cannot enable
  controllers for children (the "no internal processes" rule): it needs GRADER_CGROUP.
- cgroup v1 (hybrid machines): a child of the judge's memory cgroup with
  memory.limit_in_bytes and memory.memsw.limit_in_bytes (no swap either), and one of its
  pids cgroup with pids.max when that hierarchy is writable.  v1 kills only the largest
  process; the judge then kills the rest (below).
- neither (not root, nothing delegated, no cgroupfs): the per-process rlimits alone, as
  before.  Shared memory is then not counted; the result says so.
The per-process rlimits stay in force under a cgroup too, so one oversized allocation still
raises MemoryError in the student's code rather than killing the worker.

The worker joins its cgroup before any student code runs: a cold worker in the pre-exec hook,
before bubblewrap is executed (so bubblewrap and everything under it are inside); a warm
worker is forked by the zygote, which cannot reach /sys/fs/cgroup, so the judge moves it by
its host pid (found from the zygote's SO_PEERCRED pid and the child's NSpid) before sending
its first request; only requests import student code.  After every request the judge reads
the cgroup's oom_kill count: any kill (of the worker or of a child it forked) ends the
worker, and the request fails as a crash whose message says the submission's processes
together exceeded the memory limit (cause `crashed`, as a per-process memory kill always was).
Closing a worker kills whatever is left in its cgroup (cgroup.kill on v2, else SIGKILL to each
pid in cgroup.procs until none is left) and removes the folder, so no cgroup outlives its
submission (and a judge that was killed first has its empty cgroups removed by the next
judge to start on the machine).  pids.max is `Limits.processes` and counts threads, as
RLIMIT_NPROC does.  A request that runs out of time after such a kill (a parent waiting for
the child the limit killed) fails as that memory crash too, not as a timeout.  Under
bubblewrap the worker has a cgroup namespace: /proc/self/cgroup shows "/", no host path.
Not counted: GPU memory (no cgroup does); pages of shared files that another cgroup read
first stay charged there (the zygote's numpy and torch, for a warm fork).

# Note [CPU per submission]
Without a CPU controller, fairness between the workers of `grade batch --workers N` rested on
the kernel's autogroup (kernel.sched_autogroup_enabled, which groups by session: each worker
leads one): on a server with autogroup off, a submission that forks 48 spinning processes
(well within pids.max) takes 48 of every 48 + N - 1 time slices, and the other students'
calls run into their time limits; with autogroup or without, its tree alone may use every
idle core.  So where the machine has a cpu controller the tree's cgroup gets it too:
- an equal weight, the kernel's default (v1 cpu.shares 1024, v2 cpu.weight 100), written
  so that every tree has the same whatever the parent says: on a busy machine each tree gets
  the same share however many processes or threads it runs;
- a CFS quota of `Limits.cpus` CPUs (`limits: cpus:` in the manifest, default 1): v1
  cpu.cfs_quota_us / cpu.cfs_period_us, v2 cpu.max, CPU_PERIOD_US (100 ms) a period.  One
  CPU is what every time limit was measured with (one CPU thread of a loaded 2-core machine:
  grader/checks/training_data.py Note [Training budget], the tensorflow and pytorch checks'
  MEASURED) and what `grade batch` gives each worker by default (--workers = the CPU count);
  the torch course helpers already run torch on one thread.  A manifest whose correct work
  needs more says `cpus: 2`; 0 means no quota (the weight stays).
Which hierarchy: v2, the same child folder as the memory limit with `+cpu` enabled in the
parent's subtree_control where the parent has the controller; v1, a child of the judge's own
cgroup in the cpu hierarchy (mounted alone, or as `cpu,cpuacct`) when a probe child gets
cpu.cfs_quota_us.  The worker joins it with the others (cgroup.procs of every folder of
the tree, before any student code runs), a warm fork gets its own, and it is removed with
them.  Where there is none (no cpu hierarchy, not writable, GRADER_CGROUP naming a v1 memory
folder) the tree keeps RLIMIT_CPU per process and the kernel's scheduling as before.  Each
result's `environment.isolation.cpu` says which.  The quota's effect is measured by
benchmarks/cpu_quota.py, not by timed tests: tests/grader/worker/test_cgroup.py checks the
files, and that a spinning tree used no more CPU than its quota allows over the call's wall
time (the kernel's accounting: a bound that a busier machine only loosens).  The controller is
enabled for v2 children after memory and pids and apart from them: a parent that refuses it
(v2 refuses `+cpu` while real-time threads sit in the subtree) keeps the memory limit.

# Note [Thread pools under a CPU quota]
numpy's OpenBLAS, torch's OpenMP and TensorFlow's Eigen pools start one thread per CPU the
process can see (/sys/devices/system/cpu, its affinity), not per CPU its quota allows.  Under
a 1-CPU quota on a 32-core server such a pool's threads spin and yield between calls
(OpenBLAS threads busy-wait after each threaded call before they sleep), and all of that is
charged to the tree's quota: the student's own thread then waits out most of every period.
That would time out correct submissions on exactly the machines with the most cores.  So where
a tree gets a quota, the worker's environment sizes the pools to it (THREAD_POOL_ENV:
OMP_, OPENBLAS_, MKL_NUM_THREADS, TF_NUM_INTRAOP_ and TF_NUM_INTEROP_THREADS, each the quota
rounded up), unless the judge's own environment sets one (passed as it is, as before).  A
warm slot's zygote, which loads numpy for every manifest, is sized to the default quota; a
manifest with more CPUs then gets pools smaller than its quota, never larger.  Measured on the
project's 2-core machine (benchmarks/cpu_quota.py, load average 5, two interleaved rounds): a
numpy training loop under the 1-CPU quota took 1.2-1.4 s of CPU with pools of one thread and
2.5-2.7 s with an OpenBLAS pool of 16, its wall time doubled; four forked spinners used
0.91-0.92 CPUs under the quota, 1.08-1.17 without (all the loaded machine gave them); a
third run at load average 4-6 gave 1.11-1.17 and 2.35-2.68 s for the loop, and one spinner
beside a tree of 49 (both without a quota) 0.37-0.45 CPUs against the 49's 0.41-0.65 (autogroup
is on there too, so this shows the shares do no harm, not what they do alone).  The
worker's numbers may differ from the judge's in the last bits where a library splits a sum
between threads (long dot products); every check compares with a tolerance, and `grade
selftest` of the four numpy assignments, pruning and tensorflow (--quick) gives the same
verdicts with one-thread pools.

# Note [Held at the memory limit]
A tree that reaches its limit is not always killed: the kernel first reclaims what it can
(page cache, the pages of the very libraries the code runs from) and only calls the
out-of-memory killer when nothing is left to reclaim.  Code that touches its pages up to the
limit and goes on working can sit there for its whole call limit, each step waiting for
memory to be reclaimed (seen with a memory bomb held at 4 GiB in examples/fc_nets/cy: 1 run
in 3 ran into its 20 s limit instead of being killed).  Such a call ends as a timeout, and a
bare "no reply within the time limit" sends the student looking for an endless loop.  So
when a request runs out of time the judge reads the tree's memory in use (v2
memory.current, v1 memory.usage_in_bytes) before closing the worker, and when it is within
AT_LIMIT_SHARE of the limit the timeout's message says so, with both figures
(`held_at_limit`).  The status stays `timeout` (the call did run out of time; the points are
0 either way); only the words change.  Memory in use is what counts, not the counters of
past hits (v1 memory.failcnt, v2 memory.events `max`): those also count page cache the
kernel reclaimed harmlessly in an earlier call of the same worker, and would put the memory
limit into the message of a plain endless loop.
"""

from __future__ import annotations

import functools
import math
import os
import secrets
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from . import sandbox

PARENT_ENV = "GRADER_CGROUP"  # a delegated cgroup folder to make the workers' cgroups in; "off": none
AT_LIMIT_SHARE = 1 / 16  # memory in use this close to the limit is "at the limit" (Note [Held at the memory limit])


CPU_PERIOD_US = 100_000  # the CFS period of a tree's CPU quota (the kernel's default)
CPU_WEIGHT_V1, CPU_WEIGHT_V2 = 1024, 100  # every tree the same: the defaults (Note [CPU per submission])


@dataclass(frozen=True)
class Hierarchy:
    """Where workers' cgroups are made.  v2: `memory` is the parent of every limit, `cpu` the
    same folder where its cpu controller is enabled; v1: the memory hierarchy's parent, `pids`
    the pids hierarchy's and `cpu` the cpu hierarchy's (None where not writable)."""
    version: str
    memory: Path
    pids: Path | None = None
    cpu: Path | None = None


def _mounts() -> list[tuple[str, str, str, str]]:
    """(mount point, root within the filesystem, type, super options) of cgroup filesystems."""
    found = []
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return found
    for line in lines:
        fields = line.split()
        if " - " not in line or len(fields) < 10:
            continue
        after = line.split(" - ", 1)[1].split()
        if len(after) >= 3 and after[0] in ("cgroup", "cgroup2"):
            found.append((fields[4].replace("\\040", " "), fields[3], after[0], after[2]))
    return found


def _own_cgroups() -> dict[str, str]:
    """This process's cgroup per controller ("" key: the v2 unified hierarchy)."""
    own = {}
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return own
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) == 3:
            for name in parts[1].split(",") if parts[1] else [""]:
                own[name] = parts[2]
    return own


def _folder(mount_point: str, root: str, path: str) -> Path:
    relative = path[len(root):] if root != "/" and path.startswith(root) else path
    return Path(mount_point) / relative.lstrip("/")


def own_procs_file() -> Path | None:
    """cgroup.procs of this process's own cgroup (its memory controller's, or v2's), where the
    grader puts workers in cgroups; None where it puts none (Note [Cgroup moves primed] in
    grader/batch/job.py)."""
    if find()[0] is None:
        return None
    own = _own_cgroups()
    for point, root, kind, options in _mounts():
        name = "" if kind == "cgroup2" else "memory" if "memory" in options.split(",") else None
        if name is not None and name in own:
            return _folder(point, root, own[name]) / "cgroup.procs"
    return None


def _probe(folder: Path, wanted: str) -> bool:
    """Whether a child folder made in `folder` gets the file `wanted` (the controller works)."""
    child = folder / f"grader-probe-{os.getpid()}-{secrets.token_hex(3)}"
    try:
        child.mkdir()
    except OSError:
        return False
    try:
        return (child / wanted).exists()
    finally:
        try:
            child.rmdir()
        except OSError:
            pass


def _v2_parent(folder: Path) -> tuple[Path | None, str]:
    try:
        controllers = (folder / "cgroup.controllers").read_text().split()
    except OSError:
        return None, f"{folder} is not a cgroup v2 folder"
    if "memory" not in controllers:
        return None, f"the memory controller is not delegated to {folder}"
    try:
        enabled = (folder / "cgroup.subtree_control").read_text().split()
        for name in ("memory", "pids"):
            if name not in enabled and name in controllers:
                (folder / "cgroup.subtree_control").write_text(f"+{name}")
    except OSError as exc:
        return None, (f"cannot enable the memory controller for children of {folder} ({exc.strerror}; "
                      f"a cgroup holding processes cannot: set {PARENT_ENV} to a delegated one)")
    if not _probe(folder, "memory.max"):
        return None, f"cannot make a cgroup with a memory limit in {folder}"
    if "cpu" in controllers and "cpu" not in enabled:  # apart: Note [CPU per submission]
        try:
            (folder / "cgroup.subtree_control").write_text("+cpu")
        except OSError:
            pass
    return folder, ""


def _v2(folder: Path) -> Hierarchy:
    """A v2 hierarchy at `folder`, with its cpu controller where children get one."""
    return Hierarchy("v2", folder, cpu=folder if _probe(folder, "cpu.max") else None)


@functools.lru_cache(maxsize=None)
def find() -> tuple[Hierarchy | None, str]:
    """The hierarchy workers' cgroups are made in, or None and why not (Note [Memory per
    submission]).  Probed once per process: a child folder is made and removed, and the
    empty cgroups of judges that died without removing theirs are removed."""
    hierarchy, why = _find()
    if hierarchy is not None:
        for folder in {hierarchy.memory, hierarchy.pids, hierarchy.cpu} - {None}:
            _sweep(folder)
    return hierarchy, why


def _sweep(folder: Path) -> None:
    """Remove `grader-<pid>-...` cgroups whose judge is gone (a killed judge cannot remove
    its own; rmdir refuses any that still hold a process)."""
    try:
        children = list(folder.iterdir())
    except OSError:
        return
    for child in children:
        parts = child.name.split("-")
        if (len(parts) >= 3 and parts[0] == "grader" and parts[1] != "probe" and parts[1].isdigit()
                and not os.path.exists(f"/proc/{parts[1]}")):
            try:
                child.rmdir()
            except OSError:
                pass


def _find() -> tuple[Hierarchy | None, str]:
    named = os.environ.get(PARENT_ENV)
    if named and named.lower() in ("off", "none"):
        return None, f"cgroups turned off ({PARENT_ENV}=off)"
    if named:
        folder = Path(named)
        if (folder / "cgroup.controllers").exists():
            parent, why = _v2_parent(folder)
            return (_v2(parent) if parent else None), why
        if (folder / "memory.limit_in_bytes").exists() and _probe(folder, "memory.limit_in_bytes"):
            return Hierarchy("v1", folder), ""
        return None, f"{PARENT_ENV}={named} is not a writable memory cgroup"
    mounts, own = _mounts(), _own_cgroups()
    reasons = []
    for point, root, kind, _ in mounts:
        if kind == "cgroup2" and "" in own:
            parent, why = _v2_parent(_folder(point, root, own[""]))
            if parent:
                return _v2(parent), ""
            reasons.append(f"cgroup v2: {why}")
            break
    v1 = {}
    for point, root, kind, options in mounts:
        for name in ("memory", "pids", "cpu"):
            if kind == "cgroup" and name in options.split(",") and name in own and name not in v1:
                v1[name] = _folder(point, root, own[name])
    if "memory" in v1:
        if _probe(v1["memory"], "memory.limit_in_bytes"):
            pids, cpu = v1.get("pids"), v1.get("cpu")
            return Hierarchy("v1", v1["memory"],
                             pids if pids is not None and _probe(pids, "pids.max") else None,
                             cpu if cpu is not None and _probe(cpu, "cpu.cfs_quota_us") else None), ""
        reasons.append(f"cgroup v1: cannot make a memory cgroup in {v1['memory']}")
    return None, "; ".join(reasons) or "no cgroup filesystem with a memory controller is mounted"


class TreeCgroup:
    """The cgroup(s) of one worker tree: made with its limits, joined, watched, removed."""

    def __init__(self, hierarchy: Hierarchy, memory_bytes: int, processes: int,
                 cpus: float = 0) -> None:
        self.hierarchy, self.memory_bytes, self.processes = hierarchy, memory_bytes, processes
        self.cpus = cpus  # the CPU quota, in CPUs; 0: none (Note [CPU per submission])
        name = f"grader-{os.getpid()}-{secrets.token_hex(6)}"
        self.folders = [hierarchy.memory / name] + ([hierarchy.pids / name] if hierarchy.pids else [])
        # v2: the memory folder itself; v1: one more folder, in the cpu hierarchy.
        self.cpu_folder = hierarchy.cpu / name if hierarchy.cpu is not None else None
        if self.cpu_folder is not None and self.cpu_folder not in self.folders:
            self.folders.append(self.cpu_folder)
        self.oom_seen = 0
        self._events_fd: int | None = None  # see oom_kills
        made = []
        try:
            for folder in self.folders:
                folder.mkdir()
                made.append(folder)
            self._set_limits()
        except OSError:
            for folder in reversed(made):
                _rmdir(folder)
            raise
        # Opened now: the pre-exec hook of a cold worker writes its pid with os.write only.
        self._procs_paths = [str(folder / "cgroup.procs") for folder in self.folders]

    def _set_limits(self) -> None:
        memory = self.folders[0]
        if self.hierarchy.version == "v2":
            _write(memory / "memory.max", self.memory_bytes)
            for name, value in (("memory.swap.max", 0), ("memory.oom.group", 1)):
                if (memory / name).exists():
                    _write(memory / name, value)
            if (memory / "pids.max").exists():
                _write(memory / "pids.max", self.processes)
            self._set_cpu()
            return
        _write(memory / "memory.limit_in_bytes", self.memory_bytes)
        if (memory / "memory.memsw.limit_in_bytes").exists():  # after the limit: memsw >= limit
            _write(memory / "memory.memsw.limit_in_bytes", self.memory_bytes)
        if (memory / "memory.swappiness").exists():
            try:
                _write(memory / "memory.swappiness", 0)
            except OSError:
                pass
        if self.hierarchy.pids is not None:
            _write(self.folders[1] / "pids.max", self.processes)
        self._set_cpu()

    def _set_cpu(self) -> None:
        """The tree's CPU weight, the same for every tree, and its quota (Note [CPU per
        submission])."""
        folder = self.cpu_folder
        if folder is None:
            return
        quota = cpu_quota_us(self.cpus)
        if self.hierarchy.version == "v2":
            _write(folder / "cpu.weight", CPU_WEIGHT_V2)
            _write(folder / "cpu.max", f"{quota if quota else 'max'} {CPU_PERIOD_US}")
            return
        _write(folder / "cpu.shares", CPU_WEIGHT_V1)
        _write(folder / "cpu.cfs_period_us", CPU_PERIOD_US)
        _write(folder / "cpu.cfs_quota_us", quota if quota else -1)

    # -- joining ---------------------------------------------------------------
    def join_self(self) -> None:
        """Move the calling process in (a cold worker's pre-exec hook: no allocation-heavy work)."""
        pid = str(os.getpid()).encode()
        for path in self._procs_paths:
            fd = os.open(path, os.O_WRONLY)
            try:
                os.write(fd, pid)
            finally:
                os.close(fd)

    def join(self, pid: int) -> None:
        for path in self._procs_paths:
            with open(path, "w") as handle:
                handle.write(str(pid))

    # -- watching --------------------------------------------------------------
    def oom_kills(self) -> int:
        """How many processes the cgroup's out-of-memory killer has killed so far."""
        # Asked after every request to the worker: the file is opened once and read again from
        # offset 0 (a cgroup file is generated afresh by each read there), 1 microsecond, where
        # opening it each time took 15 (grader/worker/client.py, Note [Request cost]).
        try:
            if self._events_fd is None:
                name = "memory.events" if self.hierarchy.version == "v2" else "memory.oom_control"
                self._events_fd = os.open(self.folders[0] / name, os.O_RDONLY | os.O_CLOEXEC)
            text = os.pread(self._events_fd, 4096, 0).decode("ascii", "replace")
        except OSError:
            return 0
        counts = dict(line.split(None, 1) for line in text.splitlines() if " " in line)
        try:
            return int(counts.get("oom_kill", "0"))
        except ValueError:
            return 0

    def new_oom_kill(self) -> bool:
        """Whether the out-of-memory killer struck since the last time this was asked."""
        kills = self.oom_kills()
        struck, self.oom_seen = kills > self.oom_seen, kills
        return struck

    def memory_in_use(self) -> tuple[int, int] | None:
        """(bytes the tree uses now, its limit in bytes), or None where they cannot be read."""
        names = (("memory.current", "memory.max") if self.hierarchy.version == "v2"
                 else ("memory.usage_in_bytes", "memory.limit_in_bytes"))
        try:
            used, limit = ((self.folders[0] / name).read_text().strip() for name in names)
            return int(used), int(limit) if limit.isdigit() else self.memory_bytes
        except (OSError, ValueError):
            return None

    def held_at_limit(self) -> tuple[int, int] | None:
        """(in use, limit) when the tree's memory sits at or near its limit, else None (Note
        [Held at the memory limit])."""
        use = self.memory_in_use()
        if use is None or use[1] <= 0 or use[0] < use[1] * (1 - AT_LIMIT_SHARE):
            return None
        return use

    def pids(self) -> list[int]:
        found = set()
        for path in self._procs_paths:
            try:
                found |= {int(p) for p in Path(path).read_text().split()}
            except (OSError, ValueError):
                pass
        return sorted(found)

    # -- ending ----------------------------------------------------------------
    def kill(self) -> None:
        """Kill every process still in the cgroup (a fork bomb's children included)."""
        kill_file = self.folders[0] / "cgroup.kill"
        if self.hierarchy.version == "v2" and kill_file.exists():
            try:
                _write(kill_file, 1)
            except OSError:
                pass
        for attempt in range(500):
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            # A killed worker is gone within a millisecond or two, and `grade check` waits for
            # it before it writes its verdict: look again soon at first, then every 10 ms.
            time.sleep(min(0.01, 0.0005 * 2 ** attempt))

    def remove(self) -> None:
        """Kill what is left and remove the folders (retrying while the killed exit)."""
        self.kill()
        fd, self._events_fd = self._events_fd, None
        if fd is not None:
            os.close(fd)
        for folder in self.folders:
            _rmdir(folder)

    def cpu_stat(self) -> dict[str, int]:
        """The cpu controller's counters of the tree (v1 and v2 cpu.stat: nr_periods,
        nr_throttled, throttled_time or throttled_usec, v2 usage_usec too); {} without one."""
        if self.cpu_folder is None:
            return {}
        try:
            lines = (self.cpu_folder / "cpu.stat").read_text().splitlines()
        except OSError:
            return {}
        return {k: int(v) for k, v in (line.split(None, 1) for line in lines if " " in line)
                if v.strip().isdigit()}

    def describe(self) -> dict:
        """What a result's environment.isolation says of these limits (Note [Sandbox views])."""
        return describe(self.hierarchy, self.memory_bytes, self.processes, self.cpus)


def cpu_quota_us(cpus: float) -> int:
    """A tree's CFS quota per CPU_PERIOD_US for `cpus` CPUs; 0: none (Note [CPU per submission])."""
    return max(1000, round(cpus * CPU_PERIOD_US)) if cpus > 0 else 0


def describe(hierarchy: Hierarchy, memory_bytes: int, processes: int, cpus: float = 0) -> dict:
    version = f"cgroup {hierarchy.version}"
    pids = hierarchy.version == "v2" or hierarchy.pids is not None
    return {"memory": f"{memory_bytes >> 20} MiB for the whole submission ({version})",
            "shared_memory": "counted in the memory limit",
            "processes": (f"{processes} threads and processes together ({version} pids.max)" if pids
                          else f"{processes} per uid (RLIMIT_NPROC)"),
            "cpu": describe_cpu(hierarchy, cpus)}


def describe_cpu(hierarchy: Hierarchy | None, cpus: float) -> str:
    """environment.isolation's `cpu` (Note [CPU per submission])."""
    if hierarchy is None or hierarchy.cpu is None:
        return "no CPU limit for the whole submission (no cpu cgroup); CPU seconds per process (rlimit)"
    version = f"cgroup {hierarchy.version}"
    quota = (f"{cpus:g} CPU{'s' if cpus != 1 else ''} for the whole submission" if cpus > 0
             else "no CPU quota")
    weight = "cpu.weight" if hierarchy.version == "v2" else "cpu.shares"
    return f"{quota}, an equal share of a busy machine ({version} {weight})"


# The thread pools a worker's libraries start, sized to its CPU quota where one is in force
# (Note [Thread pools under a CPU quota]); the judge's own setting wins.
THREAD_POOL_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                   "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")


def thread_pool_env(cpus: float) -> dict[str, str]:
    """THREAD_POOL_ENV, each the whole CPUs of a quota of `cpus`, for a worker's environment
    (sandbox.plan's extra_env) where its cgroup will hold that quota, less those the judge's
    environment names (passed as they are); else {} (Note [Thread pools under a CPU quota])."""
    if not cpu_quota_us(cpus) or not has_cpu_controller():
        return {}
    threads = str(max(1, math.ceil(cpus)))
    return {name: threads for name in THREAD_POOL_ENV if name not in os.environ}


def has_cpu_controller() -> bool:
    """Whether workers' cgroups get a CPU quota here (Note [CPU per submission])."""
    if os.environ.get(PARENT_ENV, "").lower() in ("off", "none"):
        return False
    hierarchy = find()[0]
    return hierarchy is not None and hierarchy.cpu is not None


def make(memory_bytes: int, processes: int, cpus: float = 0) -> tuple[TreeCgroup | None, str]:
    """A fresh cgroup for one worker tree, or None and why not (the rlimits then stand alone).
    `cpus`: its CPU quota where the machine has a cpu controller, 0 none (Note [CPU per
    submission])."""
    if os.environ.get(PARENT_ENV, "").lower() in ("off", "none"):
        return None, f"cgroups turned off ({PARENT_ENV}=off)"
    hierarchy, why = find()
    if hierarchy is None:
        return None, why
    try:
        return TreeCgroup(hierarchy, memory_bytes, processes, cpus), ""
    except OSError as exc:
        return None, f"cannot make a cgroup in {hierarchy.memory} ({exc.strerror or exc})"


def _write(path: Path, value) -> None:
    with open(path, "w") as handle:
        handle.write(str(value))


def _rmdir(folder: Path) -> None:
    for _ in range(200):  # the killed processes leave the cgroup as they finish exiting
        try:
            folder.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.01)


def host_pid(parent: int, pid_in_namespace: int) -> int | None:
    """The host pid of `parent`'s child that is `pid_in_namespace` in its own PID namespace
    (a zygote's fork, Note [Memory per submission]), from /proc's PPid and NSpid lines."""
    try:  # the kernel's list of the parent's children, where it keeps one; else all of /proc
        entries = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    except OSError:
        entries = []
    for entry in entries or os.listdir("/proc"):
        fields = sandbox.proc_status(entry) if entry.isdigit() else None
        if fields is None:
            continue
        nspid = fields.get("NSpid", "").split()
        if (fields.get("PPid", "").strip() == str(parent) and nspid
                and nspid[-1] == str(pid_in_namespace)):
            return int(entry)
    return None
