"""benchmarks/nbgrader_side.py and otter_side.py: the notebooks each tool is given.

These check the notebooks' structure only; running the tools themselves needs
their venv (`make bench-tools`) and minutes, so that is left to
benchmarks/compare_tools.py, which fails when the tools' scores disagree.
"""

import compare_tools
import equivalent_tests as eq
import nbgrader_side
import otter_side
import tool_env


def test_nbgrader_source_has_one_graded_cell_per_check_with_its_points():
    cells = nbgrader_side.source_notebook()["cells"]
    graded = [c for c in cells if c["metadata"].get("nbgrader", {}).get("grade")]
    assert [c["metadata"]["nbgrader"]["grade_id"] for c in graded] == [
        nbgrader_side.test_grade_id(t.check_id) for t in eq.TESTS]
    assert sum(c["metadata"]["nbgrader"]["points"] for c in graded) == eq.MAX_SCORE
    hidden = [c for c in graded if "### BEGIN HIDDEN TESTS" in c["source"]]
    assert len(hidden) == sum(t.hidden for t in eq.TESTS)
    answers = [c for c in cells if c["metadata"].get("nbgrader", {}).get("solution")]
    assert all("### BEGIN SOLUTION" in c["source"] for c in answers)
    assert len(answers) == len(eq.FUNCTIONS)


def test_otter_master_has_balanced_blocks_and_every_test():
    cells = otter_side.master_notebook()["cells"]
    raw = [c["source"].splitlines()[0] for c in cells if c["cell_type"] == "raw"]
    assert raw[0] == "# ASSIGNMENT CONFIG"
    for begin, end in (("# BEGIN QUESTION", "# END QUESTION"), ("# BEGIN TESTS", "# END TESTS"),
                       ("# BEGIN SOLUTION", "# END SOLUTION")):
        assert raw.count(begin) == raw.count(end) == len(eq.FUNCTIONS)
    tests = [c for c in cells if c["cell_type"] == "code" and "BEGIN TEST CONFIG" in c["source"]]
    assert len(tests) == len(eq.TESTS)
    assert sum("hidden: true" in c["source"] for c in tests) == sum(t.hidden for t in eq.TESTS)


def test_compare_tools_without_the_tools_venv_says_how_to_make_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(tool_env, "TOOLS_VENV", tmp_path / "no-venv")
    assert compare_tools.main(["--size", "2"]) == 2
    assert "make bench-tools" in capsys.readouterr().err
