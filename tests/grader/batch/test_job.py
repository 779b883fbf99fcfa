"""A batch job (grader/batch/job.py): Note [Loaded once per batch], on the batch's own pool.

The jobs run in forks of a real template (grader/batch/template.py) over a copy
of the tests' `tiny` assignment, so that its files can be changed under the
template.  Runtime: about 10 s.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

import pytest

from grader.batch import run as batch
from grader.batch import job
from grader.batch.job import Job, JobSpec, grade_job
from grader.checks import spec as checks_spec

DATA = Path(__file__).resolve().parents[1] / "data"

PROBE = '''
from grader.batch import job

def preloaded(spec):
    return job._preloaded(spec) is not None

def reader_warm(_spec):
    import sys
    return "nbformat" in sys.modules  # imported by the template, not by this job

def asked_once(_spec):
    import platform, sys
    from grader.worker import sandbox
    return ("grader.worker.warm" in sys.modules and "grader.submission.which_notebook" in sys.modules,
            bool(platform._platform_cache), sandbox.bwrap_supports.cache_info().currsize)

def config_prepared(spec):
    from grader.scoring import plugin
    prepared, assignment = plugin._prepared, job._preloaded(spec)
    return prepared is not None and assignment is not None and prepared[0] is assignment.checks
'''


@pytest.fixture
def tiny(tmp_path, monkeypatch) -> JobSpec:
    """A JobSpec for a copy of the `tiny` assignment, and the probe importable in the jobs."""
    shutil.copytree(DATA / "assignments" / "tiny", tmp_path / "assignments" / "tiny")
    (tmp_path / "rubrics").mkdir()
    shutil.copy(DATA / "rubrics" / "tiny.yml", tmp_path / "rubrics" / "tiny.yml")
    (tmp_path / "probe_loaded.py").write_text(PROBE)
    monkeypatch.syspath_prepend(str(tmp_path))  # the template gets this process's sys.path
    return JobSpec("tiny", {}, str(tmp_path / "assignments"), str(tmp_path / "rubrics"), None,
                   None, None, secret="t" * 20, questions_source="batch")


def test_a_job_takes_the_templates_assignment_until_what_it_was_made_from_changes(tiny) -> None:
    import probe_loaded

    rubric = Path(tiny.rubrics_dir) / "tiny.yml"
    pool = batch._executor(1, tiny)
    try:
        assert pool.submit(probe_loaded.preloaded, tiny).result(60) is True
        # other settings than the template's: the job loads its own
        for other in (dataclasses.replace(tiny, secret="u" * 20),
                      dataclasses.replace(tiny, select="relu"),
                      dataclasses.replace(tiny, conventions={"x": 1})):
            assert pool.submit(probe_loaded.preloaded, other).result(60) is False
        # a rubric edited after the template read it: the job reads it again
        later = rubric.stat().st_mtime + 10
        os.utime(rubric, (later, later))
        assert pool.submit(probe_loaded.preloaded, tiny).result(60) is False
    finally:
        pool.shutdown()


def test_a_job_starts_with_the_notebook_reader_warm(tiny) -> None:
    # Note [Reader warmed once] in grader/submission/notebook.py
    import probe_loaded

    pool = batch._executor(1, tiny)
    try:
        assert pool.submit(probe_loaded.reader_warm, tiny).result(60) is True
    finally:
        pool.shutdown()
    cold = batch._executor(1, None)  # a template that loaded nothing: the job reads as before
    try:
        assert cold.submit(probe_loaded.reader_warm, tiny).result(60) is False
    finally:
        cold.shutdown()


def test_a_job_starts_with_what_every_job_asked_first(tiny) -> None:
    # Note [Modules every job imports], Note [Platform read once], Note [Bubblewrap asked once]
    import probe_loaded

    pool = batch._executor(1, tiny)
    try:
        assert pool.submit(probe_loaded.asked_once, tiny).result(60) == (True, True, 3)
    finally:
        pool.shutdown()
    cold = batch._executor(1, None)  # a template that loaded nothing: the job asks itself
    try:
        assert cold.submit(probe_loaded.asked_once, tiny).result(60) == (False, False, 0)
    finally:
        cold.shutdown()


def test_a_class_without_notebooks_starts_its_template_without_the_reader(tiny) -> None:
    # Note [No reader for a class without notebooks] in grader/batch/job.py
    import probe_loaded
    from grader.batch.template import Template

    template = Template({**job.preload_data(tiny), "notebooks": False})
    pool = batch._executor(1, tiny, template)
    try:
        assert pool.submit(probe_loaded.reader_warm, tiny).result(60) is False
        assert pool.submit(probe_loaded.preloaded, tiny).result(60) is True  # all else as before
    finally:
        pool.shutdown()


def test_holds_notebooks_looks_in_folders_zips_and_groups(tmp_path) -> None:
    import zipfile
    from grader.submission.discover import Submission

    plain = tmp_path / "plain" / "cs231n"
    plain.mkdir(parents=True)
    (plain / "layers.py").write_text("x = 1\n")
    deep = tmp_path / "deep" / "a" / "b"
    deep.mkdir(parents=True)
    (deep / "Work.IPYNB").write_text("{}")
    with zipfile.ZipFile(tmp_path / "py.zip", "w") as archive:
        archive.writestr("cs231n/layers.py", "x = 1\n")
    with zipfile.ZipFile(tmp_path / "nb.zip", "w") as archive:
        archive.writestr("hw/FullyConnectedNets.ipynb", "{}")
    (tmp_path / "loose.ipynb").write_text("{}")
    (tmp_path / "broken.zip").write_text("not a zip")
    no = [Submission("plain", "", tmp_path / "plain"), Submission("py", "", tmp_path / "py.zip"),
          Submission("loose_py", "", plain / "layers.py")]
    assert job.holds_notebooks(no) is False
    for entry in ("deep", "nb.zip", "loose.ipynb", "broken.zip"):  # a zip not read: unsure
        assert job.holds_notebooks(no + [Submission(entry, "", tmp_path / entry)]) is True
    group = Submission("group", "", plain / "layers.py",
                       members=(("layers.py", plain / "layers.py"), ("nb.ipynb", tmp_path / "loose.ipynb")))
    assert job.holds_notebooks(no + [group]) is True


def test_a_job_starts_with_its_pytest_configuration_made(tiny) -> None:
    # Note [Config made once] in grader/scoring/plugin.py
    import probe_loaded

    pool = batch._executor(1, tiny)
    try:
        assert pool.submit(probe_loaded.config_prepared, tiny).result(60) is True
    finally:
        pool.shutdown()
    cold = batch._executor(1, None)
    try:
        assert cold.submit(probe_loaded.config_prepared, tiny).result(60) is False
    finally:
        cold.shutdown()


def test_a_job_on_the_templates_assignment_grades_as_one_that_loads_its_own(tiny, tmp_path) -> None:
    batch_test = Path(__file__).with_name("test_run.py")
    import importlib.util
    spec = importlib.util.spec_from_file_location("batch_helpers", batch_test)
    helpers = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(helpers)
    klass = helpers.tiny_class(tmp_path / "class", ["ada", "wrong_ben"])
    found = {}
    for warm in (True, False):
        pool = batch._executor(1, tiny if warm else None)  # None: a template that loaded nothing
        try:
            found[warm] = {name: pool.submit(grade_job, tiny, Job(name, str(klass / name)))
                           .result(120) for name in ("ada", "wrong_ben")}
        finally:
            pool.shutdown()
    for name in ("ada", "wrong_ben"):
        warm, cold = found[True][name], found[False][name]
        assert warm.status == cold.status == "graded"
        assert (warm.score, warm.max_score) == (cold.score, cold.max_score)
        assert [(c.id, c.status, c.points, c.message) for c in warm.checks] == \
               [(c.id, c.status, c.points, c.message) for c in cold.checks]
        assert warm.environment["questions"] == cold.environment["questions"]
    assert found[True]["ada"].score > found[True]["wrong_ben"].score


def test_priming_cgroup_moves_leaves_the_process_where_it_was() -> None:
    """Note [Cgroup moves primed]: the job moves itself to the cgroup it is in."""
    from grader.batch.job import prime_cgroup_moves
    before = Path("/proc/self/cgroup").read_text()
    prime_cgroup_moves()
    assert Path("/proc/self/cgroup").read_text() == before


def test_the_batch_template_prepares_every_check_and_survives_a_failing_one() -> None:
    """Note [Answers before the fork]: each check's answers with the assignment's conventions;
    one that fails is left to compute them in each job."""
    seen = []

    def failing(conventions):
        raise RuntimeError("a broken reference")

    Check = checks_spec.Check
    checks = (Check("a/x", "a", "t", lambda s: None, prepare=lambda c: seen.append(("a", c))),
              Check("b/x", "b", "t", lambda s: None, prepare=failing),
              Check("c/x", "c", "t", lambda s: None),
              Check("d/x", "d", "t", lambda s: None, prepare=lambda c: seen.append(("d", c))))

    class Loaded:
        conventions = {"bn_eps": 1e-5}

    Loaded.checks = checks
    job._prepare_answers(Loaded())
    assert seen == [("a", {"bn_eps": 1e-5}), ("d", {"bn_eps": 1e-5})]
