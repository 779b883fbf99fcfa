"""Sandbox plans and limits (grader/worker/sandbox.py); the isolation itself is tested in worker/."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from grader.worker import sandbox


def test_process_limit_for_root_is_the_allowance_and_for_users_on_top(monkeypatch) -> None:
    limits = sandbox.Limits(processes=100)
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert sandbox.process_limit(limits) == 100
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setattr(sandbox, "_threads_of_uid", lambda uid: 750)
    assert sandbox.process_limit(limits) == 850


def test_threads_of_uid_counts_at_least_this_process() -> None:
    assert sandbox._threads_of_uid(os.getuid()) >= 1


def test_worker_uids_are_unprivileged_and_vary() -> None:
    uids = {sandbox.worker_uid() for _ in range(50)}
    assert all(uid in sandbox.WORKER_UIDS and uid >= 1000 for uid in uids)
    assert len(uids) > 1


@pytest.mark.skipif(sandbox.bwrap_path() is None, reason="bubblewrap is not installed")
def test_bwrap_plan_binds_only_what_the_worker_needs(tmp_path) -> None:
    plan = sandbox.plan(os.sys.executable, tmp_path / "sub", tmp_path / "scratch", "bwrap")
    argv = " ".join(plan.argv)
    assert plan.mode == "bwrap"
    assert "--unshare-net" in argv and "--unshare-pid" in argv and "--die-with-parent" in argv
    repo = str(Path(sandbox.__file__).resolve().parents[2])
    bound = [plan.argv[i + 1] for i, a in enumerate(plan.argv) if a in ("--ro-bind", "--bind")]
    assert not any(p in (repo, repo + "/reference", repo + "/assignments", repo + "/rubrics")
                   for p in bound), bound
    assert not any(p.startswith(repo + "/reference") for p in bound)
    assert plan.env.get("HOME") == sandbox.SANDBOX_SCRATCH


def test_requesting_bwrap_without_it_is_an_error(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(sandbox, "bwrap_path", lambda: None)
    with pytest.raises(RuntimeError, match="bubblewrap"):
        sandbox.plan(os.sys.executable, tmp_path, tmp_path, "bwrap")
    plan = sandbox.plan(os.sys.executable, tmp_path, tmp_path, "auto")
    assert plan.mode == "rlimits" and plan.notes


def test_worker_environment_passes_numerics_settings_only(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    monkeypatch.setenv("TF_CLI_CONFIG_FILE", "/root/.terraformrc")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "nope")
    plan = sandbox.plan(os.sys.executable, tmp_path, tmp_path, "rlimits")
    assert plan.env["OPENBLAS_CORETYPE"] == "Haswell"
    assert "TF_CLI_CONFIG_FILE" not in plan.env and "AWS_SECRET_ACCESS_KEY" not in plan.env
    assert plan.env["TF_CPP_MIN_LOG_LEVEL"] == "2"


@pytest.mark.skipif(sandbox.bwrap_path() is None, reason="bubblewrap is not installed")
def test_the_worker_imports_the_judges_byte_code_read_only(tmp_path) -> None:
    """Note [Worker byte code]: wire.py's .pyc is bound read-only and the worker's import loads
    it instead of compiling the source; without a .pyc nothing is bound."""
    import importlib.util
    import py_compile
    import subprocess
    cached = Path(importlib.util.cache_from_source(str(sandbox.WORKER_DIR / "wire.py")))
    # written afresh: a .pyc left from an older wire.py is not used, rightly (Note [Worker byte code])
    py_compile.compile(str(sandbox.WORKER_DIR / "wire.py"), cfile=str(cached), doraise=True)
    (tmp_path / "sub").mkdir()
    (tmp_path / "scratch").mkdir()
    plan = sandbox.plan(os.sys.executable, tmp_path / "sub", tmp_path / "scratch", "bwrap")
    inside = f"{sandbox.SANDBOX_WORKER_DIR}/__pycache__/{cached.name}"
    assert plan.argv[plan.argv.index(inside) - 2:plan.argv.index(inside)] == ["--ro-bind", str(cached)]
    end = plan.argv.index("--")
    probe = ("import os, sys; sys.path.insert(0, '/opt/grader-worker'); import wire; "
             f"print('writable' if os.access({inside!r}, os.W_OK) else 'read-only')")
    done = subprocess.run(plan.argv[:end + 1] + [os.sys.executable, "-v", "-I", "-c", probe],
                          capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "read-only", done.stdout + done.stderr[-2000:]
    assert f"code object from '{inside}'" in done.stderr, done.stderr[-3000:]

    real = importlib.util.cache_from_source
    try:
        importlib.util.cache_from_source = lambda path: str(tmp_path / "none" / Path(path).name)
        assert sandbox._worker_bytecode_binds() == []
    finally:
        importlib.util.cache_from_source = real


@pytest.mark.skipif(sandbox.bwrap_path() is None, reason="bubblewrap is not installed")
def test_the_graders_own_folders_inside_a_bound_folder_are_hidden(tmp_path, monkeypatch) -> None:
    """Note [The grader's own folders hidden]: a checkout or install inside a folder the sandbox
    binds (here a stand-in prefix) has its reference and checks covered: the worker finds the
    folder empty, cannot write there, and cannot import the reference; the same plan without
    the cover reads the solution."""
    import subprocess
    prefix = tmp_path / "prefix"
    (prefix / "reference").mkdir(parents=True)
    (prefix / "reference" / "__init__.py").write_text("SOLUTION = 'the reference'\n")
    (prefix / "assignments").mkdir()
    (prefix / "assignments" / "hidden.yml").write_text("seed: 1234\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "scratch").mkdir()
    real_roots = sandbox._python_roots
    monkeypatch.setattr(sandbox, "_python_roots", lambda python: real_roots(python) + [str(prefix)])
    monkeypatch.setattr(sandbox, "judge_folders",
                        lambda bound=None: [prefix / "reference", prefix / "assignments"])
    probe = (f"import os, sys; sys.path.insert(0, {str(prefix)!r}); "
             f"print(sorted(os.listdir({str(prefix / 'reference')!r})), "
             f"sorted(os.listdir({str(prefix / 'assignments')!r})), "
             f"os.access({str(prefix / 'reference')!r}, os.W_OK)); "
             "import reference; print(getattr(reference, 'SOLUTION', 'nothing'))")

    def run() -> str:
        plan = sandbox.plan(os.sys.executable, tmp_path / "sub", tmp_path / "scratch", "bwrap")
        end = plan.argv.index("--")
        done = subprocess.run(plan.argv[:end + 1] + [os.sys.executable, "-I", "-c", probe],
                              capture_output=True, text=True, timeout=60)
        return done.stdout + done.stderr[-1500:]

    hidden = run()
    assert hidden.splitlines()[0] == "[] [] False", hidden
    assert "the reference" not in hidden and "seed" not in hidden
    monkeypatch.setattr(sandbox, "_hide_judge_folders", lambda args: [])
    assert "the reference" in run()  # the probe can see: the cover is what hides it


def test_judge_folders_name_the_reference_and_the_checks() -> None:
    repo = Path(sandbox.__file__).resolve().parents[2]
    assert repo in sandbox.judge_folders([Path("/usr")])  # a checkout: hidden whole
    folders = sandbox.judge_folders([repo / ".venv"])  # unless it holds the environment
    assert repo not in folders
    assert {repo / "grader", repo / "reference", repo / "assignments", repo / "rubrics"} <= set(folders)
    assert sandbox._hide_judge_folders(["--ro-bind", "/nowhere", "/nowhere"]) == []
    cover = sandbox._hide_judge_folders(["--ro-bind", str(repo.parent), "/mnt/x"])
    assert cover == ["--tmpfs", f"/mnt/x/{repo.name}", "--remount-ro", f"/mnt/x/{repo.name}"]
    cover = sandbox._hide_judge_folders(["--ro-bind", str(repo.parent), "/mnt/x",  # and a folder
                                         "--ro-bind", str(repo / "tests"), "/mnt/t"])  # inside it
    for name in ("grader", "reference", "assignments", "rubrics"):  # where the bind puts them
        inside = f"/mnt/x/{repo.name}/{name}"
        at = cover.index(inside)
        assert cover[at - 1:at + 3] == ["--tmpfs", inside, "--remount-ro", inside]


@pytest.mark.skipif(sandbox.bwrap_path() is None, reason="bubblewrap is not installed")
def test_bwrap_help_asked_ahead_is_the_help_asked_when_planning(monkeypatch) -> None:
    """Note [bwrap --help asked ahead]: the run started ahead is the one the plan reads, its
    text what `bwrap --help` prints, and `bwrap --help` runs once per process all the same."""
    import subprocess
    sandbox._bwrap_help.cache_clear()
    asked = sandbox._bwrap_help(sandbox.bwrap_path())
    sandbox._bwrap_help.cache_clear()
    started = []
    popen = subprocess.Popen

    def counted(argv, *args, **kwargs):
        started.append(list(argv))
        return popen(argv, *args, **kwargs)
    monkeypatch.setattr(subprocess, "Popen", counted)  # subprocess.run starts its runs with it
    try:
        sandbox.ask_bwrap_help_ahead()
        assert started == [[sandbox.bwrap_path(), "--help"]]
        sandbox.ask_bwrap_help_ahead()  # one pending run: not a second
        assert sandbox._bwrap_help(sandbox.bwrap_path()) == asked and "--unshare-ipc" in asked
        assert sandbox.bwrap_supports("--die-with-parent")
        sandbox.ask_bwrap_help_ahead()  # known already: nothing started
        assert len(started) == 1 and not sandbox._HELP_AHEAD
    finally:
        sandbox._HELP_AHEAD.clear()
        sandbox._bwrap_help.cache_clear()
        sandbox.bwrap_supports.cache_clear()
