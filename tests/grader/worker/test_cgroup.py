"""Limits on the whole submission (grader/worker/cgroup.py, Note [Memory per submission], Note [CPU
per submission]; Note [Open files per submission] in grader/worker/sandbox.py), against hostile
submissions in the style of tests/grader/worker/test_client.py: memory spread over forked
children, memfds and scratch files is counted together; open files times processes stay far
below the file table; a spinning tree uses no more CPU than its quota; no cgroup outlives its
worker, cold or warm.  Memory sizes are kept small (a 512 MiB limit,
children of 300 MiB): the machine is shared.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from grader.worker import cgroup, sandbox
from grader.worker.client import Worker, WorkerCrashed, WorkerTimeout

HIERARCHY, WHY_NOT = cgroup.find()
needs_cgroups = pytest.mark.skipif(
    HIERARCHY is None, reason=f"no writable memory cgroup here ({WHY_NOT}); the per-process "
                              f"rlimits stand alone (Note [Memory per submission])")
needs_cpu = pytest.mark.skipif(
    HIERARCHY is None or HIERARCHY.cpu is None,
    reason=f"no writable cpu cgroup here ({WHY_NOT or 'no cpu controller'}); the kernel's "
           f"scheduling and RLIMIT_CPU stand alone (Note [CPU per submission])")
needs_bwrap = pytest.mark.skipif(sandbox.bwrap_path() is None,
                                 reason="bubblewrap is not installed (apt-get install bubblewrap)")

SMALL = sandbox.Limits(call_timeout_s=30, memory_bytes=512 << 20, processes=64,
                       scratch_bytes=1 << 30)

HOSTILE = """
import os, time
import numpy as np

def double(x):
    return 2 * x

def _touch(mib):
    block = bytearray(mib << 20)
    for i in range(0, len(block), 4096):
        block[i] = 1
    return block

def children(n, mib):
    # Each child stays under the per-process limit; together they do not.
    pids = []
    for _ in range(n):
        pid = os.fork()
        if pid == 0:
            kept = _touch(mib)
            time.sleep(4)
            os._exit(0)
        pids.append(pid)
    return [os.waitpid(pid, 0)[1] for pid in pids]

def waits_for_children(n, mib):
    # The parent waits for a word from each child; one that the limit kills never sends it.
    done_r, done_w = os.pipe()
    for _ in range(n):
        if os.fork() == 0:
            kept = _touch(mib)
            os.write(done_w, b"x")
            time.sleep(60)
            os._exit(0)
    return len(b"".join(os.read(done_r, 1) for _ in range(n)))

def memfds(mib):
    # write() into memfds: pages of shared memory, mapped by no process (RLIMIT_AS never sees them)
    fds = []
    for _ in range(mib):
        fd = os.memfd_create("hoard")
        os.write(fd, b"x" * (1 << 20))
        fds.append(fd)
    return len(fds)

def scratch_then_heap(scratch_mib, heap_mib):
    for mib in range(scratch_mib):  # files of 100 MiB: each under the per-file size limit
        with open(f"hoard{mib // 100}.bin", "ab") as handle:
            handle.write(b"x" * (1 << 20))
    kept = _touch(heap_mib)
    return len(kept)

def daemon(token):
    import subprocess, sys
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1000)", token],
                     start_new_session=True)
    return os.getpid()

def memfds_then_loop(mib):
    # Holds the tree near its limit, then runs on: a call held at its memory limit
    held = memfds(mib)
    while True:
        pass

def loop():
    while True:
        pass

def spin(n, cpu_s):
    # n children and the parent each spin until they have used cpu_s seconds of CPU
    pids = []
    for _ in range(n):
        pid = os.fork()
        if pid == 0:
            while time.process_time() < cpu_s:
                pass
            os._exit(0)
        pids.append(pid)
    start = time.process_time()
    while time.process_time() - start < cpu_s:
        pass
    return [os.waitpid(pid, 0)[1] for pid in pids]

def env(name):
    return os.environ.get(name)

def where():
    return open("/proc/self/cgroup").read()

def open_everything(limit):
    # Fork until refused; each child opens files until refused and holds them.
    import struct
    counts_r, counts_w = os.pipe()
    go_r, go_w = os.pipe()
    children = []
    for _ in range(limit):
        try:
            pid = os.fork()
        except OSError:
            break
        if pid == 0:
            os.close(go_w)  # so that the parent's close is the end of the pipe
            opened = 0
            try:
                while True:
                    os.open("/dev/null", os.O_RDONLY)
                    opened += 1
            except OSError:
                pass
            os.write(counts_w, struct.pack("i", opened))
            os.read(go_r, 1)  # hold them until the parent has counted everyone
            os._exit(0)
        children.append(pid)
    total = 0
    for _ in children:
        total += struct.unpack("i", os.read(counts_r, 4))[0]
    os.close(go_w)
    for pid in children:
        os.waitpid(pid, 0)
    return [len(children), total]
"""


@pytest.fixture
def worker(submission):
    made = []

    def make(limits: sandbox.Limits = SMALL, **kwargs) -> Worker:
        made.append(Worker(submission({"layers.py": HOSTILE}), limits=limits, **kwargs))
        return made[-1]

    yield make
    for w in made:
        w.close()


def assert_still_grades(w: Worker) -> None:
    np.testing.assert_array_equal(w.call("layers", "double", np.arange(3.0)).value, [0.0, 2.0, 4.0])


def leftover_cgroups() -> list[str]:
    """Folders this process made in the hierarchies and did not remove."""
    if HIERARCHY is None:
        return []
    prefix = f"grader-{os.getpid()}-"
    return [p.name for folder in {HIERARCHY.memory, HIERARCHY.pids, HIERARCHY.cpu} - {None}
            for p in folder.iterdir() if p.name.startswith(prefix)]


# -- memory of the whole tree ----------------------------------------------------------------

@needs_cgroups
def test_forked_children_together_over_the_limit_kill_the_tree_and_say_memory(worker) -> None:
    w = worker()
    assert_still_grades(w)
    folders = list(w.tree.folders)
    with pytest.raises(WorkerCrashed, match="together exceeded the memory limit of 512 MiB"):
        w.call("layers", "children", 3, 300)
    assert not any(f.exists() for f in folders)  # the tree went, and its cgroup with it
    assert_still_grades(w)


@needs_cgroups
def test_a_parent_left_waiting_for_a_killed_child_is_a_memory_crash_not_a_timeout(worker) -> None:
    w = worker()
    with pytest.raises(WorkerCrashed, match="together exceeded the memory limit of 512 MiB"):
        w.call("layers", "waits_for_children", 3, 300, timeout=8)
    assert_still_grades(w)


# Note [Held at the memory limit] in grader/worker/cgroup.py: a limit of 200 MiB, so that holding
# it is quick; the memory is written into memfds (counted by the cgroup, not by RLIMIT_AS), up to
# 4 MiB below the limit, so that the kernel never has to kill anything.
HELD = sandbox.Limits(call_timeout_s=30, memory_bytes=200 << 20, processes=64,
                      scratch_bytes=64 << 20)


@needs_cgroups
def test_a_call_held_at_its_memory_limit_times_out_saying_so(worker) -> None:
    w = worker(HELD)
    assert_still_grades(w)
    used, limit = w.tree.memory_in_use()
    assert limit == 200 << 20 and used < limit // 2
    with pytest.raises(WorkerTimeout) as timeout:
        w.call("layers", "memfds_then_loop", ((limit - used) >> 20) - 4, timeout=3)
    message = str(timeout.value).splitlines()[0]
    assert message.startswith("no reply within the time limit of 3 s, while the submission's "
                              "processes were at their memory limit (")
    assert " of 200 MiB in use; " in message and message.endswith("; the worker was stopped")
    held = int(message.split("memory limit (")[1].split(" of ")[0])
    assert 200 * (1 - cgroup.AT_LIMIT_SHARE) <= held <= 200
    assert_still_grades(w)  # a fresh worker, its cgroup fresh too


@needs_cgroups
def test_a_plain_endless_loop_times_out_without_a_word_on_memory(worker) -> None:
    w = worker(HELD)
    with pytest.raises(WorkerTimeout) as timeout:
        w.call("layers", "loop", timeout=3)
    assert str(timeout.value).splitlines()[0] == ("no reply within the time limit of 3 s; the "
                                                  "worker was stopped")


@needs_cgroups
def test_without_a_cgroup_the_same_children_pass_the_per_process_limit(worker, monkeypatch) -> None:
    """The fallback, as the result says: each process is limited on its own."""
    monkeypatch.setenv(cgroup.PARENT_ENV, "off")
    w = worker()
    assert w.call("layers", "children", 3, 300).value == [0, 0, 0]
    assert w.tree is None
    assert w.isolation["memory"].startswith("512 MiB of address space per process (rlimit)")
    assert w.isolation["shared_memory"].startswith("not counted")
    assert w.isolation["cpu"].startswith("no CPU limit for the whole submission (no cgroup)")
    assert w.call("layers", "env", "OPENBLAS_NUM_THREADS").value == os.environ.get(
        "OPENBLAS_NUM_THREADS")  # no quota: the libraries' pools as the judge's environment says


@needs_cgroups
def test_memfd_pages_beyond_the_limit_are_stopped(worker) -> None:
    w = worker()
    assert w.call("layers", "memfds", 64).value == 64  # a little is fine
    with pytest.raises(WorkerCrashed, match="exceeded the memory limit of 512 MiB"):
        w.call("layers", "memfds", 800)
    assert_still_grades(w)


@needs_cgroups
@needs_bwrap
def test_scratch_files_count_in_the_memory_limit(worker) -> None:
    w = worker(sandbox_mode="bwrap")
    assert_still_grades(w)
    assert w.isolation["scratch"] == "tmpfs of 1024 MiB"
    assert w.call("layers", "scratch_then_heap", 100, 100).value == 100 << 20
    with pytest.raises(WorkerCrashed, match="exceeded the memory limit of 512 MiB"):
        w.call("layers", "scratch_then_heap", 400, 300)
    assert_still_grades(w)


@needs_cgroups
def test_the_environment_says_which_limits_were_in_force(worker) -> None:
    w = worker()
    assert_still_grades(w)
    version = HIERARCHY.version
    assert w.isolation["memory"] == (f"512 MiB for the whole submission (cgroup {version}); "
                                     f"512 MiB of address space per process too")
    assert w.isolation["shared_memory"] == "counted in the memory limit"
    if version == "v2" or HIERARCHY.pids is not None:
        assert w.isolation["processes"] == f"64 threads and processes together (cgroup {version} pids.max)"
    if HIERARCHY.cpu is not None:
        weight = "cpu.weight" if version == "v2" else "cpu.shares"
        assert w.isolation["cpu"] == (f"1 CPU for the whole submission, an equal share of a busy "
                                      f"machine (cgroup {version} {weight})")
    nofile = sandbox.open_files_limit(SMALL)
    assert w.isolation["open_files"] == f"{nofile} per process, at most {nofile * 64} with 64 processes"
    if w.mode == "bwrap":  # a cgroup namespace: the worker sees its own cgroup as the root
        assert "grader-" not in w.call("layers", "where").value


@needs_cgroups
def test_no_cgroup_is_left_after_twenty_workers(worker) -> None:
    before = leftover_cgroups()
    for run in range(20):
        w = worker()
        assert_still_grades(w)
        if run % 4 == 0:  # one that leaves a setsid() daemon behind
            w.call("layers", "daemon", f"grader-cgroup-{os.getpid()}")
        assert len(w.tree.pids()) >= 1
        w.close()
    assert leftover_cgroups() == before


@needs_cgroups
def test_a_cgroup_catches_a_setsid_daemon_even_without_bubblewrap(worker) -> None:
    """Without bubblewrap's PID namespace a setsid() escape leaves the process group
    (Note [Sandbox]); it does not leave the cgroup."""
    token = f"grader-cgroup-escape-{os.getpid()}-{time.time_ns()}"
    w = worker(sandbox_mode="rlimits")
    assert_still_grades(w)
    w.call("layers", "daemon", token)
    deadline = time.monotonic() + 5
    while not _running(token) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _running(token), "the daemon never started"
    w.close()
    time.sleep(0.3)
    assert _running(token) == []


def _running(token: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ")
                state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):
                continue
            if token.encode() in cmdline and b"pytest" not in cmdline and state != "Z":
                found.append(int(entry))
    return found


# -- open files x processes ------------------------------------------------------------------

def test_open_files_times_processes_stays_within_a_share_of_the_file_table(monkeypatch) -> None:
    for file_max, processes in ((2_466_246, 256), (100_000, 64), (9_223_372_036_854_775_807, 256),
                                (8_000, 4_000)):
        monkeypatch.setattr(sandbox, "_read_int", lambda path, default, fm=file_max:
                            fm if path.endswith("file-max") else 1 << 20)
        nofile = sandbox.open_files_limit(sandbox.Limits(processes=processes))
        budget = max(min(file_max // sandbox.FILE_TABLE_SHARE, sandbox.MAX_OPEN_FILES_TOTAL),
                     sandbox.MIN_OPEN_FILES * processes)
        assert sandbox.MIN_OPEN_FILES <= nofile and nofile * processes <= budget, (file_max, nofile)
    assert sandbox.open_files_limit(sandbox.Limits(open_files=77)) == 77


def test_a_hostile_tree_opens_far_fewer_files_than_the_file_table(worker) -> None:
    limits = sandbox.Limits(call_timeout_s=60)  # the default process allowance, 256
    w = worker(limits)
    assert_still_grades(w)
    if not w.unprivileged:
        pytest.skip("worker runs as root without bubblewrap: the kernel ignores RLIMIT_NPROC for root")
    children, total = w.call("layers", "open_everything", 2000, timeout=60).value
    nofile = sandbox.open_files_limit(limits)
    assert children < limits.processes
    assert total <= nofile * limits.processes <= sandbox.MAX_OPEN_FILES_TOTAL
    assert total < 228_000 // 4, total  # what one submission opened before (issue 14)
    assert children > 10 and total > children * 10  # it did try: the bound, not a broken test


# -- the pieces --------------------------------------------------------------------------------

def test_host_pid_finds_a_child_by_its_pid_in_its_namespace() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert cgroup.host_pid(os.getpid(), child.pid) == child.pid  # same namespace: same pid
        assert cgroup.host_pid(os.getpid(), 1) is None
    finally:
        child.kill()
        child.wait()


def test_a_named_parent_that_is_no_cgroup_is_refused(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(cgroup.PARENT_ENV, str(tmp_path))
    cgroup.find.cache_clear()
    try:
        hierarchy, why = cgroup.find()
        assert hierarchy is None and str(tmp_path) in why
        monkeypatch.setenv(cgroup.PARENT_ENV, "off")
        assert cgroup.make(1 << 30, 10) == (None, f"cgroups turned off ({cgroup.PARENT_ENV}=off)")
    finally:
        cgroup.find.cache_clear()


def test_a_cgroup_kills_what_is_left_in_it_and_goes() -> None:
    if HIERARCHY is None:
        pytest.skip(f"no writable memory cgroup here ({WHY_NOT})")
    tree, why = cgroup.make(256 << 20, 16)
    assert tree is not None, why
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"],
                             preexec_fn=tree.join_self)
    try:
        assert tree.pids() == [child.pid]
        assert tree.oom_kills() == 0 and not tree.new_oom_kill()
        tree.remove()
        assert child.wait(timeout=5) == -9
        assert not any(f.exists() for f in tree.folders)
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()


# -- CPU of the whole tree (Note [CPU per submission]) -----------------------------------------

def _quota(tree: cgroup.TreeCgroup) -> tuple[int, int]:
    """(quota, period) in microseconds, as the kernel holds them for the tree."""
    folder = tree.cpu_folder
    if HIERARCHY.version == "v2":
        quota, period = (folder / "cpu.max").read_text().split()
        return int(quota), int(period)
    return tuple(int((folder / n).read_text()) for n in ("cpu.cfs_quota_us", "cpu.cfs_period_us"))


@needs_cpu
def test_a_worker_tree_lands_in_its_cpu_cgroup_with_the_quota_and_pools_to_match(worker) -> None:
    w = worker(sandbox.Limits(**{**SMALL.__dict__, "cpus": 2}))
    assert_still_grades(w)
    folder = w.tree.cpu_folder
    assert folder in w.tree.folders and folder.parent == HIERARCHY.cpu
    assert _quota(w.tree) == (200_000, 100_000)
    weight = (folder / ("cpu.weight" if HIERARCHY.version == "v2" else "cpu.shares")).read_text()
    assert int(weight) == (100 if HIERARCHY.version == "v2" else 1024)
    members = {int(p) for p in (folder / "cgroup.procs").read_text().split()}
    assert w.process.pid in members and members == set(w.tree.pids())
    for name in cgroup.THREAD_POOL_ENV:  # Note [Thread pools under a CPU quota]
        assert w.call("layers", "env", name).value == os.environ.get(name, "2"), name
    w.close()
    assert not folder.exists()


def _usage_meter(tree: cgroup.TreeCgroup):
    """A function that says how many CPU seconds the tree's processes used since it was made,
    from the kernel's accounting: v2 cpu.stat usage_usec, v1 cpuacct.usage (the tree's own
    cpu folder where cpuacct is mounted with cpu, else a cpuacct cgroup of this test's, which
    the tree's processes join now and their children at fork); and its cleanup."""
    if HIERARCHY.version == "v2":
        start = tree.cpu_stat()["usage_usec"]
        return lambda: (tree.cpu_stat()["usage_usec"] - start) / 1e6, lambda: None
    folder = tree.cpu_folder
    if not (folder / "cpuacct.usage").exists():
        own = cgroup._own_cgroups().get("cpuacct")
        mounts = [(point, root) for point, root, kind, options in cgroup._mounts()
                  if kind == "cgroup" and "cpuacct" in options.split(",")]
        if own is None or not mounts:
            pytest.skip("no cpuacct hierarchy to measure a v1 tree's CPU with")
        folder = cgroup._folder(*mounts[0], own) / f"grader-test-{os.getpid()}-{time.time_ns()}"
        folder.mkdir()
        for pid in tree.pids():
            (folder / "cgroup.procs").write_text(str(pid))
    start = int((folder / "cpuacct.usage").read_text())

    def cleanup() -> None:
        if folder != tree.cpu_folder:
            cgroup._rmdir(folder)  # once the tree is dead
    return lambda: (int((folder / "cpuacct.usage").read_text()) - start) / 1e9, cleanup


@needs_cpu
def test_a_spinning_tree_uses_no_more_cpu_than_its_quota(worker) -> None:
    """Four processes that each spin for 0.25 s of CPU (1.25 s with the parent), under a quota
    of a quarter CPU.  The kernel's accounting must see all of it (the measure is real: a
    bound that nothing reaches proves nothing), and the tree may have used no more than the
    quota allowed over the call's wall time.  The allowance over the quota: twice the rate,
    plus one period's quota and, for each of the five spinning processes, a slice of the
    kernel's bandwidth pool and a tick it may run past the quota before it is stopped (5 ms
    and at most 10 ms: sysctl sched_cfs_bandwidth_slice_us, HZ 100 or more), repaid from the
    next period.  A busier machine only makes the wall time longer and the bound looser: it
    cannot make this fail; how much faster the spinners are without the quota is measured by
    benchmarks/cpu_quota.py, not here."""
    cpus, spinners, each_s = 0.25, 4, 0.25
    w = worker(sandbox.Limits(**{**SMALL.__dict__, "cpus": cpus, "call_timeout_s": 120}))
    assert_still_grades(w)
    used, cleanup = _usage_meter(w.tree)
    try:
        throttled = w.tree.cpu_stat().get("nr_throttled", 0)
        start = time.monotonic()
        assert w.call("layers", "spin", spinners, each_s).value == [0] * spinners
        wall_s = time.monotonic() - start
        total_s = used()
        assert total_s >= (spinners + 1) * each_s * 0.99, total_s  # clocks of 1 ms or finer
        allowance_s = cgroup.cpu_quota_us(cpus) / 1e6 + (spinners + 1) * 0.015
        assert total_s <= 2 * cpus * wall_s + allowance_s, (total_s, wall_s)
        assert w.tree.cpu_stat().get("nr_periods", 0) > 0
        print(f"{total_s:.2f} s of CPU in {wall_s:.2f} s; throttled in "
              f"{w.tree.cpu_stat().get('nr_throttled', 0) - throttled} periods")
    finally:
        w.close()
        cleanup()


# -- warm forks ------------------------------------------------------------------------------

@needs_cgroups
@pytest.mark.skipif(os.geteuid() != 0 or sandbox.bwrap_path() is None,
                    reason="warm workers need the judge to run as root with bubblewrap installed")
def test_each_warm_fork_gets_its_own_cgroup(submission) -> None:
    from grader.worker.warm import SlotPool, WarmWorker
    before = leftover_cgroups()
    with SlotPool(1) as pool:
        assert pool.start(), (pool.slots[0] / "zygote.log").read_text()
        seen = []
        for _ in range(2):
            w = WarmWorker(submission({"layers.py": HOSTILE}), slots=tuple(map(str, pool.slots)),
                           limits=SMALL)
            try:
                assert_still_grades(w)
                assert w.start_kind == "warm", w.notes
                assert w.isolation["memory"].startswith("512 MiB for the whole submission")
                members = w.tree.pids()
                assert len(members) == 1 and members[0] != pool.processes[pool.slots[0]].pid
                seen.append(tuple(w.tree.folders))
                if HIERARCHY.cpu is not None:  # Note [CPU per submission]
                    assert w.tree.cpu_folder in seen[-1] and _quota(w.tree) == (100_000, 100_000)
                    assert w.isolation["cpu"].startswith("1 CPU for the whole submission")
                    assert w.call("layers", "env", "OPENBLAS_NUM_THREADS").value == \
                        os.environ.get("OPENBLAS_NUM_THREADS", "1")  # the zygote's pools too
                with pytest.raises(WorkerCrashed, match="together exceeded the memory limit"):
                    w.call("layers", "children", 3, 300)
                assert_still_grades(w)  # a fresh fork, in a fresh cgroup
                assert w.start_kind == "warm" and tuple(w.tree.folders) != seen[-1]
            finally:
                w.release()
            assert not any(f.exists() for f in seen[-1])
        assert seen[0] != seen[1]
    assert leftover_cgroups() == before


# -- the cgroup v2 file protocol, on a stand-in folder ----------------------------------------
# (this machine's v2 hierarchy has no memory controller; the files are those of
# Documentation/admin-guide/cgroup-v2.rst)

V2_FILES = {"memory.max": "max", "memory.swap.max": "max", "memory.oom.group": "0",
            "pids.max": "max", "memory.events": "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n",
            "cgroup.procs": "", "cgroup.kill": "", "cgroup.controllers": "cpu memory pids",
            "cpu.max": "max 100000", "cpu.weight": "100",
            "cpu.stat": "usage_usec 7\nuser_usec 5\nsystem_usec 2\nnr_periods 3\nnr_throttled 1\n"}


@pytest.fixture
def fake_v2(tmp_path, monkeypatch):
    """A folder that answers like a delegated cgroup v2 parent: children get v2's files."""
    real_mkdir = Path.mkdir

    def mkdir(self, *args, **kwargs):
        real_mkdir(self, *args, **kwargs)
        if self.parent == tmp_path:
            for name, text in V2_FILES.items():
                (self / name).write_text(text)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    (tmp_path / "cgroup.controllers").write_text("cpu memory pids\n")
    (tmp_path / "cgroup.subtree_control").write_text("\n")
    return tmp_path


def test_a_delegated_v2_parent_is_found_and_given_the_controllers(fake_v2, monkeypatch) -> None:
    monkeypatch.setenv(cgroup.PARENT_ENV, str(fake_v2))
    cgroup.find.cache_clear()
    try:
        assert cgroup.find() == (cgroup.Hierarchy("v2", fake_v2, cpu=fake_v2), "")
        assert (fake_v2 / "cgroup.subtree_control").read_text() == "+cpu"  # after +memory, +pids
        (fake_v2 / "cgroup.controllers").write_text("cpu pids\n")
        cgroup.find.cache_clear()
        hierarchy, why = cgroup.find()
        assert hierarchy is None and "memory controller is not delegated" in why
    finally:
        cgroup.find.cache_clear()


def test_a_v2_cgroup_gets_its_limits_and_is_watched_and_killed(fake_v2) -> None:
    tree = cgroup.TreeCgroup(cgroup.Hierarchy("v2", fake_v2, cpu=fake_v2), 512 << 20, 32, 1.5)
    (folder,) = tree.folders
    assert tree.cpu_folder == folder
    assert [(folder / n).read_text() for n in ("memory.max", "memory.swap.max", "memory.oom.group",
                                               "pids.max", "cpu.weight", "cpu.max")] == [
        str(512 << 20), "0", "1", "32", "100", "150000 100000"]
    assert tree.describe() == {"memory": "512 MiB for the whole submission (cgroup v2)",
                               "shared_memory": "counted in the memory limit",
                               "processes": "32 threads and processes together (cgroup v2 pids.max)",
                               "cpu": "1.5 CPUs for the whole submission, an equal share of a "
                                      "busy machine (cgroup v2 cpu.weight)"}
    assert tree.cpu_stat()["usage_usec"] == 7 and tree.cpu_stat()["nr_throttled"] == 1
    assert not tree.new_oom_kill()
    (folder / "memory.events").write_text("oom 1\noom_kill 2\noom_group_kill 1\n")
    assert tree.new_oom_kill() and tree.oom_kills() == 2 and not tree.new_oom_kill()
    tree.join(4242)
    assert (folder / "cgroup.procs").read_text() == "4242"
    (folder / "cgroup.procs").write_text("")
    tree.kill()
    assert (folder / "cgroup.kill").read_text() == "1"


def test_a_v2_cgroup_without_a_quota_keeps_the_weight(fake_v2) -> None:
    tree = cgroup.TreeCgroup(cgroup.Hierarchy("v2", fake_v2, cpu=fake_v2), 512 << 20, 32, 0)
    (folder,) = tree.folders
    assert [(folder / n).read_text() for n in ("cpu.weight", "cpu.max")] == ["100", "max 100000"]
    assert tree.describe()["cpu"] == "no CPU quota, an equal share of a busy machine (cgroup v2 cpu.weight)"
    tree = cgroup.TreeCgroup(cgroup.Hierarchy("v2", fake_v2), 512 << 20, 32, 1)  # no cpu controller
    assert tree.cpu_folder is None and tree.cpu_stat() == {}
    assert tree.describe()["cpu"].startswith("no CPU limit for the whole submission")


def test_a_quota_is_the_cpus_in_each_period() -> None:
    assert [cgroup.cpu_quota_us(c) for c in (1, 2, 0.5, 1.25, 0, -1, 0.001)] == [
        100_000, 200_000, 50_000, 125_000, 0, 0, 1000]  # the kernel's smallest quota is 1 ms


def test_thread_pools_are_sized_to_the_quota_unless_the_judge_says(monkeypatch) -> None:
    """Note [Thread pools under a CPU quota]."""
    for name in cgroup.THREAD_POOL_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(cgroup, "has_cpu_controller", lambda: True)
    assert cgroup.thread_pool_env(1) == dict.fromkeys(cgroup.THREAD_POOL_ENV, "1")
    assert cgroup.thread_pool_env(1.5) == dict.fromkeys(cgroup.THREAD_POOL_ENV, "2")
    assert cgroup.thread_pool_env(0) == {}  # no quota: the pools as the libraries choose
    monkeypatch.setenv("OMP_NUM_THREADS", "8")  # the judge's own setting is passed as it is
    assert "OMP_NUM_THREADS" not in cgroup.thread_pool_env(1)
    monkeypatch.setattr(cgroup, "has_cpu_controller", lambda: False)
    assert cgroup.thread_pool_env(1) == {}  # no cpu cgroup: nothing changes


def test_memory_near_the_limit_is_told_from_memory_below_it(fake_v2) -> None:
    tree = cgroup.TreeCgroup(cgroup.Hierarchy("v2", fake_v2), 512 << 20, 32)
    (folder,) = tree.folders
    assert tree.memory_in_use() is None  # no memory.current: nothing is claimed
    for current, held in (((480 << 20) + 1, True), (480 << 20, True), ((480 << 20) - 1, False),
                          (1 << 20, False)):
        (folder / "memory.current").write_text(f"{current}\n")
        assert tree.memory_in_use() == (current, 512 << 20)
        assert (tree.held_at_limit() is not None) is held, current
    (folder / "memory.max").write_text("max\n")  # unlimited there: the limit the judge asked for
    assert tree.memory_in_use() == (1 << 20, 512 << 20)


def test_the_cgroups_of_a_judge_that_died_are_swept(tmp_path) -> None:
    for name in ("grader-999999999-abc", f"grader-{os.getpid()}-abc", "grader-probe-1-x", "other"):
        (tmp_path / name).mkdir()
    (tmp_path / "grader-999999998-busy").mkdir()
    (tmp_path / "grader-999999998-busy" / "cgroup.procs").write_text("1")  # rmdir refuses: kept
    cgroup._sweep(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([
        "grader-999999998-busy", f"grader-{os.getpid()}-abc", "grader-probe-1-x", "other"])
