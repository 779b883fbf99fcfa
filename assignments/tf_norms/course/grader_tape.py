"""Course helper the grader ships into every tf_norms submission: call a function on tensors.

Why it exists: the worker only calls named functions on plain data (numpy
arrays), but the IST597 functions are written for `tf.Tensor` inputs
(`x.shape.rank`, `tf.rank`...) and their gradients come from
`tf.GradientTape`, which needs a Python block around the call.  This module
runs inside the worker, next to the student's code, turns the arrays into
tensors, calls the student's function under a tape and hands back arrays.
It computes no verdict: the judge compares what comes back with the
reference, so a submission that tampers with this module can only make its
own numbers wrong (Note [Trust boundary]).

Staged by the manifest's `replace:` (grader/submission/stage.py Note [Staging]), so a
submitted file of the same name is ignored.
"""

from __future__ import annotations

import functools
import importlib
import inspect

import tensorflow as tf

# float32 at full precision on a GPU: no TF32 in matrix products and convolutions
# (the grader's Note [Same numbers on a GPU]; NVIDIA_TF32_OVERRIDE=0 says the same).
tf.config.experimental.enable_tensor_float_32_execution(False)


_INSTANCES: dict = {}


def _function(module: str, name):
    """The callable a role names (assignments/tf_norms/roles.py Note [Roles and names]).

    `name` is a module-level name, or {"path": "Class.method", "self": mode, "init": kwargs}:
    mode "static" calls the staticmethod, "none" calls the method with self=None (its body
    never reads self), "instance" calls it on one instance built with `init`.
    """
    if isinstance(name, str):
        return getattr(importlib.import_module(module), name)
    owner_name, method = name["path"].split(".", 1)
    owner = getattr(importlib.import_module(module), owner_name)
    if name["self"] == "static":
        return getattr(owner, method)
    if name["self"] == "none":
        return functools.partial(getattr(owner, method), None)
    key = (module, owner_name, repr(sorted(name.get("init", {}).items())))
    if key not in _INSTANCES:
        _INSTANCES[key] = owner(**name.get("init", {}))
    return getattr(_INSTANCES[key], method)


def call_with_tensors(module: str, name: str, arrays: list, extra: list = (), keywords: dict | None = None):
    """`module.name(*tensors, *extra, **keywords)`, each array of `arrays` as a tf.constant."""
    return _function(module, name)(*[tf.constant(a) for a in arrays], *extra, **(keywords or {}))


def _output(value, first_input):
    """The first of a returned tuple when it is shaped like the input (assignments/tf_norms/checks.py
    Note [Output with its statistics]); else the value as returned."""
    if isinstance(value, (tuple, list)) and len(value) > 1:
        shape = getattr(value[0], "shape", None)
        if shape is not None and tuple(shape) == tuple(getattr(first_input, "shape", ())):
            return value[0]
    return value


def tape_gradients(module: str, name: str, arrays: list, extra: list, dout,
                   keywords: dict | None = None) -> dict:
    """Output and GradientTape gradients of sum(out * dout) with respect to every array.

    Returns {"out": array, "grads": [array or None per input]}; None where the
    output does not depend on that input through TensorFlow ops (a `.numpy()`
    round trip inside the function cuts the tape, for example).
    """
    tensors = [tf.constant(a) for a in arrays]
    with tf.GradientTape() as tape:
        for tensor in tensors:
            tape.watch(tensor)
        out = tf.convert_to_tensor(_output(_function(module, name)(*tensors, *extra, **(keywords or {})),
                                           arrays[0]))
        objective = tf.reduce_sum(out * tf.cast(tf.constant(dout), out.dtype))
    gradients = tape.gradient(objective, tensors)
    return {"out": out.numpy(),
            "grads": [None if g is None else tf.convert_to_tensor(g).numpy() for g in gradients]}


# -- which library normalizations a call really executes (checks.py Note [Basic ops by behaviour]) --

# Name scopes TensorFlow's own normalizations open (tf.nn.moments -> "moments/...", and so on),
# and the op types only the fused kernels emit.
NORMALIZATION_SCOPES = {"moments", "weighted_moments", "sufficient_statistics", "normalize_moments",
                        "batchnorm", "l2_normalize", "normalize"}
NORMALIZATION_OPS = {"FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3"}


def _keras_normalization_layers() -> list:
    """Every Keras layer class whose name says it normalizes (tf.keras and keras, if both load)."""
    classes = []
    for owner in (tf.keras.layers,):
        for attribute in dir(owner):
            value = getattr(owner, attribute, None)
            if isinstance(value, type) and "normaliz" in attribute.lower() and value not in classes:
                classes.append(value)
    return classes


def _scope_uses(graph) -> list[str]:
    found = []
    for op in graph.get_operations():
        parts = op.name.split("/")[:-1] if "/" in op.name else [op.name]
        if op.type in NORMALIZATION_OPS:
            found.append(op.type)
        for part in parts:
            base = part.rsplit("_", 1)[0] if part.rsplit("_", 1)[-1].isdigit() else part
            if base in NORMALIZATION_SCOPES:
                found.append(base)
        if op.type == "StopGradient":  # tf.nn.moments' own pattern, whatever `name=` it was given
            scope = op.name.rsplit("/", 1)[0]
            if any(o.type == "SquaredDifference" and o.name.startswith(scope + "/")
                   for o in graph.get_operations()):
                found.append("moments")
    return found


def executed_normalizations(module: str, name, arrays: list, extra: list = (),
                            keywords: dict | None = None) -> dict:
    """The library normalizations one call of `module.name` runs, whatever names reached them.

    Keras normalization layers are seen by wrapping their classes' `call` for the duration of
    one eager call (a class is one object however it was imported or renamed); tf.nn's are
    seen in the graph of one traced call, by the name scopes and op types they emit.
    Returns {"uses": sorted names, "traced": bool}.
    """
    function = _function(module, name)
    seen: list[str] = []
    originals = {}
    for cls in _keras_normalization_layers():
        if "call" in vars(cls):
            original = vars(cls)["call"]

            def recorded(self, *args, _original=original, _name=cls.__name__, **kwargs):
                seen.append(_name)
                return _original(self, *args, **kwargs)

            originals[cls] = original
            cls.call = recorded
    try:
        function(*[tf.constant(a) for a in arrays], *extra, **(keywords or {}))
    finally:
        for cls, original in originals.items():
            cls.call = original
    traced = True
    try:
        graph = tf.function(lambda *tensors: function(*tensors, *extra, **(keywords or {})),
                            autograph=False).get_concrete_function(
            *[tf.constant(a) for a in arrays]).graph
        seen += _scope_uses(graph)
    except Exception:  # noqa: BLE001 - code that cannot be traced (Python on tensor values, Keras
        traced = False  # layers built inside the call) is judged by the eager recorders alone
    return {"uses": sorted(set(seen)), "traced": traced}


# -- the student's model, when the submission has no train(model, x, y) -------------------------

def _accepts(function, name: str) -> bool:
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return True
    return name in parameters or any(p.kind == p.VAR_KEYWORD for p in parameters.values())


def _forward(model):
    """The model's forward pass as f(x, training): `model(x, training=...)`, or its `forward`/`call`."""
    for function in (model if callable(model) else None, getattr(model, "forward", None),
                     getattr(model, "call", None)):
        if function is None:
            continue
        with_flag = _accepts(function, "training")

        @tf.autograph.experimental.do_not_convert
        def forward(x, training, f=function, with_flag=with_flag):
            return f(x, training=training) if with_flag else f(x)

        return forward
    raise TypeError(f"{type(model).__name__} objects cannot be called on a batch of images "
                    f"(no __call__, forward or call method)")


def seed_generators(seed: int) -> None:
    """Seed every generator a model's construction and training may draw from: Python's `random`,
    numpy's legacy generator, TensorFlow's global seed and Keras' (Keras 3 draws an unseeded
    initializer's seed from Python's `random`).  It judges nothing; Note [Seeded training runs]
    in the assignment's checks.py says why."""
    import random

    import numpy as np
    random.seed(seed)
    np.random.seed(seed)
    tf.random.set_seed(seed)
    try:
        tf.keras.utils.set_random_seed(seed)
    except Exception:  # a Keras without it: the three above are what it sets
        pass


def model_scores(model, x):
    """model(x, training=False) as an array; x arrives as an array and is passed as a float32 tensor."""
    return tf.convert_to_tensor(_forward(model)(tf.constant(x, tf.float32), False)).numpy()


# Note [Variables Keras 3 does not track]
# The lab (TensorFlow 2 with Keras 2) lets a `tf.keras.Model` keep its own parameters as
# plain attributes: `self.gamma = tf.Variable(...)`, weight norm's `self.v` and `self.g`.
# Keras 2 tracked those into `model.trainable_variables`; Keras 3, which the grader's
# TensorFlow ships, tracks only its own layers' variables, so the reference's loop trained a
# real CS 599 notebook's weight-normalized output layer not at all (its v and g stayed as
# initialised: 0.50-0.57 test accuracy over seeds 0-2 on digits, where its model without
# normalization reached 0.97) and the lab's own training would have missed them as well
# under Keras 3, which the student could not have known.  So the loop trains Keras' list
# and every trainable tf.Variable in the attributes of the model and of the layers and
# modules it holds (in lists, tuples and dicts too), each once, as Keras 2 would have.
#
# Note [Keras layers in a tf.Module]
# The other way round too: the starter's `NormalizedCNN(tf.Module)` may hold Keras layers
# ("You may use tf.nn / Keras layers for conv and pooling").  Under Keras 2 a layer was a
# tf.Module and its kernel a tf.Variable, so `model.trainable_variables` listed them; a Keras 3
# layer is neither, and its variables are Keras' own, so the tf.Module's list held only the
# gammas and betas: the lab's train failed with "No gradients provided for any variable" for
# the plain model and trained only its normalization parameters otherwise (0/3 on the training
# checks for a correct file).  The walk therefore also takes each held Keras layer's own
# trainable_variables.


def _variables(model, own=None) -> list:
    """The model's trainable variables: Keras' and tf.Module's own list (`own` when given),
    and every trainable tf.Variable reachable from its attributes and its layers' (Note
    [Variables Keras 3 does not track]), each once."""
    result = list(own if own is not None else getattr(model, "trainable_variables", None) or [])
    have = {id(v) for v in result}
    seen, pending = set(), [model]
    while pending:
        value = pending.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, tf.Variable):
            if value.trainable and id(value) not in have:
                have.add(id(value))
                result.append(value)
        elif isinstance(value, (list, tuple)):
            pending.extend(value)
        elif isinstance(value, dict):
            pending.extend(value.values())
        elif value is model or isinstance(value, (tf.Module, tf.keras.layers.Layer)):
            if isinstance(value, tf.keras.layers.Layer) and value is not model:
                # a Keras 3 layer's own variables are no tf.Variable (Note [Keras layers in a tf.Module])
                for variable in value.trainable_variables:
                    if id(variable) not in have:
                        have.add(id(variable))
                        result.append(variable)
            try:
                pending.extend(vars(value).values())
            except TypeError:
                pass
    return result


# Note [The submission's train under Keras 3]
# Note [Variables Keras 3 does not track] holds for the submission's own `train` as well: it
# takes `tape.gradient(loss, model.trainable_variables)` as the lab's TensorFlow 2 (Keras 2)
# gave it, and under Keras 3 a `tf.keras.Model` keeping its kernels, gammas and betas as
# plain `tf.Variable`s hands it an empty or short list.  A correct lab then lost every
# training check with "`train(...)` raised ValueError: not enough values to unpack" (Keras'
# apply_gradients on no variables), or trained only its Keras layers; a tf.Module holding
# Keras layers lost their weights the same way (Note [Keras layers in a tf.Module]).  So
# while the submission's train runs, such a model answers `trainable_variables` and
# `trainable_weights` as Keras 2 did (its own list and what the reference's loop's walk
# adds, a tuple where its own list is one); its class is put back afterwards.  The list is
# made each time it is asked for, since Keras layers make their variables on their first
# call, inside the train; a model whose list holds every variable (the reference's
# tf.Module) gets the same list as before.


def train_student(module: str, name, model, x, y, **options):
    """`module.name(model, x, y, **options)`, the submission's train, with the model's
    variables listed as Keras 2 listed them (Note [The submission's train under Keras 3])."""
    train = _function(module, name)
    own = getattr(type(model), "trainable_variables", None)
    if not isinstance(model, (tf.Module, tf.keras.layers.Layer)) or not isinstance(own, property):
        return train(model, x, y, **options)
    original = type(model)

    def listed(self):
        keras = own.fget(self)  # Keras 3 layers build their variables on the first call: asked each time
        found = _variables(self, keras)
        return type(keras)(found) if isinstance(keras, tuple) else found

    keras2 = type(original.__name__, (original,), {"trainable_variables": property(listed),
                                                   "trainable_weights": property(listed),
                                                   "__module__": original.__module__})
    object.__setattr__(model, "__class__", keras2)
    try:
        return train(model, x, y, **options)
    finally:
        object.__setattr__(model, "__class__", original)


# Note [State left by a trace]
# The loop runs under tf.function, and falls back to eager steps for code that does not trace.
# A forward pass that keeps Python-side state (`self.avg_mean = 0.9 * self.avg_mean + 0.1 * mean`,
# the running averages of a batch norm written on the course's template) leaves graph tensors
# in the model's attributes when it is traced: every later eager call then fails with "... is
# out of scope and cannot be used here", and a batch norm that trains well eagerly, as the
# student ran it, lost its training check.  So an attribute that a traced step left holding a
# graph tensor is put back as it was before that step, and the training goes on eagerly.

class _Traced(Exception):
    """A traced step left graph tensors in the model's attributes."""


def _attributes(model) -> dict:
    try:
        return dict(vars(model))
    except TypeError:
        return {}


def _graph_tensors(model) -> list:
    eager = type(tf.constant(0.0))
    return [name for name, value in _attributes(model).items()
            if isinstance(value, tf.Tensor) and not isinstance(value, eager)
            and not isinstance(value, tf.Variable)]


def _restore(model, before: dict) -> None:
    for name in _graph_tensors(model):
        if name in before:
            setattr(model, name, before[name])


def train_model(model, x, y, steps: int = 200, batch_size: int = 64, learning_rate: float = 1e-2,
                seed: int = 0) -> list:
    """Train `model` in place with the reference's loop (reference/tf_nets/cnn.py `train`):
    minibatches of `batch_size` in a seeded order, forward with training=True, mean softmax
    cross-entropy (on log-probabilities when the model ends in a softmax), GradientTape, Adam.
    It judges nothing: the checks score the trained model's test-mode outputs.  Returns the losses.
    """
    import numpy as np
    forward = _forward(model)
    x = np.asarray(x, np.float32)
    y = np.asarray(y, np.int64)
    first = tf.convert_to_tensor(forward(tf.constant(x[:batch_size]), False))  # builds lazy layers
    rows = first.numpy().astype(np.float64)
    probabilities = bool(np.all(rows >= 0) and np.allclose(rows.sum(axis=1), 1.0, atol=1e-3))
    variables = _variables(model)
    if not variables:
        raise ValueError("the model has no trainable tf.Variables to train")
    optimizer = tf.keras.optimizers.Adam(learning_rate=learning_rate)

    def step(xb, yb):
        with tf.GradientTape() as tape:
            scores = tf.cast(tf.convert_to_tensor(forward(xb, True)), tf.float32)
            if probabilities:
                picked = tf.gather(scores, yb, axis=1, batch_dims=1)
                loss = -tf.reduce_mean(tf.math.log(tf.maximum(picked, 1e-12)))
            else:
                loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=yb, logits=scores))
        gradients = tape.gradient(loss, variables)
        optimizer.apply_gradients([(g, v) for g, v in zip(gradients, variables) if g is not None])
        return loss

    compiled = tf.function(step)
    rng = np.random.default_rng(seed)
    per_epoch = len(x) // batch_size
    losses, done = [], 0
    while done < steps:
        order = rng.permutation(len(x))
        for start in range(0, per_epoch * batch_size, batch_size):
            if done == steps:
                break
            xb, yb = tf.constant(x[order[start:start + batch_size]]), tf.constant(y[order[start:start + batch_size]])
            before = _attributes(model)
            try:
                loss = compiled(xb, yb)
                if compiled is not step and _graph_tensors(model):
                    raise _Traced()
            except Exception:
                if compiled is step:
                    raise
                # code that does not trace (Python-side state): run eagerly, from the state it had
                # before the trace (Note [State left by a trace])
                _restore(model, before)
                compiled = step
                loss = compiled(xb, yb)
            losses.append(float(loss))
            done += 1
    return losses
