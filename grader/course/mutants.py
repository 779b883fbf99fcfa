"""An assignment's fixtures: its correct solution, and mutants made of it by planting one bug.

`grade selftest` (grader/course/selftest.py) and the assignment tests
(tests/assignments/) both need them at run time, so they live with the
assignment, in `assignments/<id>/mutants.py`, and this module reads them.

# Note [Mutants]
A mutant is the assignment's solution with one realistic student mistake
planted in it: a `Bug` replaces a piece of text (which must occur exactly once)
by another in one file of the solution.  The bug names its `target`, the
graded function whose checks must lose points, and `may_affect`, the other
functions allowed to lose points too (those that call the broken one).  A
check that no mutant makes lose points is a check nobody has seen fail: it may
well pass anything.

A mistake outside the course's contract (what an advisory check looks at,
Note [Advisory checks] in grader/scoring/assignment.py) is a Bug with `advisory=True`:
it cannot lose points, since advice never costs any, so it must instead fail an
advisory (0-point) check of its target and cost no points anywhere.

`assignments/<id>/mutants.py` holds data only:

    SOLUTION = Solution(REFERENCE / "cs231n")      # where the correct solution is
    MUTANTS = [Bug("affine forward forgets the bias", "layers.py", "...", "...",
                   "affine_forward", ("affine_relu_forward",)), ...]

The files are text edits of trusted code, so they are never part of what
students receive (a release), exactly like the reference itself.

# Note [Where a solution is]
There is one copy of each solution file.  The numpy assignments are solved by
the reference library itself (`REFERENCE / "cs231n"`, a course package);
`tensorflow` by one of its modules; the PyTorch ones by a student-style,
self-contained module kept in the assignment's `solution/` folder (the worker
cannot import reference/).  A relative `Solution.path` is the assignment
folder's.  `name` is what the solution is submitted as (the package or file
name the course uses), by default the path's own name.

# Note [Joined solutions]
`tf_norms` students submit one file; the reference is two modules (norms.py,
and cnn.py, which imports it).  `Solution(first, join=(second, ...))` submits
them as one file: each later module is appended after a blank line, without
its `from __future__ import annotations` line (it must stay the file's first
statement) and without its `from <package> import <earlier module>` lines,
and with `<earlier module>.` no longer qualifying the names it uses.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
REFERENCE = PROJECT_ROOT / "reference"
MUTANTS_FILE = "mutants.py"


class MutantError(ValueError):
    """An assignment's fixtures are missing or inconsistent (said in words, with the file)."""


@dataclass(frozen=True)
class Bug:
    """A realistic mistake: replace `old` (must occur exactly once) by `new` in `file`.

    `target` is the function whose checks must lose points; `may_affect` lists the
    other functions allowed to lose points too (callers of the broken function).
    `advisory`: the mistake is outside the course's contract, so it must fail an
    advisory check of `target` and cost no points at all.  See Note [Mutants].
    """
    name: str
    file: str
    old: str
    new: str
    target: str
    may_affect: tuple[str, ...] = ()
    advisory: bool = False


@dataclass(frozen=True)
class Solution:
    """A correct submission for an assignment; Note [Where a solution is]."""
    path: str | Path                    # a package folder or a .py file
    name: str = ""                      # submitted as; default: the path's own name
    join: tuple[str | Path, ...] = ()   # appended into one file (Note [Joined solutions])

    @property
    def submitted_as(self) -> str:
        return self.name or Path(self.path).name

    def text(self) -> str:
        """The source of a single-file solution, joined modules included."""
        path = Path(self.path)
        if path.is_dir():
            raise MutantError(f"solution {path} is a folder, not one file")
        return _joined([path, *map(Path, self.join)])


@dataclass(frozen=True)
class Fixtures:
    """What `assignments/<id>/mutants.py` declares, with the solution's paths resolved."""
    assignment: str
    source: Path                        # the mutants file
    solution: Solution
    mutants: tuple[Bug, ...]


def load(assignment: str, folder: Path | None = None) -> Fixtures:
    """The fixtures of `assignment` (its folder: `folder`, else ASSIGNMENTS_DIR / assignment)."""
    if folder is None:
        from ..scoring import assignment as assignments  # read now: tests point it elsewhere
        folder = assignments.ASSIGNMENTS_DIR / assignment
    path = Path(folder) / MUTANTS_FILE
    if not path.exists():
        raise MutantError(f"{path} not found: the assignment declares no solution and no mutants "
                          f"(Note [Mutants] in grader/course/mutants.py says what it holds)")
    spec = importlib.util.spec_from_file_location(f"grader_assignment_mutants_{assignment}", path)
    if spec is None or spec.loader is None:
        raise MutantError(f"{path} cannot be loaded")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the course's mistake: said plainly, not a traceback
        raise MutantError(f"{path} cannot be loaded: {type(exc).__name__}: {exc}") from exc
    solution = getattr(module, "SOLUTION", None)
    if not isinstance(solution, Solution):
        raise MutantError(f"{path}: SOLUTION must be a Solution(...), not {solution!r}")
    bugs = tuple(getattr(module, "MUTANTS", ()))
    wrong = [b for b in bugs if not isinstance(b, Bug)]
    if wrong:
        raise MutantError(f"{path}: every entry of MUTANTS must be a Bug(...), not {wrong[0]!r}")
    names = [b.name for b in bugs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise MutantError(f"{path}: more than one mutant named {duplicates}")
    resolved = Solution(Path(folder) / solution.path, solution.submitted_as,
                        tuple(Path(folder) / p for p in solution.join))
    if not Path(resolved.path).exists():
        raise MutantError(f"{path}: the solution {resolved.path} does not exist")
    missing = [str(p) for p in resolved.join if not Path(p).is_file()]
    if missing:
        raise MutantError(f"{path}: the solution's joined modules do not exist: {missing}")
    return Fixtures(assignment, path, resolved, bugs)


def copy_solution(solution: Solution, folder: Path | None = None, name: str | None = None) -> Path:
    """Write `solution` into `folder` (default: a fresh temporary one) as `name` (default: what
    it is submitted as); returns the copy: the package folder or the .py file."""
    if folder is None:
        folder = tempfile.mkdtemp(prefix="grader-solution-")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / (name or solution.submitted_as)
    source = Path(solution.path)
    if source.is_dir():
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
    else:
        target.write_text(solution.text())
    return target


def apply_bug(root: Path, bug: Bug) -> None:
    """Plant `bug` in the solution copy whose files are under `root`; Note [Mutants]."""
    path = Path(root) / bug.file
    if not path.is_file():
        raise MutantError(f"bug {bug.name!r}: {bug.file} is not a file of the solution")
    if path.suffix == ".ipynb":
        _apply_to_notebook(path, bug)
        return
    text = path.read_text()
    count = text.count(bug.old)
    if count != 1:
        raise MutantError(f"bug {bug.name!r}: expected the text once in {bug.file}, found {count}")
    path.write_text(text.replace(bug.old, bug.new))


def _apply_to_notebook(path: Path, bug: Bug) -> None:
    """A bug in a notebook edits the source of the one code cell that holds its text
    (Note [Mutants]: the text must occur exactly once, over all code cells)."""
    import json
    notebook = json.loads(path.read_text())
    cells = [c for c in notebook.get("cells", []) if c.get("cell_type") == "code"]
    sources = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in cells]
    count = sum(s.count(bug.old) for s in sources)
    if count != 1:
        raise MutantError(f"bug {bug.name!r}: expected the text once in the code cells of {bug.file}, "
                          f"found {count}")
    cell, source = next((c, s) for c, s in zip(cells, sources) if bug.old in s)
    cell["source"] = source.replace(bug.old, bug.new)
    path.write_text(json.dumps(notebook, indent=1))


def make_mutant(solution: Solution, bug: Bug, folder: Path) -> Path:
    """A copy of `solution` in `folder` with `bug` planted; returns what to grade."""
    copy = copy_solution(solution, folder)
    apply_bug(copy if copy.is_dir() else copy.parent, bug)
    return copy


def _joined(paths: list[Path]) -> str:
    """The modules `paths` as one file; Note [Joined solutions]."""
    parts = [paths[0].read_text()]
    for index, path in enumerate(paths[1:], start=1):
        text = path.read_text().replace("from __future__ import annotations\n", "")
        for earlier in paths[:index]:
            module = re.escape(earlier.stem)
            text = re.sub(rf"^from [\w.]+ import {module}\n", "", text, flags=re.MULTILINE)
            text = re.sub(rf"\b{module}\.", "", text)
        parts.append(text)
    return "\n\n".join(parts)
