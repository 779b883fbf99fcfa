"""The student worker: imports the submission and runs one call at a time.

Runs inside the sandbox, started by grader/worker/launch.py as `python -I -S start.py`, which
imports it (Note [Worker start] in start.py), with the wire on file descriptors 3 (requests in) and 4
(replies out); fds 1 and 2 are the student's stdout/stderr, captured by the
judge.  It needs only the standard library, numpy, wire.py and numpy_compat.py next to it, so it
runs under a course's own interpreter (see Note [Trust boundary]; grader/worker/envs.py
makes such interpreters).  So this file, wire.py, numpy_compat.py and notebook_cells.py must work on
Python 3.9-3.12 with NumPy 1.23-2.x: no `match`, no `X | Y` outside annotations
(which `from __future__ import annotations` leaves unevaluated), no NumPy-2-only
API; tests/grader/worker/test_envs.py runs the worker under Python 3.9 with NumPy 1.23.

Nothing here is trusted by the judge: student code shares this process and may
patch anything in it.  The worst it can do is send different data back, which
is no more than returning different values; the judge decodes replies strictly
and compares them with the reference itself.

# Note [Worker objects]
Every call's return value is kept in a table under a handle, and the reply
carries a plain-data conversion of it.  Arguments may point back into that table
({"__ref__": [handle, step, ...]}), so `backward(dout, cache)` can take the
`cache` from an earlier `forward` without the cache ever crossing the wire, and
class-based APIs (`model = FullyConnectedNet(...)`, `model.loss(X, y)`,
`model.params['W1'] = ...`) work through handles.  A step is ["item", key] or
["attr", name].  Values that cannot be converted (a cache of student objects,
a model) are described as {"__opaque__": type name} rather than sent.
"""

from __future__ import annotations

import collections
import importlib
import inspect
import math
import os
import sys
import time
import traceback

import numpy as np
# Note [numpy.random at start]
# numpy imports numpy.random lazily, on first use: 16 ms of the first check that draws (every
# course network's constructor does), and of every warm worker's start, since a zygote's child
# reseeds np.random with fresh entropy after its fork (grader/worker/zygote.py).  Imported here,
# it is paid once per zygote, and by a cold worker while the judge still imports pytest.  The
# global generator is seeded from fresh entropy at this import, as at a later one.
import numpy.random  # noqa: E402,F401

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wire  # noqa: E402  (the worker is run as a script, next to wire.py)
import numpy_compat  # noqa: E402  (likewise)

REQUEST_FD, REPLY_FD = 3, 4
MAX_DEPTH = 24
MAX_ITEMS = 10_000


class Table:
    """Objects kept in the worker; see Note [Worker objects]."""

    def __init__(self) -> None:
        self.objects: dict[int, object] = {}
        self.next_id = 1

    def keep(self, value) -> int:
        handle = self.next_id
        self.next_id += 1
        self.objects[handle] = value
        return handle

    def resolve(self, ref: list):
        if not ref or ref[0] not in self.objects:
            raise LookupError(f"unknown handle {ref[:1]}")
        value = self.objects[ref[0]]
        for step in ref[1:]:
            kind, key = step
            value = value[key] if kind == "item" else getattr(value, key)
        return value


def _type_name(value) -> str:
    cls = type(value)
    module = getattr(cls, "__module__", "") or ""
    return f"{module}.{cls.__qualname__}" if module not in ("builtins", "") else cls.__qualname__


def _tensor_to_numpy(value):
    """torch / TensorFlow tensors become arrays here, in the worker, never in the judge."""
    module = type(value).__module__ or ""
    if module.startswith("torch") and hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    if module.startswith("tensorflow") and hasattr(value, "numpy"):
        return value.numpy()
    return None


def to_plain(value, depth: int = 0, budget: list | None = None):
    """Convert a student value to wire data; anything else becomes an opaque marker."""
    budget = budget if budget is not None else [MAX_ITEMS]
    budget[0] -= 1
    if depth > MAX_DEPTH or budget[0] < 0:
        return {"__opaque__": _type_name(value), "why": "too deeply nested or too large"}
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, np.ndarray):
        if value.dtype.kind in wire.NUMERIC_KINDS and value.dtype.fields is None:
            array = np.array(value, copy=True).view(np.ndarray)
            if type(value) is np.ndarray:
                return array
            return {"__converted__": _type_name(value), "value": array}
        return {"__opaque__": f"ndarray of dtype {value.dtype}"}
    if isinstance(value, np.generic) and value.dtype.kind in wire.NUMERIC_KINDS:
        return np.asarray(value)
    for base in (bool, int, float, str):  # subclasses of the builtins lose their class
        if isinstance(value, base):
            return {"__converted__": _type_name(value), "value": base(value)}
    tensor = None
    try:
        tensor = _tensor_to_numpy(value)
    except Exception:
        tensor = None
    if tensor is not None:
        return {"__converted__": _type_name(value), "value": to_plain(np.asarray(tensor), depth + 1, budget)}
    if type(value) in (tuple, list, dict) and len(value) > budget[0]:
        budget[0] = -1  # one marker for the whole container, not one per item beyond the budget
        return {"__opaque__": _type_name(value), "why": "too deeply nested or too large"}
    if type(value) is tuple:
        return tuple(to_plain(v, depth + 1, budget) for v in value)
    if type(value) is list:
        return [to_plain(v, depth + 1, budget) for v in value]
    if type(value) is dict:
        if all(type(k) is str for k in value):
            return {k: to_plain(v, depth + 1, budget) for k, v in value.items()}
        return {"__opaque__": "dict with non-string keys"}
    return {"__opaque__": _type_name(value)}


_LEAVES = wire.LEAVES_AND_ARRAYS  # Note [Leaves first] in wire.py


def _materialise(value, table: Table):
    """Replace {"__ref__": [...]} markers in arguments by the objects they name."""
    if type(value) in _LEAVES:
        return value
    if isinstance(value, dict):
        if len(value) == 1 and "__ref__" in value:
            return table.resolve(value["__ref__"])
        return {k: _materialise(v, table) for k, v in value.items()}
    if isinstance(value, list):
        return [_materialise(v, table) for v in value]
    if isinstance(value, tuple):
        return tuple(_materialise(v, table) for v in value)
    return value


def _snapshot(value):
    """A deep copy of the array leaves of an argument, to notice writes into inputs."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, dict):
        return {k: _snapshot(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_snapshot(v) for v in value]
    return None


def _changed_arrays(before, after, path: str) -> list[str]:
    if isinstance(before, np.ndarray):
        same = (isinstance(after, np.ndarray) and after.shape == before.shape
                and (after.dtype == before.dtype and after.tobytes() == before.tobytes()
                     or np.array_equal(after, before, equal_nan=True)))  # bytes: the fast case
        return [] if same else [path]
    if isinstance(before, dict) and isinstance(after, dict):
        return [p for k, v in before.items() if k in after
                for p in _changed_arrays(v, after[k], f"{path}[{k!r}]")]
    if isinstance(before, list) and isinstance(after, (list, tuple)):
        return [p for i, v in enumerate(before) if i < len(after)
                for p in _changed_arrays(v, after[i], f"{path}[{i}]")]
    return []


def _student_traceback(exc: BaseException) -> tuple[str, str]:
    """The traceback limited to frames outside this file, and the innermost student location."""
    # Keep only the innermost frames: a runaway recursion leaves millions of them.
    innermost = collections.deque(traceback.walk_tb(exc.__traceback__), maxlen=32)
    summary = traceback.StackSummary.extract(innermost, limit=None)
    frames = [f for f in summary if os.path.abspath(f.filename) != os.path.abspath(__file__)]
    where = f"{os.path.basename(frames[-1].filename)}:{frames[-1].lineno}" if frames else ""
    text = "".join(traceback.format_list(frames[-8:])) + "".join(
        traceback.format_exception_only(type(exc), exc))
    return text[-4000:], where


def _error(exc: BaseException) -> dict:
    text, where = _student_traceback(exc)
    error = {"type": type(exc).__name__, "message": str(exc)[:2000], "traceback": text, "where": where}
    if type(getattr(exc, "grader_index", None)) is int:
        error["index"] = exc.grader_index
    if isinstance(exc, SyntaxError):
        error.update(file=os.path.basename(exc.filename or ""), line=exc.lineno or 0,
                     text=(exc.text or "").rstrip()[:500])
    return error


def _ref_path(ref):
    """A ref as the list [handle, step...]: as sent, or as `_part_refs` made it of a Part of the
    same stream ({"__ref__": [...]}: a method of an earlier call's result, assignments into it;
    Note [Sets in the student's shape])."""
    if type(ref) is dict and len(ref) == 1 and "__ref__" in ref:
        return ref["__ref__"]
    return ref


def _resolve_target(request: dict, table: Table):
    target = request["target"]
    if "ref" in target:
        obj = table.resolve(_ref_path(target["ref"]))
    else:
        obj = importlib.import_module(target["module"])
    for name in target.get("attrs", []):
        obj = getattr(obj, name)
    return obj


def op_hello(request: dict, table: Table) -> dict:
    # The first request of every worker, before any student code: Note [NumPy names restored],
    # unless the course turned it off (`restore_numpy`, Note [Conventions] in
    # grader/scoring/assignment.py).
    restored = numpy_compat.install() if request.get("restore_numpy", True) is not False else []
    return {"python": sys.version.split()[0], "numpy": np.__version__, "pid": os.getpid(),
            "cwd": os.getcwd(), "executable": sys.executable, "numpy_restored": restored}


def op_path(request: dict, table: Table) -> dict:
    for entry in reversed(request["paths"]):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    return {"sys_path": list(sys.path)}


def op_import(request: dict, table: Table) -> dict:
    module = importlib.import_module(request["module"])
    reply = {"file": getattr(module, "__file__", None)}
    if request.get("describe"):  # Note [Import and describe] in client.py
        reply.update(op_describe({"target": {"module": request["module"]}}, table))
    return reply


def op_describe(request: dict, table: Table) -> dict:
    """Public callables of a module or object with their signatures (for names and adapters)."""
    obj = _resolve_target(request, table)
    members = {}
    for name in dir(obj):
        if name.startswith("_"):
            continue
        try:
            member = getattr(obj, name)
        except Exception:
            continue
        if callable(member):
            try:
                members[name] = str(inspect.signature(member))
            except (TypeError, ValueError):
                members[name] = ""
    return {"members": members}


def op_call(request: dict, table: Table) -> dict:
    if "sets" in request:  # Note [Sets folded into a call] in client.py
        _assign(request["sets"], table, batch=True)
    function = _resolve_target(request, table)
    args = _materialise(request.get("args", []), table)
    kwargs = _materialise(request.get("kwargs", {}), table)
    before = _snapshot([args, kwargs]) if request.get("watch_inputs", True) else None
    start = time.perf_counter()
    result = function(*args, **kwargs)
    seconds = time.perf_counter() - start
    reply = {"handle": table.keep(result), "seconds": seconds}
    if request.get("convert", True):
        reply["value"] = to_plain(_items_asked(result, request.get("value_items")))
    if before is not None:
        reply["mutated"] = (_changed_arrays(before[0], args, "args")
                            + _changed_arrays(before[1], kwargs, "kwargs"))
    if request.get("return_args"):
        reply["args_after"] = to_plain(args)
        reply["kwargs_after"] = to_plain(kwargs)
    if "reads" in request:  # Note [Reads folded into a call] in client.py
        reply["reads"] = [_read(ref, reply["handle"], table) for ref in request["reads"]]
    return reply


# Note [Items of a result]
# A check may want only some items of a tuple a function returns: dropout's `(out, cache)` is
# judged by `out`, and the cache (a mask as large as x, 6 MB of a dropout `grade check` of the
# solution, 2 MB a call of the notebook's experiment) stays in the worker, where a later call
# takes it by handle.  A call's `value_items` ([0]) asks for those items alone: where the
# result is a plain tuple or list, it is sent as a tuple or list of the same type and length
# with every other item None; any other result is sent whole, as without it.  So the judge
# still sees what the student returned, its type and length, and every item it judges,
# converted exactly as before; it never reads the items it did not ask for.
def _items_asked(result, items):
    """`result` with only `items` kept, for a call's `value_items` (Note [Items of a result])."""
    if type(items) is not list or type(result) not in (tuple, list):
        return result
    wanted = {i for i in items if type(i) is int}
    return type(result)(v if i in wanted else None for i, v in enumerate(result))


def _read(ref: list, handle: int, table: Table) -> dict:
    """{"value": the plain data at `ref`} or {"error": ...}, as `get` answers; a ref whose
    handle is 0 starts at the result of the call being answered."""
    if isinstance(ref, list) and ref and type(ref[0]) is int and ref[0] == 0:
        ref = [handle, *ref[1:]]
    answer: dict = {}
    if _answer(answer, lambda: {"value": to_plain(table.resolve(ref))}):
        return {"value": answer["value"]}
    return {"error": answer["error"]}


def op_get(request: dict, table: Table) -> dict:
    return {"value": to_plain(table.resolve(request["ref"]))}


def op_set(request: dict, table: Table) -> dict:
    """One assignment (`ref`, `value`), or several in order (`items`: [[ref, value], ...],
    Note [Batched sets] in client.py); the first that raises ends the request, its error
    saying which one (`index`)."""
    if "items" in request:
        _assign(request["items"], table, batch=True)
    else:
        _assign([[request["ref"], request["value"]]], table, batch=False)
    return {}


def _assign(items: list, table: Table, batch: bool) -> None:
    """Make the assignments [[ref, value], ...] in order; the first that raises ends them,
    marked (when `batch`) with its position for _error's `index`."""
    for index, item in enumerate(items):
        try:
            ref, value = _ref_path(item[0]), item[1]
            owner = table.resolve(ref[:-1])
            kind, key = ref[-1]
            value = _materialise(value, table)
            if len(item) > 2 and item[2] == "like" and kind == "item":
                value = _in_held_shape(owner, key, value)  # Note [Sets in the student's shape]
            if kind == "item":
                owner[key] = value
            else:
                setattr(owner, key, value)
        except BaseException as exc:
            if batch:
                try:
                    exc.grader_index = index  # read by _error
                except BaseException:
                    pass
            raise


# Note [Sets in the student's shape]
# The judge hands a model its parameters in the shapes the student's own model keeps them in
# (a (1, H) bias; Note [Singleton axes] in grader/checks/compare.py): it read `model.params`
# right after the constructor returned and reshaped each of its values (`in_shape`), which
# took a round trip between building a model and asking it anything.  An assignment marked
# "like" ([ref, value, "like"]) is reshaped here instead, by the same rule, from the same
# reading: where the dict it goes into is one that read would have sent (a plain dict with
# string keys) and the value now held under that key converts to an array (`to_plain`, as
# that read converts it), a value that differs from that array's shape only by axes of
# length 1 takes its shape; any other value is assigned as it came.  Nothing here is trusted:
# the shape only decides what the student's own code is handed, and the judge compares what
# that code answers with the reference at the judge's own values, whatever their shape.
def _in_held_shape(owner, key, value):
    """`value` in the shape of the array held at owner[key], by Note [Sets in the student's
    shape]'s rule; `value` itself where that rule does not apply."""
    if type(value) is not np.ndarray or type(owner) is not dict \
            or not all(type(k) is str for k in owner) or key not in owner:
        return value
    held = owner[key]
    if not (type(held) is np.ndarray and held.dtype.kind in wire.NUMERIC_KINDS
            and held.dtype.fields is None):  # what the read would not send as it is: convert
        held = to_plain(held)  # (a plain numeric array's shape needs no copy)
        if type(held) is dict and "__converted__" in held and "__opaque__" not in held:
            held = held.get("value")
    if type(held) is not np.ndarray or held.shape == value.shape \
            or not _same_up_to_singletons(value.shape, held.shape):
        return value
    return value.reshape(held.shape)


def _same_up_to_singletons(shape: tuple, expected: tuple) -> bool:
    """grader/checks/compare.py's same_up_to_singletons (this file imports nothing of the
    judge's): the same number of entries, and the same shape once axes of length 1 are dropped."""
    return (math.prod(shape) == math.prod(expected)
            and tuple(d for d in shape if d != 1) == tuple(d for d in expected if d != 1))


# Note [Training mirrored in the worker]
# The overfitting checks (Note [Judge holds the state] in grader/checks/trust.py) ask the
# student's `model.loss` at parameters the judge holds, step after step.  Sending those
# parameters with every step moved a network's worth of arrays out and a network's worth
# back per step, one round trip each (41 requests, 5.6 MB out per fc_nets submission).  A
# `train` request sends the judge's starting parameters, the training data and the
# minibatches' indices once; for each batch the worker installs a COPY of its mirror of the
# parameters (`model.params[name] = ...`, as the judge's own assignments did), calls the
# method on X[batch], y[batch], answers as a call of a `calls` request would (one reply
# frame per step, part = its position), and then applies to its mirror the update the judge
# applies once it has verified that reply: w - learning_rate * dw, dw as the judge reads it
# from the very plain data of that reply (`_sgd_update`), so an honest worker's mirror is the
# judge's parameters to the bit.  Nothing here is trusted: the judge checks every step's loss
# and gradients against the reference at ITS parameters, so a mirror that drifted (or a
# worker that lies) fails that check.  A reply whose gradients the judge would refuse cannot
# be applied; the mirror is then marked broken and the next step raises instead of running
# on parameters the judge would never hold.  The mirror is kept in the table (the reply's
# "state"), so a later `train` request with that "state" goes on from where it ended.
class Training:
    """The worker's side of a `train` request (Note [Training mirrored in the worker])."""

    def __init__(self, request: dict) -> None:
        self.target = request["target"]
        self.owner = list(request["owner"])  # a ref to the dict the parameters go into
        self.params = {name: np.array(value, dtype=np.float64)
                       for name, value in request["params"].items()}
        self.X, self.y = request["X"], request["y"]
        self.learning_rate = float(request["learning_rate"])
        self.broken = ""

    def step(self, batch, table: Table) -> dict:
        if self.broken:
            raise ValueError(self.broken)
        if type(batch) is not np.ndarray:
            raise ValueError("a batch of a `train` request is not an array of indices")
        sets = [[self.owner + [["item", name]], value.copy()] for name, value in self.params.items()]
        reply = op_call({"target": self.target, "args": [self.X[batch], self.y[batch]],
                         "sets": sets, "watch_inputs": False}, table)
        updated = _sgd_update(self.params, reply.get("value"), self.learning_rate)
        if updated is None:
            self.broken = "the previous step's gradients cannot be applied"
        else:
            self.params = updated
        return reply


def _sgd_update(params: dict, value, learning_rate: float):
    """`params` after one SGD step with the gradients of `value` (a plain (loss, grads) as
    this worker sends it), exactly as the judge applies them (grader/checks/trust.py's
    `verify_step` and `judge_sgd`); None where the judge would refuse those gradients."""
    if type(value) not in (tuple, list) or len(value) != 2 or type(value[1]) is not dict:
        return None
    grads, updated = value[1], {}
    for name, current in params.items():
        grad = grads.get(name)
        if type(grad) is dict and isinstance(grad.get("__converted__"), str) \
                and "__opaque__" not in grad:
            grad = grad.get("value")
        if type(grad) is not np.ndarray or grad.dtype.kind not in "biuf" \
                or grad.size != current.size:
            return None
        updated[name] = current - learning_rate * grad.astype(np.float64).reshape(current.shape)
    return updated


def op_release(request: dict, table: Table) -> dict:
    for handle in request["handles"]:
        table.objects.pop(handle, None)
    return {}


OPS = {"hello": op_hello, "path": op_path, "import": op_import, "describe": op_describe,
       "call": op_call, "get": op_get, "set": op_set, "release": op_release}


_pending = bytearray()  # read ahead of the frame being parsed (Note [Read ahead], client.py)


def _read_exact(fd: int, n: int) -> bytes:
    while len(_pending) < n:
        chunk = os.read(fd, max(n - len(_pending), 1 << 16))
        if not chunk:
            raise EOFError
        _pending.extend(chunk)
    data = bytes(_pending[:n])
    del _pending[:n]
    return data


def _write_all(fd: int, parts: list) -> None:
    """Write the buffers of `wire.encode_parts` (Note [Frames in parts] in wire.py)."""
    wire.write_parts(lambda buffers: os.writev(fd, buffers), parts)


def _part_refs(value, handles: list):
    """Replace {"__part__": [index, step...]} (an earlier call of the same `calls` request,
    Note [Streamed calls] in client.py) by the {"__ref__": [...]} of its result."""
    if type(value) in _LEAVES:  # Note [Leaves first] in wire.py
        return value
    if isinstance(value, dict):
        if len(value) == 1 and "__part__" in value:
            part = value["__part__"]
            if not isinstance(part, list) or not part or type(part[0]) is not int \
                    or not 0 <= part[0] < len(handles):
                raise LookupError(f"unknown part {part!r:.40}")
            return {"__ref__": [handles[part[0]], *part[1:]]}
        return {k: _part_refs(v, handles) for k, v in value.items()}
    if isinstance(value, list):
        return [_part_refs(v, handles) for v in value]
    if isinstance(value, tuple):
        return tuple(_part_refs(v, handles) for v in value)
    return value


def _answer(reply: dict, work) -> bool:
    """Fill `reply` with `work()`'s fields (ok) or its error; whether it succeeded."""
    try:
        reply.update(ok=True, **work())
    except BaseException as exc:  # SystemExit and KeyboardInterrupt from student code too
        try:
            reply.update(ok=False, error=_error(exc))
        except BaseException:  # student code broke the reporting itself
            reply.update(ok=False, error={"type": "Error", "message": "unreportable error",
                                          "traceback": "", "where": ""})
    return bool(reply.get("ok"))


def _send(reply_fd: int, reply: dict) -> None:
    # The output first, then the reply is encoded and written with nothing in between: its
    # arrays are written from where they lie (Note [Frames in parts] in wire.py).
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        data = wire.encode_parts(reply)
    except wire.WireError as exc:
        data = wire.encode_parts({"id": reply.get("id"), **({"part": reply["part"]} if "part" in reply else {}),
                                  "ok": False, "error": {"type": "WireError", "message": str(exc),
                                                        "traceback": "", "where": ""}})
    _write_all(reply_fd, data)


def serve(request_fd: int = REQUEST_FD, reply_fd: int = REPLY_FD) -> None:
    table = Table()  # NumPy's removed names are restored by the first request, `hello` (op_hello)
    while True:
        try:
            frame = wire.read_frame(lambda n: _read_exact(request_fd, n))
        except EOFError:
            return
        request = wire.decode(frame)
        if request.get("op") == "calls":  # Note [Streamed calls] in client.py
            handles: list = []

            def call_one(call):
                if not isinstance(call, dict):
                    raise ValueError("a call of a `calls` request is not a dict")
                reply = op_call(_part_refs(call, handles), table)
                handles.append(reply["handle"])
                return reply
            _stream(request, request.get("calls") or [None], call_one, reply_fd)
            continue
        if request.get("op") == "train":  # Note [Training mirrored in the worker]
            _serve_training(request, table, reply_fd)
            continue
        op = OPS.get(request.get("op"))
        reply = {"id": request.get("id")}

        def work():
            if op is None:
                raise ValueError(f"unknown op {request.get('op')!r}")
            return op(request, table)
        _answer(reply, work)
        _send(reply_fd, reply)


def _serve_training(request: dict, table: Table, reply_fd: int) -> None:
    """One reply per batch of a `train` request, stopping after the first that fails (Note
    [Training mirrored in the worker]); each carries the training's handle as "state"."""
    holder: list = []

    def begin():
        if "state" in request:
            training = table.resolve([request["state"]])
            if not isinstance(training, Training):
                raise LookupError("unknown training")
        else:
            training = Training(request)
        holder.append(training)
        return table.keep(training) if "state" not in request else request["state"]

    state: list = []

    def step(batch):
        if not state:
            state.append(begin())
        reply = holder[0].step(batch, table)
        reply["state"] = state[0]
        return reply
    _stream(request, request.get("batches") or [None], step, reply_fd)


def _stream(request: dict, items: list, answer_one, reply_fd: int) -> None:
    """One reply per item, its position as "part", stopping after the first that fails (Note
    [Streamed calls] in client.py)."""
    for index, item in enumerate(items):
        reply = {"id": request.get("id"), "part": index}
        ok = _answer(reply, lambda item=item: answer_one(item))
        _send(reply_fd, reply)
        if not ok:
            break


def drop_privileges() -> None:
    """Stop being root before any student code runs (see Note [Sandbox] in grader/worker/sandbox.py)."""
    uid = os.environ.pop("GRADER_WORKER_UID", "")
    if uid and os.getuid() == 0:
        os.setgroups([])
        os.setgid(int(uid))
        os.setuid(int(uid))
    if os.getuid() == 0 and uid:
        raise SystemExit("worker could not drop root privileges")


if __name__ == "__main__":
    drop_privileges()
    serve()
