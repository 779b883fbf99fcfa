"""Jupyter and Colab notebooks as submissions: read, turn code cells into a module, find answers.

Runs in the judge and never executes a cell: it parses the notebook with
nbformat, rewrites IPython-only syntax, selects what to run, and writes the
source of a module that grader/worker/notebook_cells.py runs *inside the
worker* when the checks import it (Note [Trust boundary] in
grader/worker/client.py).  Staging (grader/submission/stage.py) places that module where
the course keeps the file the notebook stands for.

# Note [Notebook modes]
`definitions` (the default) keeps only top-level imports, `def`s, classes and
simple constant assignments (literals, tuples/lists/dicts of literals, names
already defined or imported, attributes of those), chosen with `ast`.
Training loops, plots, data downloads and `drive.mount(...)` are statements of
another kind and are dropped, so grading takes seconds and does not depend on
data the notebook wanted.  Each kept statement runs on its own: an import that
fails in the worker (`from google.colab import files`, a course helper that is
not there) costs only itself and is reported.  Later definitions override
earlier ones, as when the notebook runs top to bottom.

`execute` runs every code cell in order, as Jupyter would, in the generated
module's own globals, each cell under a per-cell limit and all of them under a
total limit; the checks then grade the resulting namespace.  We chose to
exec() the cells in the worker over running a kernel with nbclient: the
namespace must live in the worker process to be graded through the pipe, a
kernel would be a second untrusted process with its own sockets to confine,
and the worker's sandbox, rlimits and kill-on-timeout already bound
everything a cell can do.  A cell that raises or runs out of time is reported
(cell number, error) and the cells after it still run.

In both modes a cell with a syntax error is skipped with a note naming it;
only the checks that needed what it defined lose points.

# Note [IPython syntax]
Line magics (`%cd`, `%matplotlib inline`, `%load_ext autoreload`), shell lines
(`!pip install`, `!git clone`), `x = !ls` and help lines (`np.zeros?`) are not
Python.  They are rewritten to `pass` (or `x = []`) keeping the line count, so
tracebacks point at the cell's own lines.  The rewrite is applied only to a
cell that does not parse as it is, so a docstring line that happens to start
with `%` is left alone in an ordinary cell.  Cell magics: `%%time`,
`%%timeit` and `%%capture` cells run their body; any other (`%%bash`,
`%%writefile`, `%%html`) is skipped with a note.  `google.colab` is replaced
by a do-nothing stand-in in the worker, so `drive.mount(...)` and
`files.view(...)` do nothing wherever they appear.

# Note [Notebook setup]
Course notebooks set globals their functions read in statements definitions
mode drops: the PyTorch notebook chooses `device` in an `if USE_GPU ...:`
block that `random_weight` then uses.  The manifest's `notebook_setup` is
course code (trusted text, run in the worker like the cells) that the
generated module runs first, in both modes, as "cell 0"; the notebook's own
definitions still override it, as they would when run top to bottom.

# Note [Inline answers]
cs231n-style notebooks ask "Inline Question N" in a markdown cell and expect
the answer after an "Answer:" / "Your Answer:" marker, in the same cell or in
the markdown cells that follow (until the next code cell, question or course
section: Note [Where an answer ends]).  They
are collected, placeholders such as "*fill this in*" count as unanswered, and
the result carries them for manual grading with the points the rubric's
`manual:` table sets aside.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

MODES = ("definitions", "execute")
RUNNER_MODULE = "_grader_notebook"  # grader/worker/notebook_cells.py, staged under this name
RUNNER_SOURCE = Path(__file__).resolve().parents[1] / "worker" / "notebook_cells.py"
OBSERVE_MODULE = "_grader_observe"  # grader/worker/observe.py, staged under this name
BODY_CELL_MAGICS = {"time", "timeit", "capture", "prun"}
MAX_CELLS = 2000
MAX_SOURCE_CHARS = 2_000_000


class NotebookError(Exception):
    """The file is not a readable notebook (raised as a SubmissionError by staging)."""


@dataclass(frozen=True)
class Cell:
    number: int        # 1-based position in the notebook, counting every cell
    kind: str          # "code", "markdown", "raw"
    source: str


@dataclass(frozen=True)
class Answer:
    question: str      # "inline_question_2"
    prompt: str        # the question as the notebook asks it
    answer: str        # "" when unanswered
    notebook: str = ""


@dataclass
class Program:
    """What the worker will run: (cell number, source) units, and what was left out."""
    units: list[tuple[int, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    kept: int = 0      # statements kept (definitions mode) or cells kept (execute mode)


# Note [Reader warmed once]
# nbformat's first `read` in a process pays for importing nbformat (jsonschema, its
# validators) and for loading and compiling the notebook schema: about 0.2 s on this
# project's 2-core machine, where a later read of the same notebook takes 3-5 ms.  A batch
# job is a fork of its job template (grader/batch/template.py), so the template calls
# `warm_reader` once, reading a minimal notebook of its own: every job then starts with a
# warm reader.  It is only a cache: a job whose template did not warm it reads as before.

def warm_reader() -> None:
    """Import nbformat and load its schema once, in a process that will fork readers
    (Note [Reader warmed once])."""
    import io

    import nbformat
    nbformat.read(io.StringIO('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'),
                  as_version=4)


# Note [Huge notebooks]
# nbformat's reader validates the whole document against its JSON schema in Python: a 57 MB
# notebook of 600,000 one-line cells took 48 s and 1 GB of the judge's memory to read, one
# of 35 MB holding a single cell with 600,000 outputs 34 s, for text the grader never looks
# at (it reads the first MAX_CELLS cells' type and source).  So the file is parsed with
# `json` first (about a second for the same files), and nbformat is handed a slim copy: the
# first MAX_CELLS cells (of each v3 worksheet too), each without outputs, attachments or
# metadata, and no notebook metadata.  nbformat still converts old versions and refuses
# what is not a notebook, with the same reasons as before, on a document whose size is
# bounded by the cells the grader reads.
def _slim(document):
    """`document` with only what `read` keeps, for nbformat (Note [Huge notebooks])."""
    if not isinstance(document, dict):
        return document
    slim = {key: value for key, value in document.items() if key not in ("cells", "worksheets")}
    slim["metadata"] = {}
    if isinstance(document.get("cells"), list):
        slim["cells"] = [_slim_cell(c) for c in document["cells"][:MAX_CELLS]]
        if _ids_required(document):  # Note [Cells without ids]
            for number, cell in enumerate(slim["cells"], 1):
                if isinstance(cell, dict) and "id" not in cell:
                    cell["id"] = f"grader-cell-{number}"
    elif "cells" in document:
        slim["cells"] = document["cells"]
    if isinstance(document.get("worksheets"), list):
        slim["worksheets"] = [dict(w, cells=[_slim_cell(c) for c in w["cells"][:MAX_CELLS]])
                              if isinstance(w, dict) and isinstance(w.get("cells"), list) else w
                              for w in document["worksheets"][:MAX_CELLS]]
    return slim


# Note [Cells without ids]
# nbformat 4.5 gives every cell an `id`; a notebook that says it is 4.5 or later and has cells
# without one (written by hand, by a script, or by an editor that kept the version and dropped
# the ids) was read with nbformat's MissingIDFieldWarning on the grader's output, which says it
# "will become a hard error in future nbformat versions": the day it does, such a notebook
# would be refused as unreadable.  The grader never reads ids, so the slim copy nbformat
# validates gives each cell that lacks one an id of its own (`grader-cell-N`, unique within the
# notebook); before 4.5 an id is not allowed and none is added.
def _ids_required(document: dict) -> bool:
    version = (document.get("nbformat"), document.get("nbformat_minor"))
    return all(isinstance(v, int) for v in version) and version >= (4, 5)


def _slim_cell(cell):
    if not isinstance(cell, dict):
        return cell
    slim = {key: value for key, value in cell.items() if key not in ("outputs", "attachments")}
    slim["metadata"] = {}
    if "outputs" in cell:
        slim["outputs"] = []
    return slim


def read(path: Path) -> list[Cell]:
    """The notebook's cells; NotebookError with a reason if it is not a notebook."""
    import json

    import nbformat
    path = Path(path)
    try:
        if path.stat().st_size > 64 << 20:
            raise NotebookError(f"{path.name} is larger than 64 MiB")
        document = _slim(json.loads(path.read_bytes()))  # Note [Huge notebooks]
        notebook = nbformat.reads(json.dumps(document), as_version=4)
    except NotebookError:
        raise
    except Exception as exc:  # JSON errors, NotJSONError, validation errors, bad encodings
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise NotebookError(f"{path.name} is not a readable Jupyter notebook ({reason})") from None
    cells = notebook.get("cells")
    if not isinstance(cells, list):
        raise NotebookError(f"{path.name} is not a readable Jupyter notebook (no cell list)")
    result = []
    for number, cell in enumerate(cells[:MAX_CELLS], start=1):
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(str(s) for s in source)
        result.append(Cell(number, str(cell.get("cell_type", "")), str(source)[:MAX_SOURCE_CHARS]))
    return result


# -- IPython syntax (Note [IPython syntax]) -------------------------------------------------------

# Note [Linear-time text]
# Every pattern applied to student text (cells, answers, sources, messages) must run in
# time linear in its length: a notebook cell may hold megabytes, and a pattern that
# backtracks (two quantifiers that can match the same characters, one after the other,
# retried at every start) keeps the judge busy for hours on one crafted line.  So the
# patterns here are anchored with no overlapping quantifiers, and trailing decoration
# and `name = !cmd` are taken apart with str methods.  tests/grader/submission/test_notebook.py
# runs each on megabyte inputs.
_MAGIC_LINE = re.compile(r"^(\s*)(?:[%!]|\?\s*$)")
_SHELL_TARGET = re.compile(r"(\s*)([A-Za-z_][\w, ]*)")
_HELP_LINE = re.compile(r"^(\s*)[\w.]+\?{1,2}\s*$")


def _shell_assign(line: str) -> tuple[str, str] | None:
    """(indent, targets) of `targets = !cmd` / `targets = %magic`, else None (linear time)."""
    left, equals, right = line.partition("=")
    if not equals or not right.lstrip().startswith(("%", "!")):
        return None
    match = _SHELL_TARGET.fullmatch(left.rstrip())
    return (match.group(1), match.group(2).rstrip()) if match else None


def python_source(cell: Cell) -> tuple[str | None, str]:
    """(Python source of a code cell, note); source None when the cell is skipped."""
    text, note, _ = _source_and_tree(cell)
    return text, note


def _source_and_tree(cell: Cell) -> tuple[str | None, str, ast.Module | None]:
    """python_source's (source, note) and the source's tree when it parsed as it is (None when
    it was rewritten: Note [Parsed once])."""
    text = cell.source
    first, _, body = text.partition("\n")
    if first.lstrip().startswith("%%"):
        magic = first.strip()[2:].split(maxsplit=1)[0] if first.strip()[2:] else ""
        if magic not in BODY_CELL_MAGICS:
            return None, f"cell {cell.number}: skipped its %%{magic} cell magic", None
        text = "\n" + body  # keep line numbers
    tree = _parse(text)
    if tree is not None:
        return text, "", tree
    lines, rewritten, continued = text.split("\n"), [], False
    for line in lines:
        if continued:
            rewritten.append("")
            continued = line.rstrip().endswith("\\")
            continue
        shell_assign = _shell_assign(line)  # Note [Linear-time text]
        if shell_assign:
            rewritten.append(f"{shell_assign[0]}{shell_assign[1]} = []")
        elif _MAGIC_LINE.match(line) or _HELP_LINE.match(line):
            indent = re.match(r"\s*", line).group(0)
            rewritten.append(f"{indent}pass")
        else:
            rewritten.append(line)
            continue
        continued = line.rstrip().endswith("\\")
    return "\n".join(rewritten), "", None


def _parse(text: str) -> ast.Module | None:
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _parses(text: str) -> bool:
    try:
        ast.parse(text)
        return True
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False


def _syntax_note(cell: Cell, text: str) -> str:
    try:
        ast.parse(text)
    except SyntaxError as exc:
        shown = (exc.text or "").strip()
        return (f"cell {cell.number} was skipped: SyntaxError at line {exc.lineno}: {exc.msg}"
                + (f" ({shown[:80]})" if shown else ""))
    except (ValueError, RecursionError, MemoryError) as exc:
        return f"cell {cell.number} was skipped: it cannot be parsed ({type(exc).__name__})"
    return f"cell {cell.number} was skipped"


# -- choosing what runs (Note [Notebook modes]) ---------------------------------------------------

# Note [Parsed once]
# Parsing is most of what staging a notebook costs (ast.parse of every code cell: about 7 ms
# of a 40-cell notebook's 11 ms).  A cell used to be parsed twice, once to learn whether it
# needs the IPython rewrite (python_source) and once more for its statements (program); now
# the tree of the first parse is kept when the cell parsed as it is, and only a rewritten
# cell is parsed again.  Same units, same notes.  Each kept definition's own text is still
# parsed alone (it must stand on its own lines).  Staging reads each notebook once too
# (grader/submission/stage.py's `_Cells`), not once for its code and again for its answers.

def program(cells: list[Cell], mode: str) -> Program:
    if mode not in MODES:
        raise ValueError(f"notebook mode must be one of {', '.join(MODES)}, not {mode!r}")
    result = Program()
    defined: set[str] = set()
    for cell in cells:
        if cell.kind != "code" or not cell.source.strip():
            continue
        text, note, tree = _source_and_tree(cell)  # Note [Parsed once]
        if note:
            result.notes.append(note)
        if text is None:
            continue
        if tree is None:
            tree = _parse(text)
        if tree is None:
            result.notes.append(_syntax_note(cell, text))
            continue
        if mode == "execute":
            result.units.append((cell.number, text))
            result.kept += 1
            continue
        lines = text.split("\n")
        for node in tree.body:
            if not _is_definition(node, defined):
                continue
            defined.update(_bound_names(node))
            start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
            segment = "\n".join(lines[start - 1:node.end_lineno])
            if node.col_offset or not _parses(segment):  # shares a line with another statement
                segment = ast.unparse(node)
                start = 1
            result.units.append((cell.number, "\n" * (start - 1) + segment))
            result.kept += 1
    return result


def _is_definition(node: ast.stmt, defined: set[str]) -> bool:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import,
                         ast.ImportFrom)):
        return True
    if isinstance(node, ast.Assign):
        return all(_is_name_target(t) for t in node.targets) and _is_simple(node.value, defined)
    if isinstance(node, ast.AnnAssign):
        return (isinstance(node.target, ast.Name) and node.value is not None
                and _is_simple(node.value, defined))
    return False


def _is_name_target(target: ast.expr) -> bool:
    if isinstance(target, ast.Name):
        return True
    return isinstance(target, (ast.Tuple, ast.List)) and all(_is_name_target(e) for e in target.elts)


def _is_simple(value: ast.expr, defined: set[str]) -> bool:
    """Literals, containers of literals, defined or imported names and their attributes."""
    if isinstance(value, ast.Constant):
        return True
    if isinstance(value, (ast.Tuple, ast.List, ast.Set)):
        return all(_is_simple(e, defined) for e in value.elts)
    if isinstance(value, ast.Dict):
        return all(k is not None and _is_simple(k, defined) for k in value.keys) and all(
            _is_simple(v, defined) for v in value.values)
    if isinstance(value, ast.UnaryOp):
        return _is_simple(value.operand, defined)
    if isinstance(value, ast.BinOp):
        return _is_literal(value.left) and _is_literal(value.right)
    if isinstance(value, ast.Name):
        return value.id in defined
    if isinstance(value, ast.Attribute):
        return _is_simple(value.value, defined) and not isinstance(value.value, ast.Constant)
    return False


def _is_literal(value: ast.expr) -> bool:
    if isinstance(value, ast.Constant):
        return isinstance(value.value, (int, float, complex)) and not isinstance(value.value, bool)
    if isinstance(value, ast.UnaryOp):
        return _is_literal(value.operand)
    if isinstance(value, ast.BinOp):
        return _is_literal(value.left) and _is_literal(value.right)
    return False


def _bound_names(node: ast.stmt) -> set[str]:
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}


def module_source(prog: Program, *, mode: str, notebook: str, cell_s: float, total_s: float,
                  observe: dict | None = None) -> str:
    """The staged module: the kept units as data, run by the runner in this module's globals.
    With `observe` (grader/checks/observe.py's worker config) the course's stand-ins are installed
    first (Note [Observation] in grader/worker/observe.py)."""
    install = (f"import {OBSERVE_MODULE} as _grader_observed\n"
               f"_grader_observed.install({observe!r})\n"
               f"del _grader_observed\n") if observe is not None else ""
    return (f"# Generated by the grader from {notebook!r} ({mode} mode); see grader/submission/notebook.py.\n"
            + install +
            f"import {RUNNER_MODULE} as _grader_runner\n"
            f"_grader_runner.run(globals(), {prog.units!r}, mode={mode!r}, notebook={notebook!r}, "
            f"cell_s={float(cell_s)!r}, total_s={float(total_s)!r})\n"
            f"del _grader_runner\n")


def units_in_module(source: str) -> list[tuple[int, str]] | None:
    """The units a module written by `module_source` runs, read back from its text (None for
    any other source): what the notebook's code is, for readers of the staged files such as
    grader/batch/similarity.py.  Nothing is run: the units are a literal."""
    if not source.startswith("# Generated by the grader from "):
        return None
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    for node in tree.body:
        call = node.value if isinstance(node, ast.Expr) else None
        if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                and call.func.attr == "run" and isinstance(call.func.value, ast.Name)
                and call.func.value.id == "_grader_runner" and len(call.args) >= 2):
            try:
                units = ast.literal_eval(call.args[1])
            except (ValueError, SyntaxError, RecursionError):
                return None
            return [(int(n), str(text)) for n, text in units] if isinstance(units, list) else None
    return None


# -- inline answers (Note [Inline answers]) -------------------------------------------------------

_QUESTION = re.compile(r"inline\s+question\s*(\d+)\s*[:.]?", re.IGNORECASE)
_ANSWER = re.compile(r"(?:your\s+)?answer\s*:", re.IGNORECASE)
_PLACEHOLDERS = re.compile(r"^\W*(fill\s+this\s+in|your\s+answer\s+here|fill\s+(?:your?\s+)?answer\s+here|todo)"
                          r"\W*$", re.IGNORECASE)  # ECE562's "[FILL YOUR ANSWER HERE]" (and "FILL YOU")
_DECORATION = re.compile(r"\$\s*\\color\{\w+\}\{\\textit\s*|\}\s*\$|^[#*\s>]+")  # Note [Linear-time text]


def answers(cells: list[Cell], notebook: str = "") -> list[Answer]:
    found: list[Answer] = []
    current: dict | None = None

    def close() -> None:
        if current is not None:
            text = _clean("\n\n".join(current["answer"]))
            found.append(Answer(f"inline_question_{current['n']}", _clean(current["prompt"]),
                                "" if _PLACEHOLDERS.match(text or "-") or not text else text, notebook))

    for cell in cells:
        if cell.kind == "code":
            if current is not None and current["answering"]:
                close()
                current = None
            continue
        if cell.kind != "markdown":
            continue
        question = _QUESTION.search(cell.source)
        if question:
            close()
            rest = cell.source[question.end():]
            marker = _ANSWER.search(rest)
            current = {"n": int(question.group(1)), "prompt": rest[:marker.start()] if marker else rest,
                       "answer": [rest[marker.end():]] if marker else [], "answering": bool(marker),
                       "level": _question_level(cell.source, question.start())}
        elif current is not None:
            marker = _ANSWER.search(cell.source)
            level = _heading_level(cell.source)
            if not marker and level and (current["level"] is None or level <= current["level"]):
                close()  # the course's next section (Note [Where an answer ends])
                current = None
            elif not current["answering"] and marker:
                current["answering"] = True
                current["answer"].append(cell.source[marker.end():])
            elif current["answering"]:
                current["answer"].append(cell.source)
            else:
                current["prompt"] += "\n\n" + cell.source
    close()
    return found


# Note [Where an answer ends]
# An answer runs from its marker over the markdown cells that follow, until the next code
# cell or question: students continue an answer in cells of their own, sub-headings included.
# But the course's next section is markdown too: ECE562's "## Answer:" cell is followed by
# "## Structured Pruning" and its text, cs231n's question cells by "# Batch normalization
# and batch size" and its text, before any code; those sections were read as the answer,
# so every answer carried course text and an unanswered question ("[FILL YOUR ANSWER HERE]"
# plus the next section) counted as answered.  So a markdown cell that opens with a heading
# at the question's level or above (`##` under a `## Inline Question`, any heading under a
# question that is not itself a heading) ends the answer, as a heading of that level ends a
# section in any outline; a deeper heading (`###` under `##`) continues it.  A cell holding
# an answer marker ("## Answer:") is never such an end.


def _heading_level(text: str) -> int | None:
    """The level of the heading `text` opens with (`## Part` -> 2), None if it opens otherwise
    (str methods only: Note [Linear-time text])."""
    stripped = text.lstrip()
    line = stripped[:stripped.find("\n")] if "\n" in stripped else stripped
    level = len(line) - len(line.lstrip("#"))
    return level if 1 <= level <= 6 and line[level:level + 1] in (" ", "\t", "") else None


def _question_level(text: str, start: int) -> int | None:
    """The heading level of the line where a question starts at `start` (`## Inline Question 1`
    -> 2), None when that line is not a heading (`**Inline Question 1:**`)."""
    prefix = text[text.rfind("\n", 0, start) + 1:start].strip()
    level = len(prefix) - len(prefix.lstrip("#"))
    return level if 1 <= level <= 6 and not prefix.lstrip("#").strip(" *_") else None


def _without_trailing_stars(line: str) -> str:
    """`line` less its trailing run of `*` and white space (a regex `[*\\s]+$` is quadratic)."""
    end = len(line)
    while end and (line[end - 1] == "*" or line[end - 1].isspace()):
        end -= 1
    return line[:end]


def _clean(text: str) -> str:
    lines = [_without_trailing_stars(_DECORATION.sub("", line)).strip()
             for line in text.strip().split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# -- what staging reads of notebooks (grader/submission/stage.py, Note [Staging]) --------------

def headings(cells: list[Cell]) -> dict[int, list[str]]:
    """Code cell number -> the markdown headings above it, nearest last (the section a course
    notebook puts the cell in: "Unstructured Pruning", "Part III"...)."""
    found, current = {}, []
    for cell in cells:
        if cell.kind == "markdown":
            current = current + [line.strip("# \t") for line in cell.source.splitlines()
                                 if line.lstrip().startswith("#") and line.strip("# \t")]
        elif cell.kind == "code":
            found[cell.number] = current[-12:]
    return found


def graded(notebooks: list[Path], python_files: list[Path], patterns: dict[str, str],
           course_files: dict[str, str], names: tuple[str, ...] = ()) -> dict[str, Path]:
    """Course module -> the notebook that stands for it, where no .py file does; among several,
    the one named as the course names it (grader/submission/which_notebook.py, Note [Which notebook])."""
    import fnmatch

    from .which_notebook import choose, normalized
    submitted = {p.name for p in python_files}
    chosen = {}
    for module, pattern in patterns.items():
        if Path(course_files.get(module, module + ".py")).name in submitted:
            continue
        # A list of patterns is tried in order (the names a course used across years first,
        # then a catch-all); several matches of one pattern are told apart by the course's
        # names (grader/submission/which_notebook.py), never by alphabetical order.
        tried = [pattern] if isinstance(pattern, str) else list(pattern)
        for one in tried:
            matching = [p for p in notebooks if fnmatch.fnmatch(p.name.lower(), str(one).lower())]
            if matching:  # and the notebooks of the same name that the pattern's spelling missed
                same = {normalized(p.name) for p in matching}
                matching += [p for p in notebooks if p not in matching and normalized(p.name) in same]
                chosen[module] = choose(matching, names)
                break
    return chosen


def collect_answers(notebooks: list[Path], root: Path,
                    reader=None) -> tuple[list[Answer], list[str]]:
    """Inline answers of every notebook; a notebook that cannot be read is a note here.
    `reader` reads a notebook's cells (default `read`; Note [Parsed once])."""
    found, notes = [], []
    for path in notebooks:
        try:
            found += answers((reader or read)(path), str(path.relative_to(root)))
        except NotebookError as exc:
            notes.append(f"inline answers not read: {exc}")
    return found, notes
