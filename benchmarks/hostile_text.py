"""What crafted submission text costs the judge: the hardening round's before and after.

The judge reads student text itself (notebooks, sources) before and after grading, outside
any worker limit, so a crafted file can hold the judge, and in `grade batch` the class, for
as long as that reading takes.  This script times each reading on the crafted inputs of the
round, with the code of before (the old patterns, kept here; nbformat's own reader) and the
code of now, in this process's CPU time:

- a notebook of CELLS one-line cells (Note [Huge notebooks] in grader/submission/notebook.py);
- the staging's import scan on BLANK blank lines (stage.py's _TOP_LEVEL_IMPORT);
- the NumPy-forms note on one line of REPEAT `np.reshape(` (Note [Forms found in linear time]
  in grader/checks/hints.py).

    .venv/bin/python benchmarks/hostile_text.py [--cells 100000] [--blank 25000] [--repeat 5000]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from grader.checks import hints  # noqa: E402
from grader.submission import notebook, stage  # noqa: E402

OLD_IMPORT_SCAN = re.compile(r"^\s*(?:from\s+([A-Za-z_]\w*)[\s.]|import\s+([A-Za-z_]\w*))", re.MULTILINE)
OLD_RESHAPE_FORM = re.compile(r"\b(?:np|numpy)\.reshape\([^#\n]*\bnewshape\s*=")


def cpu(work) -> float:
    start = time.process_time()
    work()
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=100_000)
    parser.add_argument("--blank", type=int, default=25_000)
    parser.add_argument("--repeat", type=int, default=5_000)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    import nbformat

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "huge.ipynb"
        cells = [{"cell_type": "code", "metadata": {}, "source": "x = 1", "outputs": [],
                  "execution_count": None} for _ in range(args.cells)]
        path.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 4, "metadata": {}, "cells": cells}))
        rows = [(f"notebook of {args.cells} cells ({path.stat().st_size >> 20} MiB)",
                 cpu(lambda: nbformat.read(str(path), as_version=4)), cpu(lambda: notebook.read(path)))]
    blank = "import os\n" + "\n" * args.blank + "x = 1\n"
    rows.append((f"import scan, {args.blank} blank lines", cpu(lambda: OLD_IMPORT_SCAN.findall(blank)),
                 cpu(lambda: stage._TOP_LEVEL_IMPORT.findall(blank))))
    line = 'x = "' + "np.reshape(" * args.repeat + '"\n'
    opening, rest, _, _ = hints.RESTORED_FORMS["reshape(newshape=)"]
    rows.append((f"NumPy-forms note, a line of {args.repeat} `np.reshape(`",
                 cpu(lambda: OLD_RESHAPE_FORM.search(line)), cpu(lambda: hints._form_used(opening, rest, line))))
    print(f"{'input':<52} {'before (s)':>10} {'now (s)':>10}")
    for what, before, now in rows:
        print(f"{what:<52} {before:>10.3f} {now:>10.3f}")


if __name__ == "__main__":
    main()
