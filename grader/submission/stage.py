"""Find a submission's files and stage them as an importable package for the worker.

Submissions arrive as a course package folder (`cs231n/`, `ece662/`, any name),
loose files, a single `.py`, or a zip of any of these nested a folder or two
deep.  Staging copies the Python files into a fresh, world-readable folder that
the worker mounts read-only, so the student's own folder is never written to.

# Note [Staging]
- The *anchor* is the folder holding the assignment's main file (`layers.py`,
  or whichever of the manifest's files is found highest up).  If it has an
  `__init__.py`, uses relative imports, or is named by other files' absolute
  imports, its name is the package name; loose files get the name their
  absolute imports use (`from ece662.layers import *`), else the manifest's
  default package name.  Either way the staged tree is `<package>/...`, so both
  relative and absolute imports work.
- Loose files that belong in a subpackage (`fc_net.py`, `cnn.py`) are placed
  where the course keeps them (`classifiers/`).
- Note [Loose files importing each other by name]: files written to sit in one
  folder import each other by bare name (`from layers import *` in fc_net.py, seen
  in real hand-ins); staged as a package, that name is not importable, and every
  check of the file failed with "could not be imported: No module named 'layers'".
  For each of the submission's own modules that its files import so, the staged
  root (on the worker's sys.path) gets a two-line alias that makes the bare name
  the package's module itself (one module object, not a copy); never for the
  package's own name, a name the staged tree already has, or a module the Python
  already knows (numpy, a standard module).
- Every package folder gets an empty `__init__.py`; a student's own is replaced,
  since course `__init__` files only re-export and often import modules that a
  submission does not include.
- Course-provided helpers that a student may have left out, or that need a
  compiler (`fast_layers.py` with Cython), are copied from `reference/cs231n`:
  `replace` files always, `provide` files only when missing.  These are course
  files handed to every student, not solutions.  An assignment whose course
  files live elsewhere (a TensorFlow course's GradientTape helper, say) names
  that folder as `Layout.course_dir` (the manifest's `course_files`); the
  default stays reference/cs231n.
- Zips are read member by member with limits on count and size; absolute paths,
  `..` and symlinks are refused; `__MACOSX`, `__pycache__` and checkpoints are
  skipped.  Note [Members that cannot be placed]: a member the file system refuses
  (a file `cs231n` followed by `cs231n/layers.py`, a path or name longer than the
  system allows) makes the zip a submission error naming it, like an unsafe path:
  it used to escape as an OSError, a traceback from `grade check` and "internal
  grader error, please tell the course staff" from `grade batch`, for a fault of
  the zip.  The name is clipped in the message (a crafted one is kilobytes long).
- Note [Any name]: an assignment whose students hand in one file of their own
  naming (the IST597 lab, `CNN_assignment4.py`) sets `any_file_name`: a
  submission holding exactly one `.py` file and none of the expected names is
  staged as the main file, with a note.  `python_mode: definitions` stages
  the main file through grader/submission/notebook.py's definitions mode (Note
  [Notebook modes]) as a one-cell notebook, so a script that loads data and
  trains at module level has only its imports, functions, classes and
  constants run; a file that does not parse is staged as it is, so its
  syntax error is reported as usual.
- Note [Source size]: a `.py` file of the submission larger than MAX_SOURCE_BYTES (8 MiB)
  makes it a submission error naming the file.  The judge reads every source as text
  (imports, star imports, the NumPy names of Note [NumPy names restored]) and the worker
  compiles it: a layers.py of 200 MB of blank lines, 200 KB zipped, took 134 s and 3.4 GB of
  the judge's memory for a `grade check`.  Course source files are kilobytes; notebooks have
  their own bound (64 MiB, Note [Huge notebooks] in grader/submission/notebook.py).
- Notebooks (`.ipynb`, alone or inside a folder or zip): a course module that
  the manifest maps to a notebook pattern (`Layout.notebooks`, e.g.
  `{layers: "*.ipynb"}`) and that is not submitted as a `.py` file is staged
  as a module generated from the notebook (grader/submission/notebook.py, Note [Notebook
  modes]); modules mapped to the same notebook share one generated module.
  Notebooks are also read for their inline answers: every notebook found where
  the code lives in `.py` files (the cs231n numpy assignments), only the graded
  ones where a module is graded from a notebook (Note [Answers of the graded
  notebook]).  A notebook is one kind of
  source: grader/submission/notebook.py reads it and writes the text of its
  module, and this module alone decides what is staged where and writes it.

# Note [Re-exporting packages]
Some courses ship the graded code under one package name and a second package
that re-exports it (`ece697ls/layers.py` holding only `from ece662.layers import
*`), and students submit both.  Staging only the anchor, or renaming it after
its absolute imports, made the shim import itself (or nothing) and every
function "not found".  So:
- A *re-export* is a module whose top-level statements are only imports (a
  docstring, `__all__` and `pass` aside) with at least one `import *`.  A
  candidate anchor whose assignment files are all re-exports comes after every
  other candidate: the package holding the code is preferred.
- A top-level folder of the submission imported by an absolute import of the
  staged code (`ece662` in `from ece662.layers import *`), transitively, is
  staged beside the package under its own name, course files included, so the
  re-exports resolve as they did on the student's machine.  A name Python
  already knows in the judge (numpy...) is never shadowed this way.  Such a
  folder never renames the anchor (the "named by its imports" rule is for
  loose files).
- A course module whose file is a re-export of a module of such a package is
  graded from that module (`modules["layers"] = "ece662.layers"`), and a course
  module the anchor lacks is taken from such a package when it has it.  Its
  shown file is then the path in the submission (`ece662/layers.py`), and when
  other packages are staged every shown file carries its folder, so that a
  "not found in ..." message names the file the grader looked in.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import shutil
import stat
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from . import notebook as notebooks

REFERENCE_COURSE_DIR = Path(__file__).resolve().parents[2] / "reference" / "cs231n"
SKIPPED_PARTS = {"__MACOSX", "__pycache__", ".ipynb_checkpoints", ".git"}
MAX_ZIP_MEMBERS = 5000
MAX_ZIP_BYTES = 256 << 20
MAX_SOURCE_BYTES = 8 << 20  # Note [Source size]


class SubmissionError(Exception):
    """The submission cannot be graded at all (nothing found, corrupt zip...)."""


class OtherVersionError(SubmissionError):
    """The notebook is of another version of the course (grader/submission/course_version.py)."""


@dataclass(frozen=True)
class Layout:
    """What the assignment expects: course module name -> path inside the package."""
    files: dict[str, str]
    default_package: str = "cs231n"
    replace: tuple[str, ...] = ()
    provide: tuple[str, ...] = ()
    course_dir: Path | None = None   # where replace/provide copy from; None: REFERENCE_COURSE_DIR
    notebooks: dict[str, str] = field(default_factory=dict)  # course module -> notebook name pattern
    notebook_mode: str = "definitions"                       # or "execute" (grader/submission/notebook.py)
    notebook_cell_s: float = 10.0                             # per-cell limit in the worker
    notebook_total_s: float = 60.0                            # limit for all cells together
    notebook_setup: str = ""   # course code run before a notebook's cells (Note [Notebook setup])
    observe: object = None     # grader.checks.observe.Config: the course's stand-ins (Note [Observation])
    any_file_name: bool = False   # a lone .py stands for the main file whatever its name (Note [Any name])
    python_mode: str = ""         # "definitions": .py files run as a notebook in that mode (Note [Any name])
    notebook_names: tuple[str, ...] = ()   # the course's names for its notebook (Note [Which notebook])
    other_versions: tuple = ()    # grader.submission.course_version.Version entries (Note [Other versions])


@dataclass
class Staged:
    """A staged submission, ready to be mounted into a worker."""
    root: Path                       # folder to mount; the package is root/<package>
    package: str
    modules: dict[str, str]          # course module name -> import name
    files: dict[str, str]            # course module name -> path as the student named it
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    answers: list = field(default_factory=list)          # grader.submission.notebook.Answer, every notebook
    import_timeouts: dict[str, float] = field(default_factory=dict)  # course module -> seconds
    # course module -> its source text as staged, read before any student code ran, for checks
    # that read code (a static check must not see a file the submission rewrote at run time)
    sources: dict[str, str] = field(default_factory=dict)
    # course module -> the notebook run that records objects (grader/checks/observe.py), run on demand
    observed: dict[str, dict] = field(default_factory=dict)

    def cleanup(self, now: bool = False) -> None:
        """Remove the staged copy; in a batch job, at the job's end unless `now` (Note [Staged
        copies removed after the answer])."""
        work = self.root.parent  # the whole grader-stage-* folder
        if not now and removed_later is not None and work.parent == removed_later:
            return
        shutil.rmtree(work, ignore_errors=True)


# Note [Staged copies removed after the answer]
# Removing a staged copy (a dozen files and four folders) took 7 ms of wall time and 0.4 ms of
# CPU on the benchmark machine (ext4 mounted with `discard`: each rmdir waits for the journal
# and the freed blocks' discard; 0.1 ms on a tmpfs), and a batch job did it before it answered,
# so every submission of a 1-worker batch waited for it.  A batch job stages in its own folder
# (grader/batch/job.py's init_job_process), which the job removes as it ends, after its answer
# (Note [Answer first] in grader/batch/template.py), while the next job runs.  So in a job
# process `removed_later` names that folder, and `cleanup` leaves a staged copy made in it to
# that removal: the student worker that read it has been stopped already (the pipeline stops
# it first), and the copy is gone when the job ends, however it ends (a killed job's folder is
# removed by the next batch, `remove_dead_job_folders`).  Anywhere else (`grade check`,
# tests, a staging made outside that folder) `cleanup` removes the copy at once, and so does
# the similarity job (`now`), which stages every submission of the class in turn, beside the
# grading jobs and off their critical path: left to its end, a class's copies would pile up.
removed_later: Path | None = None


@dataclass
class Generated:
    """Modules generated from notebooks (or .py files in definitions mode), for Staged."""
    modules: dict[str, str] = field(default_factory=dict)          # course module -> import name
    files: dict[str, str] = field(default_factory=dict)            # course module -> notebook name
    notes: list[str] = field(default_factory=list)
    import_timeouts: dict[str, float] = field(default_factory=dict)
    observed: dict[str, dict] = field(default_factory=dict)        # course module -> grader.checks.observe.Run


def _skipped(parts) -> bool:
    return any(part in SKIPPED_PARTS or part.startswith("._") for part in parts)


def extract_zip(path: Path, into: Path) -> None:
    """Extract `path` into `into`, refusing anything unsafe (see Note [Staging])."""
    try:  # ValueError: a member name marked UTF-8 that is not (Note [Names that are not UTF-8])
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise SubmissionError(f"{path.name} is not a valid zip file ({exc})") from None
    with archive:
        members = archive.infolist()
        if len(members) > MAX_ZIP_MEMBERS:
            raise SubmissionError(f"{path.name} has {len(members)} entries (limit {MAX_ZIP_MEMBERS})")
        if sum(m.file_size for m in members) > MAX_ZIP_BYTES:
            raise SubmissionError(f"{path.name} unpacks to more than {MAX_ZIP_BYTES / 2**20:g} MiB")
        for member in members:
            name = PurePosixPath(member.filename.replace("\\", "/"))
            if member.is_dir() or _skipped(name.parts):
                continue
            if name.is_absolute() or ".." in name.parts:
                raise SubmissionError(f"{path.name}: refusing unsafe path {member.filename!r}")
            if stat.S_ISLNK(member.external_attr >> 16):
                continue
            target = into.joinpath(*name.parts)
            try:  # Note [Members that cannot be placed]
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(member) as source, open(target, "wb") as sink:
                    shutil.copyfileobj(source, sink)
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                shown = member.filename if len(member.filename) <= 120 else member.filename[:117] + "..."
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
                raise SubmissionError(f"{path.name}: cannot unpack {shown!r} ({reason})") from None


def _python_files(root: Path) -> list[Path]:
    found = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if not _skipped(relative.parts) and path.is_file() and not path.is_symlink():
            found.append(path)
    return found


def _notebooks(root: Path) -> list[Path]:
    """Notebooks under `root`, shallowest first, leaving out checkpoints."""
    found = [p for p in root.rglob("*.ipynb")
             if p.is_file() and not p.is_symlink() and not _skipped(p.relative_to(root).parts)]
    return sorted(found, key=lambda p: (len(p.relative_to(root).parts), str(p)))


def _find_anchor(files: list[Path], root: Path, layout: Layout) -> tuple[Path, list[Path]]:
    """The folder that plays the course package (the shallowest, a folder of re-exports only
    last: Note [Re-exporting packages]) and the other folders holding assignment files."""
    basenames = {Path(p).name: name for name, p in layout.files.items()}
    found: dict[Path, list[tuple[str, bool]]] = {}
    for path in files:
        if path.name in basenames:
            course_path = Path(layout.files[basenames[path.name]])
            anchor = path.parent
            # classifiers/fc_net.py inside the package: the anchor is its grandparent
            for _ in course_path.parent.parts:
                if anchor.name == course_path.parent.name and anchor != root:
                    anchor = anchor.parent
            found.setdefault(anchor, []).append(
                (basenames[path.name], bool(star_imports(path.read_text(errors="replace")))))
    if not found:  # and which Python files there are: Note [What an ungradable submission holds]
        wanted = ", ".join(sorted(basenames))
        held = sorted(p.relative_to(root).as_posix() for p in files)
        shown = ", ".join(held[:3]) + (f" and {len(held) - 3} more" if len(held) > 3 else "")
        raise SubmissionError(f"none of the assignment's files ({wanted}) were found; its "
                              f"Python files are {shown}: name them as the course does")
    anchor = min(found, key=lambda a: (all(shim for _, shim in found[a]),
                                       len(a.relative_to(root).parts), str(a)))
    return anchor, [a for a in found if a != anchor]


# Every `from m import *`, however spaced or continued over lines, has `import` then `*`.
_STAR_IMPORT = re.compile(r"import[\s\\]*\*")


def star_imports(text: str) -> list[tuple[int, str]]:
    """(level, module) of each `from module import *` when `text` is a re-export (Note
    [Re-exporting packages]): only imports at the top level, at least one of them `*`."""
    if not _STAR_IMPORT.search(text):  # most files: no parse needed (a parse is ~2 ms each)
        return []
    try:  # RecursionError, MemoryError: Note [Code too deep to parse] in grader/batch/similarity.py
        body = ast.parse(text).body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    stars = []
    for node in body:
        if isinstance(node, ast.ImportFrom):
            if any(alias.name == "*" for alias in node.names):
                stars.append((node.level, node.module or ""))
        elif isinstance(node, ast.Import) or isinstance(node, ast.Pass):
            continue
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # a docstring
        elif (isinstance(node, ast.Assign)
              and [getattr(t, "id", "") for t in node.targets] == ["__all__"]):
            continue
        else:
            return []
    return stars


# `[^\S\n]*`, not `\s*`: Note [Linear-time text] in grader/submission/notebook.py (`^\s*` ran over
# every following blank line from each line start: 100,000 blank lines took 69 s, 20 million
# never ended).
_TOP_LEVEL_IMPORT = re.compile(r"^[^\S\n]*(?:from\s+([A-Za-z_]\w*)[\s.]|import\s+([A-Za-z_]\w*))",
                               re.MULTILINE)


def _other_packages(files: list[Path], root: Path, anchor: Path, layout: Layout) -> dict[str, Path]:
    """Folders of the submission that could be imported by name, shallowest first, less the
    anchor, its own subfolders and those holding it, course subpackages and names the judge's
    Python already knows."""
    reserved = {Path(p).parent.name for p in layout.files.values()} | {
        Path(p).stem for p in layout.files.values()}
    found: dict[str, Path] = {}
    for path in files:
        for folder in sorted(path.relative_to(root).parents, key=lambda f: len(f.parts)):
            if not folder.parts:
                continue
            name, full = folder.name, root / folder
            inside = anchor != root and anchor in full.parents  # the package's own subfolder
            if (not name.isidentifier() or name in reserved or full == anchor or inside
                    or full in anchor.parents
                    or (name in found
                        and len(found[name].relative_to(root).parts) <= len(folder.parts))):
                continue
            found[name] = full
    return {name: folder for name, folder in found.items() if not _known_module(name)}


def _sibling_aliases(texts: list[str], modules: dict[str, str], package: str, root: Path) -> list[str]:
    """Note [Loose files importing each other by name]: an alias at the staged root for each of
    the submission's modules that its files import by bare name; the note saying so."""
    wanted = {groups[0] or groups[1] for text in texts for groups in _TOP_LEVEL_IMPORT.findall(text)}
    made = []
    for name in sorted(wanted & modules.keys()):
        if (name == package or not name.isidentifier() or (root / name).exists()
                or (root / f"{name}.py").exists() or _known_module(name)):
            continue
        (root / f"{name}.py").write_text(
            "import importlib, sys\n"
            f"sys.modules[__name__] = importlib.import_module({f'{package}.{modules[name]}'!r})\n")
        made.append(f"`{name}`")
    return [f"the files import {', '.join(made)} by bare name (as when they sit in one folder): "
            f"{'it is' if len(made) == 1 else 'they are'} the submission's own "
            f"{'module' if len(made) == 1 else 'modules'} in {package}/"] if made else []


def _known_module(name: str) -> bool:
    try:
        return name in sys.builtin_module_names or importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _imported_packages(texts: list[str], package: str, others: dict[str, Path],
                       staged: dict[str, Path] | None = None) -> dict[str, Path]:
    """`staged` plus the folders of `others` that `texts` import by absolute name, and those
    that these import, transitively."""
    staged = dict(staged or {})
    texts = list(texts) + [t for folder in staged.values() for t in _texts(folder)]
    while texts:
        for groups in _TOP_LEVEL_IMPORT.findall(texts.pop()):
            name = groups[0] or groups[1]
            if name in others and name != package and name not in staged:
                staged[name] = others[name]
                texts += _texts(others[name])
    return staged


def _texts(folder: Path) -> list[str]:
    return [p.read_text(errors="replace") for p in _python_files(folder)]


# Indentation is [ \t\f]*, never \s* (which also eats newlines: retried at every line start
# of a run of blank lines, quadratic); Note [Linear-time text] in grader/submission/notebook.py.
_ABSOLUTE_IMPORT = re.compile(r"^[ \t\f]*(?:from|import)[ \t\f]+([A-Za-z_]\w*)\.(\w+)", re.MULTILINE)
_RELATIVE_IMPORT = re.compile(r"^[ \t\f]*from[ \t\f]+\.", re.MULTILINE)


def _package_name(anchor: Path, root: Path, sources: dict[Path, str], layout: Layout,
                  others: dict[str, Path] | None = None) -> str:
    course_modules = {Path(p).stem for p in layout.files.values()} | {"classifiers"}
    used = {}
    for path, text in sources.items():
        reexport = bool(star_imports(text))
        for package, module in _ABSOLUTE_IMPORT.findall(text):
            # Note [Re-exporting packages]: neither another package of the submission nor a
            # re-export of the file's own name (layers.py: from X.layers import *) names this one
            if (module in course_modules and package not in (others or {})
                    and not (reexport and module == path.stem)):
                used[package] = used.get(package, 0) + 1
    if anchor != root and (anchor.name.isidentifier()):
        if ((anchor / "__init__.py").exists() or anchor.name in used
                or any(_RELATIVE_IMPORT.search(t) for t in sources.values())):
            return anchor.name
    if used:
        return max(used, key=used.get)
    return layout.default_package


def stage(submission: Path, layout: Layout) -> Staged:
    """Stage `submission` (folder, .zip or .py) per Note [Staging]."""
    submission = Path(submission)
    if not submission.exists():
        raise SubmissionError(f"{submission} does not exist")
    work = Path(tempfile.mkdtemp(prefix="grader-stage-"))
    try:
        return _stage_into(submission, layout, work)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


class _Cells:
    """Each notebook's cells, read once per staging (Note [Parsed once] in
    grader/submission/notebook.py); a notebook that cannot be read says so each time."""

    def __init__(self) -> None:
        self.read: dict[Path, list | notebooks.NotebookError] = {}

    def __call__(self, path: Path) -> list:
        if path not in self.read:
            try:
                self.read[path] = notebooks.read(path)
            except notebooks.NotebookError as exc:
                self.read[path] = exc
        cells = self.read[path]
        if isinstance(cells, notebooks.NotebookError):
            raise notebooks.NotebookError(str(cells))
        return cells


def _stage_into(submission: Path, layout: Layout, work: Path) -> Staged:
    if submission.is_file() and submission.suffix == ".zip":
        source_root = work / "unzipped"
        source_root.mkdir()
        extract_zip(submission, source_root)
    elif submission.is_file() and submission.suffix in (".py", ".ipynb"):
        source_root = work / "single"
        source_root.mkdir()
        shutil.copy2(submission, source_root / submission.name)
    elif submission.is_dir():
        source_root = submission
    else:
        raise SubmissionError(f"{submission.name}: expected a folder, a .zip, a .py or an .ipynb file")
    files = _python_files(source_root)
    for path in files:  # Note [Source size]
        size = path.stat().st_size
        if size > MAX_SOURCE_BYTES:
            raise SubmissionError(f"{path.relative_to(source_root)} is {size / 2**20:.0f} MiB, larger than "
                                  f"the {MAX_SOURCE_BYTES / 2**20:g} MiB a source file may be")
    files, source_root, renamed = _any_name(files, source_root, layout, work)
    found_notebooks = _notebooks(source_root)
    from .which_notebook import NoNotebook
    try:
        graded = notebooks.graded(found_notebooks, files, layout.notebooks, layout.files,
                                  layout.notebook_names)
        observed = getattr(layout.observe, "notebook", None)
        if getattr(layout.observe, "required", "") and observed not in graded:
            # Note [Graded only from the notebook] in grader/checks/observe.py: the notebook wins over a
            # .py of the same course module; without one the submission is ungradable.
            shadow = Path(layout.files.get(observed, f"{observed}.py")).name
            graded = notebooks.graded(found_notebooks, [p for p in files if p.name != shadow],
                                      layout.notebooks, layout.files, layout.notebook_names)
            if observed not in graded:
                raise SubmissionError(f"{layout.observe.required}; none found in the submission")
    except NoNotebook as exc:
        raise SubmissionError(str(exc)) from None
    cells_of = _Cells()
    chosen_notes = _check_versions(graded, found_notebooks, layout, source_root, cells_of)
    if not files and not graded:
        if found_notebooks:  # the numpy assignments: code in the package, answers in notebooks
            names = ", ".join(sorted({p.name for p in found_notebooks}))
            raise SubmissionError(
                f"no Python files found in {submission.name}, only {names}: this assignment is "
                f"graded from the course package ({layout.default_package}/"
                f"{', '.join(layout.files.values())}); hand the notebooks in with the package "
                f"(they are read for inline answers); notebooks are graded only for assignments "
                f"whose manifest maps a module to one")
        raise SubmissionError(f"no Python files found in {submission.name}"
                              + (_zips_inside(source_root) or _what_it_holds(source_root)))
    try:
        anchor, rivals = _find_anchor(files, source_root, layout)
    except SubmissionError:
        if not graded:
            raise
        anchor, rivals = min(graded.values(), key=lambda p: (len(p.parts), str(p))).parent, []
    others = _other_packages(files, source_root, anchor, layout)
    sources = {p: p.read_text(errors="replace") for p in files if anchor in p.parents}
    package = _package_name(anchor, source_root, sources, layout, others)
    extra = _imported_packages(list(sources.values()), package, others)
    # Note [Re-exporting packages]: a course module the package lacks, from a sibling that has it
    lacking = [p for p in layout.files.values()
               if not (anchor / p).is_file() and not (anchor / Path(p).name).is_file()]
    for name, folder in sorted(others.items(), key=lambda item: (len(item[1].parts), item[0])):
        if name != package and name not in extra and any((folder / p).is_file() for p in lacking):
            extra = _imported_packages([], package, others, {**extra, name: folder})
    sources = {p: t for p, t in sources.items()
               if not any(folder in p.parents for folder in extra.values())}
    root = work / "staged"
    package_dir = root / package
    package_dir.mkdir(parents=True)
    by_basename = {Path(p).name: p for p in layout.files.values()}
    modules: dict[str, str] = {}   # a staged module's name -> its dotted path in the package
    for path in sources:
        relative = path.relative_to(anchor)
        if len(relative.parts) == 1 and relative.name in by_basename:
            relative = Path(by_basename[relative.name])  # a loose fc_net.py goes to classifiers/
        target = package_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        if relative.suffix == ".py" and relative.stem != "__init__":
            modules.setdefault(relative.stem, ".".join(relative.with_suffix("").parts))
    aliased = _sibling_aliases(list(sources.values()), modules, package, root)
    for name, folder in extra.items():
        for path in files:
            if folder in path.parents:
                target = root / name / path.relative_to(folder)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
    notes = list(renamed) + chosen_notes + aliased
    definitions = _definitions_mode(layout, package_dir, root)
    notes += definitions.notes
    package_dirs = [package_dir] + [root / name for name in extra]
    for folder in [d for top in package_dirs for d in [top, *[p for p in top.rglob("*") if p.is_dir()]]]:
        init = folder / "__init__.py"
        if init.exists() and init.read_text(errors="replace").strip():
            notes.append(f"replaced {init.relative_to(root)} with an empty one")
        init.write_text("")
    for top in [package_dir] + [root / n for n in extra
                                if any((root / n / p).exists() for p in layout.files.values())]:
        for name in layout.replace + layout.provide:
            target = top / name
            if name in layout.provide and target.exists():
                continue
            where = name if top == package_dir else str(target.relative_to(root))
            if target.exists():
                notes.append(f"used the course's {name} in place of the submitted {where}"
                             if top != package_dir else
                             f"used the course's {name} in place of the submitted one")
            else:
                notes.append(f"supplied the course's {where}")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile((layout.course_dir or REFERENCE_COURSE_DIR) / name, target)
    try:
        generated = _stage_notebooks(graded, layout, package, root, cells_of)
    except notebooks.NotebookError as exc:
        raise SubmissionError(str(exc)) from None
    notes += generated.notes
    answers, answer_notes = notebooks.collect_answers(_answered(graded, found_notebooks),
                                                      source_root, cells_of)
    notes += answer_notes
    _make_world_readable(work)
    modules = {name: f"{package}." + str(Path(path).with_suffix("")).replace(os.sep, ".")
               for name, path in layout.files.items()}
    modules.update(generated.modules)
    shown = dict(layout.files, **generated.files)
    staged_sources = {name: (package_dir / path).read_text(errors="replace")
                      for name, path in layout.files.items() if (package_dir / path).is_file()}
    if extra or rivals:  # more than one folder with course files: say which one was graded
        _follow_reexports(layout, package, anchor, source_root, extra, root, modules, shown,
                          staged_sources, notes, exclude=set(generated.modules))
    notes[:0] = _not_graded_folders(anchor, rivals, extra, source_root)  # said first
    missing = [name for name, path in layout.files.items()
               if not (root / (modules[name].replace(".", os.sep) + ".py")).exists()
               and name not in generated.modules]
    return Staged(root, package, modules, shown, missing, notes, answers,
                  {**definitions.import_timeouts, **generated.import_timeouts}, staged_sources,
                  generated.observed)


# Note [Folders of course files not graded]
# A submission whose course files sit in several folders is graded from one of them (the
# shallowest, a folder of re-exports last, then by name: `_find_anchor`); a folder it imports
# from is staged too (Note [Re-exporting packages]).  Any other such folder was passed over
# without a word: `grade check class/` on a folder of eight students' packages graded alice's
# alone and reported it as the class's score, and a hand-in with an old copy beside its package
# (`cs231n/`, `cs231n_backup/`) never learnt which copy counted.  A note now names the folder
# graded and the ones that were not, and where two or more were not, that a class is graded
# with `grade batch` (one result each).
def _not_graded_folders(anchor: Path, rivals: list[Path], extra: dict[str, Path],
                        source_root: Path) -> list[str]:
    """Note [Folders of course files not graded]: [] when every such folder was staged."""
    left = sorted(f"{a.relative_to(source_root).as_posix()}/" for a in rivals
                  if a not in extra.values() and not any(f in a.parents for f in extra.values()))
    if not left:
        return []
    graded = anchor.relative_to(source_root).as_posix()
    shown = ", ".join(left[:3]) + (f" and {len(left) - 3} more" if len(left) > 3 else "")
    batch = " (a folder of several submissions is graded with `grade batch`)" if len(left) > 1 else ""
    return [f"graded the course files in {graded + '/' if graded != '.' else 'the top folder'}, "
            f"not those in {shown}{batch}"]


def _follow_reexports(layout: Layout, package: str, anchor: Path, source_root: Path,
                      extra: dict[str, Path], root: Path, modules: dict, shown: dict,
                      sources: dict, notes: list, exclude: set) -> None:
    """Grade each course module from the code it re-exports, and take a course module the
    package lacks from a staged package that has it (Note [Re-exporting packages])."""
    def in_submission(import_name: str) -> str:
        top, _, rest = import_name.partition(".")
        folder = extra[top] if top in extra else anchor
        path = Path(rest.replace(".", "/") + ".py")
        if top not in extra and not (folder / path).is_file():
            path = Path(path.name)  # a loose fc_net.py staged in classifiers/
        return (folder.relative_to(source_root) / path).as_posix()

    for name, path in layout.files.items():
        if name in exclude:
            continue
        shown[name] = in_submission(modules[name])
        own = root / package / path
        if not own.is_file():
            for top in extra:
                if (root / top / path).is_file():
                    modules[name] = f"{top}." + str(Path(path).with_suffix("")).replace(os.sep, ".")
                    shown[name] = in_submission(modules[name])
                    sources[name] = (root / top / path).read_text(errors="replace")
                    notes.append(f"graded {shown[name]} as the course's {path} (the package "
                                 f"{package} has none)")
                    break
            continue
        stars = star_imports(sources.get(name, ""))
        if len(stars) != 1 or stars[0][0] != 0 or stars[0][1].partition(".")[0] not in extra:
            continue
        target = stars[0][1]
        file = root / (target.replace(".", os.sep) + ".py")
        if file.is_file():
            was = shown[name]
            modules[name], shown[name] = target, in_submission(target)
            sources[name] = file.read_text(errors="replace")
            notes.append(f"graded {shown[name]} as the course's {path}: {was} only re-exports it")


def _stage_notebooks(chosen: dict[str, Path], layout: Layout, package: str, root: Path,
                     read=notebooks.read) -> Generated:
    """Write one generated module per notebook into root/<package> and the runner beside it."""
    result = Generated()
    by_notebook: dict[Path, list[str]] = {}
    for module, path in chosen.items():
        by_notebook.setdefault(path, []).append(module)
    if not by_notebook:
        return result
    (root / f"{notebooks.RUNNER_MODULE}.py").write_text(notebooks.RUNNER_SOURCE.read_text())
    timeout = float(layout.notebook_total_s) + 15.0
    observe = getattr(layout, "observe", None)
    worker_config = None
    if observe is not None:  # Note [Observation] in grader/worker/observe.py
        worker_config = observe.stage(root)
    for path, modules in by_notebook.items():
        cells = read(path)
        observed = observe is not None and observe.notebook in modules
        # An observed notebook is executed by its own module, once the judge has sent the
        # data its helpers hand out (grader/checks/observe.py); run here, before that, its cells
        # would only fail.  Its module of definitions stays as it is.
        mode = "definitions" if observed else layout.notebook_mode
        prog = notebooks.program(cells, mode)
        setup = getattr(layout, "notebook_setup", "")
        if setup:  # Note [Notebook setup] in grader/submission/notebook.py
            prog.units.insert(0, (0, setup))
        relative = Path(layout.files.get(modules[0], modules[0] + ".py"))
        target = root / package / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        for folder in [target.parent, *target.parent.parents]:
            if folder == root:
                break
            (folder / "__init__.py").touch()
        target.write_text(notebooks.module_source(prog, mode=mode, notebook=path.name,
                                                  cell_s=layout.notebook_cell_s,
                                                  total_s=layout.notebook_total_s,
                                                  observe=worker_config))
        import_name = f"{package}." + ".".join(relative.with_suffix("").parts)
        if observed:
            result.observed[observe.notebook] = observe.generate(
                cells, path.name, root, package, setup, notebooks.module_source, worker_config)
        what = (f"{prog.kept} definitions" if mode == "definitions"
                else f"{prog.kept} code cells, run in order")
        result.notes.append(f"{', '.join(modules)}: graded from {path.name} "
                            f"({mode} mode: {what}"
                            + ("; every cell is run when a check needs what they hand the "
                               "course's helpers" if observed else "") + ")")
        result.notes.extend(f"{path.name}: {note}" for note in prog.notes)
        for module in modules:
            result.modules[module] = import_name
            result.files[module] = path.name
            result.import_timeouts[module] = timeout
    return result


# Note [What an ungradable submission holds]
# A submission with no Python file was said in the same words whatever it held: "no Python
# files found in carl.zip" for a zip with nothing in it, "no Python files found in dan" for a
# folder holding only a README that points to a drive link.  The instructor reading the
# batch's summary or grades (and the student reading the report) could not tell an upload
# that went wrong from work handed in the wrong form without opening each one.  So the
# message ends with what was there: ", which is empty", or ", which holds only README.md"
# (the first three files, then how many more), after the zips inside (Note [A zip inside
# the submission]), which say more when there are any.  File names only, never contents.
# Python files none of which the course names ("none of the assignment's files (...) were
# found", a `grade check my_layers.py`) are named the same way, with what to do.
def _what_it_holds(root: Path) -> str:
    """", which is empty" or ", which holds only a, b" (Note [What an ungradable submission
    holds])."""
    held = sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                  if p.is_file() and not _skipped(p.relative_to(root).parts))
    if not held:
        return ", which is empty"
    return ", which holds only " + ", ".join(held[:3]) + (
        f" and {len(held) - 3} more files" if len(held) > 3 else "")


# Note [A zip inside the submission]
# Students zip their zip: the course asks for `assignment2.zip`, the LMS or the student wraps
# it in another (`submission.zip` holding `assignment2.zip`), or a folder holds the zip it was
# meant to be.  Staging never opens a zip inside a submission (its limits are the outer zip's,
# and an archive of archives is a way around them), so such a hand-in has no Python files, and
# the message said only that ("no Python files found in submission.zip"), which a student who
# can see layers.py in the inner zip cannot act on.  It now names the zips found inside and
# what to hand in instead.
def _zips_inside(root: Path) -> str:
    """", which holds a.zip: ..." when `root` holds zips (Note [A zip inside the submission])."""
    inner = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.zip")
                   if p.is_file() and not _skipped(p.relative_to(root).parts))
    if not inner:
        return ""
    shown = ", ".join(inner[:3]) + (f" and {len(inner) - 3} more" if len(inner) > 3 else "")
    return (f", which holds {shown}: a zip inside a submission is not unpacked; hand in the "
            f"folder of your code, zipped once")


def _lines(count: int) -> str:
    return f"{count} line" if count == 1 else f"{count} lines"


# Note [Answers of the graded notebook]
# Students hand in the whole assignment folder: for pruning, Q1-FCNetworks.ipynb to
# Q6-Pruning.ipynb, each with its own "Inline Question 1".  The rubric's `manual:` points
# (pruning's inline_question_1 and _2) are matched by question name, so every notebook's
# Inline Question 1 was listed with pruning's point beside it, and a question missing from
# the pruning notebook counted as found when another notebook had one of that number.
# Where the assignment is graded from a notebook, its answers are that notebook's (the one
# chosen by Note [Which notebook] in which_notebook.py); where the code is a package and the
# notebooks only hold answers (fc_nets, batchnorm, dropout, cnn), every notebook's.

def _answered(graded: dict[str, Path], found: list[Path]) -> list[Path]:
    """The notebooks whose inline answers belong to this assignment (Note [Answers of the graded
    notebook])."""
    chosen = set(graded.values())
    return [p for p in found if p in chosen] if chosen else found


def _check_versions(graded: dict, found: list[Path], layout: Layout, source_root: Path,
                    read=notebooks.read) -> list[str]:
    """Notes naming the graded notebook among several; OtherVersionError for another course
    version's notebook (grader/submission/which_notebook.py, grader/submission/course_version.py)."""
    if not graded:  # no notebook: neither module imported (Note [What check imports] in grader/cli.py)
        return []
    from . import course_version, which_notebook
    notes = []
    for path in dict.fromkeys(graded.values()):
        if len(found) > 1:
            notes.append(f"graded notebook: {path.relative_to(source_root)} (chosen by its name among "
                         f"{len(found)} notebooks)")
            others = which_notebook.rivals(path, found)
            if others:
                shown = ", ".join(f"{p.relative_to(source_root)} ({_lines(which_notebook.code_lines(p))})"
                                  for p in others)
                notes.append(f"also named as the course's notebook: {shown}; graded the one with the most "
                             f"code of its own ({_lines(which_notebook.code_lines(path))})")
        if layout.other_versions:
            try:
                cells = read(path)
            except notebooks.NotebookError:
                continue  # _stage_notebooks reports it
            code = [text for cell in cells if cell.kind == "code"
                    for text in [notebooks.python_source(cell)[0]] if text]
            try:
                course_version.check(path.name, code, tuple(layout.other_versions))
            except course_version.OtherVersion as exc:
                raise OtherVersionError(str(exc)) from None
    return notes


def _any_name(files: list[Path], source_root: Path, layout: Layout, work: Path):
    """(files, source root, notes): a lone .py under another name as the main file (Note [Any name])."""
    expected = {Path(p).name for p in layout.files.values()} | set(layout.replace) | set(layout.provide)
    if not layout.any_file_name or len(files) != 1 or files[0].name in expected:
        return files, source_root, []
    main = Path(next(iter(layout.files.values()))).name
    folder = work / "renamed"
    folder.mkdir()
    shutil.copyfile(files[0], folder / main)
    return [folder / main], folder, [f"graded {files[0].name} as the assignment's {main}"]


def _definitions_mode(layout: Layout, package_dir: Path, root: Path) -> Generated:
    """Stage the main .py files in definitions mode when the manifest asks (Note [Any name])."""
    import ast
    generated = Generated()
    if layout.python_mode != "definitions":
        return generated
    for module, relative in layout.files.items():
        path = package_dir / relative
        if module in layout.replace or Path(relative).name in layout.replace or not path.is_file():
            continue
        text = path.read_text(errors="replace")
        try:
            ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        prog = notebooks.program([notebooks.Cell(1, "code", text)], "definitions")
        dropped = sum(1 for _ in ast.parse(text).body) - prog.kept
        (root / f"{notebooks.RUNNER_MODULE}.py").write_text(notebooks.RUNNER_SOURCE.read_text())
        path.write_text(notebooks.module_source(prog, mode="definitions", notebook=Path(relative).name,
                                                cell_s=layout.notebook_cell_s, total_s=layout.notebook_total_s))
        generated.import_timeouts[module] = float(layout.notebook_total_s) + 15.0
        if dropped:
            generated.notes.append(f"{Path(relative).name}: read in definitions mode: {prog.kept} "
                                   f"definitions kept, {dropped} other top-level statements (data "
                                   f"loading, training, plots) not run")
    return generated


def _make_world_readable(root: Path) -> None:
    os.chmod(root, 0o755)
    for folder, dirs, names in os.walk(root):
        for d in dirs:
            os.chmod(os.path.join(folder, d), 0o755)
        for n in names:
            os.chmod(os.path.join(folder, n), 0o644)
