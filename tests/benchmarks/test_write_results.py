"""benchmarks/write_results.py: RESULTS.md from the scripts' JSON, and what it refuses."""

import json

import pytest

import write_results

MACHINE = {"date": "2026-01-01T00:00:00+00:00", "cpu": "Test CPU", "cpu_count": 2, "nproc": "2",
           "memory_gib": 24.0, "load_average": [3.5, 3.0, 2.0], "platform": "Linux",
           "python": "3.11.7", "numpy": "2.4.6"}


def write(folder, name, payload):
    (folder / f"{name}.json").write_text(json.dumps({"command_line": f"run {name}",
                                                     "machine": MACHINE, **payload}))


def test_renders_the_sections_present_with_machine_commands_and_warning(tmp_path):
    write(tmp_path, "grade_check_times", {"runs": 3, "rows": [{
        "assignment": "cnn", "solution": "/elsewhere/cs231n", "submitted_as": "cs231n", "cold_wall_s": 3.0,
        "cold_grading_s": 2.0, "page_cache_dropped": False, "warm_walls_s": [2.0],
        "warm_median_s": 2.0, "warm_min_s": 1.9, "warm_grading_median_s": 1.2}]})
    text = write_results.render(tmp_path, "small", preliminary=True)
    assert "Preliminary, machine under load" in text
    assert "Test CPU" in text and "3.5, 3, 2" in text
    assert "run grade_check_times" in text
    assert "| cnn | `/elsewhere/cs231n` (`cs231n`) | 3.00 | 2.00 / 1.90 | 2.00 / 1.20 |" in text
    assert "## 1. Our grader against" not in text  # no comparison section without its JSON
    assert "## 2. Batch throughput" not in text


def test_a_folder_without_figures_is_refused(tmp_path):
    with pytest.raises(SystemExit, match="no benchmark JSON"):
        write_results.render(tmp_path, "full", preliminary=False)
