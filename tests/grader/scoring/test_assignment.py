"""Manifests and rubrics (grader/scoring/assignment.py, Note [Manifest])."""

from __future__ import annotations

import itertools
import sys
import textwrap

import pytest

from grader.scoring import assignment as assignments
from grader.scoring.assignment import AssignmentError
from grader.worker.sandbox import Limits

CHECKS_PY = """
from grader.checks.spec import Check
CHECKS = [Check("affine_forward/out", "affine_forward", "out", lambda s: None),
          Check("relu_forward/out", "relu_forward", "out", lambda s: None)]
"""
MANIFEST = """
title: A tiny assignment
package: ece662
files:
  layers: layers.py
  fc_net: classifiers/fc_net.py
provide: [solver.py]
limits:
  call_timeout_s: 3
conventions:
  var: biased
  eps: 1.0e-5
  size: 32
  keyword: default
convention_values:
  var: [biased, unbiased]
  keyword: [default, "<name>=<value>"]
"""
RUBRIC = """
points:
  affine_forward/out: 2
  relu_forward/out: 0.5
"""
_ids = itertools.count()


@pytest.fixture
def course(tmp_path, monkeypatch):
    """Factory: course(manifest, checks, rubric) -> the id of a temporary assignment."""
    monkeypatch.setattr(assignments, "ASSIGNMENTS_DIR", tmp_path / "assignments")
    monkeypatch.setattr(assignments, "RUBRICS_DIR", tmp_path / "rubrics")
    (tmp_path / "rubrics").mkdir()
    made = []

    def make(manifest: str | None = MANIFEST, checks: str = CHECKS_PY, rubric: str | None = RUBRIC,
             name: str | None = None) -> str:
        # checks modules are cached by id in sys.modules: every temporary assignment gets a fresh id
        assignment_id = name or f"tiny{next(_ids)}_{tmp_path.name[-6:]}"
        made.append(assignment_id)
        folder = tmp_path / "assignments" / assignment_id
        folder.mkdir(parents=True)
        if manifest is not None:
            (folder / "manifest.yml").write_text(textwrap.dedent(manifest))
        (folder / "checks.py").write_text(textwrap.dedent(checks))
        if rubric is not None:
            (tmp_path / "rubrics" / f"{assignment_id}.yml").write_text(textwrap.dedent(rubric))
        return assignment_id

    yield make
    for assignment_id in made:
        sys.modules.pop(f"grader_assignment_checks_{assignment_id}", None)


def test_a_consistent_assignment_loads(course) -> None:
    a = assignments.load(course(), conventions={"eps": "1e-3"})
    assert a.title == "A tiny assignment"
    assert a.layout.files == {"layers": "layers.py", "fc_net": "classifiers/fc_net.py"}
    assert a.layout.default_package == "ece662" and a.layout.provide == ("solver.py",)
    assert a.limits == Limits(call_timeout_s=3)
    assert [c.id for c in a.checks] == ["affine_forward/out", "relu_forward/out"]
    assert a.rubric.points == {"affine_forward/out": 2.0, "relu_forward/out": 0.5}
    assert a.rubric.max_score() == 2.5 and a.rubric.hidden_details is False
    assert a.conventions == {"var": "biased", "eps": "1e-3", "size": 32, "keyword": "default"}


def test_command_line_conventions_override_the_manifest(course) -> None:
    assert assignments.load(course(), {"var": "unbiased"}).conventions["var"] == "unbiased"


@pytest.mark.parametrize("overrides", [{"var": "Unbiased"}, {"var": " biased "}, {"eps": "0.1"},
                                       {"eps": "1"}, {"size": "28"}, {"keyword": "dropout=1"},
                                       {"keyword": "DEFAULT"}])
def test_allowed_convention_values(course, overrides) -> None:
    assignments.load(course(), overrides)


@pytest.mark.parametrize("overrides, error", [
    ({"vra": "biased"}, "--convention: {id} has no convention 'vra'; its conventions: eps, "
                        "keyword, size, var"),
    ({"var": "biassed"}, "--convention: var='biassed' is not valid for {id}; valid values: "
                         "biased, unbiased"),
    ({"eps": "small"}, "--convention: eps='small' is not valid for {id}; eps takes a number "
                       "(default 1e-05)"),
    ({"eps": "nan"}, "--convention: eps='nan' is not valid for {id}; eps takes a number"),
    ({"size": "2.5"}, "--convention: size='2.5' is not valid for {id}; size takes an integer "
                      "(default 32)"),
    ({"keyword": "dropout"}, "--convention: keyword='dropout' is not valid for {id}; valid "
                             "values: default, <name>=<value>"),
])
def test_a_wrong_convention_is_refused_before_the_checks_load(course, overrides, error) -> None:
    """Note [Conventions]: checks that would fail to import show it is refused before them."""
    assignment_id = course(checks="raise RuntimeError('checks loaded')\n")
    with pytest.raises(assignments.ConventionError) as info:
        assignments.load(assignment_id, overrides)
    assert str(info.value).startswith(error.format(id=assignment_id))


def test_every_assignment_takes_the_graders_restore_numpy_convention(course) -> None:
    """Note [Conventions]: `restore_numpy` is the grader's, in the conventions only when set."""
    assignment_id = course()
    assert "restore_numpy" not in assignments.load(assignment_id).conventions
    assert assignments.restores_numpy(assignments.load(assignment_id).conventions)
    for given, restores in (("False", False), ("false", False), ("TRUE", True), ("true", True)):
        conventions = assignments.load(assignment_id, {"restore_numpy": given}).conventions
        assert conventions["restore_numpy"] == given and assignments.restores_numpy(conventions) is restores
    with pytest.raises(assignments.ConventionError, match="restore_numpy='no' is not valid for "
                                                          f"{assignment_id}; valid values: true, false"):
        assignments.load(assignment_id, {"restore_numpy": "no"})


def test_a_text_convention_must_declare_its_values(course) -> None:
    manifest = MANIFEST.replace("  var: [biased, unbiased]\n", "")
    with pytest.raises(AssignmentError, match=r"conventions without convention_values: \['var'\]"):
        assignments.load(course(manifest=manifest))


@pytest.mark.parametrize("assignment_id", assignments.available())
def test_every_real_manifest_declares_its_conventions(assignment_id) -> None:
    defaults, values = assignments.declared_conventions(assignment_id)
    assignments.check_conventions(assignment_id, {k: str(v) for k, v in defaults.items()})


EDITIONS_CHECKS = """
from grader.checks.spec import Check
CHECKS = [Check("affine_forward/out", "affine_forward", "out", lambda s: None),
          Check("svm_loss/dx", "svm_loss", "dx", lambda s: None),
          Check("Net.__init__/params", "Net.__init__", "params", lambda s: None),
          Check("Net.loss/scores", "Net.loss", "scores", lambda s: None),
          Check("Network.loss/scores", "Network.loss", "scores", lambda s: None)]
"""
EDITIONS_RUBRIC = """
points:
  affine_forward/out: 2
  svm_loss/dx: 1
  Net.__init__/params: 1
  Net.loss/scores: 3
  Network.loss/scores: 4
"""
EDITIONS = """
not_assigned:
  var:
    unbiased:
      parts: [svm_loss, Net, affine_forward/out]
      editions: the newer editions
    biased:
      parts: [Network.loss/scores]
      editions: the older editions
      hint: failing
"""


def test_an_edition_leaves_out_what_it_does_not_assign(course) -> None:
    """Note [Assigned parts]: a class stands for its methods (Net, not Network), a check id for
    itself, and the rubric's total is what the edition assigns."""
    a = assignments.load(course(MANIFEST + EDITIONS, EDITIONS_CHECKS, EDITIONS_RUBRIC),
                         {"var": " Unbiased"})
    assert [c.id for c in a.checks] == ["Network.loss/scores"]
    assert a.rubric.points == {"Network.loss/scores": 4.0} and a.rubric.max_score() == 4
    older = ("var", "biased", "the older editions", "Network.loss/scores", "failing")
    assert a.checks[0].editions == (older,)


def test_the_other_editions_parts_stay_and_say_how_to_leave_them_out(course) -> None:
    a = assignments.load(course(MANIFEST + EDITIONS, EDITIONS_CHECKS, EDITIONS_RUBRIC),
                         {"var": "biased"})
    assert len(a.checks) == 4 and a.rubric.max_score() == 7  # Network.loss/scores left out
    checks = {c.id: c for c in a.checks}
    newer = ("var", "unbiased", "the newer editions")
    assert checks["svm_loss/dx"].editions == (newer + ("svm_loss", "missing"),)
    assert checks["Net.loss/scores"].editions == checks["Net.__init__/params"].editions == (
        newer + ("Net", "missing"),)
    assert checks["affine_forward/out"].editions == (newer + ("affine_forward/out", "missing"),)
    # a part's edition explains a check that is not found; a wrong answer only with `failing`
    for check_id, part in (("svm_loss/dx", "svm_loss"), ("affine_forward/out", "affine_forward/out")):
        assert assignments.editions_explaining(checks[check_id], "wrong") == []
        assert assignments.editions_explaining(checks[check_id], "missing") == [newer + (part,)]
    network = assignments.load(course(MANIFEST + EDITIONS, EDITIONS_CHECKS, EDITIONS_RUBRIC),
                               {"var": "unbiased"}).checks[0]
    assert assignments.editions_explaining(network, "wrong") == [
        ("var", "biased", "the older editions", "Network.loss/scores")]
    assert assignments.edition_hint(*newer, "svm_loss") == (
        "`svm_loss` is not assigned in the newer editions: if your course is one of them, "
        "grade with `--convention var=unbiased` (or `var: unbiased` in the course file), which "
        "leaves its checks out of the score.")
    assert assignments.edition_hint(*newer, "affine_forward/out") == (
        "the rule of `affine_forward/out` is not assigned in the newer editions: if your course "
        "is one of them, grade with `--convention var=unbiased` (or `var: unbiased` in the "
        "course file), which leaves it out of the score.")


PROVIDED = """
not_assigned:
  var:
    biased:
      parts: [svm_loss]
      editions: the older editions (given by the course)
      provided: true
"""


def test_a_part_an_edition_provides_runs_as_an_advisory_there_and_is_graded_elsewhere(
        course) -> None:
    """Note [Course-provided parts]: under the edition that hands the code out its checks stay,
    with 0 points; under the others they are graded and carry no edition hint."""
    given = assignments.load(course(MANIFEST + PROVIDED, EDITIONS_CHECKS, EDITIONS_RUBRIC),
                             {"var": "biased"})
    assert len(given.checks) == 5 and given.rubric.points["svm_loss/dx"] == 0
    assert given.rubric.max_score() == 10
    graded = assignments.load(course(MANIFEST + PROVIDED, EDITIONS_CHECKS, EDITIONS_RUBRIC),
                              {"var": "unbiased"})
    assert graded.rubric.points["svm_loss/dx"] == 1 and graded.rubric.max_score() == 11
    assert all(c.editions == () for c in graded.checks)


LEFT_OUT_AND_PROVIDED = """
not_assigned:
  var:
    biased:
      - parts: [Net]
        editions: the older editions
      - parts: [svm_loss]
        editions: the older editions (given by the course)
        provided: true
"""


def test_one_edition_may_leave_a_part_out_and_provide_another(course) -> None:
    """Note [Course-provided parts]: a value's list of entries, each read as a lone entry is."""
    given = assignments.load(course(MANIFEST + LEFT_OUT_AND_PROVIDED, EDITIONS_CHECKS,
                                    EDITIONS_RUBRIC), {"var": "biased"})
    assert {c.id for c in given.checks} == {"affine_forward/out", "svm_loss/dx",
                                            "Network.loss/scores"}
    assert given.rubric.points["svm_loss/dx"] == 0 and given.rubric.max_score() == 6
    graded = assignments.load(course(MANIFEST + LEFT_OUT_AND_PROVIDED, EDITIONS_CHECKS,
                                     EDITIONS_RUBRIC), {"var": "unbiased"})
    assert graded.rubric.max_score() == 11
    older = ("var", "biased", "the older editions", "Net", "missing")
    assert {c.id: c.editions for c in graded.checks if c.editions} == {
        "Net.__init__/params": (older,), "Net.loss/scores": (older,)}


@pytest.mark.parametrize("table, error", [
    ("  var:\n    biased: {parts: [svm_loss], editions: x, provided: yes please}\n",
     "provided must be true or false"),
    ("  size:\n    64: {parts: [svm_loss], editions: x}\n", "'size' is not a text convention"),
    ("  var:\n    sample: {parts: [svm_loss], editions: x}\n", "'sample' is not one of its values"),
    ("  var:\n    unbiased: {parts: [svm_los], editions: x}\n", "'svm_los' names no check"),
    ("  var:\n    unbiased: {editions: x}\n", "KeyError"),
    ("  var:\n    unbiased: [{parts: [svm_loss], editions: x}, {editions: y}]\n", "KeyError"),
    ("  var:\n    unbiased: {parts: [svm_loss], editions: x, hint: always}\n",
     "hint must be missing or failing"),
])
def test_a_bad_not_assigned_table_is_the_courses_error(course, table, error) -> None:
    manifest = MANIFEST + "not_assigned:\n" + table
    with pytest.raises(AssignmentError, match="bad not_assigned") as info:
        assignments.load(course(manifest, EDITIONS_CHECKS, EDITIONS_RUBRIC))
    assert error in str(info.value)


def test_unknown_assignment_lists_the_available_ones(course) -> None:
    course(name="batchnorm")
    course(name="cnn")
    with pytest.raises(AssignmentError) as info:
        assignments.load("fc_net")
    assert str(info.value) == "unknown assignment 'fc_net'; available: batchnorm, cnn"


def test_unknown_assignment_when_there_are_none(course, tmp_path) -> None:
    (tmp_path / "assignments").mkdir()
    with pytest.raises(AssignmentError, match="available: none"):
        assignments.load("fc_nets")


def test_a_check_missing_from_the_rubric(course) -> None:
    with pytest.raises(AssignmentError) as info:
        assignments.load(course(rubric="points:\n  affine_forward/out: 1\n"))
    assert str(info.value).endswith(".yml: checks without points: ['relu_forward/out']")


def test_a_rubric_entry_naming_no_check(course) -> None:
    with pytest.raises(AssignmentError) as info:
        assignments.load(course(rubric=RUBRIC + "  softmax_loss/dx: 1\n"))
    assert str(info.value).endswith(".yml: entries naming no check: ['softmax_loss/dx']")


def test_both_rubric_mismatches_are_reported_together(course) -> None:
    with pytest.raises(AssignmentError) as info:
        assignments.load(course(rubric="points:\n  affine_forward/out: 1\n  svm_loss/dx: 1\n"))
    assert str(info.value).endswith("entries naming no check: ['svm_loss/dx']; "
                                    "checks without points: ['relu_forward/out']")


def test_an_empty_rubric_scores_nothing_and_says_so(course) -> None:
    with pytest.raises(AssignmentError, match="checks without points: "
                                              r"\['affine_forward/out', 'relu_forward/out'\]"):
        assignments.load(course(rubric=""))


def test_missing_rubric(course, tmp_path) -> None:
    assignment_id = course(rubric=None)
    with pytest.raises(AssignmentError) as info:
        assignments.load(assignment_id)
    assert str(info.value) == f"rubric {tmp_path / 'rubrics' / assignment_id}.yml is missing"


def test_duplicate_check_ids(course) -> None:
    checks = CHECKS_PY + "CHECKS.append(CHECKS[0])\n"
    with pytest.raises(AssignmentError, match=r"duplicate check ids \['affine_forward/out'\]"):
        assignments.load(course(checks=checks))


@pytest.mark.parametrize("manifest, fragment", [
    ("title: no files\n", "KeyError: 'files'"),
    ("files:\n  layers: layers.py\nlimits:\n  call_timeout: 3\n", "unexpected keyword argument 'call_timeout'"),
], ids=["no_files", "unknown_limit"])
def test_bad_manifest_is_an_assignment_error(course, manifest, fragment) -> None:
    with pytest.raises(AssignmentError) as info:
        assignments.load(course(manifest=manifest))
    assert "manifest.yml: bad manifest" in str(info.value) and fragment in str(info.value)


def test_the_real_fc_nets_assignment_is_consistent() -> None:
    a = assignments.load("fc_nets")
    assert "fc_nets" in assignments.available()
    assert a.layout.files["layers"] == "layers.py"
    assert set(a.rubric.points) == {c.id for c in a.checks}
    assert a.rubric.max_score() > 0
    assert all("/" in c.id for c in a.checks)


# -- notebooks and aliases (Note [Manifest]) ------------------------------------------------------

def test_notebook_settings_aliases_and_manual_points_load(course) -> None:
    manifest = MANIFEST + ("notebooks: {layers: '*.ipynb'}\nnotebook_mode: execute\n"
                           "notebook_limits: {cell_s: 2, total_s: 30}\n"
                           "aliases: {batch_norm: [batchnorm, batch_normalization], relu: relu_fwd}\n")
    a = assignments.load(course(manifest=manifest, rubric=RUBRIC + "manual:\n  inline_question_1: 1.5\n"))
    assert a.layout.notebooks == {"layers": "*.ipynb"} and a.layout.notebook_mode == "execute"
    assert (a.layout.notebook_cell_s, a.layout.notebook_total_s) == (2.0, 30.0)
    assert a.aliases == {"batch_norm": ("batchnorm", "batch_normalization"), "relu": ("relu_fwd",)}
    assert a.rubric.manual == {"inline_question_1": 1.5} and a.rubric.max_score() == 2.5
    plain = assignments.load(course())
    assert plain.layout.notebooks == {} and plain.layout.notebook_mode == "definitions"
    assert plain.aliases == {} and plain.rubric.manual == {}


@pytest.mark.parametrize("extra, fragment", [
    ("notebook_mode: run\n", "notebook_mode must be definitions or execute"),
    ("notebook_limits: {cell: 2}\n", "notebook_limits: unknown keys ['cell']"),
])
def test_bad_notebook_settings_are_assignment_errors(course, extra, fragment) -> None:
    with pytest.raises(AssignmentError, match="bad manifest") as info:
        assignments.load(course(manifest=MANIFEST + extra))
    assert fragment in str(info.value)


def test_bad_manual_points_are_an_assignment_error(course) -> None:
    with pytest.raises(AssignmentError, match="manual must map questions to points"):
        assignments.load(course(rubric=RUBRIC + "manual:\n  inline_question_1: lots\n"))
