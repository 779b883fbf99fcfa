"""Checks for `tensorflow` (the course's TensorFlow notebook): one ConvNet at three levels of abstraction.

Why it exists: every verdict on a student's TensorFlow notebook comes from here.  The
notebook builds the same three-layer ConvNet as barebones ops (`three_layer_convnet`,
`three_layer_convnet_init`), as a Keras subclass (`ThreeLayerConvNet`), both graded from
the notebook's definitions, and with the Sequential API, a `model_init_fn` handed to the
course's `train_part34`, graded by observation (Note [The observed Sequential model]).
Each is compared with the trusted reference (reference/tf_nets/convnets.py) given the
same weights (Note [Same weights]), and the Sequential model is trained briefly on
digits inside the worker by the notebook's own loop (course/grader_tf.py) to a stated
accuracy.  Code the course provides (flatten, two_layer_fc, the two-layer models, the
functional API's demonstration) is called but earns nothing: the untouched course
notebook scores 0.
"""

from __future__ import annotations

import functools
import math
import re

import numpy as np

from grader.checks import kaiming, questions
from grader.checks.compare import as_array, compare_arrays
from grader.checks.spec import Check, CheckFailure, Sample
from grader.checks.student import RemoteObject, Student
from grader.worker.client import StudentError

MODULE = "convnets"   # the student's tf_convnets.py (manifest `files:`)
HELPERS = "helpers"   # course/grader_tf.py, shipped into the package


QUESTIONS = questions.current()  # public or drawn from a secret: Note [Fresh questions]


def _rng(seed: int) -> np.random.Generator:
    """Every sample's generator (Note [Fresh questions] in grader/checks/questions.py)."""
    return QUESTIONS.rng(seed)


def _tf():
    import tensorflow as tf  # on first use: loading the assignment must stay fast
    return tf


def _error(what: str, error: StudentError) -> CheckFailure:
    return CheckFailure(f"{what} raised {error}{keras2_hint(error)}"
                        + (f"\n{error.traceback}" if error.traceback else ""))


# Note [Keras 2 padding lists]
# A real 2019 notebook (TensorFlow 2.0) gave its Conv2D layers explicit padding lists,
# `Conv2D(channel_1, (5, 5), padding=[[0, 0], [2, 2], [2, 2], [0, 0]])`: Keras 2 (TensorFlow
# 2.0 to 2.15) passed such a list through to tf.nn.conv2d, and the notebook's outputs show it
# trained.  Keras 3, which the grader's TensorFlow ships, takes only 'valid' or 'same' and
# raises "`padding` must be either `'valid'` or `'same'`. Received [[0, 0], [2, 2], ...]" when
# the layer is first called, so the subclassed model and the Sequential one fail every check.
# As tf_norms' Note [Keras 2 code] does for Keras 2's private names, the verdict stays what
# running the code gives and the message says where the code came from and what Keras 3
# writes instead (padding='same' pads a 5x5 and a 3x3 kernel by 2 and 1, as these lists do).
# Only Keras 3's own words for a list (or tuple) received are matched: a misspelt string
# ('Same', 'full') is the student's mistake and gets no such hint.
KERAS3_PADDING_LIST = re.compile(r"`padding` must be either `'valid'` or `'same'`\. Received [\[(]")


def keras2_hint(error) -> str:
    """What to add to a failure raised by Keras 2 code (Note [Keras 2 padding lists]); "" if none."""
    if not KERAS3_PADDING_LIST.search(str(error)):
        return ""
    return ("\nthis is Keras 2 code: Keras 2 (TensorFlow 2.0 to 2.15) accepted an explicit padding "
            "list in Conv2D and passed it to tf.nn.conv2d; Keras 3, which the grader runs, takes only "
            "'valid' or 'same' (padding='same' pads a 5x5 kernel by 2 and a 3x3 kernel by 1): an "
            "instructor may want to run it under Keras 2")


def _call(student: Student, name: str, *args, what: str = ""):
    """The student's `name(*args)` with arrays as tensors (course helper call_with_tensors)."""
    student.require(MODULE, name)
    try:
        return student.call(HELPERS, "call_with_tensors", student.modules[MODULE], name, list(args),
                            remember_as=name).value  # Note [A course helper remembered per student function]
    except StudentError as error:
        raise _error(what or f"`{name}`", error) from None


# ===========================================================================
# Barebones
# ===========================================================================

# Note [Same weights]
# ~~~~~~~~~~~~~~~~~~~
# Every variant is judged on the function it computes: the grader draws the six
# weights (conv_w1, conv_b1, conv_w2, conv_b2, fc_w, fc_b), hands them to the
# student's code (as the params list for barebones, by shape through
# course/grader_tf.set_weights_by_shape for Keras models, whose layer order the
# notebook does not fix) and compares the result with the reference on the
# same weights.  Weights are scaled so that scores are O(1): softmax outputs
# that saturate at 0 and 1 would hide mistakes (reference/tf_nets tests' Note
# [Comparing softmax outputs]).  channel_1, channel_2 and num_classes differ,
# so the six shapes differ.  The float32 tolerance applies: references are
# computed in float64 from the same float32 values and rounded to float32.


CHANNEL_1, CHANNEL_2, NUM_CLASSES = 4, 5, 6


def convnet_weights(seed: int, input_shape: tuple[int, int, int]) -> list[np.ndarray]:
    """The six weights, float32, scaled so that scores are O(1); Note [Same weights]."""
    r = _rng(seed)
    height, width, channels = input_shape
    shapes = [(5, 5, channels, CHANNEL_1), (CHANNEL_1,), (3, 3, CHANNEL_1, CHANNEL_2), (CHANNEL_2,),
              (height * width * CHANNEL_2, NUM_CLASSES), (NUM_CLASSES,)]
    weights = []
    for shape in shapes:
        fan_in = math.prod(shape[:-1]) if len(shape) > 1 else 10.0
        weights.append((r.standard_normal(shape) / math.sqrt(fan_in)).astype(np.float32))
    return weights


def convnet_samples() -> list[Sample]:
    r = _rng(51)
    samples = []
    for number, (name, shape) in enumerate([("x (2, 8, 8, 3)", (2, 8, 8, 3)),
                                            ("x (1, 5, 7, 2): one example, odd sizes", (1, 5, 7, 2)),
                                            ("x (3, 6, 6, 1)", (3, 6, 6, 1))]):
        x = r.standard_normal(shape).astype(np.float32)
        samples.append(Sample(name, (x, convnet_weights(60 + number, shape[1:]))))
    return samples


def reference_scores(x: np.ndarray, weights: list[np.ndarray], softmax: bool) -> np.ndarray:
    from reference.tf_nets import convnets
    tf = _tf()
    scores = convnets.three_layer_convnet(tf.constant(x.astype(np.float64)),
                                          [tf.constant(w.astype(np.float64)) for w in weights])
    if softmax:
        scores = tf.nn.softmax(scores, axis=1)
    return scores.numpy().astype(np.float32)


BAREBONES_HINT = ("conv 5x5 (padding 'SAME', i.e. zero-padding 2) + bias - relu - conv 3x3 ('SAME') + bias "
                  "- relu - flatten - affine; raw scores, no softmax")
NO_RELU = "a ReLU is missing"
# Note [A ReLU on the scores]
# A real 2019 notebook ends its barebones network with `scores = tf.nn.relu(h2 @ fc_w +
# fc_b)`: every negative score becomes 0.  The scores check fails it (the samples' scores
# have negative entries), but only as "1 of 12 entries differ ... got 0", with nothing
# pointing at the last line, so the usual mistakes include it: the last layer's output
# is the scores themselves, raw (before the Keras models' softmax).
RELU_ON_SCORES = "a ReLU on the scores: the last (fully-connected) layer's output is not passed through a ReLU"
VALID_PADDING = "no zero-padding ('VALID'): use padding='SAME' (zero-padding 2 for 5x5, 1 for 3x3)"


def _convnet_known(x: np.ndarray, weights: list[np.ndarray], softmax: bool) -> list[tuple[np.ndarray, str]]:
    """What the usual mistakes compute on this sample."""
    tf = _tf()
    w1, b1, w2, b2, fw, fb = (tf.constant(w.astype(np.float64)) for w in weights)
    x64 = tf.constant(x.astype(np.float64))
    out = []
    for relu1, relu2, hint in ((False, True, NO_RELU), (True, False, NO_RELU)):
        h = tf.nn.conv2d(x64, w1, 1, "SAME") + b1
        h = tf.nn.relu(h) if relu1 else h
        h = tf.nn.conv2d(h, w2, 1, "SAME") + b2
        h = tf.nn.relu(h) if relu2 else h
        scores = tf.matmul(tf.reshape(h, (len(x), -1)), fw) + fb
        out.append(((tf.nn.softmax(scores) if softmax else scores).numpy(), hint))
    scores = tf.nn.relu(tf.constant(reference_scores(x, weights, softmax=False).astype(np.float64)))
    out.append(((tf.nn.softmax(scores) if softmax else scores).numpy(),  # Note [A ReLU on the scores]
                RELU_ON_SCORES))
    return out


def _signatures(known, expected):
    from grader.checks.compare import Signature, tolerance_for
    tol = tolerance_for(np.zeros(0, np.float32))
    return [Signature(lambda a, e, v=v: a.shape == v.shape and bool(
        np.allclose(a.astype(np.float64), v, rtol=tol.rtol, atol=tol.atol)), hint)
            for v, hint in known if not np.allclose(v, expected, rtol=tol.rtol, atol=tol.atol)]


def barebones_check() -> Check:
    def run(student: Student) -> None:
        __tracebackhide__ = True
        for sample in convnet_samples():
            x, weights = sample.args
            value = _call(student, "three_layer_convnet", x, weights,
                          what=f"`three_layer_convnet` on sample '{sample.name}'")
            expected = reference_scores(x, weights, softmax=False)
            try:
                compare_arrays("scores", value, expected, hint=BAREBONES_HINT,
                               inputs={"x": x, "params": tuple(weights)},
                               signatures=_signatures(_convnet_known(x, weights, False), expected))
            except CheckFailure as failure:
                message = failure.message
                shape = failure.details.get("shape")
                if shape is not None and shape[-1] == NUM_CLASSES:
                    message += f"\nlooks like: {VALID_PADDING}"
                raise CheckFailure(f"[sample {sample.name}] {message}", hint=BAREBONES_HINT,
                                   details=failure.details) from None

    return Check("three_layer_convnet/scores", "three_layer_convnet",
                 "three_layer_convnet: scores match the reference given the same params", run, BAREBONES_HINT)


INIT_HINT = ("conv_w1 (5, 5, 3, 32), conv_w2 (3, 3, 32, 16), fc_w (32 * 32 * 16, C), Kaiming normal "
             "(create_matrix_with_kaiming_normal: std sqrt(2 / fan_in), fan_in = product of all axes but "
             "the last); biases zero")
INIT_NAMES = ["conv_w1", "conv_b1", "conv_w2", "conv_b2", "fc_w", "fc_b"]


def init_shapes(classes: int) -> list[tuple[int, ...]]:
    """The notebook's parameter shapes: 32 and 16 filters on 32 x 32 x 3 images, `classes` scores."""
    return [(5, 5, 3, 32), (32,), (3, 3, 32, 16), (16,), (32 * 32 * 16, classes), (classes,)]


# Note [Classes from the sample]
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
# The notebook's years differ in the number of classes: ECE's CINIC-10 subset has 6,
# cs231n's CIFAR-10 10.  three_layer_convnet_init takes no arguments, so the number of
# classes is read from what it returns: fc_b's length (fc_w's last axis must agree), or
# fc_w's last axis where fc_b is not a vector, so that a (1, C) fc_b is named as the shape
# that is wrong rather than every other weight.
# Every other shape is fixed by the notebook (32 and 16 filters, 32 x 32 x 3 images).


def _init_params(student: Student) -> dict[str, np.ndarray]:
    value = _call(student, "three_layer_convnet_init", what="`three_layer_convnet_init()`")
    if not isinstance(value, (list, tuple)) or len(value) != 6:
        raise CheckFailure(f"three_layer_convnet_init() returned {type(value).__name__}"
                           f"{f' of {len(value)}' if isinstance(value, (list, tuple)) else ''}, expected "
                           f"a list of 6 (conv_w1, conv_b1, conv_w2, conv_b2, fc_w, fc_b)", hint=INIT_HINT)
    arrays = {name: as_array(name, item, np.zeros(1, np.float32), hint=INIT_HINT)
              for name, item in zip(INIT_NAMES, value)}
    fc_b, fc_w = arrays["fc_b"], arrays["fc_w"]
    if fc_b.ndim == 1 and fc_b.shape[0] >= 2:
        classes, source = int(fc_b.shape[0]), "fc_b's length"
    elif fc_w.ndim == 2 and fc_w.shape[1] >= 2:  # fc_b is not one bias per class
        classes, source = int(fc_w.shape[1]), "fc_w's last axis"
    else:
        classes, source = 6, "neither fc_b nor fc_w says, so ECE's 6"
    for (name, array), shape in zip(arrays.items(), init_shapes(classes)):
        if array.shape != shape:  # Note [Classes from the sample]
            raise CheckFailure(f"{name}: shape {array.shape}, expected {shape} ({classes} classes, "
                               f"from {source}; the other sizes are the notebook's: 32 and 16 "
                               f"filters on 32 x 32 x 3 images){_drawn_bias(name, array)}", hint=INIT_HINT)
    return arrays


# Note [A bias drawn like a weight]
# A real cs231n TensorFlow notebook (2019-2021 edition) drew every parameter with
# create_matrix_with_kaiming_normal, the biases as (1, 32), (1, 16), (1, 10): told only that
# conv_b1's shape is (1, 32), the student would reshape it and fail again on the values.
# When a bias's shape is wrong and its entries are not zero either, the failure says both.

def _drawn_bias(name: str, array: np.ndarray) -> str:
    """The second mistake of a misshapen bias (Note [A bias drawn like a weight]); "" if none."""
    if "_b" not in name or not np.any(np.asarray(array) != 0):
        return ""
    return (f"; its {np.count_nonzero(array)} entries are not zero either: the notebook starts biases "
            f"at zero (tf.zeros), they are not drawn like the weights")


def _tf_fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """(fan_in, fan_out) of a TensorFlow weight: (KH, KW, C_in, C_out) or (D_in, D_out)."""
    receptive = math.prod(shape[:-2])
    return receptive * shape[-2], receptive * shape[-1]


def _init_judged(student: Student) -> dict[str, kaiming.Judged]:
    arrays = _init_params(student)
    for name in ("conv_b1", "conv_b2", "fc_b"):
        compare_arrays(name, arrays[name], np.zeros(arrays[name].shape, np.float32), hint=INIT_HINT)
    judged = {}
    for name in ("conv_w1", "conv_w2", "fc_w"):
        fan_in, fan_out = _tf_fans(arrays[name].shape)
        judged[name] = kaiming.judge(f"{name} {arrays[name].shape}", arrays[name], fan_in, fan_out,
                                     mistakes=_init_mistakes(arrays[name].shape), hint=INIT_HINT)
    return judged


def _init_mistakes(shape: tuple[int, ...]) -> dict[str, float]:
    fan_in, _ = _tf_fans(shape)
    mistakes = {"the weights are not scaled: std 1 instead of sqrt(2 / fan_in)": 1.0,
                "std 2 / fan_in: the variance was used as the standard deviation": 2.0 / fan_in}
    if len(shape) == 4:
        mistakes["fan_in = C_in only; a conv weight's fan-in is KH * KW * C_in"] = math.sqrt(2.0 / shape[2])
    return mistakes


def init_checks() -> list[Check]:
    """three_layer_convnet_init/init (any Kaiming variant) and /init_fan_in (the notebook's);
    Note [Kaiming variants] in grader/checks/kaiming.py."""

    def any_variant(student: Student) -> dict:
        __tracebackhide__ = True
        judged = _init_judged(student)
        notes = [f"{name}: {j.message}" for name, j in judged.items() if not j.variant.full_marks]
        return {**{name: j.details for name, j in judged.items()}, **({"note": "; ".join(notes)} if notes else {})}

    def fan_in(student: Student) -> dict:
        __tracebackhide__ = True
        return kaiming.require_notebook_variant(_init_judged(student), hint=INIT_HINT)

    function = "three_layer_convnet_init"
    return [Check(f"{function}/init", function,
                  "three_layer_convnet_init: the notebook's shapes, zero biases, Kaiming weights (fan_in or "
                  "fan_out, gain sqrt(2) or 1)", any_variant, INIT_HINT),
            Check(f"{function}/init_fan_in", function,
                  "three_layer_convnet_init: the notebook's Kaiming initialisation, fan_in with gain sqrt(2)",
                  fan_in, INIT_HINT)]


# ===========================================================================
# Keras models
# ===========================================================================

KERAS_HINT = ("the same ConvNet as the barebones one (5x5 'same' conv, relu, 3x3 'same' conv, relu, "
              "flatten, dense), ending in a softmax as in the notebook")
BUILDERS = {
    "ThreeLayerConvNet": ("ThreeLayerConvNet(channel_1, channel_2, num_classes)",
                          lambda shape: ((CHANNEL_1, CHANNEL_2, NUM_CLASSES), {})),
}


def build_model(student: Student, builder: str, input_shape: tuple[int, int, int]) -> RemoteObject:
    call, arguments = BUILDERS[builder]
    args, kwargs = arguments(input_shape)
    try:
        return student.new(MODULE, builder, *args, **kwargs)
    except StudentError as error:
        raise _error(f"`{call}`", error) from None


def model_scores(student: Student, model: RemoteObject, x: np.ndarray, what: str) -> object:
    try:
        tensor = student.worker.call("tensorflow", "constant", x).ref
        return model.call(None, tensor, training=False).value
    except StudentError as error:
        raise _error(f"model(x) ({what})", error) from None


# Note [Constructor arguments not used]
# A real 2020-era notebook's ThreeLayerConvNet built Conv2D(32, ...), Conv2D(16, ...) and
# Dense(10, ...) whatever channel_1, channel_2 and num_classes it was given: the notebook
# builds it with those very numbers, so nothing there shows it.  The check builds it with
# other sizes (CHANNEL_1, CHANNEL_2, NUM_CLASSES), and when the layers' output sizes are
# not the ones asked for, the failure says so beside the shapes, naming the arguments whose
# layer has another size where only some are (a real 2019-2021 notebook used channel_1 and
# channel_2 but wrote Dense(units=10): "(num_classes)").

def _sizes_not_asked(shapes: list, asked: tuple[int, ...] | None) -> str:
    """The known mistake of Note [Constructor arguments not used], or ""."""
    if asked is None:
        return ""
    outputs = [int(s[-1]) for s in shapes if isinstance(s, (list, tuple)) and len(s) in (2, 4)]
    if len(outputs) == len(asked) and sorted(outputs) != sorted(asked):
        unused = [name for name, got, want in zip(("channel_1", "channel_2", "num_classes"), outputs, asked)
                  if got != want] if len(asked) == 3 else []
        which = f" ({', '.join(unused)})" if unused and len(unused) < 3 else ""
        return (f"; looks like: the constructor's arguments are not used{which}: its layers have "
                f"{', '.join(map(str, outputs))} outputs where ThreeLayerConvNet"
                f"({', '.join(map(str, asked))}) was asked for (build each layer from channel_1, "
                f"channel_2 and num_classes)")
    return ""


# Note [A convolution not padded]
# Keras's Conv2D pads nothing unless told padding='same'.  A real 2019 notebook built both
# ZeroPadding2D layers of its subclassed model but called only the first in call(): the
# second 3x3 convolution shrank each side by 2 and the Dense layer, built on first call,
# took (H - 2) * (W - 2) * channel_2 inputs.  The check failed it with the weight shapes
# alone; when the Dense input is what one or both unpadded convolutions leave, it says so.
def _padding_missing(shapes: list, weights: list[np.ndarray], x_shape: tuple) -> str:
    height, width = x_shape[1:3]
    channel_2 = weights[2].shape[-1]
    dense = [list(s) for s in shapes if isinstance(s, (list, tuple)) and len(s) == 2]
    others = sorted(list(s) for s in shapes if not (isinstance(s, (list, tuple)) and len(s) == 2))
    if len(dense) != 1 or others != sorted(list(w.shape) for w in weights if w.ndim != 2):
        return ""
    unpadded = {(height - 2) * (width - 2) * channel_2: "the 3x3 convolution",
                (height - 4) * (width - 4) * channel_2: "the 5x5 convolution",
                (height - 6) * (width - 6) * channel_2: "either convolution"}
    which = unpadded.get(dense[0][0])
    if which is None or dense[0][1] != weights[4].shape[1]:
        return ""
    return (f"; looks like: {which} is not zero-padded: the Dense layer takes {dense[0][0]} inputs where "
            f"{height} x {width} x {channel_2} = {height * width * channel_2} were expected (Conv2D pads "
            f"nothing unless padding='same'; a ZeroPadding2D layer counts only if call() uses it)")


def judge_probabilities(student: Student, model: RemoteObject, x: np.ndarray, weights: list[np.ndarray],
                        where: str, asked: tuple[int, ...] | None = None) -> None:
    """`model` given `weights` (by shape) computes the reference's softmax outputs on `x`;
    `asked`: the sizes its constructor was given (Note [Constructor arguments not used])."""
    try:
        shapes = student.call(HELPERS, "set_weights_by_shape", model.ref, weights).value
    except StudentError as error:
        raise _error("setting the model's weights", error) from None
    wanted = sorted(list(w.shape) for w in weights)
    if sorted(shapes) != wanted:
        raise CheckFailure(f"[{where}] the model's weights have shapes {shapes}; the three-layer "
                           f"ConvNet's are {[list(w.shape) for w in weights]}"
                           + (_sizes_not_asked(shapes, asked) or _padding_missing(shapes, weights, x.shape)),
                           hint=KERAS_HINT)
    value = model_scores(student, model, x, where)
    expected = reference_scores(x, weights, softmax=True)
    try:
        compare_arrays("probabilities", value, expected, hint=KERAS_HINT, inputs={"x": x},
                       signatures=_signatures(
                           [*_convnet_known(x, weights, True),
                            (reference_scores(x, weights, softmax=False),
                             "the scores are not passed through a softmax, as the notebook's models do")],
                           expected))
    except CheckFailure as failure:
        raise CheckFailure(f"[{where}] {failure.message}", hint=KERAS_HINT, details=failure.details) from None


def keras_check(builder: str) -> Check:
    def run(student: Student) -> dict:
        __tracebackhide__ = True
        for sample in convnet_samples():
            x, weights = sample.args
            model = build_model(student, builder, x.shape[1:])
            model_scores(student, model, x, "building the model")  # builds a subclassed model's weights
            judge_probabilities(student, model, x, weights, f"sample {sample.name}",
                                (CHANNEL_1, CHANNEL_2, NUM_CLASSES))
        return {}

    return Check(f"{builder}/probabilities", builder,
                 f"{BUILDERS[builder][0].split('(')[0]}: softmax outputs match the reference given the same weights",
                 run, KERAS_HINT)


# ===========================================================================
# The notebook's Sequential model (Part IV), observed
# ===========================================================================

# Note [The observed Sequential model]
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
# The notebook's Sequential three-layer ConvNet is a `model_init_fn` defined in the
# cell that calls the course's `train_part34(model_init_fn, optimizer_init_fn)`;
# every part of the notebook redefines `model_init_fn`, so only the call says which
# function built which model.  The notebook is executed once (Note [Observation]) with the
# course's train_part34 replaced by observe/tf_observe.py, which records both
# functions and facts about one model the function builds.  The graded call is the
# first whose model is a tf.keras.Sequential holding a Conv2D (the course's
# two-layer Sequential before it holds none) outside the open-ended part, whose
# model may be one too (the cell's markdown headings tell; PyTorch's Note [The
# observed Sequential model] says why).  Its
# sizes are the student's: read from the weight shapes, (5, 5, C, C1), (3, 3, C1, C2),
# (S * S * C2, K) with the notebook's 32 x 32 images, K 6 (ECE) or 10 (cs231n).
# - probabilities: a model built by the recorded model_init_fn gets seeded weights
#   (by shape, Note [Same weights]) and must compute the reference's softmax outputs
#   on 32 x 32 images.
# - trains: a fresh model from the recorded model_init_fn, with its own initial
#   weights, is trained by the course's loop (Note [Training the Sequential model]).
SEQUENTIAL = "Sequential"
IMAGE = (32, 32, 3)


def recorded_sequential(student: Student, any_kernels: bool = False):
    """(record, where, (C1, C2, K)); Note [The observed Sequential model].  With `any_kernels`,
    two Conv2D layers of any kernel size and one Dense are taken too (Note [Trained whatever
    its kernels])."""
    observation = student.observation()
    records = observation.require("train_part34", "a model_init_fn passed to train_part34")
    candidates = [r for r in records if r.facts.get("is_sequential") and "Conv2D" in r.facts.get("layers", [])
                  and not r.in_open_ended_part]
    # Note [Which Sequential is judged]
    # A real ECE562 hand-in (2025) trained a deep Sequential ConvNet of its own in Part III's
    # "Train a Two-Layer Network" cell, before Part IV's three-layer Sequential; the first
    # Sequential with a Conv2D was taken, and both Sequential checks judged that model ("has
    # the layers ['Permute', 'RandomFlip', ...]").  A Sequential with the three-layer ConvNet's
    # shape (a 5x5 and a 3x3 Conv2D, one Dense) is taken first; the first Sequential only when
    # none has that shape, so a wrong Part IV model is still the one named.
    # any_kernels: Note [Trained whatever its kernels]
    fallback = next((r for r in candidates
                     if any_kernels and _two_convs_one_dense(r.facts.get("shapes", []))),
                    candidates[0] if candidates else None)
    chosen = next((r for r in candidates if _three_layer_shapes(r.facts.get("shapes", []))), fallback)
    if chosen is None:
        seen = "; ".join(f"cell {r.cell}: {r.facts.get('class')} {r.facts.get('layers', [])}"
                         if r.facts.get("class") else f"cell {r.cell}: model_init_fn() raised "
                         f"{r.facts.get('model_error')}" for r in records)
        # Note [Keras 2 padding lists]: a Sequential given input_shape is built, and fails, in model_init_fn
        keras2 = next((keras2_hint(r.facts["model_error"]) for r in records
                       if keras2_hint(r.facts.get("model_error", ""))), "")
        raise CheckFailure("no model_init_fn passed to train_part34 builds a tf.keras.Sequential with a "
                           f"Conv2D layer (Part IV's three-layer ConvNet); passed: {seen}{keras2}"
                           + "".join(f"\n{p}" for p in observation.problems()),
                           hint="def model_init_fn(): return tf.keras.Sequential([...]); "
                                "train_part34(model_init_fn, optimizer_init_fn)")
    where = f"the Sequential model of the model_init_fn passed to train_part34 in cell {chosen.cell}"
    shapes = [tuple(s) for s in chosen.facts.get("shapes", [])]
    kernels = [s for s in shapes if len(s) == 4]
    dense = [s for s in shapes if len(s) == 2]
    if not (_three_layer_shapes(shapes) or any_kernels and _two_convs_one_dense(shapes)):
        # Note [A Sequential that cannot be built]
        # A model whose first call fails has no weights: "with weights []" alone hid why (a real
        # 2019 notebook's Conv2D padding lists, Note [Keras 2 padding lists]), so what building
        # it raised (observe/tf_observe.py's build_error) is said instead.
        error = chosen.facts.get("build_error") if not shapes else None
        if error:
            raise CheckFailure(f"{where}, with the layers {chosen.facts.get('layers')}, cannot be built: "
                               f"calling it on a 32x32x3 image raised {error}{keras2_hint(error)}",
                               hint=KERAS_HINT)
        raise CheckFailure(f"{where} has the layers {chosen.facts.get('layers')} with weights {shapes}; "
                           f"the notebook's three-layer ConvNet has a 5x5 Conv2D, a 3x3 Conv2D and one "
                           f"Dense layer{_kernels_named(kernels, dense)}", hint=KERAS_HINT)
    return chosen, where, (kernels[0][3], kernels[1][3], dense[0][1])


def _three_layer_shapes(shapes) -> bool:
    """Weights of the three-layer ConvNet's shape: a 5x5 and a 3x3 Conv2D, one Dense."""
    shapes = [tuple(s) for s in shapes]
    kernels = [s for s in shapes if len(s) == 4]
    dense = [s for s in shapes if len(s) == 2]
    return len(kernels) == 2 and len(dense) == 1 and kernels[0][:2] == (5, 5) and kernels[1][:2] == (3, 3)


def _kernels_named(kernels: list, dense: list) -> str:
    """Which Conv2D's kernel differs, where the layout is the notebook's (Note [Trained whatever its
    kernels]): the shapes alone left the reader to find it."""
    if len(kernels) != 2 or len(dense) != 1:
        return ""
    wrong = [f"the {which} Conv2D's kernel is {k[0]}x{k[1]} where the notebook's is {want}"
             for which, k, want in (("first", kernels[0], "5x5"), ("second", kernels[1], "3x3"))
             if f"{k[0]}x{k[1]}" != want]
    return f"; looks like: {' and '.join(wrong)}" if wrong else ""


def _two_convs_one_dense(shapes) -> bool:
    """Two Conv2D kernels of any size and one Dense: Note [Trained whatever its kernels]."""
    shapes = [tuple(s) for s in shapes]
    return sum(len(s) == 4 for s in shapes) == 2 and sum(len(s) == 2 for s in shapes) == 1


def _build_recorded(student: Student, record, where: str, seed: int | None = None) -> RemoteObject:
    """A fresh model from the recorded model_init_fn; with `seed`, every generator seeded first
    (Note [Seeded model_init_fn])."""
    try:
        ref = student.call(HELPERS, "build", record.ref("model_init_fn"), seed).ref
    except StudentError as error:
        raise _error(f"model_init_fn() ({where})", error) from None
    return RemoteObject(student, ref, "tf.keras.Sequential")


def sequential_weights(seed: int, channel_1: int, channel_2: int, classes: int) -> list[np.ndarray]:
    """Seeded weights of the student's sizes on the notebook's images; Note [Same weights]."""
    r = _rng(seed)
    height, width, channels = IMAGE
    shapes = [(5, 5, channels, channel_1), (channel_1,), (3, 3, channel_1, channel_2), (channel_2,),
              (height * width * channel_2, classes), (classes,)]
    return [(r.standard_normal(shape) / math.sqrt(math.prod(shape[:-1]) if len(shape) > 1 else 10.0))
            .astype(np.float32) for shape in shapes]


def check_sequential_probabilities(student: Student) -> dict:
    __tracebackhide__ = True
    record, where, (c1, c2, k) = recorded_sequential(student)
    model = _build_recorded(student, record, where)
    x = _rng(70).standard_normal((2, *IMAGE)).astype(np.float32)
    model_scores(student, model, x, "building the model")
    judge_probabilities(student, model, x, sequential_weights(71, c1, c2, k), where)
    return {"sizes": [c1, c2, k], "cell": record.cell}


# ===========================================================================
# Training (the Sequential model, by the notebook's loop)
# ===========================================================================

# Note [Training the Sequential model]
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
# The notebook trains its Keras models with its own loop (train_part34), so the loop
# is course code (course/grader_tf.train: Adam 1e-3, batch 64, TRAIN_STEPS steps, one
# tf.function trace) and only the model is the student's: a fresh model built by the
# recorded model_init_fn (Note [The observed Sequential model]), with its own initial
# weights, at its own sizes on the notebook's 32 x 32 x 3 images, trained on
# scikit-learn's bundled 8x8 digits (reference.datasets, no download) fitted to 32 x 32
# by repeating pixels, the image repeated over the 3 channels, only the labels below
# the model's K classes kept.  Accuracy is computed here from the model's test-set
# outputs, on test images perturbed afresh in every run (Note [Held-out test images]
# in grader/checks/held_out.py; the solution notebook with noise seeds 1, 2, 3: 0.982,
# 0.986, 0.982, so the threshold stays).  Measured (1 CPU thread, the reference's
# Sequential, 32 and 16 filters):
# see MEASURED below; the threshold sits under the worst.  A model without its ReLUs
# or its softmax fails the probabilities check, not necessarily this one: it checks
# that the student's model, as its model_init_fn builds it, can be trained.

# Note [Trained whatever its kernels]
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
# A real cs231n 2019-2021 notebook built Part IV's Sequential with a 5x5 second Conv2D of 32
# filters where the notebook asks for a 3x3 one of 16.  probabilities rightly failed (2
# points), but trains failed as well, on the same shape message, without training the
# model: one architecture slip cost all 3 points, where this check's own rule (above) is
# that it asks only whether the model, as its model_init_fn builds it, learns, and
# PyTorch's Sequential/accuracy trains any Sequential of two Conv2d and one Linear layers
# (Note [The observed Sequential model] in assignments/pytorch/checks.py).  So trains takes
# two Conv2D layers of any kernel size and one Dense layer, and trains them; the kernel
# sizes stay probabilities' to judge.  A model of another layout (three Conv2D, two Dense)
# is still not the notebook's three-layer ConvNet and fails both checks, and one with these
# kernels that does not learn fails on its accuracy.  probabilities' message names the Conv2D
# whose kernel differs (_kernels_named); it listed only the weight shapes.

# Note [Seeded model_init_fn]
# The model this check trains is built in the worker by the recorded model_init_fn, from
# its own initial weights, long after the notebook ran: Keras 3 draws each initializer's
# default seed from Python's `random`, whose state then depended on everything the worker
# had done before (which other checks built models first, whether `-k` picked this check
# alone, whether a crash had restarted the worker and rerun the notebook), so the same
# notebook could get different accuracies in different gradings (the grader's rule, Note
# [Deterministic observation] in grader/worker/observe.py).  course/grader_tf.build seeds
# Python's, numpy's, TensorFlow's and Keras' generators (keras.utils.set_random_seed) with
# TRAIN_SEED right before calling model_init_fn, and the minibatches follow the same seed.
TRAIN_SEED = 0
TRAIN_STEPS = 100
# Measured over 30 initial draws (seeds 0-29, Note [Seeded model_init_fn]) with test-noise seeds
# 1000-1029, one CPU thread, the grader's own grader_tf.train (`nice python
# benchmarks/training_tails.py --seeds 30 --only tensorflow`): the course solution's model
# (VarianceScaling(2.0), 6 classes) min 0.958, 1st percentile 0.962, median 0.981; Keras' default
# initializers with 10 classes min 0.944, 1st percentile 0.945, median 0.955.  The threshold
# sits 9 points under the worst correct run, so one run decides.
MEASURED = ("the course's Sequential reaches 0.944 to 0.986 after 100 steps over 30 initial draws: 6 "
            "and 10 classes, VarianceScaling(2.0) or Keras' default initializers; 8-12 s on one CPU "
            "thread of a loaded 2-core machine")
MIN_ACCURACY = 0.85
TRAIN_TIMEOUT_S = 180.0


def digits(classes: int):
    """Digits as the notebook's images; Note [Training the Sequential model]."""
    from grader.checks import held_out
    return _digits(classes, held_out.run_seed())


@functools.cache
def _digits(classes: int, noise_seed: int):
    from grader.checks import held_out, training_data
    from reference.datasets import load_digits_dataset
    data = load_digits_dataset(layout="NCHW")
    out = []
    # the test images as no file in the sandbox holds them (grader/checks/held_out.py
    # Note [Held-out test images]); the labels stay in the judge
    for x, y in ((data.X_train, data.y_train), (held_out.perturbed(data.X_test, noise_seed), data.y_test)):
        keep = y < classes
        x = training_data.fit_images(np.asarray(x[keep], np.float32), IMAGE[0])
        out += [np.ascontiguousarray(np.repeat(x, IMAGE[2], axis=1).transpose(0, 2, 3, 1)), y[keep]]
    return tuple(out)


def _loss_ends(losses) -> dict:
    """The first and last training loss the worker reported (shown, never judged)."""
    try:
        values = np.asarray(losses, dtype=float).ravel()
    except (TypeError, ValueError):
        return {}
    return {"first_loss": float(values[0]), "last_loss": float(values[-1])} if values.size else {}


def check_sequential_trains(student: Student) -> dict:
    __tracebackhide__ = True
    hint = "a model that matches the reference on fixed weights should learn digits; check its initializers"
    # Note [Trained whatever its kernels]
    record, where, (c1, c2, k) = recorded_sequential(student, any_kernels=True)
    x_train, y_train, x_test, y_test = digits(k)
    model = _build_recorded(student, record, where, seed=TRAIN_SEED)
    try:
        losses = student.call(HELPERS, "train", model.ref, x_train, y_train, steps=TRAIN_STEPS,
                              seed=TRAIN_SEED, timeout=TRAIN_TIMEOUT_S).value
    except StudentError as error:
        raise _error(f"training {where} with the notebook's loop", error) from None
    value = model_scores(student, model, x_test, "test images")
    probabilities = as_array("probabilities", value, np.zeros((len(x_test), k), np.float32))
    if probabilities.shape != (len(x_test), k):
        raise CheckFailure(f"{where} returned shape {probabilities.shape} for {len(x_test)} images, "
                           f"expected ({len(x_test)}, {k})", hint=hint)
    accuracy = float(np.mean(np.argmax(probabilities, axis=1) == y_test))
    details = {"test_accuracy": round(accuracy, 4), "threshold": MIN_ACCURACY, "steps": TRAIN_STEPS,
               "classes": k, "test_images": len(y_test), **_loss_ends(losses)}
    if accuracy < MIN_ACCURACY:
        raise CheckFailure(f"{where}, built by its model_init_fn and trained {TRAIN_STEPS} steps on "
                           f"{len(y_train)} digits (labels below {k}), reaches {accuracy:.3f} test accuracy; "
                           f"at least {MIN_ACCURACY:.2f} is expected ({MEASURED})", hint=hint,
                           details=details)
    return details


CHECKS: list[Check] = [
    barebones_check(),
    *init_checks(),
    *[keras_check(builder) for builder in BUILDERS],
    Check(f"{SEQUENTIAL}/probabilities", SEQUENTIAL,
          "Sequential: the model of the model_init_fn passed to train_part34 gives the reference's softmax "
          "outputs with the same weights", check_sequential_probabilities, KERAS_HINT),
    Check(f"{SEQUENTIAL}/trains", SEQUENTIAL,
          f"Sequential: a model built by its model_init_fn trains on digits to {MIN_ACCURACY:.0%} test "
          f"accuracy", check_sequential_trains, timeout_s=TRAIN_TIMEOUT_S),
]
