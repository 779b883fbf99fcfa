"""grader/batch/processes.py: the tree below a process, found from /proc and killed whole."""

from __future__ import annotations

import subprocess
import sys
import time

from grader.batch import processes

# A child that starts a grandchild in a session of its own, then both sleep.
TREE = ("import os, subprocess, sys, time; "
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'], start_new_session=True); "
        "time.sleep(60)")


def test_a_tree_is_found_below_its_root_and_killed_whole() -> None:
    root = subprocess.Popen([sys.executable, "-c", TREE])
    try:
        deadline = time.monotonic() + 10
        while len(processes.descendants(root.pid)) < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        below = processes.descendants(root.pid)
        assert len(below) == 1 and processes.children_map()[root.pid] == below
        processes.kill_process_tree(root.pid)
        assert root.wait(10) == -9
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _alive(below[0]):
            time.sleep(0.05)
        assert not _alive(below[0])  # the grandchild in its own session went too
    finally:
        root.kill()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
