"""Assignments and rubrics: the manifest in assignments/<id>/ and rubrics/<id>.yml.

# Note [Manifest]
`assignments/<id>/manifest.yml` says which files a submission has (course name
-> path in the package), the default package name, the course files the
grader supplies (`replace`, `provide`; Note [Staging]), the worker's limits and
the checks module (`checks.py`, whose `CHECKS` list is the registry).  The
rubric `rubrics/<id>.yml` gives every check its points; a check missing from
the rubric, or a rubric entry naming no check, is an error when the
assignment loads, never a silent zero.
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
    return Rubric(points, bool(data.get("hidden_details", False)))


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
                        provide=tuple(manifest.get("provide", ())))
        limits = Limits(**manifest.get("limits", {}))
    except (KeyError, TypeError, ValueError) as exc:
        raise AssignmentError(f"{manifest_path}: bad manifest ({type(exc).__name__}: {exc})") from None
    checks = _load_checks(folder, assignment_id)
    rubric = load_rubric(assignment_id, checks)
    merged = dict(manifest.get("conventions", {}), **(conventions or {}))
    return Assignment(assignment_id, manifest.get("title", assignment_id), layout, limits, checks,
                      rubric, folder, merged)
