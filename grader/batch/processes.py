"""The processes below a process, from /proc, and how they are killed.

The batch process kills a job that ran past its limit with its whole tree (Note [A limit per
job] in grader/batch/run.py), and a job kills its own student workers when it is stopped
(grader/batch/job.py); both read the same parent links.  Imported by both, so it imports
neither.
"""

from __future__ import annotations

import os
import signal


def kill_process_tree(pid: int) -> None:
    """SIGKILL `pid` and its descendants (stopped first; see RunningJob.kill_tree)."""
    try:
        os.kill(pid, signal.SIGSTOP)
    except OSError:
        return  # gone already (its template reaped it)
    for _ in range(3):  # a descendant may have been forking while it was found
        below = descendants(pid)
        if not below:
            break
        for child in below:
            try:
                os.kill(child, signal.SIGSTOP)
            except OSError:
                pass
        for child in below:
            kill_group_and_process(child)
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


def kill_group_and_process(pid: int) -> None:
    """SIGKILL the process group `pid` leads (a student worker leads its own) and `pid` itself."""
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, signal.SIGKILL)
        except OSError:
            pass


def children_map() -> dict[int, list[int]]:
    """Every live process's children, from /proc's parent pids."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(parent, []).append(int(entry))
    return children


def descendants(pid: int) -> list[int]:
    """Every live process below `pid`, nearest first."""
    children = children_map()
    found, queue = [], list(children.get(pid, ()))
    while queue:
        child = queue.pop(0)
        found.append(child)
        queue.extend(children.get(child, ()))
    return found
