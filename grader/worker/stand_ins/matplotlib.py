"""A do-nothing `matplotlib` for notebooks run in the worker where matplotlib is not
installed (installed only then: Note [Generic stand-ins] in grader/checks/observe.py).

Why it exists: course notebooks plot loss curves and images (`import matplotlib.pyplot
as plt`, `plt.plot(...)`, `fig, ax = plt.subplots()`); the grader grades values, never
pictures, and a failing import would cost the whole cell with the code beside it.  Every
attribute and call gives the same inert object, which unpacks into two (`fig, ax = ...`,
`fig, (a, b) = ...`), indexes and iterates, and draws nothing.
"""

from __future__ import annotations

import types


class _Inert:
    """Any attribute, call, index or context gives itself; unpacks as two of itself."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return self

    def __call__(self, *args, **kwargs):
        return self

    def __getitem__(self, key):
        return self

    def __setitem__(self, key, value):
        pass

    def __iter__(self):
        return iter((self, self))

    def __len__(self):
        return 2

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __bool__(self):
        return True


INERT = _Inert()


def _module(name: str) -> types.ModuleType:
    module = types.ModuleType(name)

    def missing(attr: str):
        if attr.startswith("__"):  # tools that walk sys.modules read __file__ and the like
            raise AttributeError(attr)
        return INERT

    module.__getattr__ = missing
    return module


pyplot = _module("matplotlib.pyplot")
pyplot.rcParams = {}
cm = _module("matplotlib.cm")
colors = _module("matplotlib.colors")
gridspec = _module("matplotlib.gridspec")
rcParams: dict = {}
__version__ = "0.0 (grader stand-in)"


def use(*args, **kwargs) -> None:
    """Backends do not matter: nothing is drawn."""


def __getattr__(name: str):
    if name.startswith("__"):
        raise AttributeError(name)
    return INERT


SUBMODULES = {"pyplot": pyplot, "cm": cm, "colors": colors, "gridspec": gridspec}
