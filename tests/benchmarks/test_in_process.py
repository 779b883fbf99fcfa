"""benchmarks/in_process.py: the checks' computation alone reaches the grader's verdicts."""

import sys
from pathlib import Path

import pytest

import in_process
from grader.scoring import assignment as assignments
from grader.worker.client import StudentError

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples" / "batch"))
import make_class  # noqa: E402


@pytest.fixture(scope="module")
def fc_nets():
    return assignments.load("fc_nets")


def test_a_correct_submission_gets_full_marks(tmp_path, fc_nets):
    make_class._make(tmp_path, 1, "correct")
    computed = in_process.compute_alone(tmp_path / "s01_correct", fc_nets, "s01")
    assert computed.score == fc_nets.rubric.max_score()
    assert computed.seconds > 0
    assert set(computed.statuses.values()) == {"passed"}


def test_a_planted_bug_loses_the_points_of_its_function(tmp_path, fc_nets):
    make_class._make(tmp_path, 2, "bug_momentum_sign")
    computed = in_process.compute_alone(tmp_path / "s02_bug_momentum_sign", fc_nets, "s02")
    lost = {check for check, status in computed.statuses.items() if status != "passed"}
    assert lost == {"sgd_momentum/next_w", "sgd_momentum/steps"}
    assert computed.score == fc_nets.rubric.max_score() - 2


def test_a_student_exception_arrives_as_the_workers_student_error():
    worker = in_process.InProcessWorker()
    with pytest.raises(StudentError) as raised:
        worker.call("math", "sqrt", -1.0)
    assert raised.value.type == "ValueError"
    assert worker.call("math", "sqrt", 4.0).value == 2.0
