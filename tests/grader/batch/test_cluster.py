"""`grade batch --cluster local` / `--scheduler` (grader/batch/cluster.py): the real CLI in a subprocess.

A class of fc_nets submissions (examples/batch/make_class.py: correct ones as a
folder, a zip and a Canvas group; planted bugs; a partial one; a Python 2 zip;
an empty folder) is graded once by the local pool, and each test
grades it on a Dask LocalCluster of two worker processes and compares: the same
scores, statuses and per-check points, nothing lost or duplicated, the gradebook
and grades.csv agreeing with the JSON files (test_batch.assert_consistent).
The --scheduler tests start a real `dask scheduler` and two `dask worker`s on
the loopback.  The scheduler-only tests (crash attribution, Ctrl-C, a lost
scheduler) use a stand-in job that grades nothing, as tests/grader/batch/test_run.py
does.  Runtime on 2 shared cores (load about 5): the unmarked tests about 25 s,
the whole module about 5 minutes; each slow test 15-65 s, up to twice that when
the cores are busier (a LocalCluster starts in 5-15 s there, and each Dask
worker restart costs a few seconds).
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

pytest.importorskip("distributed", reason="the Dask backend needs `distributed` (pyproject.toml)")

HERE = Path(__file__).resolve().parents[1]
ROOT = HERE.parents[1]
GRADE = Path(sys.executable).with_name("grade")


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tb = _load("test_batch_helpers", HERE / "batch" / "test_run.py")  # its helpers, not its tests
make_class = _load("make_class", ROOT / "examples/batch/make_class.py")

KINDS = ("correct", "bug_db", "correct_zip", "partial_ben", "python2_zip", "empty", "canvas",
         "bug_relu_backward")


def grade_batch(klass: Path, out: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(GRADE), "batch", str(klass), "-a", "fc_nets", "-o", str(out), *args],
                          capture_output=True, text=True, timeout=600)


def verdicts(out: Path) -> dict[str, tuple]:
    """What must not depend on where a submission was graded."""
    return {name: (data["status"], data["score"], data["max_score"], data.get("message", ""),
                   tuple((c["id"], c["status"], c["points"], c["max_points"])
                         for c in data["checks"]))
            for name, data in tb.results(out).items()}


@pytest.fixture(scope="module")
def fc_class(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("dask") / "class"
    folder.mkdir()
    for number, kind in enumerate(KINDS, start=1):
        make_class._make(folder, number, kind)
    return folder


@pytest.fixture(scope="module")
def local_verdicts(fc_class, tmp_path_factory) -> dict[str, tuple]:
    """The class graded by the local pool: what every Dask run must reproduce."""
    out = tmp_path_factory.mktemp("local") / "out"
    proc = grade_batch(fc_class, out, "--workers", "2")
    assert proc.returncode == 1, proc.stdout + proc.stderr  # the empty folder cannot be graded
    found = verdicts(out)
    assert len(found) == len(KINDS)
    assert {n for n, v in found.items() if v[0] == "error"} == {"s06_empty"}
    assert found["s01_correct"][1] == 42 and found["s02_bug_db"][1] < 42
    return found


def _process(pid: int) -> tuple[list[bytes], int]:
    """(command line, parent pid) of `pid`; OSError when it is gone."""
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    with open(f"/proc/{pid}/stat") as stat:
        try:
            return cmdline, int(stat.read().rsplit(")", 1)[1].split()[1])
        except (ValueError, IndexError):
            raise OSError(f"cannot read /proc/{pid}/stat") from None


def job_processes(pid: int) -> dict[int, int]:
    """The job processes below `pid` (forks of a Dask worker's job template, `python -m
    grader.batch.template`, or a `python -m grader.batch.cluster` of their own): job pid -> its
    Dask worker."""
    found = {}
    for child in tb.descendants(pid):
        try:
            cmdline, parent = _process(child)
            if b"grader.batch.cluster" in cmdline:
                found[child] = parent
            elif b"grader.batch.template" in cmdline:
                parent_cmdline, grandparent = _process(parent)
                # a fork, not the template; and not of the batch's own template (its
                # similarity job: Note [Templates first on Dask])
                if b"grader.batch.template" in parent_cmdline and grandparent != pid:
                    found[child] = grandparent
        except OSError:
            continue
    return found


def templates(pid: int) -> dict[int, int]:
    """The job templates below `pid` (the batch process): template pid -> its Dask worker."""
    found = {}
    for child in tb.descendants(pid):
        try:
            cmdline, parent = _process(child)
            if b"grader.batch.template" in cmdline and parent != pid and \
                    b"grader.batch.template" not in _process(parent)[0]:
                found[child] = parent
        except OSError:
            continue
    return found


def _no_job_folders(pids) -> bool:
    return not [pid for pid in pids if Path(f"/tmp/grader-batch-job-{pid}").exists()]


# -- the command line -----------------------------------------------------------------------------

def test_cluster_and_scheduler_exclude_each_other(tmp_path) -> None:
    klass = tb.tiny_class(tmp_path / "class", ["ada"])
    for args, message in ((["--cluster", "local", "--scheduler", "tcp://127.0.0.1:8786"],
                           "not allowed with argument"),
                          (["--scheduler", "local"], "--scheduler expects an address like "
                                                     "tcp://HOST:PORT"),
                          (["--cluster", "remote"], "invalid choice: 'remote'")):
        proc = tb.batch(str(klass), "-o", str(tmp_path / "out"), *args)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        assert message in proc.stderr
    assert not (tmp_path / "out").exists()


def test_a_local_batch_does_not_import_dask(tmp_path) -> None:
    klass = tb.tiny_class(tmp_path / "class", ["ada"])
    code = tb.WITH_TINY.replace("sys.exit(main(sys.argv[1:]))",
                                "status = main(sys.argv[1:]); "
                                "print(sorted(m for m in sys.modules if m.split('.')[0] in "
                                "('dask', 'distributed'))); sys.exit(status)")
    proc = subprocess.run([sys.executable, "-c", code, "batch", str(klass), "-a", "tiny", "-o",
                           str(tmp_path / "out"), "-j", "1"], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_unreachable_scheduler_is_a_one_line_command_error(tmp_path) -> None:
    klass, out = tb.tiny_class(tmp_path / "class", ["ada", "ben"]), tmp_path / "out"
    # Nothing listens on the first port; the second answers with bytes that are not Dask's.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    listener.settimeout(1)
    stop = threading.Event()

    def babble() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                continue
            with connection:
                connection.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n" * 8)

    talker = threading.Thread(target=babble, daemon=True)
    talker.start()
    try:
        for port in (_free_port(), listener.getsockname()[1]):
            address = f"tcp://127.0.0.1:{port}"
            proc = tb.batch(str(klass), "-o", str(out), "--scheduler", address, timeout=120)
            assert proc.returncode == 2, proc.stdout + proc.stderr
            lines = proc.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith(
                f"grade: cannot reach the Dask scheduler at {address} ("), proc.stderr
            assert not list((out / "results").glob("*.json"))
            assert tb.db(out, "SELECT COUNT(*) FROM runs") == [(0,)]  # no run was started
    finally:
        stop.set()
        talker.join(timeout=5)
        listener.close()


# -- the same verdicts ----------------------------------------------------------------------------

@pytest.mark.slow
def test_a_local_cluster_grades_as_the_local_run_does(fc_class, local_verdicts, tmp_path) -> None:
    out = tmp_path / "out"
    proc = grade_batch(fc_class, out, "--cluster", "local", "--workers", "2")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"{len(KINDS) - 1} graded now, 0 unchanged, 1 could not be graded" in proc.stdout
    assert "not graded: s06_empty: no Python files found" in proc.stdout
    assert verdicts(out) == local_verdicts
    files = tb.results(out)
    assert not any(data["environment"]["batch"]["job_failure"] for data in files.values())
    assert files["s01_correct"]["environment"]["sandbox"] == "bwrap"
    tb.assert_consistent(out)
    progress = [l for l in proc.stderr.splitlines() if l.startswith("[")]
    assert len(progress) == len(KINDS) and progress[-1].startswith(f"[{len(KINDS)}/{len(KINDS)}] ")
    options = json.loads(tb.db(out, "SELECT options FROM runs")[0][0])
    assert options["cluster"] == "local"


@pytest.mark.slow
def test_a_dask_worker_killed_mid_batch_loses_nothing(fc_class, local_verdicts, tmp_path) -> None:
    out = tmp_path / "out"
    process = subprocess.Popen([str(GRADE), "batch", str(fc_class), "-a", "fc_nets", "-o", str(out),
                                "--cluster", "local", "--workers", "2"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        tb.wait_for(lambda: job_processes(process.pid), 180, "a job process on a Dask worker")
        job, dask_worker = next(iter(job_processes(process.pid).items()))
        doomed = {job, *tb.descendants(job)}
        os.kill(dask_worker, signal.SIGKILL)
        stdout, stderr = process.communicate(timeout=600)
    finally:
        process.kill()
    assert process.returncode == 1, stdout + stderr
    # The job of the dead worker and its student worker stop with it, leaving no folder.
    tb.wait_for(lambda: not any(tb.alive(pid) for pid in doomed), 20, "the orphaned job to stop")
    assert _no_job_folders(doomed)
    assert f"{len(KINDS) - 1} graded now" in stdout  # the empty one could not be graded
    assert verdicts(out) == local_verdicts   # every submission once, as the local run graded it
    assert set(tb.run_of(out).values()) == {1}
    assert not any(d["environment"]["batch"]["job_failure"] for d in tb.results(out).values())
    tb.assert_consistent(out)


@pytest.mark.slow
def test_a_killed_cluster_batch_resumes_with_only_the_missing(fc_class, local_verdicts,
                                                              tmp_path) -> None:
    out = tmp_path / "out"
    process = subprocess.Popen([str(GRADE), "batch", str(fc_class), "-a", "fc_nets", "-o", str(out),
                                "--cluster", "local", "--workers", "2"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        tb.wait_for(lambda: len(list((out / "results").glob("*.json"))) >= 2, 300, "two results")
        below = tb.descendants(process.pid)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        process.kill()
    before = {p.stem: p.read_bytes() for p in (out / "results").glob("*.json")}
    assert 2 <= len(before) < len(KINDS), "the kill came too late to test a resume"
    # The Dask workers, their job processes and the students' workers die with the batch.
    tb.wait_for(lambda: not any(tb.alive(pid) for pid in below), 30, "the batch's processes to end")
    assert _no_job_folders(below)

    proc = grade_batch(fc_class, out, "--cluster", "local", "--workers", "2")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"{len(before)} of {len(KINDS)} submissions unchanged" in proc.stderr
    for name, data in before.items():  # kept byte for byte, not graded again
        assert (out / "results" / f"{name}.json").read_bytes() == data
    runs = tb.run_of(out)
    assert {n for n, r in runs.items() if r == 1} == set(before)
    assert {n for n, r in runs.items() if r == 2} == set(local_verdicts) - set(before)
    assert verdicts(out) == local_verdicts
    tb.assert_consistent(out)


# -- a scheduler of its own -----------------------------------------------------------------------

DASK = Path(sys.executable).with_name("dask")


@pytest.fixture
def dask_scheduler(tmp_path):
    """A `dask scheduler` on the loopback with two `dask worker`s started as the README says:
    one plain (two threads), one offering a GPU; the stand-in job (FAKE_JOB) importable on them.
    Yields address, workers ({name: address}) and the scheduler's process."""
    from types import SimpleNamespace

    from distributed import Client

    info = tmp_path / "scheduler.json"
    (tmp_path / "fake_job.py").write_text(FAKE_JOB)
    # this tree's grader, not the one the venv's editable install points at (a worktree's)
    env = dict(os.environ, PYTHONPATH=f"{tmp_path}{os.pathsep}{ROOT}")
    started = [subprocess.Popen([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0",
                                 "--no-dashboard", "--scheduler-file", str(info)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        tb.wait_for(lambda: _address(info), 120, "the scheduler's address file")
        address = _address(info)
        for name, extra in (("plain", ["--nthreads", "2"]),
                            ("gpu", ["--nthreads", "1", "--resources", "GPU=1"])):
            started.append(subprocess.Popen([str(DASK), "worker", address, "--name", name,
                                             "--no-dashboard", *extra], env=env,
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=180)
            found = client.scheduler_info(n_workers=-1)["workers"]
            names = {w["name"]: a for a, w in found.items()}
        yield SimpleNamespace(address=address, workers=names, process=started[0])
    finally:
        for process in reversed(started):
            process.send_signal(signal.SIGTERM)
        for process in reversed(started):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def _address(info: Path) -> str:
    try:  # the scheduler writes the file in place: it may be there and not complete yet
        return json.loads(info.read_text())["address"]
    except (OSError, ValueError, KeyError):
        return ""


def _gpu_copy_of_tiny(folder: Path) -> str:
    """The tiny assignment as a GPU one (`gpu: true`), in folder/assignments and folder/rubrics."""
    import shutil
    shutil.copytree(tb.DATA / "assignments" / "tiny", folder / "assignments" / "tiny_gpu")
    manifest = folder / "assignments" / "tiny_gpu" / "manifest.yml"
    manifest.write_text(manifest.read_text().replace("id: tiny", "id: tiny_gpu") + "gpu: true\n")
    (folder / "rubrics").mkdir()
    shutil.copyfile(tb.DATA / "rubrics" / "tiny.yml", folder / "rubrics" / "tiny_gpu.yml")
    return ("import sys; from pathlib import Path; import grader.scoring.assignment as a; "
            f"a.ASSIGNMENTS_DIR = Path({str(folder / 'assignments')!r}); "
            f"a.RUBRICS_DIR = Path({str(folder / 'rubrics')!r}); "
            "from grader.cli import main; sys.exit(main(sys.argv[1:]))")


@pytest.mark.slow
def test_a_remote_scheduler_grades_as_the_local_run_and_gpu_tasks_go_to_gpu_workers(
        dask_scheduler, tmp_path) -> None:
    from grader.worker import devices

    address, workers = dask_scheduler.address, dask_scheduler.workers
    klass = tb.tiny_class(tmp_path / "class", ["ada", "ben", "wrong_cy", "empty_dee"])
    local, remote = tmp_path / "local", tmp_path / "remote"
    assert tb.batch(str(klass), "-o", str(local), "-j", "2").returncode == 1
    proc = tb.batch(str(klass), "-o", str(remote), "--scheduler", address)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # empty_dee cannot be graded
    assert "3 graded now, 0 unchanged, 1 could not be graded" in proc.stdout
    assert verdicts(remote) == verdicts(local)
    assert tb.results(remote)["ada"]["score"] == 4 and tb.results(remote)["wrong_cy"]["score"] < 4
    tb.assert_consistent(remote)
    options = json.loads(tb.db(remote, "SELECT options FROM runs")[0][0])
    assert options["cluster"] == address

    # A GPU assignment with --device cuda: this machine may have no GPU (the parent need not),
    # and only the worker offering one takes its tasks.
    with_gpu_tiny = _gpu_copy_of_tiny(tmp_path / "gpu")
    gpu_out = tmp_path / "gpu_out"
    proc = subprocess.run([sys.executable, "-c", with_gpu_tiny, "batch", str(klass),
                           "-a", "tiny_gpu", "-o", str(gpu_out), "--scheduler", address,
                           "--device", "cuda"],
                          capture_output=True, text=True, timeout=600)
    files = tb.results(gpu_out)
    assert sorted(files) == ["ada", "ben", "empty_dee", "wrong_cy"], proc.stdout + proc.stderr
    if devices.gpus():
        assert files["ada"]["score"] == 4
        assert files["ada"]["environment"]["device"].startswith("cuda")
    else:
        assert proc.returncode == 1
        for data in files.values():
            assert data["status"] == "error"
            assert data["message"] == (f"could not be graded on the Dask cluster: Dask worker "
                                       f"{workers['gpu']} ({socket.gethostname()}) offers the GPU "
                                       f"resource but has no NVIDIA GPU the driver lists")
            assert data["environment"]["batch"]["job_failure"]  # tried again by the next run
    assert "note: with --scheduler" not in proc.stderr
    # --device auto (the default) cannot see the workers' GPUs from here: the CPU, said so
    auto_out = tmp_path / "auto_out"
    proc = subprocess.run([sys.executable, "-c", with_gpu_tiny, "batch", str(klass),
                           "-a", "tiny_gpu", "-o", str(auto_out), "--scheduler", address],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # empty_dee
    assert ("note: with --scheduler, tiny_gpu runs on the Dask workers' CPUs; --device cuda "
            "runs it on workers started with --resources GPU=1") in proc.stderr
    assert verdicts(auto_out) == verdicts(local)
    assert tb.results(auto_out)["ada"]["environment"]["device"] == "cpu"


@pytest.mark.slow
def test_a_lost_scheduler_stops_the_batch_as_ctrl_c_does(dask_scheduler, tmp_path) -> None:
    names = [f"s{i}" for i in range(8)]
    klass, out = tb.tiny_class(tmp_path / "class", names), tmp_path / "out"
    run = RUN_FAKE.replace("cluster='local'", "cluster=sys.argv[3]")
    env = dict(os.environ, PYTHONPATH=str(tmp_path), FAKE_JOB_SECONDS="2.0")
    process = subprocess.Popen([sys.executable, "-c", run, str(klass), str(out),
                                dask_scheduler.address], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        tb.wait_for(lambda: len(list((out / "results").glob("*.json"))) >= 1, 180, "a result")
        dask_scheduler.process.kill()
        stdout, stderr = process.communicate(timeout=120)
    finally:
        process.kill()
    outcome = json.loads(stdout)
    assert outcome["interrupted"] and not outcome["failures"], stderr
    assert 1 <= outcome["graded"] == len(tb.results(out)) < len(names)
    assert f"lost the Dask scheduler at {dask_scheduler.address}; the results received are " \
           f"kept" in stderr
    assert "Traceback" not in stderr
    assert tb.db(out, "SELECT status FROM runs") == [("interrupted",)]
    tb.assert_consistent(out)


# -- the scheduler, with a stand-in job -----------------------------------------------------------

FAKE_JOB = '''
import os, signal, time
from grader.scoring.result import SubmissionResult

def grade(spec, job):
    time.sleep(float(os.environ.get("FAKE_JOB_SECONDS", "0.3")))
    if job.id.startswith("crash"):      # the job process dies: its task says how
        os.kill(os.getpid(), signal.SIGKILL)
    if job.id.startswith("killer"):     # takes its Dask worker (the one the job watches) with it
        from grader.batch import job as jobs
        os.kill(jobs.watched_pid(), signal.SIGKILL)
        time.sleep(60)
    return SubmissionResult(spec.assignment, job.id, "graded", 1.0, 4.0, 0.3, {"pid": os.getpid()})
'''
RUN_FAKE = tb.RUN_FAKE.replace("BatchOptions(workers=2)",
                               "BatchOptions(workers=2, cluster='local')")


def fake_cluster_batch(tmp_path: Path, klass: Path, out: Path, seconds: float = 0.3, **popen):
    (tmp_path / "fake_job.py").write_text(FAKE_JOB)
    # Two deaths per task instead of four keep the test short; the logic is the same.
    env = dict(os.environ, PYTHONPATH=str(tmp_path), FAKE_JOB_SECONDS=str(seconds),
               DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES="1")
    return subprocess.Popen([sys.executable, "-c", RUN_FAKE, str(klass), str(out)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


@pytest.mark.slow
def test_a_task_that_kills_its_workers_ends_as_an_error_naming_why(tmp_path) -> None:
    names = ["ada", "ben", "crash_cy", "dee", "killer_eve", "fay"]
    klass, out = tb.tiny_class(tmp_path / "class", names), tmp_path / "out"
    stdout, stderr = fake_cluster_batch(tmp_path, klass, out).communicate(timeout=600)
    outcome = json.loads(stdout)
    assert outcome["graded"] == len(names), stderr
    failures = dict(outcome["failures"])
    assert sorted(failures) == ["crash_cy", "killer_eve"]
    assert failures["crash_cy"].startswith("the grading process ended abruptly (signal SIGKILL")
    assert failures["killer_eve"].startswith("the grading process ended abruptly (its Dask worker "
                                             "died 2 times while grading it)")
    assert "killer_eve: its Dask worker died 2 times while grading it; grading it again" in stderr
    files = tb.results(out)
    assert all(files[n]["status"] == "graded" for n in ("ada", "ben", "dee", "fay"))
    assert files["killer_eve"]["environment"]["batch"]["job_failure"].startswith("its Dask worker")
    assert len({files[n]["environment"]["pid"] for n in ("ada", "ben", "dee", "fay")}) == 4
    tb.assert_consistent(out)
    # crashes are not verdicts: the next run grades those two again, and only them
    stdout, _ = fake_cluster_batch(tmp_path, klass, out).communicate(timeout=600)
    assert json.loads(stdout)["graded"] == 2
    assert tb.run_of(out) == {"ada": 1, "ben": 1, "crash_cy": 2, "dee": 1, "killer_eve": 2,
                              "fay": 1}


@pytest.mark.slow
def test_ctrl_c_on_a_cluster_batch_keeps_what_was_graded_and_stops_the_jobs(tmp_path) -> None:
    names = [f"s{i}" for i in range(8)]
    klass, out = tb.tiny_class(tmp_path / "class", names), tmp_path / "out"
    process = fake_cluster_batch(tmp_path, klass, out, seconds=2.0)
    try:
        tb.wait_for(lambda: len(list((out / "results").glob("*.json"))) >= 1, 180, "a result")
        below = tb.descendants(process.pid)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        process.kill()
    outcome = json.loads(stdout)
    assert outcome["interrupted"], stderr
    assert outcome["graded"] <= len(tb.results(out)) < len(names)
    assert tb.db(out, "SELECT status FROM runs") == [("interrupted",)]
    tb.wait_for(lambda: not any(tb.alive(pid) for pid in below), 30,
                "the cluster's processes to end")
    assert _no_job_folders(below)
    tb.assert_consistent(out)


# -- units ----------------------------------------------------------------------------------------

def test_gpu_runs_ask_the_scheduler_for_a_gpu_and_remote_devices_are_taken_as_written() -> None:
    from types import SimpleNamespace

    from grader.worker import devices
    from grader.batch.cluster import cluster_device, task_resources

    assert task_resources(devices.Device("cuda", 1)) == {"GPU": 1}
    assert task_resources(devices.CPU) is None
    # only `gpu` (the manifest's) matters here; loading the real pytorch checks takes seconds
    torch_assignment, numpy_assignment = SimpleNamespace(gpu=True), SimpleNamespace(gpu=False)
    remote = "tcp://127.0.0.1:8786"
    # A login node has no GPU: with --scheduler, cuda is the workers' business.
    assert cluster_device(torch_assignment, remote, "cuda") == devices.Device("cuda", 0)
    assert cluster_device(torch_assignment, remote, "cuda:2") == devices.Device("cuda", 2)
    assert cluster_device(torch_assignment, remote, "auto") == devices.CPU
    assert cluster_device(numpy_assignment, remote, "cuda") == devices.CPU
    with pytest.raises(devices.DeviceError, match="--device must be auto, cpu, cuda or cuda:N"):
        cluster_device(torch_assignment, remote, "gpu0")
    if not devices.gpus():  # --cluster local resolves here, as a local run does
        with pytest.raises(devices.DeviceError, match="no NVIDIA GPU"):
            cluster_device(torch_assignment, "local", "cuda")


def test_a_task_says_which_path_its_worker_lacks(tmp_path) -> None:
    from grader.batch.cluster import run_task

    spec = {"assignment": "tiny", "conventions": {}, "assignments_dir": str(tmp_path),
            "rubrics_dir": str(tmp_path), "sandbox": None, "python": None, "select": None,
            "notebook_mode": None, "device": None, "data_dir": None}
    answer = run_task(spec, {"id": "ada", "path": str(tmp_path / "nowhere"), "members": ()},
                      "grader.batch.job:grade_job")
    assert set(answer) == {"unavailable"}
    assert answer["unavailable"].startswith(f"the submission {tmp_path / 'nowhere'} is not on Dask "
                                            f"worker ")
    assert "a filesystem every worker mounts at the same path" in answer["unavailable"]


@pytest.mark.slow
def test_a_local_cluster_is_quiet_and_leaves_the_settings_of_others_alone(tmp_path) -> None:
    """Note [A quiet LocalCluster]: the scheduler and every worker run with a 1 s tick, no work
    stealing and a 5 s system monitor, the workers without Dask's thread limits; a task still
    runs and comes back; and nothing of it stays in this process's Dask settings (a remote
    --scheduler's client, or the next cluster, sees the defaults)."""
    from types import SimpleNamespace

    import dask

    from grader.batch.cluster import LOCAL, open_cluster
    from grader.worker import devices

    defaults = {key: dask.config.get(key) for key in (
        "distributed.admin.tick.interval", "distributed.scheduler.work-stealing",
        "distributed.admin.system-monitor.interval", "distributed.worker.profile.enabled")}
    scheduler = open_cluster(LOCAL, 2, SimpleNamespace(gpu=False, id="fc_nets"),
                             SimpleNamespace(device=None), devices.CPU)
    try:
        server = scheduler.cluster.scheduler
        assert server.periodic_callbacks["tick"].callback_time == 1000
        assert server.periodic_callbacks["monitor"].callback_time == 5000
        assert "stealing" not in server.extensions
        quiet = scheduler.client.run(lambda dask_worker: (
            dask_worker.periodic_callbacks["tick"].callback_time,
            dask_worker.periodic_callbacks["monitor"].callback_time,
            "profile" in dask_worker.periodic_callbacks,
            os.environ.get("OMP_NUM_THREADS")))
        assert sorted(quiet.values()) == [(1000, 5000, False, None)] * 2
        assert scheduler.client.submit(sum, [1, 2], pure=False).result(timeout=60) == 3
        assert {key: dask.config.get(key) for key in defaults} == defaults
    finally:
        scheduler.close()
    assert defaults["distributed.admin.tick.interval"] != "1s"
    assert defaults["distributed.scheduler.work-stealing"] is True


@pytest.mark.slow
def test_prepare_starts_each_local_workers_template_and_the_tasks_fork_from_it(fc_class,
                                                                               tmp_path) -> None:
    """Note [Templates first on Dask]: after `prepare`, each worker of a LocalCluster has the
    template of the batch's settings before any task, and a task grades in a fork of that one
    (no second template); a remote scheduler's workers get none from `prepare`."""
    import dataclasses
    from types import SimpleNamespace

    from grader.batch.cluster import LOCAL, DaskScheduler, _preload, open_cluster, run_task
    from grader.batch.job import JobSpec, grade_job
    from grader.batch.template import template_key
    from grader.scoring import assignment as assignments
    from grader.worker import devices

    def _worker_templates() -> dict[str, tuple[int, bool]]:
        """On a Dask worker (sent by value, as a nested function): key -> (pid, alive)."""
        from grader.batch import template
        return {key: (t.pid, t.alive()) for key, t in template._templates.items()}

    loaded = assignments.load("fc_nets")
    spec = JobSpec("fc_nets", dict(loaded.conventions), str(assignments.ASSIGNMENTS_DIR),
                   str(assignments.RUBRICS_DIR), None, None, None, None, None, None,
                   secret=loaded.questions.secret, questions_source=loaded.questions.source)
    key = template_key(_preload(dataclasses.asdict(spec), "grader.batch.job:grade_job"))
    scheduler = open_cluster(LOCAL, 2, SimpleNamespace(gpu=False, id="fc_nets"),
                             SimpleNamespace(device=None), devices.CPU)
    try:
        client = scheduler.client
        # as a remote scheduler: prepare leaves its (perhaps shared) workers alone
        DaskScheduler(client, None, "tcp://elsewhere:8786", None, "cpu").prepare(spec, grade_job)
        assert sorted(client.run(_worker_templates).values(), key=str) == [{}, {}]
        scheduler.prepare(spec, grade_job)
        tb.wait_for(lambda: all(found.get(key, (0, False))[1]
                                for found in client.run(_worker_templates).values()), 60,
                    "a template on each Dask worker")
        before = client.run(_worker_templates)
        assert all(list(found) == [key] for found in before.values())
        job = {"id": "s01_correct", "path": str(fc_class / "s01_correct"), "members": ()}
        answers = [client.submit(run_task, dataclasses.asdict(spec), job,
                                 "grader.batch.job:grade_job", workers=[address], pure=False)
                   for address in before]
        for answer in answers:
            assert answer.result(timeout=300)["result"]["score"] == 42
        assert client.run(_worker_templates) == before  # the same template, still the only one
    finally:
        scheduler.close()


def test_a_task_whose_job_hangs_is_killed_at_its_limit_forked_or_fresh(tmp_path,
                                                                       monkeypatch) -> None:
    """Note [A limit per job] on Dask: a task's job that hangs deaf to SIGTERM is killed with its
    children at the spec's limit, in a template's fork and in a fresh Python alike, and the
    batch keeps the same error result as a local batch."""
    import dataclasses

    from types import SimpleNamespace

    from grader.batch import cluster, template
    from grader.batch.job import JobSpec
    from grader.scoring.result import SubmissionResult

    (tmp_path / "fake_job.py").write_text(tb.FAKE_JOB)
    monkeypatch.syspath_prepend(str(tmp_path))  # the template's jobs import it
    monkeypatch.setenv("PYTHONPATH", f"{tmp_path}{os.pathsep}{ROOT}")  # and a fresh Python's
    pids = tmp_path / "pids"
    pids.mkdir()
    monkeypatch.setenv("FAKE_JOB_PIDS", str(pids))
    spec = dataclasses.asdict(JobSpec("tiny", {}, str(tb.DATA / "assignments"),
                                      str(tb.DATA / "rubrics"), None, None, None, job_limit_s=2))

    def request(name: str) -> dict:
        return {"spec": spec, "job": {"id": name, "path": str(tmp_path), "members": []},
                "reference": "fake_job:grade", "watch": os.getpid()}

    try:
        assert cluster._run_forked(spec, "fake_job:grade", request("hang_ben")) == {"timed_out": 2}
    finally:
        template.stop_templates()
    assert cluster._run_fresh(request("hang_cy")) == {"timed_out": 2}
    for name in ("hang_ben", "hang_cy"):
        tb.wait_for(lambda: not any(tb.alive(int(pid))
                                    for pid in (pids / name).read_text().split()), 20,
                    f"{name}'s job and its children to die")
    kept = []
    cluster._settle(SimpleNamespace(id="hang_ben"), {"timed_out": 2},
                    lambda submission, result, failure="": kept.append((result, failure)),
                    lambda submission, why: SubmissionResult("tiny", submission.id, "error", 0.0,
                                                             4.0, 0.0, {}, message=why))
    [(result, failure)] = kept
    assert result.message.startswith("the grader gave up on this submission after 2 s; tell the "
                                     "course staff") and "limit of 2 s" in failure
