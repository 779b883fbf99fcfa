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


def test_the_class_of_1000_and_the_goals_table(tmp_path):
    run = {"mode": "local", "workers": 2, "command": "grade batch WORK/class", "wall_s": 600.0,
           "graded": 1000, "per_minute": 100.0, "batch_peak_rss_mib": 61.0,
           "judge_peak_rss_mib": 250.0, "tree_peak_rss_mib": 400.0, "worker_start": {"warm": 1000}}
    write(tmp_path, "big_class", {"size": 1000, "workers": 2, "kinds": ["correct"],
                                  "runs": [run, {**run, "mode": "dask", "wall_s": 690.0,
                                                 "worker_start": {"cold": 1000}}],
                                  "dask_ratio": 1.15, "scores_agree": True, "disagreements": []})
    text = write_results.render(tmp_path, "full", preliminary=False)
    assert "## 5. A class of 1000" in text
    assert "| local | `grade batch WORK/class` | 600.0 | 100.0 | 61 | 250 | 400 | warm: 1000 |" in text
    assert ("| 1000 fc_nets submissions, `--workers 2`, local (workers: warm (1000)) | reported | "
            "100.0/min; judge peak RSS 250 MiB (batch process 61 MiB) | reported |") in text
    assert "| Dask LocalCluster time ÷ local pool, same class | ≤ 1.10 | 1.15 | not met |" in text
    assert "Small sizes under load" not in text


def test_a_folder_without_figures_is_refused(tmp_path):
    with pytest.raises(SystemExit, match="no benchmark JSON"):
        write_results.render(tmp_path, "full", preliminary=False)
