"""NumPy names and forms that later releases removed, restored inside the student worker.

Correct code from the course's earlier years fails under the NumPy the grader runs today for
reasons that have nothing to do with deep learning: `np.int` (gone in 1.24), `np.float_`
(2.0), `np.reshape(x, newshape=...)` and `np.sum(generator)` (2.4), `np.unravel_index(i,
dims=...)` (1.21), `np.array` of a ragged list (1.24).  Real packages lost 23
(cnn, `np.int` in a conv layer's output size) and about 50 points (fc_nets, batchnorm and
dropout: `newshape=` in the affine layer every network uses) that way.  This module runs in
the worker, before any student code, and is imported by runtime.py; like runtime.py it needs
only the standard library and numpy, on Python 3.9-3.12 with NumPy 1.23-2.x.

# Note [NumPy names restored]
A removed name is served again with what it meant before its removal (`np.int` is the
builtin `int`, as it always was; `np.float_` is `np.float64`; `np.in1d` flattens, as it
did), through the module's own `__getattr__` (PEP 562), which NumPy already uses to
raise its "was removed" errors: a name NumPy still has never reaches it, so under the
course's own older NumPy (grader/worker/envs.py) nothing changes.  `np.reshape` takes
`newshape=` again and `np.sum` of a generator is the builtin sum, as NumPy 1.x gave it,
each wrapping NumPy's own function and only where that function refuses the old form.
Restoring only adds what NumPy once had with the meaning it had, so no submission that
runs under today's NumPy computes anything different: the verdict is on the student's
arithmetic, not on the release their course year used.  The student is still told:
the judge finds these uses in the submission's source and notes them with what to
write instead (`restored_numpy_notes` in grader/scoring/pipeline.py, from the table in
grader/checks/hints.py, which a test keeps equal to RESTORED here).  Nothing here is
trusted: student code may undo or change any of it, which is no more than computing
something else.  The worker's first request (`hello`) restores them, unless the course turned
the restoring off (`restore_numpy: false` in its course file, or `--convention
restore_numpy=false`: Note [Conventions] in grader/scoring/assignment.py): then NumPy is as it
is, a removed name raises NumPy's own error, the check's hint names the break
(grader/checks/hints.py), and no note speaks of restoring.
"""

from __future__ import annotations

import builtins
import functools
import inspect
import types
import warnings

import numpy as np


def _in1d(ar1, ar2, assume_unique=False, invert=False):
    return np.isin(np.asarray(ar1).ravel(), ar2, assume_unique=assume_unique, invert=invert)


def _asfarray(a, dtype=np.float64):
    dtype = np.dtype(dtype)
    return np.asarray(a, dtype=dtype if np.issubdtype(dtype, np.inexact) else np.float64)


# Removed name -> what it was (a value, or a function of numpy giving it).
RESTORED = {
    # Aliases of Python builtins, removed in 1.24.
    "int": int, "float": float, "bool": bool, "object": object, "str": str,
    "complex": complex, "long": int, "unicode": str,
    # The NumPy 2.0 clean-up of the main namespace.
    "NaN": np.nan, "NAN": np.nan, "Inf": np.inf, "Infinity": np.inf, "PINF": np.inf,
    "NINF": -np.inf, "infty": np.inf, "float_": np.float64, "complex_": np.complex128,
    "unicode_": np.str_, "string_": np.bytes_, "product": np.prod, "cumproduct": np.cumprod,
    "sometrue": np.any, "alltrue": np.all, "round_": np.round, "asfarray": _asfarray,
    "msort": lambda a: np.sort(a, axis=0),
    # Deprecated in 2.0, removed in 2.4.
    "in1d": _in1d, "trapz": getattr(np, "trapezoid", None),
    # The NumPy 2.0 clean-up of numpy.lib (Note [Names of numpy.lib restored]).
    "lib.pad": np.pad,
}

# Note [unravel_index's dims restored]
# NumPy 1.16 renamed `np.unravel_index(indices, dims=...)`'s keyword to `shape` and 1.21
# dropped `dims` (numpy/numpy#17900): 1.20.3 still takes it with a warning, 1.23, 1.26 and 2.4
# refuse it (each measured).
# A real max_pool_backward_naive (a 2018-era cs231n package) finds each window's argmax with
# `np.unravel_index(np.argmax(window), dims=(pool_h, pool_w))`: correct code that lost its 3
# points to "unexpected keyword argument 'dims'".  The keyword is served again, as the
# positional shape, wherever calling with it raises TypeError (a C function has no signature
# to read under NumPy 1.x, so the call itself is the test); given with `shape` as well, NumPy's
# own error stands.

# Note [Names of numpy.lib restored]
# NumPy 2.0 also emptied `numpy.lib` of the functions it re-exported: `np.lib.pad(x, ...)`,
# the usual way to zero-pad in cs231n code of 2016-2018 (a real COMP4901J hand-in's naive
# conv and its backward lost every conv check to "module 'numpy.lib' has no attribute
# 'pad'"), is `np.pad` itself in every release that had it.  A name "lib.NAME" of RESTORED
# is served through numpy.lib's own `__getattr__`, as the main names are through numpy's, and
# only where numpy.lib lacks it.

# Note [Ragged lists made object arrays again]
# NumPy before 1.24 made `np.array(seq)` of sequences of different lengths an array of dtype
# object (1.20-1.23 with a VisibleDeprecationWarning saying "if you meant to do this, you must
# specify dtype=object"); 1.24 made it a ValueError ("... has an inhomogeneous shape after N
# dimensions").  A real 2017 FullyConnectedNet.loss gathers its weights and their gradients
# as `Ws = np.array(Ws)`, `dWs = np.array(dWs)` (matrices of different shapes), adds the L2
# term as `dWs += reg * Ws` and reads `dWs[i]` back: right under its course's NumPy, it lost
# every network check (fc_nets 29 / 42, batchnorm 13.5 / 18.5, dropout 11 / 18 under
# edition=cs231n_2017) to that ValueError.  `np.array` and `np.asarray` are served again with
# the old form: where the call gave no dtype and NumPy refuses the input as inhomogeneous, the
# same call is made with `dtype=object`, which is what the old release computed (its warning
# says as much); whatever that call raises stands (old NumPy refused such input too, e.g.
# matrices of one height and different widths).  A call NumPy accepts never reaches the
# retry, so code written for today's NumPy computes what it did.  Installed only where NumPy
# refuses a ragged list (not under a course's own 1.23).  No note names the use: no pattern
# in the source tells `np.array(ragged)` from any other `np.array(...)`.
_RAGGED = "inhomogeneous shape"


def _ragged_as_objects(make):
    """Note [Ragged lists made object arrays again]."""
    @functools.wraps(make)
    def wrapper(a, *args, **kwargs):
        try:
            return make(a, *args, **kwargs)
        except ValueError as error:
            dtype = args[0] if args else kwargs.get("dtype")
            if dtype is not None or _RAGGED not in str(error) or not isinstance(a, (list, tuple)):
                raise
            if args:
                return make(a, object, *args[1:], **kwargs)
            return make(a, *args, **{**kwargs, "dtype": object})
    return wrapper


def _refuses_ragged(numpy) -> bool:
    try:
        numpy.array([[0.0], [0.0, 0.0]])
    except ValueError:
        return True
    except Exception:
        return False
    return False


def _takes(function, keyword: str) -> bool:
    try:
        return keyword in inspect.signature(function).parameters
    except (TypeError, ValueError):
        return True  # cannot tell: leave it alone


def _reshape_with_newshape(reshape):
    @functools.wraps(reshape)
    def wrapper(a, *args, newshape=None, **kwargs):
        if newshape is not None:
            return reshape(a, newshape, *args, **kwargs)
        return reshape(a, *args, **kwargs)
    return wrapper


def _unravel_index_with_dims(unravel_index):
    """Note [unravel_index's dims restored]."""
    @functools.wraps(unravel_index)
    def wrapper(indices, *args, dims=None, **kwargs):
        if dims is not None and not args and "shape" not in kwargs:
            return unravel_index(indices, dims, **kwargs)
        if dims is not None:  # both given: NumPy's own error for the duplicate
            kwargs["dims"] = dims
        return unravel_index(indices, *args, **kwargs)
    return wrapper


def _refuses_dims(numpy) -> bool:
    try:
        numpy.unravel_index(0, dims=(1,))
    except TypeError:
        return True
    except Exception:
        return False
    return False


def _sum_of_generators(numpy_sum):
    @functools.wraps(numpy_sum)
    def wrapper(a, *args, **kwargs):
        if isinstance(a, types.GeneratorType):  # NumPy 1.x: the builtin sum, with a warning
            total = builtins.sum(a)
            out = kwargs.get("out")
            if out is not None:
                out[...] = total
                return out
            return total
        return numpy_sum(a, *args, **kwargs)
    return wrapper


def _serve(module, names: dict) -> None:
    """Serve `names` through `module`'s own `__getattr__` (PEP 562), before the one it had."""
    original = module.__dict__.get("__getattr__")

    def __getattr__(name):
        if name in names:
            return names[name]
        if original is not None:
            return original(name)
        raise AttributeError(f"module {module.__name__!r} has no attribute {name!r}")
    module.__getattr__ = __getattr__


def install(numpy=np) -> list:
    """Restore in `numpy` what it lacks of RESTORED and the old forms of reshape, sum,
    unravel_index and array (Note [NumPy names restored]); the names restored."""
    restored = []
    # Note [Names of numpy.lib restored]: dotted names in their submodule
    for prefix, module in (("", numpy), ("lib.", numpy.__dict__.get("lib"))):
        if module is None:
            continue
        missing = {name[len(prefix):]: value for name, value in RESTORED.items()
                   if value is not None and name.startswith(prefix)
                   and "." not in name[len(prefix):] and name[len(prefix):] not in module.__dict__}
        if missing:
            _serve(module, missing)
            restored += [prefix + name for name in missing]
    restored.sort()
    if not _takes(numpy.reshape, "newshape"):
        numpy.reshape = _reshape_with_newshape(numpy.reshape)
        restored.append("reshape(newshape=)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NumPy 1.16-1.20 warn and accept dims=
        if _refuses_dims(numpy):  # Note [unravel_index's dims restored]
            numpy.unravel_index = _unravel_index_with_dims(numpy.unravel_index)
            restored.append("unravel_index(dims=)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NumPy 1.20-1.23 warn and make an object array
        if _refuses_ragged(numpy):  # Note [Ragged lists made object arrays again]
            numpy.array = _ragged_as_objects(numpy.array)
            numpy.asarray = _ragged_as_objects(numpy.asarray)
            restored.append("array(ragged)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # NumPy 1.15-2.3 warn and sum
            numpy.sum(x for x in ())
    except TypeError:
        numpy.sum = _sum_of_generators(numpy.sum)
        restored.append("sum(generator)")
    except Exception:
        pass
    return restored
