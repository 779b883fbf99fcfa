"""The self-check table (grader/course/selfcheck.py) reports failures as failures."""

from __future__ import annotations

from grader.course.selfcheck import SelfCheckRow, format_table, run_selfcheck


def test_row_ok_only_within_bound_and_finite() -> None:
    assert SelfCheckRow("g", "a", 1e-9, 1e-8, 0.1).ok
    assert not SelfCheckRow("g", "a", 1e-7, 1e-8, 0.1).ok
    assert not SelfCheckRow("g", "a", float("nan"), 1e-8, 0.1).ok


def test_table_marks_bad_rows() -> None:
    table = format_table([SelfCheckRow("g", "good", 0.0, 1.0, 0.0),
                          SelfCheckRow("g", "broken", 2.0, 1.0, 0.0)])
    lines = table.splitlines()
    assert any(line.startswith("ok  good") for line in lines)
    assert any(line.startswith("BAD broken") for line in lines)


def test_run_selfcheck_returns_1_when_a_row_is_out_of_bound(monkeypatch, capsys) -> None:
    import grader.course.selfcheck as selfcheck
    monkeypatch.setattr(selfcheck, "_gradient_rows",
                        lambda: iter([SelfCheckRow("gradients", "planted", 1.0, 1e-7, 0.0)]))
    assert run_selfcheck(include_frameworks=False) == 1
    out = capsys.readouterr().out
    assert "not trustworthy" in out
    # make demo runs it without frameworks: the title said "..., frameworks" all the same
    assert out.splitlines()[0] == ("Reference self-check: published course vectors, numerical "
                                   "gradients, no frameworks (--no-frameworks)")
