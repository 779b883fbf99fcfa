"""The wire format between the judge and the student worker: JSON plus npy.

This file is imported by both sides and by nothing else of the grader, so that
the worker runtime can be copied into a sandbox (and run under a course's own
interpreter) with only the standard library and numpy.  See
Note [Trust boundary] in grader/worker/client.py for why the format is this
narrow.

# Note [Frame format]
A frame is

    b"DLG1" | uint32 json_length | uint32 buffer_count | json | (uint64 length | npy bytes)*

all integers big-endian.  The JSON body is the message; every numpy array in it
is replaced by {"__nd__": index} and travels as an .npy buffer, which carries its
own dtype and shape and is read back with `allow_pickle=False`.  Nothing in a
frame is ever unpickled or evaluated: decoding is `json.loads` plus
`np.load(allow_pickle=False)` of numeric, boolean or complex arrays only, with a
cap on the frame's size.  Tuples travel as {"__tuple__": [...]} so that the judge
can tell `(out, cache)` from a list.

# Note [Decoded size]
A cap on bytes is not a cap on memory: 125 MB of JSON small floats decode to 2.4 GB of
Python objects, and a header announcing 2**32-1 buffers would be read eight bytes at a
time.  So the reader also bounds what the bytes decode to, and rejects before reading
or parsing anything that large: at most MAX_BUFFERS arrays (checked from the header,
together with the smallest size those lengths could take), a JSON body of at most
MAX_JSON_BYTES, at most MAX_ITEMS JSON values (counted as the body's `,`, `[` and `{`
bytes, an upper bound, before `json.loads`; about 100 bytes of objects each at most) and
containers nested at most MAX_DEPTH deep.  Arrays are numeric .npy buffers, whose
decoded size is their byte size.  Real replies are far below every bound: arrays travel
as buffers, not as JSON lists.
"""

from __future__ import annotations

import io
import json
import re
import struct

import numpy as np

MAGIC = b"DLG1"
_HEADER = struct.Struct(">4sII")
_LENGTH = struct.Struct(">Q")
# dtype kinds that may cross: bool, signed, unsigned, float, complex.
NUMERIC_KINDS = frozenset("biufc")
DEFAULT_MAX_FRAME_BYTES = 1 << 30
# Note [Decoded size]
MAX_BUFFERS = 10_000
MAX_JSON_BYTES = 32 << 20
MAX_ITEMS = 1_000_000
MAX_DEPTH = 100


class WireError(Exception):
    """A frame that is malformed, too large, or carries something that may not cross."""


# Note [Leaves first]
# Every walk of a message (encoding and decoding here; the worker's `_part_refs`,
# `_materialise`, `_snapshot`; the judge's `unmark`) visits each value, and most values are
# leaves: numbers, strings, arrays.  Each walk tests a value's exact type against its leaves
# first and returns it at once: a value of exactly one of those types is never a dict, list
# or tuple, so every walk returns what it returned before, with one test per leaf where the
# chain of isinstance tests made three or four (some 10,000 values are walked per fc_nets
# submission on each side; replaying its 117 requests in a worker took 97-99.5 ms of CPU
# instead of 100-103, student code included).
_LEAVES = frozenset((type(None), bool, int, float, str))
# The same with arrays, for the walks over decoded messages (the worker's and the judge's).
LEAVES_AND_ARRAYS = _LEAVES | {np.ndarray}


# Note [One pass to encode]
# The judge's requests hold its own markers (a Ref into the worker's table, a Part of a stream:
# grader/worker/client.py), which used to be turned into plain data by a walk of the whole
# message before `encode` walked it again: two walks of some 60 values per request (a call
# with a model's sets took 69 us to encode, 40 us in one walk).  `encode`'s
# `extra` maps such a type to the function that gives its plain data, used in the one walk
# (the result is walked as any other value).  The worker passes none, so what it may send is
# unchanged, and a value of any other type is refused as before.  Exact builtin leaves are
# tested first, as they are most of a message; everything else is tested in the old order.
def _to_jsonable(value, buffers: list[bytes], extra=None):
    kind = type(value)
    if kind in _LEAVES:
        return value
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in NUMERIC_KINDS or value.dtype.fields is not None:
            raise WireError(f"arrays of dtype {value.dtype} cannot cross the wire")
        buffers.append(_npy_parts(value))
        return {"__nd__": len(buffers) - 1}
    if isinstance(value, tuple):
        return {"__tuple__": [_to_jsonable(v, buffers, extra) for v in value]}
    if isinstance(value, list):
        return [_to_jsonable(v, buffers, extra) for v in value]
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise WireError(f"dict keys must be strings, got {type(key).__name__}")
            out[key] = _to_jsonable(item, buffers, extra)
        return out
    if extra is not None and kind in extra:  # Note [One pass to encode]
        return _to_jsonable(extra[kind](value), buffers, extra)
    raise WireError(f"{type(value).__name__} cannot cross the wire")


# Note [Fast npy]
# Arrays travel as .npy buffers (Note [Frame format]), but `np.save` and `np.load` cost 7 and
# 27 microseconds for a small array (building and `ast.literal_eval`-ing a header), several
# per call and a few hundred calls per submission.  So this module writes the version 1.0
# header itself, exactly as `np.save` does (the same bytes: tests/grader/worker/test_wire.py),
# and reads back a header of exactly that form with a strict pattern: a byte order and a
# numeric dtype code, C order, a shape of non-negative integers, and exactly as many data bytes
# as those announce.  Anything else (Fortran order, another npy version, an unusual spelling)
# goes to `np.load(allow_pickle=False)` as before, so the set of frames accepted and what they
# decode to are unchanged; only the common case is faster.
_NPY_MAGIC = b"\x93NUMPY\x01\x00"
_NPY_HEADER = re.compile(r"\{'descr': '([<>|])([biufc])([1-9][0-9]?)', 'fortran_order': False, "
                         r"'shape': \((|[0-9]{1,19},|[0-9]{1,19}(?:, [0-9]{1,19})+)\), \} *\n")


# Note [Header memo]
# A submission's requests carry arrays of a few dozen (dtype, shape) pairs over and over, so
# both directions remember headers: `_npy` the prefix it wrote for a (dtype, shape), and
# `_fast_load` what a header's exact bytes parsed to (dtype, shape, element count) once they
# passed the strict pattern.  A header is looked up by its whole bytes, so a buffer is
# accepted and decoded exactly as the pattern would have; the data length is still checked
# on every buffer.  Each memo is bounded (MEMO_LIMIT entries, then it stops growing), so a
# hostile peer sending endless new shapes costs the memory of a few thousand short headers.
MEMO_LIMIT = 4096
_write_memo: dict = {}
_read_memo: dict = {}


def _npy(array: np.ndarray) -> bytes:
    """`array` as the bytes `np.save(..., allow_pickle=False)` writes (Note [Fast npy])."""
    prefix, data = _npy_parts(array)
    return prefix + bytes(data)


def _npy_parts(array: np.ndarray) -> tuple:
    """`_npy(array)` as (header bytes, the array's own bytes uncopied: Note [Frames in parts])."""
    # ascontiguousarray returns at least 1-d; the reshape keeps a 0-d array (a numpy
    # scalar such as a loss) 0-d, so shapes cross the wire unchanged.
    array = np.ascontiguousarray(array).reshape(array.shape)
    key = (array.dtype.str, array.shape)
    prefix = _write_memo.get(key)  # Note [Header memo]
    if prefix is None:
        header = "{'descr': %r, 'fortran_order': False, 'shape': %r, }" % (
            array.dtype.str, tuple(int(n) for n in array.shape))
        header += " " * (63 - (len(_NPY_MAGIC) + 2 + len(header)) % 64) + "\n"
        prefix = b"".join((_NPY_MAGIC, struct.pack("<H", len(header)), header.encode("latin1")))
        if len(_write_memo) < MEMO_LIMIT:
            _write_memo[key] = prefix
    if array.nbytes < VIEW_BYTES:  # copying a small array costs less than viewing it
        return prefix, array.tobytes()
    # The same bytes as `tobytes()` (C order, the array's own byte order), as a flat view.
    return prefix, memoryview(array.reshape(-1).view(np.uint8))


def _parse_header(header: bytes):
    """(dtype, shape, count) of a header in the exact form `_npy` writes; None otherwise."""
    match = _NPY_HEADER.fullmatch(header.decode("latin1"))
    if match is None:
        return None
    order, kind, size, shape_text = match.groups()
    shape = tuple(int(n) for n in shape_text.replace(",", " ").split())
    dtype = np.dtype(order + kind + size)
    count = 1
    for n in shape:
        count *= n
    if dtype.kind not in NUMERIC_KINDS:
        return None
    return dtype, shape, count


def _fast_load(data) -> "np.ndarray | None":
    """The array of an npy buffer in the exact form `_npy` writes; None for any other form."""
    if len(data) < 10 or bytes(data[:8]) != _NPY_MAGIC:
        return None
    (length,) = struct.unpack("<H", bytes(data[8:10]))
    header = bytes(data[10:10 + length])
    parsed = _read_memo.get(header)  # Note [Header memo]
    if parsed is None:
        parsed = _parse_header(header)
        if parsed is None:
            return None
        if len(_read_memo) < MEMO_LIMIT:
            _read_memo[header] = parsed
    dtype, shape, count = parsed
    if len(data) - 10 - length != count * dtype.itemsize:
        return None
    return np.frombuffer(data, dtype=dtype, count=count, offset=10 + length).reshape(shape).copy()


def encode(message, extra=None) -> bytes:
    """Serialise a message of plain data (see Note [Frame format]); `extra`: {type: function
    giving a value's plain data} for the judge's own markers (Note [One pass to encode])."""
    return b"".join(encode_parts(message, extra))


# Note [Frames in parts]
# A frame is written to a pipe and read back once, so building it as one bytes object only
# copies: each array's bytes were copied by `tobytes`, again into the array's npy buffer and
# a third time into the frame (the 139 KB requests of fc_nets's overfitting check took 261 us
# to encode, 59 us once the copies were gone; all 117 requests of an fc_nets submission 22.4 ms,
# 11.5 ms: best of 7 on the captured requests, load 4.9).  `encode_parts` returns the frame as a list of
# buffers, the data of arrays of VIEW_BYTES or more as views of the arrays themselves (smaller
# ones are copied, which costs less than a view, and joined with the parts around them), which
# the writer hands to `os.writev` (`write_parts`); their concatenation is exactly `encode`'s
# bytes.  The views
# are of contiguous arrays that `_to_jsonable` made or was given and that nothing changes
# before the frame is written: the writer's own message, which it holds until then.
def encode_parts(message, extra=None) -> list:
    """`encode(message, extra)` as a list of buffers, large arrays uncopied (Note [Frames in
    parts]): bytes, and flat byte views of arrays of at least VIEW_BYTES."""
    buffers: list = []
    body = json.dumps(_to_jsonable(message, buffers, extra), allow_nan=True).encode("utf-8")
    parts: list = []
    small = [_HEADER.pack(MAGIC, len(body), len(buffers)), body]
    for prefix, data in buffers:
        small.append(_LENGTH.pack(len(prefix) + len(data)))
        small.append(prefix)
        if isinstance(data, bytes):
            small.append(data)
        else:  # a large array's view: what comes before it, joined, then the view
            parts.append(b"".join(small))
            parts.append(data)
            small = []
    parts.append(b"".join(small))
    return parts


VIEW_BYTES = 1 << 14  # arrays this large are written from where they lie (Note [Frames in parts])
IOV_MAX = 512  # buffers per writev call, below every platform's IOV_MAX (1024 on Linux)


def write_parts(write, parts: list) -> None:
    """Write `parts` (from `encode_parts`) through `write(buffers) -> bytes written`, an
    `os.writev` that may write less than asked, until every byte is written (Note [Frames in
    parts]).  `write` may raise to stop (a deadline, a closed pipe)."""
    parts = [part for part in parts if len(part)]
    first = 0
    while first < len(parts):
        written = write(parts[first:first + IOV_MAX])
        while written:
            size = len(parts[first])
            if written < size:
                parts[first] = memoryview(parts[first])[written:]
                break
            written -= size
            first += 1


def _load_array(data: bytes) -> np.ndarray:
    try:
        array = _fast_load(data)  # Note [Fast npy]
        if array is None:
            array = np.load(io.BytesIO(data), allow_pickle=False)
    except Exception as exc:  # ValueError for object arrays, others for garbage
        raise WireError(f"bad array buffer: {exc}") from None
    if not isinstance(array, np.ndarray) or type(array) is not np.ndarray:
        raise WireError("array buffer did not decode to a plain ndarray")
    if array.dtype.kind not in NUMERIC_KINDS or array.dtype.fields is not None:
        raise WireError(f"arrays of dtype {array.dtype} may not cross the wire")
    return array


def _from_jsonable(value, arrays: list[np.ndarray], depth: int = 0):
    if type(value) in _LEAVES:  # most of a message (Note [Leaves first])
        return value
    if isinstance(value, (list, dict)) and depth >= MAX_DEPTH:
        raise WireError(f"message nested more than {MAX_DEPTH} deep")
    depth += 1
    if isinstance(value, list):
        return [_from_jsonable(v, arrays, depth) for v in value]
    if isinstance(value, dict):
        if len(value) == 1 and "__nd__" in value:
            index = value["__nd__"]
            if type(index) is not int or not 0 <= index < len(arrays):
                raise WireError(f"array reference {index!r} out of range")
            return arrays[index]
        if len(value) == 1 and "__tuple__" in value and isinstance(value["__tuple__"], list):
            return tuple(_from_jsonable(v, arrays, depth) for v in value["__tuple__"])
        return {k: _from_jsonable(v, arrays, depth) for k, v in value.items()}
    return value


# Note [No lone surrogates]
# JSON may spell a UTF-16 surrogate on its own (`"\\ud800"`), and `json.loads` gives it back
# as a str that no UTF-8 writer accepts.  A student's `raise ValueError("\\ud800")` came to
# the judge so, in the error's message: `grade check` wrote the JSON and then died printing
# the report (UnicodeEncodeError), and `grade batch` stopped at that submission's HTML report,
# every later submission of the class ungraded.  Every string of a decoded message (keys
# too) has its lone surrogates replaced by "?" here, where all of them enter the judge; a
# pair (an emoji written as two escapes) is one character already and stays.  Only a body
# that spells a surrogate escape is walked, so an ordinary reply costs one search.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _without_surrogates(value):
    if type(value) is str:
        return value.encode("utf-8", "replace").decode("utf-8")
    if type(value) is list:
        return [_without_surrogates(v) for v in value]
    if type(value) is dict:
        return {_without_surrogates(k): _without_surrogates(v) for k, v in value.items()}
    return value


def decode(frame: bytes, max_bytes: int = DEFAULT_MAX_FRAME_BYTES):
    """Parse one complete frame produced by `encode`; raise WireError on anything else."""
    if len(frame) > max_bytes:
        raise WireError(f"frame of {len(frame)} bytes exceeds the limit of {max_bytes}")
    if len(frame) < _HEADER.size:
        raise WireError("truncated frame header")
    magic, body_length, buffer_count = _HEADER.unpack_from(frame, 0)
    if magic != MAGIC:
        raise WireError("bad frame magic")
    _check_counts(body_length, buffer_count, max_bytes)
    frame = memoryview(frame)  # slices below copy nothing
    offset = _HEADER.size
    body = frame[offset:offset + body_length]
    if len(body) != body_length:
        raise WireError("truncated frame body")
    offset += body_length
    arrays = []
    for _ in range(buffer_count):
        if offset + _LENGTH.size > len(frame):
            raise WireError("truncated array length")
        (length,) = _LENGTH.unpack_from(frame, offset)
        offset += _LENGTH.size
        data = frame[offset:offset + length]
        if len(data) != length:
            raise WireError("truncated array buffer")
        offset += length
        arrays.append(_load_array(data))
    if offset != len(frame):
        raise WireError("trailing bytes after frame")
    body = bytes(body)
    items = body.count(b",") + body.count(b"[") + body.count(b"{")
    if items > MAX_ITEMS:
        raise WireError(f"message of more than {MAX_ITEMS} values (Note [Decoded size])")
    try:
        message = json.loads(body.decode("utf-8"))
        if _SURROGATE_ESCAPE.search(body):  # Note [No lone surrogates]
            message = _without_surrogates(message)
    except (ValueError, RecursionError) as exc:
        raise WireError(f"bad JSON body: {type(exc).__name__}") from None
    try:
        return _from_jsonable(message, arrays)
    except RecursionError:
        raise WireError("message nested too deeply") from None


def _check_counts(body_length: int, buffer_count: int, max_bytes: int) -> None:
    """Reject a header whose counts alone exceed Note [Decoded size]'s bounds."""
    if buffer_count > MAX_BUFFERS:
        raise WireError(f"frame announces {buffer_count} arrays, more than the limit of {MAX_BUFFERS}")
    if body_length > MAX_JSON_BYTES:
        raise WireError(f"JSON body of {body_length} bytes exceeds the limit of {MAX_JSON_BYTES}")
    if HEADER_SIZE + body_length + buffer_count * LENGTH_SIZE > max_bytes:
        raise WireError(f"frame exceeds the limit of {max_bytes} bytes")


def frame_length(header: bytes) -> tuple[int, int]:
    """From the fixed header, the JSON length and the number of array buffers."""
    magic, body_length, buffer_count = _HEADER.unpack(header)
    if magic != MAGIC:
        raise WireError("bad frame magic")
    return body_length, buffer_count


HEADER_SIZE = _HEADER.size
LENGTH_SIZE = _LENGTH.size
LENGTH = _LENGTH


def read_frame(read_exact, max_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> bytes:
    """Read one whole frame through `read_exact(n) -> bytes`, enforcing `max_bytes`.

    The size is checked from the lengths in the frame before anything that large
    is read, so a hostile peer cannot make the reader buffer more than the cap.
    """
    header = read_exact(HEADER_SIZE)
    body_length, buffer_count = frame_length(header)
    _check_counts(body_length, buffer_count, max_bytes)  # Note [Decoded size]
    total = HEADER_SIZE + body_length + buffer_count * LENGTH_SIZE
    parts = [header, read_exact(body_length)]
    for _ in range(buffer_count):
        length_bytes = read_exact(LENGTH_SIZE)
        (length,) = LENGTH.unpack(length_bytes)
        total += length
        if total > max_bytes:
            raise WireError(f"frame exceeds the limit of {max_bytes} bytes")
        parts.append(length_bytes)
        parts.append(read_exact(length))
    return b"".join(parts)
