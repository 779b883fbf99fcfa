"""Hints for failures that match a known break between Python or NumPy versions.

Correct code written for an older course environment fails under a newer one:
under NumPy 2.4 `int(np.array([3]))` and `np.sum(generator)` raise and
`np.reshape(x, newshape=...)` is gone, NumPy 1.24 removed `np.float`, and Python 2 code has print statements,
indentation mixing tabs and spaces and a `/` that floored; Python 3.10 took the container ABCs out of `collections`, and
packages drop names between releases (IPython 9 has no `IPython.utils.sysinfo.num_cpus`).
A student who sees only "TypeError: only 0-dimensional
arrays can be converted to Python scalars" cannot tell a version break from a
bug.  This module names the change and the fix; grading a course's own
environment at all is grader/worker/envs.py's job.  What NumPy removed by name or
form the worker serves again (Note [NumPy names restored] in
grader/worker/numpy_compat.py), so of NumPy's breaks the hints meet mainly what
cannot be given back (`int()` of a one-element array) and uses the restoring
misses; `restored_numpy_note` here tells the student what was restored.

# Note [Version hints]
BREAKS is a table: a regular expression over a failed check's message, and the
hint to give when it matches (a template, filled from the match's named groups
and, for removed names, a table of what replaces them).  The message is where
every student exception ends up, whichever builder, check or import caught it
(type, message and traceback: `_student_call` in grader/checks/builders.py,
`import_failure_message` in grader/checks/student.py), so the plugin
(grader/scoring/plugin.py) calls `explain` once, on the final message of every check
that did not pass, and puts what it returns before the check's own hint, one
hint per line (the terminal and the HTML report keep the lines).  It
only ever adds words: status and points are settled before it runs, so a hint
can never change a verdict.  Patterns are exact phrases of the interpreter's
or NumPy's own messages, measured under NumPy 1.23, 1.26, 2.0, 2.3 and 2.4,
so that an unrelated failure matches none of them.

# Note [Imports the grading environment lacks]
A student's file that imports something the worker's environment does not have
fails as a whole: every check of that file errors, whether or not the name is
used.  Real cases: an editor's stray `from IPython.utils.sysinfo import
num_cpus` in fc_net.py (an ENPM809K package: 24/51 where 38/51 was its due;
IPython 8 deprecated the function and 9 removed it) and `from
matplotlib.rcsetup import ...` in optim.py.  What the course's environment lets
students assume, the default worker has (matplotlib and `future`'s
`past.builtins`: Note [What student code may import] in pyproject.toml); for
the rest two hints say what happened and what to do: a module that is nowhere
(`No module named ...`; not for Python 2 modules, which have their own hint),
and a name that an installed module or the standard library lacks (`cannot
import name N from M (PATH)`, only where PATH is under a `lib/python3.X/`
folder, or a built-in module's "unknown location": a student's own module that
lacks a name is an ordinary bug and gets no hint).  `collections`' ABCs get
their new home.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Mapping

# NumPy names removed over the years -> (release that removed them, what to write instead).
REMOVED_NUMPY_NAMES: Mapping[str, tuple[str, str]] = {
    # Aliases of Python builtins, deprecated in 1.20 and removed in 1.24.
    "float": ("1.24", "the builtin `float` (or `np.float64`)"),
    "int": ("1.24", "the builtin `int` (or `np.int64`)"),
    "bool": ("1.24", "the builtin `bool` (or `np.bool_`)"),
    "object": ("1.24", "the builtin `object`"),
    "str": ("1.24", "the builtin `str`"),
    "complex": ("1.24", "the builtin `complex` (or `np.complex128`)"),
    "long": ("1.24", "the builtin `int`"),
    "unicode": ("1.24", "the builtin `str`"),
    # The NumPy 2.0 clean-up of the main namespace.
    "NaN": ("2.0", "`np.nan`"), "NAN": ("2.0", "`np.nan`"), "Inf": ("2.0", "`np.inf`"),
    "Infinity": ("2.0", "`np.inf`"), "PINF": ("2.0", "`np.inf`"), "NINF": ("2.0", "`-np.inf`"),
    "infty": ("2.0", "`np.inf`"), "float_": ("2.0", "`np.float64`"),
    "complex_": ("2.0", "`np.complex128`"), "unicode_": ("2.0", "`np.str_`"),
    "string_": ("2.0", "`np.bytes_`"), "product": ("2.0", "`np.prod`"),
    "cumproduct": ("2.0", "`np.cumprod`"), "sometrue": ("2.0", "`np.any`"),
    "alltrue": ("2.0", "`np.all`"), "round_": ("2.0", "`np.round`"),
    "asfarray": ("2.0", "`np.asarray(x, dtype=float)`"), "msort": ("2.0", "`np.sort(a, axis=0)`"),
    # Deprecated in 2.0, removed in 2.4.
    "in1d": ("2.4", "`np.isin`"), "trapz": ("2.4", "`np.trapezoid`"),
    # The NumPy 2.0 clean-up of numpy.lib (Note [Names of numpy.lib restored] in
    # grader/worker/numpy_compat.py): a dotted name is served in that submodule.
    "lib.pad": ("2.0", "`np.pad`"),
}

# What Python 3.10 removed from `collections` (in `collections.abc` since Python 3.3).
COLLECTIONS_ABCS = frozenset({
    "Awaitable", "Coroutine", "AsyncIterable", "AsyncIterator", "AsyncGenerator", "Hashable",
    "Iterable", "Iterator", "Generator", "Reversible", "Sized", "Container", "Callable",
    "Collection", "Set", "MutableSet", "Mapping", "MutableMapping", "MappingView", "KeysView",
    "ItemsView", "ValuesView", "Sequence", "MutableSequence", "ByteString"})

# Python 2 names and methods that Python 3 dropped -> what to write instead.
PYTHON2_NAMES: Mapping[str, str] = {
    "xrange": "`range`", "raw_input": "`input`", "unicode": "`str`", "basestring": "`str`",
    "long": "`int`", "unichr": "`chr`", "reduce": "`from functools import reduce`",
    "izip": "the builtin `zip`", "cPickle": "`import pickle`",
}
PYTHON2_DICT_METHODS: Mapping[str, str] = {
    "iteritems": "`.items()`", "itervalues": "`.values()`", "iterkeys": "`.keys()`",
    "has_key": "`key in d`",
}

FLOAT_WHERE_INT = ("Something that must be an integer (a shape, an index, a slice bound or a "
                   "range) got a float. In Python 3 `/` always gives a float (Python 2 floored "
                   "two ints): compute sizes and indices with `//`, e.g. "
                   "`H_out = 1 + (H + 2 * pad - HH) // stride`.")
FLOAT_INTO_INT_ARRAY = ("A float result was stored back into an integer array (`a /= n` on an "
                        "int array, or `out=` one). In Python 3 `/` always gives floats (Python 2 "
                        "floored two ints): write `a //= n` for the floor, or make the array "
                        "float first (`a = a.astype(float)`) if you mean the fraction.")


@dataclass(frozen=True)
class Break:
    """One known break: a pattern over the failure message and the hint it earns."""
    name: str
    pattern: re.Pattern
    hint: Callable[[re.Match], str | None]


def _fixed(text: str) -> Callable[[re.Match], str]:
    return lambda match: text


def _removed_numpy_name(match: re.Match) -> str | None:
    name = match.group("name")
    if name not in REMOVED_NUMPY_NAMES:
        return None
    release, instead = REMOVED_NUMPY_NAMES[name]
    return f"`np.{name}` was removed in NumPy {release}: use {instead} instead."


def _removed_numpy_lib_name(match: re.Match) -> str | None:
    name = f"lib.{match.group('name')}"
    if name not in REMOVED_NUMPY_NAMES:
        return None
    release, instead = REMOVED_NUMPY_NAMES[name]
    return f"`np.{name}` was removed in NumPy {release}: use {instead} instead."


def _python2_name(match: re.Match) -> str | None:
    name = match.group("name")
    return (f"`{name}` is Python 2; Python 3 has {PYTHON2_NAMES[name]} instead."
            if name in PYTHON2_NAMES else None)


def _python2_dict_method(match: re.Match) -> str:
    name = match.group("name")
    return f"`dict.{name}` is Python 2; Python 3 writes {PYTHON2_DICT_METHODS[name]} instead."


ENVIRONMENT_ADVICE = ("If nothing uses it (editors add imports on their own), delete the "
                      "import; if the course's environment has it, an instructor can grade in "
                      "such an environment (`grade env create --numpy VERSION --with PACKAGE`, "
                      "then `--worker-python`; README, \"Course environments\").")


def _missing_module(match: re.Match) -> str | None:
    """Note [Imports the grading environment lacks]."""
    name = match.group("name")
    if name in PYTHON2_NAMES:  # `python2-module` says it better
        return None
    return (f"`{name}` cannot be imported where your code runs: neither your submission nor "
            f"the grading environment has it (packages also move their modules between "
            f"releases). {ENVIRONMENT_ADVICE}")


def _missing_name(match: re.Match) -> str:
    """Note [Imports the grading environment lacks]."""
    name, module = match.group("name"), match.group("module")
    if module == "collections" and name in COLLECTIONS_ABCS:
        return (f"Python 3.10 removed `collections.{name}`: import it from `collections.abc` "
                f"(`from collections.abc import {name}`), which has it since Python 3.3.")
    return (f"The grading environment's `{module}` has no `{name}`: Python and packages add "
            f"and remove names between releases, so an import that worked in the course's "
            f"environment can fail in this one. {ENVIRONMENT_ADVICE}")


BREAKS: tuple[Break, ...] = (
    Break("numpy2-array-to-scalar",
          re.compile(r"only 0-dimensional arrays can be converted to Python scalars"),
          _fixed("Since NumPy 2.4, `int()`, `float()` and `complex()` take only a "
                 "0-dimensional array; NumPy 1.x also took an array holding one element, such "
                 "as shape (1,) or (1, 1) (deprecated since NumPy 1.25). Take the element out "
                 "first: `x.item()` or `x[0]` (and if it holds several, index the one you "
                 "mean).")),
    Break("array-to-scalar-size",  # NumPy before 2.4 words it so (1.23: size-1, 1.26: length-1)
          re.compile(r"only (?:length|size)-1 arrays can be converted to Python scalars"),
          _fixed("`int()`, `float()` and `complex()` take a single number, not an array of "
                 "several: index the element you mean, or reduce first (`x.sum()`); under "
                 "NumPy 2.4 and later even a one-element array needs `x.item()`.")),
    Break("numpy2-reshape-newshape",
          re.compile(r"reshape\(\) got an unexpected keyword argument 'newshape'"),
          _fixed("NumPy 2.4 removed the `newshape=` keyword of `np.reshape` (deprecated since "
                 "NumPy 2.1): write `np.reshape(x, shape)`, `np.reshape(x, shape=shape)` or "
                 "`x.reshape(shape)`.")),
    Break("numpy-unravel-index-dims",  # Note [unravel_index's dims restored] in numpy_compat.py
          re.compile(r"unravel_index\(\) got an unexpected keyword argument 'dims'"),
          _fixed("NumPy 1.16 renamed `np.unravel_index`'s `dims=` keyword to `shape=` and NumPy "
                 "1.21 removed `dims=`: write `np.unravel_index(i, shape)`.")),
    Break("numpy24-sum-generator",  # a DeprecationWarning from NumPy 1.15 to 2.3
          re.compile(r"Calling np\.sum\(generator\) is deprecated"),
          _fixed("NumPy 2.4 made `np.sum` of a generator an error (from NumPy 1.15 to 2.3 it "
                 "only warned and summed it as Python's `sum` does): write `sum(...)`, or "
                 "`np.sum([...])` with a list.")),
    Break("numpy-removed-name",
          re.compile(r"module 'numpy' has no attribute '(?P<name>\w+)'"), _removed_numpy_name),
    Break("numpy-lib-removed-name",  # Note [Names of numpy.lib restored]
          re.compile(r"module 'numpy\.lib' has no attribute '(?P<name>\w+)'"),
          _removed_numpy_lib_name),
    Break("numpy2-removed-name",
          re.compile(r"`np\.(?P<name>\w+)` was removed in the NumPy 2\.0 release"),
          _removed_numpy_name),
    Break("python2-print",
          re.compile(r"Missing parentheses in call to 'print'"),
          _fixed("Python 3 made `print` a function: write `print(...)` with parentheses "
                 "(this is Python 2's print statement).")),
    Break("python2-tabs",  # Python 2 read a tab as 8 columns; a file that mixes them fails as a whole
          re.compile(r"TabError: inconsistent use of tabs and spaces in indentation"),
          _fixed("Python 3 refuses indentation that mixes tabs and spaces, which Python 2 accepted: "
                 "re-indent the file with spaces only (your editor's \"convert indentation to "
                 "spaces\").")),
    Break("python2-range-list",  # a real 2018 package: dp_caches = range(L - 1); dp_caches[i] = ...
          re.compile(r"'range' object does not support item assignment"),
          _fixed("In Python 3 `range(...)` is a lazy sequence that cannot be assigned to (Python 2's "
                 "was a list): make the list you fill in with `list(range(n))` or `[None] * n`.")),
    Break("python2-except-comma",
          re.compile(r"multiple exception types must be parenthesized"),
          _fixed("Python 3 writes `except Error as e:` where Python 2 wrote `except Error, e:`.")),
    Break("python2-name", re.compile(r"name '(?P<name>\w+)' is not defined"), _python2_name),
    Break("python2-module", re.compile(r"No module named '(?P<name>cPickle)'"), _python2_name),
    Break("missing-module", re.compile(r"No module named '(?P<name>[\w.]+)'"), _missing_module),
    Break("missing-name",
          re.compile(r"cannot import name '(?P<name>\w+)' from '(?P<module>[\w.]+)' "
                     r"\((?:[^()\n]*/lib/python3\.\d+/[^()\n]*|unknown location)\)"),
          _missing_name),
    Break("python2-dict-method",
          re.compile(r"'dict' object has no attribute '(?P<name>iteritems|itervalues|iterkeys|"
                     r"has_key)'"),
          _python2_dict_method),
    Break("python2-true-division",
          re.compile(r"'(?:numpy\.)?float(?:16|32|64|128)?' object cannot be interpreted as an "
                     r"integer"
                     r"|slice indices must be integers or None or have an __index__ method"
                     r"|only integers, slices \(`:`\), ellipsis \(`\.\.\.`\), numpy\.newaxis"
                     r"|(?:list|tuple) indices must be integers or slices, not float"),
          _fixed(FLOAT_WHERE_INT)),
    Break("python2-true-division-in-place",  # NumPy 1.x and 2.x word it so (quotes since 1.x)
          re.compile(r"Cannot cast ufunc '?(?:true_)?divide'? output from dtype\('float\d*'\) to "
                     r"dtype\('u?int\d*'\) with casting rule 'same_kind'"),
          _fixed(FLOAT_INTO_INT_ARRAY)),
)


def explain(message: str) -> list[str]:
    """The hints of every known break that `message` matches, in table order, no repeats."""
    found: list[str] = []
    for known in BREAKS:
        for match in known.pattern.finditer(message or ""):
            hint = known.hint(match)
            if hint and hint not in found:
                found.append(hint)
    return found


def with_version_hints(message: str, hint: str) -> str:
    """`hint` with the hints for any known break in `message` before it, one per line
    (Note [Version hints])."""
    return "\n".join([*explain(message), *([hint] if hint else [])])


# What grader/worker/numpy_compat.py restores besides names: form -> (the call's opening, up to
# and with its parenthesis, what marks the form among that call's own arguments, the release
# that removed it, what to write instead).  Note [A form is in the call's own arguments]
RESTORED_FORMS: Mapping[str, tuple[re.Pattern, re.Pattern, str, str]] = {
    "reshape(newshape=)": (re.compile(r"\b(?:np|numpy)\.reshape\("), re.compile(r"\bnewshape\s*=(?!=)"),
                           "2.4", "`np.reshape(x, shape)` or `x.reshape(shape)`"),
    "sum(generator)": (re.compile(r"\b(?:np|numpy)\.sum\("), re.compile(r"\bfor\b"),
                       "2.4", "the builtin `sum(...)`, or `np.sum([...])` of a list"),
    # Note [unravel_index's dims restored] in grader/worker/numpy_compat.py
    "unravel_index(dims=)": (re.compile(r"\b(?:np|numpy)\.unravel_index\("),
                             re.compile(r"\bdims\s*=(?!=)"), "1.21",
                             "`np.unravel_index(i, shape)`"),
}


# Note [Forms found in linear time]
# The forms were one pattern each, `opening[^#\n]*rest`, searched over the student's source
# in the judge after every grading.  On a line holding the opening K times and no rest, the
# search tried each opening and ran to the end of the line from each: a 220 KB line of
# `np.reshape(` took 63 s, and a megabyte line (a string constant, well within a zip's
# limits) hours, with no limit on a batch job to stop it.  Now the openings, the rests and
# the brackets are found in one pass (one `finditer` of their alternation), with a stack of
# the brackets open at each point: linear in the source, whatever it holds.
#
# Note [A form is in the call's own arguments]
# "The rest anywhere after the opening on its line" also matched code that uses neither
# form: `reg = sum(np.sum(w * w) for w in weights)` and `sum([np.sum(w * w) for w in ws])`,
# the usual L2 penalty of a network's loss (and the course's own gradient checks), got "your
# code uses np.sum(generator) ... Under NumPy 2.4 itself this code raises an error", which
# is false.  A form is used only where its mark stands among the call's own arguments: a
# `for` directly inside `np.sum(`'s parentheses (a generator argument: `np.sum(x for x in
# a)`, over lines too), not inside a list, a call or a subscript within them, not after the
# call has closed; `newshape=` as a keyword of `np.reshape(` itself.  Brackets inside string
# constants are counted as brackets (the source is never parsed in the judge): a string
# holding an unmatched bracket within such a call can hide a use or show one, which costs
# a note, never a point.
_BRACKET = {"(": ")", "[": "]", "{": "}"}


# Note [Forms looked for only where they can be]
# The note is made after every grading, in the judge, on the critical path of `grade check`:
# each form's scan (Note [Forms found in linear time]) went through every source from its
# first character, 3 forms x 4-6 modules: 8-10 ms at the end of every `grade check` (load 2-6)
# and of every batch job.  Most sources hold no opening of a form at all
# (`np.unravel_index(`), or no mark after it (`newshape=`),
# and then the form is not used: every `rest` that counts stands after an opening that is
# still open, so after the first opening of all.  So `_form_used` first looks for the first
# opening, and for a mark after it, each one search of its own pattern; only when both are
# there does the bracket scan run, from that first opening: before it no bracket is an
# opening's own, so the brackets there only ever sit below the ones that count on the stack,
# and a closing bracket that would pop one of them pops nothing in the shorter scan (one too
# many is ignored), leaving the top of the stack the same at every `rest`.  No token of a
# form reaches across the start of an opening (the marks end in `=` or a word, and `np` or
# `numpy` begins no mark), so the shorter scan cuts the text into the same tokens from there;
# a form added to RESTORED_FORMS must keep that, and its pieces join the random sources of
# tests/grader/checks/test_hints.py, which compares the two scans' answers on them.  The
# scans are compiled once per process.
# The two searches ask first the patterns less a leading `\b` (a word boundary), which match
# wherever the patterns do, and more: Python's regular expressions find a literal start
# quickly, but not after `\b` (0.94 -> 0.04 ms for `\b(?:np|numpy)\.unravel_index\(` over
# 49 KB without it); the exact pattern is asked only where the loose one was found.  The whole
# note on the course modules of each numpy solution (layers, layer_utils, optim, fc_net, cnn:
# 45 KB), in a fresh process, first call 9.7-13.6 -> 1.9-3.1 ms (load 2.8), same answers.
_SCANS: dict[tuple[str, str], tuple[re.Pattern, re.Pattern, re.Pattern]] = {}


def _loose(pattern: re.Pattern) -> re.Pattern:
    """`pattern` less a leading word boundary: a match wherever `pattern` matches (Note [Forms
    looked for only where they can be])."""
    return re.compile(pattern.pattern.removeprefix("\\b"), pattern.flags)


def _form_used(opening: re.Pattern, rest: re.Pattern, code: str) -> bool:
    """Whether `rest` stands directly among the arguments of a call that `opening` (ending with
    its `(`) starts, in `code`, a source without `#` (Notes [Forms found in linear time],
    [A form is in the call's own arguments] and [Forms looked for only where they can be])."""
    key = (opening.pattern, rest.pattern)
    if key not in _SCANS:
        _SCANS[key] = (_loose(opening), _loose(rest), re.compile(
            f"(?P<opening>{opening.pattern})|(?P<rest>{rest.pattern})|(?P<bracket>[][(){{}}])"))
    loose_opening, loose_rest, scan = _SCANS[key]
    if loose_opening.search(code) is None:  # Note [Forms looked for only where they can be]
        return False
    first = opening.search(code)
    if first is None or loose_rest.search(code, first.end()) is None:
        return False
    open_calls: list[bool] = []  # one per open bracket: whether it is the opening's own
    for match in scan.finditer(code, first.start()):
        kind = match.lastgroup
        if kind == "opening":
            open_calls.append(True)
        elif kind == "rest":
            if open_calls and open_calls[-1]:
                return True
        elif match.group() in _BRACKET:
            open_calls.append(False)
        elif open_calls:  # a closing bracket; one too many is ignored
            open_calls.pop()
    return False

_NUMPY_NAME_USE = re.compile(r"\b(?:np|numpy)\.(?P<name>(?:lib\.)?\w+)\b")
# Removed in 1.24 as aliases of builtins, back in 2.0 as NumPy's own types (np.bool_, C long).
READDED_NUMPY_NAMES: Mapping[str, str] = {"bool": "2.0", "long": "2.0"}


def _release(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version)[:2])


# How the note below begins, whatever the versions: grader/course/selftest.py finds it by this.
RESTORED_NOTE_START = "your code uses NumPy names that NumPy"


def restored_numpy_note(sources: Mapping[str, str], numpy_version: str) -> str | None:
    """The note on the NumPy names and forms of `sources` (module -> source text) that the
    worker's NumPy `numpy_version` no longer has and the worker served as older releases did
    (Note [NumPy names restored] in grader/worker/numpy_compat.py); None when there are none.
    Words only: the source is read as text, never compiled or run in the judge."""
    if not numpy_version:
        return None
    running = _release(numpy_version)
    used: dict[str, tuple[str, str]] = {}
    for text in sources.values():
        code = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
        for match in _NUMPY_NAME_USE.finditer(code):
            name = match.group("name")
            if (name in REMOVED_NUMPY_NAMES and _release(REMOVED_NUMPY_NAMES[name][0]) <= running
                    and not (name in READDED_NUMPY_NAMES
                             and _release(READDED_NUMPY_NAMES[name]) <= running)):
                used[f"np.{name}"] = REMOVED_NUMPY_NAMES[name]
        for form, (opening, rest, release, instead) in RESTORED_FORMS.items():
            if _release(release) <= running and _form_used(opening, rest, code):
                used[f"np.{form}"] = (release, instead)
    if not used:
        return None
    return (f"{RESTORED_NOTE_START} {numpy_version} no longer has; the grader "
            f"served them as the releases the code was written for had them: "
            + "; ".join(f"{name} (removed in {release}: write {instead})"
                        for name, (release, instead) in sorted(used.items()))
            + ". Under NumPy " + numpy_version + " itself this code raises an error.")
