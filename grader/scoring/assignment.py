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

Notebooks (grader/submission/notebook.py): `notebooks: {layers: "*.ipynb"}` grades a
course module from a notebook when no `.py` file is submitted for it,
`notebook_mode: definitions|execute` says how (default definitions; `grade
check --notebook-mode` overrides it for a run), `notebook_limits: {cell_s,
total_s}` bounds execution, and `aliases: {batch_norm: [batchnorm, ...]}`
lists other names a student may have given a function; `notebook_setup` is
course code run before a notebook's cells (Note [Notebook setup] there);
`any_file_name: true` and `python_mode: definitions` grade a lone `.py` of any name, run
in definitions mode (grader/submission/stage.py Note [Any name]); `notebook_names` lists the course's
names for its notebook, which pick it among several (grader/submission/which_notebook.py), and
`other_versions` the notebooks of other course years it recognises and does not grade
(grader/submission/course_version.py).  `gpu: true` marks an
assignment whose framework code may run on a GPU (`--device`, grader/worker/devices.py).  The rubric's
`manual: {inline_question_1: 1, ...}` sets points aside for answers graded by
hand: they are not part of the automatic score.

# Note [Conventions]
A course year's conventions (`dropout_p: keep`, Adam's `adam_t`...) are the
manifest's `conventions:`, name -> default, read by the checks through
`student.conventions`.  A run may override them (`--course FILE`, then
`--convention NAME=VALUE`), and a wrong override is the command's error, found
before anything is graded: an unknown name lists the assignment's names, a
value that is not allowed lists the allowed ones (ConventionError, one line,
exit status 2).  What is allowed: a convention whose default is a number takes
any number (an integer where the default is one); any other lists its values in
`convention_values:` (name -> list), where `<word>` in a value stands for any
word (`<keyword>=<value>`, `cuda:<n>`); values are compared ignoring case and
spaces.  A manifest that leaves a text convention's values undeclared is an
AssignmentError, so no override goes unchecked.  One convention belongs to the grader, not
to a manifest, and every assignment takes it: `restore_numpy` (true or false, default true),
whether the worker serves the NumPy names and forms later releases removed (Note [NumPy
names restored] in grader/worker/numpy_compat.py).  A course that wants code to run under
today's NumPy as written sets `restore_numpy: false` in its course file (grader/cli.py) or
`--convention restore_numpy=false` for one run.  It rides with the conventions so that it
reaches every path that grades (grade check, batch jobs, releases) the way they do; it is
in an assignment's conventions only when a run sets it.

# Note [Advisory checks]
A check the rubric gives 0 points is an advisory: it says something worth
knowing about behaviour outside what the course asks (a softmax whose correct
class underflows, say), and it can never cost points.  It runs and reports
like any check (status `failed` with its message and hint when it fails), but
`grade check` shows it as `advice`, keeps its function marked ok and its exit
status 0 when nothing else failed (grader/report/terminal.py, grader/cli.py).  The
rubric's 0 is the single place that makes a check advisory.

# Note [Assigned parts]
Course editions differ in what an assignment asks for, not only in how: cs231n 2021-2024
moved `svm_loss` and `TwoLayerNet` to assignment 1 (its two_layer_net, whose affine, ReLU
and softmax assignment 2 asks students to copy over), 2025 put all of fc_nets in assignment
1 without requiring `svm_loss`, while the 2017-2020 editions and ECE562/697LS
(../shared/seeds) assign `TwoLayerNet` in assignment 2 and give both losses away (Note
[Course-provided parts]); before 2018 there
was no layer or group normalization; cs231n's
PyTorch notebook of 2021 and later lets the Sequential ConvNet keep PyTorch's default
initialisation, where ECE562 and cs231n 2018-2020 ask for `random_weight`.  A manifest's
`not_assigned:` says, per value of a text convention, which parts that edition does not
assign: a function, a class (all of its methods' checks) or one check id (a rule):

    not_assigned:
      edition:                       # a convention of this manifest
        cs231n_2021:                 # one of its values
          parts: [svm_loss, TwoLayerNet]
          editions: cs231n 2021-2024 (assignment 2)   # where, in a hint
          hint: missing              # or failing (below)

Under that value the checks of those parts are left out of the run and of the rubric's
total, so the submission is graded out of what its course asked.  The edition is the
course's to declare (`--convention`, or the course file), never guessed from the
submission: a student who deletes a broken `svm_loss` still loses its points under an
edition that assigns it (`assert_edition_graded` in tests/assignments/conftest.py).  Under
any other value
the checks stay and carry the editions that leave them out (`Check.editions`): where a
part is not found (cause `missing`), or, for an entry with `hint: failing` (a rule only the
default edition has, such as pytorch's Sequential init), wherever its check fails, the
result's hint names the editions and the setting that grades them (grader/scoring/plugin.py),
and the result has one note per setting saying how many of the points lost are that
edition's parts (grader/scoring/pipeline.py), which `grade check` shows without -v.  Not for
any failure of every part: a 2019 student's buggy layer norm fails the networks' layer norm
checks too, and must not be told that 2017 did not assign them.  So a 2021-2024 submission
graded as the default edition is told why it lacks those points and how its course grades
it, and is not given them.  A part that matches no
check, or a convention or value the manifest does not declare, is an AssignmentError.

# Note [Course-provided parts]
Code the course hands out earns no points (its students did not write it), but a student
can still break it, and every network built on it then fails.  A part the course provides
in every edition has 0 points in the rubric, an advisory (Note [Advisory checks]):
fc_nets' `affine_relu_*` sandwich and `svm_loss` (classic's layers.py gives it "for free",
later editions hold it in assignment 1 or do not require it), cnn's `conv_relu_*` and
`conv_relu_pool_*` sandwiches ("you will find sandwich layers ... in layer_utils.py").  A
part only some editions provide is a `not_assigned:` entry with `provided: true`: under
that value its checks still run, as advisories, and leave the total; under other values
they are graded and carry no edition hint (there a missing part is simply missing).  So
classic fc_nets, whose course gives `softmax_loss` away, reports a broken one without
scoring it, while cs231n 2021 and later, which ask students to copy theirs over from
assignment 1, grade it.  One value may list several entries, for an edition that both
leaves a part out and provides another: UMass COMPSCI 682 (2021-2024) has no `rmsprop` in
its optim.py and hands out `adam` and the losses written (the same `adam` body in three
students' repositories of 2021, 2023 and 2024; its FullyConnectedNets notebook checks
SGD+momentum only).
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import course_files
from ..checks.questions import PUBLIC, Questions, asking
from ..checks.spec import Check
from ..submission.stage import Layout
from ..worker.sandbox import Limits

# Note [Course folder]
# The course's files (assignments/, rubrics/) are found through the grader package:
# grader/assignments and grader/rubrics are links to the checkout's folders (as
# grader/templates links to templates/), and in an installed wheel they are the folders
# themselves, in site-packages/grader (Note [What the instructor's wheel holds] in
# pyproject.toml).  Before, they were looked for beside the package only, which in a
# non-editable install is site-packages: `grade check` knew no assignment there.  The link is
# resolved, so a checkout's paths are what they always were (the checks module's file, a
# batch job's spec, the folders the sandbox hides); COURSE_ROOT is the folder holding both,
# the checkout's root or the installed package.  Where the package has no such folder (a copy
# of the sources without the links, as Gradescope's grader-source/ is:
# grader/course/gradescope.py) the folders beside the package are read, as before.  The
# folder is worked out in course_files.py, which keys the files parsed ahead by it (Note [Course
# files parsed ahead]) and so must agree with it.
PROJECT_ROOT = course_files.PROJECT_ROOT
COURSE_ROOT = course_files.COURSE_ROOT
ASSIGNMENTS_DIR = COURSE_ROOT / "assignments"
RUBRICS_DIR = COURSE_ROOT / "rubrics"


class AssignmentError(Exception):
    """The assignment's manifest, checks or rubric are inconsistent."""


class ConventionError(AssignmentError):
    """A convention override names no convention of the assignment, or a value it does not
    allow (Note [Conventions])."""


def declared_conventions(assignment_id: str) -> tuple[dict, dict[str, tuple[str, ...]]]:
    """(defaults, allowed values of the text ones) from the manifest alone; Note [Conventions]."""
    path = ASSIGNMENTS_DIR / assignment_id / "manifest.yml"
    if not path.exists():
        raise AssignmentError(f"unknown assignment {assignment_id!r}; available: "
                              f"{', '.join(available()) or 'none'}")
    try:
        manifest = course_files.read(path) or {}
    except course_files.yaml_error() as exc:  # evaluated only when something was raised
        raise AssignmentError(f"{path}: not valid YAML ({exc})") from None
    return _declared(manifest, path)


def _declared(manifest: dict, path) -> tuple[dict, dict[str, tuple[str, ...]]]:
    defaults = dict(manifest.get("conventions") or {})
    values = {str(k): tuple(str(v) for v in vs)
              for k, vs in (manifest.get("convention_values") or {}).items()}
    undeclared = sorted(k for k, v in defaults.items()
                        if not _is_number(v) and k not in values)
    unknown = sorted(set(values) - set(defaults))
    if undeclared or unknown:
        raise AssignmentError(f"{path}: " + "; ".join(part for part in (
            f"conventions without convention_values: {undeclared}" if undeclared else "",
            f"convention_values naming no convention: {unknown}" if unknown else "") if part))
    return defaults, values


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _normal(text: str) -> str:
    return "".join(str(text).split()).lower()


def _allows(pattern: str, value: str) -> bool:
    import re
    parts = re.split(r"(<\w+>)", _normal(pattern))
    regex = "".join(r"[\w.+-]+" if re.fullmatch(r"<\w+>", p) else re.escape(p) for p in parts)
    return re.fullmatch(regex, _normal(value)) is not None


# The grader's own conventions, which every assignment takes (Note [Conventions]): name -> default,
# and their allowed values.
GRADER_CONVENTIONS = {"restore_numpy": "true"}
GRADER_CONVENTION_VALUES = {"restore_numpy": ("true", "false")}


def restores_numpy(conventions: dict) -> bool:
    """Whether the worker serves NumPy's removed names (the `restore_numpy` convention; Note
    [NumPy names restored] in grader/worker/numpy_compat.py)."""
    return _normal(conventions.get("restore_numpy", GRADER_CONVENTIONS["restore_numpy"])) != "false"


def check_conventions(assignment_id: str, overrides: dict, where: str = "--convention",
                      declared: tuple[dict, dict] | None = None) -> None:
    """ConventionError (one line, saying `where`) unless every override names a convention of
    the assignment, or of the grader, with a value it allows; Note [Conventions]."""
    defaults, values = declared or declared_conventions(assignment_id)
    own = sorted(defaults)  # named when one is unknown; the grader's are in the README
    defaults, values = {**GRADER_CONVENTIONS, **defaults}, {**GRADER_CONVENTION_VALUES, **values}
    for name, value in overrides.items():
        if name not in defaults:
            raise ConventionError(
                f"{where}: {assignment_id} has no convention {name!r}; its conventions: "
                f"{', '.join(own) or 'none'}")
        default = defaults[name]
        if _is_number(default):
            try:
                number = (int if isinstance(default, int) else float)(str(value))
            except ValueError:
                number = None
            import math
            if number is None or not math.isfinite(number):
                kind = "an integer" if isinstance(default, int) else "a number"
                raise ConventionError(f"{where}: {name}={value!r} is not valid for "
                                      f"{assignment_id}; {name} takes {kind} (default {default})")
        elif not any(_allows(allowed, value) for allowed in values[name]):
            raise ConventionError(f"{where}: {name}={value!r} is not valid for {assignment_id}; "
                                  f"valid values: {', '.join(values[name])}")


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
    questions: Questions = PUBLIC  # Note [Fresh questions]


def available() -> list[str]:
    return sorted(p.parent.name for p in ASSIGNMENTS_DIR.glob("*/manifest.yml"))


def _load_checks(folder: Path, assignment_id: str,
                 asked: Questions = PUBLIC) -> tuple[Check, ...]:
    """The checks of `folder`'s checks.py, drawing their samples from `asked` (one module per
    secret: Note [Fresh questions] in grader/checks/questions.py)."""
    path = folder / "checks.py"
    name = f"grader_assignment_checks_{assignment_id}"
    if asked.secret is not None:
        name += f"_q{asked.fingerprint}"
    if name in sys.modules:
        return tuple(sys.modules[name].CHECKS)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise AssignmentError(f"{path} cannot be loaded")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        with asking(asked):
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
    data = course_files.read(path) or {}
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


def load(assignment_id: str, conventions: dict | None = None,
         asked: Questions = PUBLIC) -> Assignment:
    """The assignment, its samples drawn from `asked` (public unless official grading gives
    a secret; Note [Fresh questions] in grader/checks/questions.py)."""
    return read_manifest(assignment_id, conventions, asked).complete()


# Note [Manifest before checks]
# What stages a submission and starts its worker (the files, the limits, the conventions, the
# device) is in the manifest; the checks module and the reference it imports are needed only
# when the checks run.  `grade check` reads the manifest (`read_manifest`: every error of the
# manifest and of the conventions asked for is raised there, as `load` raised it), launches the
# worker, and only then imports the checks (`Manifest.complete`), so that importing them
# overlaps the worker's start (Note [Early start] in grader/worker/client.py).  `load` is the
# two steps in a row; the Assignment `complete` returns is the one `load` returned before.
@dataclass(frozen=True)
class Manifest:
    """An assignment read as far as its manifest (Note [Manifest before checks]): `assignment`
    has no checks and an empty rubric until `complete()`."""
    assignment: Assignment
    data: dict
    path: Path
    declared: tuple[dict, dict]

    def complete(self) -> Assignment:
        """The whole assignment: its checks imported, its rubric read, as `load` returns it."""
        partial = self.assignment
        checks = _load_checks(partial.folder, partial.id, partial.questions)
        rubric = load_rubric(partial.id, checks)
        checks, rubric = _assigned(self.data, self.path, self.declared, partial.conventions,
                                   checks, rubric)
        return replace(partial, checks=checks, rubric=rubric)


def read_manifest(assignment_id: str, conventions: dict | None = None,
                  asked: Questions = PUBLIC) -> Manifest:
    """The assignment's manifest read and the conventions asked for checked, its checks not yet
    imported (Note [Manifest before checks])."""
    folder = ASSIGNMENTS_DIR / assignment_id
    manifest_path = folder / "manifest.yml"
    if not manifest_path.exists():
        raise AssignmentError(f"unknown assignment {assignment_id!r}; available: "
                              f"{', '.join(available()) or 'none'}")
    manifest = course_files.read(manifest_path) or {}
    try:
        layout = Layout(files=dict(manifest["files"]), default_package=manifest.get("package", "cs231n"),
                        replace=tuple(manifest.get("replace", ())),
                        provide=tuple(manifest.get("provide", ())),
                        course_dir=folder / manifest["course_files"] if "course_files" in manifest
                        else None)
        limits = Limits(**manifest.get("limits", {}))
        layout, aliases = notebook_settings(manifest, layout, folder)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise AssignmentError(f"{manifest_path}: bad manifest ({type(exc).__name__}: {exc})") from None
    try:
        declared = _declared(manifest, manifest_path)
    except AttributeError as exc:
        raise AssignmentError(f"{manifest_path}: bad conventions ({exc})") from None
    check_conventions(assignment_id, conventions or {}, declared=declared)  # before any grading
    merged = dict(manifest.get("conventions", {}), **(conventions or {}))
    partial = Assignment(assignment_id, manifest.get("title", assignment_id), layout, limits, (),
                         Rubric({}), folder, merged, aliases, bool(manifest.get("gpu", False)),
                         asked)
    return Manifest(partial, manifest, manifest_path, declared)


def _of(check: Check, part: str) -> bool:
    """Whether `check` is part `part`: a check id, a function, or a class (any of its methods)."""
    if "/" in part:
        return check.id == part
    return check.function == part or check.function.startswith(part + ".")


def _entries(editions: dict) -> list[tuple[str, dict]]:
    """(value, entry) of a `not_assigned:` convention, a value's list of entries one by one
    (Note [Course-provided parts]: one edition may leave a part out and provide another)."""
    return [(value, entry) for value, listed in editions.items()
            for entry in (listed if isinstance(listed, list) else [listed])]


def _assigned(manifest: dict, path, declared: tuple[dict, dict], merged: dict,
              checks: tuple[Check, ...], rubric: Rubric) -> tuple[tuple[Check, ...], Rubric]:
    """The checks and rubric of what this run's edition assigns (Note [Assigned parts])."""
    table = manifest.get("not_assigned") or {}
    if not table:
        return checks, rubric
    _, values = declared
    left_out: set[str] = set()
    provided: set[str] = set()  # Note [Course-provided parts]
    others: list[tuple[str, ...]] = []  # (convention, value, who, part, when) not chosen
    try:
        for convention, editions in table.items():
            if convention not in values:
                raise ValueError(f"{convention!r} is not a text convention of this manifest")
            for value, entry in _entries(editions):
                if not any(_normal(value) == _normal(allowed) for allowed in values[convention]):
                    raise ValueError(f"{convention}: {value!r} is not one of its values")
                parts = [str(n) for n in entry["parts"]]
                when = str(entry.get("hint", "missing"))
                if when not in ("missing", "failing"):
                    raise ValueError(f"{convention}: {value}: hint must be missing or failing")
                for part in parts:
                    if not any(_of(c, part) for c in checks):
                        raise ValueError(f"{convention}: {value}: {part!r} names no check")
                if entry.get("provided", False) not in (True, False):
                    raise ValueError(f"{convention}: {value}: provided must be true or false")
                if _normal(merged.get(convention, "")) == _normal(value):
                    (provided if entry.get("provided") else left_out).update(parts)
                elif not entry.get("provided"):
                    others += [(str(convention), str(value), str(entry["editions"]), part, when)
                               for part in parts]
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise AssignmentError(f"{path}: bad not_assigned ({type(exc).__name__}: {exc})") from None
    kept = []
    for check in checks:
        if any(_of(check, part) for part in left_out):
            continue
        editions = tuple(other for other in others if _of(check, other[3]))
        kept.append(replace(check, editions=editions) if editions else check)
    ids = {c.id for c in kept}
    given = {c.id for c in kept if any(_of(c, part) for part in provided)}
    return tuple(kept), replace(rubric, points={k: 0.0 if k in given else v
                                                for k, v in rubric.points.items() if k in ids})


# Note [A missing file is no edition's part]
# A part not found is explained by the editions that do not assign it (Note [Assigned parts]),
# but not when the whole file that holds it is missing: a hand-in of layers.py alone was told
# "TwoLayerNet is not assigned in cs231n 2021-2024: 9 of the points lost; ... grade with
# --convention edition=cs231n_2021" and the same of rmsprop and COMPSCI 682, pointing at a
# setting that changes nothing of what is missing (fc_net.py and optim.py, whose other parts
# every edition assigns).  A check that failed because its file is missing (MissingFile in
# grader/checks/student.py) names no edition in its hint, and the result's notes count only
# the editions the checks' hints named (`_editions_notes` in grader/scoring/pipeline.py).
def editions_explaining(check: Check, cause: str | None,
                        file_missing: bool = False) -> list[tuple[str, str, str, str]]:
    """The (convention, value, who, part) of the other course editions that explain why `check`
    did not pass: any where it is not found, those marked `hint: failing` whenever it fails
    (Note [Assigned parts]); none where its whole file is missing (Note [A missing file is no
    edition's part])."""
    if file_missing:
        return []
    return [edition[:4] for edition in check.editions
            if cause == "missing" or edition[4] == "failing"]


def edition_hint(convention: str, value: str, who: str, part: str) -> str:
    """One line: which editions do not assign `part`, and the setting that grades them."""
    rule = "/" in part
    what = f"the rule of `{part}`" if rule else f"`{part}`"
    return (f"{what} is not assigned in {who}: if your course is one of them, grade with "
            f"`--convention {convention}={value}` (or `{convention}: {value}` in the course "
            f"file), which leaves {'it' if rule else 'its checks'} out of the score.")


def _other_versions(entries) -> tuple:
    """The manifest's `other_versions` (grader/submission/course_version.py), which is imported
    only for a manifest that has some (Note [What check imports] in grader/cli.py)."""
    if not entries:
        return ()
    from ..submission import course_version
    return tuple(course_version.Version.from_manifest(v) for v in entries)


def notebook_settings(manifest: dict, layout: Layout,
                       folder: Path = ASSIGNMENTS_DIR) -> tuple[Layout, dict[str, tuple[str, ...]]]:
    """The manifest's notebook keys and aliases (Note [Manifest]); ValueError names a bad one."""
    import dataclasses
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
        layout, notebooks={str(k): v if isinstance(v, list) else str(v)
                           for k, v in (manifest.get("notebooks") or {}).items()},
        notebook_mode=mode, notebook_cell_s=float(limits.get("cell_s", layout.notebook_cell_s)),
        notebook_total_s=float(limits.get("total_s", layout.notebook_total_s)),
        notebook_setup=setup, any_file_name=bool(manifest.get("any_file_name", False)),
        python_mode=str(manifest.get("python_mode") or ""),
        notebook_names=tuple(str(n) for n in manifest.get("notebook_names") or ()),
        other_versions=_other_versions(manifest.get("other_versions") or ()))
    if layout.python_mode not in ("", "definitions"):
        raise ValueError(f"python_mode must be definitions, not {layout.python_mode!r}")
    if manifest.get("observe") is not None:  # Note [Observation] in grader/worker/observe.py
        from ..checks.observe import Config
        layout = dataclasses.replace(layout, observe=Config.parse(
            manifest["observe"], folder, layout.notebook_cell_s, layout.notebook_total_s))
    aliases = {}
    for name, others in (manifest.get("aliases") or {}).items():
        aliases[str(name)] = (str(others),) if isinstance(others, str) else tuple(map(str, others))
    return layout, aliases
