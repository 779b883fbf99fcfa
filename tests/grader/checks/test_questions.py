"""grader/checks/questions.py: official grading asks questions no release has the answers to.

The fast tests pin the seed derivation (public seeds unchanged, a secret's seeds a pure
function of it) and what each command asks.  The slow one is a hostile submission: its
functions answer from a table built from a student release's recorded answers; it gets full
marks on the release's public checks and loses those points in official grading (Note
[Fresh questions]).
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from grader.scoring import assignment as assignments
from grader.checks import questions
from grader.checks.questions import PUBLIC, Questions
from grader.scoring.pipeline import grade_submission

ROOT = Path(__file__).resolve().parents[3]
GRADE = Path(sys.executable).with_name("grade")
SECRETS = ("0123456789abcdef0123", "course-secret-number-two-2026")


def run_grade(*args, cwd: Path | None = None, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([str(GRADE), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd)


# -- seeds -----------------------------------------------------------------------------------

def test_public_questions_use_each_checks_own_seed() -> None:
    assert [PUBLIC.seed(n) for n in (0, 1, 231, 12345)] == [0, 1, 231, 12345]
    assert np.array_equal(PUBLIC.rng(7).standard_normal(5),
                          np.random.default_rng(7).standard_normal(5))
    assert PUBLIC.describe() == "public" and PUBLIC.fingerprint == ""


def test_a_secrets_seeds_are_new_fixed_and_fit_every_seeding_api() -> None:
    first, second = (Questions(s, "course") for s in SECRETS)
    seeds = [first.seed(n) for n in range(200)]
    assert len(set(seeds)) == 200 and all(0 <= s < 2 ** 32 for s in seeds)
    assert seeds == [Questions(SECRETS[0], "batch").seed(n) for n in range(200)]
    assert seeds != [second.seed(n) for n in range(200)]
    assert not set(seeds[:20]) & set(range(20))
    np.random.RandomState(max(seeds))  # numpy's legacy seeding takes it


def test_a_secret_is_never_in_what_is_shown() -> None:
    asked = Questions(SECRETS[0], "course")
    assert SECRETS[0] not in repr(asked) and SECRETS[0] not in asked.describe()
    assert asked.describe() == f"course {asked.fingerprint}" and len(asked.fingerprint) == 8
    assert asked.fingerprint != Questions(SECRETS[1]).fingerprint


def test_a_secret_too_short_to_be_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 16"):
        questions.valid_secret("short", "secret")
    assert questions.valid_secret(f"  {SECRETS[0]}\n") == SECRETS[0]
    assert len(questions.new_secret()) == 32 and questions.new_secret() != questions.new_secret()


# -- samples ---------------------------------------------------------------------------------

def _arrays(check_module_samples) -> list[np.ndarray]:
    return [a for sample in check_module_samples for a in sample.args if isinstance(a, np.ndarray)]


@pytest.mark.parametrize("assignment_id", ("fc_nets", "batchnorm", "dropout", "cnn"))
def test_samples_are_a_pure_function_of_the_assignment_and_the_secret(assignment_id) -> None:
    public = assignments.load(assignment_id)
    drawn = assignments.load(assignment_id, None, Questions(SECRETS[0], "course"))
    again = assignments.load(assignment_id, None, Questions(SECRETS[0], "batch"))
    other = assignments.load(assignment_id, None, Questions(SECRETS[1], "course"))
    assert [c.id for c in public.checks] == [c.id for c in drawn.checks] == [c.id for c in other.checks]
    modules = {name: sys.modules[f"grader_assignment_checks_{assignment_id}{suffix}"]
               for name, suffix in (("public", ""),
                                    ("drawn", f"_q{drawn.questions.fingerprint}"),
                                    ("other", f"_q{other.questions.fingerprint}"))}
    assert again.checks == drawn.checks  # one module per secret, loaded once
    assert modules["public"].QUESTIONS is PUBLIC
    assert modules["drawn"].QUESTIONS.secret == SECRETS[0]
    public_draw, drawn_draw = (m.QUESTIONS.rng(3).standard_normal(4) for m in
                               (modules["public"], modules["drawn"]))
    assert np.array_equal(public_draw, np.random.default_rng(3).standard_normal(4))
    assert not np.allclose(public_draw, drawn_draw)


def test_fc_nets_samples_keep_their_shapes_and_designed_properties_under_a_secret() -> None:
    assignments.load("fc_nets", None, Questions(SECRETS[1], "course"))
    public = sys.modules["grader_assignment_checks_fc_nets"]
    drawn = sys.modules[f"grader_assignment_checks_fc_nets_q{questions.fingerprint(SECRETS[1])}"]
    for make in (lambda m: m.affine_samples(), lambda m: m.relu_samples(),
                 lambda m: m.loss_samples(), lambda m: m.loss_samples(hidden=True)):
        mine, theirs = make(public), make(drawn)
        assert [s.name for s in mine] == [s.name for s in theirs]
        assert [a.shape for a in _arrays(mine)] == [a.shape for a in _arrays(theirs)]
        assert not any(np.array_equal(a, b) for a, b in zip(_arrays(mine), _arrays(theirs))
                       if a.dtype.kind == "f")
    assert all(np.all(np.abs(s.args[0]) >= 1e-2) for s in drawn.relu_samples())  # off the kink
    large = drawn.loss_samples()[2].args[0]
    assert 990 < large.min() and large.max() < 1010  # logits around 1000, as named


def test_the_upstream_gradients_of_backward_checks_are_drawn_too() -> None:
    from grader.checks.builders import backward_check
    seen = []

    def forward(x):
        return x, x

    def backward(dout, cache):
        return dout

    class Stop(Exception):
        pass

    class Student:
        def call(self, *args, **kwargs):
            raise Stop

        def calls(self, module, chain, *args, **kwargs):
            # The samples' calls in one request (Note [Streamed calls]): the upstream
            # gradient the student's backward is given.
            seen.append(chain[1][1][0])
            raise Stop

    from grader.checks.spec import Sample
    sample = Sample("x", (np.ones(3),))
    for asked in (PUBLIC, Questions(SECRETS[0])):
        with questions.asking(asked):
            check = backward_check("f", "b", "m", [sample], forward, backward, grad="dx",
                                   grad_index=0, wrt=0, single_grad=True, seed=5)
        with pytest.raises(Stop):
            check.run(Student())
    assert np.array_equal(seen[0], np.random.default_rng(5).standard_normal(3))
    assert np.array_equal(seen[1], Questions(SECRETS[0]).rng(5).standard_normal(3))


# -- which questions each command asks -------------------------------------------------------

def test_a_batch_keeps_its_secret_beside_the_gradebook_and_no_result_holds_it(tmp_path) -> None:
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    shutil.copytree(ROOT / "assignments" / "fc_nets" / "starter", submissions / "alice")
    out = tmp_path / "graded"
    first = run_grade("batch", submissions, "-a", "fc_nets", "--out", out, "-k", "affine_forward",
                      "--workers", "1")
    assert first.returncode == 0, first.stdout + first.stderr
    secret_file = out / "questions.secret"
    secret = secret_file.read_text().strip()
    assert len(secret) == 32 and secret_file.stat().st_mode & 0o077 == 0
    result = json.loads((out / "results" / "alice.json").read_text())
    assert result["environment"]["questions"] == f"batch {questions.fingerprint(secret)}"
    for path in out.rglob("*"):
        if path.is_file() and path != secret_file:
            assert secret.encode() not in path.read_bytes(), path
    again = run_grade("batch", submissions, "-a", "fc_nets", "--out", out, "-k", "affine_forward",
                      "--workers", "1")
    assert again.returncode == 0 and "unchanged" in (again.stdout + again.stderr).lower(), \
        again.stdout + again.stderr
    assert secret_file.read_text().strip() == secret


def test_a_course_secret_is_used_by_check_and_a_run_without_one_draws_its_own(tmp_path) -> None:
    course = tmp_path / "course.yml"
    course.write_text(f"secret: {SECRETS[1]}\n")
    starter = ROOT / "assignments" / "fc_nets" / "starter" / "cs231n"
    documents = []
    for extra in (("--course", course), ("--course", course), (), ()):
        json_path = tmp_path / f"r{len(documents)}.json"
        result = run_grade("check", starter, "-a", "fc_nets", "-k", "affine_forward/out",
                           "--json", json_path, "--no-html", *extra)
        assert result.returncode == 1, result.stdout + result.stderr
        documents.append(json.loads(json_path.read_text())["environment"]["questions"])
    assert documents[0] == documents[1] == f"course {questions.fingerprint(SECRETS[1])}"
    assert documents[2].startswith("run ") and documents[3].startswith("run ")
    assert documents[2] != documents[3]
    course.write_text("secret: short\n")
    refused = run_grade("check", starter, "-a", "fc_nets", "--no-html", "--course", course)
    assert refused.returncode == 2 and "at least 16" in refused.stderr


# -- the hostile submission: a table of the release's answers --------------------------------

LOOKUP = '''\
"""Answers from a table of a student release's recorded answers (a hostile submission)."""
import base64
import io
import json

import numpy as np

from . import _replay, _table

TAPE = json.loads(base64.b64decode(_table.TAPE))
ARRAYS = _replay.Arrays(dict(np.load(io.BytesIO(base64.b64decode(_table.ARRAYS)),
                                     allow_pickle=False)))


def answer(target, args, kwargs):
    key = _replay._digest("call", target, _replay.fingerprint(args), _replay.fingerprint(kwargs))
    for section in TAPE["checks"].values():
        entry = section.get(key)
        if entry is not None and "result" in entry:
            # a cache that holds the inputs refers to them by argument number
            return _replay._decode(entry["result"], ARRAYS, aliases=lambda path: args[path[1]])
    raise NotImplementedError("not in the table")
'''

# The functions the table answers for, by module of the course package.
TABLED = {"layers": ("affine_forward", "affine_backward", "relu_forward", "relu_backward",
                     "softmax_loss", "svm_loss"),
          "layer_utils": ("affine_relu_forward", "affine_relu_backward"),
          "optim": ("sgd_momentum", "rmsprop", "adam")}


def lookup_submission(release: Path, folder: Path) -> Path:
    """The starter code with every function of TABLED answering from the release's tape."""
    package = folder / "cs231n"
    shutil.copytree(ROOT / "assignments" / "fc_nets" / "starter" / "cs231n", package)
    expected = release / "public-checks" / "expected"  # only .py files are staged: inline it
    (package / "_table.py").write_text(
        f"TAPE = {base64.b64encode((expected / 'tape.json').read_bytes()).decode()!r}\n"
        f"ARRAYS = {base64.b64encode((expected / 'arrays.npz').read_bytes()).decode()!r}\n")
    shutil.copyfile(ROOT / "grader" / "course" / "replay.py", package / "_replay.py")  # in the student wheel
    (package / "_lookup.py").write_text(LOOKUP)
    for module, names in TABLED.items():
        path = package / f"{module}.py"
        text = path.read_text() + "\n\nfrom ._lookup import answer as _answer\n"
        for name in names:
            text += textwrap.dedent(f"""
                def {name}(*args, **kwargs):
                    return _answer("reference.cs231n.{module}.{name}", args, kwargs)
                """)
        path.write_text(text)
    return folder / "cs231n"


def _passed(document_or_result) -> set[str]:
    if isinstance(document_or_result, dict):
        return {c["id"] for c in document_or_result["checks"] if c["status"] == "passed"}
    return {c.id for c in document_or_result.checks if c.status == "passed"}


@pytest.mark.slow
def test_answers_looked_up_in_a_release_earn_nothing_in_official_grading(tmp_path) -> None:
    release = tmp_path / "release"
    built = run_grade("release", "-a", "fc_nets", "--out", release, "--no-mutant-hints")
    assert built.returncode == 0, built.stdout + built.stderr
    submission = lookup_submission(release, tmp_path / "lookup")
    tabled = {name for names in TABLED.values() for name in names}

    # the release's public checks: the table answers them all, full marks on those functions
    replayed = run_grade("check", submission, "--json", tmp_path / "public.json", "--no-html",
                         cwd=release)
    public = json.loads((tmp_path / "public.json").read_text())
    layer_checks = {c["id"] for c in public["checks"]
                    if c["function"] in TABLED["layers"] + TABLED["layer_utils"]}
    released = _passed(public) & {c["id"] for c in public["checks"] if c["function"] in tabled}
    assert len(layer_checks) >= 12 and layer_checks <= released, replayed.stdout
    assert {f"{rule}/next_w" for rule in TABLED["optim"]} <= released, replayed.stdout

    # official grading with the release's own fixed questions (what it did before Note [Fresh
    # questions]) would have paid every one of those points
    fixed = grade_submission(submission, assignments.load("fc_nets"))
    assert released <= _passed(fixed)

    # official grading: a course secret, and a run without one; no tabled check passes
    course = tmp_path / "course.yml"
    course.write_text(f"secret: {SECRETS[0]}\n")
    for extra in (("--course", course), ()):
        json_path = tmp_path / f"official{len(extra)}.json"
        graded = run_grade("check", submission, "-a", "fc_nets", "--json", json_path,
                           "--no-html", *extra)
        official = json.loads(json_path.read_text())
        earned = {c["id"]: c["points"] for c in official["checks"] if c["function"] in tabled}
        assert set(earned) >= released, graded.stdout
        assert sum(earned.values()) == 0, {k: v for k, v in earned.items() if v}


def test_each_gradescope_autograder_carries_its_own_secret_and_grades_with_it(tmp_path) -> None:
    import zipfile

    from grader.course import gradescope
    secrets_found = []
    for number in range(2):
        archive = gradescope.build("fc_nets", tmp_path / f"autograder{number}.zip")
        with zipfile.ZipFile(archive) as opened:
            secrets_found.append(opened.read("grader-source/questions.secret").decode().strip())
            if number == 0:
                opened.extract("grader-source/questions.secret", tmp_path / "root" / "source")
    assert secrets_found[0] != secrets_found[1] and len(secrets_found[0]) == 32
    asked = gradescope._questions(tmp_path / "root")
    assert asked.secret == secrets_found[0] and asked.source == "course"
    assert gradescope._questions(tmp_path / "elsewhere").source == "run"
