"""A minimal `IPython` for notebooks run in a worker whose interpreter lacks IPython
(installed only then: Note [Generic stand-ins] in grader/checks/observe.py).

Why it exists: notebooks call `from IPython.display import display, clear_output, HTML`
to show progress or tables; outside a kernel these show nothing anyway, and the grader
grades values.  `display` prints the object's repr (which the runner discards, as it
discards all printed output); the rest do nothing.
"""

from __future__ import annotations

import types


def display(*objects, **kwargs) -> None:
    for obj in objects:
        print(repr(obj))


def clear_output(*args, **kwargs) -> None:
    """Nothing is shown, so there is nothing to clear."""


class _Shown:
    """HTML(...), Image(...), Markdown(...): keep what they were given, show nothing."""

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs


def get_ipython():
    return None


display_module = types.ModuleType("IPython.display")
display_module.display = display
display_module.clear_output = clear_output
for _name in ("HTML", "Image", "Markdown", "Math", "Latex", "SVG", "JSON", "Javascript"):
    setattr(display_module, _name, type(_name, (_Shown,), {}))

SUBMODULES = {"display": display_module}
