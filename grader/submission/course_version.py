"""Recognise a notebook written for another version of the course, instead of grading it 0.

Why it exists: the framework assignments changed shape over the years.  A
TensorFlow notebook of the TF1 years builds a graph (`tf.placeholder`,
`tf.Session`) where today's defines Keras models and `model_init_fn`s; the
2017 PyTorch notebook works with `Variable`s and `torch.cuda.FloatTensor`
dtypes (`gpu_dtype`) where today's has `device` and `train_part34`.  Graded
against this year's checks such a notebook gets 0 and pages of "not found",
which tells nobody anything.  Each manifest lists the versions it does not
grade (`other_versions`), each by the marks its code cells carry; a notebook
that carries them is reported in one line (submission status `other_version`,
exit 2) and not graded.

# Note [Other versions]
A version is recognised by its structure, never by its name: a marker is a
regular expression searched in the notebook's code cells, comments and
strings removed (so this year's notebook that *mentions* `tf.Session` in a
comment or a markdown cell is not taken for a TF1 one).  A version needs
`min` of its markers (default 2) to match, so one stray `Variable` import in
a modern notebook is not enough.  Markers are data in the manifest:
`other_versions: [{name: ..., markers: [...], min: 2}]`.
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass


@dataclass(frozen=True)
class Version:
    name: str                        # "the TF1 graph notebook (tf.placeholder / tf.Session)"
    markers: tuple[str, ...]         # regular expressions, searched in code without comments and strings
    min: int = 2

    @classmethod
    def from_manifest(cls, entry: dict) -> "Version":
        markers = tuple(str(m) for m in entry["markers"])
        for marker in markers:
            re.compile(marker)       # a bad expression is the manifest's error, when it loads
        return cls(str(entry["name"]), markers, int(entry.get("min", 2)))


class OtherVersion(Exception):
    """The notebook belongs to another version of the course (Note [Other versions])."""


def code_only(source: str) -> str:
    """`source` without comments and string literals (left as-is if it does not tokenize)."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return source
    kept = [t.string for t in tokens if t.type not in (tokenize.COMMENT, tokenize.STRING)
            and t.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT)]
    return " ".join(kept).replace(" . ", ".").replace(" .", ".").replace(". ", ".")


def recognise(code_cells: list[str], versions: tuple[Version, ...]) -> tuple[Version, list[str]] | None:
    """(the version, the markers found) of the first version whose markers the cells carry."""
    text = "\n".join(code_only(cell) for cell in code_cells)
    for version in versions:
        found = [m for m in version.markers if re.search(m, text)]
        if len(found) >= version.min:
            return version, found
    return None


def check(notebook_name: str, code_cells: list[str], versions: tuple[Version, ...],
          assignment_title: str = "") -> None:
    """Raise OtherVersion with the one-line message when the notebook is of another version."""
    hit = recognise(code_cells, versions)
    if hit is None:
        return
    version, found = hit
    raise OtherVersion(f"{notebook_name} is {version.name}, not this course's version"
                       f"{f' of {assignment_title}' if assignment_title else ''}: it was not graded")
