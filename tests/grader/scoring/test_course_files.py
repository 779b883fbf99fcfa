"""The course's YAML files read from their form parsed ahead (grader/scoring/course_files.py,
Note [Course files parsed ahead])."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from grader.scoring import assignment as assignments
from grader.scoring import course_files


@pytest.fixture
def stored_in(tmp_path, monkeypatch):
    """The parsed forms kept in a folder of the test's own, not the checkout's."""
    folder = tmp_path / "compiled"
    monkeypatch.setattr(course_files, "COMPILED", folder)
    return folder


def test_every_manifest_and_rubric_reads_as_pyyaml_parses_it(stored_in) -> None:
    files = course_files.course_files()
    assert any(p.name == "manifest.yml" for p in files) and any(p.parent.name == "rubrics"
                                                                for p in files)
    written = course_files.compile_ahead()
    assert len(written) == len(files)  # every course file here is kept: JSON holds its value
    for path in files:
        assert course_files.read(path) == course_files.parse_yaml(path.read_text()), path


def test_grading_reads_the_manifest_and_rubric_without_pyyaml(stored_in, monkeypatch) -> None:
    course_files.compile_ahead()
    for name in [m for m in sys.modules if m == "yaml" or m.startswith("yaml.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "yaml", None)  # `import yaml` now raises ImportError
    assignment = assignments.load("fc_nets")  # its manifest, checks and rubric
    assert assignment.layout.files["layers"] == "layers.py"
    assert assignment.rubric.max_score() > 0 and set(assignment.rubric.points) == {
        c.id for c in assignment.checks}


def test_an_edited_file_is_parsed_again_not_read_from_its_stale_form(stored_in, tmp_path,
                                                                       monkeypatch) -> None:
    monkeypatch.setattr(course_files, "COURSE_ROOT", tmp_path)
    path = tmp_path / "assignments" / "tiny" / "manifest.yml"
    path.parent.mkdir(parents=True)
    path.write_text("title: Tiny\nlimits: {call_timeout_s: 3}\n")
    [stored] = course_files.compile_ahead([path])
    assert course_files.read(path) == {"title": "Tiny", "limits": {"call_timeout_s": 3}}
    path.write_text("title: Tiny\nlimits: {call_timeout_s: 5}\n")  # edited, not compiled again
    assert course_files.read(path) == {"title": "Tiny", "limits": {"call_timeout_s": 5}}
    assert stored.exists()  # nothing is written at run time


def test_a_value_json_would_change_is_not_kept_and_reads_as_pyyaml_gives_it(
        stored_in, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(course_files, "COURSE_ROOT", tmp_path)
    numbered = tmp_path / "rubrics" / "numbered.yml"
    dated = tmp_path / "rubrics" / "dated.yml"
    numbered.parent.mkdir()
    numbered.write_text("points:\n  1: 2.0\n")  # a number as a key: JSON would make it "1"
    dated.write_text("due: 2024-05-01\n")      # a date: JSON has none
    assert course_files.compile_ahead([numbered, dated]) == []
    assert course_files.read(numbered) == {"points": {1: 2.0}}
    assert str(course_files.read(dated)["due"]) == "2024-05-01"


def test_a_file_outside_the_project_is_parsed_and_never_stored(stored_in, tmp_path) -> None:
    outside = tmp_path / "course.yml"
    outside.write_text("conventions: {dropout_p: keep}\n")
    assert course_files.compile_ahead([outside]) == []
    assert course_files.read(outside) == {"conventions": {"dropout_p": "keep"}}


def test_invalid_yaml_is_pyyamls_error_as_before(stored_in, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(course_files, "COURSE_ROOT", tmp_path)
    broken = tmp_path / "rubrics" / "broken.yml"
    broken.parent.mkdir()
    broken.write_text("points: [unclosed\n")
    assert course_files.compile_ahead([broken]) == []
    with pytest.raises(course_files.yaml_error()):
        course_files.read(broken)


def test_a_course_file_has_one_stored_name_through_the_package_link_or_not() -> None:
    """The parsed-ahead forms are named under COURSE_ROOT, which assignment.py reads its folders
    from (Note [Course folder]): through grader/assignments or the checkout's folder, one name,
    the one an installed wheel (where the package's folder is the only one) gives it too."""
    from grader.scoring import assignment
    package = Path(course_files.__file__).resolve().parents[1]
    through_link = course_files._stored(package / "assignments" / "fc_nets" / "manifest.yml")
    assert through_link == course_files._stored(assignment.ASSIGNMENTS_DIR / "fc_nets" / "manifest.yml")
    assert through_link.name == "assignments--fc_nets--manifest.yml.json"
    assert assignment.COURSE_ROOT == course_files.COURSE_ROOT
