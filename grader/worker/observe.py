"""Observation inside the worker: install the course's stand-ins, record what cells hand them.

Staged next to the submission as `_grader_observe.py` (grader/checks/observe.py
copies it) and imported by the modules generated from a notebook before their
first cell.  Standard library only at import, like notebook_cells.py (numpy,
which runtime.py needs anyway, only inside the Keras data stand-in): it runs
under the course's interpreter, in the sandbox, next to student code.

# Note [Observation]
Course notebooks do much of their work inline, in cells that hand objects to
course-provided helpers (`train_part34(model, optimizer)`, `test_model(model,
...)`, `load_model(path)`).  Those helpers are the seam: the manifest's
`observe:` block names stand-in files (trusted course text, shipped with the
assignment) that are installed under every name a course year imports them by
(`ece662.pruning_helper`, `ece697ls.pruning_helper`, ...).  A stand-in gives
the cells small offline data (`given`), bounds training (`budget`), and
`record`s what the cells hand it; the record stays in the worker, as worker
objects (Note [Worker objects] in runtime.py), and the judge reaches them by
handle through `recorded(kind)`, deciding everything from plain data it reads
back itself (Note [Trust boundary] in grader/worker/client.py).

Nothing here is trusted by the judge: a student's cell may import this module
and write fake records.  That can only add objects for the judge to measure;
the judge measures them itself (weights, accuracy) and never believes facts a
stand-in reports about student objects.  The stand-ins run before any student
cell, so the objects they record are the ones the cells really passed.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import types

HERE = os.path.dirname(os.path.abspath(__file__))
_GIVEN: dict = {}
_BUDGET: dict = {}
_RECORDS: list = []
_STATE = {"cell": 0, "installed": False}
_GLOBALS: dict = {}   # notebook global name -> the stand-in object that replaces it
_FILES: dict = {}     # every module name a stand-in is installed as -> its file (Note [Reloading a stand-in])


# Note [Course code in cells]
# Some course helpers are not in a package but in the notebook's own cells (cs231n's
# PyTorch notebook defines `train_part34` in a cell the student runs).  The manifest's
# `globals:` names them with a stand-in file defining the same name; after every cell the
# runner puts the stand-in into the notebook's namespace (`after_cell`), so the course's
# definition is replaced as soon as its cell has run, and every later cell that calls the
# name calls the instrumented one.  A student's own function of that name is replaced too:
# these are names the course defines, not the student's work.

# -- what stand-ins use ------------------------------------------------------------------------

def given(name: str, default=None):
    """Plain data the judge provided before the notebook ran (see `provide`)."""
    return _GIVEN.get(name, default)


def budget() -> dict:
    """How much work a stand-in may do (the manifest's `observe.budget`, then the judge's)."""
    return dict(_BUDGET)


def current_cell() -> int:
    """The notebook cell running now (0: setup code, or nothing running)."""
    return int(_STATE["cell"])


def record(kind: str, objects: dict, facts: dict | None = None) -> dict:
    """Keep `objects` (live, in the worker) and `facts` (plain data) as one record of `kind`."""
    entry = {"kind": str(kind), "index": len(_RECORDS), "cell": current_cell(),
             "objects": dict(objects), "facts": dict(facts or {})}
    _RECORDS.append(entry)
    return entry


# -- what the runner and the judge call --------------------------------------------------------

def set_cell(number: int) -> None:
    _STATE["cell"] = int(number)
    _seed_once()


# Note [Deterministic observation]
# The same notebook must get the same grade every time it is graded.  Its cells draw
# initial weights (nn.Conv2d's default init, torch.randn in random_weight, Keras'
# initialisers) from unseeded generators, and a check that trains the observed model
# from those weights (pytorch Sequential/accuracy) then varies from run to run: one
# solution notebook reached 0.968, 0.759 and 0.940 test accuracy in three gradings.
# So, before each cell runs, every generator a cell may draw from that has been
# imported is seeded once: Python's `random` and numpy's legacy one at the first cell,
# torch's and TensorFlow's before the first cell that runs after their import (the
# import cell itself draws nothing).  The seeds are fixed, not secret: they decide
# nothing the student could steer, only that a verdict can be reproduced.
OBSERVATION_SEED = 0


def _seed_once() -> None:
    seeded = _STATE.setdefault("seeded", set())
    if "python" not in seeded:
        seeded.add("python")
        import random
        random.seed(OBSERVATION_SEED)
        try:
            import numpy
            numpy.random.seed(OBSERVATION_SEED)
        except Exception:
            pass
    for name, seed in (("torch", lambda m: m.manual_seed(OBSERVATION_SEED)),
                       ("tensorflow", lambda m: m.random.set_seed(OBSERVATION_SEED))):
        if name in sys.modules and name not in seeded:
            seeded.add(name)
            try:
                seed(sys.modules[name])
            except Exception:  # a stand-in or a half-imported module: nothing to seed
                pass


def after_cell(namespace: dict) -> None:
    """Put the `globals:` stand-ins into the notebook's namespace (Note [Course code in cells])
    and, once TensorFlow is imported, its data set loaders (Note [Keras data sets])."""
    for name, value in _GLOBALS.items():
        namespace[name] = value
    if "tensorflow" in sys.modules and not _STATE.get("keras_patched"):
        _STATE["keras_patched"] = True
        try:
            _patch_keras_datasets(sys.modules["tensorflow"])
        except Exception as exc:  # an odd TensorFlow build: its loaders stay as they are
            _STATE.setdefault("notes", []).append(f"keras data sets not stood in: {exc}")


# Note [Keras data sets]
# cs231n's TensorFlow notebook loads CIFAR-10 with `tf.keras.datasets.cifar10.load_data()`,
# which downloads; the worker has no network.  Once a cell has imported TensorFlow, the
# loaders of the sets the course notebooks use are replaced by offline ones with the real
# image shapes, dtypes and label layout: the images the judge provided (`given("cifar10")`
# / `given("mnist")` ...) or a small seeded generated set.  Small on purpose: the real sizes
# (50000 CIFAR images, 600 MB as float32) took 10-30 s of the notebook's time limit just to
# normalise on this machine, and a student's own training loop over them would not end
# within a cell's limit; the course's training helpers are stood in anyway.  So a notebook
# that slices X_train[49000:50000] for validation gets an empty validation set.
KERAS_SETS = {"cifar10": ((32, 32, 3), 10, 2000, 500, True),
              "cifar100": ((32, 32, 3), 100, 2000, 500, True),
              "mnist": ((28, 28), 10, 2000, 500, False),
              "fashion_mnist": ((28, 28), 10, 2000, 500, False)}


def keras_data(name: str):
    """((x_train, y_train), (x_test, y_test)) as keras.datasets.<name>.load_data() gives."""
    import numpy as np
    shape, classes, n_train, n_test, column = KERAS_SETS[name]
    provided = given(name)
    parts = []
    for split, size, seed in (("train", n_train, 1), ("test", n_test, 2)):
        if provided:
            x = np.asarray(provided[f"x_{split}"], dtype=np.uint8)
            y = np.asarray(provided[f"y_{split}"]).astype(np.uint8 if classes <= 256 else np.int64)
        else:
            rng = np.random.RandomState(seed)
            pool = 500
            y = (np.arange(pool) % classes).astype(np.uint8)
            rng.shuffle(y)
            colour = np.random.RandomState(0).randint(40, 216, size=(classes,) + shape[2:])
            rows = np.arange(shape[0]).reshape((-1, 1) + (1,) * (len(shape) - 2))
            x = np.empty((pool,) + shape, dtype=np.uint8)
            for i, label in enumerate(y):
                picture = colour[label] + np.sin(rows * (label % 10 + 1) * 0.35) * 30
                x[i] = np.clip(picture + rng.normal(0, 20, size=shape), 0, 255).astype(np.uint8)
        repeat = -(-size // len(x))
        x, y = np.tile(x, (repeat,) + (1,) * (x.ndim - 1))[:size], np.tile(y, repeat)[:size]
        parts.append((x, y.reshape(-1, 1) if column else y.reshape(-1)))
    return tuple(parts)


def _patch_keras_datasets(tf) -> None:
    datasets = tf.keras.datasets
    for name in KERAS_SETS:
        module = getattr(datasets, name, None)
        if module is not None:
            loader = (lambda which: lambda *args, **kwargs: keras_data(which))(name)
            setattr(module, "load_data", loader)


def provide(data: dict) -> dict:
    """Called by the judge before the notebook runs: plain data for `given`, a `budget`."""
    _GIVEN.clear()
    _GIVEN.update(data or {})
    _BUDGET.update(_GIVEN.pop("budget", {}) or {})
    return {"given": sorted(_GIVEN)}


def recorded(kind: str) -> list:
    """The records of `kind`, in order; the judge keeps the list's handle (Note [Observation])."""
    return [r for r in _RECORDS if r["kind"] == kind]


def install_notes() -> list:
    """Stand-ins that could not be installed, and loaders left as they were."""
    return list(_STATE.get("notes", []))


def summary() -> list:
    """Plain data about every record: kind, index, cell, facts."""
    return [{"kind": r["kind"], "index": r["index"], "cell": r["cell"], "facts": r["facts"]}
            for r in _RECORDS]


def install(config: dict) -> list:
    """Install the stand-ins described by `config` (made by grader/checks/observe.py); once.

    config: {"packages": [...], "modules": {name: file}, "top_level": {name: file},
             "fallbacks": {name: file}, "budget": {...}}; files are relative to HERE.
    Returns notes (a stand-in that could not be loaded)."""
    if _STATE["installed"]:
        return []
    _STATE["installed"] = True
    for key, value in (config.get("budget") or {}).items():
        _BUDGET.setdefault(key, value)
    notes = []
    os.environ.setdefault("MPLBACKEND", "Agg")
    for name, path in (config.get("fallbacks") or {}).items():
        try:
            importlib.import_module(name)
            continue  # the real one is there: use it
        except Exception:
            pass
        try:
            _register(name, _load(name, path))
        except Exception as exc:
            notes.append(f"stand-in for {name} not installed: {type(exc).__name__}: {exc}")
    for name, path in (config.get("top_level") or {}).items():
        try:
            _register(name, _load(name, path))
        except Exception as exc:
            notes.append(f"stand-in for {name} not installed: {type(exc).__name__}: {exc}")
    packages = list(config.get("packages") or [])
    for name, path in (config.get("modules") or {}).items():
        try:
            module = _load(f"{packages[0]}.{name}" if packages else name, path)
        except Exception as exc:
            notes.append(f"stand-in for {name} not installed: {type(exc).__name__}: {exc}")
            continue
        for package in packages:
            parent = _package(package)
            sys.modules[f"{package}.{name}"] = module
            _FILES[f"{package}.{name}"] = os.path.join(HERE, path)
            try:
                setattr(parent, name, module)
            except Exception:
                pass
    loaded = {}
    for name, path in (config.get("globals") or {}).items():
        try:
            if path not in loaded:
                loaded[path] = _load("_grader_globals_" + os.path.basename(path)[:-3], path)
            _GLOBALS[name] = getattr(loaded[path], name)
        except Exception as exc:
            notes.append(f"stand-in for the notebook's {name} not installed: "
                         f"{type(exc).__name__}: {exc}")
    if not any(isinstance(finder, _StandInFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _StandInFinder())
    _STATE["notes"] = notes
    return notes


# Note [Reloading a stand-in]
# Students who edit a course helper on Colab reload it in a cell of its own
# (`importlib.reload(ece662.pruning_helper)` and then `from ece662.pruning_helper import
# test_model`).  importlib.reload finds the module again by its name through the import
# system, and a stand-in installed only in sys.modules has nowhere to be found: under a
# package made here (`__path__ = []`) the reload raised ModuleNotFoundError, the cell
# stopped before its import, and a notebook that imports its helpers in that cell lost
# every observed check.  So every name a stand-in is installed as is also served by a
# finder at the front of sys.meta_path, which gives that name the stand-in's file: a reload
# runs the stand-in again into the same module, and a module deleted from sys.modules and
# imported again is the stand-in again, never the course's real helper or nothing.  The
# stand-ins keep no state of their own (what they record lives in this module), so running
# one again loses nothing.


class _StandInFinder:
    """A sys.meta_path finder for the names stand-ins are installed as (Note [Reloading a stand-in])."""

    def find_spec(self, name, path=None, target=None):
        file = _FILES.get(name)
        return importlib.util.spec_from_file_location(name, file) if file else None


def _load(name: str, path: str) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, path))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    _FILES[name] = os.path.join(HERE, path)  # Note [Reloading a stand-in]
    return module


def _register(name: str, module: types.ModuleType) -> None:
    """`module` as `name`, with its `SUBMODULES` ({suffix: module}) as `name.suffix`."""
    sys.modules[name] = module
    for suffix, sub in dict(getattr(module, "SUBMODULES", {}) or {}).items():
        sys.modules[f"{name}.{suffix}"] = sub


def _package(name: str) -> types.ModuleType:
    """The course package `name`: the submission's, else an empty one made here."""
    if name in sys.modules:
        return sys.modules[name]
    try:
        return importlib.import_module(name)
    except Exception:
        package = types.ModuleType(name)
        package.__path__ = []
        sys.modules[name] = package
        return package
