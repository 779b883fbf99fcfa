"""The trust boundary holds against hostile submissions (grader/worker/client.py).

Each test plants one hostile behaviour in a submission and shows that the judge
gets a typed failure (or inert data), that the worker is replaced, and that the
other functions of the same submission are still callable.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import numpy as np
import pytest

from grader.worker import sandbox
from grader.worker.client import (RESULT, Converted, Opaque, Part, StudentError, Worker,
                                  WorkerCrashed, WorkerFailure, WorkerTimeout, ProtocolError)



def require_isolation(w: Worker) -> None:
    """Skip, saying why, when the worker runs without bubblewrap (Note [Sandbox])."""
    w.call("layers", "double", np.zeros(1))  # start it to learn its mode
    if w.mode != "bwrap":
        pytest.skip("worker not isolated: bubblewrap is not installed (apt-get install bubblewrap)")


def require_process_limit(w: Worker) -> None:
    w.call("layers", "double", np.zeros(1))
    if not w.unprivileged:
        pytest.skip("worker runs as root without bubblewrap: the kernel ignores RLIMIT_NPROC for root")

GOOD = """
import numpy as np
def double(x):
    return 2 * x
"""

FAST = sandbox.Limits(call_timeout_s=5, memory_bytes=2 << 30, processes=64)


@pytest.fixture
def worker_env(request):
    """The interpreter of the `worker` fixture's workers: the grader's own, or (for the tests
    marked IN_BOTH_ENVS) also a NumPy 1.26 worker environment made by `grade env create`."""
    if getattr(request, "param", "default") == "default":
        return None
    return request.getfixturevalue("numpy126_python")


# The boundary does not depend on the interpreter behind it: a representative set of the
# hostile cases runs again with student code under another Python environment and NumPy 1.26.
IN_BOTH_ENVS = pytest.mark.parametrize("worker_env", ["default", "numpy1.26"], indirect=True)


@pytest.fixture
def worker(submission, worker_env):
    made = []

    def make(source: str, limits: sandbox.Limits = FAST, **kwargs) -> Worker:
        kwargs.setdefault("python", worker_env)
        made.append(Worker(submission({"layers.py": GOOD + "\n" + source}), limits=limits, **kwargs))
        return made[-1]

    yield make
    for w in made:
        w.close()


def assert_still_grades(w: Worker) -> None:
    """After the failure, a fresh call of a good function still works."""
    result = w.call("layers", "double", np.arange(3.0))
    np.testing.assert_array_equal(result.value, [0.0, 2.0, 4.0])


def test_plain_call_returns_arrays_and_keeps_cache_in_worker(worker) -> None:
    w = worker("def fwd(x):\n    return x + 1, (x, object())\n"
               "def bwd(d, cache):\n    return d * cache[0]\n")
    out = w.call("layers", "fwd", np.arange(3.0))
    assert isinstance(out.value[1][1], Opaque)
    back = w.call("layers", "bwd", np.ones(3), out.ref.item(1))
    np.testing.assert_array_equal(back.value, [0.0, 1.0, 2.0])


def test_value_items_send_only_the_items_asked_for(worker) -> None:
    """Note [Items of a result] in grader/worker/runtime.py: of a returned tuple or list only the
    items asked for come back, the others None, its type and length kept; the rest stays in
    the worker, where a later call takes it by handle; any other result comes back whole."""
    w = worker("def fwd(x):\n    return x + 1, {'mask': x * 2}\n"
               "def as_list(x):\n    return [x, x, x]\n"
               "def alone(x):\n    return x\n"
               "def bwd(d, cache):\n    return d * cache['mask']\n")
    out = w.call("layers", "fwd", np.arange(3.0), value_items=[0])
    assert type(out.value) is tuple and len(out.value) == 2 and out.value[1] is None
    np.testing.assert_array_equal(out.value[0], [1.0, 2.0, 3.0])
    back = w.call("layers", "bwd", np.ones(3), out.ref.item(1))
    np.testing.assert_array_equal(back.value, [0.0, 2.0, 4.0])
    listed = w.call("layers", "as_list", np.ones(2), value_items=[1])
    assert type(listed.value) is list and listed.value[0] is None and listed.value[2] is None
    np.testing.assert_array_equal(listed.value[1], np.ones(2))
    np.testing.assert_array_equal(w.call("layers", "alone", np.ones(2), value_items=[0]).value,
                                  np.ones(2))


def test_a_worker_starts_with_numpy_random_loaded(worker) -> None:
    """Note [numpy.random at start] in grader/worker/runtime.py: the first draw pays no import."""
    w = worker("import sys\n\ndef loaded():\n    return 'numpy.random' in sys.modules\n")
    assert w.call("layers", "loaded").value is True


@IN_BOTH_ENVS
def test_monkeypatching_numpy_in_student_code_does_not_reach_the_judge(worker) -> None:
    w = worker("np.allclose = lambda *a, **k: True\nnp.testing.assert_allclose = lambda *a, **k: None\n"
               "def wrong(x):\n    return x * 0\n")
    result = w.call("layers", "wrong", np.arange(1.0, 4.0))
    assert not np.allclose(result.value, np.arange(1.0, 4.0))
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(result.value, np.arange(1.0, 4.0))


def test_patching_pytest_and_builtins_in_the_worker_leaves_the_judge_alone(worker) -> None:
    import builtins
    original_approx, original_isinstance = pytest.approx, builtins.isinstance
    w = worker("import pytest, builtins\npytest.approx = lambda *a, **k: object()\n"
               "builtins.isinstance = lambda *a: True\n"
               "def probe():\n    return pytest.approx(1) == 2\n")
    try:
        value = w.call("layers", "probe").value
    except WorkerFailure:  # patching isinstance breaks the worker itself: a failure, not a pass
        value = None
    assert value is not True
    assert pytest.approx is original_approx and builtins.isinstance is original_isinstance


@IN_BOTH_ENVS
def test_object_claiming_equality_arrives_as_opaque(worker) -> None:
    w = worker("class Liar:\n    def __eq__(self, other): return True\n"
               "    def __array__(self, *a, **k): return np.zeros(3)\n"
               "def f(x):\n    return Liar()\n")
    value = w.call("layers", "f", np.arange(3.0)).value
    assert isinstance(value, Opaque) and value.type_name.endswith("Liar")
    assert not isinstance(value, np.ndarray)


@IN_BOTH_ENVS
def test_ndarray_subclass_arrives_as_plain_ndarray_marked_converted(worker) -> None:
    w = worker("class Sneaky(np.ndarray):\n    def __eq__(self, other): return np.True_\n"
               "def f(x):\n    return np.zeros(3).view(Sneaky)\n")
    value = w.call("layers", "f", np.arange(3.0)).value
    assert isinstance(value, Converted) and value.type_name.endswith("Sneaky")
    assert type(value.value) is np.ndarray
    assert not np.array_equal(value.value, np.arange(3.0))


@IN_BOTH_ENVS
def test_object_with_malicious_reduce_is_never_unpickled(worker, tmp_path) -> None:
    marker = tmp_path / "pwned"
    w = worker("class Evil:\n    def __reduce__(self):\n"
               f"        return (open, ({str(marker)!r}, 'w'))\n"
               "def f():\n    return Evil()\n")
    assert isinstance(w.call("layers", "f").value, Opaque)
    assert not marker.exists()


@IN_BOTH_ENVS
def test_sys_exit_is_an_error_of_that_call_only(worker) -> None:
    w = worker("import sys\ndef quit():\n    sys.exit(3)\n")
    with pytest.raises(StudentError, match="SystemExit"):
        w.call("layers", "quit")
    assert w.starts == 1
    assert_still_grades(w)


@IN_BOTH_ENVS
def test_os_exit_crashes_the_worker_and_a_fresh_one_takes_over(worker) -> None:
    w = worker("import os\ndef die():\n    os._exit(7)\n")
    with pytest.raises(WorkerCrashed, match="exit status 7"):
        w.call("layers", "die")
    assert_still_grades(w)
    assert w.starts == 2


@IN_BOTH_ENVS
def test_segfault_is_reported_as_a_crash(worker) -> None:
    w = worker("import ctypes\ndef crash():\n    return ctypes.string_at(0)\n")
    with pytest.raises(WorkerCrashed, match="SIGSEGV"):
        w.call("layers", "crash")
    assert_still_grades(w)


@IN_BOTH_ENVS
def test_infinite_loop_times_out_in_bounded_time(worker) -> None:
    w = worker("def spin():\n    while True:\n        pass\n")
    start = time.monotonic()
    with pytest.raises(WorkerTimeout):
        w.call("layers", "spin", timeout=1.0)
    assert time.monotonic() - start < 5
    assert_still_grades(w)


def test_infinite_loop_ignoring_signals_still_stops(worker) -> None:
    w = worker("import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
               "def spin():\n    while True:\n        pass\n")
    with pytest.raises(WorkerTimeout):
        w.call("layers", "spin", timeout=1.0)
    assert_still_grades(w)


def test_deep_recursion_is_contained(worker) -> None:
    w = worker("import sys\nsys.setrecursionlimit(10**8)\n"
               "def down(n):\n    return down(n + 1) + 1\n")
    # Python 3.11 keeps Python frames off the C stack, so this grows the heap until the
    # memory limit or the time limit stops it, whichever comes first.
    with pytest.raises((StudentError, WorkerCrashed, WorkerTimeout)):
        w.call("layers", "down", 0, timeout=3)
    assert_still_grades(w)


@IN_BOTH_ENVS
def test_memory_blowup_is_stopped_by_the_limit(worker) -> None:
    w = worker("def hog():\n    return np.ones((1 << 31,), dtype=np.float64).sum()\n")
    with pytest.raises((StudentError, WorkerCrashed), match="MemoryError|memory|SIGKILL"):
        w.call("layers", "hog")
    assert_still_grades(w)


def test_output_flood_is_truncated_and_the_call_completes(worker) -> None:
    w = worker("def loud(x):\n    for _ in range(200000):\n        print('spam' * 20)\n    return x\n")
    result = w.call("layers", "loud", np.ones(2), timeout=20)
    np.testing.assert_array_equal(result.value, np.ones(2))
    assert len(result.output) < FAST.output_bytes + 200
    assert "more bytes of output not kept" in result.output


def test_forged_frames_on_stdout_are_just_output(worker) -> None:
    w = worker("import sys\nfrom wire import encode\n"
               "def forge(x):\n    sys.stdout.buffer.write(encode({'id': 99, 'ok': True, 'value': 1.0}))\n"
               "    return x * 0\n")
    result = w.call("layers", "forge", np.ones(2))
    np.testing.assert_array_equal(result.value, np.zeros(2))


@IN_BOTH_ENVS
def test_garbage_written_to_the_reply_pipe_is_a_protocol_error(worker) -> None:
    w = worker("import os\ndef scribble():\n    os.write(4, b'GARBAGE' * 10)\n    return 1\n")
    with pytest.raises(ProtocolError):
        w.call("layers", "scribble")
    assert_still_grades(w)


def test_a_reply_in_pieces_is_assembled_and_what_follows_it_dies_with_the_worker(worker) -> None:
    """Note [Read ahead]: a reply that arrives a few bytes at a time is read whole; bytes that
    came after it belong to that worker and are dropped with it, never read as the reply of a
    request to the next one."""
    w = worker("import os, time\nfrom wire import encode\n"
               "def pieces(request_id):\n"
               "    frame = encode({'id': request_id, 'ok': True, 'handle': 1, 'value': 7.0})\n"
               "    stale = encode({'id': request_id + 1, 'ok': True, 'handle': 1, 'value': 666.0})\n"
               "    for i in range(0, len(frame) - 5, 5):\n"
               "        os.write(4, frame[i:i + 5])\n        time.sleep(0.01)\n"
               "    os.write(4, frame[i + 5:] + stale)\n    os._exit(0)\n")
    w.call("layers", "double", np.zeros(1))  # started: hello, path, then this call
    assert w.call("layers", "pieces", w._next_id + 1).value == 7.0
    deadline = time.monotonic() + 10
    while w.alive and time.monotonic() < deadline:
        time.sleep(0.05)
    np.testing.assert_array_equal(w.call("layers", "double", np.ones(2)).value, [2.0, 2.0])
    assert w.starts == 2 and "python" in w.info  # the new worker's own hello, not the stale frame


# A reply frame whose array is large enough to be read in place (Note [Large parts read in
# place] in client.py), written by the student's function a piece at a time: the first
# `upto` bytes (all of it when None), then `after` (bytes of a stale frame, an exit, a stall).
LARGE_REPLY = ("import os, time\nfrom wire import encode\n"
               "def large(request_id, upto=None, after=''):\n"
               "    frame = encode({'id': request_id, 'ok': True, 'handle': 1,\n"
               "                    'value': np.arange(60000, dtype=np.float64)})\n"
               "    stale = encode({'id': request_id + 1, 'ok': True, 'handle': 1,\n"
               "                    'value': 666.0})\n"
               "    upto = len(frame) if upto is None else upto\n"
               "    for i in range(0, upto, 40000):\n"
               "        os.write(4, frame[i:min(i + 40000, upto)])\n        time.sleep(0.005)\n"
               "    if after == 'stale':\n        os.write(4, stale)\n"
               "    if after == 'stall':\n        time.sleep(60)\n"
               "    os._exit(0)\n")


def test_a_large_array_in_pieces_is_read_whole_and_what_follows_it_dies_with_the_worker(
        worker, monkeypatch) -> None:
    """Note [Large parts read in place]: an array part larger than READ_INTO_BYTES, arriving in
    pieces, is read into its own buffer and decodes to the array sent; the frame after it is
    never read as the next request's reply (the next worker answers that)."""
    from grader.worker.client import READ_INTO_BYTES
    read_into, sizes = Worker._read_into, []
    monkeypatch.setattr(Worker, "_read_into",
                        lambda self, n, *a: sizes.append(n) or read_into(self, n, *a))
    w = worker(LARGE_REPLY)
    w.call("layers", "double", np.zeros(1))
    assert sizes == []  # small replies are sliced from what one read brought
    value = w.call("layers", "large", w._next_id + 1, None, "stale").value
    np.testing.assert_array_equal(value, np.arange(60000, dtype=np.float64))
    assert value.flags.writeable and value.flags.aligned
    assert len(sizes) == 1 and sizes[0] > READ_INTO_BYTES  # the array's npy buffer
    deadline = time.monotonic() + 10
    while w.alive and time.monotonic() < deadline:
        time.sleep(0.05)
    np.testing.assert_array_equal(w.call("layers", "double", np.ones(2)).value, [2.0, 2.0])
    assert w.starts == 2


def test_a_worker_that_ends_inside_a_large_array_is_a_crash(worker) -> None:
    """Note [Large parts read in place]: the pipe's end in the middle of a large part is the
    worker's crash, as it is anywhere else in a reply."""
    w = worker(LARGE_REPLY)
    w.call("layers", "double", np.zeros(1))
    with pytest.raises(WorkerCrashed):
        w.call("layers", "large", w._next_id + 1, 300000)
    assert_still_grades(w)


def test_a_worker_that_stalls_inside_a_large_array_times_out(worker) -> None:
    """Note [Large parts read in place]: a large part read in place still waits under the
    call's time limit."""
    w = worker(LARGE_REPLY)
    w.call("layers", "double", np.zeros(1))
    start = time.monotonic()
    with pytest.raises(WorkerTimeout):
        w.call("layers", "large", w._next_id + 1, 300000, "stall", timeout=1.0)
    assert time.monotonic() - start < 10
    assert_still_grades(w)


def test_several_sets_in_one_request_are_made_in_order_and_a_failure_says_which(worker) -> None:
    """Note [Batched sets]: one request, the assignments in order; the first that raises ends
    it and its index is in the error; the ones before it were made."""
    w = worker("class Params(dict):\n"
               "    def __setitem__(self, key, value):\n"
               "        if key == 'bad':\n            raise KeyError('no bad keys')\n"
               "        super().__setitem__(key, value)\n"
               "class Net:\n    def __init__(self):\n        self.params = Params()\n"
               "    def total(self):\n        return sum(float(v.sum()) for v in self.params.values())\n")
    net = w.call("layers", "Net").ref
    before = w._next_id
    w.set_many([(net.attr("params").item(k), np.full(2, float(i))) for i, k in enumerate("abc")])
    assert w._next_id == before + 1  # one request
    assert w.call_ref(net, "total").value == 6.0
    with pytest.raises(StudentError) as raised:
        w.set_many([(net.attr("params").item("d"), np.ones(2)),
                     (net.attr("params").item("bad"), np.ones(2)),
                     (net.attr("params").item("e"), np.ones(2))])
    assert raised.value.index == 1 and raised.value.type == "KeyError"
    assert w.call_ref(net, "total").value == 8.0  # 'd' was set, 'e' was not
    with pytest.raises(StudentError) as single:
        w.set(net.attr("params").item("bad"), 1.0)
    assert single.value.index == -1


def test_a_launched_worker_answers_its_first_request_and_closing_it_unattached_leaves_nothing(
        worker) -> None:
    """Note [Early start]: `launch` returns before the handshake, which the first request does;
    a launched worker closed before anyone talked to it is killed and its scratch removed."""
    w = worker("")
    w.launch()
    assert w.alive and w.info == {}
    assert_still_grades(w)
    assert "python" in w.info and w.starts == 1
    unattached = worker("")
    unattached.launch()
    pid, scratch = unattached.process.pid, unattached.scratch
    unattached.close()
    assert not unattached.alive and not scratch.exists()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert_still_grades(unattached)  # and it starts again when asked


def test_a_warm_worker_that_must_go_cold_launches_as_a_cold_one(submission) -> None:
    """`launch` of a worker that starts its own way (a WarmWorker without a free slot, which
    falls back to a cold start) is its `start` (Note [Early start])."""
    from grader.worker.warm import WarmWorker
    w = WarmWorker(submission({"layers.py": GOOD}), slots=(), limits=FAST)
    try:
        w.launch()
        assert w.start_kind == "cold" and w.starts == 1
        assert_still_grades(w)
    finally:
        w.close()


def test_a_function_writing_into_its_inputs_is_told(worker) -> None:
    w = worker("def inplace(x, p):\n    x += 1\n    p['w'][0] = 5\n    return x\n")
    result = w.call("layers", "inplace", np.zeros(3), {"w": np.zeros(2)})
    assert result.mutated == ["args[0]", "args[1]['w']"]


def test_args_after_call_are_returned_when_asked(worker) -> None:
    w = worker("def update(x, param):\n    param['running'] = param.get('running', 0) + x\n    return x\n")
    result = w.call("layers", "update", np.ones(2), {"mode": "train"}, return_args=True)
    np.testing.assert_array_equal(result.args_after[1]["running"], np.ones(2))


def test_missing_function_is_a_student_error_naming_it(worker) -> None:
    w = worker("")
    with pytest.raises(StudentError, match="AttributeError.*layernorm_forward"):
        w.call("layers", "layernorm_forward", np.ones(2))


def test_terminal_colours_in_a_student_error_are_dropped(worker) -> None:
    # Keras 3's way of writing an error (Note [Terminal colours in a student's error])
    w = worker("def f():\n    raise ValueError('\\x1b[1mInvalid padding\\x1b[0m: got [1, 1]')\n")
    with pytest.raises(StudentError) as info:
        w.call("layers", "f")
    assert info.value.message == "Invalid padding: got [1, 1]"
    assert "\x1b" not in info.value.traceback


def test_syntax_error_reports_file_and_line(submission) -> None:
    with Worker(submission({"layers.py": "def f(x):\n    print 'python 2'\n"}), limits=FAST) as w:
        with pytest.raises(StudentError) as info:
            w.import_module("layers")
    assert info.value.type == "SyntaxError"
    assert info.value.file == "layers.py" and info.value.line == 2


@IN_BOTH_ENVS
def test_fork_bomb_is_capped_and_leaves_no_process_behind(worker) -> None:
    w = worker("import subprocess\n"
               "def bomb():\n    procs = []\n    for _ in range(500):\n"
               "        procs.append(subprocess.Popen(['sleep', '1000']))\n    return len(procs)\n")
    require_process_limit(w)
    with pytest.raises((StudentError, WorkerCrashed)):
        w.call("layers", "bomb", timeout=20)
    w.close()
    time.sleep(0.5)
    assert _processes_running("sleep 1000") == []


@IN_BOTH_ENVS
def test_no_process_started_by_student_survives_close(worker) -> None:
    token = f"grader-escape-{os.getpid()}-{time.time_ns()}"
    w = worker("import subprocess, os, sys\n"
               "def escape(token):\n"
               "    subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(1000)', token],\n"
               "                     start_new_session=True)\n"
               "    return os.getpid()\n")
    w.call("layers", "escape", token)
    deadline = time.monotonic() + 5
    while not _processes_running(token) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _processes_running(token), "the escaping process never started"
    w.close()
    time.sleep(0.5)
    if w.mode == "rlimits":
        pytest.skip("without bubblewrap a setsid() escape is not contained (see Note [Sandbox])")
    assert _processes_running(token) == []


def _processes_running(token: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if token in cmdline and "pytest" not in cmdline:
                found.append(int(entry))
    return found


@IN_BOTH_ENVS
def test_student_cannot_see_the_grader_reference_or_other_folders(worker) -> None:
    import reference
    reference_dir = os.path.dirname(reference.__file__)
    w = worker("import os\ndef peek(path):\n    try:\n        return sorted(os.listdir(path))\n"
               "    except OSError as e:\n        return type(e).__name__\n")
    require_isolation(w)
    assert w.call("layers", "peek", reference_dir).value in ("FileNotFoundError", "PermissionError")
    # Under /root only the way to the Python installation and environment it runs in shows.
    allowed = {Path(root).relative_to("/root").parts[0]
               for root in sandbox._python_roots(w.python) if root.startswith("/root/")}
    seen = w.call("layers", "peek", "/root").value
    assert seen == "PermissionError" or set(seen) <= allowed, (seen, allowed)
    assert w.mode == "bwrap"


def test_student_cannot_read_the_judges_environment_or_its_processes(worker, monkeypatch) -> None:
    """Hostile: an instructor's shell holds tokens; neither the worker's environment nor the
    sandbox's first process (bubblewrap, started with the judge's environment) gives them."""
    monkeypatch.setenv("COURSE_API_TOKEN", "hunter2")
    w = worker("import os\ndef env():\n    return os.environ.get('COURSE_API_TOKEN')\n"
               "def peek(path):\n    try:\n        return open(path, 'rb').read().decode('latin-1')\n"
               "    except OSError as e:\n        return type(e).__name__\n")
    require_isolation(w)
    assert w.call("layers", "env").value is None
    for path in ("/proc/1/environ", "/proc/1/maps", "/proc/1/mem"):
        assert w.call("layers", "peek", path).value == "PermissionError", path
    assert "hunter2" not in w.call("layers", "peek", "/proc/1/cmdline").value


@IN_BOTH_ENVS
def test_student_cannot_write_outside_scratch(worker) -> None:
    w = worker("def scribble(path):\n    try:\n        open(path, 'w').write('x')\n        return 'wrote'\n"
               "    except OSError as e:\n        return type(e).__name__\n")
    require_isolation(w)
    assert w.call("layers", "scribble", "/submission/evil.py").value != "wrote"
    assert w.call("layers", "scribble", "/usr/evil").value != "wrote"
    assert w.call("layers", "scribble", "/scratch/ok.txt").value == "wrote"


@IN_BOTH_ENVS
def test_student_has_no_network(worker) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    try:
        w = worker("import socket\ndef dial(port):\n    try:\n"
                   "        socket.create_connection(('127.0.0.1', port), timeout=2)\n        return 'connected'\n"
                   "    except OSError as e:\n        return type(e).__name__\n")
        require_isolation(w)
        assert w.call("layers", "dial", port).value != "connected"
    finally:
        server.close()


@IN_BOTH_ENVS
def test_worker_does_not_run_as_root(worker) -> None:
    w = worker("import os\ndef uid():\n    return os.getuid()\n")
    require_process_limit(w)
    if os.geteuid() == 0:
        assert w.call("layers", "uid").value in sandbox.WORKER_UIDS
    else:
        assert w.call("layers", "uid").value == os.geteuid()


def test_a_stopped_worker_cannot_hang_the_judge_on_a_large_request(worker) -> None:
    w = worker("import os, signal, threading, time\n"
               "def freeze_soon():\n"
               "    def stop():\n        time.sleep(0.3)\n        os.kill(os.getpid(), signal.SIGSTOP)\n"
               "    threading.Thread(target=stop).start()\n    return 1\n")
    assert w.call("layers", "freeze_soon").value == 1
    time.sleep(0.8)  # the worker is now stopped and reads nothing
    big = np.zeros(4_000_000)  # 32 MB: far more than a pipe buffer holds
    start = time.monotonic()
    with pytest.raises(WorkerTimeout, match="did not accept the request"):
        w.call("layers", "double", big, timeout=2.0)
    assert time.monotonic() - start < 10
    assert_still_grades(w)


# -- second round: what the worker sends is bounded when decoded (Note [Decoded size]) ----------

def test_a_reply_of_millions_of_small_json_floats_is_refused_before_decoding(worker) -> None:
    # A forged reply: 1.5 M small floats as a JSON list (7.5 MB; 150 MB of objects if decoded).
    w = worker("import os, time\nfrom wire import encode\n"
               "def floats():\n    os.write(4, encode({'id': 1, 'ok': True, 'value': [0.5] * 1_500_000}))\n"
               "    time.sleep(60)\n"
               "def honest():\n    return [0.5] * 1_500_000\n")
    start = time.monotonic()
    with pytest.raises(ProtocolError, match="more than 1000000 values"):
        w.call("layers", "floats", timeout=30)
    assert time.monotonic() - start < 30
    assert_still_grades(w)
    # The worker itself sends one marker for a list beyond its budget, not one per item.
    assert w.call("layers", "honest").value == Opaque("list")


def test_a_frame_announcing_four_billion_buffers_is_refused_from_its_header(worker) -> None:
    w = worker("import os, struct, time\n"
               "def forge():\n    os.write(4, struct.pack('>4sII', b'DLG1', 2, 2**32 - 1) + b'{}')\n"
               "    while True:\n        os.write(4, b'\\0' * 8)\n")
    start = time.monotonic()
    with pytest.raises(ProtocolError, match="announces 4294967295 arrays"):
        w.call("layers", "forge", timeout=30)
    assert time.monotonic() - start < 10  # never read eight bytes at a time until the limit
    assert_still_grades(w)


def test_a_huge_json_body_is_refused_from_its_header(worker) -> None:
    w = worker("import os, struct\n"
               "def forge():\n    os.write(4, struct.pack('>4sII', b'DLG1', 400 << 20, 0))\n"
               "    os.write(4, b' ' * (1 << 20))\n    return 1\n")
    with pytest.raises(ProtocolError, match="JSON body of 419430400 bytes"):
        w.call("layers", "forge", timeout=30)
    assert_still_grades(w)


def test_a_reply_nested_deeper_than_the_limit_is_refused(worker) -> None:
    w = worker("import os, time\nfrom wire import encode\n"
               "def deep():\n    x = 1\n    for _ in range(150):\n        x = [x]\n"
               "    os.write(4, encode({'id': 1, 'ok': True, 'value': x}))\n    time.sleep(60)\n"
               "def fine():\n    x = 1\n    for _ in range(20):\n        x = [x]\n    return x\n")
    with pytest.raises(ProtocolError, match="nested more than"):
        w.call("layers", "deep")
    value = w.call("layers", "fine").value
    for _ in range(20):
        value = value[0]
    assert value == 1


# -- second round: every student string is clipped at the boundary (Note [Bounded text]) --------

def test_megabyte_exception_names_and_messages_are_clipped_when_received(worker) -> None:
    from grader.scoring.result import MAX_NAME
    w = worker("def boom():\n    E = type('E' * 2_000_000, (Exception,), {})\n"
               "    E.__qualname__ = 'Q' * 2_000_000\n    raise E('m' * 2_000_000)\n"
               "class Odd:\n    pass\n"
               "def odd():\n    return type('T' * 2_000_000, (), {})()\n")
    with pytest.raises(StudentError) as info:
        w.call("layers", "boom")
    error = info.value
    assert len(error.type) <= MAX_NAME and error.type.startswith("EEE")
    assert len(error.where) <= MAX_NAME and len(error.message) <= 4_000
    assert len(error.traceback) <= 8_000
    value = w.call("layers", "odd").value
    assert isinstance(value, Opaque) and len(value.type_name) <= MAX_NAME
    assert_still_grades(w)


# -- second round: what the sandbox shows (Note [Sandbox views]) --------------------------------

VIEWS = """
import os
def views():
    seen = {"cmdline": open("/proc/1/cmdline", "rb").read().decode(errors="replace"),
            "sys": sorted(os.listdir("/sys")),
            "sysvipc": [open("/proc/sysvipc/" + t).read().splitlines()[1:] for t in ("shm", "msg", "sem")]}
    for folder in ("/tmp", "/dev/shm"):
        try:
            open(folder + "/x", "w").write("x")
            seen[folder] = "wrote"
        except OSError as e:
            seen[folder] = type(e).__name__
    return seen

def fill(mb):
    written = 0
    try:
        with open("/scratch/big", "wb") as f:
            for _ in range(mb):
                f.write(b"\\0" * (1 << 20))
                f.flush()
                written += 1
    except OSError as e:
        return [written, type(e).__name__, e.errno]
    return [written, "", 0]
"""


def test_the_sandbox_shows_no_host_paths_ipc_or_sys_and_scratch_is_bounded(worker, submission) -> None:
    import ctypes
    import errno
    libc = ctypes.CDLL(None, use_errno=True)
    host_shm = libc.shmget(0, 4096, 0o1000 | 0o600)  # IPC_PRIVATE, in the judge's namespace
    try:
        limits = sandbox.Limits(call_timeout_s=20, memory_bytes=2 << 30, processes=64,
                                scratch_bytes=8 << 20)
        w = worker(VIEWS, limits=limits)
        require_isolation(w)
        seen = w.call("layers", "views").value
        repo = str(Path(sandbox.__file__).resolve().parents[2])
        # Only the interpreter's own path shows (it is bound where it is on the host, and the
        # worker can read sys.executable anyway); nothing of the grader, reference or submission.
        assert str(w.submission) not in seen["cmdline"], seen["cmdline"]
        assert repo + "/grader" not in seen["cmdline"] and repo + "/reference" not in seen["cmdline"]
        assert str(w.scratch) not in seen["cmdline"] and "--ro-bind" not in seen["cmdline"]
        assert seen["sys"] == ["devices"]
        assert seen["sysvipc"] == [[], [], []]  # not the judge's segment
        assert seen["/tmp"] != "wrote" and seen["/dev/shm"] != "wrote"
        written, error, code = w.call("layers", "fill", 64).value
        assert written <= 8 and code == errno.ENOSPC, (written, error)
        views = {key: w.isolation[key] for key in ("ipc", "scratch", "proc", "sys")}
        assert views == {"ipc": "own namespace", "scratch": "tmpfs of 8 MiB",
                         "proc": "own PID namespace, no host paths in its command lines",
                         "sys": "CPU topology only"}
        # and the resource limits in force (tests/grader/worker/test_cgroup.py)
        assert {"memory", "shared_memory", "processes", "open_files"} <= set(w.isolation)
    finally:
        libc.shmctl(host_shm, 0, None)  # IPC_RMID


# -- fewer round trips: sets folded into a call, streamed calls ---------------------------------

SLEEPY = ("import time\ncount = [0]\n"
          "def sleep(s):\n    count[0] += 1\n    time.sleep(s)\n    return s\n"
          "def fwd(x):\n    count[0] += 1\n    return 2 * x, (x,)\n"
          "def bwd(d, cache):\n    count[0] += 1\n    return d * cache[0]\n"
          "def boom(x):\n    count[0] += 1\n    raise ValueError('no')\n"
          "def calls():\n    return count[0]\n")


def target(name: str) -> dict:
    return {"module": "layers", "attrs": [name]}


def test_a_set_folded_into_a_call_is_made_first_and_a_failing_set_stops_the_call(worker) -> None:
    """Note [Sets folded into a call]: the assignments, then the call, in one request; a set
    that raises ends it before the call, its index in the error; the call's own error has -1."""
    w = worker("class Params(dict):\n"
               "    def __setitem__(self, key, value):\n"
               "        if key == 'bad':\n            raise KeyError('no bad keys')\n"
               "        super().__setitem__(key, value)\n"
               "class Net:\n    def __init__(self):\n        self.params = Params()\n        self.asked = 0\n"
               "    def total(self, scale):\n        self.asked += 1\n"
               "        if scale < 0:\n            raise ValueError('negative')\n"
               "        return scale * sum(float(v.sum()) for v in self.params.values())\n")
    net = w.call("layers", "Net").ref
    params = net.attr("params")
    before = w._next_id
    result = w.call_ref(net, "total", 2.0, sets=[(params.item("a"), np.ones(2)),
                                                (params.item("b"), np.ones(3))])
    assert result.value == 10.0 and w._next_id == before + 1  # one request
    with pytest.raises(StudentError) as raised:
        w.call_ref(net, "total", 1.0, sets=[(params.item("c"), np.ones(1)),
                                            (params.item("bad"), np.ones(1))])
    assert raised.value.index == 1 and raised.value.type == "KeyError"
    assert w.get(net.attr("asked")) == 1  # the call was not made; 'c' was set
    with pytest.raises(StudentError) as own:
        w.call_ref(net, "total", -1.0, sets=[(params.item("d"), np.ones(1))])
    assert own.value.index == -1 and own.value.type == "ValueError"


READS = ("import numpy as np\n"
         "class Net:\n    def __init__(self, d):\n        self.params = {'W': np.ones((d, 2))}\n"
         "        self.asked = 0\n"
         "    @property\n    def broken(self):\n        raise AttributeError('no broken here')\n"
         "    def grow(self):\n        self.asked += 1\n        self.params['b'] = np.zeros((1, 2))\n"
         "        return self.asked\n"
         "    def fail(self):\n        raise ValueError('no')\n")


def test_reads_folded_into_a_call_see_what_a_get_after_it_sees(worker) -> None:
    """Note [Reads folded into a call]: the values a `get` sent after the reply would read, in
    the call's own request, RESULT standing for the call's result; a read that raises is its
    StudentError without failing the call; a call that raises makes no reads."""
    w = worker(READS)
    w.start()
    before = w._next_id
    made = w.call("layers", "Net", 3, reads=[RESULT.attr("params"), RESULT.attr("broken"),
                                             RESULT.attr("params").item("W")])
    assert w._next_id == before + 1  # one request
    assert isinstance(made.value, Opaque)
    np.testing.assert_array_equal(made.read(0)["W"], np.ones((3, 2)))
    with pytest.raises(StudentError, match="AttributeError: no broken here"):
        made.read(1)
    assert made.read(2).shape == (3, 2)
    grown = w.call_ref(made.ref, "grow", reads=[made.ref.attr("params"), made.ref.attr("asked")])
    assert grown.value == 1 and grown.read(1) == 1
    assert sorted(grown.read(0)) == ["W", "b"] and grown.read(0)["b"].shape == (1, 2)
    assert grown.read(0)["b"].shape == w.get(made.ref.attr("params"))["b"].shape
    with pytest.raises(StudentError, match="ValueError: no"):
        w.call_ref(made.ref, "fail", reads=[made.ref.attr("params")])
    with w.stream([(target("Net"), [2], {}, {"reads": [RESULT.attr("params")]}),
                   (target("Net"), [4], {})]) as results:
        first, second = list(results)
    assert first.read(0)["W"].shape == (2, 2) and second.reads == []
    assert w.starts == 1


def test_a_reply_without_the_reads_asked_for_is_a_protocol_error(worker) -> None:
    w = worker(READS)
    made = w.call("layers", "Net", 3)
    with pytest.raises(ProtocolError, match="reads"):
        w._call_result({"handle": made.ref.handle, "value": None}, reads=1)


def test_import_and_describe_in_one_request(worker) -> None:
    """Note [Import and describe]: the members `describe` lists, from the import's request;
    an import that raises is the request's StudentError, as before."""
    w = worker("def helper(x, y=2):\n    return x\n")
    w.start()
    before = w._next_id
    reply = w.import_module("layers", describe=True)
    assert w._next_id == before + 1
    assert reply["members"] == w.describe("layers")
    assert reply["members"]["helper"] == "(x, y=2)"
    broken = worker("raise ImportError('nope')\n")
    with pytest.raises(StudentError, match="ImportError: nope"):
        broken.import_module("layers", describe=True)


def test_streamed_calls_answer_in_order_each_within_its_own_time_limit(worker) -> None:
    """Note [Streamed calls]: one request, one reply per call; each call has the whole limit
    of a request of its own (three 0.6 s calls under a 1 s limit), and a later call takes an
    earlier one's result by Part."""
    w = worker(SLEEPY, limits=sandbox.Limits(call_timeout_s=1, memory_bytes=2 << 30, processes=64))
    w.call("layers", "calls")  # started
    before = w._next_id
    with w.stream([(target("sleep"), [0.6], {})] * 3) as results:
        assert [r.value for r in results] == [0.6] * 3
    x = np.arange(3.0)
    with w.stream([(target("fwd"), [x], {}), (target("bwd"), [np.ones(3), Part(0).item(1)], {})]) as results:
        forward, backward = list(results)
    np.testing.assert_array_equal(forward.value[0], 2 * x)
    np.testing.assert_array_equal(backward.value, x)
    assert w._next_id == before + 2 and w.starts == 1


def test_a_stream_stops_at_the_first_failure_with_the_verdicts_of_one_request_each(worker) -> None:
    """The same calls one request each and streamed: the same values, the same error at the
    same call, and the calls after it never run; a timeout is that call's, the worker is
    replaced, and nothing after it ran."""
    limits = sandbox.Limits(call_timeout_s=1, memory_bytes=2 << 30, processes=64)
    plan = [("fwd", [np.ones(2)]), ("boom", [1]), ("fwd", [np.ones(2)])]

    def one_by_one(w):
        seen = []
        for name, args in plan:
            try:
                seen.append(("value", w.call("layers", name, *args).value[0].tolist()))
            except StudentError as error:
                seen.append(("error", str(error)))
                break
        return seen

    def streamed(w):
        seen = []
        with w.stream([(target(name), args, {}) for name, args in plan]) as results:
            try:
                for result in results:
                    seen.append(("value", result.value[0].tolist()))
            except StudentError as error:
                seen.append(("error", str(error)))
        return seen

    a, b = worker(SLEEPY, limits=limits), worker(SLEEPY, limits=limits)
    assert one_by_one(a) == streamed(b) == [("value", [2.0, 2.0]), ("error", "ValueError: no (layers.py:20)")]
    assert a.call("layers", "calls").value == b.call("layers", "calls").value == 2
    stream = b.stream([(target("sleep"), [0.1], {}), (target("sleep"), [30], {}),
                       (target("sleep"), [0.1], {})])
    start = time.monotonic()
    assert next(stream).value == 0.1
    with pytest.raises(WorkerTimeout, match="time limit of 1 s"):
        next(stream)
    assert time.monotonic() - start < 5 and not stream.open
    assert b.call("layers", "calls").value == 0 and b.starts == 2  # a fresh worker
    assert_still_grades(b)


def test_a_stream_left_unread_is_drained_and_a_hang_in_it_only_replaces_the_worker(worker) -> None:
    """A check that stops reading (its answer was wrong) leaves replies behind: the next request
    reads and drops them first; a call among them that hangs stops the worker, and the next
    request is answered by a fresh one, with no failure of its own."""
    w = worker(SLEEPY, limits=sandbox.Limits(call_timeout_s=1, memory_bytes=2 << 30, processes=64))
    stream = w.stream([(target("sleep"), [0.01], {})] * 3)
    assert next(stream).value == 0.01
    assert w.call("layers", "calls").value == 3  # the other two ran and were dropped
    w.limits = sandbox.Limits(call_timeout_s=20, memory_bytes=2 << 30, processes=64)
    stream = w.stream([(target("sleep"), [0.01], {}), (target("sleep"), [30], {})])
    next(stream)
    start = time.monotonic()
    assert_still_grades(w)
    # dropped after DRAIN_LIMIT_S, not the call's limit of 20 s
    assert time.monotonic() - start < 8 and w.starts == 2 and not stream.open


@IN_BOTH_ENVS
def test_a_forged_or_repeated_part_of_a_streamed_reply_is_a_protocol_error(worker) -> None:
    """Hostile: student code writes reply frames of its own into a stream, one for a later part
    and one that repeats the part it is in; the judge stops the worker either way."""
    w = worker("import os\nfrom wire import encode\n"
               "def forge(request_id, part):\n"
               "    os.write(4, encode({'id': request_id, 'part': part, 'ok': True, 'handle': 1,"
               " 'value': 666.0}))\n    return 1.0\n")
    w.call("layers", "double", np.zeros(1))
    for part in (1, 0):  # a later part; the same part twice (the real one follows the forged one)
        with pytest.raises(ProtocolError):
            with w.stream([(target("forge"), [w._next_id + 1, part], {}),
                           (target("double"), [np.ones(1)], {})]) as results:
                list(results)
        assert_still_grades(w)


# Student code that replaces the runtime's own `op_call` (run as a script, the runtime is
# __main__; a warm worker imports it as `runtime`; a plain call is dispatched through OPS,
# a stream's calls by name) so that replies to `forge` carry FORGED.
FORGED_FIELDS = ("import sys\n"
                 "_runtime = sys.modules['runtime'] if 'runtime' in sys.modules else sys.modules['__main__']\n"
                 "_op_call = _runtime.op_call\n"
                 "def _forged(request, table):\n"
                 "    reply = _op_call(request, table)\n"
                 "    if request['target'].get('attrs') == ['forge']:\n"
                 "        reply.update(FORGED)\n"
                 "    return reply\n"
                 "_runtime.op_call = _runtime.OPS['call'] = _forged\n"
                 "def forge(x):\n    return 2 * x\n")
FORGED = [{"handle": "1"}, {"handle": None}, {"handle": True}, {"seconds": [0.1]}, {"seconds": "fast"}]


def call_and_stream_refuse_the_forged_reply(w: Worker) -> None:
    assert_still_grades(w)  # imports the submission, which replaces op_call for the next calls
    with pytest.raises(ProtocolError, match="no valid handle or time"):
        w.call("layers", "forge", np.zeros(1))
    assert_still_grades(w)
    with pytest.raises(ProtocolError, match="no valid handle or time"):
        with w.stream([(target("double"), [np.ones(1)], {}), (target("forge"), [np.ones(1)], {}),
                       (target("double"), [np.ones(1)], {})]) as results:
            list(results)
    assert_still_grades(w)


@pytest.mark.parametrize("fields", FORGED, ids=lambda f: "-".join(f"{k}={v!r}" for k, v in f.items()))
def test_a_call_reply_with_a_forged_handle_or_time_is_a_protocol_error(worker, fields) -> None:
    """Hostile: Note [A call's reply is checked before it is used]: not an internal grader
    error (ValueError, TypeError) in the judge, in a call or in a stream."""
    call_and_stream_refuse_the_forged_reply(worker(FORGED_FIELDS.replace("FORGED", repr(fields))))


def test_a_read_reply_without_its_value_is_a_protocol_error(worker) -> None:
    w = worker(FORGED_FIELDS.replace("FORGED", "{}") + "_runtime.OPS['get'] = lambda request, table: {}\n"
               "def made():\n    return {'a': 1.0}\n")
    ref = w.call("layers", "made").ref
    with pytest.raises(ProtocolError, match="carried no value"):
        w.get(ref.item("a"))
    assert_still_grades(w)


def test_a_stream_keeps_the_time_budget_as_separate_requests_do(worker) -> None:
    """Note [Time budget]: a call running when the budget ends is cut there; once it is spent,
    the next call of a stream is refused, as its own request would have been."""
    from grader.worker.client import BudgetSpent
    w = worker(SLEEPY, limits=sandbox.Limits(call_timeout_s=5, memory_bytes=2 << 30, processes=64))
    w.call("layers", "calls")
    w.start_budget(1.0)
    stream = w.stream([(target("sleep"), [0.6], {})] * 3)
    assert next(stream).value == 0.6
    with pytest.raises(BudgetSpent, match="what was left of the submission's time budget"):
        next(stream)
    w.start_budget(1.0)
    stream = w.stream([(target("sleep"), [0.1], {})] * 2)
    assert next(stream).value == 0.1
    time.sleep(1.0)  # the judge's own work spends the rest
    with pytest.raises(BudgetSpent, match="before this check could run"):
        next(stream)
    assert w.refused == 1


def test_pipes_are_widened_and_a_large_request_and_reply_cross_whole(worker) -> None:
    """Note [Pipe size] and Note [Frames in parts] in wire.py: both pipes hold 1 MiB, and a
    request and a reply larger than the default 64 KiB pipe cross exactly."""
    import fcntl
    w = worker("def echo(x, y):\n    return x * 2, y\n")
    w.start()
    for fd in (w._request_fd, w._reply_fd):
        assert fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ) >= 1 << 20
    x = np.random.default_rng(0).standard_normal((300, 400))
    result = w.call("layers", "echo", x, np.arange(7))
    np.testing.assert_array_equal(result.value[0], x * 2)
    np.testing.assert_array_equal(result.value[1], np.arange(7))
    assert_still_grades(w)


# -- a training's steps with the parameters mirrored in the worker ----------------------------

TRAINED = ("import numpy as np\n"
           "class Net:\n"
           "    def __init__(self, drop=None, mutate=False):\n"
           "        self.params = {'W': np.zeros((3, 2)), 'b': np.zeros((1, 2))}\n"
           "        self.seen, self.drop, self.mutate = [], drop, mutate\n"
           "    def loss(self, X, y):\n"
           "        W, b = self.params['W'], self.params['b']\n"
           "        self.seen.append({k: v.copy() for k, v in self.params.items()})\n"
           "        scores = X @ W + b\n"
           "        p = np.exp(scores - scores.max(axis=1, keepdims=True))\n"
           "        p /= p.sum(axis=1, keepdims=True)\n"
           "        loss = -np.log(p[np.arange(len(y)), y]).mean()\n"
           "        p[np.arange(len(y)), y] -= 1\n"
           "        grads = {'W': X.T @ p / len(y), 'b': p.mean(axis=0, keepdims=True)}\n"
           "        if self.mutate:\n"
           "            W += 1.0  # in place, into the array the grader installed\n"
           "        if self.drop is not None and len(self.seen) == self.drop:\n"
           "            del grads['b']\n"
           "        return loss, grads\n")


def _judge_steps(start: dict, X, y, batches, lr: float, replies) -> list:
    """The judge's parameters before each step, updated as grader/checks/trust.py's judge_sgd
    updates them from each reply's gradients (in the judge's own shapes)."""
    params, held = {k: np.array(v, dtype=np.float64).reshape(-1) for k, v in start.items()}, []
    for reply in replies:
        held.append({k: v.copy() for k, v in params.items()})
        grads = reply.value[1]
        params = {k: v - lr * grads[k].astype(np.float64).reshape(v.shape) for k, v in params.items()}
    return held


def test_a_training_installs_the_judges_parameters_to_the_bit_and_goes_on_by_state(worker) -> None:
    """Note [Training mirrored in the worker]: the worker installs its mirror of the judge's
    parameters before each step (in the shape the judge sent, a copy the model may write into)
    and applies the judge's own update to it, so each step sees exactly the parameters the
    judge holds; a later request goes on from the state the first one named."""
    w = worker(TRAINED)
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((12, 3)), rng.integers(2, size=12)
    batches = [rng.choice(12, 4) for _ in range(7)]
    start = {"W": 0.1 * rng.standard_normal((3, 2)), "b": np.zeros((1, 2))}
    for mutate in (False, True):
        net = w.call("layers", "Net", mutate=mutate).ref
        before = w._next_id
        with w.train(net, "loss", batches[:3], owner=net.attr("params"), params=start, X=X, y=y,
                     learning_rate=0.5) as steps:
            replies = list(steps)
            state = steps.state
        with w.train(net, "loss", batches[3:], state=state) as steps:
            replies += list(steps)
        assert w._next_id == before + 2 and len(replies) == 7 and isinstance(state, int)
        seen = w.get(net.attr("seen"))
        held = _judge_steps(start, X, y, batches, 0.5, replies)
        for step, params in zip(seen, held):
            assert step["b"].shape == (1, 2)  # the shape the judge sent
            for name in params:
                assert np.array_equal(step[name].reshape(-1), params[name])  # bit for bit
        losses = [float(r.value[0]) for r in replies]
        assert losses[-1] < losses[0]


def test_a_step_whose_gradients_the_judge_refuses_ends_the_training(worker) -> None:
    """A reply whose gradients cannot be applied (here one is missing) is still sent, as the
    call's answer; the mirror is not updated and the next step raises instead of running."""
    w = worker(TRAINED)
    X, y = np.ones((4, 3)), np.array([0, 1, 0, 1])
    net = w.call("layers", "Net", drop=2).ref
    with w.train(net, "loss", [np.arange(4)] * 4, owner=net.attr("params"),
                 params={"W": np.zeros((3, 2)), "b": np.zeros((1, 2))}, X=X, y=y,
                 learning_rate=0.1) as steps:
        first, second = next(steps), next(steps)
        assert sorted(second.value[1]) == ["W"]
        with pytest.raises(StudentError, match="cannot be applied"):
            next(steps)
    assert len(w.get(net.attr("seen"))) == 2 and w.starts == 1


def test_a_training_step_whose_install_raises_says_which_assignment(worker) -> None:
    w = worker("class Params(dict):\n"
               "    def __setitem__(self, key, value):\n"
               "        if key == 'b':\n            raise KeyError('no b')\n"
               "        super().__setitem__(key, value)\n"
               "class Net:\n    def __init__(self):\n        self.params = Params()\n"
               "    def loss(self, X, y):\n        return 0.0, {}\n")
    net = w.call("layers", "Net").ref
    with w.train(net, "loss", [np.arange(2)], owner=net.attr("params"),
                 params={"W": np.zeros(2), "b": np.zeros(2)}, X=np.ones((2, 2)), y=np.zeros(2, int),
                 learning_rate=0.1) as steps:
        with pytest.raises(StudentError) as raised:
            next(steps)
    assert raised.value.index == 1 and raised.value.type == "KeyError"


HELD_SHAPES = """
import numpy as np

class Net:
    def __init__(self, plain=True):
        params = {"b": np.zeros((1, 3)), "W": np.zeros((2, 3)), "n": 5}
        self.params = params if plain else Params(params)

    def shapes(self):
        return {k: list(np.shape(v)) for k, v in self.params.items()}

class Params(dict):
    pass
"""


def test_a_stream_asks_the_object_an_earlier_call_made_with_sets_in_the_shapes_it_holds(
        worker) -> None:
    """Note [Sets in the student's shape] in runtime.py: a call of a stream may be a method of an
    earlier call's result (`Part`), with assignments into it; one marked "like" takes the shape
    of the array the plain dict holds under that key when the two differ only by axes of
    length 1, as the judge's `in_shape` of a `params` read would; anything else is assigned as
    it came."""
    w = worker(HELD_SHAPES)
    w.call("layers", "Net")  # started

    def built_and_asked(plain: bool) -> dict:
        params = Part(0).attr("params")
        sets = [(params.item("b"), np.ones(3), "like"), (params.item("W"), np.ones((3, 2)), "like"),
                (params.item("n"), np.ones(1), "like"), (params.item("new"), np.ones((1, 2)), "like")]
        before = w._next_id
        with w.stream([(target("Net"), [plain], {}),
                       ({"ref": Part(0).wire(), "attrs": ["shapes"]}, [], {},
                        {"sets": sets, "watch_inputs": False})]) as results:
            _, asked = list(results)
        assert w._next_id == before + 1
        return asked.value

    assert built_and_asked(True) == {"b": [1, 3], "W": [3, 2], "n": [1], "new": [1, 2]}
    assert built_and_asked(False) == {"b": [3], "W": [3, 2], "n": [1], "new": [1, 2]}
    # without "like", values are assigned in the shape they came in, as always
    net = w.call("layers", "Net").ref
    w.set_many([(net.attr("params").item("b"), np.ones(3))])
    assert w.call_ref(net, "shapes").value["b"] == [3]
