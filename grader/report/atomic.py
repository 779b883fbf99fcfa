"""Files written whole or not at all: the batch's results, reports, grades.csv, similarity.json
and the class dashboard; `grade check`'s --json and --html, `grade export`'s -o, the release
CI's --junit and the Gradescope autograder's results.json (Note [Every report written whole]).

# Note [Atomic writes leave nothing behind]
Each of these files is written to PATH.tmp beside it, flushed to disk, then renamed over
PATH (rename is atomic within a folder), so that a reader, or a batch killed half-way, sees
the old file or the new one, never half of one.  The dashboard's and similarity.json's
writers did the rename but not the clean-up: a write that failed (a full disk, a quota, a
`summary.html` that is a folder) left `summary.html.tmp` in the output folder, a page that
looks like the dashboard, next to a dashboard that said "not written".  So a failed write
removes its PATH.tmp before the error goes on to the caller, which says what failed; only a
process killed between the open and the rename can leave one, and the next write of PATH
takes it over (the same name) and renames it.  The folder is synced after the rename, so
the new name survives a power cut with the new content.

# Note [Every report written whole]
`grade check --html FILE` wrote its page with `Path.write_text`, which empties FILE first:
a write that failed half-way (a full disk, a quota, a file-size limit) left half a page in
place of the last good report, and the command said "could not write the report" above a
file that still looked like one.  `grade export -o FILE` (a gradebook an instructor uploads),
the release CI's `--junit` and the Gradescope autograder's results.json were written the
same way.  Every file the grader writes for a person or another system to read now goes
through `write_atomic`: on a failure the old file stays whole and the error is said.  Files
the grader builds into a folder of its own (a release, a mutant, a replay tape, a staged
submission) are left as they are: that folder is not a report, and a failed build ends the
command.
"""

from __future__ import annotations

import os
from pathlib import Path


def write_atomic(path: Path, text: str) -> None:
    """Write `path` so that it holds either its old content or all of `text`, even on a crash;
    on a failure no PATH.tmp is left (Note [Atomic writes leave nothing behind])."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
