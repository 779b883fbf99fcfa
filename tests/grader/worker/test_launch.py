"""Starting a cold worker's process (grader/worker/launch.py, Note [Worker before numpy]): what
`start` starts is the process `Worker` talks to once it adopts it, and a process abandoned
before anyone talked to it leaves nothing behind."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

from grader.worker import launch, sandbox
from grader.worker.client import Worker
from grader.worker.devices import CPU

LIMITS = sandbox.Limits(call_timeout_s=5, memory_bytes=2 << 30, processes=64)
GOOD = "def double(x):\n    return 2 * x\n"


def test_an_adopted_process_is_the_worker_it_was_started_for(submission) -> None:
    folder = submission({"layers.py": GOOD})
    started = launch.start(folder.resolve(), LIMITS, launch.worker_python(None),
                           launch.sandbox_mode(None), CPU)
    worker = Worker(folder, limits=LIMITS)
    try:
        worker.adopt(started)
        assert worker.process is started.process and worker.scratch == started.scratch
        np.testing.assert_array_equal(worker.call("layers", "double", np.arange(3.0)).value,
                                      [0.0, 2.0, 4.0])
        assert worker.starts == 1 and worker.mode == started.mode
    finally:
        worker.close()
    assert not started.scratch.exists()


def test_a_process_abandoned_before_it_was_adopted_leaves_nothing(submission) -> None:
    started = launch.start(submission({"layers.py": GOOD}).resolve(), LIMITS,
                           launch.worker_python(None), launch.sandbox_mode(None), CPU)
    pid, tree = started.process.pid, started.tree
    started.abandon()
    assert started.process.poll() is not None and not started.scratch.exists()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    if tree is not None:
        assert all(not folder.exists() for folder in tree.folders)


def test_a_worker_closed_before_its_handshake_leaves_nothing(submission) -> None:
    """An adopted process that was never talked to (`grade check` stopped by Ctrl-C, a check
    module that would not import) is ended by `Worker.close` through `Launched.abandon`."""
    started = launch.start(submission({"layers.py": GOOD}).resolve(), LIMITS,
                           launch.worker_python(None), launch.sandbox_mode(None), CPU)
    worker = Worker(started.scratch, limits=LIMITS)
    worker.adopt(started)
    tree = worker.tree
    worker.close()
    assert started.process.poll() is not None and not started.scratch.exists()
    assert worker.process is None and worker.tree is None
    if tree is not None:
        assert all(not folder.exists() for folder in tree.folders)


def test_a_command_that_cannot_start_leaves_no_scratch_folder(submission, tmp_path,
                                                                monkeypatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", None)
    with pytest.raises(OSError):
        launch.start(submission({"layers.py": GOOD}).resolve(), LIMITS,
                     str(tmp_path / "no-such-python"), "rlimits", CPU)
    assert not any(p.name.startswith("grader-scratch-") for p in tmp_path.iterdir())


def test_the_defaults_are_the_judges_python_and_the_environments_sandbox(monkeypatch) -> None:
    assert launch.worker_python(None) == sys.executable
    assert launch.worker_python("/opt/py") == "/opt/py"
    monkeypatch.setenv("GRADER_SANDBOX", "rlimits")
    assert launch.sandbox_mode(None) == "rlimits" and launch.sandbox_mode("bwrap") == "bwrap"
    monkeypatch.delenv("GRADER_SANDBOX")
    assert launch.sandbox_mode(None) == "auto"
