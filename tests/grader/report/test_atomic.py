"""Files written whole or not at all (grader/report/atomic.py): Note [Atomic writes leave
nothing behind].  The dashboard's case through the real `grade batch` is in
tests/grader/batch/test_run.py."""

from __future__ import annotations

import pytest

from grader.report.atomic import write_atomic


def test_a_write_replaces_the_file_whole_and_leaves_no_tmp(tmp_path) -> None:
    path = tmp_path / "summary.html"
    path.write_text("old")
    (tmp_path / "summary.html.tmp").write_text("left by a kill")  # taken over, then renamed
    write_atomic(path, "new")
    assert path.read_text() == "new" and sorted(p.name for p in tmp_path.iterdir()) == ["summary.html"]


def test_a_write_that_fails_keeps_the_old_file_and_leaves_no_tmp(tmp_path) -> None:
    path = tmp_path / "grades.csv"
    path.write_text("old")
    with pytest.raises(UnicodeEncodeError):  # fails half-way through the write
        write_atomic(path, "a" * 100_000 + "\udce9")
    assert path.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["grades.csv"]


def test_a_rename_that_fails_leaves_no_tmp(tmp_path) -> None:
    (tmp_path / "summary.html").mkdir()  # what the rename cannot replace
    with pytest.raises(IsADirectoryError):
        write_atomic(tmp_path / "summary.html", "page")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.html"]
