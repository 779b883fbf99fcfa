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
  skipped.
- Note [Any name]: an assignment whose students hand in one file of their own
  naming (the IST597 lab, `CNN_assignment4.py`) sets `any_file_name`: a
  submission holding exactly one `.py` file and none of the expected names is
  staged as the main file, with a note.  `python_mode: definitions` stages
  the main file through grader/notebook.py's definitions mode (Note
  [Notebook modes]) as a one-cell notebook, so a script that loads data and
  trains at module level has only its imports, functions, classes and
  constants run; a file that does not parse is staged as it is, so its
  syntax error is reported as usual.
- Notebooks (`.ipynb`, alone or inside a folder or zip): a course module that
  the manifest maps to a notebook pattern (`Layout.notebooks`, e.g.
  `{layers: "*.ipynb"}`) and that is not submitted as a `.py` file is staged
  as a module generated from the notebook (grader/notebook.py, Note [Notebook
  modes]); modules mapped to the same notebook share one generated module.
  Every notebook found is also read for its inline answers, including the
  cs231n ones whose code lives in the `.py` files.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

REFERENCE_COURSE_DIR = Path(__file__).resolve().parent.parent / "reference" / "cs231n"
SKIPPED_PARTS = {"__MACOSX", "__pycache__", ".ipynb_checkpoints", ".git"}
MAX_ZIP_MEMBERS = 5000
MAX_ZIP_BYTES = 256 << 20


class SubmissionError(Exception):
    """The submission cannot be graded at all (nothing found, corrupt zip...)."""


class OtherVersionError(SubmissionError):
    """The notebook is of another version of the course (grader/course_version.py)."""


@dataclass(frozen=True)
class Layout:
    """What the assignment expects: course module name -> path inside the package."""
    files: dict[str, str]
    default_package: str = "cs231n"
    replace: tuple[str, ...] = ()
    provide: tuple[str, ...] = ()
    course_dir: Path | None = None   # where replace/provide copy from; None: REFERENCE_COURSE_DIR
    notebooks: dict[str, str] = field(default_factory=dict)  # course module -> notebook name pattern
    notebook_mode: str = "definitions"                       # or "execute" (grader/notebook.py)
    notebook_cell_s: float = 10.0                             # per-cell limit in the worker
    notebook_total_s: float = 60.0                            # limit for all cells together
    notebook_setup: str = ""   # course code run before a notebook's cells (Note [Notebook setup])
    any_file_name: bool = False   # a lone .py stands for the main file whatever its name (Note [Any name])
    python_mode: str = ""         # "definitions": .py files run as a notebook in that mode (Note [Any name])
    notebook_names: tuple[str, ...] = ()   # the course's names for its notebook (Note [Which notebook])
    other_versions: tuple = ()    # grader.course_version.Version entries (Note [Other versions])


@dataclass
class Staged:
    """A staged submission, ready to be mounted into a worker."""
    root: Path                       # folder to mount; the package is root/<package>
    package: str
    modules: dict[str, str]          # course module name -> import name
    files: dict[str, str]            # course module name -> path as the student named it
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    answers: list = field(default_factory=list)          # grader.notebook.Answer, every notebook
    import_timeouts: dict[str, float] = field(default_factory=dict)  # course module -> seconds
    # course module -> its source text as staged, read before any student code ran, for checks
    # that read code (a static check must not see a file the submission rewrote at run time)
    sources: dict[str, str] = field(default_factory=dict)

    def cleanup(self) -> None:
        shutil.rmtree(self.root.parent, ignore_errors=True)  # the whole grader-stage-* folder


def _skipped(parts) -> bool:
    return any(part in SKIPPED_PARTS or part.startswith("._") for part in parts)


def extract_zip(path: Path, into: Path) -> None:
    """Extract `path` into `into`, refusing anything unsafe (see Note [Staging])."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
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
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with archive.open(member) as source, open(target, "wb") as sink:
                    shutil.copyfileobj(source, sink)
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                raise SubmissionError(f"{path.name}: cannot read {member.filename!r} ({exc})") from None


def _python_files(root: Path) -> list[Path]:
    found = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if not _skipped(relative.parts) and path.is_file() and not path.is_symlink():
            found.append(path)
    return found


def _find_anchor(files: list[Path], root: Path, layout: Layout) -> tuple[Path, str]:
    """The folder that plays the course package, and the main file's course name."""
    basenames = {Path(p).name: name for name, p in layout.files.items()}
    candidates = []
    for path in files:
        if path.name in basenames:
            course_path = Path(layout.files[basenames[path.name]])
            anchor = path.parent
            # classifiers/fc_net.py inside the package: the anchor is its grandparent
            for _ in course_path.parent.parts:
                if anchor.name == course_path.parent.name and anchor != root:
                    anchor = anchor.parent
            candidates.append((len(anchor.relative_to(root).parts), str(anchor), basenames[path.name]))
    if not candidates:
        wanted = ", ".join(sorted(basenames))
        raise SubmissionError(f"none of the assignment's files ({wanted}) were found")
    depth, anchor, name = min(candidates)
    return Path(anchor), name


_ABSOLUTE_IMPORT = re.compile(r"^\s*(?:from|import)\s+([A-Za-z_]\w*)\.(\w+)", re.MULTILINE)
_RELATIVE_IMPORT = re.compile(r"^\s*from\s+\.", re.MULTILINE)


def _package_name(anchor: Path, root: Path, sources: dict[Path, str], layout: Layout) -> str:
    course_modules = {Path(p).stem for p in layout.files.values()} | {"classifiers"}
    used = {}
    for text in sources.values():
        for package, module in _ABSOLUTE_IMPORT.findall(text):
            if module in course_modules:
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
    from . import notebook as notebooks
    files, source_root, renamed = _any_name(files, source_root, layout, work)
    found_notebooks = notebooks.find(source_root, _skipped)
    from .which_notebook import NoNotebook
    try:
        graded = notebooks.graded(found_notebooks, files, layout.notebooks, layout.files,
                                  layout.notebook_names)
    except NoNotebook as exc:
        raise SubmissionError(str(exc)) from None
    chosen_notes = _check_versions(graded, found_notebooks, layout, source_root, notebooks)
    if not files and not graded:
        raise SubmissionError(f"no Python files found in {submission.name}" + (
            " (notebooks are graded only for assignments whose manifest maps a module to one)"
            if found_notebooks else ""))
    try:
        anchor, _ = _find_anchor(files, source_root, layout)
    except SubmissionError:
        if not graded:
            raise
        anchor = min(graded.values(), key=lambda p: (len(p.parts), str(p))).parent
    sources = {p: p.read_text(errors="replace") for p in files if anchor in p.parents}
    package = _package_name(anchor, source_root, sources, layout)
    root = work / "staged"
    package_dir = root / package
    package_dir.mkdir(parents=True)
    by_basename = {Path(p).name: p for p in layout.files.values()}
    for path in sources:
        relative = path.relative_to(anchor)
        if len(relative.parts) == 1 and relative.name in by_basename:
            relative = Path(by_basename[relative.name])  # a loose fc_net.py goes to classifiers/
        target = package_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    notes = list(renamed) + chosen_notes
    definitions = _definitions_mode(layout, package_dir, root, notebooks)
    notes += definitions.notes
    for folder in [package_dir, *[p for p in package_dir.rglob("*") if p.is_dir()]]:
        init = folder / "__init__.py"
        if init.exists() and init.read_text(errors="replace").strip():
            notes.append(f"replaced {init.relative_to(root)} with an empty one")
        init.write_text("")
    for name in layout.replace + layout.provide:
        target = package_dir / name
        if name in layout.provide and target.exists():
            continue
        if target.exists():
            notes.append(f"used the course's {name} in place of the submitted one")
        else:
            notes.append(f"supplied the course's {name}")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile((layout.course_dir or REFERENCE_COURSE_DIR) / name, target)
    try:
        generated = notebooks.stage_modules(graded, layout, package, root)
    except notebooks.NotebookError as exc:
        raise SubmissionError(str(exc)) from None
    notes += generated.notes
    answers, answer_notes = notebooks.collect_answers(found_notebooks, source_root)
    notes += answer_notes
    _make_world_readable(work)
    modules = {name: f"{package}." + str(Path(path).with_suffix("")).replace(os.sep, ".")
               for name, path in layout.files.items()}
    modules.update(generated.modules)
    shown = dict(layout.files, **generated.files)
    missing = [name for name, path in layout.files.items()
               if not (package_dir / path).exists() and name not in generated.modules]
    staged_sources = {name: (package_dir / path).read_text(errors="replace")
                      for name, path in layout.files.items() if (package_dir / path).is_file()}
    return Staged(root, package, modules, shown, missing, notes, answers,
                  {**definitions.import_timeouts, **generated.import_timeouts}, staged_sources)


def _check_versions(graded: dict, found: list[Path], layout: Layout, source_root: Path,
                    notebooks) -> list[str]:
    """Notes naming the graded notebook among several; OtherVersionError for another course
    version's notebook (grader/which_notebook.py, grader/course_version.py)."""
    from . import course_version
    notes = []
    for path in dict.fromkeys(graded.values()):
        if len(found) > 1:
            notes.append(f"graded notebook: {path.relative_to(source_root)} (chosen by its name among "
                         f"{len(found)} notebooks)")
        if layout.other_versions:
            try:
                cells = notebooks.read(path)
            except notebooks.NotebookError:
                continue  # stage_modules reports it
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


def _definitions_mode(layout: Layout, package_dir: Path, root: Path, notebooks):
    """Stage the main .py files in definitions mode when the manifest asks (Note [Any name])."""
    import ast
    generated = notebooks.Generated()
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
