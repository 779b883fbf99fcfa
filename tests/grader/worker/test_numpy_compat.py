"""NumPy names and forms that later releases removed are served again in the worker, with their
old meaning (Note [NumPy names restored] in grader/worker/numpy_compat.py), and the judge tells
the student which ones the submission used."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from grader.checks import hints

ROOT = Path(__file__).resolve().parents[3]
WORKER = ROOT / "grader" / "worker"
REFERENCE = ROOT / "reference" / "cs231n"
GRADE = Path(sys.executable).with_name("grade")
NUMPY_24 = np.lib.NumpyVersion(np.__version__) >= "2.4.0"


def in_a_worker_like_process(code: str) -> dict:
    """Run `code` after `numpy_compat.install()` in a fresh interpreter (never in this one, whose
    numpy the judge's own tests share); it sets `out`, returned as JSON."""
    script = (f"import sys, json\nsys.path.insert(0, {str(WORKER)!r})\nimport numpy as np\n"
              f"import numpy_compat\nrestored = numpy_compat.install()\nout = {{}}\n{code}\n"
              f"out['restored'] = restored\nprint(json.dumps(out))\n")
    proc = subprocess.run([sys.executable, "-I", "-c", script], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])


def test_removed_names_mean_what_they_meant() -> None:
    out = in_a_worker_like_process(
        "out['int'] = np.int is int and np.float is float and np.object is object\n"
        "out['float_'] = np.zeros(2, dtype=np.float_).dtype.name\n"
        "out['inf'] = [np.Inf, np.NINF, float(np.isnan(np.NaN))]\n"
        "out['product'] = float(np.product([2, 3]))\n"
        "out['in1d'] = np.in1d(np.array([[1, 5], [2, 7]]), [5, 7]).tolist()\n"
        "out['asfarray'] = np.asfarray([1, 2]).dtype.name\n"
        "from numpy import int as imported\nout['imported'] = imported is int\n"
        "out['lib_pad'] = np.lib.pad(np.ones(2), 1, 'constant', constant_values=0).tolist()\n"
        "out['lib_kept'] = np.lib.stride_tricks.as_strided is "
        "__import__('numpy.lib.stride_tricks').lib.stride_tricks.as_strided\n"
        "try:\n    np.lib.no_such_name\nexcept AttributeError as e:\n    out['lib_unknown'] = str(e)\n")
    assert out["int"] is True and out["imported"] is True
    assert out["float_"] == "float64"
    assert out["inf"] == [float("inf"), float("-inf"), 1.0]
    assert out["product"] == 6.0
    assert out["in1d"] == [False, True, False, True]  # flattened, as np.in1d always did
    assert out["asfarray"] == "float64"
    # Note [Names of numpy.lib restored]: np.lib.pad is np.pad; numpy.lib's own names untouched
    assert out["lib_pad"] == [0.0, 1.0, 1.0, 0.0]
    assert out["lib_kept"] is True and "no_such_name" in out["lib_unknown"]


def test_names_numpy_has_are_left_alone_and_unknown_names_still_raise() -> None:
    out = in_a_worker_like_process(
        "out['same'] = np.float64 is np.dtype('float64').type\n"
        "out['bool'] = np.bool is np.bool_ if hasattr(np, 'bool_') and 'bool' in np.__dict__ else None\n"
        "out['nan'] = bool(np.isnan(np.nan))\n"
        "try:\n    np.no_such_name\nexcept AttributeError as e:\n    out['unknown'] = str(e)\n"
        "try:\n    np.asscalar(np.array(1))\nexcept AttributeError as e:\n    out['asscalar'] = str(e)\n")
    assert out["same"] is True and out["nan"] is True
    if np.lib.NumpyVersion(np.__version__) >= "2.0.0":
        assert out["bool"] is True  # NumPy 2's own np.bool, not the builtin restored over it
    assert "no_such_name" in out["unknown"]
    assert "asscalar" in out["asscalar"]  # not restored: NumPy's own error, and its hint
    # array(ragged) has no note (Note [Ragged lists made object arrays again])
    assert set(out["restored"]) <= (set(hints.REMOVED_NUMPY_NAMES) | set(hints.RESTORED_FORMS)
                                    | {"array(ragged)"})
    assert "bool" not in out["restored"] or np.lib.NumpyVersion(np.__version__) < "2.0.0"


@pytest.mark.skipif(not NUMPY_24, reason=f"NumPy {np.__version__} still has newshape= and sums generators")
def test_old_forms_of_reshape_and_sum_work_and_the_new_ones_are_unchanged() -> None:
    out = in_a_worker_like_process(
        "x = np.arange(6.0)\n"
        "out['newshape'] = np.reshape(x, newshape=(2, 3)).shape\n"
        "out['shape'] = np.reshape(x, (3, 2), order='F').tolist()\n"
        "out['positional'] = np.reshape(x, (3, 2)).tolist()\n"
        "out['sum_gen'] = float(np.sum(v * v for v in [1.0, 2.0]))\n"
        "out['sum'] = float(np.sum(np.ones((2, 3)), axis=0)[0])\n")
    x = np.arange(6.0)
    assert out["newshape"] == [2, 3]
    assert out["shape"] == np.reshape(x, (3, 2), order="F").tolist()
    assert out["positional"] == np.reshape(x, (3, 2)).tolist()
    assert out["sum_gen"] == 5.0 and out["sum"] == 2.0
    assert {"reshape(newshape=)", "sum(generator)", "int", "float_", "in1d"} <= set(out["restored"])


def test_unravel_index_takes_dims_again_as_the_shape() -> None:
    """Note [unravel_index's dims restored]: a real max-pool backward's argmax, written for
    NumPy before 1.21."""
    out = in_a_worker_like_process(
        "window = np.array([[1.0, 7.0, 2.0], [3.0, 0.0, 5.0]])\n"
        "out['dims'] = [int(i) for i in np.unravel_index(np.argmax(window), dims=window.shape)]\n"
        "out['shape'] = [int(i) for i in np.unravel_index(4, shape=(2, 3))]\n"
        "out['order'] = [int(i) for i in np.unravel_index(4, dims=(2, 3), order='F')]\n"
        "try:\n    np.unravel_index(4, (2, 3), dims=(2, 3))\nexcept TypeError as e:\n"
        "    out['both'] = str(e)\n")
    assert out["dims"] == [0, 1]
    assert out["shape"] == [1, 1]
    assert out["order"] == [int(i) for i in np.unravel_index(4, (2, 3), order="F")]
    assert "both" in out  # a shape given twice is still an error
    assert "unravel_index(dims=)" in out["restored"]


NUMPY_124 = np.lib.NumpyVersion(np.__version__) >= "1.24.0"


@pytest.mark.skipif(not NUMPY_124, reason=f"NumPy {np.__version__} still makes ragged lists object arrays")
def test_a_ragged_list_is_an_object_array_again_and_nothing_else_changes() -> None:
    """Note [Ragged lists made object arrays again]: a 2017 network's weights of different
    shapes gathered with np.array, as NumPy before 1.24 made them."""
    out = in_a_worker_like_process(
        "ws = [np.ones((3, 2)), np.ones((2, 4))]\n"
        "a = np.array(ws)\n"
        "a += 0.5 * a\n"
        "out['ragged'] = [a.dtype.name, list(a.shape), a[1].shape[1], float(a[0][0, 0])]\n"
        "b = np.asarray([[1, 2], [3]])\n"
        "out['asarray'] = [b.dtype.name, list(b.shape)]\n"
        "out['plain'] = [np.array([[1, 2], [3, 4]]).dtype.name, np.asarray([1.0]).dtype.name]\n"
        "out['errors'] = []\n"
        "for make in (lambda: np.array([[1, 2], [3]], dtype=float),\n"
        "             lambda: np.array([[1, 2], [3]], float),\n"
        "             lambda: np.array([np.zeros((2, 3)), np.zeros((2, 4))])):\n"
        "    try:\n        make()\n        out['errors'].append(None)\n"
        "    except ValueError as e:\n        out['errors'].append(str(e))\n")
    assert out["ragged"] == ["object", [2], 4, 1.5]
    assert out["asarray"] == ["object", [2]]
    assert out["plain"] == ["int64", "float64"]
    # A dtype given, or input old NumPy refused as well: NumPy's own error stands.
    assert all(e and "inhomogeneous" in e for e in out["errors"][:2]), out["errors"]
    assert out["errors"][2] and "could not broadcast" in out["errors"][2], out["errors"]
    assert "array(ragged)" in out["restored"]


# Both ways through the CLI: a FullyConnectedNet.loss that adds the L2 gradient through
# np.array of its weights (a real 2017 pattern) earns its points; with a real bug (the penalty's
# gradient added twice) it still loses them.
RAGGED_L2 = """        Ws = np.array([p[name] for name in weight_names])
        dWs = np.array([grads[name] for name in weight_names])
        dWs += REG * Ws
        for i, name in enumerate(weight_names):
            grads[name] = dWs[i]
        return loss, grads
"""


@pytest.mark.skipif(not NUMPY_124, reason=f"NumPy {np.__version__} still makes ragged lists object arrays")
@pytest.mark.parametrize("reg, status", [("self.reg", "passed"), ("2 * self.reg", "failed")],
                         ids=["correct", "l2_gradient_doubled"])
def test_grade_check_judges_a_ragged_weight_array_by_its_arithmetic(submission, tmp_path, reg,
                                                                    status) -> None:
    files = {f"cs231n/{p.relative_to(REFERENCE)}": p.read_text() for p in REFERENCE.rglob("*.py")
             if "__pycache__" not in p.parts}
    old = ("        for name in weight_names:\n"
           "            grads[name] = grads[name] + self.reg * p[name]\n"
           "        return loss, grads\n")
    assert files["cs231n/classifiers/fc_net.py"].count(old) == 1
    files["cs231n/classifiers/fc_net.py"] = files["cs231n/classifiers/fc_net.py"].replace(
        old, RAGGED_L2.replace("REG", reg))
    out = tmp_path / "result.json"
    subprocess.run([str(GRADE), "check", str(submission(files) / "cs231n"), "-a", "fc_nets",
                    "-k", "FullyConnectedNet.loss/grads_reg", "--no-html", "--json", str(out)],
                   capture_output=True, text=True, timeout=300, cwd=tmp_path)
    result = json.loads(out.read_text())
    check = next(c for c in result["checks"] if c["id"] == "FullyConnectedNet.loss/grads_reg")
    assert check["status"] == status, check["message"]
    assert "inhomogeneous" not in check["message"]


def test_the_worker_table_and_the_judge_table_name_the_same_names() -> None:
    spec = importlib.util.spec_from_file_location("numpy_compat_table", WORKER / "numpy_compat.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # defines the table; install() is never called here
    assert set(module.RESTORED) == set(hints.REMOVED_NUMPY_NAMES)
    assert set(hints.RESTORED_FORMS) == {"reshape(newshape=)", "sum(generator)",
                                         "unravel_index(dims=)"}


def test_the_note_names_each_use_with_what_to_write_instead() -> None:
    source = ("import numpy as np\n"
              "def f(x):\n"
              "    n = np.int(x.shape[0])  # np.float in a comment is no use\n"
              "    y = np.reshape(x, newshape=(n, -1)).astype(np.float64)\n"
              "    z = np.lib.pad(y, 1) + np.lib.stride_tricks.as_strided(y)\n"
              "    return np.sum(v for v in y), np.bool_(True), np.bool(1)\n")
    note = hints.restored_numpy_note({"layers": source}, "2.4.6")
    assert "np.int (removed in 1.24: write the builtin `int`" in note
    assert "np.reshape(newshape=) (removed in 2.4" in note
    assert "np.sum(generator) (removed in 2.4" in note
    assert "np.lib.pad (removed in 2.0: write `np.pad`)" in note and "stride_tricks" not in note
    assert "np.float " not in note and "np.float64" not in note
    assert "np.bool" not in note  # NumPy 2.0 has np.bool again
    assert "Under NumPy 2.4.6 itself this code raises an error." in note
    # Under NumPy 1.26 only the 1.24 removals were restored; under 1.23 none.
    older = hints.restored_numpy_note({"layers": source}, "1.26.4")
    assert "np.int " in older and "newshape" not in older and "generator" not in older
    assert hints.restored_numpy_note({"layers": source}, "1.23.5") is None
    assert hints.restored_numpy_note({"layers": "import numpy as np\nx = np.ones(3)\n"},
                                     "2.4.6") is None
    pool = "i, j = np.unravel_index(np.argmax(w), dims=(ph, pw))\n"
    assert "np.unravel_index(dims=) (removed in 1.21: write `np.unravel_index(i, shape)`" in (
        hints.restored_numpy_note({"layers": pool}, "1.23.5"))


# Both ways through the CLI: an affine layer written for NumPy 1.x earns its points (with the
# note), the same layer with a real bug still loses them.
OLD_NUMPY_AFFINE = """

def affine_forward(x, w, b):
    N = np.int(x.shape[0])
    out = np.reshape(x, newshape=(N, -1)).astype(np.float_).dot(w) + b
    return out, (x, w, b)
"""


@pytest.mark.parametrize("bug, status", [("", "passed"), (" + b", "failed")],
                         ids=["correct", "bias_added_twice"])
def test_grade_check_judges_old_numpy_code_by_its_arithmetic(submission, tmp_path, bug, status) -> None:
    files = {f"cs231n/{p.relative_to(REFERENCE)}": p.read_text() for p in REFERENCE.rglob("*.py")
             if "__pycache__" not in p.parts}
    files["cs231n/layers.py"] += OLD_NUMPY_AFFINE.replace(".dot(w) + b", ".dot(w) + b" + bug)
    out = tmp_path / "result.json"
    proc = subprocess.run([str(GRADE), "check", str(submission(files) / "cs231n"), "-a", "fc_nets",
                           "-k", "affine_forward", "--no-html", "--json", str(out)],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    result = json.loads(out.read_text())
    check = next(c for c in result["checks"] if c["id"] == "affine_forward/out")
    assert check["status"] == status, check["message"]
    assert proc.returncode == (0 if status == "passed" else 1)
    if NUMPY_24:
        note = next(n for n in result["notes"] if n.startswith("your code uses NumPy names"))
        assert "np.int (removed in 1.24" in note and "np.reshape(newshape=)" in note
    if status == "failed":
        assert "AttributeError" not in check["message"] and "newshape" not in check["message"]


# Turned off (`restore_numpy: false`, Note [Conventions] in grader/scoring/assignment.py): the same
# correct layer meets NumPy as it is, and the verdict is NumPy's own error with the version hint.
@pytest.mark.parametrize("how", ["course_file", "convention"])
def test_a_course_can_turn_the_restoring_off(submission, tmp_path, how) -> None:
    files = {f"cs231n/{p.relative_to(REFERENCE)}": p.read_text() for p in REFERENCE.rglob("*.py")
             if "__pycache__" not in p.parts}
    files["cs231n/layers.py"] += OLD_NUMPY_AFFINE
    course = tmp_path / "course.yml"
    course.write_text("restore_numpy: false\n")
    switch = ["--course", str(course)] if how == "course_file" else ["--convention",
                                                                      "restore_numpy=false"]
    out = tmp_path / "result.json"
    proc = subprocess.run([str(GRADE), "check", str(submission(files) / "cs231n"), "-a", "fc_nets",
                           "-k", "affine_forward", "--no-html", "--json", str(out), *switch],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    result = json.loads(out.read_text())
    check = next(c for c in result["checks"] if c["id"] == "affine_forward/out")
    assert check["status"] == "failed" and check["cause"] == "raised", check["message"]
    assert "AttributeError: module 'numpy' has no attribute 'int'" in check["message"]
    assert check["hint"].startswith("`np.int` was removed in NumPy 1.24: use the builtin `int`"), \
        check["hint"]
    assert not any(n.startswith("your code uses NumPy names") for n in result["notes"])


def test_a_course_files_restore_numpy_must_be_true_or_false(tmp_path) -> None:
    course = tmp_path / "course.yml"
    course.write_text("restore_numpy: sometimes\n")
    proc = subprocess.run([str(GRADE), "check", str(tmp_path), "-a", "fc_nets", "--no-html",
                           "--course", str(course)], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"grade: --course {course}: restore_numpy must be true or "
                                   f"false, not 'sometimes'")
