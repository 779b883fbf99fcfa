"""Text as every UTF-8 writer accepts it, for the files the grader writes (reports, the
dashboard, exports).

# Note [Names that are not UTF-8 in what is written]
A file or folder name is bytes; one that is not UTF-8 (an LMS download unpacked by a tool that
kept another system's encoding, "caf\\xe9") comes to Python as a str holding lone surrogates,
and staging's messages name what they found ("no Python files found in caf\\udce9").  UTF-8
cannot encode a lone surrogate, so every writer of such a result failed: `grade check` died
with UnicodeEncodeError writing the HTML report, after the verdict; `grade batch` wrote no
report for that submission and no class dashboard at all (one student's folder name cost
the whole page); `grade export --format csv|junit -o FILE` died in a traceback.  The result's
JSON was never the problem (json escapes them), and ids are ASCII already (Note [Submission
ids] in grader/submission/discover.py).  So what is written to a file passes through
`writable`: each lone surrogate becomes "?", as the judge's wire does with a student's
(Note [No lone surrogates] in grader/worker/wire.py), and every other character stays as it
is.  The terminal escapes them instead (Note [Terminal text] in grader/report/terminal.py).
"""

from __future__ import annotations


def writable(text: str) -> str:
    """`text` with every lone surrogate replaced by "?" (Note [Names that are not UTF-8 in what
    is written])."""
    return text.encode("utf-8", "replace").decode("utf-8")
