"""Find the IST597 lab's functions, model and training loop by their role, read from the source.

Why it exists: students hand the lab in as they wrote it, not under this
project's names.  The seed lab defines module-level `batch_norm`,
`layer_norm` and `weight_norm` and a Keras `CNN(norm_type=...)` trained by its
own `train_step`; the course's template (`CNN_assignment4.py`) has a `CNN`
class whose methods students extend (`batch_norm_custom`,
`batch_normalization`, `layer_normalization`, `weight_normalization`); this
project's starter has `NormalizedCNN`, `train` and `evaluate`.  This module
reads the submission's source with `ast`, in the judge, without running it,
and says which definition plays each role and how to call it.

# Note [Roles and names]
A role (batch norm, layer norm, weight norm, the model) is found by name, among
the names students use for it (ROLE_NAMES, compared without case or
underscores, in that order of preference: the student's own "custom" names
(Note [Own-implementation names]) before `batch_normalization`, which the course's template also uses for the
library version it compares with), first as a module-level function, then as
a method of a class.  Among them the checks take the first that uses no
library normalization (checks.py Note [Static check]), so a template's
library wrapper is never graded in place of the student's own function.  A method is called as such when its result
cannot depend on the instance: a `@staticmethod`, or a method whose body never
reads its first parameter (`self`); then it is called with `self=None`.  Any
other method is called through an instance of its class, built with the
arguments the model role would get (Note [Which model]) or none.  Signatures
are read from the source: parameter names, and defaults that are literals or
module-level literal constants (`epsilon=EPS`), so the checks can call a
function with its own eps (Note [Calling with tensors] in checks.py).

# Note [Own-implementation names]
Students mark the function they wrote, beside the library call it is compared with, by a
word before or after the lab's name: `batch_norm_custom`, `my_batch_norm`, and in real
hand-ins `batch_norm_manual` / `layer_norm_manual` (an IST597 file whose Keras layers call
them).  `custom`, `manual`, `own` or `scratch` before or after the name, or `my` before it, marks
the role itself, preferred to the library-named `batch_normalization`; before, a `_manual`
pair was only named in the not-found message, so a correct layer norm earned nothing.  Any
other extra word (`BatchNorm1`, `batch_norm_conv`: one of several variants) is still named,
never graded (near_misses).

# Note [Helpers that are not the role]
The not-found message names the definitions that look like the role but are not graded as it
(`batch_norm_conv`), and asks for one function for every input the lab's CNN gives it.  A real
CS 599 file (classes `WeightNormDense`, `WeightNormConv2D` with the weight norm inside the
layer) was told it "has `WeightNormDense.verify_weight_norm`, which the grader does not take for
it: write one `weight_norm` for every input ..., (N, D) and NHWC": its verify methods compare
the layer with TensorFlow's, they are not a weight norm, and weight norm is given kernels, not
activations.  So a definition whose name has a word of a comparison or of the library
(`verify`, `compare`, `check`, `test`, `tf`, `keras`, `builtin`, `library`: HELPER_WORDS) is no
near miss, and the advice names what each role is given (near_miss_advice): activations
(N, D) and NHWC for batch and layer norm, dense (D_in, D_out) and conv (H, W, C_in, C_out)
kernels for weight norm.

# Note [A normalization written as a class]
# A real CS 599 file normalized its dense layer's kernel inside a Keras layer, `class
# WeightNormDense` (w = v * g / ||v|| in its `call`), and defined no weight-norm function: its
# weight_norm checks said only "`weight_norm` not found ... (looked for a function or a method
# named weight_norm, ...)", which does not tell a student whose weight norm exists why it was not
# found.  A class named like the role (WeightNormDense, BatchNormLayer, LayerNormalization) is
# named in that message as `class ...` beside the near-miss functions, with what one function
# must take (near_miss_advice); the grader still grades functions and methods only, never a
# class's call.  A class named like a model (a word of MODEL_WORDS: BatchNormCNN) or a
# comparison helper (HELPER_WORDS) is not named.

# Note [Which model]
The model is `NormalizedCNN` (this project's starter) if the file defines it,
else a class whose constructor takes a normalization choice (a parameter
whose name contains "norm": `norm_type`, `normalization`; not one that also names a size
or a setting of one normalization, NOT_A_CHOICE: a real CS 599 file's own
`LayerNormalization(normalized_shape)`, written above its model, was taken for the
model and trained as one).  The values that
choice takes are read from the class's own comparisons (`if self.norm_type ==
'batch_norm'`), dict keys and the parameter's default: a string literal containing "batch" (or equal to "bn") means
batch norm, "layer"/"ln" layer norm, "weight"/"wn" weight norm, "none" or
"no..." none; an option with no literal gets this project's spelling
('batch', 'layer', 'weight', None).

# Note [A choice by any name]
A real CS 599 file (the course template's `CNN`, extended) takes the normalization as
`CNN(hidden_size, output_size, mode='no_norm')` and compares `self.mode` with "bn_custom",
"bn_tf", "ln_custom", "ln_tf", "wn_custom": no parameter says "norm", so the grader found
no model and the four training checks scored 0 ("no model class found") for a model that
trains.  So when no class has a "norm" parameter, a constructor parameter that the class
compares with strings naming at least two of batch, layer and weight norm is the choice (a
second pass: a file with a "norm" parameter is read as before), in a class that takes the
class count as the template's CNN(hidden_size, output_size) does, before one that does not
(a student's own normalization helper dispatching on a kind).  The lab asks to compare
the student's normalization with TensorFlow's, so such a choice often has both for one
option: the value marked as the student's own ("custom", "own", "my", "manual",
"scratch") is taken, else the first that does not name the library ("tf", "keras",
"builtin", "library"), as Note [A choice and a switch] picks its "on" value.  Short
spellings count as words of a value: "bn_custom" is batch norm as "bn" is.

# Note [Normalization flags]
Some students give the template's `CNN` one boolean per normalization instead of one choice:
`CNN(hidden_size, output_size, batch_norm1=False, layer_norm1=False, weight_norm=False, ...)`.
Passing the choice's string to the first parameter named "norm" (`batch_norm1='layer'`) turned
batch norm on for every option, so the layer- and weight-norm runs trained batch norm.  When
the constructor has parameters whose defaults are False and whose names say batch, layer or
weight norm, each option sets its own flag to True (the first such parameter, so the conv
layer's `batch_norm1` before the dense layer's `batch_norm2`) and "none" sets none; an option
without a flag cannot be built, and the training check says so.

# Note [A choice and a switch]
A constructor may take the normalization in two parameters: which one (`norm_type='batch'`)
and whether to use the student's own or the library's (`use_normalization='none' | 'custom' |
'tf'`).  Handing the choice to the first "norm" parameter (`use_normalization='batch'`) built a
model with no normalization at all, and every training run then judged a plain CNN.  So when
two "norm" parameters are compared with strings in the class, the one whose strings name at
least two of batch/layer/weight is the choice, and one whose strings include a "none" is the
switch: off ("none") for the run without normalization, else the student's own value (a
string with "custom", "own", "my", "manual" or "scratch", else the first that does not name
the library: "tf", "keras", "builtin", "library").

# Note [The template's constructor]
The course's template (`CNN_assignment4.py`) builds its model as
`CNN(hidden_size, output_size, device=None)`, both required, from the
module-level constants `hidden_size = 100` and `output_size = 10`; students
keep that signature and add their normalization choice to it.  So wherever the
grader builds a student's class (the model, or the instance whose methods are
the normalization functions), a parameter named like the number of outputs
(`output_size`, `num_classes`, ...) gets the number of classes of the data it
is judged on, and a required `hidden_size` gets the file's own module-level
`hidden_size` if it is an integer literal, else the template's 100.  A
parameter with a default keeps it.  Before this, every model and every
normalization method written on the template failed with "missing 2 required
positional arguments" and lost all their points.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

# Words by which students mark a definition as their own implementation, beside the library's
# (Note [Own-implementation names]; Note [A choice and a switch] reads the same words in strings).
def _role_names(stem: str, long: str, short: str) -> tuple[str, ...]:
    own = [f"{stem}_custom", f"custom_{stem}", f"my_{stem}"]
    own += [name for word in ("manual", "own", "scratch") for name in (f"{stem}_{word}", f"{word}_{stem}")]
    return (stem, *own, f"{long}_custom", f"{stem.replace('_', '')}_custom", f"{stem}_forward", long, short)


ROLE_NAMES = {
    "batch_norm": _role_names("batch_norm", "batch_normalization", "bn"),
    "layer_norm": _role_names("layer_norm", "layer_normalization", "ln"),
    "weight_norm": _role_names("weight_norm", "weight_normalization", "wn"),
}
MODEL_NAMES = ("NormalizedCNN",)
UNKNOWN = object()   # a default that is not a literal
TEMPLATE_HIDDEN_SIZE = 100   # the course template's `hidden_size` (Note [The template's constructor])
CLASSES_PARAMETERS = ("num_classes", "n_classes", "nb_classes", "classes", "output_size", "num_outputs",
                      "n_outputs", "size_output", "out_size")


def _key(name: str) -> str:
    return name.lower().replace("_", "")


# Words of a comparison or verification helper, or of the library version a student compares
# with (Note [Helpers that are not the role]).
HELPER_WORDS = ("verify", "compare", "comparison", "check", "test", "tf", "keras", "builtin", "library")


# Words of a model's class name, never a near miss (Note [A normalization written as a class]).
MODEL_WORDS = ("cnn", "net", "model", "network", "classifier")


def _words(name: str) -> list[str]:
    """`verify_weight_norm` -> verify, weight, norm; `BatchNormTF` -> batch, norm, tf."""
    return [w.lower() for w in re.findall(r"[A-Z]{2,}(?![a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+", name)]


def _helper(name: str) -> bool:
    return any(w in HELPER_WORDS for w in _words(name))


def near_miss_advice(role: str) -> str:
    """What one `role` function must take, for the not-found message (Note [Helpers that are not
    the role])."""
    if role == "weight_norm":
        return "every kernel the lab's CNN normalizes, dense (D_in, D_out) and conv (H, W, C_in, C_out)"
    return "every input the lab's CNN passes it, (N, D) and NHWC"


@dataclass(frozen=True)
class Signature:
    """A def's parameters as the caller sees them (a method's `self` left out)."""
    names: tuple[str, ...]           # positional parameters, in order
    required: int                    # how many of them have no default
    keyword_only: tuple[str, ...] = ()
    required_keyword_only: tuple[str, ...] = ()
    varargs: bool = False
    defaults: dict = field(default_factory=dict)   # name -> literal value, or UNKNOWN

    def accepts(self, name: str) -> bool:
        return name in self.names or name in self.keyword_only

    def find(self, *fragments: str) -> str | None:
        """The first parameter whose lower-cased name contains one of `fragments`."""
        for name in (*self.names, *self.keyword_only):
            if any(f in name.lower() for f in fragments):
                return name
        return None


@dataclass(frozen=True)
class Target:
    """Where a role lives and how to call it (Note [Roles and names])."""
    role: str
    path: str                        # "batch_norm" or "CNN.batch_norm_custom"
    signature: Signature
    owner: str | None = None         # the class of a method
    self_mode: str = "none"          # "function", "static", "none" (self=None) or "instance"
    line: int = 0

    @property
    def name(self) -> str:
        return self.path.rsplit(".", 1)[-1]

    def wire(self, init: dict | None = None) -> dict | str:
        """What the course helper (course/grader_tape.py) needs to find the callable."""
        if self.owner is None:
            return self.path
        return {"path": self.path, "self": self.self_mode, "init": dict(init or {})}


@dataclass(frozen=True)
class Model:
    """The model class and how to choose its normalization (Note [Which model])."""
    name: str
    signature: Signature
    norm_parameter: str | None
    options: dict                    # 'none'/'batch'/'layer'/'weight' -> the student's value
    project_api: bool                # NormalizedCNN(input_shape, num_classes, normalization, seed)
    hidden_size: int = TEMPLATE_HIDDEN_SIZE   # Note [The template's constructor]
    flags: dict = field(default_factory=dict)  # option -> its boolean parameter (Note [Normalization flags])
    switch: tuple = ()               # (parameter, off value, on value): Note [A choice and a switch]

    def arguments(self, option: str, input_shape, num_classes: int, seed: int = 0) -> dict:
        if self.project_api:
            return {"input_shape": tuple(input_shape), "num_classes": num_classes,
                    "normalization": self.options[option], "seed": seed}
        kwargs = {}
        if self.flags:
            if option != "none" and option not in self.flags:
                raise ValueError(f"`{self.name}` has no parameter that turns {option} normalization on "
                                 f"(its flags: {', '.join(self.flags.values())})")
            if option != "none":
                kwargs[self.flags[option]] = True
        elif self.switch:  # Note [A choice and a switch]
            parameter, off, on = self.switch
            kwargs[parameter] = off if option == "none" else on
            if option != "none":
                kwargs[self.norm_parameter] = self.options[option]
        elif self.norm_parameter:
            kwargs[self.norm_parameter] = self.options[option]
        for fragments, value in ((("input_shape",), tuple(input_shape)),
                                 (CLASSES_PARAMETERS, num_classes),
                                 (("seed",), seed)):
            name = self.signature.find(*fragments)
            if name and name != self.norm_parameter:
                kwargs[name] = value
        hidden = self.signature.find("hidden")
        if hidden and hidden not in kwargs and hidden != self.norm_parameter and self._required(hidden):
            kwargs[hidden] = self.hidden_size
        return kwargs

    def _required(self, name: str) -> bool:
        if name in self.signature.keyword_only:
            return name in self.signature.required_keyword_only
        return name in self.signature.names[:self.signature.required]


class Source:
    """One submission file, parsed once."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tree = ast.parse(text)
        self.functions = {n.name: n for n in self.tree.body
                          if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
        self.classes = {n.name: n for n in self.tree.body if isinstance(n, ast.ClassDef)}
        self.constants = {}
        for node in self.tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                try:
                    self.constants[node.targets[0].id] = ast.literal_eval(node.value)
                except (ValueError, TypeError, SyntaxError, RecursionError):
                    pass

    # -- signatures ------------------------------------------------------------------------------
    def _default(self, node: ast.expr | None):
        if node is None:
            return UNKNOWN
        try:
            return ast.literal_eval(node)
        except (ValueError, TypeError, SyntaxError, RecursionError):
            if isinstance(node, ast.Name) and node.id in self.constants:
                return self.constants[node.id]
            return UNKNOWN

    def signature(self, node: ast.FunctionDef, drop_first: bool = False) -> Signature:
        arguments = node.args
        positional = list(arguments.posonlyargs + arguments.args)
        defaults = [None] * (len(positional) - len(arguments.defaults)) + list(arguments.defaults)
        if drop_first and positional:
            positional, defaults = positional[1:], defaults[1:]
        values = {a.arg: self._default(d) for a, d in zip(positional, defaults) if d is not None}
        values.update({a.arg: self._default(d) for a, d in zip(arguments.kwonlyargs, arguments.kw_defaults)
                       if d is not None})
        return Signature(tuple(a.arg for a in positional), sum(d is None for d in defaults),
                         tuple(a.arg for a in arguments.kwonlyargs),
                         tuple(a.arg for a, d in zip(arguments.kwonlyargs, arguments.kw_defaults) if d is None),
                         arguments.vararg is not None, values)

    # -- roles -----------------------------------------------------------------------------------
    def find(self, role: str) -> Target | None:
        """The definition playing `role` (Note [Roles and names]); None if there is none."""
        found = self.find_all(role)
        return found[0] if found else None

    def find_all(self, role: str) -> list[Target]:
        """Every definition that may play `role`, best first (Note [Roles and names])."""
        wanted = list(dict.fromkeys(_key(n) for n in ROLE_NAMES[role]))
        functions = {_key(name): node for name, node in reversed(list(self.functions.items()))}
        methods = {}
        for class_name, cls in reversed(list(self.classes.items())):
            for node in reversed(cls.body):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    methods[_key(node.name)] = (class_name, node)
        found = [self._target(role, None, functions[key]) for key in wanted if key in functions]
        found += [self._target(role, *methods[key]) for key in wanted if key in methods]
        return found

    def near_misses(self, role: str) -> list[str]:
        """Definitions named like `role` but not as the lab names it (`BatchNorm1`, `CNN.batch_norm_conv`):
        named in the not-found message, never graded (Note [Roles and names]); a comparison
        helper or library version is none (Note [Helpers that are not the role])."""
        stems = {_key(n) for n in ROLE_NAMES[role] if len(n) > 2}
        stems = {s for s in stems if not any(o != s and o in s for o in stems)}
        wanted = {_key(n) for n in ROLE_NAMES[role]}
        found = [name for name in self.functions
                 if _key(name) not in wanted and any(s in _key(name) for s in stems) and not _helper(name)]
        for class_name, cls in self.classes.items():
            found += [f"{class_name}.{n.name}" for n in cls.body
                      if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and _key(n.name) not in wanted
                      and any(s in _key(n.name) for s in stems)
                      and not _helper(n.name)]  # Note [Helpers that are not the role]
        # Note [A normalization written as a class]
        found += [f"class {class_name}" for class_name in self.classes
                  if any(s in _key(class_name) for s in stems) and not _helper(class_name)
                  and not any(w in MODEL_WORDS for w in _words(class_name))]
        return found

    def _target(self, role: str, owner: str | None, node: ast.FunctionDef) -> Target:
        if owner is None:
            return Target(role, node.name, self.signature(node), line=node.lineno)
        decorators = {d.id for d in node.decorator_list if isinstance(d, ast.Name)}
        if "staticmethod" in decorators:
            return Target(role, f"{owner}.{node.name}", self.signature(node), owner, "static", node.lineno)
        mode = "instance" if _reads_first_parameter(node) else "none"
        return Target(role, f"{owner}.{node.name}", self.signature(node, drop_first=True), owner, mode,
                      node.lineno)

    def model(self) -> Model | None:
        """The model class (Note [Which model]); None if there is none."""
        for name in MODEL_NAMES:
            if name in self.classes:
                init = self._init(self.classes[name])
                return Model(name, init, "normalization", _options([]), project_api=True)
        for name, cls in self.classes.items():
            init = self._init(cls)
            flags = _flags(init)
            if flags:  # Note [Normalization flags]
                return Model(name, init, None, _options([]), project_api=False,
                             hidden_size=self._hidden_size(), flags=flags)
            two = self._choice_and_switch(cls, init)
            if two is not None:  # Note [A choice and a switch]
                choice, strings, switch = two
                return Model(name, init, choice, _options(strings), project_api=False,
                             hidden_size=self._hidden_size(), switch=switch)
            parameter = _choice_parameter(init)
            if parameter is not None:
                default = init.defaults.get(parameter)
                strings = ([default] if isinstance(default, str) else []) + _compared_strings(cls)
                return Model(name, init, parameter, _options(strings), project_api=False,
                             hidden_size=self._hidden_size())
        found = []
        for name, cls in self.classes.items():  # Note [A choice by any name]
            init = self._init(cls)
            for parameter in (*init.names, *init.keyword_only):
                compared = _compared_with(cls, parameter)
                if len({_option(v) for v in compared} & {"batch", "layer", "weight"}) >= 2:
                    default = init.defaults.get(parameter)
                    strings = ([default] if isinstance(default, str) else []) + compared
                    found.append(Model(name, init, parameter, _options(strings), project_api=False,
                                       hidden_size=self._hidden_size()))
                    break
        # a class built like the template's model (it takes the class count) before a helper class
        sized = [m for m in found if m.signature.find(*CLASSES_PARAMETERS)]
        return (sized or found or [None])[0]

    def _choice_and_switch(self, cls: ast.ClassDef, init: Signature):
        """(choice parameter, its strings, (switch, off, on)) or None (Note [A choice and a switch])."""
        named = [n for n in (*init.names, *init.keyword_only) if _names_a_choice(n)]
        if len(named) < 2:
            return None
        strings = {n: ([init.defaults[n]] if isinstance(init.defaults.get(n), str) else [])
                   + _compared_with(cls, n) for n in named}
        choice = next((n for n in named
                       if len({_option(v) for v in strings[n]} & {"batch", "layer", "weight"}) >= 2), None)
        for switch in named:
            if switch == choice or choice is None:
                continue
            off = next((v for v in strings[switch] if _option(v) == "none"), None)
            rest = [v for v in strings[switch] if _option(v) is None]
            if off is None or not rest:
                continue
            return choice, strings[choice], (switch, off, _students_own(rest))
        return None

    def owner(self, class_name: str) -> Model | None:
        """How to build `class_name` to call its methods: the model if it is the model class, else
        the class with no normalization choice (Note [The template's constructor])."""
        model = self.model()
        if model is not None and model.name == class_name:
            return model
        if class_name not in self.classes:
            return None
        return Model(class_name, self._init(self.classes[class_name]), None, _options([]),
                     project_api=False, hidden_size=self._hidden_size())

    def _hidden_size(self) -> int:
        value = self.constants.get("hidden_size")
        return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 \
            else TEMPLATE_HIDDEN_SIZE

    def _init(self, cls: ast.ClassDef) -> Signature:
        init = next((n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"), None)
        return self.signature(init, drop_first=True) if init is not None else Signature((), 0)

    def train_function(self) -> str | None:
        """`train(model, x, y, ...)` in the form the checks call, if the file has it."""
        node = self.functions.get("train")
        if node is None:
            return None
        signature = self.signature(node)
        return "train" if len(signature.names) >= 3 and signature.required <= 3 else None

    # Note [Windows cut in a Python loop]
    # The course template's `convolution` and `max_pool` cut every window out of the image
    # with tf.slice in a Python loop over the output positions (its `flatten`), so each
    # training step runs one op per position and layer: the slowness checks.py Note [Training
    # time of the course's template] measured.  `loop_windows` names the definitions that do
    # so, for the message of a training run that ran out of time (checks.py Note [Training that
    # runs out of time]): the definitions the model's forward pass reaches (its `forward`,
    # `call` or `__call__`, and what they call as `self.name(...)` or as a module-level
    # function, transitively) with a `for` or `while` loop that calls `.slice(...)` or takes a
    # subscript bounded on two axes (`x[:, i:i + 3, j:j + 3, :]`).  A loop that slices one
    # axis (a minibatch, `x[i:i + 64]`) is not one; code the forward pass does not reach (the
    # training loop, loading data, the template's helpers kept but unused beside Keras layers,
    # as a real CS 599 file kept them) is not read.
    def loop_windows(self, class_name: str) -> list[tuple[str, int]]:
        """(definition, line of its loop) for each definition the forward pass of the model
        `class_name` reaches that cuts windows in a Python loop (Note [Windows cut in a Python loop])."""
        cls = self.classes.get(class_name)
        if cls is None:
            return []
        methods = {n.name: n for n in cls.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
        pending = [f"self.{name}" for name in FORWARD_METHODS if name in methods]
        reached: dict[str, ast.AST] = {}
        while pending:
            key = pending.pop()
            node = methods.get(key[5:]) if key.startswith("self.") else self.functions.get(key)
            if node is None or key in reached:
                continue
            reached[key] = node
            for call in ast.walk(node):
                if isinstance(call, ast.Call) and isinstance(call.func, ast.Name):
                    pending.append(call.func.id)
                elif (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                      and isinstance(call.func.value, ast.Name) and call.func.value.id == "self"):
                    pending.append(f"self.{call.func.attr}")
        found = []
        for key, node in reached.items():
            line = next((loop.lineno for loop in ast.walk(node) if isinstance(loop, (ast.For, ast.While))
                         and any(_cuts_a_window(inner) for inner in ast.walk(loop))), None)
            if line is not None:
                found.append((f"{class_name}.{key[5:]}" if key.startswith("self.") else key, line))
        return sorted(found, key=lambda item: item[1])


def _cuts_a_window(node: ast.AST) -> bool:
    """A `.slice(...)` call, or a subscript bounded on two axes (Note [Windows cut in a Python loop])."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "slice":
        return True
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Tuple):
        return sum(isinstance(s, ast.Slice) and (s.lower is not None or s.upper is not None)
                   for s in node.slice.elts) >= 2
    return False


# The methods a model's forward pass starts from (Note [Windows cut in a Python loop]).
FORWARD_METHODS = ("forward", "call", "__call__")


# Words that make a "norm" parameter a size or a setting of one normalization, not the model's
# choice among them (Note [Which model]).
NOT_A_CHOICE = ("shape", "size", "dim", "axis", "axes", "eps", "feature", "channel", "momentum")


def _names_a_choice(name: str) -> bool:
    """Whether parameter `name` can be a normalization choice (Note [Which model])."""
    lowered = name.lower()
    return "norm" in lowered and not any(word in lowered for word in NOT_A_CHOICE)


def _choice_parameter(init: Signature) -> str | None:
    """The first parameter that can be a normalization choice, or None."""
    return next((n for n in (*init.names, *init.keyword_only) if _names_a_choice(n)), None)


def _flags(init: Signature) -> dict:
    """option -> the first boolean parameter (default False) named for it (Note [Normalization flags])."""
    flags = {}
    for name in (*init.names, *init.keyword_only):
        if init.defaults.get(name) is not False or "norm" not in name.lower():
            continue
        option = _option(name)
        if option in ("batch", "layer", "weight") and option not in flags:
            flags[option] = name
    return flags


def _reads_first_parameter(node: ast.FunctionDef) -> bool:
    positional = node.args.posonlyargs + node.args.args
    if not positional:
        return False
    first = positional[0].arg
    return any(isinstance(n, ast.Name) and n.id == first for stmt in node.body for n in ast.walk(stmt))


def _compared_with(cls: ast.ClassDef, name: str) -> list[str]:
    """The strings `name` (or `self.name`) is compared with anywhere in the class."""
    found = []
    for node in ast.walk(cls):
        if not isinstance(node, ast.Compare):
            continue
        parts = [node.left, *node.comparators]
        if not any((isinstance(p, ast.Name) and p.id == name) or (isinstance(p, ast.Attribute) and p.attr == name)
                   for p in parts):
            continue
        for part in parts:
            elements = part.elts if isinstance(part, (ast.Tuple, ast.List, ast.Set)) else [part]
            found += [e.value for e in elements if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    return list(dict.fromkeys(found))


def _compared_strings(cls: ast.ClassDef) -> list[str]:
    found = []
    for node in ast.walk(cls):
        if isinstance(node, ast.Dict):  # {"batch_norm": ..., "layer_norm": ...}.get(norm_type)
            found += [k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)]
        if isinstance(node, ast.Compare):
            for part in [node.left, *node.comparators]:
                elements = part.elts if isinstance(part, (ast.Tuple, ast.List, ast.Set)) else [part]
                found += [e.value for e in elements if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    return found


def _option(value: str) -> str | None:
    text = value.lower()
    words = set(re.split(r"[^a-z0-9]+", text))  # "bn_custom" is batch norm (Note [A choice by any name])
    if "batch" in text or "bn" in words:
        return "batch"
    if "layer" in text or "ln" in words:
        return "layer"
    if "weight" in text or "wn" in words:
        return "weight"
    if text in ("", "none", "no") or re.match(r"^(no|without)[_ -]?norm", text):
        return "none"
    return None


def _students_own(values: list[str]) -> str:
    """Of several values for one thing, the student's own rather than the library's (Notes
    [A choice and a switch], [A choice by any name])."""
    own = [v for v in values if re.search(r"custom|own|my|manual|scratch", v, re.I)]
    not_library = [v for v in values if not re.search(r"^(tf|keras)$|(^|[^a-z])(tf|keras)($|[^a-z])|builtin|"
                                                     r"built-in|library", v, re.I)]
    return (own or not_library or values)[0]


def _options(strings: list[str]) -> dict:
    options = {"none": None, "batch": "batch", "layer": "layer", "weight": "weight"}
    found: dict = {}
    for value in strings:
        option = _option(value)
        if option is not None:
            found.setdefault(option, []).append(value)
    for option, values in found.items():
        options[option] = _students_own(values)
    return options


# -- the student's own source, for notebooks too ----------------------------------------------------

GENERATED = "# Generated by the grader from"


@dataclass(frozen=True)
class View:
    """The student's code as the grader reads it, and where each of its lines came from."""
    text: str
    origin: tuple = ()               # line (1-based) -> (cell number, line in the cell); () = itself
    cells: bool = False              # a notebook's cells (else one .py file)

    def where(self, line: int) -> str:
        if not self.origin or not 0 < line <= len(self.origin):
            return f"line {line}"
        cell, within = self.origin[line - 1]
        return f"cell {cell} line {within}" if self.cells else f"line {within}"


def student_view(text: str) -> View:
    """`text` as staged; for a module generated from a notebook (or from a .py read in
    definitions mode, grader/submission/notebook.py), the student's own kept definitions instead of the
    generated stub, each line mapped back to its cell."""
    if not text.startswith(GENERATED):
        return View(text)
    units, notebook = None, ""
    for node in ast.walk(ast.parse(text)):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "run"
                and len(node.args) >= 2):
            units = ast.literal_eval(node.args[1])
            notebook = next((ast.literal_eval(k.value) for k in node.keywords if k.arg == "notebook"), "")
            break
    lines, origin = [], []
    for cell, source in units or []:
        if cell == 0:   # the manifest's setup code (Note [Notebook setup]), not the student's
            continue
        for number, line in enumerate(source.split("\n"), start=1):
            if line.strip():
                lines.append(line)
                origin.append((cell, number))
        lines.append("")
        origin.append((cell, 0))
    return View("\n".join(lines), tuple(origin), not str(notebook).endswith(".py"))
