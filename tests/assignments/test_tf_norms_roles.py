"""assignments/tf_norms/roles.py: roles found by name in the student's own source (no TensorFlow).

The seed lab's module-level functions and Keras `CNN(norm_type=...)`, the course
template's `CNN` methods (the student's `batch_norm_custom` before the library
`batch_normalization`), how a method is called, the eps read from a signature,
the model's normalization values read from the class, and a notebook's own
cells read back from the generated module with their cell numbers.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from grader.submission import notebook

ROOT = Path(__file__).resolve().parents[2]
LAB = Path(__file__).resolve().parent / "tf_norms_lab"


def _load(name: str, path: Path):
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


roles = _load("grader_assignment_tf_norms_roles", ROOT / "assignments" / "tf_norms" / "roles.py")


@pytest.fixture(scope="module")
def seed():
    return roles.Source((LAB / "lab_script.py").read_text())


@pytest.fixture(scope="module")
def template():
    return roles.Source((LAB / "template_style.py").read_text())


def test_seed_lab_functions_are_module_level_with_their_own_eps(seed):
    bn = seed.find("batch_norm")
    assert (bn.path, bn.owner) == ("batch_norm", None)
    assert bn.signature.defaults["epsilon"] == 1e-5
    wn = seed.find("weight_norm")
    assert wn.signature.names == ("v", "g", "axis", "epsilon") and wn.signature.required == 2


def test_seed_lab_model_values_come_from_the_class(seed):
    model = seed.model()
    assert (model.name, model.norm_parameter, model.project_api) == ("CNN", "norm_type", False)
    assert model.options == {"none": "none", "batch": "batch_norm", "layer": "layer_norm",
                             "weight": "weight_norm"}
    assert model.arguments("layer", (8, 8, 1), 10) == {"norm_type": "layer_norm"}
    assert seed.train_function() is None  # its train_step works on globals: the reference's loop trains


def test_template_methods_are_found_and_called_as_they_can_be(template):
    all_bn = [t.path for t in template.find_all("batch_norm")]
    assert all_bn == ["CNN.batch_norm_custom", "CNN.batch_normalization"]
    bn = template.find("batch_norm")
    assert bn.self_mode == "none" and bn.signature.names == ("x", "gamma", "beta", "epsilon")
    ln = template.find("layer_norm")  # reads self.epsilon: through an instance
    assert (ln.path, ln.self_mode) == ("CNN.layer_normalization", "instance")
    assert ln.wire({"norm_type": "batch"}) == {"path": "CNN.layer_normalization", "self": "instance",
                                               "init": {"norm_type": "batch"}}
    assert template.find("weight_norm").path == "CNN.weight_normalization"
    model = template.model()
    assert model.options["batch"] == "batch" and model.options["none"] is None
    # the course template's required (hidden_size, output_size): the file's own hidden_size
    assert model.arguments("weight", (8, 8, 1), 10) == {"norm_type": "weight", "output_size": 10,
                                                         "seed": 0, "hidden_size": 64}


def test_template_constructor_gets_its_sizes_where_the_grader_builds_it():
    # Note [The template's constructor]: CNN(hidden_size, output_size, device=None) as the course has it
    text = ("class CNN(object):\n"
            "    def __init__(self, hidden_size, output_size, device=None):\n        self.eps = 1e-3\n"
            "    def batch_norm(self, x, gamma, beta):\n        return x * self.eps\n")
    source = roles.Source(text)
    assert source.model() is None  # no normalization choice: the methods' instance only
    bn = source.find("batch_norm")
    assert bn.self_mode == "instance"
    assert source.owner("CNN").arguments("batch", (8, 8, 1), 7) == {"output_size": 7, "hidden_size": 100}
    source = roles.Source("hidden_size = 32\n" + text.replace("device=None", "norm='bn', device=None"))
    assert source.owner("CNN").arguments("batch", (8, 8, 1), 10) == {"norm": "bn", "output_size": 10,
                                                                      "hidden_size": 32}
    # a size with a default keeps it; a class the file does not define builds nothing
    source = roles.Source("class Net:\n    def __init__(self, norm_type=None, hidden_size=50, num_classes=10):"
                          "\n        pass\n")
    assert source.model().arguments("none", (8, 8, 1), 4) == {"norm_type": None, "num_classes": 4}
    assert source.owner("Missing") is None


def test_static_methods_and_constants_as_defaults():
    source = roles.Source("EPS = 1e-4\nclass Net:\n    @staticmethod\n"
                          "    def layer_norm(x, gamma, beta, eps=EPS):\n        return x\n")
    target = source.find("layer_norm")
    assert (target.self_mode, target.signature.defaults["eps"]) == ("static", 1e-4)
    assert source.find("batch_norm") is None and source.model() is None


def test_project_api_model_is_preferred():
    source = roles.Source("class CNN:\n    def __init__(self, norm_type=None): pass\n"
                          "class NormalizedCNN:\n    def __init__(self, input_shape, num_classes, "
                          "normalization=None, seed=0): pass\n"
                          "def train(model, x, y, steps=300): pass\n")
    model = source.model()
    assert model.project_api and model.arguments("none", (8, 8, 1), 10)["normalization"] is None
    assert source.train_function() == "train"


def test_generated_module_is_read_back_as_the_students_cells():
    cells = [notebook.Cell(1, "markdown", "# lab"),
             notebook.Cell(2, "code", "import tensorflow as tf\nmodel = train_everything()"),
             notebook.Cell(3, "code", "x = 1\n\ndef batch_norm(x, g, b):\n    return tf.nn.moments(x, [0])")]
    prog = notebook.program(cells, "definitions")
    stub = notebook.module_source(prog, mode="definitions", notebook="lab.ipynb", cell_s=1, total_s=2)
    view = roles.student_view(stub)
    assert "train_everything" not in view.text and "def batch_norm" in view.text
    line = next(i for i, text in enumerate(view.text.split("\n"), 1) if "moments" in text)
    assert view.where(line) == "cell 3 line 4"
    plain = roles.student_view(notebook.module_source(prog, mode="definitions", notebook="lab.py",
                                                      cell_s=1, total_s=2))
    line = next(i for i, text in enumerate(plain.text.split("\n"), 1) if "moments" in text)
    assert plain.where(line) == "line 4"
    assert roles.student_view("def f(): pass\n").text == "def f(): pass\n"


def test_numbered_variants_are_named_but_not_graded():
    # one function per layer kind (conv, dense) under the lab's names with a number: not guessed
    source = roles.Source("class CNN:\n    def BatchNorm1(self, x, g, b, training):\n        return x\n"
                          "    def BatchNorm2(self, x, g, b, training):\n        return x\n"
                          "def layer_norm(x, g, b):\n    return x\n")
    assert source.find("batch_norm") is None
    assert source.near_misses("batch_norm") == ["CNN.BatchNorm1", "CNN.BatchNorm2"]
    assert source.near_misses("layer_norm") == [] and source.find("layer_norm").path == "layer_norm"


def test_one_flag_per_normalization_turns_on_that_one_only():
    # Note [Normalization flags]: the template's CNN with a boolean per normalization
    source = roles.Source(
        "class CNN(object):\n"
        "    def __init__(self, hidden_size, output_size, device=None, batch_norm1=False, batch_norm2=False,\n"
        "                 layer_norm1=False, compare_BN=False):\n"
        "        pass\n")
    model = source.model()
    assert model.flags == {"batch": "batch_norm1", "layer": "layer_norm1"}
    assert model.arguments("layer", (8, 8, 1), 10) == {"layer_norm1": True, "output_size": 10, "hidden_size": 100}
    assert model.arguments("none", (8, 8, 1), 10) == {"output_size": 10, "hidden_size": 100}
    with pytest.raises(ValueError, match="no parameter that turns weight normalization on"):
        model.arguments("weight", (8, 8, 1), 10)


def test_a_choice_and_a_switch_build_the_students_own_normalization():
    # Note [A choice and a switch]: which normalization, and own or the library's
    source = roles.Source(
        "class Net:\n"
        "    def __init__(self, use_normalization='none', norm_type='batch'):\n"
        "        self.use_normalization, self.norm_type = use_normalization, norm_type\n"
        "    def forward(self, x):\n"
        "        if self.use_normalization == 'custom' and self.norm_type == 'layer':\n            pass\n"
        "        elif self.use_normalization == 'tf' and self.norm_type in ['batch', 'weight']:\n            pass\n")
    model = source.model()
    assert (model.norm_parameter, model.switch) == ("norm_type", ("use_normalization", "none", "custom"))
    assert model.arguments("layer", (8, 8, 1), 10) == {"use_normalization": "custom", "norm_type": "layer"}
    assert model.arguments("none", (8, 8, 1), 10) == {"use_normalization": "none"}
    # one choice parameter alone is handed the choice as before
    single = roles.Source("class Net:\n    def __init__(self, norm_type='none'):\n"
                          "        self.bn = norm_type == 'batch_norm' or norm_type == 'layer_norm'\n").model()
    assert single.switch == () and single.arguments("batch", (8, 8, 1), 10) == {"norm_type": "batch_norm"}


@pytest.mark.parametrize("name", ["batch_norm_manual", "manual_batch_norm", "BatchNorm_Scratch",
                                  "own_batch_norm"])
def test_own_implementation_names_play_the_role(name):
    # Note [Own-implementation names]: before the library-named `batch_normalization`
    source = roles.Source(f"def batch_normalization(x, g, b):\n    return x\n"
                          f"def {name}(x, g, b, eps=1e-5):\n    return x\n")
    assert source.find("batch_norm").path == name and source.near_misses("batch_norm") == []


def test_a_layer_kind_suffix_is_still_a_near_miss():
    source = roles.Source("def batch_norm_conv(x, g, b):\n    return x\n"
                          "def batch_norm_dense(x, g, b):\n    return x\n")
    assert source.find("batch_norm") is None
    assert source.near_misses("batch_norm") == ["batch_norm_conv", "batch_norm_dense"]


def test_comparison_helpers_and_library_versions_are_no_near_misses():
    # Note [Helpers that are not the role]: a real CS 599 file's weight norm lives inside Keras
    # layers whose `verify_weight_norm` compares them with TensorFlow's; its `batch_norm_tf` is the
    # library version it compares with.  Neither is a near miss; a layer-kind variant still is.
    source = roles.Source("class WeightNormDense:\n"
                          "    def compute_normalized_weights(self):\n        return self.v\n"
                          "    def verify_weight_norm(self, x=None):\n        return 0.0\n"
                          "def weight_norm_dense(v, g):\n    return v\n"
                          "def batch_norm_tf(x, g, b):\n    return x\n"
                          "def compareBatchNorm(x):\n    return x\n")
    assert source.find("weight_norm") is None and source.find("batch_norm") is None
    # the layer class itself is named (Note [A normalization written as a class])
    assert source.near_misses("weight_norm") == ["weight_norm_dense", "class WeightNormDense"]
    assert source.near_misses("batch_norm") == []
    # what one function must take: kernels for weight norm, activations for the others
    assert "(H, W, C_in, C_out)" in roles.near_miss_advice("weight_norm")
    assert "NHWC" not in roles.near_miss_advice("weight_norm")
    assert "(N, D) and NHWC" in roles.near_miss_advice("layer_norm")


def test_a_normalization_written_as_a_class_is_named_but_not_graded():
    # Note [A normalization written as a class]: a real CS 599 file's weight norm lived only in
    # a Keras layer's call; the not-found message now names the class.
    source = roles.Source("class WeightNormDense:\n"
                          "    def call(self, x):\n        return x @ (self.v * self.g)\n"
                          "class BatchNormCNN:\n"
                          "    def __init__(self, hidden_size, output_size, norm_type='batch'):\n"
                          "        self.norm_type = norm_type\n"
                          "class BatchNormTF:\n    pass\n"
                          "def layer_norm(x, gamma, beta, eps=1e-5):\n    return x\n")
    assert source.find("weight_norm") is None and source.find("batch_norm") is None
    assert source.near_misses("weight_norm") == ["class WeightNormDense"]
    # a model's class and a library wrapper are no near misses
    assert source.near_misses("batch_norm") == []
    assert source.near_misses("layer_norm") == []


def test_a_norm_parameter_that_names_a_size_is_not_the_models_choice():
    # Note [Which model]: a student's own LayerNormalization(normalized_shape) written above the
    # model class is not the model; the CNN with its norm_type is
    layer = ("class LayerNormalization:\n"
             "    def __init__(self, normalized_shape, epsilon=1e-5):\n"
             "        self.normalized_shape = normalized_shape\n"
             "    def __call__(self, x):\n        return x\n")
    model = ("class CNN:\n"
             "    def __init__(self, hidden_size, output_size, norm_type='none'):\n"
             "        self.norm_type = norm_type\n"
             "    def call(self, x):\n"
             "        if self.norm_type == 'batch':\n            pass\n")
    found = roles.Source(layer + model).model()
    assert (found.name, found.norm_parameter) == ("CNN", "norm_type")
    assert found.arguments("batch", (8, 8, 1), 10) == {"norm_type": "batch", "output_size": 10,
                                                       "hidden_size": 100}
    # without a model class there is no model, rather than a normalization built as one
    assert roles.Source(layer).model() is None
    assert roles.Source("class Net:\n    def __init__(self, norm_axis=-1, normalization='batch'):\n"
                        "        pass\n").model().norm_parameter == "normalization"


def test_a_choice_by_any_name_is_the_models_with_the_students_own_values():
    # Note [A choice by any name]: the template's CNN extended with `mode`, compared with the
    # student's own and the library's spellings of each normalization (a real CS 599 file)
    source = roles.Source(
        "class CNN:\n"
        "    def __init__(self, hidden_size, output_size, mode='no_norm', device=None):\n"
        "        self.mode = mode\n"
        "    def compute_output(self, X):\n"
        "        if self.mode == 'wn_custom':\n            pass\n"
        "        if self.mode == 'bn_tf':\n            pass\n"
        "        elif self.mode == 'bn_custom':\n            pass\n"
        "        if self.mode == 'ln_custom':\n            pass\n"
        "        elif self.mode == 'ln_tf':\n            pass\n")
    model = source.model()
    assert (model.name, model.norm_parameter) == ("CNN", "mode")
    assert model.options == {"none": "no_norm", "batch": "bn_custom", "layer": "ln_custom",
                             "weight": "wn_custom"}
    assert model.arguments("batch", (8, 8, 1), 10) == {"mode": "bn_custom", "output_size": 10,
                                                       "hidden_size": 100}
    assert model.arguments("none", (8, 8, 1), 10)["mode"] == "no_norm"


def test_a_parameter_compared_with_other_strings_is_no_normalization_choice():
    # Note [A choice by any name]: an activation or optimizer switch does not make a model, and
    # a "norm" parameter elsewhere in the file is still preferred
    other = ("class Net:\n"
             "    def __init__(self, activation='relu', mode='train'):\n"
             "        self.activation, self.mode = activation, mode\n"
             "    def call(self, x):\n"
             "        if self.activation == 'relu' and self.mode in ('train', 'batch'):\n            pass\n")
    assert roles.Source(other).model() is None
    named = ("class CNN:\n"
             "    def __init__(self, norm_type='none'):\n"
             "        self.norm_type = norm_type\n")
    both = roles.Source(
        other.replace("'train')", "'bn')").replace("('train', 'batch')", "('ln', 'bn')") + named).model()
    assert (both.name, both.norm_parameter) == ("CNN", "norm_type")
    # a helper dispatching on a kind, written above the model, is not the model
    helper = ("class Norm:\n    def __init__(self, kind='batch'):\n        self.kind = kind\n"
              "    def __call__(self, x):\n        if self.kind == 'batch' or self.kind == 'layer':\n"
              "            return x\n")
    model = ("class CNN:\n    def __init__(self, hidden_size, output_size, mode='no_norm'):\n"
             "        self.mode = mode\n    def call(self, x):\n"
             "        if self.mode in ('bn_custom', 'ln_custom', 'wn_custom'):\n            pass\n")
    assert roles.Source(helper + model).model().name == "CNN"


def test_windows_cut_in_a_python_loop_are_named_in_the_model_only():
    # Note [Windows cut in a Python loop]: the template-style model's `windows` (tf.slice per
    # position), a module function the forward pass calls (windows by subscript); not a loop
    # over minibatches, nor a crop in a loop the forward pass never reaches
    text = (LAB / "template_loops.py").read_text()
    loop = text.splitlines().index("        for row in range(out_h):") + 1
    assert roles.Source(text).loop_windows("CNN") == [("CNN.windows", loop)]
    other = ("def pool(x):\n"
             "    out = []\n"
             "    for i in range(0, 8, 2):\n"
             "        for j in range(0, 8, 2):\n"
             "            out.append(x[:, i:i + 2, j:j + 2, :].max(axis=(1, 2)))\n"
             "    return out\n"
             "def augment(images):\n"
             "    for i in range(len(images)):\n"
             "        images[i] = images[i, 2:30, 2:30]\n"
             "class Net:\n"
             "    def __init__(self, norm_type=None):\n"
             "        self.norm_type = norm_type\n"
             "    def __call__(self, x):\n"
             "        out = []\n"
             "        for i in range(0, len(x), 64):\n"
             "            out.append(self.forward(x[i:i + 64]))\n"
             "        return out\n"
             "    def forward(self, x):\n"
             "        return pool(x)\n")
    assert roles.Source(other).loop_windows("Net") == [("pool", 3)]
    assert roles.Source(other.replace("return pool(x)", "return x")).loop_windows("Net") == []
    # the template's loop kept beside Keras layers, never called by the forward pass
    kept = text.replace("h = self.convolution(X, self.W1, self.b1)",
                        "h = tf.nn.conv2d(X, self.W1, 1, 'SAME')")
    kept = kept.replace("h = self.max_pool(tf.nn.relu(h))",
                        "h = tf.nn.max_pool2d(tf.nn.relu(h), 2, 2, 'SAME')")
    assert "self.convolution(" not in kept.split("def forward")[1] and "def windows" in kept
    assert roles.Source(kept).loop_windows("CNN") == []
    assert roles.Source((LAB / "template_style.py").read_text()).loop_windows("CNN") == []
