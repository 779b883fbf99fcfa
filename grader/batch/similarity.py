"""Similar-code detection across a batch: pairs of submissions for a person to look at.

Results hold no code, so this module reads the submissions again (staged exactly
as for grading, grader/submission/stage.py), cuts out each graded function, and compares
every pair of submissions function by function.  It writes
OUT_DIR/similarity.json, which the class dashboard (grader/report/dashboard.py) lists.

# Note [Similarity is for humans]
A pair on this list is a reason to read two files side by side, never evidence
and never a penalty: nothing here touches a score.  Short functions have few
ways to be written (`relu_forward` is one line) and correct solutions converge,
so the list leaves out what carries no signal: the starter code every student
received, functions too short once the starter is removed, and, in classes of
at least COMMON_MIN_CLASS, fingerprints that most of the class shares.

# Note [Normalising code]
Each function is parsed with `ast` and rewritten before comparing: docstrings
dropped, every local name (arguments, assigned names, loop and comprehension
targets, nested function names) renamed to `V` and the function's own name to
`F`, string constants other than short identifier-like keys (`'W1'`,
`'train'`, which the course fixes) to `S`; then `ast.unparse` fixes the formatting and
`tokenize` turns it into tokens.  Comments, blank lines, spacing, quoting and
variable names therefore never matter; attribute and global names (`np.sum`,
`reshape`, `range`) and numbers do.  Starter code is taken out by deleting from
a student's tokens every run of at least K tokens that also occurs in the
starter's version of that function (the base-code exclusion of MOSS).

# Note [Normalising fast]
Normalising, not comparing, was the cost of a class (2.7 s of 100 fc_nets submissions, 80 %
of it copying each function's tree with `deepcopy` and rewriting it with a NodeTransformer).
A tree that `functions_in` parsed itself is rewritten in place, in one pass over a list of
its nodes (names, constants, arguments, nested definitions, exception names: the same
rewrites, so `ast.unparse` prints the same text; a node detached on the way, such as a
dropped docstring, may still be rewritten, which changes nothing), and only the functions
asked for are normalised.  `normalise` still copies, for callers that keep their tree.
Within one comparison a function is normalised once per distinct text: `collect_sources`
keeps a cache keyed by the function's whole source lines (decorators to its last line),
which fix its tree, so copies of the same code (unchanged starter or course functions, a
class's shared solution) cost a dictionary look-up.  Same tokens as before for every one of
15,805 functions (this project, numpy's sources, a class), with and without the cache.

# Note [Notebooks compared by their code]
A module graded from a notebook is staged as a generated module that holds the notebook's
kept code as data, run by the grader's runner (grader/submission/notebook.py's
`module_source`), so parsing the staged file found no function and a class of notebooks had
no pairs at all.  The staged text is read back into its units (`units_in_module`) and each
unit is searched for functions, a later definition of a name replacing an earlier one, as
the notebook's own run would; the starter notebook goes the same way, so its code is still
taken out.  A graded name that is a class (PyTorch's `ThreeLayerConvNet`) stands for all of
its methods, each compared as `Class.method`.

# Note [Fingerprints]
Tokens are compared by winnowing (Schleimer, Wilkerson and Aiken, "Winnowing:
local algorithms for document fingerprinting", SIGMOD 2003, the method behind
MOSS): hash every K-token window, keep the minimum hash of each run of WINDOW
consecutive hashes.  Any shared run of at least K + WINDOW - 1 tokens is then
guaranteed to share a fingerprint.  The similarity of two versions of a
function is the Jaccard index of their fingerprint sets, and pairs are found
through an inverted index (fingerprint -> submissions), so a class of hundreds
costs seconds, not the minutes of comparing every pair's token sequences.
"""

from __future__ import annotations

import ast
import copy
import io
import json
import math
import tokenize
import zlib
from collections import Counter, defaultdict
from itertools import combinations
from pathlib import Path
from typing import Iterable

from ..submission import notebook as notebooks
from ..submission.stage import Layout, SubmissionError, stage

SCHEMA = "grader.similarity/1"
K = 5                    # tokens per k-gram
WINDOW = 4               # k-grams per winnowing window
THRESHOLD = 0.7          # Jaccard index from which a function counts as similar
MIN_TOKENS = 30          # fewer own tokens (after removing the starter): trivial, ignored
COMMON_MIN_CLASS = 10    # classes at least this big ignore fingerprints that...
COMMON_FRACTION = 0.5    # ...more than this fraction of the class shares
MAX_PAIRS = 200          # the list is for reading; more than this is not a list
STARTER = "__starter__"


# -- normalising (Note [Normalising code]) -------------------------------------------------------

def _is_key(text: str) -> bool:
    """'W1', 'mode', 'running_mean': a dictionary key the course names, kept as it is."""
    return text.isidentifier() and len(text) <= 24


def _drop_docstring(node) -> None:
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        node.body = body[1:] or [ast.Pass()]


def _local_names(function: ast.AST, nodes: list[ast.AST] | None = None) -> set[str]:
    names = set()
    for node in ast.walk(function) if nodes is None else nodes:
        if isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node is not function:
            names.add(node.name)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names


_SKIPPED_TOKENS = {tokenize.NL, tokenize.COMMENT, tokenize.ENCODING, tokenize.ENDMARKER}
_TOKEN_TEXT = {tokenize.NEWLINE: ";", tokenize.INDENT: "{", tokenize.DEDENT: "}"}


def normalise(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    """The function's tokens with names, docstrings, strings and formatting normalised away."""
    return _normalise_owned(copy.deepcopy(function))


def _normalise_owned(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    """`normalise` of a tree the caller owns, rewritten in place (Note [Normalising fast])."""
    nodes = list(ast.walk(function))
    local_names = _local_names(function, nodes)
    for node in nodes:
        if isinstance(node, ast.Name):
            if node.id in local_names:
                node.id = "V"
        elif isinstance(node, ast.Constant):
            if isinstance(node.value, bytes) or isinstance(node.value, str) and not _is_key(node.value):
                node.value, node.kind = "S", None
        elif isinstance(node, ast.arg):
            node.arg, node.annotation = "V", None
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            node.name, node.returns, node.decorator_list = "F", None, []
            _drop_docstring(node)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            node.name = "V"
    tokens = []
    for token in tokenize.generate_tokens(io.StringIO(ast.unparse(function)).readline):
        if token.type not in _SKIPPED_TOKENS:
            tokens.append(_TOKEN_TEXT.get(token.type, token.string))
    return tokens


# Note [Code too deep to parse]
# `ast.parse` refuses code nested past what its parser or the interpreter's stack allows
# with RecursionError ("during ast construction": `y = x + x + ...`, 200,000 terms) or
# MemoryError (half a million unary minuses: "parser stack overflow" gives no message),
# not SyntaxError.  One student's 1.3 MB layers.py so ended the similar-code detection of
# the whole class ("similar-code detection failed (MemoryError: )"): a way to keep a copied
# submission off the list.  Such a file is not compared, as one that does not parse; the
# judge's other parses of student text (stage.py's star imports, notebook.py) do the same.
def functions_in(source: str, cache: dict | None = None,
                 wanted: set[str] | None = None) -> dict[str, list[str]]:
    """Normalised tokens of every top-level function and method (`Class.method`) in `source`,
    or of those named in `wanted`.  `cache`, a dict the caller keeps for one comparison,
    remembers the functions already normalised by their source lines (Note [Normalising fast])."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True) if cache is not None else []
    found = {}

    def tokens_of(node) -> list[str]:
        if cache is None:
            return _normalise_owned(node)
        first = min([node.lineno] + [d.lineno for d in node.decorator_list])
        key = "".join(lines[first - 1:node.end_lineno])
        if key not in cache:
            cache[key] = _normalise_owned(node)
        return list(cache[key])

    for node in tree.body:  # a name is read before its node is rewritten (its name to F)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            name = node.name
            if wanted is None or name in wanted:
                found[name] = tokens_of(node)
        elif isinstance(node, ast.ClassDef):
            whole = wanted is not None and node.name in wanted  # Note [Notebooks compared by their code]
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    name = f"{node.name}.{item.name}"
                    if wanted is None or whole or name in wanted:
                        found[name] = tokens_of(item)
    return found


def _read_one(path: Path, layout: Layout, wanted: set[str] | None,
              cache: dict | None = None) -> dict[str, list[str]]:
    staged = stage(path, layout)
    try:
        functions: dict[str, list[str]] = {}
        for name, relative in layout.files.items():
            # the module graded for it, which may be the code a re-export points to (Note
            # [Re-exporting packages] in grader/submission/stage.py)
            module = staged.modules.get(name, "")
            file = (staged.root / (module.replace(".", "/") + ".py") if module
                    else staged.root / staged.package / relative)
            if not file.exists():
                continue
            text = file.read_text(errors="replace")
            units = notebooks.units_in_module(text)  # Note [Notebooks compared by their code]
            found = {}
            for _, unit in units if units is not None else [(0, text)]:
                try:
                    found.update(functions_in(unit, cache, wanted))  # a later definition wins
                except (SyntaxError, ValueError, RecursionError, MemoryError):
                    continue  # cannot be parsed (Note [Code too deep to parse]): not compared
            for name, tokens in found.items():
                if name not in functions:
                    functions[name] = tokens
        return functions
    finally:
        staged.cleanup(now=True)  # Note [Staged copies removed after the answer] in stage.py


def collect_sources(submissions: dict[str, Path], layout: Layout,
                    functions: Iterable[str] | None = None,
                    problems: dict[str, str] | None = None) -> dict[str, dict[str, list[str]]]:
    """id -> function -> normalised tokens, for each submission that can be staged.

    `functions` limits which functions are kept (default: all); a submission that
    cannot be staged is left out, and says why in `problems` when one is given.
    """
    wanted = set(functions) if functions is not None else None
    sources, cache = {}, {}  # Note [Normalising fast]
    for sid, path in submissions.items():
        try:
            sources[sid] = _read_one(Path(path), layout, wanted, cache)
        except (SubmissionError, OSError) as exc:
            if problems is not None:
                problems[sid] = str(exc)
    return sources


# -- comparing (Note [Fingerprints]) ------------------------------------------------------------

def without_starter(tokens: list[str], starter: list[str] | None) -> list[str]:
    """`tokens` less every run of at least K tokens also found in `starter` (linear time)."""
    if not starter:
        return tokens
    starter_grams = {tuple(starter[i:i + K]) for i in range(len(starter) - K + 1)}
    covered = [False] * len(tokens)
    for i in range(len(tokens) - K + 1):
        if tuple(tokens[i:i + K]) in starter_grams:
            covered[i:i + K] = [True] * K
    return [token for token, hit in zip(tokens, covered) if not hit]


def fingerprints(tokens: list[str]) -> set[int]:
    """Winnowed K-gram hashes of `tokens`."""
    hashes = [zlib.crc32("\x1f".join(tokens[i:i + K]).encode())
              for i in range(len(tokens) - K + 1)]
    if len(hashes) <= WINDOW:
        return {min(hashes)} if hashes else set()
    return {min(hashes[start:start + WINDOW]) for start in range(len(hashes) - WINDOW + 1)}


def similar_pairs(sources: dict[str, dict[str, list[str]]], starter: dict[str, list[str]],
                  threshold: float = THRESHOLD) -> list[dict]:
    """Pairs of submissions with at least one function of similarity >= `threshold`."""
    by_function: dict[str, dict[str, set[int]]] = defaultdict(dict)
    sizes: dict[tuple[str, str], int] = {}
    for sid, functions in sources.items():
        for name, tokens in functions.items():
            own = without_starter(tokens, starter.get(name))
            if len(own) >= MIN_TOKENS:
                by_function[name][sid] = fingerprints(own)
                sizes[sid, name] = len(own)
    class_size = len(sources)
    common_limit = (math.floor(COMMON_FRACTION * class_size) if class_size >= COMMON_MIN_CLASS
                    else class_size)
    found: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for name, prints in by_function.items():
        postings = defaultdict(list)
        for sid in sorted(prints):
            for h in prints[sid]:
                postings[h].append(sid)
        common = {h for h, ids in postings.items() if len(ids) > common_limit}
        shared = Counter()
        for h, ids in postings.items():
            if h not in common:
                shared.update(combinations(ids, 2))
        for (a, b), count in shared.items():
            union = len(prints[a] - common) + len(prints[b] - common) - count
            score = count / union if union else 0.0
            if score >= threshold:
                found[a, b].append({"function": name, "similarity": round(score, 3),
                                    "tokens": [sizes[a, name], sizes[b, name]]})
    pairs = []
    for (a, b), functions in found.items():
        functions.sort(key=lambda f: (-f["similarity"], f["function"]))
        pairs.append({"a": a, "b": b, "functions": functions,
                      "max": max(f["similarity"] for f in functions),
                      "mean": round(sum(f["similarity"] for f in functions) / len(functions), 3)})
    pairs.sort(key=lambda p: (-len(p["functions"]), -p["mean"], p["a"], p["b"]))
    return pairs


def graded_functions(assignment) -> list[str]:
    return list(dict.fromkeys(check.function for check in assignment.checks))


def similarity_report(submissions: dict[str, Path], assignment,
                      threshold: float = THRESHOLD) -> dict:
    """The similarity.json document for `submissions` (id -> folder, .zip or .py)."""
    functions = graded_functions(assignment)
    problems: dict[str, str] = {}
    sources = collect_sources(submissions, assignment.layout, functions, problems)
    starter_path = Path(assignment.folder) / "starter"
    starter = {}
    if starter_path.is_dir():
        starter = collect_sources({STARTER: starter_path}, assignment.layout, functions).get(STARTER, {})
    pairs = similar_pairs(sources, starter, threshold)
    return {"schema": SCHEMA, "assignment": assignment.id,
            "method": f"winnowed {K}-token fingerprints (window {WINDOW}) of normalised code, "
                      f"Jaccard index per function; starter code and functions under "
                      f"{MIN_TOKENS} own tokens ignored",
            "threshold": threshold, "submissions": len(sources), "functions": functions,
            "skipped": dict(sorted(problems.items())), "truncated": len(pairs) > MAX_PAIRS,
            "pairs": pairs[:MAX_PAIRS]}


def write_similarity(out_dir: Path, submissions: dict[str, Path], assignment,
                     threshold: float = THRESHOLD, report: dict | None = None) -> Path:
    """Compare `submissions` (id -> path) and write OUT_DIR/similarity.json; returns its path.
    `report`: the document made already for them (Note [Similarity beside the jobs] in
    grader/batch/run.py)."""
    path = Path(out_dir) / "similarity.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    if report is None:
        report = similarity_report(submissions, assignment, threshold)
    from ..report.atomic import write_atomic  # Note [Atomic writes leave nothing behind]
    write_atomic(path, json.dumps(report, indent=2))
    return path
