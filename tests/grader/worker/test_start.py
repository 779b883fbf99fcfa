"""The cold worker's script (grader/worker/start.py, Note [Worker start])."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from grader.worker import sandbox

START = Path(sandbox.WORKER_DIR) / "start.py"
SHOW = ("import json, sys; print(json.dumps({'path': sys.path, 'prefix': sys.prefix, "
        "'finders': [type(f).__module__ for f in sys.meta_path]}))")


def _state(*flags: str, setup: bool) -> dict:
    """sys.path, sys.prefix and the import finders of a fresh `python FLAGS`, after
    start.site_setup() where `setup`."""
    code = ""
    if setup:
        code = (f"import importlib.util as u; s = u.spec_from_file_location('start', "
                f"{str(START)!r}); m = u.module_from_spec(s); s.loader.exec_module(m); "
                "m.site_setup(); ")
    done = subprocess.run([sys.executable, *flags, "-c", code + SHOW], capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout)


def _graders_pth_paths() -> set[str]:
    """The folders the grader's own editable-install .pth files name (Note [Editable install as a
    path] in the Makefile: `compat` mode writes the checkout's folder there)."""
    import site
    found = set()
    for folder in site.getsitepackages():
        for pth in Path(folder).glob("__editable__*dl_grader*.pth"):
            found.update(line.strip() for line in pth.read_text().splitlines()
                         if line.strip() and not line.startswith(("import", "#")))
    return found


def test_site_setup_gives_sites_path_less_the_graders_editable_finder() -> None:
    """Under -I -S, site_setup puts the same folders on sys.path as site.main under -I, with the
    same prefix (the virtual environment's), and installs no finder of the grader's own."""
    plain = _state("-I", setup=False)
    mine = _state(*sandbox.WORKER_FLAGS, setup=True)
    bare = _state(*sandbox.WORKER_FLAGS, setup=False)
    assert mine["prefix"] == plain["prefix"]
    assert mine["path"] == [p for p in plain["path"]
                            if "__editable__" not in p and p not in _graders_pth_paths()]
    assert not any("__editable__" in m for m in mine["finders"])
    assert any("site-packages" in p for p in mine["path"])
    assert not any("site-packages" in p for p in bare["path"])  # -S alone would find no numpy


def test_the_graders_editable_pth_files_are_the_ones_passed_over(tmp_path) -> None:
    import importlib.util
    spec = importlib.util.spec_from_file_location("start_under_test", START)
    start = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(start)
    assert "__editable__.dl_grader-0.1.0.pth".startswith(start.GRADER_PTH_PREFIXES)
    assert not "distutils-precedence.pth".startswith(start.GRADER_PTH_PREFIXES)
    assert not "__editable__.numpy-2.0.pth".startswith(start.GRADER_PTH_PREFIXES)


@pytest.mark.parametrize("mode", ["rlimits", "bwrap"])
def test_a_cold_workers_command_is_start_py_under_the_worker_flags(mode, tmp_path) -> None:
    if mode == "bwrap" and sandbox.bwrap_path() is None:
        pytest.skip("bubblewrap is not installed")
    plan = sandbox.plan(sys.executable, tmp_path, tmp_path, mode)
    assert plan.argv[-3:-1] == list(sandbox.WORKER_FLAGS)
    assert plan.argv[-1].endswith("/start.py")
    assert "start.py" in sandbox.WORKER_FILES  # bound into the sandbox with the others
