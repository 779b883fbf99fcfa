"""Assignments and rubrics: the manifest in assignments/<id>/ and rubrics/<id>.yml.

# Note [Manifest]
`assignments/<id>/manifest.yml` says which files a submission has (course name
-> path in the package), the default package name, the course files the
grader supplies (`replace`, `provide`, copied from `course_files`, a folder
of the assignment, or else reference/cs231n; Note [Staging]), the worker's limits and
the checks module (`checks.py`, whose `CHECKS` list is the registry).  The
rubric `rubrics/<id>.yml` gives every check its points; a check missing from
the rubric, or a rubric entry naming no check, is an error when the
assignment loads, never a silent zero.

Notebooks (grader/notebook.py): `notebooks: {layers: "*.ipynb"}` grades a
course module from a notebook when no `.py` file is submitted for it,
`notebook_mode: definitions|execute` says how (default definitions; `grade
check --notebook-mode` overrides it for a run), `notebook_limits: {cell_s,
total_s}` bounds execution, and `aliases: {batch_norm: [batchnorm, ...]}`
lists other names a student may have given a function; `notebook_setup` is
course code run before a notebook's cells (Note [Notebook setup] there);
`any_file_name: true` and `python_mode: definitions` grade a lone `.py` of any name, run
in definitions mode (grader/locate.py Note [Any name]); `notebook_names` lists the course's
names for its notebook, which pick it among several (grader/which_notebook.py), and
`other_versions` the notebooks of other course years it recognises and does not grade
(grader/course_version.py).  `gpu: true` marks an
assignment whose framework code may run on a GPU (`--device`, grader/devices.py).  The rubric's
`manual: {inline_question_1: 1, ...}` sets points aside for answers graded by
hand: they are not part of the automatic score.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .checks.spec import Check
from .locate import Layout
from .sandbox import Limits

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENTS_DIR = PROJECT_ROOT / "assignments"
RUBRICS_DIR = PROJECT_ROOT / "rubrics"


class AssignmentError(Exception):
    """The assignment's manifest, checks or rubric are inconsistent."""


@dataclass(frozen=True)
class Rubric:
    points: dict[str, float]
    hidden_details: bool = False  # show hidden checks' messages to students?
    manual: dict[str, float] = field(default_factory=dict)  # inline question -> points, by hand

    def max_score(self) -> float:
        return float(sum(self.points.values()))


@dataclass(frozen=True)
class Assignment:
    id: str
    title: str
    layout: Layout
    limits: Limits
    checks: tuple[Check, ...]
    rubric: Rubric
    folder: Path
    conventions: dict = field(default_factory=dict)
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)  # name -> other names
    gpu: bool = False  # framework code that may run on a GPU (Note [Choosing the device])


def available() -> list[str]:
    return sorted(p.parent.name for p in ASSIGNMENTS_DIR.glob("*/manifest.yml"))


def _load_checks(folder: Path, assignment_id: str) -> tuple[Check, ...]:
    path = folder / "checks.py"
    name = f"grader_assignment_checks_{assignment_id}"
    if name in sys.modules:
        return tuple(sys.modules[name].CHECKS)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise AssignmentError(f"{path} cannot be loaded")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
        checks = tuple(module.CHECKS)
    except Exception as exc:  # a broken checks module is the course's error, not a crash
        del sys.modules[name]
        raise AssignmentError(f"{path} cannot be loaded: {type(exc).__name__}: {exc}") from exc
    ids = [c.id for c in checks]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise AssignmentError(f"{path}: duplicate check ids {sorted(duplicates)}")
    return checks


def load_rubric(assignment_id: str, checks: tuple[Check, ...]) -> Rubric:
    path = RUBRICS_DIR / f"{assignment_id}.yml"
    if not path.exists():
        raise AssignmentError(f"rubric {path} is missing")
    data = yaml.safe_load(path.read_text()) or {}
    points = {str(k): float(v) for k, v in (data.get("points") or {}).items()}
    ids = {c.id for c in checks}
    unknown = sorted(set(points) - ids)
    unscored = sorted(ids - set(points))
    if unknown or unscored:
        raise AssignmentError(f"{path}: " + "; ".join(
            part for part in (f"entries naming no check: {unknown}" if unknown else "",
                              f"checks without points: {unscored}" if unscored else "") if part))
    try:
        manual = {str(k): float(v) for k, v in (data.get("manual") or {}).items()}
    except (AttributeError, TypeError, ValueError) as exc:
        raise AssignmentError(f"{path}: manual must map questions to points ({exc})") from None
    return Rubric(points, bool(data.get("hidden_details", False)), manual)


def load(assignment_id: str, conventions: dict | None = None) -> Assignment:
    folder = ASSIGNMENTS_DIR / assignment_id
    manifest_path = folder / "manifest.yml"
    if not manifest_path.exists():
        raise AssignmentError(f"unknown assignment {assignment_id!r}; available: "
                              f"{', '.join(available()) or 'none'}")
    manifest = yaml.safe_load(manifest_path.read_text()) or {}
    try:
        layout = Layout(files=dict(manifest["files"]), default_package=manifest.get("package", "cs231n"),
                        replace=tuple(manifest.get("replace", ())),
                        provide=tuple(manifest.get("provide", ())),
                        course_dir=folder / manifest["course_files"] if "course_files" in manifest
                        else None)
        limits = Limits(**manifest.get("limits", {}))
        layout, aliases = _notebook_settings(manifest, layout)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise AssignmentError(f"{manifest_path}: bad manifest ({type(exc).__name__}: {exc})") from None
    checks = _load_checks(folder, assignment_id)
    rubric = load_rubric(assignment_id, checks)
    merged = dict(manifest.get("conventions", {}), **(conventions or {}))
    return Assignment(assignment_id, manifest.get("title", assignment_id), layout, limits, checks,
                      rubric, folder, merged, aliases, bool(manifest.get("gpu", False)))


def _notebook_settings(manifest: dict, layout: Layout) -> tuple[Layout, dict[str, tuple[str, ...]]]:
    """The manifest's notebook keys and aliases (Note [Manifest]); ValueError names a bad one."""
    import dataclasses

    from . import course_version
    mode = manifest.get("notebook_mode", "definitions")
    if mode not in ("definitions", "execute"):
        raise ValueError(f"notebook_mode must be definitions or execute, not {mode!r}")
    limits = dict(manifest.get("notebook_limits") or {})
    unknown = set(limits) - {"cell_s", "total_s"}
    if unknown:
        raise ValueError(f"notebook_limits: unknown keys {sorted(unknown)}")
    setup = manifest.get("notebook_setup") or ""
    if not isinstance(setup, str):
        raise ValueError("notebook_setup must be Python source text")
    layout = dataclasses.replace(
        layout, notebooks={str(k): str(v) for k, v in (manifest.get("notebooks") or {}).items()},
        notebook_mode=mode, notebook_cell_s=float(limits.get("cell_s", layout.notebook_cell_s)),
        notebook_total_s=float(limits.get("total_s", layout.notebook_total_s)),
        notebook_setup=setup, any_file_name=bool(manifest.get("any_file_name", False)),
        python_mode=str(manifest.get("python_mode") or ""),
        notebook_names=tuple(str(n) for n in manifest.get("notebook_names") or ()),
        other_versions=tuple(course_version.Version.from_manifest(v)
                             for v in manifest.get("other_versions") or ()))
    if layout.python_mode not in ("", "definitions"):
        raise ValueError(f"python_mode must be definitions, not {layout.python_mode!r}")
    aliases = {}
    for name, others in (manifest.get("aliases") or {}).items():
        aliases[str(name)] = (str(others),) if isinstance(others, str) else tuple(map(str, others))
    return layout, aliases
