"""Worker environments: the interpreter, with the course's NumPy, that runs student code.

Courses freeze their environment for a term (often that year's Colab), and code
that was right there can fail under a newer NumPy or Python.  The judge and the
worker exchange only plain data (Note [Trust boundary] in
grader/worker/client.py), so the worker need not run in the judge's
interpreter: `grade env create` makes a small environment with a pinned NumPy,
`grade env check` says what one contains and whether the worker starts in it,
and `--worker-python` or the course file's `worker_python:` (grader/cli.py)
points grading at it.

# Note [Worker environments]
A worker environment is a plain virtual environment (no pip of its own) with an
exact NumPy from a wheel (`--only-binary`, so no compiler is ever involved),
plus a `grader-env.json` stamp saying what was asked for and what was
installed, and `requirements.lock` (the `pip freeze` of the result) from which
the same environment can be made anywhere with `pip install -r`.  It is built
in a temporary sibling folder and renamed into place only once the worker's
own check (NumPy imports) passes, so an interrupted or failed build never
leaves a folder that looks ready, and two builds racing for one folder end
with one whole environment.  A folder whose stamp asked for the same thing is
reused as it is (`--force` rebuilds), which makes `grade env create` cheap to
call from CI and from a test session.  Everything is made world-readable: the
worker runs as an unprivileged uid (Note [Sandbox] in grader/worker/sandbox.py).

# Note [The judge never imports the worker's packages]
Everything this module learns about an environment, it learns by running that
environment's interpreter in a child process (`python -I -c PROBE`), and the
sandbox check starts the real worker runtime there.  Nothing of a worker
environment is ever put on the judge's sys.path, so the judge's NumPy, the one
every comparison uses, stays the judge's.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

STAMP = "grader-env.json"
LOCK = "requirements.lock"
# What `grade env check` reports, each under the distribution names it is published as.
REPORTED_PACKAGES = {"numpy": ("numpy",), "torch": ("torch",),
                     "tensorflow": ("tensorflow", "tensorflow-cpu", "tensorflow-macos",
                                    "tensorflow-intel")}

# Runs under the environment's own interpreter (Python 3.9 or later): standard library only,
# NumPy imported to prove it loads, the frameworks only looked up (importing TensorFlow
# takes seconds).  See Note [The judge never imports the worker's packages].
PROBE = r"""
import json, sys
from importlib import metadata
info = {"python": sys.version.split()[0], "executable": sys.executable, "prefix": sys.prefix,
        "base_prefix": getattr(sys, "base_prefix", sys.prefix), "packages": {}, "numpy_error": ""}
for label, names in %r.items():
    info["packages"][label] = ""
    for name in names:
        try:
            info["packages"][label] = metadata.version(name)
            break
        except Exception:
            pass
try:
    import numpy
    info["packages"]["numpy"] = numpy.__version__
except Exception as exc:
    info["numpy_error"] = "%%s: %%s" %% (type(exc).__name__, exc)
print(json.dumps(info))
""" % (REPORTED_PACKAGES,)


class EnvError(Exception):
    """A worker environment cannot be made or used; the message says why and what to do."""


def default_root() -> Path:
    """Where `grade env create` puts environments unless told otherwise."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "grader" / "envs"


def interpreter(path: str | os.PathLike, base: Path | None = None) -> str:
    """The Python a `--worker-python` / `worker_python:` value names.

    PATH is an interpreter or an environment folder (its bin/python is used); a
    relative PATH is taken from `base` (the course file's folder) when given."""
    text = os.path.expanduser(str(path))
    candidate = Path(text)
    if not candidate.is_absolute() and base is not None:
        candidate = base / candidate
    if candidate.is_dir():
        for name in ("bin/python", "bin/python3"):
            if (candidate / name).exists():
                return str((candidate / name).absolute())
        raise EnvError(f"{path}: a folder without bin/python; give an interpreter or an "
                       f"environment made by `grade env create`")
    if not candidate.exists():
        raise EnvError(f"{path}: no such interpreter")
    if not os.access(candidate, os.X_OK):
        raise EnvError(f"{path}: not executable")
    return str(candidate.absolute())


def numpy_requirement(version: str) -> str:
    """`1.26` -> `numpy==1.26.*` (the newest 1.26 release), `1.26.4` -> `numpy==1.26.4`."""
    if not re.fullmatch(r"\d+\.\d+(\.\d+)?", version.strip()):
        raise EnvError(f"--numpy expects a version such as 1.26 or 1.26.4, not {version!r}")
    version = version.strip()
    return f"numpy=={version}" if version.count(".") == 2 else f"numpy=={version}.*"


def probe(python: str, timeout: float = 120) -> dict:
    """What the environment of `python` holds, asked of that interpreter in a child process."""
    try:
        done = subprocess.run([python, "-I", "-c", PROBE], capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise EnvError(f"{python} could not be run: {exc}") from None
    try:
        return json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        tail = (done.stderr or done.stdout).strip()[-600:]
        raise EnvError(f"{python} is not a usable Python 3.9+ interpreter (exit status "
                       f"{done.returncode}){': ' + tail if tail else ''}") from None


@dataclass(frozen=True)
class Created:
    """What `create` made or found."""
    path: Path
    python: str
    info: dict
    reused: bool
    seconds: float


def default_name(python: str, numpy: str) -> str:
    version = probe(python)["python"]
    return f"py{'.'.join(version.split('.')[:2])}-numpy{numpy.strip()}"


def create(numpy: str, python: str | None = None, directory: Path | None = None,
           extra: tuple[str, ...] = (), force: bool = False, log=print) -> Created:
    """Make (or reuse) a worker environment with NumPy `numpy`; see Note [Worker environments]."""
    start = time.monotonic()
    requirement = numpy_requirement(numpy)
    base_python = interpreter(python) if python else _base_interpreter()
    target = Path(directory) if directory else default_root() / default_name(base_python, numpy)
    target = target.expanduser().absolute()
    wanted = {"numpy": requirement, "extra": list(extra), "base_python": base_python}
    if target.exists():
        stamp = _read_stamp(target)
        if stamp is None:  # --force too: never delete a folder this command did not make
            raise EnvError(f"{target} exists and is not a worker environment made by `grade env "
                           f"create`; choose another --dir, or remove it")
    if target.exists() and not force:
        if stamp.get("requested") != wanted:
            raise EnvError(f"{target} was made for {_describe(stamp.get('requested'))}, not "
                           f"{_describe(wanted)}; use --force to rebuild it, or another --dir")
        python_path = str(target / "bin" / "python")
        info = probe(python_path)
        if info["numpy_error"]:
            raise EnvError(f"{target} is broken ({info['numpy_error']}); use --force to rebuild it")
        return Created(target, python_path, info, True, time.monotonic() - start)
    target.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{target.name}.building-", dir=target.parent))
    try:
        log(f"creating a virtual environment with {base_python}")
        _run([base_python, "-m", "venv", "--without-pip", "--prompt", target.name, str(building)],
             "python -m venv")
        python_path = str(building / "bin" / "python")
        log(f"installing {' '.join([requirement, *extra])} (wheels only)")
        pip = _pip_for(python_path) + ["--disable-pip-version-check"]
        _run([*pip, "install", "--no-input", "--quiet", "--only-binary=:all:", requirement, *extra],
             "pip install")
        info = probe(python_path)
        if info["numpy_error"]:
            raise EnvError(f"NumPy does not import in the new environment: {info['numpy_error']}")
        lock = _run([*pip, "freeze", "--all"], "pip freeze")
        (building / LOCK).write_text(lock)
        (building / STAMP).write_text(json.dumps(
            {"requested": wanted, "python": info["python"], "packages": info["packages"],
             "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}, indent=2) + "\n")
        _relocate(building, target)
        _world_readable(building)
        if force and target.exists():
            shutil.rmtree(target)
        try:
            building.rename(target)
        except OSError:
            if _read_stamp(target) is None:  # not a racing build that finished first
                raise
            log(f"{target} was made meanwhile by another run; using it")
            shutil.rmtree(building, ignore_errors=True)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    python_path = str(target / "bin" / "python")
    # A venv records its own path nowhere that the rename breaks: bin/python finds
    # pyvenv.cfg beside it, so the probe of the final place is the one reported.
    return Created(target, python_path, probe(python_path), False, time.monotonic() - start)


def _base_interpreter() -> str:
    """The judge's own Python without its virtual environment (a venv of a venv is a venv of
    the base); what `grade env create` uses unless given --python."""
    return getattr(sys, "_base_executable", None) or sys.executable


def _pip_for(python: str) -> list[str]:
    """How to run pip for a new environment: the judge's own pip pointed at it (`--python`:
    fast, and nothing but NumPy in the environment) when that pip runs under its Python, else
    the environment's own pip from ensurepip (Python 3.9, which pip 26 no longer serves)."""
    judges = [sys.executable, "-m", "pip", "--python", python]
    done = subprocess.run([*judges, "--version"], capture_output=True, stdin=subprocess.DEVNULL)
    if done.returncode == 0:
        return judges
    _run([python, "-m", "ensurepip", "--default-pip"], "python -m ensurepip")
    return [python, "-m", "pip"]


def _run(argv: list[str], what: str) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    except OSError as exc:
        raise EnvError(f"{what} could not be started: {exc}") from None
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-12:])
        raise EnvError(f"{what} failed (exit status {done.returncode}):\n{tail}")
    return done.stdout


def _read_stamp(folder: Path) -> dict | None:
    try:
        data = json.loads((folder / STAMP).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _describe(requested) -> str:
    if not isinstance(requested, dict):
        return "something else"
    parts = [str(requested.get("numpy")), *requested.get("extra", [])]
    return " ".join(parts) + f" on {requested.get('base_python')}"


def _world_readable(root: Path) -> None:
    for folder, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            path = os.path.join(folder, name)
            if os.path.islink(path):
                continue
            mode = os.stat(path).st_mode
            extra = 0o005 if os.path.isdir(path) or mode & 0o100 else 0o004
            os.chmod(path, mode | extra)
    os.chmod(root, 0o755)


def _relocate(building: Path, target: Path) -> None:
    """Write the final path where venv and pip wrote the temporary one (the activate scripts,
    pyvenv.cfg, the shebang of scripts such as f2py), so the renamed folder is whole."""
    old, new = str(building).encode(), str(target).encode()
    for path in [building / "pyvenv.cfg", *sorted((building / "bin").iterdir())]:
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            if old in data:
                path.write_bytes(data.replace(old, new))


# -- grade env check -------------------------------------------------------------------------

@dataclass
class Report:
    """What `grade env check` found about one worker environment."""
    python: str
    info: dict = field(default_factory=dict)
    sandbox: str = ""          # the worker's confinement when it started ("bwrap", "rlimits")
    worker: dict = field(default_factory=dict)  # the worker runtime's own hello
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def usable(self) -> bool:
        return not self.problems


def check(python: str, sandbox_mode: str | None = None) -> Report:
    """Probe the environment, then start the real worker runtime in it under the sandbox."""
    from .client import Worker, WorkerFailure

    report = Report(python)
    try:
        report.info = probe(python)
    except EnvError as exc:
        report.problems.append(str(exc))
        return report
    if report.info["numpy_error"]:
        report.problems.append(f"NumPy does not import: {report.info['numpy_error']} (the worker "
                               f"needs it; `grade env create --numpy VERSION` makes an environment "
                               f"that has it)")
        return report
    submission = Path(tempfile.mkdtemp(prefix="grader-env-check-"))
    os.chmod(submission, 0o755)
    start = time.monotonic()
    worker = Worker(submission, python=python, sandbox_mode=sandbox_mode)
    try:
        worker.start()
        report.worker, report.sandbox, report.notes = dict(worker.info), worker.mode, list(worker.notes)
        outside = (report.info["python"], report.info["packages"].get("numpy"))
        inside = (report.worker.get("python"), report.worker.get("numpy"))
        if outside != inside:
            report.problems.append(
                f"in the sandbox the worker ran Python {inside[0]} with NumPy {inside[1]}, but "
                f"this interpreter is Python {outside[0]} with NumPy {outside[1]}: the sandbox "
                f"does not see its whole installation (see _python_roots in grader/worker/sandbox.py)")
    except (WorkerFailure, OSError, RuntimeError) as exc:
        report.problems.append(f"the worker runtime does not start in it: {exc}")
    finally:
        report.seconds = time.monotonic() - start
        worker.close()
        shutil.rmtree(submission, ignore_errors=True)
    return report


def format_report(report: Report) -> str:
    info = report.info
    lines = [f"worker environment: {report.python}"]
    if info:
        where = info.get("prefix", "")
        if info.get("base_prefix") and info.get("base_prefix") != where:
            where += f" (a virtual environment of {info['base_prefix']})"
        lines.append(f"  {'Python':<12} {info.get('python', '?')}   {where}")
        for name in REPORTED_PACKAGES:
            version = info.get("packages", {}).get(name) or "not installed"
            lines.append(f"  {_LABELS.get(name, name):<12} {version}")
    if report.worker:
        lines.append(f"  {'worker':<12} starts under {report.sandbox} in {report.seconds:.1f} s "
                     f"(Python {report.worker.get('python')}, NumPy {report.worker.get('numpy')})")
    for note in report.notes:
        lines.append(f"  note: {note}")
    for problem in report.problems:
        lines.append(f"  problem: {problem}")
    lines.append("usable for grading" if report.usable else "NOT usable for grading")
    return "\n".join(lines)


_LABELS = {"numpy": "NumPy", "torch": "torch", "tensorflow": "TensorFlow"}


# -- the `grade env` commands (grader/cli.py registers them) ---------------------------------

def cli_create(args) -> int:
    """`grade env create`: 0 made or reused, 2 it could not be made (the message says why)."""
    def log(text: str) -> None:
        print(text, file=sys.stderr)

    try:
        made = create(args.numpy, python=args.python, directory=Path(args.dir) if args.dir else None,
                      extra=tuple(args.extra), force=args.force, log=log)
    except (EnvError, OSError) as exc:  # OSError: a --dir that cannot be written
        print(f"grade: {exc}", file=sys.stderr)
        return 2
    packages = made.info.get("packages", {})
    what = f"Python {made.info.get('python')}, NumPy {packages.get('numpy')}"
    if made.reused:
        print(f"{made.path}: already there ({what}); --force rebuilds it")
    else:
        print(f"{made.path}: made in {made.seconds:.1f} s ({what})")
    print(f"grade with: --worker-python {made.python}   (or `worker_python: {made.path}` in the "
          f"--course file)")
    return 0


def cli_check(args) -> int:
    """`grade env check`: 0 usable, 1 not usable, 2 PATH names no interpreter."""
    try:
        python = interpreter(args.path) if args.path else sys.executable
    except EnvError as exc:
        print(f"grade: {exc}", file=sys.stderr)
        return 2
    report = check(python, args.sandbox)
    print(format_report(report))
    return 0 if report.usable else 1
