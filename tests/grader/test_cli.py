"""End-to-end: the `grade` console script, run in a subprocess as a user would."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grader

GRADE = Path(sys.executable).with_name("grade")


def run_grade(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([str(GRADE), *args], capture_output=True, text=True, timeout=timeout)


def test_console_script_is_installed_next_to_python() -> None:
    assert GRADE.exists(), f"{GRADE} missing: is the package installed (make venv)?"


def test_version() -> None:
    result = run_grade("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"grade {grader.__version__}"


def test_help_lists_selfcheck() -> None:
    result = run_grade("--help")
    assert result.returncode == 0
    assert "selfcheck" in result.stdout


def test_no_command_prints_help_and_exits_2() -> None:
    result = run_grade()
    assert result.returncode == 2
    assert "usage: grade" in result.stdout


def test_unknown_command_exits_2_with_message() -> None:
    result = run_grade("frobnicate")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


def test_selfcheck_without_frameworks_passes_and_prints_table() -> None:
    result = run_grade("selfcheck", "--no-frameworks")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "conv_forward_naive" in result.stdout
    assert "BAD" not in result.stdout
    assert "All " in result.stdout and "within their bounds" in result.stdout
