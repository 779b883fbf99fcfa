"""Similar-code detection (grader/batch/similarity.py; Notes [Normalising code], [Fingerprints],
[Similarity is for humans]).  About 1.5 s: staging only, no worker."""

from __future__ import annotations

import ast
import json
import shutil
import zipfile
from pathlib import Path

import pytest


from grader.scoring import assignment as assignments
from grader.batch import similarity
from grader.submission.stage import Layout
from grader.batch.similarity import (collect_sources, fingerprints, functions_in, normalise,
                               similar_pairs, without_starter, write_similarity)

LAYOUT = Layout(files={"layers": "layers.py"}, default_package="cs231n")

SVM = '''
import numpy as np

def svm_loss(x, y):
    """Multiclass SVM loss."""
    N = x.shape[0]
    correct = x[np.arange(N), y]
    margins = np.maximum(0, x - correct[:, None] + 1.0)
    margins[np.arange(N), y] = 0
    loss = np.sum(margins) / N
    positive = (margins > 0).astype(float)
    positive[np.arange(N), y] -= positive.sum(axis=1)
    dx = positive / N
    return loss, dx
'''

# The same code with other names, comments, a docstring, quotes and layout.
SVM_DISGUISED = '''
import numpy as np


def svm_loss(scores, labels):
    # my own work!!
    n = scores.shape[0]
    c = scores[np.arange(n), labels]   # correct class
    m = np.maximum(0, scores - c[:, None] + 1.0)
    m[np.arange(n), labels] = 0
    total = np.sum(m) / n
    pos = (m > 0).astype(float)
    pos[np.arange(n), labels] -= pos.sum(axis=1)
    d = pos / n
    return total, d
'''

# A different, loop-based solution of the same function.
SVM_LOOPS = '''
def svm_loss(x, y):
    num_train, num_classes = x.shape
    loss = 0.0
    grad = [[0.0] * num_classes for _ in range(num_train)]
    for i in range(num_train):
        for j in range(num_classes):
            if j == y[i]:
                continue
            margin = x[i][j] - x[i][y[i]] + 1
            if margin > 0:
                loss += margin
                grad[i][j] += 1.0 / num_train
                grad[i][y[i]] -= 1.0 / num_train
    return loss / num_train, grad
'''

RELU = "def relu_forward(x):\n    out = x * (x > 0)\n    return out, x\n"
STARTER = '''
def svm_loss(x, y):
    """Multiclass SVM loss."""
    # TODO: implement the SVM loss and its gradient.
    raise NotImplementedError("svm_loss is not implemented yet")


def relu_forward(x):
    raise NotImplementedError("relu_forward is not implemented yet")
'''


def function_node(source: str, name: str) -> ast.FunctionDef:
    return next(n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef) and n.name == name)


def folder(root: Path, name: str, layers: str) -> Path:
    path = root / name / "cs231n"
    path.mkdir(parents=True)
    (path / "layers.py").write_text(layers)
    return root / name


# -- normalising ---------------------------------------------------------------------------------

def test_names_comments_docstrings_and_layout_do_not_matter() -> None:
    assert normalise(function_node(SVM, "svm_loss")) == normalise(function_node(SVM_DISGUISED, "svm_loss"))


def test_attributes_globals_numbers_and_keys_still_matter() -> None:
    base = normalise(function_node("def f(x):\n    return np.sum(x, axis=0)\n", "f"))
    assert base != normalise(function_node("def f(x):\n    return np.mean(x, axis=0)\n", "f"))
    assert base != normalise(function_node("def f(x):\n    return np.sum(x, axis=1)\n", "f"))
    keyed = normalise(function_node("def f(p):\n    return p['W1'], p['long message text here!']\n", "f"))
    assert "'W1'" in keyed and "'S'" in keyed and "p" not in keyed


def test_functions_in_finds_functions_and_methods() -> None:
    found = functions_in("class Net:\n    def loss(self, X):\n        return X\n\ndef helper():\n    pass\n")
    assert sorted(found) == ["Net.loss", "helper"]


def test_normalise_leaves_the_callers_tree_as_it_was() -> None:
    node = function_node(SVM, "svm_loss")
    before = ast.dump(node)
    normalise(node)
    assert ast.dump(node) == before


TRICKY = '''
@decorate(x := 1)
def tricky(a: int, *args, b=u"unicode text", **kw) -> str:
    """Docstring."""
    def inner(c):
        """Inner docstring."""
        return c + b"bytes"
    try:
        r = [q for q in args if q] + list(kw)
    except ValueError as err:
        r = f"value {err!r:>10} and {a}"
    return inner(r), {'W1': 1, 'a long key text': 2}
'''


def test_functions_in_gives_normalise_s_tokens_with_and_without_its_cache() -> None:
    """Note [Normalising fast]: rewriting the parsed tree in place, and the cache of texts
    already seen, give exactly `normalise`'s tokens (of a copy of the same tree)."""
    for source in (SVM, SVM_DISGUISED, SVM_LOOPS, RELU, STARTER, TRICKY):
        expected = {n.name: normalise(n) for n in ast.parse(source).body
                    if isinstance(n, ast.FunctionDef)}
        cache: dict = {}
        assert functions_in(source) == expected
        assert functions_in(source, cache) == expected
        assert functions_in(source, cache) == expected  # from the cache
    # the tokens the NodeTransformer of before Note [Normalising fast] gave
    assert " ".join(normalise(function_node(TRICKY, "tricky"))) == (
        "def F ( V , * V , V = 'S' , ** V ) : ; { def F ( V ) : ; { return V + 'S' ; } try : ; "
        "{ V = [ V for V in V if V ] + list ( V ) ; } except ValueError as V : ; { V = "
        "f'S{V!r:S}S{V}' ; } return ( V ( V ) , { 'W1' : 1 , 'S' : 2 } ) ; }")
    assert functions_in(TRICKY + RELU, wanted={"relu_forward"}) == functions_in(RELU)


def test_starter_code_is_removed() -> None:
    starter = normalise(function_node(STARTER, "svm_loss"))
    own = without_starter(normalise(function_node(SVM, "svm_loss")), starter)
    assert 0 < len(own) < len(normalise(function_node(SVM, "svm_loss")))
    assert without_starter(starter, starter) == []


def test_a_shared_run_of_k_plus_window_tokens_shares_a_fingerprint() -> None:
    run = [f"t{i}" for i in range(similarity.K + similarity.WINDOW - 1)]
    a = ["a1", "a2", "a3"] + run + ["a4", "a5"]
    b = ["b1"] + run + ["b2", "b3", "b4", "b5", "b6"]
    assert fingerprints(a) & fingerprints(b)
    assert fingerprints([]) == set()


# -- collecting sources --------------------------------------------------------------------------

def test_collect_sources_reads_folders_and_zips_and_says_what_it_skipped(tmp_path) -> None:
    plain = folder(tmp_path, "ada", SVM + RELU)
    archive = tmp_path / "ben.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("hw/cs231n/layers.py", SVM_DISGUISED)
    broken = folder(tmp_path, "cy", "def svm_loss(x, y:\n")
    problems: dict[str, str] = {}
    sources = collect_sources({"ada": plain, "ben": archive, "cy": broken,
                               "gone": tmp_path / "missing"}, LAYOUT, problems=problems)
    assert sorted(sources["ada"]) == ["relu_forward", "svm_loss"]
    assert sources["ben"]["svm_loss"] == sources["ada"]["svm_loss"]
    assert sources["cy"] == {}                 # a syntax error: nothing to compare
    assert list(problems) == ["gone"] and "does not exist" in problems["gone"]
    limited = collect_sources({"ada": plain}, LAYOUT, functions=["relu_forward"])
    assert list(limited["ada"]) == ["relu_forward"]


@pytest.mark.parametrize("deep", ["y = x" + " + x" * 200_000, "y = " + "-" * 500_000 + "x"],
                         ids=["recursion", "parser_memory"])
def test_code_too_deep_to_parse_is_not_compared_and_the_rest_of_the_class_is(tmp_path, deep) -> None:
    """Hostile: Note [Code too deep to parse]: one such file ended the class's detection."""
    plain = folder(tmp_path, "ada", SVM + RELU)
    hostile = folder(tmp_path, "ben", SVM + RELU + f"\n\ndef deep(x):\n    {deep}\n    return y\n")
    sources = collect_sources({"ada": plain, "ben": hostile}, LAYOUT)
    assert sorted(sources["ada"]) == ["relu_forward", "svm_loss"] and sources["ben"] == {}


def test_collect_sources_reads_the_code_a_re_export_points_to(tmp_path) -> None:
    """Note [Re-exporting packages]: the shim holds no code; the package it re-exports does."""
    shim = tmp_path / "ada" / "aa_course"  # graded: it has code of its own, in fc_net.py
    (shim / "classifiers").mkdir(parents=True)
    (shim / "__init__.py").write_text("")
    (shim / "layers.py").write_text("from zz_code.layers import *\n")
    (shim / "classifiers" / "fc_net.py").write_text("def net(x):\n    return x\n")
    (tmp_path / "ada" / "zz_code").mkdir()
    (tmp_path / "ada" / "zz_code" / "layers.py").write_text(SVM + RELU)
    layout = Layout(files={"layers": "layers.py", "fc_net": "classifiers/fc_net.py"})
    sources = collect_sources({"ada": tmp_path / "ada"}, layout)
    assert sorted(sources["ada"]) == ["net", "relu_forward", "svm_loss"]


# -- pairs ---------------------------------------------------------------------------------------

def sources_of(**layers: str) -> dict[str, dict[str, list[str]]]:
    return {sid: functions_in(text) for sid, text in layers.items()}


STARTER_TOKENS = functions_in(STARTER)


def test_a_disguised_copy_is_listed_and_an_independent_solution_is_not() -> None:
    pairs = similar_pairs(sources_of(ada=SVM, ben=SVM_DISGUISED, cy=SVM_LOOPS), STARTER_TOKENS)
    assert [(p["a"], p["b"]) for p in pairs] == [("ada", "ben")]
    assert pairs[0]["functions"][0]["function"] == "svm_loss"
    assert pairs[0]["functions"][0]["similarity"] == 1.0


def test_a_partly_edited_copy_scores_between_threshold_and_one() -> None:
    edited = SVM_DISGUISED.replace("d = pos / n\n    return total, d",
                                   "d = pos * (1.0 / n)\n    total = total + 0.0\n    return total, d")
    pairs = similar_pairs(sources_of(ada=SVM, ben=edited), STARTER_TOKENS, threshold=0.0)
    assert 0.5 < pairs[0]["functions"][0]["similarity"] < 1.0


def test_unchanged_starter_and_trivial_functions_are_ignored() -> None:
    pairs = similar_pairs(sources_of(ada=STARTER + RELU.replace("relu_forward", "relu2"),
                                     ben=STARTER + RELU.replace("relu_forward", "relu2")),
                          STARTER_TOKENS, threshold=0.0)
    assert pairs == []


def test_code_most_of_a_big_class_shares_is_not_evidence() -> None:
    everyone = {f"s{i:02d}": SVM for i in range(similarity.COMMON_MIN_CLASS)}
    assert similar_pairs({k: functions_in(v) for k, v in everyone.items()}, {}) == []
    few = {f"s{i:02d}": SVM for i in range(3)}
    assert len(similar_pairs({k: functions_in(v) for k, v in few.items()}, {})) == 3


def test_write_similarity_for_a_real_assignment(tmp_path) -> None:
    fc_nets = assignments.load("fc_nets")
    subs = {"ada": folder(tmp_path / "in", "ada", SVM), "ben": folder(tmp_path / "in", "ben", SVM_DISGUISED),
            "cy": folder(tmp_path / "in", "cy", SVM_LOOPS), "nope": tmp_path / "missing.zip"}
    path = write_similarity(tmp_path / "out", subs, fc_nets)
    assert path == tmp_path / "out" / "similarity.json"
    data = json.loads(path.read_text())
    assert data["schema"] == "grader.similarity/1" and data["assignment"] == "fc_nets"
    assert data["submissions"] == 3 and list(data["skipped"]) == ["nope"]
    assert "svm_loss" in data["functions"] and "FullyConnectedNet.loss" in data["functions"]
    assert [(p["a"], p["b"]) for p in data["pairs"]] == [("ada", "ben")]
    assert data["truncated"] is False


def test_the_real_starter_is_not_similar_to_itself(tmp_path) -> None:
    fc_nets = assignments.load("fc_nets")
    starter = fc_nets.folder / "starter"
    data = similarity.similarity_report({"a": starter, "b": starter}, fc_nets, threshold=0.0)
    assert data["pairs"] == []


# -- Note [Notebooks compared by their code] --------------------------------------------------

def test_notebook_submissions_are_compared_by_their_code(tmp_path) -> None:
    pytorch = assignments.load("pytorch")
    solution = next((pytorch.folder / "solution").glob("*.ipynb"))
    ada, ben = tmp_path / "ada.ipynb", tmp_path / "ben.ipynb"
    shutil.copy(solution, ada)
    # the same code under other local names: a disguise normalising sees through
    ben.write_text(solution.read_text().replace("conv_w1", "first_filters")
                   .replace("scores", "logits"))
    assert ben.read_text() != ada.read_text()
    data = similarity.similarity_report({"ada": ada, "ben": ben}, pytorch)
    assert [(p["a"], p["b"]) for p in data["pairs"]] == [("ada", "ben")]
    # the graded class stands for its methods
    assert {f["function"] for f in data["pairs"][0]["functions"]} >= {
        "three_layer_convnet", "ThreeLayerConvNet.__init__", "ThreeLayerConvNet.forward"}


def test_the_starter_notebook_is_not_similar_to_itself(tmp_path) -> None:
    pytorch = assignments.load("pytorch")
    starter = next((pytorch.folder / "starter").glob("*.ipynb"))
    data = similarity.similarity_report({"a": starter, "b": starter}, pytorch, threshold=0.0)
    assert data["submissions"] == 2 and data["pairs"] == []


def test_units_are_read_back_from_a_generated_module_only() -> None:
    from grader.submission import notebook as notebooks
    units = [(3, "def f(x):\n    return x\n"), (5, "y = 'it''s'\n")]
    text = notebooks.module_source(notebooks.Program(units=list(units)), mode="definitions",
                                   notebook="a.ipynb", cell_s=1.0, total_s=2.0)
    assert notebooks.units_in_module(text) == units
    assert notebooks.units_in_module("def f(x):\n    return x\n") is None
    assert notebooks.units_in_module("# Generated by the grader from 'x'\nimport os\n") is None
