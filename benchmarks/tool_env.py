"""Where the other graders live and how to run them: the tools' own virtualenv.

Why it exists: nbgrader and Otter-Grader are what the benchmark compares our
grader with, never something it depends on.  They are installed into
benchmarks/.venv-tools from the pinned benchmarks/tools-requirements.txt
(`make bench-tools`), apart from the grader's .venv, and every command of
theirs runs with that venv's bin/ first on PATH, so that the Jupyter kernel
they start (`python3`, ipykernel's own) is that venv's interpreter with its
numpy.  Jupyter's config, data and runtime folders point into the benchmark's
work folder, so no setting of the machine's user changes what they do.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
TOOLS_VENV = HERE / ".venv-tools"
REQUIREMENTS = HERE / "tools-requirements.txt"
VERSIONED = ("nbgrader", "otter-grader", "nbconvert", "nbclient", "ipykernel", "jupyter_client",
             "numpy")


class ToolsMissing(Exception):
    """The tools' virtualenv is not there: say how to make it."""


def tools_bin() -> Path:
    bin_dir = TOOLS_VENV / "bin"
    missing = [name for name in ("nbgrader", "otter", "python") if not (bin_dir / name).exists()]
    if missing:
        raise ToolsMissing(f"{TOOLS_VENV} has no {', '.join(missing)}: run `make bench-tools` "
                           f"(installs {REQUIREMENTS.name} there, about 6 minutes)")
    return bin_dir


def environment(work: Path) -> dict[str, str]:
    """The environment for nbgrader and otter commands (see the module docstring)."""
    env = dict(os.environ)
    env["PATH"] = f"{tools_bin()}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(TOOLS_VENV)
    for variable, folder in (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
                             ("JUPYTER_RUNTIME_DIR", "runtime"), ("IPYTHONDIR", "ipython")):
        path = work / ".jupyter" / folder
        path.mkdir(parents=True, exist_ok=True)
        env[variable] = str(path)
    env.pop("PYTHONPATH", None)
    return env


def run(argv: list[str], work: Path, cwd: Path, log: Path) -> subprocess.CompletedProcess:
    """Run a tool's command with its output in `log`; CalledProcessError names the log."""
    with open(log, "ab") as handle:
        handle.write(f"\n$ {' '.join(argv)}\n".encode())
        handle.flush()
        completed = subprocess.run(argv, cwd=cwd, env=environment(work), stdout=handle,
                                   stderr=subprocess.STDOUT)
    if completed.returncode != 0:
        raise subprocess.CalledProcessError(completed.returncode, argv,
                                            output=f"see {log} for its output")
    return completed


def versions() -> dict[str, str]:
    """Installed versions of the tools and the kernel's packages, from the tools' venv."""
    code = ("import importlib.metadata as m, json, sys; "
            f"names = {list(VERSIONED)!r}; "
            "print(json.dumps({'python': sys.version.split()[0], "
            "**{n: m.version(n) for n in names}}))")
    import json
    out = subprocess.run([str(tools_bin() / "python"), "-c", code], capture_output=True,
                         text=True, check=True).stdout
    return json.loads(out)
