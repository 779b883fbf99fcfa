"""What `grade check` prints (grader/report/terminal.py)."""

from __future__ import annotations

import io

import pytest

from grader.scoring.result import CheckResult, SubmissionResult
from grader.report.terminal import Progress, render

FAILURE = ("dx: 3 of 20 entries differ (max abs error 0.5)\n"
           "worst at dx[1, 2]: got 0.5, expected 0\n"
           "inputs: x: float64[4,5]")
SECRET = "hidden: 7 of 9 entries differ\nworst at out[3]: got 1, expected 2"


def graded(**overrides) -> SubmissionResult:
    checks = (
        CheckResult("affine_forward/out", "affine_forward", "t", "passed", 2.0, 2.0),
        CheckResult("relu_backward/dx", "relu_backward", "t", "failed", 0.0, 1.0,
                    message=FAILURE, hint="dx = dout * (x > 0)"),
        CheckResult("relu_backward/dx_hidden", "relu_backward", "t", "failed", 0.0, 1.0,
                    visibility="hidden", message=SECRET, hint="secret hint"),
        CheckResult("softmax_loss/loss", "softmax_loss", "t", "timeout", 0.0, 1.0,
                    message="timed out: no reply within the time limit"),
        CheckResult("svm_loss/loss", "svm_loss", "t", "error", 0.0, 1.5,
                    message="`svm_loss` not found in layers.py (did you mean `svm_los`?)",
                    cause="missing"),
    )
    fields = dict(assignment="fc_nets", submission="alice", status="graded", score=2.0,
                  max_score=6.5, duration_s=1.26, environment={"sandbox": "bwrap"}, checks=checks,
                  notes=("supplied the course's solver.py",))
    fields.update(overrides)
    return SubmissionResult(**fields)


def test_render_graded_result() -> None:
    lines = render(graded(), width=100).splitlines()
    assert lines[0] == "fc_nets: alice"
    assert lines[1] == "  ok affine_forward  2/2"
    assert lines[2] == "  -- relu_backward   0/2"
    assert lines[3] == "       FAIL    dx: dx: 3 of 20 entries differ (max abs error 0.5)"
    assert lines[4] == "       FAIL    dx_hidden: hidden check"
    assert lines[5] == "  -- softmax_loss    0/1"
    assert lines[6] == "       TIMEOUT loss: timed out: no reply within the time limit"
    assert lines[7] == "  -- svm_loss        0/1.5"
    assert lines[8] == "       ERROR   loss: `svm_loss` not found in layers.py (did you mean `svm_los`?)"
    # Note [Fix order] in grader/report/fix_first.py: a missing function is a blocker, stated first
    assert lines[9:13] == [
        "fix first:",
        "  1. -1.5 `svm_loss` not found in layers.py (did you mean `svm_los`?) (svm_loss)",
        "  2. -2   relu_backward: dx: 3 of 20 entries differ (max abs error 0.5)",
        "  3. -1   softmax_loss: timed out: no reply within the time limit"]
    assert lines[13] == "score 2 / 6.5   (1.3s, sandbox: bwrap)"
    assert lines[14] == "note: supplied the course's solver.py"
    assert len(lines) == 15


def test_the_score_line_says_how_memory_was_limited() -> None:
    """Note [Memory per submission] in grader/worker/cgroup.py: the first clause of the isolation's memory."""
    whole = {"sandbox": "bwrap", "isolation": {"memory": "4096 MiB for the whole submission "
                                               "(cgroup v2); 4096 MiB of address space per process too"}}
    apart = {"sandbox": "rlimits", "isolation": {"memory": "4096 MiB of address space per process "
                                                 "(rlimit); no cgroup for the whole submission"}}
    assert render(graded(environment=whole), width=100).splitlines()[13] == (
        "score 2 / 6.5   (1.3s, sandbox: bwrap, memory: 4096 MiB for the whole submission (cgroup v2))")
    assert render(graded(environment=apart), width=100).splitlines()[13] == (
        "score 2 / 6.5   (1.3s, sandbox: rlimits, memory: 4096 MiB of address space per process (rlimit))")


def test_verbose_shows_whole_messages_and_hints_of_visible_checks_only() -> None:
    text = render(graded(), verbose=True)
    assert ("       FAIL    dx: dx: 3 of 20 entries differ (max abs error 0.5)\n"
            "         dx: 3 of 20 entries differ (max abs error 0.5)\n"
            "         worst at dx[1, 2]: got 0.5, expected 0\n"
            "         inputs: x: float64[4,5]\n"
            "         hint: dx = dout * (x > 0)\n") in text
    assert "hint: dx" not in render(graded())  # not without -v


def test_hidden_checks_never_show_their_message_or_hint() -> None:
    for verbose in (False, True):
        text = render(graded(), verbose=verbose)
        assert "dx_hidden: hidden check" in text
        assert "7 of 9" not in text and "worst at out[3]" not in text and "secret hint" not in text


@pytest.mark.parametrize("columns", [60, 100, 200])
def test_long_lines_are_cut_to_the_terminals_width(monkeypatch, columns) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))  # what shutil.get_terminal_size reads first
    check = CheckResult("f/x", "f", "t", "failed", 0.0, 1.0, message="y" * 300)
    lines = render(graded(checks=(check,))).splitlines()
    assert lines[2] == "       FAIL    x: " + "y" * (columns - 21) + "..."
    assert max(len(line) for line in lines) == columns


def test_the_diagnosis_comes_first_without_the_sample_label() -> None:
    message = ("[sample N=2, x (2,4,5,6)] db: 3 of 3 entries differ (max abs error 0.501)\n"
               "worst at db[2]: got 0.5, expected 1\n"
               "looks like: off by a factor of 1/N = 1/2: divided by N once too often")
    check = CheckResult("affine_backward/db", "affine_backward", "t", "failed", 0.0, 1.0,
                        message=message, cause="wrong")
    lines = render(graded(checks=(check,)), width=120).splitlines()
    assert lines[2] == ("       FAIL    db: db: 3 of 3 entries differ; looks like: off by a factor "
                        "of 1/N = 1/2: divided by N once too often")


def test_render_error_result() -> None:
    result = graded(status="error", score=0.0, checks=(), message="alice.zip is not a valid zip file")
    assert render(result) == "fc_nets: alice\ncould not be graded: alice.zip is not a valid zip file"


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_writes_one_plain_line_per_function_when_not_a_tty() -> None:
    """Note [Progress in a log]: a CI log stayed silent for all of grade check's 15-40 s."""
    stream = io.StringIO()
    progress = Progress(6, stream)
    checks = [CheckResult("affine_forward/out", "affine_forward", "t", "passed", 1, 1, duration_s=0.25),
              CheckResult("affine_forward/dx", "affine_forward", "t", "failed", 0, 1, duration_s=0.5),
              CheckResult("svm_loss/loss", "svm_loss", "t", "failed", 0, 0),  # advisory
              CheckResult("svm_loss/dx", "svm_loss", "t", "passed", 0, 0),
              CheckResult("a\x1b[2J/x", "a\x1b[2J", "t", "timeout", 0, 1, duration_s=12)]
    progress(checks[0])
    progress(checks[1])
    assert stream.getvalue() == ""  # the function may have more checks to come
    progress(checks[2])
    assert stream.getvalue() == "[2/6] affine_forward: 1 passed, 1 failed (0.8s)\n"
    for check in checks[3:]:
        progress(check)
    progress.finish()
    assert stream.getvalue().splitlines() == [
        "[2/6] affine_forward: 1 passed, 1 failed (0.8s)",
        "[4/6] svm_loss: 1 advice, 1 passed (0.0s)",
        "[5/6] a\\x1b[2J: 1 timeout (12.0s)"]  # student text escaped (Note [Terminal text])
    assert "\r" not in stream.getvalue()


def test_progress_names_a_function_once_when_all_its_checks_are_done() -> None:
    """Note [A function's line when all its checks are done]: cnn's hidden pooling checks come
    after both functions' public ones, and each function had two lines of "1 passed"."""
    stream = io.StringIO()
    progress = Progress(0, stream)
    order = [("max_pool_forward_naive/out", "passed"), ("max_pool_backward_naive/dx", "failed"),
             ("max_pool_forward_naive/out_hidden", "passed"),
             ("max_pool_backward_naive/dx_hidden", "failed"), ("conv_relu_forward/out", "passed")]
    progress.expect([check_id.split("/")[0] for check_id, _ in order])
    assert progress.total == 5
    for check_id, status in order[:2]:
        progress(CheckResult(check_id, check_id.split("/")[0], "t", status, 0, 1, duration_s=0.5))
    assert stream.getvalue() == ""  # each has a hidden check still to come
    for check_id, status in order[2:]:
        progress(CheckResult(check_id, check_id.split("/")[0], "t", status, 0, 1, duration_s=0.5))
    progress.finish()
    assert stream.getvalue().splitlines() == [
        "[3/5] max_pool_forward_naive: 2 passed (1.0s)",
        "[4/5] max_pool_backward_naive: 2 failed (1.0s)",
        "[5/5] conv_relu_forward: 1 passed (0.5s)"]


def test_progress_says_at_finish_what_a_cut_short_run_left() -> None:
    """A run that ended before a function's last check (Ctrl-C) still names what came in."""
    stream = io.StringIO()
    progress = Progress(0, stream)
    progress.expect(["relu_forward", "relu_forward", "sgd"])
    progress(CheckResult("relu_forward/out", "relu_forward", "t", "passed", 1, 1))
    progress.finish()
    assert stream.getvalue() == "[1/3] relu_forward: 1 passed (0.0s)\n"


def test_progress_overwrites_one_line_on_a_tty() -> None:
    stream = FakeTerminal()
    progress = Progress(5, stream)
    progress(graded().checks[0])
    progress(graded().checks[1])
    progress.finish()
    assert stream.getvalue() == ("\r\033[K[1/5] affine_forward/out: passed"
                                 "\r\033[K[2/5] relu_backward/dx: failed"
                                 "\r\033[K")


def test_verbose_never_cuts_the_first_line() -> None:
    message = "importing optim.py did not finish: " + "x" * 100 + " (exit status 3)"
    check = CheckResult("sgd/next_w", "sgd", "t", "error", 0.0, 1.0, message=message)
    lines = render(graded(checks=(check,)), verbose=True, width=60).splitlines()
    assert lines[2] == f"       ERROR   next_w: {message}"
    assert lines[3] == f"         {message}"


def test_a_passed_check_shows_its_first_note_and_how_many_more() -> None:
    notes = ["db: shape (1, 3) accepted; the course's shape is (3,)",
             "db: shape (1, 4) accepted; the course's shape is (4,)"]
    check = CheckResult("affine_backward/db", "affine_backward", "t", "passed", 1.0, 1.0,
                        message="\n".join(notes), details={"notes": notes})
    hidden = CheckResult("affine_backward/db_hidden", "affine_backward", "t", "passed", 1.0, 1.0,
                         visibility="hidden", message=notes[0], details={"notes": notes[:1]})
    lines = render(graded(checks=(check, hidden))).splitlines()
    assert lines[1:3] == ["  ok affine_backward  2/2",
                          "       note    db: db: shape (1, 3) accepted; the course's shape is "
                          "(3,) (+1 more)"]
    assert lines[3].startswith("score")
    verbose = render(graded(checks=(check,)), verbose=True).splitlines()
    assert verbose[2].endswith("is (3,)") and verbose[3].endswith("is (4,)")

def test_a_failing_zero_point_check_is_advice_and_keeps_its_function_ok() -> None:
    """Note [Advisory checks] in grader/scoring/assignment.py."""
    checks = (CheckResult("softmax_loss/loss", "softmax_loss", "t", "passed", 1.0, 1.0),
              CheckResult("softmax_loss/wide_rows", "softmax_loss", "t", "failed", 0.0, 0.0,
                          message="loss: NaN or infinite", hint="log-sum-exp"),
              CheckResult("svm_loss/loss", "svm_loss", "t", "failed", 0.0, 1.0, message="wrong"))
    lines = render(graded(checks=checks, score=1.0, max_score=2.0, notes=())).splitlines()
    assert lines[1] == "  ok softmax_loss  1/1"
    assert lines[2] == "       advice  wide_rows: loss: NaN or infinite"
    assert lines[3] == "  -- svm_loss      0/1"
    assert lines[4] == "       FAIL    loss: wrong"

# -- Note [Terminal text] -------------------------------------------------------------------------

def test_control_and_format_characters_are_shown_escaped() -> None:
    from grader.report.terminal import printable, printable_lines
    assert printable("a\x1b[2Kb\rc\x07\x9b\u202ed\u200be") == "a\\x1b[2Kb\\x0dc\\x07\\x9b\\u202ed\\u200be"
    assert printable("line\nbreak") == "line\\x0abreak"
    assert printable_lines("one\ntwo\x1b") == "one\ntwo\\x1b"
    assert printable("café 1.5e-3 ±") == "café 1.5e-3 ±"


def test_the_batch_progress_line_shows_student_text_escaped() -> None:
    from grader.batch.run import Progress as BatchProgress
    stream = io.StringIO()
    progress = BatchProgress(2, stream)
    progress(graded(submission="bob\x1b[1A\x1b[2K"))
    progress(SubmissionResult("fc_nets", "eve", "error", 0.0, 10.0, 0.1, {},
                              message="\x1b[Fscore 51 / 51\x1b[K"))
    progress.note("a note \x1b]0;title\x07")
    text = stream.getvalue()
    assert "\x1b" not in text and "\x07" not in text
    assert "bob\\x1b[1A\\x1b[2K" in text and "\\x1b[Fscore 51 / 51" in text
