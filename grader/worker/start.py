"""The cold worker's script: Python's site setup less the grader's own hooks, then runtime.py.

Started by the judge as `python -I -S start.py` (grader/worker/sandbox.py `plan`), with the wire
on file descriptors 3 and 4 as runtime.py describes.  Like runtime.py it needs only the standard
library and must run on Python 3.9-3.12.  A warm slot's zygote runs zygote.py instead, which
imports runtime.py the same way (Note [Worker start]).

# Note [Worker start]
A cold worker's start is on `grade check`'s critical path (Note [Worker before numpy] in
grader/worker/launch.py), and two parts of it did work the worker has no use for:
- runtime.py run as a script: Python compiles a script afresh every time (9 ms on the benchmark
  VM), never from byte code.  This file is the script now, a few lines to compile, and runtime.py
  is imported as the module `runtime`, from the judge's byte code where it is bound (Note [Worker
  byte code] in sandbox.py), as zygote.py has always imported it.  The order is runtime.py's own:
  its imports (the standard library, numpy, wire.py), then `drop_privileges`, the uid switch,
  before any request is read and so before any student code is imported (Note [Sandbox]).
- site's .pth files: with the grader installed editable (the development setup, `make venv`), the
  virtual environment's `__editable__.dl_grader-*.pth` installs an import finder for the
  `grader` package at every interpreter start, importing pathlib, importlib.util, re and
  urllib.parse (20-24 ms of 40 for a bare `python -I` on the VM), none of which numpy or the
  runtime imports; `make venv` installs it as a plain path where setuptools lets it (Note
  [Editable install as a path] in the Makefile), the checkout's folder.  In the worker either
  form only points at folders the sandbox hides (Note [The grader's own folders hidden] in
  sandbox.py).  So the worker runs with `-S` and `site_setup`
  runs site.main itself (the virtual environment's prefix, its site-packages and every other
  .pth file there, sitecustomize), passing over only the grader's own editable-install files.
  Under `-I` no user site is added either way.  tests/grader/worker/test_start.py checks that
  sys.path comes out the same as under site.main.
"""

from __future__ import annotations

import os
import sys

# The grader's own editable install (setuptools' names for the distribution dl-grader).
GRADER_PTH_PREFIXES = ("__editable__.dl_grader-", "__editable___dl_grader_")


def site_setup() -> None:
    """site.main, less the grader's own editable-install .pth files (Note [Worker start]): site's
    own code runs, with its per-file step (`addpackage`, which site.addsitedir calls for each
    .pth file, in Python 3.9-3.12 alike) passing over those files."""
    import site
    original = site.addpackage

    def addpackage(sitedir, name, known_paths):
        if name.startswith(GRADER_PTH_PREFIXES):
            return known_paths
        return original(sitedir, name, known_paths)
    site.addpackage = addpackage
    try:
        site.main()
    finally:
        site.addpackage = original


if __name__ == "__main__":
    if sys.flags.no_site:
        site_setup()
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import runtime  # noqa: E402  (numpy, wire.py; from byte code where bound)
    runtime.drop_privileges()
    runtime.serve()
