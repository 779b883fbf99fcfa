"""What all three graders grade in benchmarks/compare_tools.py: the tests and the students.

Why it exists: a speed comparison is only fair when every tool does the same
work on the same submissions.  This module is the single description of that
work, from which the nbgrader, Otter and our own inputs are all written:

- `TESTS`: one `NotebookTest` per check of the benchmark assignment
  (benchmarks/assignments/fc_layers, which is fc_nets's `LAYER_CHECKS`), with
  the same samples, the same reference outputs, the same points and the same
  public/hidden split, written as a self-contained Python test for a notebook
  test cell (Note [Equivalent tests]);
- `FUNCTIONS`: the graded functions, each a starter stub and a solution (the
  bundled correct example `ada`'s code);
- `students(n)`: n submissions, a mix of correct work and classic bugs, each a
  mapping function name -> the source the student wrote (Note [Benchmark class]).

# Note [Equivalent tests]
Our checks (grader/checks/builders.py) call the student's function on each
sample and compare one output with the reference's, entry by entry, with the
float64 tolerance (rtol 1e-6, atol 1e-9, Note [Tolerances] in
grader/checks/compare.py) after checking the shape.  A backward check runs the
student's own forward pass, calls the backward with the seeded upstream
gradient `default_rng(sample number).standard_normal(out.shape)`, and compares
one gradient with the reference's (the directional check runs only to explain
a failure).  The test written here does exactly that in the notebook's kernel:
the inputs, upstream gradients and reference outputs are recorded (an .npz,
base64 in the cell, exact to the bit), and each sample is checked with
`np.allclose(actual, expected, rtol=1e-6, atol=1e-9)` after a shape check.
What differs is only what the tools are built to do: nbgrader and Otter run
the test in the student's kernel (a student could patch `np.allclose`), our
grader in the judge, and ours explains a failure in detail.

# Note [Benchmark class]
Every submission must be gradable by all three tools, so there are no hostile,
empty or Python 2 entries here (batch_throughput.py and overhead.py cover
those for our grader alone).  The kinds cycle through `KINDS`: half correct,
the rest one bug each -- two layers.py bugs of examples/batch/make_class.py
(db averaged, ReLU gradient without dout), softmax without its shift (the
benchmark's students write every layer, so it is theirs to lose), the SVM
counting the correct class's margin, and an unfinished notebook whose
`svm_loss` is still the starter's `raise NotImplementedError`.  Each carries
its number in a comment, so that no two notebooks are identical.
"""

from __future__ import annotations

import ast
import base64
import io
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "examples" / "batch"))
sys.path.insert(0, str(ROOT))

import make_class  # noqa: E402  (examples/batch: the bugs and the correct example)

from reference.cs231n import layers as ref  # noqa: E402

CHECKS_FILE = Path(__file__).resolve().parent / "assignments" / "fc_layers" / "checks.py"

ASSIGNMENT = "fc_layers"
RTOL, ATOL = 1e-6, 1e-9          # grader/checks/compare.py TOLERANCES["float64"]
ORDER = ("affine_forward", "affine_backward", "relu_forward", "relu_backward", "softmax_loss",
         "svm_loss")
KINDS = ("correct", "bug_db", "correct", "bug_softmax_loss", "correct", "bug_relu_backward",
         "correct", "bug_svm_correct_class", "correct", "unfinished_svm")
STUB = "    raise NotImplementedError\n"


@dataclass(frozen=True)
class NotebookTest:
    """One check of the benchmark assignment as a notebook test; see Note [Equivalent tests]."""
    check_id: str       # our check id, e.g. "affine_backward/dx"
    function: str       # the student function (the notebook question) it belongs to
    points: float
    hidden: bool
    code: str           # self-contained test code; raises AssertionError when the answer is wrong


@dataclass(frozen=True)
class Function:
    name: str
    signature: str      # "def affine_forward(x, w, b):"
    body: str           # the solution's body, indented
    stub: str           # what students start from: the signature and `raise NotImplementedError`


@dataclass(frozen=True)
class Student:
    id: str             # "s07_bug_db"
    kind: str
    sources: dict       # function name -> the cell the student wrote


# -- the graded functions ----------------------------------------------------------------------

def _functions() -> dict[str, Function]:
    text = (make_class.ADA / "layers.py").read_text()
    tree = ast.parse(text)
    lines = text.splitlines(keepends=True)
    found = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name in ORDER:
            signature = "".join(lines[node.lineno - 1:node.body[0].lineno - 1]).rstrip("\n")
            body = "".join(lines[node.body[0].lineno - 1:node.end_lineno])
            found[node.name] = Function(node.name, signature, body, f"{signature}\n{STUB}")
    missing = [name for name in ORDER if name not in found]
    if missing:
        raise RuntimeError(f"{make_class.ADA / 'layers.py'} lacks {missing}")
    return {name: found[name] for name in ORDER}


FUNCTIONS = _functions()


# -- the tests ---------------------------------------------------------------------------------

def _encode(arrays: dict[str, np.ndarray]) -> str:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


# The start of every test cell: decode the recorded data and compare like our checks do.
PRELUDE = '''import base64, io
import numpy as np
data = np.load(io.BytesIO(base64.b64decode("{data}")))
for s in range({count}):
    args = [data[f"s{{s}}_a{{i}}"] for i in range({arity})]
'''
COMPARE = '''    expected = data[f"s{{s}}_expected"]
    assert np.shape(actual) == expected.shape, \\
        f"{what}: sample {{s}}: shape {{np.shape(actual)}}, expected {{expected.shape}}"
    assert np.allclose(actual, expected, rtol={rtol}, atol={atol}), \\
        f"{what}: sample {{s}} differs from the reference"
'''


def _forward_test(function: str, samples, output: str, index: int | None) -> str:
    arrays = {}
    for s, sample in enumerate(samples):
        arrays.update({f"s{s}_a{i}": np.asarray(a) for i, a in enumerate(sample.args)})
        value = getattr(ref, function)(*sample.args)
        arrays[f"s{s}_expected"] = np.asarray(value if index is None else value[index])
    pick = "" if index is None else f"[{index}]"
    return (PRELUDE.format(data=_encode(arrays), count=len(samples), arity=len(samples[0].args))
            + f"    actual = {function}(*args){pick}\n"
            + COMPARE.format(what=f"{function} {output}", rtol=RTOL, atol=ATOL))


def _backward_test(forward: str, backward: str, samples, grad: str, index: int | None) -> str:
    """Seeded dout per sample, as backward_check draws it (seed 0 + sample number)."""
    arrays = {}
    for s, sample in enumerate(samples):
        arrays.update({f"s{s}_a{i}": np.asarray(a) for i, a in enumerate(sample.args)})
        out, cache = getattr(ref, forward)(*sample.args)
        dout = np.random.default_rng(s).standard_normal(np.shape(out))
        grads = getattr(ref, backward)(dout, cache)
        arrays[f"s{s}_dout"] = dout
        arrays[f"s{s}_expected"] = np.asarray(grads if index is None else grads[index])
    pick = "" if index is None else f"[{index}]"
    return (PRELUDE.format(data=_encode(arrays), count=len(samples), arity=len(samples[0].args))
            + f"    out, cache = {forward}(*args)\n"
            + f"    actual = {backward}(data[f\"s{{s}}_dout\"], cache){pick}\n"
            + COMPARE.format(what=f"{backward} {grad}", rtol=RTOL, atol=ATOL))


def fc_nets_checks():
    """assignments/fc_nets/checks.py, loaded the way the benchmark assignment loads it."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("benchmark_fc_layers_checks", CHECKS_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.fc_nets_checks()


def _tests() -> list[NotebookTest]:
    """Mirrors LAYER_CHECKS in assignments/fc_nets/checks.py, check for check."""
    fc = fc_nets_checks()
    points = _rubric_points()
    public, hidden = fc.affine_samples(), fc.affine_samples(10, hidden=True)
    losses, hidden_losses = fc.loss_samples(), fc.loss_samples(hidden=True)
    table = [
        ("affine_forward/out", _forward_test("affine_forward", public, "out", 0)),
        ("affine_forward/out_hidden", _forward_test("affine_forward", hidden, "out", 0)),
        *[(f"affine_backward/{g}", _backward_test("affine_forward", "affine_backward", public, g, i))
          for i, g in enumerate(("dx", "dw", "db"))],
        ("affine_backward/dx_hidden",
         _backward_test("affine_forward", "affine_backward", hidden, "dx", 0)),
        ("relu_forward/out", _forward_test("relu_forward", fc.relu_samples(), "out", 0)),
        ("relu_backward/dx", _backward_test("relu_forward", "relu_backward", fc.relu_samples(),
                                            "dx", None)),
        ("softmax_loss/loss", _forward_test("softmax_loss", losses, "loss", 0)),
        ("softmax_loss/dx", _forward_test("softmax_loss", losses, "dx", 1)),
        ("softmax_loss/loss_hidden", _forward_test("softmax_loss", hidden_losses, "loss", 0)),
        # a 0-point advisory (Note [Advisory checks] in grader/scoring/assignment.py): same work, no points
        ("softmax_loss/wide_rows", _forward_test("softmax_loss", fc.wide_row_samples(), "loss", 0)),
        ("svm_loss/loss", _forward_test("svm_loss", losses, "loss", 0)),
        ("svm_loss/dx", _forward_test("svm_loss", losses, "dx", 1)),
    ]
    ours = [c.id for c in fc.LAYER_CHECKS]
    if [check_id for check_id, _ in table] != ours:
        raise RuntimeError(f"the benchmark's tests no longer mirror fc_nets's LAYER_CHECKS: {ours}")
    return [NotebookTest(check_id, check_id.split("/")[0], points[check_id],
                     check_id.endswith("_hidden"), code) for check_id, code in table]


def _rubric_points() -> dict[str, float]:
    import yaml
    path = Path(__file__).resolve().parent / "rubrics" / f"{ASSIGNMENT}.yml"
    return {k: float(v) for k, v in yaml.safe_load(path.read_text())["points"].items()}


TESTS = _tests()
MAX_SCORE = sum(t.points for t in TESTS)


# -- the students ------------------------------------------------------------------------------

def _edit(source: str, find: str, replace: str, kind: str) -> str:
    if source.count(find) != 1:
        raise RuntimeError(f"{kind}: {find!r} is not in the solution exactly once")
    return source.replace(find, replace)


def _sources(kind: str, number: int) -> dict[str, str]:
    sources = {name: f"# student {number}\n{f.signature}\n{f.body}" for name, f in FUNCTIONS.items()}
    if kind in make_class.BUGS:
        _, find, replace, function = make_class.BUGS[kind]
        sources[function] = _edit(sources[function], find, replace, kind)
    elif kind == "bug_softmax_loss":  # the benchmark's students write softmax_loss too
        sources["softmax_loss"] = _edit(sources["softmax_loss"],
                                        "        loss += np.log(total) - (x[i, y[i]] - top)\n",
                                        "        loss += np.log(total) - x[i, y[i]]\n", kind)
    elif kind == "bug_svm_correct_class":
        sources["svm_loss"] = _edit(sources["svm_loss"], "            if j == y[i]:\n"
                                    "                continue\n", "", kind)
    elif kind == "unfinished_svm":
        sources["svm_loss"] = f"# student {number}\n{FUNCTIONS['svm_loss'].stub}"
    elif kind != "correct":
        raise ValueError(f"unknown kind {kind!r}")
    return sources


def students(count: int) -> list[Student]:
    """`count` submissions; Note [Benchmark class]."""
    if count < 1:
        raise ValueError("a class needs at least one submission")
    result = []
    for number in range(1, count + 1):
        kind = KINDS[(number - 1) % len(KINDS)]
        result.append(Student(f"s{number:03d}_{kind}", kind, _sources(kind, number)))
    return result
