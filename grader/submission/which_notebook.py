"""Which notebook of a submission is the assignment's, when a folder or zip holds several.

Why it exists: students zip their whole assignment folder, so one submission
often holds every notebook of the course (`BatchNormalization.ipynb`,
`Dropout.ipynb`, `PyTorch.ipynb`, ...).  Taking the first in alphabetical
order graded `BatchNormalization.ipynb` as the PyTorch assignment.  Each
manifest lists the names the course gave its notebook across years
(`notebook_names`); this module picks by those names and nothing else.

# Note [Which notebook]
- One notebook matching the manifest's pattern: that one, whatever its name.
- Several: the one whose name is among the manifest's `notebook_names`, in
  that list's order of preference, shallowest first; names are compared
  without case, spaces, `-` or `_`, and without Colab's "Copy of " prefix or a
  download's " (1)" suffix, so `Copy of Q5-PyTorch (2).ipynb` is Q5-Pytorch.
- Several of the same name at the same depth (the course's stub `Q6-Pruning.ipynb` uploaded
  beside the student's `Q6_Pruning.ipynb`, which compare equal): the one with the most code of
  its own (code-cell lines that are not blank, comments, magics or shell lines), so a stub with
  empty TODO blocks is never graded in place of the work beside it; the notes name the others
  (`rivals`).  Before, the alphabet chose, and a real submission got 0 / 15 from the stub.
- Several and none of those names: no guess.  `NoNotebook` names the
  notebooks found and the names expected; staging reports it as a
  submission error (exit 2).
The graded notebook is named in the result's notes either way.
"""

from __future__ import annotations

import json
import re
from pathlib import Path


class NoNotebook(Exception):
    """Several notebooks and none named as the course names this assignment's."""


_COPY = re.compile(r"^copy\s+of\s+", re.IGNORECASE)
_DOWNLOAD = re.compile(r"\s*\(\d+\)$")


def normalized(name: str) -> str:
    """A notebook name as Note [Which notebook] compares it."""
    stem = Path(name).name
    stem = stem[:-len(".ipynb")] if stem.lower().endswith(".ipynb") else stem
    stem = _DOWNLOAD.sub("", _COPY.sub("", stem.strip()))
    return re.sub(r"[\s_\-]+", "", stem).lower()


def code_lines(path: Path) -> int:
    """Lines of a notebook's code cells that are code: not blank, a comment, a magic or a shell line
    (0 for a file that is not a readable notebook)."""
    try:  # the bounds of grader/submission/notebook.py's `read` (Note [Huge notebooks] there)
        if path.stat().st_size > 64 << 20:
            return 0
        cells = json.loads(path.read_text(errors="replace")).get("cells", [])
    except (OSError, ValueError, AttributeError, RecursionError):
        return 0
    count = 0
    for cell in cells if isinstance(cells, list) else []:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        count += sum(1 for line in source.splitlines()
                     if line.strip() and not line.strip().startswith(("#", "%", "!")))
    return count


def rivals(chosen: Path, matching: list[Path]) -> list[Path]:
    """The other notebooks of `chosen`'s name at its depth (Note [Which notebook])."""
    return [p for p in matching if p != chosen and normalized(p.name) == normalized(chosen.name)
            and len(p.parts) == len(chosen.parts)]


def choose(matching: list[Path], names: tuple[str, ...] | list[str], root: Path | None = None) -> Path:
    """The assignment's notebook among `matching` (shallowest first); Note [Which notebook]."""
    if len(matching) == 1:
        return matching[0]
    wanted = [normalized(n) for n in names]
    ranked = [(wanted.index(normalized(p.name)), len(p.parts), index, p) for index, p in enumerate(matching)
              if normalized(p.name) in wanted]
    if ranked:
        best = min(ranked)
        tied = [r[3] for r in ranked if r[:2] == best[:2]]
        return max(tied, key=code_lines) if len(tied) > 1 else best[3]
    shown = ", ".join(str(p.relative_to(root)) if root else p.name for p in matching)
    expected = ", ".join(names) if names else "(this assignment lists no notebook names)"
    raise NoNotebook(f"{len(matching)} notebooks found ({shown}) and none is named as the course "
                     f"names this assignment's notebook: {expected}; rename yours to one of these "
                     f"or submit only that notebook")
