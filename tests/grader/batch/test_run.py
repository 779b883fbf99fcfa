"""`grade batch` end to end (grader/batch/run.py): the real CLI in a subprocess.

Most tests grade a small class with the tiny test assignment (tests/grader/data:
three checks, 2 s call timeout) so that a submission costs about two seconds;
the crash and Ctrl-C tests drive `run_batch` with a stand-in job that grades
nothing, so they test the scheduler alone.  The 40-submission class of
examples/batch/make_class.py with the real fc_nets is marked slow.
Runtime on 2 shared cores: about 35-40 s without the slow test; the slow one
40 s on an idle machine, up to 150 s when other jobs share the cores.
"""

from __future__ import annotations

import csv
import io
import importlib.util
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
DATA = Path(__file__).resolve().parents[1] / "data"
GRADE = Path(sys.executable).with_name("grade")
# The real CLI's main() with the tiny test assignment in place of the course's (as test_cli.py).
WITH_TINY = ("import sys; from pathlib import Path; import grader.scoring.assignment as a; "
             f"a.ASSIGNMENTS_DIR = Path({str(DATA / 'assignments')!r}); "
             f"a.RUBRICS_DIR = Path({str(DATA / 'rubrics')!r}); "
             "from grader.cli import main; sys.exit(main(sys.argv[1:]))")

LAYERS = """
import numpy as np

def relu_forward(x):
    return np.maximum(0, x), x

def affine_forward(x, w, b):
    return x.reshape(x.shape[0], -1) @ w + b, (x, w, b)
"""
OPTIM = """
def sgd(w, dw, config=None):
    config = config or {}
    config.setdefault('learning_rate', 1e-2)
    return w - config['learning_rate'] * dw, config
"""


def tiny_class(folder: Path, names: list[str]) -> Path:
    """A class of correct tiny submissions (one comment line apart), 'wrong_*' ones with a bad
    relu, 'empty_*' ones with no files."""
    for number, name in enumerate(names):
        package = folder / name / "cs231n"
        package.mkdir(parents=True)
        if name.startswith("empty"):
            continue
        layers = LAYERS.replace("np.maximum(0, x)", "np.abs(x)") if name.startswith("wrong") else LAYERS
        (package / "layers.py").write_text(f"# {number}\n{layers}")
        (package / "optim.py").write_text(OPTIM)
    return folder


def batch(*args: str, timeout: float = 300, **popen) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", WITH_TINY, "batch", *args, "-a", "tiny"],
                          capture_output=True, text=True, timeout=timeout, **popen)


def results(out: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted((out / "results").glob("*.json"))}


def db(out: Path, query: str) -> list[tuple]:
    connection = sqlite3.connect(out / "gradebook.sqlite")
    try:
        return connection.execute(query).fetchall()
    finally:
        connection.close()


def run_of(out: Path) -> dict[str, int]:
    return dict(db(out, "SELECT submission_id, run_id FROM results"))


def assert_consistent(out: Path) -> None:
    """grades.csv, the gradebook and the reports say what the JSON files say."""
    files = results(out)
    assert not list((out / "results").glob("*.tmp"))
    with open(out / "grades.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["id"] for r in rows] == sorted(files, key=str.casefold)
    for row in rows:
        data = files[row["id"]]
        graded = data["status"] == "graded"  # Note [An ungraded submission has no score]
        assert (float(row["score"]) if graded else row["score"], row["status"]) == (
            data["score"] if graded else "", data["status"])
        for check in data["checks"]:
            assert float(row[check["id"]]) == check["points"]
    book = {r[0]: r[1:] for r in db(out, "SELECT submission_id, score, status, run_id, json_path "
                                         "FROM results")}
    assert set(book) == set(files)
    for name, data in files.items():
        assert book[name][:3] == (data["score"], data["status"], data["environment"]["batch"]["run"])
        assert Path(book[name][3]) == out / "results" / f"{name}.json"
        assert (out / "reports" / f"{name}.html").exists()
        checks = db(out, f"SELECT check_id, points FROM check_results WHERE submission_id='{name}'")
        assert sorted(checks) == sorted((c["id"], c["points"]) for c in data["checks"])


def descendants(pid: int) -> set[int]:
    """Every living process below `pid`, from /proc."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
                parents[int(entry)] = int(fields[1])
            except (OSError, ValueError, IndexError):
                pass
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


# -- the command line --------------------------------------------------------------------------

def test_bad_commands_exit_2_with_a_message(tmp_path) -> None:
    klass = tiny_class(tmp_path / "class", ["ada"])
    for args, message in (
            ([str(tmp_path / "nowhere"), "-o", str(tmp_path / "out")], "nowhere does not exist"),
            ([str(klass), "-o", str(klass)], "must not be the submissions folder"),
            ([str(klass), "-o", str(tmp_path / "out"), "--workers", "0"], "at least 1"),
            ([str(klass), "-o", str(tmp_path / "out"), "--job-limit", "0"], "above 0"),
            ([str(klass), "-o", str(tmp_path / "out"), "--job-limit", "nan"], "above 0"),
            ([str(klass), "-o", str(tmp_path / "out"), "--convention", "x"], "NAME=VALUE")):
        proc = batch(*args)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        assert message in proc.stderr
    proc = subprocess.run([str(GRADE), "batch", str(klass), "-a", "nope", "-o", str(tmp_path / "o")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "unknown assignment 'nope'" in proc.stderr
    assert not (tmp_path / "out" / "results").exists()


def test_a_second_batch_on_the_same_output_folder_is_refused(tmp_path) -> None:
    import fcntl
    out = tmp_path / "out"
    out.mkdir()
    with open(out / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        proc = batch(str(tiny_class(tmp_path / "class", ["ada"])), "-o", str(out))
    assert proc.returncode == 2 and "another grade batch is writing" in proc.stderr


# -- nothing lost --------------------------------------------------------------------------------

def test_a_batch_killed_midway_resumes_without_losing_or_redoing_work(tmp_path) -> None:
    names = ["ada", "ben", "cy", "dee", "eve", "wrong_fay", "empty_gus"]
    klass, out = tiny_class(tmp_path / "class", names), tmp_path / "out"
    process = subprocess.Popen([sys.executable, "-c", WITH_TINY, "batch", str(klass), "-a", "tiny",
                                "-o", str(out), "--workers", "2"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: len(list((out / "results").glob("*.json"))) >= 2, 120, "two results")
        below = descendants(process.pid)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        process.kill()
    before = {p.stem: p.read_bytes() for p in (out / "results").glob("*.json")}
    assert 2 <= len(before) < len(names), "the kill came too late to test a resume"
    assert below, "the batch had no job processes when it was killed"
    # The job processes, their student workers and the fork server die with the batch.
    wait_for(lambda: not any(alive(pid) for pid in below), 20, "the batch's processes to end")
    assert not [pid for pid in below if Path(f"/tmp/grader-batch-job-{pid}").exists()]

    proc = batch(str(klass), "-o", str(out), "--workers", "2")
    assert proc.returncode == 1, proc.stdout + proc.stderr  # empty_gus cannot be graded
    assert f"{len(before)} of {len(names)} submissions unchanged" in proc.stderr
    assert "not graded: empty_gus: no Python files found" in proc.stdout
    files = results(out)
    assert sorted(files) == sorted(names)  # every submission once, none twice
    for name, data in before.items():      # what existed was kept, byte for byte, not regraded
        assert (out / "results" / f"{name}.json").read_bytes() == data
    runs = run_of(out)
    assert {n for n, r in runs.items() if r == 1} == set(before)
    assert {n for n, r in runs.items() if r == 2} == set(names) - set(before)
    assert db(out, "SELECT id, finished IS NULL FROM runs") == [(1, 1), (2, 0)]
    assert files["ada"]["score"] == files["ada"]["max_score"] == 4
    assert files["wrong_fay"]["score"] < 4 and files["empty_gus"]["status"] == "error"
    assert_consistent(out)
    # plain progress lines when stderr is not a terminal, one per submission graded now
    progress = [l for l in proc.stderr.splitlines() if l.startswith("[")]
    assert len(progress) == len(names) - len(before)
    assert progress[-1].startswith(f"[{len(progress)}/{len(progress)}] ") and "/min, eta" in progress[-1]

    again = batch(str(klass), "-o", str(out))  # nothing changed: nothing graded
    assert again.returncode == 1
    assert "0 graded now, 7 unchanged" in again.stdout
    assert run_of(out) == runs
    assert db(out, "SELECT graded, unchanged FROM runs WHERE id=3") == [(0, 7)]


def test_changed_submissions_and_regrade_are_graded_again(tmp_path) -> None:
    klass, out = tiny_class(tmp_path / "class", ["ada", "ben", "cy"]), tmp_path / "out"
    assert batch(str(klass), "-o", str(out), "-j", "2").returncode == 0
    layers = klass / "ben" / "cs231n" / "layers.py"
    layers.write_text(layers.read_text().replace("np.maximum(0, x)", "np.abs(x)"))
    (klass / "cy" / ".DS_Store").write_text("junk that is not a change")
    proc = batch(str(klass), "-o", str(out), "-j", "2")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert run_of(out) == {"ada": 1, "ben": 2, "cy": 1}
    assert results(out)["ben"]["score"] < 4
    assert batch(str(klass), "-o", str(out), "--regrade", "-j", "2").returncode == 0
    assert run_of(out) == {"ada": 3, "ben": 3, "cy": 3}
    # --select changes what decides a verdict: graded again without --regrade
    proc = batch(str(klass), "-o", str(out), "--select", "relu", "-j", "2")
    assert run_of(out) == {"ada": 4, "ben": 4, "cy": 4}
    assert [c["id"] for c in results(out)["ada"]["checks"]] == ["relu_forward/out"]
    assert_consistent(out)


def test_a_submission_whose_messages_no_utf8_writer_accepts_costs_no_other(tmp_path) -> None:
    """Hostile: Note [No lone surrogates] in grader/worker/wire.py: one student's
    `raise ValueError("\\ud800")` stopped the batch at that student's report, the rest of the
    class ungraded."""
    klass, out = tiny_class(tmp_path / "class", ["ada", "ben", "cy"]), tmp_path / "out"
    layers = klass / "ada" / "cs231n" / "layers.py"
    layers.write_text(layers.read_text().replace("    return np.maximum(0, x), x",
                                                 "    raise ValueError('bad \\ud800 value')"))
    proc = batch(str(klass), "-o", str(out), "-j", "1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    graded = results(out)
    assert sorted(graded) == ["ada", "ben", "cy"]
    assert [graded[name]["score"] for name in ("ada", "ben", "cy")] == [3, 4, 4]
    assert sorted(p.name for p in (out / "reports").iterdir()) == ["ada.html", "ben.html", "cy.html"]


def test_a_folder_or_zip_name_that_is_not_utf8_costs_no_other_submission(tmp_path) -> None:
    """Note [Names that are not UTF-8] in grader/submission/discover.py: a folder whose name is
    not UTF-8 ended the batch before anything was graded; a zip member so named was an internal
    grader error."""
    import os
    from tests.grader.submission.test_stage import zip_with_a_name_that_is_not_utf8
    klass, out = tiny_class(tmp_path / "class", ["ada", "cy"]), tmp_path / "out"
    (klass / "ada").rename(os.fsdecode(bytes(klass) + b"/ad\xffa"))
    zip_with_a_name_that_is_not_utf8(klass / "ben.zip", {"cs231n/layers.py": LAYERS, "cs231n/optim.py": OPTIM})
    proc = batch(str(klass), "-o", str(out), "-j", "1")
    assert proc.returncode == 1, proc.stdout + proc.stderr  # ben's zip could not be graded
    assert "ben: ben.zip is not a valid zip file" in proc.stdout and "internal" not in proc.stdout
    graded = results(out)
    assert [(r["submission"], r["status"], r["score"]) for r in graded.values()] == [
        ("ada", "graded", 4), ("ben", "error", 0), ("cy", "graded", 4)]


def test_a_lost_gradebook_row_and_a_lost_json_are_reconciled(tmp_path) -> None:
    klass, out = tiny_class(tmp_path / "class", ["ada", "ben"]), tmp_path / "out"
    assert batch(str(klass), "-o", str(out), "-j", "2").returncode == 0
    connection = sqlite3.connect(out / "gradebook.sqlite")
    connection.execute("DELETE FROM results WHERE submission_id='ada'")  # as if killed in between
    connection.commit()
    connection.close()
    (out / "results" / "ben.json").unlink()
    (out / "grades.csv").write_text("stale\n")
    proc = batch(str(klass), "-o", str(out), "-j", "2")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 imported, 1 without a result file dropped" in proc.stdout
    assert run_of(out) == {"ada": 1, "ben": 2}   # ada imported from its JSON, ben graded again
    assert_consistent(out)


def test_a_dashboard_that_cannot_be_written_leaves_no_half_page(tmp_path) -> None:
    """Note [Atomic writes leave nothing behind] in grader/report/atomic.py: a dashboard write
    that failed left summary.html.tmp, a whole-looking page, beside "dashboard: not written"."""
    klass, out = tiny_class(tmp_path / "class", ["ada", "ben"]), tmp_path / "out"
    (out / "summary.html").mkdir(parents=True)  # what the page's rename cannot replace
    proc = batch(str(klass), "-o", str(out), "-j", "1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "dashboard: not written (IsADirectoryError" in proc.stdout
    assert sorted(p.name for p in out.rglob("*.tmp")) == []
    assert sorted(results(out)) == ["ada", "ben"] and (out / "grades.csv").is_file()


def test_a_damaged_result_file_is_set_aside_and_its_submission_graded_again(tmp_path) -> None:
    """Note [A damaged result file] in grader/scoring/result.py: a results/<id>.json holding `[]`
    ended `grade batch` in a traceback (AttributeError) before anything was graded."""
    klass, out = tiny_class(tmp_path / "class", ["ada", "ben"]), tmp_path / "out"
    assert batch(str(klass), "-o", str(out), "-j", "1").returncode == 0
    (out / "results" / "ben.json").write_text("[]")
    proc = batch(str(klass), "-o", str(out), "-j", "1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert ("unreadable ones set aside as results/*.json.bad (graded again if still in the "
            "class): ben.json (not a grader.result/1 document (a JSON list))") in proc.stdout
    assert run_of(out) == {"ada": 1, "ben": 2}
    assert (out / "results" / "ben.json.bad").read_text() == "[]"
    assert_consistent(out)


def test_grades_csv_says_why_a_submission_was_not_graded(tmp_path) -> None:
    """Note [Why in grades.csv] in grader/batch/run.py: an ungradable submission was a row of
    0 and "error" with no reason; an instructor had to open each report to tell why."""
    klass, out = tiny_class(tmp_path / "class", ["ada", "empty_bo"]), tmp_path / "out"
    (klass / "dan").mkdir()
    (klass / "dan" / "README.md").write_text("my work is on my drive")
    proc = batch(str(klass), "-o", str(out), "-j", "1")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    with open(out / "grades.csv", newline="") as handle:
        rows = {r["id"]: r for r in csv.DictReader(handle)}
    assert [(i, r["status"], r["message"]) for i, r in rows.items()] == [
        ("ada", "graded", ""),
        ("dan", "error", "no Python files found in dan, which holds only README.md"),
        ("empty_bo", "error", "no Python files found in empty_bo, which is empty")]
    # Note [An ungraded submission has no score] in grader/course/export.py: blank, not a 0
    # that a spreadsheet averages in, as the Canvas export already had it
    assert [(i, r["score"], r["max_score"]) for i, r in rows.items()] == [
        ("ada", "4", "4"), ("dan", "", "4"), ("empty_bo", "", "4")]
    assert f"grades:    {out / 'grades.csv'} (the 2 not graded have a blank score, not 0)\n" in proc.stdout
    assert_consistent(out)


def test_grades_csv_leaves_out_a_result_it_cannot_read_and_says_which(tmp_path) -> None:
    """Note [A damaged result file]: grades.csv, made last, read every JSON again and the batch
    ended in a traceback on one damaged after the reconciliation."""
    from grader.batch.run import write_grades_csv
    from grader.scoring.result import SubmissionResult
    results = tmp_path / "results"
    SubmissionResult("tiny", "ada", "graded", 3, 4, 1.0, {}).write(results / "ada.json")
    (results / "bob.json").write_text("{")
    unreadable: list = []
    assert write_grades_csv(results, tmp_path / "grades.csv", [], {}, None, unreadable) == 1
    assert (tmp_path / "grades.csv").read_text() == "id,name,score,max_score,status,message\nada,ada,3,4,graded,\n"
    assert [(sid, why.split(":")[0]) for sid, why in unreadable] == [("bob", "JSONDecodeError")]
    with pytest.raises(ValueError):
        write_grades_csv(results, tmp_path / "grades.csv", [], {})


# -- the scheduler, with a stand-in job ---------------------------------------------------------

FAKE_JOB = '''
import os, signal, time
from grader.scoring.result import SubmissionResult

def grade(spec, job):
    if job.id.startswith("hang"):  # a judge-side hang (Note [A limit per job])
        hang(job)
    time.sleep(float(os.environ.get("FAKE_JOB_SECONDS", "0.3")))
    if job.id.startswith("crash"):
        os.kill(os.getpid(), signal.SIGKILL)
    return SubmissionResult(spec.assignment, job.id, "graded", 1.0, 4.0, 0.3, {"pid": os.getpid()})

def hang(job):
    """Deaf to SIGTERM (as a job stuck in C code holding the GIL is), with a child in a
    process group of its own (as a student worker is) and one in the job's; the pids in
    FAKE_JOB_PIDS/<id>."""
    import subprocess
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    own = subprocess.Popen(["sleep", "1000"], start_new_session=True)
    same = subprocess.Popen(["sleep", "1000"])
    with open(os.path.join(os.environ["FAKE_JOB_PIDS"], job.id), "w") as handle:
        handle.write(f"{os.getpid()} {own.pid} {same.pid}")
    while True:
        pass

def hang_similarity(spec, submissions):
    """The similarity job, hung (Note [A limit per job])."""
    from types import SimpleNamespace
    hang(SimpleNamespace(id="similarity"))
'''
RUN_FAKE = ("import json, sys; from pathlib import Path; import grader.scoring.assignment as a; "
            f"a.ASSIGNMENTS_DIR = Path({str(DATA / 'assignments')!r}); "
            f"a.RUBRICS_DIR = Path({str(DATA / 'rubrics')!r}); "
            "from grader.batch.run import BatchOptions, run_batch; import fake_job; "
            "o = run_batch(Path(sys.argv[1]), a.load('tiny'), Path(sys.argv[2]), "
            "BatchOptions(workers=2), job=fake_job.grade); "
            "print(json.dumps({'failures': o.failures, 'graded': o.graded, "
            "'interrupted': o.interrupted}))")


def fake_batch(tmp_path: Path, klass: Path, out: Path, seconds: float = 0.3, **popen):
    (tmp_path / "fake_job.py").write_text(FAKE_JOB)
    env = dict(os.environ, PYTHONPATH=str(tmp_path), FAKE_JOB_SECONDS=str(seconds))
    return subprocess.Popen([sys.executable, "-c", RUN_FAKE, str(klass), str(out)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def test_a_crashed_job_process_costs_only_its_submission(tmp_path) -> None:
    klass, out = tiny_class(tmp_path / "class", ["ada", "ben", "crash_cy", "dee", "eve"]), tmp_path / "out"
    stdout, stderr = fake_batch(tmp_path, klass, out).communicate(timeout=120)
    outcome = json.loads(stdout)
    assert outcome["graded"] == 5
    assert [f[0] for f in outcome["failures"]] == ["crash_cy"]
    # The fork server does not always learn how its child ended (then the status reads 255 and
    # the batch says it is unknown, rather than guess); when it does, it is the SIGKILL.
    assert ("the grading process ended abruptly (signal SIGKILL" in outcome["failures"][0][1]
            or "the grading process ended abruptly (killed or crashed; its exit status is unknown"
            in outcome["failures"][0][1])
    assert "one at a time" in stderr
    files = results(out)
    assert all(files[n]["status"] == "graded" for n in ("ada", "ben", "dee", "eve"))
    assert files["crash_cy"]["environment"]["batch"]["job_failure"].startswith(("signal SIGKILL",
                                                                                "killed or crashed"))
    assert len({files[n]["environment"]["pid"] for n in files if n != "crash_cy"}) == 4  # one each
    assert_consistent(out)
    # a crash is not a verdict: the next run tries that submission again, and only it
    stdout, _ = fake_batch(tmp_path, klass, out).communicate(timeout=120)
    assert json.loads(stdout)["graded"] == 1
    assert run_of(out) == {"ada": 1, "ben": 1, "crash_cy": 2, "dee": 1, "eve": 1}


def test_ctrl_c_keeps_what_was_graded_and_stops_the_jobs(tmp_path) -> None:
    names = [f"s{i}" for i in range(8)]
    klass, out = tiny_class(tmp_path / "class", names), tmp_path / "out"
    process = fake_batch(tmp_path, klass, out, seconds=1.5)
    try:
        wait_for(lambda: len(list((out / "results").glob("*.json"))) >= 1, 60, "a result")
        below = descendants(process.pid)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    outcome = json.loads(stdout)
    assert outcome["interrupted"]
    assert outcome["graded"] <= len(results(out)) < len(names)  # at most one kept mid-write
    assert db(out, "SELECT status FROM runs") == [("interrupted",)]
    wait_for(lambda: not any(alive(pid) for pid in below), 20, "the job processes to end")
    assert_consistent(out)


def test_the_template_starts_before_the_zygotes_and_only_when_there_is_work(tmp_path,
                                                                          monkeypatch) -> None:
    """Note [Template first]: the job template is started, then the warm workers, and the jobs
    fork from that very template; a batch with nothing to grade starts neither."""
    import grader.scoring.assignment as assignments
    from grader.batch import run as batch_run

    (tmp_path / "fake_job.py").write_text(FAKE_JOB)
    monkeypatch.syspath_prepend(str(tmp_path))  # the template gets this process's sys.path
    monkeypatch.setattr(assignments, "ASSIGNMENTS_DIR", DATA / "assignments")
    monkeypatch.setattr(assignments, "RUBRICS_DIR", DATA / "rubrics")
    import fake_job
    started = []

    class Recording(batch_run.Template):
        def __init__(self, preload: dict) -> None:
            started.append("template")
            super().__init__(preload)

    monkeypatch.setattr(batch_run, "Template", Recording)
    monkeypatch.setattr(batch_run, "_warm_pool",
                        lambda *args, **kwargs: started.append("zygotes") or (None, ()))
    klass, out = tiny_class(tmp_path / "class", ["ada", "ben"]), tmp_path / "out"
    for expected in (["template", "zygotes"], []):
        started.clear()
        outcome = batch_run.run_batch(klass, assignments.load("tiny"), out,
                                      batch_run.BatchOptions(workers=1), job=fake_job.grade,
                                      stream=io.StringIO())
        assert started == expected and not outcome.failures
        assert outcome.graded == (2 if expected else 0)
    assert {r["status"] for r in results(out).values()} == {"graded"}


def test_similarity_is_made_beside_the_jobs_as_the_batch_would_make_it(tmp_path,
                                                                      monkeypatch) -> None:
    """Note [Similarity beside the jobs]: the document comes from a job of the template, the
    same as the batch process makes, which it still makes itself when that job fails."""
    import grader.scoring.assignment as assignments
    from grader.batch import run as batch_run
    from grader.batch.similarity import similarity_report

    (tmp_path / "fake_job.py").write_text(FAKE_JOB)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(assignments, "ASSIGNMENTS_DIR", DATA / "assignments")
    monkeypatch.setattr(assignments, "RUBRICS_DIR", DATA / "rubrics")
    import fake_job
    made = []
    real = batch_run._similarity
    monkeypatch.setattr(batch_run, "_similarity",
                        lambda out, subs, assignment, report=None: made.append(report)
                        or real(out, subs, assignment, report))
    names = ["ada", "ben", "wrong_cy"]
    klass, out = tiny_class(tmp_path / "class", names), tmp_path / "out"
    batch_run.run_batch(klass, assignments.load("tiny"), out, batch_run.BatchOptions(workers=1),
                        job=fake_job.grade, stream=io.StringIO())
    expected = similarity_report({n: klass / n for n in names}, assignments.load("tiny"))
    assert made == [expected]
    assert json.loads((out / "similarity.json").read_text()) == json.loads(json.dumps(expected))
    # a beside job that fails: the batch process makes the document itself
    monkeypatch.setattr(batch_run, "similarity_job", fake_job.grade)  # raises in the job
    batch_run.run_batch(klass, assignments.load("tiny"), out,
                        batch_run.BatchOptions(workers=1, regrade=True), job=fake_job.grade,
                        stream=io.StringIO())
    assert made[1] is None
    assert json.loads((out / "similarity.json").read_text()) == json.loads(json.dumps(expected))


# -- a whole class ------------------------------------------------------------------------------

def load_make_class():
    spec = importlib.util.spec_from_file_location("make_class", ROOT / "examples/batch/make_class.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_a_class_of_40_grades_to_completion(tmp_path) -> None:
    make_class = load_make_class()
    made = make_class.build(tmp_path / "class", 40)
    kinds = {Path(entry).name.split(".")[0]: kind for entry, kind in made.items()}
    out = tmp_path / "out"
    start = time.monotonic()
    proc = subprocess.run([str(GRADE), "batch", str(tmp_path / "class"), "-a", "fc_nets", "-o", str(out),
                           "--workers", "2"], capture_output=True, text=True, timeout=900)
    seconds = time.monotonic() - start
    assert proc.returncode == 1, proc.stdout + proc.stderr  # the empty folder cannot be graded
    files = results(out)
    assert len(files) == 40
    assert "(canvas layout)" in proc.stdout
    assert "not graded: s05_empty: no Python files found" in proc.stdout
    failures = [l.split(":")[1].strip() for l in proc.stdout.splitlines() if "not graded: " in l]
    assert set(failures) <= {"s05_empty", "s06_notebook"}
    by_kind: dict[str, list[dict]] = {}
    for name, data in files.items():
        by_kind.setdefault(kinds.get(name, "canvas"), []).append(data)
    assert len(by_kind["canvas"]) == 1 and by_kind["canvas"][0]["submission"] == "doe_jane"
    for kind in ("correct", "correct_zip", "correct_loose", "canvas"):
        for data in by_kind[kind]:
            assert data["score"] == data["max_score"] == 42, (kind, data["submission"])
    for kind, (_, _, _, function) in make_class.BUGS.items():
        for data in by_kind[kind]:
            lost = {c["function"] for c in data["checks"] if c["points"] < c["max_points"]}
            assert function in lost and data["score"] < 42, (kind, lost)
    hostile = by_kind["hostile"][0]
    assert hostile["status"] == "graded" and hostile["score"] < 10
    assert hostile["duration_s"] < 150  # its own time limits, not the batch's patience
    assert_consistent(out)
    print(f"40 submissions, --workers 2: {seconds:.0f} s")


# -- Note [Warm job processes] -------------------------------------------------------------------

PROBE = '''
import sys
def loaded(name):
    return name in sys.modules
'''
RUN_PROBE = ("import json, sys; from pathlib import Path; import grader.scoring.assignment as a; "
             f"a.ASSIGNMENTS_DIR = Path({str(DATA / 'assignments')!r}); "
             f"a.RUBRICS_DIR = Path({str(DATA / 'rubrics')!r}); "
             "from grader.batch import run as batch; import probe_job; "
             "spec = batch.JobSpec('tiny', {}, str(a.ASSIGNMENTS_DIR), str(a.RUBRICS_DIR), None, "
             "None, None); "
             "pool = batch._executor(1, spec if sys.argv[1] == 'warm' else None); "
             "print(json.dumps([pool.submit(probe_job.loaded, m).result() "
             "for m in ('grader_assignment_checks_tiny', 'grader.checks.registry_tests')])); "
             "pool.shutdown()")


@pytest.mark.parametrize("mode", ["warm", "cold"])
def test_job_processes_fork_from_a_template_that_loaded_the_assignment(tmp_path, mode) -> None:
    (tmp_path / "probe_job.py").write_text(PROBE)
    completed = subprocess.run([sys.executable, "-c", RUN_PROBE, mode], capture_output=True,
                               text=True, env=dict(os.environ, PYTHONPATH=str(tmp_path)),
                               timeout=120)
    assert completed.returncode == 0, completed.stderr
    # warm: the checks module and pytest's collection of them were there before the job ran
    assert json.loads(completed.stdout) == ([True, True] if mode == "warm" else [False, False])


RUN_PROBE_WITH_SECRET = (
    "import json, sys; from pathlib import Path; import grader.scoring.assignment as a; "
    f"a.ASSIGNMENTS_DIR = Path({str(DATA / 'assignments')!r}); "
    f"a.RUBRICS_DIR = Path({str(DATA / 'rubrics')!r}); "
    "from grader.batch import run as batch; from grader.checks.questions import Questions; "
    "import probe_job; asked = Questions('s' * 20, 'course'); "
    "spec = batch.JobSpec('tiny', {}, str(a.ASSIGNMENTS_DIR), str(a.RUBRICS_DIR), None, None, "
    "None, secret=asked.secret, questions_source='course'); "
    "pool = batch._executor(1, spec); "
    "print(json.dumps([pool.submit(probe_job.loaded, m).result() for m in "
    "('grader_assignment_checks_tiny_q' + asked.fingerprint, 'grader_assignment_checks_tiny')])); "
    "pool.shutdown()")


def test_the_template_loads_the_checks_with_the_batchs_questions(tmp_path) -> None:
    # Note [Warm job processes] with Note [Fresh questions]: the template's checks module is
    # the one the jobs use (the batch's secret), not the public questions' module
    (tmp_path / "probe_job.py").write_text(PROBE)
    completed = subprocess.run([sys.executable, "-c", RUN_PROBE_WITH_SECRET], capture_output=True,
                               text=True, env=dict(os.environ, PYTHONPATH=str(tmp_path)),
                               timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout) == [True, False]


def _in_process(tmp_path: Path, monkeypatch):
    """The tiny assignment and the stand-in job, for run_batch in this process."""
    import grader.scoring.assignment as assignments
    (tmp_path / "fake_job.py").write_text(FAKE_JOB)
    monkeypatch.syspath_prepend(str(tmp_path))  # the template gets this process's sys.path
    monkeypatch.setattr(assignments, "ASSIGNMENTS_DIR", DATA / "assignments")
    monkeypatch.setattr(assignments, "RUBRICS_DIR", DATA / "rubrics")
    import fake_job
    return assignments.load("tiny"), fake_job


def test_a_report_that_fails_to_write_costs_only_that_report(tmp_path, monkeypatch) -> None:
    """Note [A report that fails]: ben's report raises; his result and score are kept, the rest
    of the class is graded and reported, the summary says it, and the next run writes it."""
    from grader.batch import run as batch_run
    assignment, fake_job = _in_process(tmp_path, monkeypatch)
    real = batch_run._render_html

    def render(result):
        if result.submission == "ben":
            raise OSError(28, "No space left on device")
        return real(result)

    monkeypatch.setattr(batch_run, "_render_html", render)
    klass, out = tiny_class(tmp_path / "class", ["ada", "ben", "cy"]), tmp_path / "out"
    outcome = batch_run.run_batch(klass, assignment, out, batch_run.BatchOptions(workers=2),
                                  job=fake_job.grade, stream=io.StringIO())
    assert outcome.graded == 3 and not outcome.failures and not outcome.interrupted
    assert [name for name, _ in outcome.report_failures] == ["ben"]
    assert "No space left on device" in outcome.report_failures[0][1]
    assert outcome.exit_status == 1
    text = batch_run.summary(outcome)
    assert "report not written: ben: OSError: [Errno 28] No space left on device" in text
    files = results(out)
    assert files["ben"]["status"] == "graded" and files["ben"]["score"] == 1.0
    assert db(out, "SELECT score FROM results WHERE submission_id='ben'") == [(1.0,)]
    assert sorted(p.name for p in (out / "reports").iterdir()) == ["ada.html", "cy.html"]
    assert (out / "grades.csv").read_text().count("\n") == 4 and outcome.dashboard is not None
    monkeypatch.setattr(batch_run, "_render_html", real)
    again = batch_run.run_batch(klass, assignment, out, batch_run.BatchOptions(workers=2),
                                job=fake_job.grade, stream=io.StringIO())
    assert again.graded == 0 and not again.report_failures and again.exit_status == 0
    assert_consistent(out)


def test_a_job_that_hangs_costs_only_its_submission(tmp_path, monkeypatch) -> None:
    """Note [A limit per job]: hang_ben's job spins deaf to SIGTERM; past the limit it is killed
    with its children, he gets an error result that says the grader gave up, the rest of the
    class is graded and every file is complete; the next run tries him again."""
    from grader.batch import run as batch_run
    assignment, fake_job = _in_process(tmp_path, monkeypatch)
    pids = tmp_path / "pids"
    pids.mkdir()
    monkeypatch.setenv("FAKE_JOB_PIDS", str(pids))
    klass, out = tiny_class(tmp_path / "class", ["ada", "hang_ben", "cy", "dee"]), tmp_path / "out"
    options = batch_run.BatchOptions(workers=2, job_limit_s=3)
    outcome = batch_run.run_batch(klass, assignment, out, options, job=fake_job.grade,
                                  stream=io.StringIO())
    assert outcome.graded == 4 and not outcome.interrupted and outcome.exit_status == 1
    assert [name for name, _ in outcome.failures] == ["hang_ben"]
    files = results(out)
    assert {n: f["status"] for n, f in files.items()} == {
        "ada": "graded", "hang_ben": "error", "cy": "graded", "dee": "graded"}
    assert files["hang_ben"]["message"].startswith(
        "the grader gave up on this submission after 3 s; tell the course staff")
    assert "ran past its limit of 3 s" in files["hang_ben"]["environment"]["batch"]["job_failure"]
    assert "not graded: hang_ben: the grader gave up on this submission after 3 s" in \
        batch_run.summary(outcome)
    assert_consistent(out)
    assert outcome.dashboard is not None
    job_pid, own, same = map(int, (pids / "hang_ben").read_text().split())
    wait_for(lambda: not any(alive(pid) for pid in (job_pid, own, same)), 20,
             "the hung job and its children to die")
    # not a verdict: the next run grades only hang_ben again (and gives up again)
    again = batch_run.run_batch(klass, assignment, out, options, job=fake_job.grade,
                                stream=io.StringIO())
    assert again.graded == 1 and [name for name, _ in again.failures] == ["hang_ben"]
    assert run_of(out)["hang_ben"] == 2 and run_of(out)["ada"] == 1


def test_a_jobs_default_limit_follows_the_assignments_limits() -> None:
    """Note [A limit per job]: twice the worker's budget and the notebook's limit, plus a minute."""
    import grader.scoring.assignment as assignments
    from grader.batch.run import job_limit
    fc_nets = assignments.load("fc_nets")
    assert fc_nets.limits.budget() == 180 and fc_nets.layout.notebook_total_s == 60
    assert job_limit(fc_nets) == 540


def test_job_limit_from_the_command_line_reaches_every_job(tmp_path) -> None:
    """End to end: a limit no job can meet (10 ms, below a job's start) gives every submission
    the error result, and the batch still writes every file (Note [A limit per job])."""
    klass, out = tiny_class(tmp_path / "class", ["ada", "ben"]), tmp_path / "out"
    proc = batch(str(klass), "-o", str(out), "-j", "2", "--job-limit", "0.01", "--no-warm")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    files = results(out)
    assert {f["status"] for f in files.values()} == {"error"} and set(files) == {"ada", "ben"}
    assert all(f["message"].startswith("the grader gave up on this submission after 0.01 s")
               for f in files.values())
    assert "not graded: ada: the grader gave up" in proc.stdout
    assert_consistent(out)


def test_a_similarity_job_that_hangs_is_stopped_and_said(tmp_path, monkeypatch) -> None:
    """Note [A limit per job]: the similarity job beside the grading jobs hangs; it is killed at
    its limit, the class is graded, and similarity.json (so the dashboard) says why there is no
    list, without the batch making it itself."""
    from grader.batch import run as batch_run
    assignment, fake_job = _in_process(tmp_path, monkeypatch)
    pids = tmp_path / "pids"
    pids.mkdir()
    monkeypatch.setenv("FAKE_JOB_PIDS", str(pids))
    monkeypatch.setattr(batch_run, "similarity_job", fake_job.hang_similarity)
    klass, out = tiny_class(tmp_path / "class", ["ada", "ben"]), tmp_path / "out"
    outcome = batch_run.run_batch(klass, assignment, out,
                                  batch_run.BatchOptions(workers=1, job_limit_s=1),
                                  job=fake_job.grade, stream=io.StringIO())
    assert outcome.graded == 2 and not outcome.failures and outcome.exit_status == 0
    document = json.loads((out / "similarity.json").read_text())
    assert document["pairs"] == [] and "ran past its limit of 3 s" in document["error"]
    assert "ran past its limit of 3 s" in outcome.dashboard.read_text()
    job_pid, own, same = map(int, (pids / "similarity").read_text().split())
    wait_for(lambda: not any(alive(pid) for pid in (job_pid, own, same)), 20,
             "the hung job and its children to die")
    assert_consistent(out)
