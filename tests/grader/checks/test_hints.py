"""Hints for known Python and NumPy version breaks (grader/checks/hints.py, Note [Version hints]).

The messages matched here are real: each is raised on the spot by the judge's own
NumPy (2.4) and Python, not typed in, so a NumPy that words them differently fails
these tests instead of silently matching nothing.  The only exceptions are messages
that only older NumPy releases print; those are quoted as they print them.
"""

from __future__ import annotations

import traceback

import numpy as np
import pytest

from grader.checks import hints
from grader.scoring import plugin
from grader.checks.builders import forward_check
from grader.checks.spec import Check, CheckFailure, Sample
from grader.checks.student import Student


def raised(source: str) -> str:
    """The last line of the traceback `source` raises, as it reaches a check's message."""
    try:
        exec(compile(source, "layers.py", "exec"), {"np": np})
    except Exception as exc:  # what the student's code raised, whatever it is
        return "".join(traceback.format_exception_only(type(exc), exc)).strip()
    raise AssertionError(f"{source!r} raised nothing")


BREAKS = [
    ("int(np.array([3]))", "numpy2-array-to-scalar", "`x.item()`"),
    ("float(np.ones((1, 1)))", "numpy2-array-to-scalar", "NumPy 2.4"),
    ("float(np.array([1.0, 2.0]))", "numpy2-array-to-scalar", "index the one you mean"),
    ("np.reshape(np.arange(6), newshape=(2, 3))", "numpy2-reshape-newshape", "`newshape=`"),
    ("loss = np.sum(w * w for w in [np.ones(2)])", "numpy24-sum-generator", "`sum(...)`"),
    ("np.unravel_index(4, dims=(2, 3))", "numpy-unravel-index-dims", "`np.unravel_index(i, shape)`"),
    ("np.zeros(3, dtype=np.float)", "numpy-removed-name", "`np.float` was removed in NumPy 1.24"),
    ("np.arange(3).astype(np.int)", "numpy-removed-name", "the builtin `int`"),
    ("x = np.NaN", "numpy2-removed-name", "`np.NaN` was removed in NumPy 2.0: use `np.nan`"),
    ("np.product([1, 2])", "numpy-removed-name", "use `np.prod`"),
    ("np.in1d([1], [1])", "numpy-removed-name", "removed in NumPy 2.4: use `np.isin`"),
    ("np.lib.pad(np.ones(2), 1)", "numpy-lib-removed-name",
     "`np.lib.pad` was removed in NumPy 2.0: use `np.pad`"),
    ("print 'loss', 1.0", "python2-print", "`print(...)`"),
    ("caches = range(3)\ncaches[0] = 1", "python2-range-list", "`list(range(n))`"),
    ("if True:\n\tx = 1\n        y = 2", "python2-tabs", "re-indent the file with spaces only"),
    ("try:\n    pass\nexcept ValueError, e:\n    pass", "python2-except-comma", "`except Error as e:`"),
    ("for i in xrange(3):\n    pass", "python2-name", "Python 3 has `range`"),
    ("import cPickle", "python2-module", "`import pickle`"),
    ("{'a': 1}.iteritems()", "python2-dict-method", "`.items()`"),
    ("from collections import Iterable", "missing-name", "`from collections.abc import Iterable`"),
    ("from fractions import gcd", "missing-name", "The grading environment's `fractions` has no `gcd`"),
    ("from time import clock", "missing-name", "`grade env create"),
    ("import matplotlib.no_such_module", "missing-module", "`matplotlib.no_such_module` cannot be "
                                                           "imported where your code runs"),
    ("from no_such_package import x", "missing-module", "--worker-python"),
    ("N = 4\nnp.zeros((N / 2, 3))", "python2-true-division", "with `//`"),
    ("H = 5\nnp.arange(6).reshape(2, H / 2)", "python2-true-division", "`//`"),
    ("n = 4\nrange(n / 2)", "python2-true-division", "`//`"),
    ("n = 4\nnp.arange(6)[n / 2]", "python2-true-division", "`//`"),
    ("n = 4\nnp.arange(6)[:n / 2]", "python2-true-division", "`//`"),
    ("n = 2\n[1, 2, 3][n / 2]", "python2-true-division", "`//`"),
    ("n = np.float64(4)\nrange(n / 2)", "python2-true-division", "`//`"),
    ("N = np.ones(4).sum()\nnp.zeros((N / 2, 3))", "python2-true-division", "`//`"),
    ("a = np.arange(4)\na /= 2", "python2-true-division-in-place", "`a //= n`"),
    ("a = np.arange(4, dtype=np.int32)\nnp.divide(a, 3, out=a)", "python2-true-division-in-place",
     "`a = a.astype(float)`"),
]


@pytest.mark.parametrize("source, name, words", BREAKS, ids=[b[0].splitlines()[-1] for b in BREAKS])
def test_each_known_break_gets_its_hint(source, name, words) -> None:
    message = f"`affine_forward` raised {raised(source)}"
    found = hints.explain(message)
    assert len(found) == 1, found
    entry = next(b for b in hints.BREAKS if b.name == name)
    assert entry.pattern.search(message)
    assert words in found[0]


# Printed by `float(np.array([1.0, 2.0]))` under NumPy 1.23.5 and 1.26.4 (NumPy 2.4 says
# "only 0-dimensional arrays ..." for that too).
OLDER_NUMPY = [
    "TypeError: only size-1 arrays can be converted to Python scalars",
    "TypeError: only length-1 arrays can be converted to Python scalars",
]


@pytest.mark.parametrize("message", OLDER_NUMPY)
def test_older_numpy_wording_of_a_multi_element_conversion(message) -> None:
    (found,) = hints.explain(f"`softmax_loss` raised {message}")
    assert "index the element you mean" in found


def test_a_name_a_newer_package_release_dropped() -> None:
    # An ENPM809K student's fc_net.py under IPython 9 (Note [Imports the grading environment
    # lacks]); quoted, since whether IPython still has the name depends on its release.
    message = ("classifiers/fc_net.py could not be imported: ImportError: cannot import name "
               "'num_cpus' from 'IPython.utils.sysinfo' (/work/.venv/lib/python3.11/"
               "site-packages/IPython/utils/sysinfo.py) (fc_net.py:3)")
    (found,) = hints.explain(message)
    assert found.startswith("The grading environment's `IPython.utils.sysinfo` has no `num_cpus`")
    assert "delete the import" in found and "`--worker-python`" in found


def test_every_table_entry_is_exercised() -> None:
    assert {b.name for b in hints.BREAKS} == {name for _, name, _ in BREAKS} | {
        "array-to-scalar-size"}


@pytest.mark.parametrize("message", [
    raised("np.dot(np.ones((2, 3)), np.ones((4, 5)))"),        # a real bug, no version break
    raised("np.layernorm(1)"),                                 # a NumPy name that never existed
    raised("affine_backward(1)"),                              # a missing name, not Python 2
    raised("{'a': 1}.keys2()"),
    # the student's own module lacks the name: an ordinary bug, not the environment's
    "ImportError: cannot import name 'affine_relu' from 'cs231n.layer_utils' "
    "(/submission/cs231n/layer_utils.py)",
    "ImportError: cannot import name 'f' from partially initialized module 'cs231n.layers' "
    "(most likely due to a circular import) (/submission/cs231n/layers.py)",
    raised("a = np.arange(4)\na += 0.5"),                      # an int array, but no division
    "out: 3 of 20 entries differ (max abs error 0.5)",
    "`relu_forward` not found in layers.py (did you mean `relu_fwd`?)",
    "",
])
def test_unrelated_failures_get_no_hint(message) -> None:
    assert hints.explain(message) == []


def test_known_hints_come_before_the_checks_own_hint() -> None:
    message = raised("int(np.array([3]))")
    combined = hints.with_version_hints(message, "out = x @ w + b")
    assert combined.startswith("Since NumPy 2.4, `int()`")
    assert combined.endswith(".\nout = x @ w + b")
    assert hints.with_version_hints("out: 1 of 4 entries differ", "out = x @ w + b") == "out = x @ w + b"
    assert hints.with_version_hints("out: 1 of 4 entries differ", "") == ""


def test_one_hint_per_break_however_often_it_shows() -> None:
    message = "\n".join([raised("np.zeros(3, dtype=np.float)")] * 3)
    assert len(hints.explain(message)) == 1


# -- the hook in the grading plugin (grader/scoring/plugin.py) -------------------------------------------

# int() of a one-element array: NumPy 1.x took it, 2.4 refuses it, and no restored name
# (Note [NumPy names restored] in grader/worker/numpy_compat.py) can give it back.
NEEDS_NUMPY_1 = """
import numpy as np
def affine_forward(x, w, b):
    n = int(np.array(x.shape)[:1])
    out = x.reshape(n, -1).dot(w) + b
    return out, (x, w, b)
"""
WRONG = """
import numpy as np
def affine_forward(x, w, b):
    return x.reshape(x.shape[0], -1).dot(w), (x, w, b)
"""
RIGHT = """
import numpy as np
def affine_forward(x, w, b):
    return x.reshape(x.shape[0], -1).dot(w) + b, (x, w, b)
"""


def reference_affine(x, w, b):
    return x.reshape(x.shape[0], -1) @ w + b, None


def affine_check() -> Check:
    rng = np.random.default_rng(0)
    sample = Sample("N=2", (rng.standard_normal((2, 3, 2)), rng.standard_normal((6, 4)),
                            rng.standard_normal(4)))
    return forward_check("affine_forward", "layers", [sample], reference_affine,
                         hint="out = x.reshape(N, -1) @ w + b")


@pytest.mark.parametrize("source, status, version_hint", [
    (NEEDS_NUMPY_1, "failed", True),
    (WRONG, "failed", False),
    (RIGHT, "passed", False),
], ids=["version_break", "plain_bug", "correct"])
def test_plugin_adds_the_hint_only_to_a_matching_failure(make_student, source, status,
                                                        version_hint) -> None:
    if np.lib.NumpyVersion(np.__version__) < "2.4.0":
        pytest.skip(f"the judge's NumPy {np.__version__} still takes int() of a one-element array")
    check = affine_check()
    student = make_student({"layers.py": source})
    (result,) = plugin.run((check,), student, {check.id: 2.0})
    assert result.status == status
    assert result.points == (2.0 if status == "passed" else 0.0)  # the hint never changes it
    if status == "passed":
        assert result.hint == ""
    elif version_hint:
        assert "only 0-dimensional arrays" in result.message
        assert result.hint.startswith("Since NumPy 2.4, `int()`")
        assert result.hint.endswith("out = x.reshape(N, -1) @ w + b")
    else:
        assert result.hint == "out = x.reshape(N, -1) @ w + b"


def test_plugin_hint_also_reaches_checks_that_raise_their_own_failure() -> None:
    def fails(student) -> None:
        raise CheckFailure("`affine_forward` raised AttributeError: module 'numpy' has no "
                           "attribute 'float'.", hint="")

    check = Check("affine_forward/out", "affine_forward", "t", fails, hint="see the notes")
    (result,) = plugin.run((check,), Student(worker=None, modules={}), {check.id: 1.0})
    assert result.status == "failed" and result.points == 0.0
    assert result.hint == ("`np.float` was removed in NumPy 1.24: use the builtin `float` "
                           "(or `np.float64`) instead.\nsee the notes")


@pytest.mark.parametrize("code, used", [
    ("y = np.sum(x for x in a)", {"sum(generator)"}),
    ("y = np.sum(\n    x for x in a)", {"sum(generator)"}),        # arguments over lines
    ("y = np.sum(np.sum(b) * 2 for b in a)", {"sum(generator)"}),
    ("y = np.sum([1]) + np.sum(x for x in a)", {"sum(generator)"}),
    ("y = np.sum([x for x in a])", set()),
    ("y = np.sum( [x for x in a])", set()),                       # a list, after a space
    ("y = np.sum(f(x for x in a))", set()),                       # another call's generator
    ("y = np.sum(a[[i for i in b]])", set()),
    ("reg = sum(np.sum(w * w) for w in ws)", set()),              # the usual L2 penalty
    ("reg = 0.5 * r * sum([np.sum(W ** 2) for W in Ws])", set()),
    ("y = np.sum(a)\nfor x in a: pass", set()),                  # `for` after the call
    ("for x in a: y = np.sum(a)", set()),                         # `for` before the call
    ("y = np.sum(a, fork=1)", set()),
    ("y = np.sum(a)) + (x for x in b)", set()),                   # a bracket too many
    ("z = numpy.reshape(a, newshape =\n (2,))", {"reshape(newshape=)"}),
    ("z = np.reshape(a, newshape=(2,)).T", {"reshape(newshape=)"}),
    ("z = np.reshape(a, (2,)); newshape = 3", set()),
    ("z = np.reshape(a, f(newshape=3))", set()),
    ("z = np.reshape(a, newshape == 3)", set()),
    ("newshape = 3; z = np.reshape(a, newshape)", set()),
])
def test_restored_forms_are_found_among_the_calls_own_arguments(code, used) -> None:
    """Notes [Forms found in linear time] and [A form is in the call's own arguments]."""
    assert {form for form, (opening, rest, _, _) in hints.RESTORED_FORMS.items()
            if hints._form_used(opening, rest, code)} == used


def test_the_l2_penalty_of_a_loss_gets_no_note() -> None:
    """The usual penalty `sum(np.sum(W * W) for W in ...)` under NumPy 2.4 is correct code:
    no note says it raises (Note [A form is in the call's own arguments])."""
    penalty = "loss += 0.5 * self.reg * sum(np.sum(W * W) for W in weights)\n"
    assert hints.restored_numpy_note({"fc_net": penalty}, "2.4.6") is None
    assert "np.sum(generator)" in hints.restored_numpy_note(
        {"fc_net": "loss += 0.5 * self.reg * np.sum(np.sum(W * W) for W in weights)\n"}, "2.4.6")



def _form_used_full_scan(opening, rest, code: str) -> bool:
    """The scan from the first character, as `_form_used` ran before Note [Forms looked for
    only where they can be]: what the shorter one must answer every time."""
    import re
    scan = re.compile(f"(?P<opening>{opening.pattern})|(?P<rest>{rest.pattern})|(?P<bracket>[][(){{}}])")
    open_calls: list[bool] = []
    for match in scan.finditer(code):
        if match.lastgroup == "opening":
            open_calls.append(True)
        elif match.lastgroup == "rest":
            if open_calls and open_calls[-1]:
                return True
        elif match.group() in "([{":
            open_calls.append(False)
        elif open_calls:
            open_calls.pop()
    return False


_FRAGMENTS = ["np.sum(", "numpy.sum(", "np.reshape(", "np.unravel_index(", "sum(", "x.reshape(",
              "for", " for ", "fork", "newshape=", "newshape ==", "newshape =\n", "dims=", "ndims=",
              "(", ")", "[", "]", "{", "}", " ", "\n", "a", ",", "x for x in a", "np", ".", "_"]


def test_forms_looked_for_only_where_they_can_be_give_the_full_scans_answers() -> None:
    """Note [Forms looked for only where they can be]: on random sources made of the forms'
    pieces, brackets and words, the shorter search answers as the scan from the first
    character does, for every form, the uses and the non-uses alike."""
    import random
    rng = random.Random(1717)
    answers = {True: 0, False: 0}
    for _ in range(3000):
        code = "".join(rng.choice(_FRAGMENTS) for _ in range(rng.randint(1, 40)))
        for opening, rest, _, _ in hints.RESTORED_FORMS.values():
            expected = _form_used_full_scan(opening, rest, code)
            assert hints._form_used(opening, rest, code) == expected, code
            answers[expected] += 1
    assert min(answers.values()) > 500  # both answers were asked many times


def test_forms_in_a_long_source_are_found_after_a_long_prefix() -> None:
    """A use far into a source without an opening before it, and one with openings closed
    before it, are found; a mark only before the first opening is not a use."""
    prefix = "y = f(a[0], {1: 2})\n" * 2000
    used = {form for form, (opening, rest, _, _) in hints.RESTORED_FORMS.items()
            if hints._form_used(opening, rest, prefix + "z = np.sum(x for x in a)\n")}
    assert used == {"sum(generator)"}
    closed = prefix + "y = np.sum(a)\n" + prefix + "z = np.reshape(a, newshape=(2,))\n"
    assert {form for form, (opening, rest, _, _) in hints.RESTORED_FORMS.items()
            if hints._form_used(opening, rest, closed)} == {"reshape(newshape=)"}
    before = "newshape = 3\nfor x in a: pass\n" + prefix + "z = np.reshape(a, (2,)) + np.sum(a)\n"
    assert not any(hints._form_used(opening, rest, before)
                   for opening, rest, _, _ in hints.RESTORED_FORMS.values())
