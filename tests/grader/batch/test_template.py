"""Job templates on a Dask worker (grader/batch/template.py), driven through cluster.run_task.

run_task is called here directly, in the test process standing for a Dask
worker (outside Dask a task is always wanted), with a stand-in job function
that grades nothing and reports which process it ran in and what it found
loaded.  The real CLI on a LocalCluster and on a `dask scheduler` is
tests/grader/batch/test_cluster.py.  Runtime: about 10 s (each template is a
Python start plus the tiny assignment's load).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from grader.batch import template as templates
from grader.batch.cluster import run_task
from grader.checks.questions import Questions

DATA = Path(__file__).resolve().parents[1] / "data"
ROOT = Path(__file__).resolve().parents[3]

PROBE_JOB = '''
import os, signal, sys
from grader.scoring.result import SubmissionResult

seen = []   # module state: a job that found another job's here would be a leak

def grade(spec, job):
    found = {name: name in sys.modules for name in job.id.split("+")[1:]}
    seen.append(job.id)
    if job.id.startswith("crash"):
        os.kill(os.getpid(), signal.SIGKILL)
    return SubmissionResult(spec.assignment, job.id, "graded", 1.0, 4.0, 0.1,
                            {"pid": os.getpid(), "parent": os.getppid(), "seen": list(seen),
                             "loaded": found})

def slow_exit(seconds):
    # the job's finalizers run after its answer is sent (template._job)
    import multiprocessing.util, time
    multiprocessing.util.Finalize(None, time.sleep, args=(seconds,), exitpriority=0)
    return os.getpid()

def die():
    os.kill(os.getpid(), signal.SIGKILL)

def killed_after_answering():
    import multiprocessing.util
    multiprocessing.util.Finalize(None, os.kill, args=(os.getpid(), signal.SIGKILL),
                                  exitpriority=0)
    return "answered"
'''


@pytest.fixture
def probe(tmp_path, monkeypatch):
    """The stand-in job module, importable here and in every template (PYTHONPATH)."""
    (tmp_path / "probe_template_job.py").write_text(PROBE_JOB)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path), str(ROOT)]))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "probe_template_job:grade"
    templates.stop_templates()


def spec_of(secret: str | None = None, source: str = "public") -> dict:
    return {"assignment": "tiny", "conventions": {}, "assignments_dir": str(DATA / "assignments"),
            "rubrics_dir": str(DATA / "rubrics"), "sandbox": None, "python": None,
            "select": None, "notebook_mode": None, "device": None, "data_dir": None,
            "warm": [], "secret": secret, "questions_source": source}


def task(reference: str, name: str, spec: dict | None = None) -> dict:
    answer = run_task(spec or spec_of(), {"id": name, "path": str(DATA), "members": []},
                      reference)
    return answer


def environment(answer: dict) -> dict:
    assert set(answer) == {"result"}, answer
    return answer["result"]["environment"]


def only_template() -> templates.Template:
    assert len(templates._templates) == 1
    return next(iter(templates._templates.values()))


def test_each_task_is_a_fresh_fork_of_one_template(probe) -> None:
    first = environment(task(probe, "ada"))
    template = only_template()
    answers: list[dict] = []
    threads = [threading.Thread(target=lambda n=n: answers.append(task(probe, n)))
               for n in ("ben", "cy", "dee")]  # concurrent tasks, as with --nthreads 3
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    found = [first, *map(environment, answers)]
    assert len(found) == 4
    assert len({e["pid"] for e in found}) == 4           # a process of its own each
    assert {e["parent"] for e in found} == {template.pid}  # all forks of the one template
    assert template.pid not in {e["pid"] for e in found}  # which never grades
    assert [len(e["seen"]) for e in found] == [1, 1, 1, 1]  # nothing of another job in it
    assert only_template() is template and template.alive()


def test_a_template_loads_its_tasks_questions_and_each_secret_has_its_own(probe) -> None:
    course, other = Questions("c" * 20, "course"), Questions("o" * 20, "batch")
    module = "grader_assignment_checks_tiny"
    names = f"+{module}_q{course.fingerprint}+{module}_q{other.fingerprint}+{module}"
    found = environment(task(probe, "ada" + names, spec_of(course.secret, "course")))
    # the checks module of this task's questions was loaded in the template, before the job
    assert found["loaded"] == {f"{module}_q{course.fingerprint}": True,
                               f"{module}_q{other.fingerprint}": False, module: False}
    first = only_template()
    found = environment(task(probe, "ben" + names, spec_of(other.secret, "batch")))
    assert found["loaded"] == {f"{module}_q{course.fingerprint}": False,
                               f"{module}_q{other.fingerprint}": True, module: False}
    assert len(templates._templates) == 2 and first.alive()
    # the secret went in on the template's stdin, not into its environment
    for template in templates._templates.values():
        assert course.secret.encode() not in Path(f"/proc/{template.pid}/environ").read_bytes()
        assert other.secret.encode() not in Path(f"/proc/{template.pid}/environ").read_bytes()


def test_a_dead_template_is_started_again(probe) -> None:
    environment(task(probe, "ada"))
    dead = only_template()
    os.kill(dead.pid, signal.SIGKILL)
    dead.process.wait(10)
    found = environment(task(probe, "ben"))
    assert only_template() is not dead
    assert found["parent"] == only_template().pid != dead.pid


def test_a_job_that_dies_says_how_and_the_template_goes_on(probe) -> None:
    environment(task(probe, "ada"))
    template = only_template()
    answer = task(probe, "crash_ben")
    assert set(answer) == {"crashed"}
    assert answer["crashed"].startswith("signal SIGKILL"), answer
    assert only_template() is template and template.alive()
    assert environment(task(probe, "cy"))["parent"] == template.pid


def test_a_template_ends_with_its_dask_worker(probe, tmp_path) -> None:
    # a process standing for the Dask worker: one task, then it waits to be killed
    code = ("import sys, time; sys.path.insert(0, sys.argv[1]); "
            "from grader.batch.cluster import run_task; from grader.batch import template; "
            f"import json; spec = json.loads(sys.argv[2]); "
            f"print(run_task(spec, {{'id': 'ada', 'path': {str(DATA)!r}, 'members': []}}, "
            f"'probe_template_job:grade')['result']['environment']['parent'], flush=True); "
            "time.sleep(120)")
    worker = subprocess.Popen([sys.executable, "-c", code, str(tmp_path), json.dumps(spec_of())],
                              stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        template_pid = int(worker.stdout.readline())
        assert Path(f"/proc/{template_pid}").exists()
        worker.kill()
        worker.wait(10)
        deadline = time.monotonic() + 20
        while Path(f"/proc/{template_pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not Path(f"/proc/{template_pid}").exists(), "the template outlived its Dask worker"
    finally:
        worker.kill()


# -- the local pool (ForkPool) ---------------------------------------------------------------------

def test_the_local_pool_starts_another_template_when_its_own_died(probe) -> None:
    pool = templates.ForkPool(2, {})
    try:
        first = pool.submit(os.getppid).result(60)
        assert first == pool.template.pid
        os.kill(first, signal.SIGKILL)
        pool.template.process.wait(10)
        # the next jobs come from a new template, not as deaths
        assert sorted({pool.submit(os.getppid).result(60) for _ in range(3)}) == [pool.template.pid]
        assert pool.template.pid != first
        with pytest.raises(ZeroDivisionError):  # what a job raises, the caller gets
            pool.submit(divmod, 1, 0).result(60)
    finally:
        pool.shutdown()


# -- Note [Forked ahead] ---------------------------------------------------------------------------

def _ended(pool: templates.ForkPool) -> templates.Template:
    """The pool's template once the jobs submitted so far have ended, not only answered (a
    job's future is resolved at its answer, Note [Answer first])."""
    for thread in pool.threads:
        thread.join(60)
    return pool.template


def _spares(template: templates.Template, timeout: float = 20) -> list[int]:
    """The template's children once it has exactly one, its spare (no job runs)."""
    from grader.batch.job import _children
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = _children(template.pid)
        if len(found) == 1:
            return found
        time.sleep(0.05)
    raise AssertionError(f"the template has children {_children(template.pid)}, not one spare")


def test_each_job_is_a_spare_forked_ahead_and_a_dead_spare_is_replaced(probe) -> None:
    from grader.batch.job import _children
    pool = templates.ForkPool(1, {})
    try:
        assert pool.submit(os.getppid).result(60) == pool.template.pid
        spare, = _spares(_ended(pool))
        assert pool.submit(os.getpid).result(60) == spare      # the spare became the job
        killed, = _spares(_ended(pool))                       # the next one, forked ahead
        assert killed != spare
        os.kill(killed, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while killed in _children(pool.template.pid) and time.monotonic() < deadline:
            time.sleep(0.05)                                   # until the template reaped it
        fresh = pool.submit(os.getpid).result(60)              # forked as before
        assert fresh != killed
        assert pool.submit(os.getppid).result(60) == pool.template.pid
        last, = _spares(_ended(pool))
    finally:
        pool.shutdown()
    deadline = time.monotonic() + 10
    while Path(f"/proc/{last}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{last}").exists(), "a spare outlived its template"


# -- Note [Answer first] ---------------------------------------------------------------------------

def test_a_jobs_answer_frees_its_slot_before_it_exits_and_shutdown_waits_for_it(probe) -> None:
    import probe_template_job as job
    pool = templates.ForkPool(1, {})
    try:
        started = time.monotonic()
        pid = pool.submit(job.slow_exit, 1.5).result(60)
        assert time.monotonic() - started < 1.5 and Path(f"/proc/{pid}").exists()
        second = pool.submit(os.getpid).result(60)  # the slot is free: it runs meanwhile
        assert second != pid and Path(f"/proc/{pid}").exists()
    finally:
        pool.shutdown()
    assert not Path(f"/proc/{pid}").exists(), "shutdown returned before its job ended"


def test_a_job_killed_after_it_answered_keeps_its_answer_and_one_that_died_before_did_not(
        probe) -> None:
    import probe_template_job as job
    pool = templates.ForkPool(1, {})
    try:
        assert pool.submit(job.killed_after_answering).result(60) == "answered"
        with pytest.raises(templates.JobDied) as died:
            pool.submit(job.die).result(60)
    finally:
        pool.shutdown()
    assert died.value.status == -signal.SIGKILL


# -- the judge's pytest on a Dask worker -------------------------------------------------------------

TINY_LAYERS = ("import numpy as np\n\ndef relu_forward(x):\n    return np.maximum(0, x), x\n\n"
               "def affine_forward(x, w, b):\n    return x.reshape(x.shape[0], -1) @ w + b, None\n")


@pytest.mark.parametrize("how", ["forked", "fresh"])
def test_a_dask_workers_pytest_settings_do_not_reach_its_jobs(tmp_path, how) -> None:
    """Note [The judge's pytest is the grader's own] in grader/cli.py: a remote Dask worker started
    from a shell or CI job with PYTEST_ADDOPTS/PYTEST_PLUGINS passed them to its template and jobs
    (which never run the CLI's main), and every submission came back "no check ran: pytest
    collected no check (exit code 4)".  A process stands for the worker, with both set."""
    (tmp_path / "ada" / "cs231n").mkdir(parents=True)
    (tmp_path / "ada" / "cs231n" / "layers.py").write_text(TINY_LAYERS)
    job = {"id": "ada", "path": str(tmp_path / "ada"), "members": []}
    code = ("import json, sys; from grader.batch import cluster, template; "
            "spec, job = json.loads(sys.argv[1]), json.loads(sys.argv[2]); "
            "answer = (cluster.run_task(spec, job, 'grader.batch.job:grade_job') "
            "if sys.argv[3] == 'forked' else cluster._run_fresh({'spec': spec, 'job': job, "
            "'reference': 'grader.batch.job:grade_job', 'watch': __import__('os').getpid()})); "
            "template.stop_templates(); print(json.dumps(answer))")
    env = {**os.environ, "PYTHONPATH": str(ROOT),
           "PYTEST_ADDOPTS": f"--junitxml={tmp_path / 'j.xml'} -x -W error",
           "PYTEST_PLUGINS": "xdist_not_installed"}
    done = subprocess.run([sys.executable, "-c", code, json.dumps(spec_of()), json.dumps(job), how],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])["result"]
    assert (result["status"], result["message"]) == ("graded", ""), result["message"]
    assert [(c["id"], c["status"]) for c in result["checks"]] == [
        ("relu_forward/out", "passed"), ("sgd/next_w", "error"), ("affine_forward/out", "passed")]
    assert not (tmp_path / "j.xml").exists()


def test_a_job_gone_with_its_request_unread_is_a_job_that_died_not_a_traceback() -> None:
    """CI saw `ConnectionResetError` in a fork-job thread when Ctrl-C killed a job before it read
    its request: the kernel resets a socket closed with data unread."""
    import socket
    ours, theirs = socket.socketpair()
    status, their_status = socket.socketpair()
    running = templates.RunningJob(0, ours, status, b"x" * 1000)
    time.sleep(0.2)  # the request is in `theirs`, unread
    theirs.close()
    their_status.close()
    deadline = time.monotonic() + 10
    while not running.wait(0.5):
        assert time.monotonic() < deadline
    with pytest.raises(templates.JobDied):
        running.outcome()
    running.close()
