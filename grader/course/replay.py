"""Record what the reference returns to an assignment's checks; replay it without the reference.

A student release (grader/course/release.py) ships the public checks but never the
reference code they call.  The checks module is loaded with its `reference...`
imports pointed at a `Session` (Note [Reference imports]): a `Recorder` calls
the real reference and writes every answer on a tape, a `Replayer` serves the
answers from the tape and has no reference at all.  The checks themselves run
unchanged, so a replayed check judges a submission exactly as the course's
grader does, as long as it asks the reference the same questions.

# Note [Tape]
A tape has one section per check id (plus "" for what checks.py asks while it
is imported).  Each entry is keyed by a digest of the question (Note [Input
keys]) and holds the answer as plain data: JSON for the structure, an `.npz`
for the arrays, loaded with `allow_pickle=False`; never a pickle, so reading a
tape runs no code and needs no reference module.  An entry also holds what the
call changed in place (an argument such as `bn_param`, numpy's global random
state, the attributes of a reference object the check holds; Note [Reference
objects]), so the replay leaves the judge in the very state the reference left
it in.  Module attributes that are data (published vectors) are kept once as
`constants`; an object among them is kept as a `Snapshot` of its public data
attributes, properties included.

# Note [Input keys]
A question's key is a digest of the function's qualified name and of its
arguments' exact contents: arrays by dtype, shape and bytes, numbers by their
bits, containers in order (a dict's order too, which is why the tape's JSON
keeps it: the reference may sum a dict's entries in that order).  Answers are
looked up by key, not by position, so a check that stops early or skips a call
still finds the rest; and an answer is only ever served to the very inputs it
was recorded for.  When a check asks something the tape does not hold (its
inputs depend on the submission's output, say), the Replayer raises
`ReplayMismatch`; see Note [Never a false pass].  numpy's legacy global
generator is seeded per check in both modes (with the check id), and a call
that moves it leaves it where the reference left it, so that reference code
drawing from it answers the same.

# Note [Reference objects]
A reference call that returns an object (a model) returns a `Handle`.  Its
method calls and attribute reads are questions like any other, keyed by the
handle's state: a digest of how the handle was made and of everything done to
it since (attributes set, methods called, and any change the check made to a
value it read from it or gave to it, found by fingerprinting those values
before each use).  So `net.params = p; net.loss(X)` after a training pass has a
different key than before it, in both modes, without the replay ever knowing
what the object does.  Identity is kept as the reference kept it: an attribute
read that is (part of) a value the check gave the handle or read before replays
as that very object, and a call's in-place changes are replayed in place only
for the objects the reference changed in place, not for those it replaced.
What a handle cannot do (iteration, arithmetic) fails while recording, which
keeps that check out of a release.

# Note [Never a false pass]
A check that raised `ReplayMismatch` errors, whatever it did afterwards: the
Session remembers every mismatch of the running check and `run_check` raises
one at the end even when the check swallowed the first or returned normally.
The pytest plugin reports it as an internal grader error, never as a pass.

# Note [Hints the tape may lack]
One place may ask unrecorded questions without harm: a known-mistake
signature (grader/checks/compare.py), whose reference answer is computed only
once a comparison has already failed, inside `safe_match`, which turns any
exception into "no match".  A mismatch raised while `safe_match` is running
therefore costs only that hint: the check still fails, as it does with the
course's grader, and its message says that a hint could not be computed.  (A
release records the hints of the assignment's planted bugs, so the common
ones are there.)  Should such a check pass all the same, it errors.
"""

from __future__ import annotations

import builtins
import dataclasses
import hashlib
import importlib
import inspect
import json
import struct
import sys
import types
import zlib
from pathlib import Path
from typing import Any, Callable

import numpy as np

SCHEMA = "grader.tape/1"
PACKAGE = "reference"
MODULE_SECTION = ""  # questions asked while checks.py is imported, outside any check


class TapeError(Exception):
    """A value the tape cannot hold or a use of the reference it cannot record."""


class ReplayMismatch(Exception):
    """The running check asked the reference something the tape does not hold."""


# ---------------------------------------------------------------------------
# Fingerprints (Note [Input keys])
# ---------------------------------------------------------------------------

def _digest(*parts: str) -> str:
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).hexdigest()


def fingerprint(value, session: "Session | None" = None) -> str:
    """A digest of `value`'s exact contents; TapeError for anything that is not plain data."""
    h = hashlib.blake2b(digest_size=16)
    _feed(h, value, session)
    return h.hexdigest()


def _feed(h, value, session) -> None:  # noqa: C901 - one branch per kind of plain data
    if value is None:
        h.update(b"N")
    elif isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise TapeError("an array of Python objects")
        data = np.ascontiguousarray(value)
        h.update(f"A{data.dtype.str}{data.shape}".encode())
        h.update(data.tobytes())
    elif isinstance(value, np.generic):
        h.update(f"G{value.dtype.str}".encode() + np.asarray(value).tobytes())
    elif isinstance(value, bool):
        h.update(b"B1" if value else b"B0")
    elif isinstance(value, int):
        h.update(f"I{int(value)};".encode())
    elif isinstance(value, float):
        h.update(b"F" + struct.pack("<d", value))
    elif isinstance(value, complex):
        h.update(b"C" + struct.pack("<dd", value.real, value.imag))
    elif isinstance(value, str):
        data = value.encode("utf-8", "surrogatepass")
        h.update(f"S{len(data)};".encode() + data)
    elif isinstance(value, bytes):
        h.update(f"Y{len(value)};".encode() + value)
    elif isinstance(value, (tuple, list)):
        h.update(f"{'T' if isinstance(value, tuple) else 'L'}{len(value)};".encode())
        for item in value:
            _feed(h, item, session)
    elif isinstance(value, dict):
        h.update(f"D{len(value)};".encode())
        for key, item in value.items():
            _feed(h, key, session)
            _feed(h, item, session)
    elif isinstance(value, Handle):
        if session is not None:
            session._sync(value)
        h.update(f"H{_state(value).key};".encode())
    elif isinstance(value, Snapshot):
        h.update(f"O{object.__getattribute__(value, '_tape_digest')};".encode())
    elif isinstance(value, np.dtype):
        h.update(f"Q{value.str};".encode())
    elif isinstance(value, type) and _type_name(value) is not None:
        h.update(f"P{_type_name(value)};".encode())
    else:
        raise TapeError(f"a value of type {type(value).__name__}")


def _type_name(kind: type) -> str | None:
    """'numpy.float64' or 'builtins.float' for the types checks pass as data (dtype=...)."""
    if issubclass(kind, np.generic) or kind in (float, int, bool, complex, str):
        return f"{kind.__module__}.{kind.__qualname__}"
    return None


# ---------------------------------------------------------------------------
# Encoding answers as JSON + arrays (Note [Tape])
# ---------------------------------------------------------------------------

class Arrays:
    """The tape's arrays, stored once each under a digest of their contents."""

    def __init__(self, arrays: dict[str, np.ndarray] | None = None) -> None:
        self.arrays = dict(arrays or {})

    def put(self, array: np.ndarray) -> str:
        if array.dtype.hasobject:
            raise TapeError("an array of Python objects")
        name = "a" + fingerprint(array)[:24]
        self.arrays.setdefault(name, np.array(array, copy=True))
        return name

    def get(self, name: str) -> np.ndarray:
        try:
            return self.arrays[name]
        except KeyError:
            raise TapeError(f"the tape names array {name!r}, which its .npz does not hold") from None


class _Encoder:
    """Plain data -> JSON; objects become handles (call results) or snapshots (constants)."""

    def __init__(self, arrays: Arrays, *, objects: Callable[[Any, tuple], dict] | None = None,
                 aliases: dict[int, list] | None = None) -> None:
        self.arrays, self.objects, self.aliases = arrays, objects, aliases or {}

    def encode(self, value, path: tuple = ()):  # noqa: C901 - one branch per kind
        if id(value) in self.aliases and isinstance(value, (dict, list, np.ndarray)):
            return {"alias": self.aliases[id(value)]}
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, np.ndarray):
            return {"a": self.arrays.put(value)}
        if isinstance(value, np.generic):
            return {"s": self.arrays.put(np.asarray(value))}
        if type(value) is int:
            return value
        if type(value) is float:
            return value if np.isfinite(value) else {"f": repr(value)}
        if type(value) is complex:
            return {"c": [value.real, value.imag]}
        if type(value) is tuple:
            return {"t": [self.encode(v, path + (i,)) for i, v in enumerate(value)]}
        if type(value) is list:
            return [self.encode(v, path + (i,)) for i, v in enumerate(value)]
        if type(value) is dict:
            if all(type(k) is str for k in value):
                return {"d": {k: self.encode(v, path + (k,)) for k, v in value.items()}}
            return {"dk": [[self.encode(k), self.encode(v, path + (repr(k),))]
                           for k, v in value.items()]}
        if isinstance(value, np.dtype):
            return {"dtype": value.str}
        if isinstance(value, type) and _type_name(value) is not None:
            return {"type": _type_name(value)}
        if isinstance(value, Handle):
            raise TapeError("a reference object inside a value handed back to the check")
        if isinstance(value, Snapshot):
            return object.__getattribute__(value, "_tape_encoded")
        if self.objects is None:
            raise TapeError(f"a value of type {type(value).__name__}")
        return self.objects(value, path)


def _decode(data, arrays: Arrays, *, handles: Callable[[dict], Any] | None = None,
            aliases: Callable[[list], Any] | None = None):  # noqa: C901
    again = lambda d: _decode(d, arrays, handles=handles, aliases=aliases)  # noqa: E731
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        return [again(d) for d in data]
    if not isinstance(data, dict) or len(data) != 1:
        raise TapeError(f"malformed tape value {str(data)[:80]!r}")
    (tag, body), = data.items()
    if tag == "a":
        return np.array(arrays.get(body), copy=True)
    if tag == "s":
        return arrays.get(body)[()]
    if tag == "f":
        return float(body)
    if tag == "c":
        return complex(body[0], body[1])
    if tag == "t":
        return tuple(again(d) for d in body)
    if tag == "d":
        return {k: again(v) for k, v in body.items()}
    if tag == "dk":
        return {_freeze(again(k)): again(v) for k, v in body}
    if tag == "dtype":
        return np.dtype(body)
    if tag == "type":
        module, _, name = body.rpartition(".")
        return getattr(importlib.import_module(module), name)
    if tag == "handle" and handles is not None:
        return handles(body)
    if tag == "alias" and aliases is not None:
        return aliases(body)
    if tag == "snapshot":
        return Snapshot._from_tape(body, arrays, data)
    if tag == "function":
        return _unrecorded_function(body)
    raise TapeError(f"unknown tape value tag {tag!r}")


def _freeze(key):
    return tuple(key) if isinstance(key, list) else key


def _snapshot_encoding(value, encoder: _Encoder, seen: set[int]) -> dict:
    """A constant object as {"snapshot": {...}}: its public data attributes (Note [Tape])."""
    if id(value) in seen:
        raise TapeError(f"a {type(value).__name__} that contains itself")
    seen = seen | {id(value)}
    names = [f.name for f in dataclasses.fields(value)] if dataclasses.is_dataclass(value) else \
        [n for n in vars(value) if not n.startswith("_")] if hasattr(value, "__dict__") else []
    names += [n for n, member in inspect.getmembers(type(value))
              if isinstance(member, property) and not n.startswith("_") and n not in names]
    attributes = {}
    for name in names:
        try:
            attribute = getattr(value, name)
        except Exception:  # a property that does not apply to this object: left out
            continue
        attributes[name] = encoder.encode(attribute) if not callable(attribute) or \
            isinstance(attribute, type) and _type_name(attribute) else \
            {"function": f"{type(value).__name__}.{name}"}
    return {"snapshot": {"type": type(value).__name__, "attributes": attributes}}


def _constant_encoder(arrays: Arrays) -> _Encoder:
    encoder = _Encoder(arrays)
    encoder.objects = lambda value, path: (
        {"function": getattr(value, "__qualname__", type(value).__name__)} if callable(value)
        else _snapshot_encoding(value, encoder, set()))
    return encoder


class Snapshot:
    """A constant object of the reference, replayed as its recorded data attributes."""
    __slots__ = ("_tape_type", "_tape_attributes", "_tape_digest", "_tape_encoded")

    @classmethod
    def _from_tape(cls, body: dict, arrays: Arrays, encoded: dict) -> "Snapshot":
        snapshot = object.__new__(cls)
        object.__setattr__(snapshot, "_tape_type", str(body.get("type", "object")))
        object.__setattr__(snapshot, "_tape_attributes", {
            k: _decode(v, arrays) for k, v in dict(body.get("attributes", {})).items()})
        object.__setattr__(snapshot, "_tape_encoded", encoded)
        object.__setattr__(snapshot, "_tape_digest",
                           _digest(json.dumps(encoded)))
        return snapshot

    def __getattr__(self, name: str):
        attributes = object.__getattribute__(self, "_tape_attributes")
        if name in attributes:
            return attributes[name]
        raise AttributeError(f"the recorded {object.__getattribute__(self, '_tape_type')} has no "
                             f"data attribute {name!r}")

    def __setattr__(self, name: str, value) -> None:
        raise AttributeError("a recorded reference constant cannot be changed")

    def __repr__(self) -> str:
        return f"<recorded {object.__getattribute__(self, '_tape_type')}>"


def _unrecorded_function(name: str) -> Callable:
    def unrecorded(*args, **kwargs):
        raise ReplayMismatch(f"{name} is reference code, which the release does not include")
    unrecorded.__qualname__ = name
    return unrecorded


# ---------------------------------------------------------------------------
# Proxies the checks see in place of the reference (Note [Reference imports])
# ---------------------------------------------------------------------------

# Note [Reference imports]
# checks.py is executed with its own `__builtins__`, whose `__import__` sends
# every `reference` or `reference.x.y` import to the Session and every other
# import to Python's.  So `from reference.cs231n import layers as ref` binds a
# `Proxy` without touching sys.modules or the real package (the Replayer never
# imports it; the release works where `reference` cannot be imported at all),
# and the functions checks.py defines keep that `__import__` for the imports
# they make later.  A proxy's attributes are modules, callables or constants,
# as the Recorder found them; the tape's `names` table says which.

class Proxy:
    """A module or callable of the reference package, as the checks see it."""
    __slots__ = ("_tape_session", "_tape_name")

    def __init__(self, session: "Session", name: str) -> None:
        object.__setattr__(self, "_tape_session", session)
        object.__setattr__(self, "_tape_name", name)

    def __getattr__(self, name: str):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return self._tape_session.attribute(self._tape_name, name)

    def __setattr__(self, name: str, value) -> None:
        raise AttributeError(f"checks may not change the reference ({self._tape_name}.{name})")

    def __call__(self, *args, **kwargs):
        return self._tape_session.call_function(self._tape_name, args, kwargs)

    def __repr__(self) -> str:
        return f"<reference {self._tape_name}>"


@dataclasses.dataclass
class _Exposed:
    """A value the check read from a handle or gave to it, and its last fingerprint."""
    value: Any
    fingerprint: str


@dataclasses.dataclass
class _HandleState:
    key: str
    label: str
    real: Any = None
    exposed: list[_Exposed] = dataclasses.field(default_factory=list)


def _state(handle: "Handle") -> _HandleState:
    return object.__getattribute__(handle, "_tape_state")


class Handle:
    """An object the reference returned: its uses are questions on the tape (Note [Reference objects])."""
    __slots__ = ("_tape_session", "_tape_state")

    def __init__(self, session: "Session", state: _HandleState) -> None:
        object.__setattr__(self, "_tape_session", session)
        object.__setattr__(self, "_tape_state", state)

    def __getattr__(self, name: str):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return object.__getattribute__(self, "_tape_session").get_attribute(self, name)

    def __setattr__(self, name: str, value) -> None:
        object.__getattribute__(self, "_tape_session").set_attribute(self, name, value)

    def __repr__(self) -> str:
        return f"<reference object {_state(self).label}>"


class _Method:
    """handle.method, ready to be called."""

    def __init__(self, handle: Handle, name: str) -> None:
        self.handle, self.name = handle, name

    def __call__(self, *args, **kwargs):
        return object.__getattribute__(self.handle, "_tape_session").call_method(
            self.handle, self.name, args, kwargs)

    def __repr__(self) -> str:
        return f"<method {self.name} of {self.handle!r}>"


# ---------------------------------------------------------------------------
# Sessions
# ---------------------------------------------------------------------------

def _computing_a_hint() -> bool:
    """Is a known-mistake signature being matched?  Note [Hints the tape may lack]."""
    from ..checks.compare import safe_match
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code is safe_match.__code__:
            return True
        frame = frame.f_back
    return False


def _check_seed(check_id: str) -> int:
    return zlib.crc32(check_id.encode())


def _part(key) -> str:
    return key if type(key) is str else repr(key)


def _members(value, path: tuple = (), into: dict | None = None) -> dict[tuple, Any]:
    """Every dict, list and array inside `value`, by path: the objects a call may change in place."""
    into = {} if into is None else into
    if isinstance(value, (dict, list, np.ndarray)):
        into[path] = value
    if type(value) is dict:
        for key, item in value.items():
            _members(item, path + (_part(key),), into)
    elif type(value) in (list, tuple):
        for index, item in enumerate(value):
            _members(item, path + (str(index),), into)
    return into


def _changed(before: dict[tuple, Any], value) -> dict:
    """The paths inside `value` whose objects a call changed in place rather than replaced
    (`before` holds the objects from before the call, so no id was reused meanwhile)."""
    kept = [list(path) for path, item in _members(value).items() if before.get(path) is item]
    return {"kept": kept}


def _find_exposed(state: "_HandleState", value) -> list | None:
    """[index, path] of `value` inside a value the handle exposed, if it is one of their parts."""
    if not isinstance(value, (dict, list, np.ndarray)):
        return None
    for index, exposed in enumerate(state.exposed):
        for path, item in _members(exposed.value).items():
            if item is value:
                return [index, list(path)]
    return None


def _at(value, path: list):
    for part in path:
        if type(value) is dict:
            value = next(v for k, v in value.items() if _part(k) == part)
        else:
            value = value[int(part)]
    return value


def _assign(target, new, kept: set[tuple], path: tuple = ()):
    """`new` at `path`: put into `target` itself where the reference changed it in place."""
    if type(target) is tuple and type(new) is tuple and len(target) == len(new):
        return tuple(_assign(t, n, kept, path + (str(i),)) for i, (t, n) in
                     enumerate(zip(target, new)))
    if path not in kept:
        return new
    if isinstance(target, np.ndarray) and isinstance(new, np.ndarray) \
            and target.shape == new.shape and target.dtype == new.dtype and target.flags.writeable:
        target[...] = new
        return target
    if type(target) is dict and type(new) is dict:
        merged = {k: _assign(target[k], v, kept, path + (_part(k),)) if k in target else v
                  for k, v in new.items()}
        target.clear()
        target.update(merged)
        return target
    if type(target) is list and type(new) is list:
        target[:] = [_assign(target[i], v, kept, path + (str(i),)) if i < len(target) else v
                     for i, v in enumerate(new)]
        return target
    return new


class Session:
    """What Recorder and Replayer share: the tape, the running check, the import hook."""

    def __init__(self) -> None:
        self.names: dict[str, Any] = {}      # qualified name -> "module" | "callable" | "constant" | [...]
        self.constants: dict[str, Any] = {}  # qualified name -> encoded constant
        self.tapes: dict[str, dict[str, dict]] = {}  # check id -> key -> entry
        self.arrays = Arrays()
        self.check_id = MODULE_SECTION
        self._mismatches: list[str] = []
        self._hints_lost: list[str] = []      # Note [Hints the tape may lack]
        self.mismatched: dict[str, str] = {}  # check id -> its first ReplayMismatch
        self._proxies: dict[str, Proxy] = {}

    # -- loading checks.py (Note [Reference imports]) -----------------------------
    def builtins(self) -> dict:
        """A `__builtins__` for checks.py whose imports of `reference` go to this session."""
        table = dict(vars(builtins))
        original = builtins.__import__

        def import_(name, globals=None, locals=None, fromlist=(), level=0):
            if level == 0 and (name == PACKAGE or name.startswith(PACKAGE + ".")):
                self.import_module(name)
                return self.proxy(name if fromlist else PACKAGE)
            return original(name, globals, locals, fromlist, level)

        table["__import__"] = import_
        return table

    def load_module(self, path: Path, module_name: str) -> types.ModuleType:
        """Execute the checks module at `path` with this session as its `reference`."""
        module = types.ModuleType(module_name)
        module.__file__ = str(path)
        module.__dict__["__builtins__"] = self.builtins()
        sys.modules[module_name] = module  # dataclasses look their module up there
        try:
            exec(compile(Path(path).read_text(), str(path), "exec"), module.__dict__)
        except BaseException:
            del sys.modules[module_name]
            raise
        return module

    def proxy(self, name: str) -> Proxy:
        if name not in self._proxies:
            self._proxies[name] = Proxy(self, name)
        return self._proxies[name]

    # -- the running check (Note [Never a false pass]) ------------------------------
    def run_check(self, check_id: str, run: Callable, *args):
        """run(*args) as check `check_id`; ReplayMismatch at the end if it asked anything unrecorded."""
        __tracebackhide__ = True
        from ..checks.spec import CheckFailure
        previous, self.check_id = self.check_id, check_id
        self._mismatches, self._hints_lost = [], []
        state = np.random.get_state()
        np.random.seed(_check_seed(check_id))
        try:
            outcome = run(*args)
        except CheckFailure as failure:
            if self._mismatches:
                self.mismatched[check_id] = self._mismatches[0]
                raise ReplayMismatch(self._mismatches[0]) from None
            if self._hints_lost:
                raise type(failure)(failure.message + "\n(a hint about a known mistake could "
                                    "not be computed from the recorded outputs)", hint=failure.hint,
                                    details=failure.details) from None
            raise
        except BaseException:
            if self._mismatches:
                self.mismatched[check_id] = self._mismatches[0]
                raise ReplayMismatch(self._mismatches[0]) from None
            raise
        finally:
            np.random.set_state(state)
            self.check_id = previous
        lost = self._mismatches or self._hints_lost
        if lost:
            self.mismatched[check_id] = lost[0]
            raise ReplayMismatch(lost[0])
        return outcome

    def tape(self) -> dict[str, dict]:
        return self.tapes.setdefault(self.check_id, {})

    # -- keys ---------------------------------------------------------------------
    def _sync(self, handle: Handle) -> None:
        """Fold into the handle's key every change the check made to what it exposed."""
        state = _state(handle)
        for index, exposed in enumerate(state.exposed):
            now = fingerprint(exposed.value, self)
            if now != exposed.fingerprint:
                state.key = _digest("mutated", state.key, str(index), now)
                exposed.fingerprint = now

    def _expose(self, handle: Handle, value) -> None:
        if isinstance(value, (dict, list, np.ndarray)):
            _state(handle).exposed.append(_Exposed(value, fingerprint(value, self)))

    def _call_key(self, kind: str, target: str, args: tuple, kwargs: dict) -> str:
        return _digest(kind, target, fingerprint(args, self), fingerprint(kwargs, self))

    # -- to be provided by Recorder and Replayer ----------------------------------
    def import_module(self, name: str) -> None:
        raise NotImplementedError

    def attribute(self, owner: str, name: str):
        raise NotImplementedError

    def call_function(self, name: str, args: tuple, kwargs: dict):
        raise NotImplementedError

    def call_method(self, handle: Handle, name: str, args: tuple, kwargs: dict):
        raise NotImplementedError

    def get_attribute(self, handle: Handle, name: str):
        raise NotImplementedError

    def set_attribute(self, handle: Handle, name: str, value) -> None:
        state = _state(handle)
        self._sync(handle)
        state.key = _digest("set", state.key, name, fingerprint(value, self))
        if state.real is not None:
            setattr(state.real, name, _unwrap(value))
        self._expose(handle, value)

    # -- storage ------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        """tape.json and arrays.npz in `folder` (Note [Tape])."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        document = {"schema": SCHEMA, "names": self.names, "constants": self.constants,
                    "checks": self.tapes}
        (folder / "tape.json").write_text(json.dumps(document, indent=1))
        with open(folder / "arrays.npz", "wb") as stream:
            np.savez_compressed(stream, **self.arrays.arrays)


def _unwrap(value):
    """The real object behind a handle (recording only); plain data is passed as it is."""
    if isinstance(value, Handle):
        real = _state(value).real
        if real is None:
            raise TapeError("a replayed reference object has no real object behind it")
        return real
    return value


class Recorder(Session):
    """Calls the real reference and tapes every answer (Note [Tape]).

    Recording never changes what a check does: a value the tape cannot hold is
    noted in `problems` (that check is then left out of a release) and the real
    answer is used all the same.
    """

    def __init__(self) -> None:
        super().__init__()
        self.problems: dict[str, list[str]] = {}
        self._real: dict[str, Any] = {}

    def problem(self, text: str) -> None:
        notes = self.problems.setdefault(self.check_id, [])
        if text not in notes:
            notes.append(text)

    def import_module(self, name: str) -> None:
        parts = name.split(".")
        for i in range(1, len(parts) + 1):
            prefix = ".".join(parts[:i])
            if prefix not in self._real:
                self._real[prefix] = importlib.import_module(prefix)
                self.names[prefix] = "module"

    def attribute(self, owner: str, name: str):
        full = f"{owner}.{name}"
        if full in self._real:
            return self._value_of(full)
        parent = self._real[owner]
        try:
            value = getattr(parent, name)
        except AttributeError:
            if not isinstance(parent, types.ModuleType):
                raise
            try:
                value = importlib.import_module(full)
            except ModuleNotFoundError:
                raise AttributeError(f"module {owner!r} has no attribute {name!r}") from None
        self._real[full] = value
        if isinstance(value, types.ModuleType):
            inside = value.__name__ == PACKAGE or value.__name__.startswith(PACKAGE + ".")
            self.names[full] = "module" if inside else ["external", value.__name__]
        elif callable(value) and not (isinstance(value, type) and _type_name(value)):
            self.names[full] = "callable"
        else:
            try:
                self.constants[full] = _constant_encoder(self.arrays).encode(value)
                self.names[full] = "constant"
            except TapeError as exc:
                self.problem(f"{full} is {exc}, which the tape cannot hold")
                self.names[full] = "unrecorded"
        return self._value_of(full)

    def _value_of(self, full: str):
        kind = self.names[full]
        if kind in ("module", "callable"):
            return self.proxy(full)
        if kind == "constant":
            return _decode(self.constants[full], self.arrays)
        return self._real[full]

    # -- calls --------------------------------------------------------------------
    def call_function(self, name: str, args: tuple, kwargs: dict):
        return self._record(("call", name), self._real[name], name, args, kwargs, None)

    def call_method(self, handle: Handle, name: str, args: tuple, kwargs: dict):
        state = _state(handle)
        if not self._synced(handle):
            return getattr(state.real, name)(*map(_unwrap, args),
                                             **{k: _unwrap(v) for k, v in kwargs.items()})
        return self._record(("method", f"{state.key}.{name}"), getattr(state.real, name),
                            f"{state.label}.{name}", args, kwargs, handle)

    def _synced(self, handle: Handle) -> bool:
        """_sync, noting a problem (and False) when an exposed value is no longer plain data."""
        try:
            self._sync(handle)
            return True
        except TapeError as exc:
            self.problem(f"{_state(handle).label} holds {exc}, which the tape cannot hold")
            return False

    def set_attribute(self, handle: Handle, name: str, value) -> None:
        try:
            super().set_attribute(handle, name, value)
        except TapeError as exc:
            self.problem(f"{_state(handle).label}.{name} was set to {exc}, which the tape "
                         f"cannot hold")
            setattr(_state(handle).real, name, _unwrap(value))

    def _record(self, target: tuple, function: Callable, label: str, args: tuple, kwargs: dict,
                handle: Handle | None):
        try:
            key = self._call_key(*target, args, kwargs)
            before = [fingerprint(v, self) for v in (*args, *kwargs.values())]
        except TapeError as exc:
            self.problem(f"{label} was given {exc}, which the tape cannot hold")
            return function(*map(_unwrap, args), **{k: _unwrap(v) for k, v in kwargs.items()})
        rng = np.random.get_state()
        members = [_members(v) for v in (*args, *kwargs.values())]
        exposed = [_members(e.value) for e in _state(handle).exposed] if handle is not None else []
        try:
            result = function(*map(_unwrap, args), **{k: _unwrap(v) for k, v in kwargs.items()})
        except Exception as exc:
            self._store(key, {"raises": [type(exc).__name__, str(exc)]}, label)
            raise
        entry: dict = {}
        try:
            values = (*args, *kwargs.values())
            changed = {str(i): v for i, (v, old) in enumerate(zip(values, before))
                       if not isinstance(v, Handle) and fingerprint(v, self) != old}
            aliases = {id(v): ["argument", int(i)] for i, v in enumerate(values)}
            encoder = _Encoder(self.arrays, aliases=aliases)
            if changed:
                entry["arguments_after"] = {
                    i: {"value": _Encoder(self.arrays).encode(v), **_changed(members[int(i)], v)}
                    for i, v in changed.items()}
            if handle is not None:
                entry.update(self._exposed_after(handle, exposed))
            if not _same_rng(rng, np.random.get_state()):
                entry["random_state"] = _Encoder(self.arrays).encode(np.random.get_state())
            handles: list[tuple[tuple, Any]] = []
            encoder.objects = lambda value, path: (handles.append((path, value)) or
                                                   {"handle": list(map(str, path))})
            entry["result"] = encoder.encode(result)
        except TapeError as exc:
            self.problem(f"{label} returned or changed {exc}, which the tape cannot hold")
            return result
        self._store(key, entry, label)
        for value in values:
            if isinstance(value, Handle):
                _state(value).key = _digest("passed", _state(value).key, key)
        if handle is not None:
            _state(handle).key = _digest("after", key)
        if not handles:
            return result
        made = {}
        for path, real in handles:
            path = tuple(map(str, path))
            made[path] = Handle(self, _HandleState(_digest("result", key, *path), f"{label}()", real))
        return _substitute(result, made, ())

    def _exposed_after(self, handle: Handle, before: list[dict]) -> dict:
        """What the call changed in values the check read from the handle or gave it."""
        after = {}
        for index, exposed in enumerate(_state(handle).exposed):
            now = fingerprint(exposed.value, self)
            if now != exposed.fingerprint:
                after[str(index)] = {"value": _Encoder(self.arrays).encode(exposed.value),
                                     **_changed(before[index], exposed.value)}
                exposed.fingerprint = now
        return {"exposed_after": after} if after else {}

    def get_attribute(self, handle: Handle, name: str):
        state = _state(handle)
        if not self._synced(handle):
            return getattr(state.real, name)
        key = _digest("get", state.key, name)
        value = getattr(state.real, name)
        if callable(value) and not isinstance(value, (np.ndarray, dict, list)):
            self._store(key, {"method": True}, f"{state.label}.{name}")
            return _Method(handle, name)
        shared = _find_exposed(state, value)
        if shared is not None:  # the very object the check gave or read before
            self._store(key, {"exposed": shared}, f"{state.label}.{name}")
            return value
        try:
            self._store(key, {"result": _Encoder(self.arrays).encode(value)}, f"{state.label}.{name}")
            self._expose(handle, value)
        except TapeError as exc:
            self.problem(f"{state.label}.{name} is {exc}, which the tape cannot hold")
        return value

    def merge(self, other: "Recorder", check_ids) -> None:
        """Add `other`'s answers to the checks `check_ids` (a recording of another submission)."""
        for check_id in check_ids:
            mine = self.tapes.setdefault(check_id, {})
            for key, entry in other.tapes.get(check_id, {}).items():
                if mine.setdefault(key, entry) != entry:
                    self.problems.setdefault(check_id, []).append(
                        "the reference answered the same question differently in two recordings")
        for name, kind in other.names.items():
            self.names.setdefault(name, kind)
        for name, value in other.constants.items():
            self.constants.setdefault(name, value)
        for name, array in other.arrays.arrays.items():
            self.arrays.arrays.setdefault(name, array)

    def _store(self, key: str, entry: dict, label: str) -> None:
        tape = self.tape()
        if key in tape and tape[key] != entry:
            self.problem(f"{label} answered the same question differently twice")
        tape[key] = entry


def _same_rng(a, b) -> bool:
    return a[0] == b[0] and a[2:] == b[2:] and np.array_equal(a[1], b[1])


def _substitute(value, made: dict[tuple, Handle], path: tuple):
    """`value` with the objects at the paths in `made` replaced by their handles."""
    if path in made:
        return made[path]
    if type(value) is tuple:
        return tuple(_substitute(v, made, path + (str(i),)) for i, v in enumerate(value))
    if type(value) is list:
        return [_substitute(v, made, path + (str(i),)) for i, v in enumerate(value)]
    if type(value) is dict:
        return {k: _substitute(v, made, path + (str(k) if type(k) is str else repr(k),))
                for k, v in value.items()}
    return value


class Replayer(Session):
    """Serves a tape's answers; never imports the reference (Note [Reference imports])."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        folder = Path(folder)
        try:
            document = json.loads((folder / "tape.json").read_text())
            with np.load(folder / "arrays.npz", allow_pickle=False) as stored:
                self.arrays = Arrays({name: stored[name] for name in stored.files})
        except (OSError, ValueError) as exc:
            raise TapeError(f"cannot read the recorded expected values in {folder}: {exc}") from None
        if not isinstance(document, dict) or document.get("schema") != SCHEMA:
            raise TapeError(f"{folder / 'tape.json'} is not a {SCHEMA} document")
        self.names = dict(document.get("names") or {})
        self.constants = dict(document.get("constants") or {})
        self.tapes = {str(k): dict(v) for k, v in (document.get("checks") or {}).items()}
        self.served: set[tuple[str, str]] = set()  # (check id, key) of every answer given

    def import_module(self, name: str) -> None:
        if self.names.get(name) != "module":
            raise ModuleNotFoundError(f"No module named {name!r} in this release's recorded "
                                      f"reference (the release does not include reference code)")

    def attribute(self, owner: str, name: str):
        full = f"{owner}.{name}"
        kind = self.names.get(full)
        if kind in ("module", "callable"):
            return self.proxy(full)
        if kind == "constant":
            return _decode(self.constants[full], self.arrays)
        if isinstance(kind, list) and kind[:1] == ["external"]:
            return importlib.import_module(kind[1])
        raise AttributeError(f"{owner} has no attribute {name!r} in this release's recording")

    def _missing(self, label: str) -> ReplayMismatch:
        message = (f"this release has no recorded reference answer for {label} with these inputs "
                   f"(in check {self.check_id or 'loading'}); they differ from those the "
                   f"expected outputs were recorded for, so only the course's grader can judge "
                   f"this check")
        (self._hints_lost if _computing_a_hint() else self._mismatches).append(message)
        return ReplayMismatch(message)

    def _entry(self, key: str, label: str) -> dict:
        entry = self.tape().get(key)
        if entry is None:
            raise self._missing(label)
        self.served.add((self.check_id, key))
        return entry

    def call_function(self, name: str, args: tuple, kwargs: dict):
        return self._replay(self._call_key("call", name, args, kwargs), name, args, kwargs, None)

    def call_method(self, handle: Handle, name: str, args: tuple, kwargs: dict):
        state = _state(handle)
        self._sync(handle)
        key = self._call_key("method", f"{state.key}.{name}", args, kwargs)
        return self._replay(key, f"{state.label}.{name}", args, kwargs, handle)

    def _replay(self, key: str, label: str, args: tuple, kwargs: dict, handle: Handle | None):
        entry = self._entry(key, label)
        if "raises" in entry:
            kind, message = entry["raises"]
            error = getattr(builtins, kind, None)
            if isinstance(error, type) and issubclass(error, Exception):
                raise error(message)
            raise RuntimeError(f"{kind}: {message}")
        values = (*args, *kwargs.values())
        for index, change in (entry.get("arguments_after") or {}).items():
            _assign(values[int(index)], _decode(change["value"], self.arrays),
                    {tuple(path) for path in change["kept"]})
        if handle is not None:
            exposed = _state(handle).exposed
            for index, change in (entry.get("exposed_after") or {}).items():
                item = exposed[int(index)]
                item.value = _assign(item.value, _decode(change["value"], self.arrays),
                                     {tuple(path) for path in change["kept"]})
                item.fingerprint = fingerprint(item.value, self)
        if "random_state" in entry:
            np.random.set_state(_decode(entry["random_state"], self.arrays))
        for value in values:
            if isinstance(value, Handle):
                _state(value).key = _digest("passed", _state(value).key, key)
        if handle is not None:
            _state(handle).key = _digest("after", key)
        return _decode(entry.get("result"), self.arrays,
                       handles=lambda path: Handle(self, _HandleState(
                           _digest("result", key, *path), f"{label}()")),
                       aliases=lambda alias: values[int(alias[1])])

    def get_attribute(self, handle: Handle, name: str):
        state = _state(handle)
        self._sync(handle)
        entry = self._entry(_digest("get", state.key, name), f"{state.label}.{name}")
        if entry.get("method"):
            return _Method(handle, name)
        if "exposed" in entry:
            index, path = entry["exposed"]
            return _at(state.exposed[int(index)].value, path)
        value = _decode(entry.get("result"), self.arrays)
        self._expose(handle, value)
        return value
