"""Checks for `tensorflow` (the cs231n TensorFlow notebook): one ConvNet at three levels of abstraction.

Why it exists: every verdict on a student's `tf_convnets.py` comes from here.
The notebook builds the same three-layer ConvNet as barebones ops
(`flatten`, `three_layer_convnet`, `three_layer_convnet_init`), as a Keras
subclass (`ThreeLayerConvNet`) and with the Sequential and functional APIs;
each is compared with the trusted reference (reference/tf_nets/convnets.py)
given the same weights (Note [Same weights]), on small seeded float32 inputs
with an edge case (one example, odd spatial size), and the Sequential model is
trained briefly on digits inside the worker by the notebook's own loop
(course/grader_tf.py) to a stated accuracy.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from grader.checks.compare import as_array, compare_arrays
from grader.checks.spec import Check, CheckFailure, Sample
from grader.checks.student import RemoteObject, Student
from grader.worker.client import StudentError

MODULE = "convnets"   # the student's tf_convnets.py (manifest `files:`)
HELPERS = "helpers"   # course/grader_tf.py, shipped into the package


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _tf():
    import tensorflow as tf  # on first use: loading the assignment must stay fast
    return tf


def _error(what: str, error: StudentError) -> CheckFailure:
    return CheckFailure(f"{what} raised {error}" + (f"\n{error.traceback}" if error.traceback else ""))


def _call(student: Student, name: str, *args, what: str = ""):
    """The student's `name(*args)` with arrays as tensors (course helper call_with_tensors)."""
    student.require(MODULE, name)
    try:
        return student.call(HELPERS, "call_with_tensors", student.modules[MODULE], name, list(args)).value
    except StudentError as error:
        raise _error(what or f"`{name}`", error) from None


# ===========================================================================
# Barebones
# ===========================================================================

FLATTEN_HINT = "flatten keeps the first axis and collapses the rest in row-major order: tf.reshape(x, (N, -1))"


def flatten_samples() -> list[Sample]:
    r = _rng(50)
    return [Sample("x (2, 3, 4, 5)", (r.standard_normal((2, 3, 4, 5)).astype(np.float32),)),
            Sample("x (1, 7): one example, already flat", (r.standard_normal((1, 7)).astype(np.float32),)),
            Sample("x (3, 2, 5, 1)", (r.standard_normal((3, 2, 5, 1)).astype(np.float32),))]


def flatten_check() -> Check:
    def run(student: Student) -> None:
        __tracebackhide__ = True
        for sample in flatten_samples():
            x = sample.args[0]
            value = _call(student, "flatten", x)
            try:
                compare_arrays("flatten(x)", value, x.reshape(len(x), -1), inputs={"x": x}, hint=FLATTEN_HINT)
            except CheckFailure as failure:
                raise CheckFailure(f"[sample {sample.name}] {failure.message}", hint=FLATTEN_HINT,
                                   details=failure.details) from None

    return Check("flatten/out", "flatten", "flatten: (N, D1, ..., DM) -> (N, D1 * ... * DM)", run, FLATTEN_HINT)


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


INIT_HINT = ("conv_w1 (5, 5, 3, 32), conv_w2 (3, 3, 32, 16), fc_w (32 * 32 * 16, 6), Kaiming normal "
             "(std sqrt(2 / fan_in), fan_in = product of all axes but the last); biases zero")
INIT_SHAPES = [(5, 5, 3, 32), (32,), (3, 3, 32, 16), (16,), (32 * 32 * 16, 6), (6,)]
INIT_NAMES = ["conv_w1", "conv_b1", "conv_w2", "conv_b2", "fc_w", "fc_b"]
# The sample std of n >= 2400 normal draws is within 3% of the true one with
# probability > 1 - 1e-6 (standard error ~ 1 / sqrt(2n) = 1.4%); 10% catches
# sqrt(1 / fan_in) (29% low) and a fan-out (or fan-in of C_in only) scale.
INIT_STD_RTOL = 0.10


def init_check() -> Check:
    def run(student: Student) -> dict:
        __tracebackhide__ = True
        value = _call(student, "three_layer_convnet_init", what="`three_layer_convnet_init()`")
        if not isinstance(value, (list, tuple)) or len(value) != 6:
            raise CheckFailure(f"three_layer_convnet_init() returned {type(value).__name__}"
                               f"{f' of {len(value)}' if isinstance(value, (list, tuple)) else ''}, expected "
                               f"a list of 6 (conv_w1, conv_b1, conv_w2, conv_b2, fc_w, fc_b)", hint=INIT_HINT)
        details = {}
        for name, shape, item in zip(INIT_NAMES, INIT_SHAPES, value):
            array = as_array(name, item, np.zeros(shape, np.float32), hint=INIT_HINT)
            if array.shape != shape:
                raise CheckFailure(f"{name}: shape {array.shape}, expected {shape}", hint=INIT_HINT)
            if len(shape) == 1:
                compare_arrays(name, array, np.zeros(shape, np.float32), hint=INIT_HINT)
                continue
            want = math.sqrt(2.0 / math.prod(shape[:-1]))
            std, mean = float(np.std(array)), float(np.mean(array))
            details[f"{name}_std"] = std
            if abs(std - want) > INIT_STD_RTOL * want or abs(mean) > 0.1 * want:
                ratio = std / want
                known = ""
                if abs(ratio - math.sqrt(0.5)) < INIT_STD_RTOL * math.sqrt(0.5):
                    known = "\nlooks like: std sqrt(1 / fan_in), 0.707 of Kaiming's: the 2 in sqrt(2 / fan_in) is missing"
                raise CheckFailure(f"{name}: mean {mean:.3g}, std {std:.4g}; Kaiming normal for fan_in "
                                   f"{math.prod(shape[:-1])} has mean 0, std {want:.4g} (yours is {ratio:.3g} "
                                   f"times that){known}", hint=INIT_HINT, details=details)
        return details

    return Check("three_layer_convnet_init/kaiming", "three_layer_convnet_init",
                 "three_layer_convnet_init: the notebook's shapes, Kaiming-normal weights, zero biases",
                 run, INIT_HINT)


# ===========================================================================
# Keras models
# ===========================================================================

KERAS_HINT = ("the same ConvNet as the barebones one (5x5 'same' conv, relu, 3x3 'same' conv, relu, "
              "flatten, dense), ending in a softmax as in the notebook")
BUILDERS = {
    "ThreeLayerConvNet": ("ThreeLayerConvNet(channel_1, channel_2, num_classes)",
                          lambda shape: ((CHANNEL_1, CHANNEL_2, NUM_CLASSES), {})),
    "three_layer_convnet_sequential": (
        "three_layer_convnet_sequential(input_shape, channel_1, channel_2, num_classes)",
        lambda shape: ((), {"input_shape": shape, "channel_1": CHANNEL_1, "channel_2": CHANNEL_2,
                            "num_classes": NUM_CLASSES})),
    "three_layer_convnet_functional": (
        "three_layer_convnet_functional(input_shape, channel_1, channel_2, num_classes)",
        lambda shape: ((), {"input_shape": shape, "channel_1": CHANNEL_1, "channel_2": CHANNEL_2,
                            "num_classes": NUM_CLASSES})),
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


def keras_check(builder: str) -> Check:
    def run(student: Student) -> dict:
        __tracebackhide__ = True
        for sample in convnet_samples():
            x, weights = sample.args
            model = build_model(student, builder, x.shape[1:])
            model_scores(student, model, x, "building the model")  # builds a subclassed model's weights
            try:
                shapes = student.call(HELPERS, "set_weights_by_shape", model.ref, weights).value
            except StudentError as error:
                raise _error("setting the model's weights", error) from None
            wanted = sorted(list(w.shape) for w in weights)
            if sorted(shapes) != wanted:
                raise CheckFailure(f"[sample {sample.name}] the model's weights have shapes {shapes}; the "
                                   f"three-layer ConvNet's are {[list(w.shape) for w in weights]}",
                                   hint=KERAS_HINT)
            value = model_scores(student, model, x, sample.name)
            expected = reference_scores(x, weights, softmax=True)
            try:
                compare_arrays("probabilities", value, expected, hint=KERAS_HINT,
                               inputs={"x": x},
                               signatures=_signatures(
                                   [*_convnet_known(x, weights, True),
                                    (reference_scores(x, weights, softmax=False),
                                     "the scores are not passed through a softmax, as the notebook's models do")],
                                   expected))
            except CheckFailure as failure:
                raise CheckFailure(f"[sample {sample.name}] {failure.message}", hint=KERAS_HINT,
                                   details=failure.details) from None
        return {}

    return Check(f"{builder}/probabilities", builder,
                 f"{BUILDERS[builder][0].split('(')[0]}: softmax outputs match the reference given the same weights",
                 run, KERAS_HINT)


# ===========================================================================
# Training (the Sequential model, by the notebook's loop)
# ===========================================================================

# Note [Training the Sequential model]
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
# The notebook trains its Keras models with its own loop (train_part34), so
# the loop is course code (course/grader_tf.train: Adam 1e-3, batch 64,
# TRAIN_STEPS steps, one tf.function trace) and only the model is the
# student's: `three_layer_convnet_sequential(input_shape=(8, 8, 1),
# channel_1=8, channel_2=8, num_classes=10)` on scikit-learn's bundled 8x8
# digits (reference.datasets, no download).  Accuracy is computed here from
# the model's test-set outputs.  The reference reaches 0.938 to 0.953 over
# six runs (minibatch seeds 0-5; Keras' own initializers unseeded, as in the
# notebook), 1.5-3 s each on CPU; the threshold, 0.90, sits under the worst.
# A model without its ReLUs or its softmax fails the probabilities checks, not
# necessarily this one: it checks that the student's model can be trained.

TRAIN_STEPS = 300
REFERENCE_WORST = 0.938
MIN_ACCURACY = 0.90
TRAIN_TIMEOUT_S = 180.0


@functools.cache
def digits():
    from reference.datasets import load_digits_dataset
    data = load_digits_dataset(layout="NHWC")
    return data.X_train, data.y_train, data.X_test, data.y_test


def training_check() -> Check:
    hint = "a model that matches the reference on fixed weights should learn digits; check its initializers"

    def run(student: Student) -> dict:
        __tracebackhide__ = True
        x_train, y_train, x_test, y_test = digits()
        call, _ = BUILDERS["three_layer_convnet_sequential"]
        try:
            model = student.new(MODULE, "three_layer_convnet_sequential", input_shape=(8, 8, 1),
                                channel_1=8, channel_2=8, num_classes=10)
        except StudentError as error:
            raise _error(f"`{call}`", error) from None
        try:
            student.call(HELPERS, "train", model.ref, x_train, y_train, steps=TRAIN_STEPS, seed=0)
        except StudentError as error:
            raise _error("training the model with the notebook's loop", error) from None
        value = model_scores(student, model, x_test, "test images")
        probabilities = as_array("probabilities", value, np.zeros((len(x_test), 10), np.float32))
        if probabilities.shape != (len(x_test), 10):
            raise CheckFailure(f"the model returned shape {probabilities.shape} for {len(x_test)} images, "
                               f"expected ({len(x_test)}, 10)", hint=hint)
        accuracy = float(np.mean(np.argmax(probabilities, axis=1) == y_test))
        details = {"test_accuracy": round(accuracy, 4), "threshold": MIN_ACCURACY, "steps": TRAIN_STEPS}
        if accuracy < MIN_ACCURACY:
            raise CheckFailure(f"after {TRAIN_STEPS} steps on digits the test accuracy is {accuracy:.3f}; at "
                               f"least {MIN_ACCURACY:.2f} is expected (the reference reaches "
                               f"{REFERENCE_WORST:.2f} or more)", hint=hint, details=details)
        return details

    return Check("three_layer_convnet_sequential/trains", "three_layer_convnet_sequential",
                 f"three_layer_convnet_sequential trains on digits to {MIN_ACCURACY:.0%} test accuracy",
                 run, hint, timeout_s=TRAIN_TIMEOUT_S)


CHECKS: list[Check] = [
    flatten_check(),
    barebones_check(),
    init_check(),
    *[keras_check(builder) for builder in BUILDERS],
    training_check(),
]
