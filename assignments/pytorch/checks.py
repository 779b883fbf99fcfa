"""Checks for `pytorch` (the course's PyTorch notebook): the TODO work of its barebones
part (`three_layer_convnet`), its Module part (`ThreeLayerConvNet`: outputs,
initialisation, training to a stated accuracy on digits or on the instructor's data
set, Note [Accuracy check]) and its Sequential part (the inline nn.Sequential handed to
the course's train_part34, graded by observation: Note [The observed Sequential model]).

Why it exists: every verdict on a PyTorch notebook comes from here.  Code the course
provides (flatten, two_layer_fc, random_weight, zero_weight, TwoLayerFC, the training
loops) is used but earns nothing: the untouched course notebook scores 0.  Outputs are
compared with the trusted PyTorch reference (reference/torch_nets) holding the
same seeded weights; initialisers are judged by the statistics of what they
draw (grader/checks/kaiming.py); trained models by the accuracy the judge computes
from their scores on held-out images.  Student code runs in the worker; tensors come back
as arrays (Note [Trust boundary] in grader/worker/client.py), and the few steps
that must happen next to the model (copying weights into its layers, the
notebook's training loop) are course code shipped into the package
(assignments/pytorch/course/torch_course.py).
"""

from __future__ import annotations

import functools
import importlib.util
import math
import re
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from grader.report.charts import line_chart
from grader.checks import held_out, kaiming, questions, training_data
from grader.checks.compare import Signature, compare_arrays
from grader.checks.spec import Check, CheckFailure, Sample
from grader.checks.student import RemoteObject, Student
from grader.worker.client import Converted, Ref, StudentError, WorkerFailure
from reference.torch_nets import barebones as ref
from reference.torch_nets import modules as ref_modules

MODULE = "pytorch_nets"
COURSE = "torch_course"


QUESTIONS = questions.current()  # public or drawn from a secret: Note [Fresh questions]


def _rng(seed: int) -> np.random.Generator:
    """Every sample's generator (Note [Fresh questions] in grader/checks/questions.py)."""
    return QUESTIONS.rng(seed)


# Note [Float64 for exact checks]
# The notebook trains in float32, but outputs are compared in float64: the
# judge hands the worker float64 tensors (and float64 weights, copied into the
# student's layers after `model.double()`), so two correct implementations
# agree to about 1e-13 and the float64 tolerance of grader/checks/compare.py
# applies unchanged.  In float32 a score near zero, the sum of thousands of
# products, can legitimately differ by more than any tolerance that still
# catches a real mistake.  Only the accuracy check runs in float32, as the
# course does.

# Note [Image size]
# The notebook's ThreeLayerConvNet and its Sequential version hard-code the
# fully-connected layer's input as channel_2 * 32 * 32, so the model checks feed
# images of the convention `image_size` (32 by default; a course year with
# other images sets it), and the accuracy check fits its images to that size
# (the 8 x 8 digits by repeating pixels, Fashion-MNIST's 28 x 28 by zero-padding:
# Note [Fitting image sizes] in grader/checks/training_data.py).  The
# barebones functions take their sizes from the weights, so they also get
# odd-sized images.


def image_size(student: Student) -> int:
    """Side of the square images the student's networks take; Note [Image size]."""
    size = int(student.conventions.get("image_size", 32))
    if size < 8 or size % 8:
        raise ValueError(f"convention image_size must be a multiple of 8, got {size}")
    return size


def device(student: Student) -> str:
    """Where the accuracy check trains: convention `device`, 'cpu' (default), 'cuda' or 'auto'."""
    return str(student.conventions.get("device", "cpu"))


def _failure(what: str, error: StudentError) -> CheckFailure:
    message = str(error)
    barebones = _transposed_fc_w(message) if what.startswith("`three_layer_convnet`") else ""
    return CheckFailure(f"{what} raised {error}{_downsampled(message)}{_made_in_float32(message)}"
                        f"{barebones}" + (f"\n{error.traceback}" if error.traceback else ""))


# Note [fc_w used transposed]
# The barebones network's fc_w is (D, C), as the notebook's own test cell makes it
# (torch.zeros((9 * 32 * 32, 10))).  A real cs231n notebook scored with F.linear(x, fc_w, fc_b),
# which takes its weight as (C, D) and multiplies by the transpose; its own notebook cell raised
# too, and here the check said only "mat1 and mat2 shapes cannot be multiplied (4x9216 and
# 6x9216)".  When the weight's second axis is the features' width and its first is not (the
# product of x (N, D) with a (C, D) matrix), the failure of `three_layer_convnet` says that
# fc_w was used transposed.  Other functions' errors are left as they are: a module's nn.Linear
# does keep its weight as (C, D).
# PyTorch's message for x (N, D) @ w (R, C) with D != R; read here and by _downsampled
MATMUL_SHAPES = re.compile(r"mat1 and mat2 shapes cannot be multiplied "
                           r"\((?P<n>\d+)x(?P<got>\d+) and (?P<expected>\d+)x(?P<columns>\d+)\)")


def _transposed_fc_w(message: str) -> str:
    """Note [fc_w used transposed]; "" unless the product's shapes say so."""
    found = MATMUL_SHAPES.search(message)
    if found is None:
        return ""
    width, rows, columns = int(found["got"]), int(found["expected"]), int(found["columns"])
    if columns != width or rows == width:
        return ""
    return (f"; looks like: fc_w is used transposed: it is (D, C) = ({width}, {rows}) here, as the "
            f"notebook's test makes it, and the features (N, {width}) met a ({rows}, {width}) matrix: "
            f"F.linear(x, w) takes w as (C, D); multiply as x.mm(fc_w) + fc_b")


# Note [Float32 made inside the student's code]
# The exact checks run in float64 (Note [Float64 for exact checks]).  A real cs231n notebook's
# `three_layer_convnet` built `nn.Conv2d(3, channel_1, ...)` inside the function and ignored
# the weights in params; in the notebook (float32) it ran, here it raised PyTorch's "Input
# type (double) and bias type (float) should be the same", which reads like the grader's
# fault and hides the real mistake.  When the student's error is PyTorch's complaint about
# a float32 operand beside the grader's float64 ones (these four spellings), the failure
# says where such a float32 tensor comes from: a layer made inside the function, which has
# weights of its own, or a new tensor made without x's dtype.  The verdict is unchanged.
FLOAT32_INSIDE = (re.compile(r"Input type \((double|torch\.DoubleTensor)\) and (bias|weight) type "
                             r"\((float|torch\.FloatTensor)\)"),
                  re.compile(r"expected scalar type Double but found Float"),
                  re.compile(r"expected m1 and m2 to have the same dtype, but got: double != float"),
                  re.compile(r"mat1 and mat2 must have the same dtype, but got Double and Float"))


def _made_in_float32(message: str) -> str:
    """Where a float32 operand beside float64 inputs comes from (Note [Float32 made inside the
    student's code]); "" for any other error."""
    if not any(pattern.search(message) for pattern in FLOAT32_INSIDE):
        return ""
    return ("; looks like: a tensor your code made itself is float32 where the grader's inputs and "
            "weights are float64 (it compares in float64): a layer built inside the function "
            "(nn.Conv2d(...), nn.Linear(...)) has float32 weights of its own and ignores the ones "
            "passed in (use F.conv2d / mm with the weights you are given, or build layers in "
            "__init__), and a new tensor should take the input's dtype (dtype=x.dtype)")


# Note [Feature maps made smaller]
# A real ECE562 notebook (2025) put a 2x2 max pooling after each ReLU in all three parts,
# which the notebook's architecture does not have, and sized its Linear layers for the
# 8 x 8 maps that leaves (channel_2 * 8 * 8).  Its barebones function then raised PyTorch's
# "mat1 and mat2 shapes cannot be multiplied (4x576 and 9216x6)" and its modules failed
# the weight copy with "Linear(6, 320), expected (6, 5120)": true, but the student had to
# work out that 5120 / 320 = 16 = 4 x 4.  When the fully-connected layer's input is a
# square factor k*k (k >= 2) smaller than the architecture's, the failure says so.  Read
# from the message of the error, which names both sizes in these two forms only.
FEATURE_SIZES = (MATMUL_SHAPES,
                 re.compile(r"Linear\(\d+, (?P<got>\d+)\)'\], expected weights of shapes \[.*\(\d+, "
                            r"(?P<expected>\d+)\)\]"))


def _downsampled(message: str) -> str:
    """The known mistake of pooling the architecture has not (Note [Feature maps made smaller])."""
    for pattern in FEATURE_SIZES:
        found = pattern.search(message)
        if found is None:
            continue
        got, expected = int(found["got"]), int(found["expected"])
        k = math.isqrt(expected // got) if got and expected % got == 0 else 0
        if k >= 2 and k * k * got == expected:
            return (f"; looks like: the fully-connected layer gets {got} features per image where the "
                    f"architecture gives {expected}, {k} x {k} times more: the feature maps were made {k} "
                    f"times smaller in each dimension (a pooling or a stride the architecture does not "
                    f"have: its 5x5 convolution with padding 2 and 3x3 with padding 1 keep the image size)")
    return ""


def _call(student: Student, module: str, name: str, *args, what: str = "", timeout: float | None = None,
          **kwargs):
    """student.call, with the student's exception as the check's failure message."""
    try:
        return student.call(module, name, *args, timeout=timeout, **kwargs)
    except StudentError as error:
        raise _failure(what or f"`{name}`", error) from None


def _setup(student: Student, seed: int | None = None) -> None:
    """One torch thread in the worker (the judge's machine is shared) and, if given, a seed."""
    _call(student, COURSE, "setup", 1, seed, what="setting up torch in the worker")


def _tensor(student: Student, array: np.ndarray) -> Ref:
    return _call(student, COURSE, "tensor", array, str(array.dtype), what="making a tensor").ref


def _torch(arrays) -> list[torch.Tensor]:
    return [torch.from_numpy(np.array(a, dtype=np.float64)) for a in arrays]


# ===========================================================================
# Barebones functions
# ===========================================================================

RELU_LEFT_OUT = {(False, False): "both ReLUs are missing",
                 (True, False): "the ReLU after the second convolution is missing",
                 (False, True): "the ReLU after the first convolution is missing"}


def _relu_missing(sample_fn: Callable[[], np.ndarray], relu: tuple[bool, bool] | None = None) -> Signature:
    which = RELU_LEFT_OUT[relu] if relu else "the ReLU is missing"
    return Signature(lambda a, e: a.shape == e.shape and np.allclose(a, sample_fn(), rtol=1e-6, atol=1e-9),
                     f"{which}: scores are what the network gives without it")


def _function_check(function: str, samples: list[Sample], reference: Callable, *,
                    arg_names: tuple[str, ...],
                    signatures: Callable[[Sample], list[Signature]] = lambda s: [],
                    output: str = "scores", behaviour: str = "out", hidden: bool = False,
                    hint: str = "") -> Check:
    """`function(*tensors)` equals `reference(*tensors)` on every sample (arrays become float64 tensors)."""

    def run(student: Student) -> None:
        __tracebackhide__ = True
        _setup(student)
        for sample in samples:
            expected = reference(*sample.args)
            args = [_tensor(student, a) if isinstance(a, np.ndarray)
                    else [_tensor(student, p) for p in a] for a in sample.args]
            result = _call(student, MODULE, function, *args,
                           what=f"`{function}` on sample '{sample.name}'")
            inputs = {name: (a if isinstance(a, np.ndarray) else tuple(a))
                      for name, a in zip(arg_names, sample.args)}
            try:
                compare_arrays(f"{function}(...)" if output == "scores" else output, result.value,
                               expected, inputs=inputs, signatures=signatures(sample), hint=hint,
                               batch_size=int(sample.args[0].shape[0]))
            except CheckFailure as failure:
                raise CheckFailure(f"[sample {sample.name}] {failure.message}", hint=failure.hint or hint,
                                   details=failure.details) from None

    title = f"{function}: {output} match the reference" + (" (hidden samples)" if hidden else "")
    return Check(f"{function}/{behaviour}", function, title, run, hint, hidden)


def _conv_sample(name: str, seed: int, x_shape: tuple, c1: int, c2: int, classes: int) -> Sample:
    """Seeded input and parameters for three_layer_convnet; nonzero biases."""
    r = _rng(seed)
    n, c, h, w = x_shape
    d = c2 * h * w
    params = [r.standard_normal((c1, c, 5, 5)) / math.sqrt(c * 25), 0.1 * r.standard_normal(c1),
              r.standard_normal((c2, c1, 3, 3)) / math.sqrt(c1 * 9), 0.1 * r.standard_normal(c2),
              r.standard_normal((d, classes)) / math.sqrt(d), 0.1 * r.standard_normal(classes)]
    return Sample(name, (r.standard_normal(x_shape), params))


CONV_SAMPLES = [_conv_sample("images", 21, (3, 3, 8, 8), 4, 5, 6),
                _conv_sample("N=1, odd size", 22, (1, 2, 7, 5), 3, 2, 4)]
CONV_HIDDEN_SAMPLES = [_conv_sample("hidden", 23, (2, 1, 9, 6), 5, 3, 7)]


def _conv_reference(x, params, *, pad1: int = ref.CONV1_PADDING, pad2: int = ref.CONV2_PADDING,
                    relu: tuple[bool, bool] = (True, True)) -> np.ndarray:
    """The reference forward pass, or a known mistake: no padding, a ReLU left out."""
    conv_w1, conv_b1, conv_w2, conv_b2, fc_w, fc_b = _torch(params)
    act1, act2 = (F.relu if on else (lambda t: t) for on in relu)
    h = act1(F.conv2d(torch.from_numpy(x), conv_w1, conv_b1, padding=pad1))
    h = act2(F.conv2d(h, conv_w2, conv_b2, padding=pad2))
    flat = ref.flatten(h)
    return (flat.mm(fc_w[:flat.shape[1]]) + fc_b).numpy()


def _conv_signatures(sample: Sample) -> list[Signature]:
    x, params = sample.args
    no_pad = functools.cache(lambda: _conv_reference(x, params, pad1=0, pad2=0))
    return [
        Signature(lambda a, e: a.shape == no_pad().shape and np.allclose(a, no_pad(), rtol=1e-6, atol=1e-9),
                  "the convolutions have no zero-padding (the first needs padding 2, the second 1; "
                  "with 'same' padding fc_w has exactly C2 * H * W rows)"),
        *[_relu_missing(functools.cache(lambda relu=relu: _conv_reference(x, params, relu=relu)), relu)
          for relu in RELU_LEFT_OUT],
    ]


def check_conv_shape(student: Student) -> None:
    """The notebook's own test: zeros of shape (N, 3, 32, 32) give scores (N, K)."""
    __tracebackhide__ = True
    _setup(student)
    n, c, size, c1, c2, classes = 4, 3, 32, 6, 9, 6
    shapes = [(c1, c, 5, 5), (c1,), (c2, c1, 3, 3), (c2,), (c2 * size * size, classes), (classes,)]
    x = _tensor(student, np.zeros((n, c, size, size)))
    params = [_tensor(student, np.zeros(s)) for s in shapes]
    value = _call(student, MODULE, "three_layer_convnet", x, params,
                  what="`three_layer_convnet` on zeros of shape (4, 3, 32, 32)").value
    compare_arrays("three_layer_convnet(zeros)", value, np.zeros((n, classes)),
                   inputs={"x": "zeros (4, 3, 32, 32)", "conv_w1": "(6, 3, 5, 5)",
                           "conv_w2": "(9, 6, 3, 3)", "fc_w": "(9 * 32 * 32, 6)"},
                   hint="both convolutions keep H x W (padding 2 for 5x5, 1 for 3x3), so the "
                        "fully-connected layer sees C2 * H * W features")


# ===========================================================================
# Initialisation: statistics of what the student's code draws
# ===========================================================================

# Note [Initialisation statistics]
# A weight is judged by the statistics of what the student's code drew, by the
# stated rule of grader/checks/kaiming.py (Note [Kaiming variants]: fan_in with
# gain sqrt(2) full marks; fan_out or gain 1 half, with a message; anything
# else none), every tensor drawn after seeding the worker's torch generator,
# so a submission always gets the same verdict.  The ThreeLayerConvNet checks
# build the class with sizes that give every weight >= 18432 entries (3%
# accepted, 5.7 standard errors); the notebook's inline Sequential model is
# judged at the sizes the student built it with, the tolerance growing as
# 5.7 / sqrt(2 n) for its smaller first convolution.  The fan-in mistakes the
# course sees are named when they match: C_in alone or all entries for a conv
# weight, PyTorch's default nn initialisation (std sqrt(1 / (3 fan_in)), 59%
# lower), an unscaled randn, the variance used as the standard deviation.


def _fan_in_mistakes(shape: tuple[int, ...]) -> dict[str, float]:
    """Standard deviations that known mistakes give for an nn-layout weight, by description."""
    size = math.prod(shape)
    fan_in = math.prod(shape[1:])
    wrong = {}
    if len(shape) == 4:
        wrong = {"fan_in = C_in only; a conv weight's fan-in is C_in * KH * KW":
                     math.sqrt(2 / shape[1]),
                 "fan_in = all entries of the weight; it is C_in * KH * KW": math.sqrt(2 / size)}
    wrong["the weights are not scaled: std 1 instead of sqrt(2 / fan_in)"] = 1.0
    wrong["this is PyTorch's default initialisation: nn.init.kaiming_normal_ (or random_weight) was "
          "not applied"] = math.sqrt(1 / (3 * fan_in))
    wrong["std 2 / fan_in: the variance was used as the standard deviation"] = 2 / fan_in
    return wrong


INIT_HINT = "nn.init.kaiming_normal_(layer.weight) (fan_in, gain sqrt(2))"


def judge_layer(name: str, weights: np.ndarray) -> kaiming.Judged:
    """The Kaiming variant of one Conv2d/Linear weight (nn layout: fan-in is shape[1:])."""
    shape = tuple(np.shape(weights))
    fan_in = math.prod(shape[1:])
    fan_out = shape[0] * math.prod(shape[2:])
    judged = kaiming.judge(name, weights, fan_in, fan_out, mistakes=_fan_in_mistakes(shape),
                           hint=INIT_HINT)
    if judged.variant.name == "fan_out" and len(shape) == 2:
        # The course's own random_weight reads shape[0], which an nn.Linear weight stores as D_out.
        return kaiming.Judged(kaiming.Variant(
            "fan_out", False, judged.variant.explain + "; nn.Linear stores (D_out, D_in), so "
            "random_weight(layer.weight.shape), which reads shape[0], gets D_out"), judged.details)
    return judged


# ===========================================================================
# nn.Module and nn.Sequential networks
# ===========================================================================

# Note [Judging a module]
# The student's class is built in the worker with the notebook's constructor
# arguments; the checks then copy seeded weights and biases into its Conv2d and
# Linear layers, matched by shape (Note [Layers in order] in
# course/torch_course.py), and compare its scores with the reference module
# holding the same arrays.  So attribute names and registration order are
# free, but the layers and their shapes must be the notebook's.  Initialisation checks read the
# student's own weights after seeding the worker's torch generator.

def _model(student: Student, name: str, *args) -> RemoteObject:
    signature = f"{name}({', '.join(map(str, args))})"
    result = _call(student, MODULE, name, *args, what=f"`{signature}`")
    return RemoteObject(student, result.ref, name)


def _nn_arrays(model: torch.nn.Module) -> list[list[np.ndarray]]:
    return [[m.weight.detach().double().numpy(), m.bias.detach().double().numpy()]
            for m in ref_modules.layers_of(model, (torch.nn.Conv2d, torch.nn.Linear))]


def _seeded_module(model: torch.nn.Module, seed: int) -> torch.nn.Module:
    """`model` in float64 with seeded weights and nonzero biases, scaled as Kaiming would."""
    r = _rng(seed)
    model = model.double()
    with torch.no_grad():
        for layer in ref_modules.layers_of(model, (torch.nn.Conv2d, torch.nn.Linear)):
            fan_in = math.prod(layer.weight.shape[1:])
            layer.weight.copy_(torch.from_numpy(r.standard_normal(tuple(layer.weight.shape)))
                               * math.sqrt(2 / fan_in))
            layer.bias.copy_(torch.from_numpy(0.1 * r.standard_normal(tuple(layer.bias.shape))))
    return model


def _install(student: Student, model: RemoteObject, arrays, what: str) -> None:
    _call(student, COURSE, "load_layers", model.ref, arrays,
          what=f"copying the grader's weights into {what}")


# Note [A ReLU missing from a model]
# A real cs231n 2024 notebook's Sequential ConvNet left out the second nn.ReLU() (Conv2d, ReLU,
# Conv2d, Flatten, Linear); Sequential/out said only "30 of 30 entries differ" and listed the
# layers to compare.  The barebones check already names a ReLU left out (_conv_signatures); the
# Module and Sequential output checks now do the same, from the very weights the grader copied
# into the student's model: the reference network run with one or both ReLUs left out.  Only the
# message changes.
def _model_signatures(reference: torch.nn.Module, x: np.ndarray) -> list[Signature]:
    """Known mistakes of a model given the reference's weights (Note [A ReLU missing from a model])."""
    (w1, b1), (w2, b2), (fc_w, fc_b) = _nn_arrays(reference)
    params = [w1, b1, w2, b2, fc_w.T, fc_b]
    return [_relu_missing(functools.cache(lambda relu=relu: _conv_reference(x, params, relu=relu)), relu)
            for relu in RELU_LEFT_OUT]


def _module_out_check(function: str, build: Callable[[int], tuple[tuple, torch.nn.Module]],
                      x_shape: Callable[[int], tuple], seed: int, title: str) -> Check:
    def run(student: Student) -> None:
        __tracebackhide__ = True
        _setup(student, 0)
        size = image_size(student)
        args, reference = build(size)
        reference = _seeded_module(reference, seed)
        model = _model(student, function, *args)
        signature = f"{function}({', '.join(map(str, args))})"
        try:
            _install(student, model, _nn_arrays(reference), signature)
        except CheckFailure as failure:
            raise failure.looking_like(_sizes_not_asked(student, model, reference)) from None
        x = _rng(seed + 1).standard_normal(x_shape(size))
        with torch.no_grad():
            expected = reference(torch.from_numpy(x)).numpy()
        value = _call(student, COURSE, "forward", model.ref, x, what=f"{signature} forward",
                      remember_as=function).value  # grader/checks/student.py Note [A course helper remembered per student function]
        compare_arrays(f"{signature}(x)", value, expected, inputs={"x": x},
                       signatures=_model_signatures(reference, x),
                       hint="compare the layers, their order, padding and the ReLUs with the "
                            "notebook's architecture", batch_size=x.shape[0])

    return Check(f"{function}/out", function, title, run)


# Note [Sizes written into the model, seen when weights are copied]
# A real cs231n 2020 notebook built ThreeLayerConvNet's last layer as nn.Linear(..., 10): the
# shape check names it (Note [A class count written into the model]), but ThreeLayerConvNet/out
# showed only the course helper's ValueError listing the layers it could not fill, and its
# traceback.  When the model's layers differ from the ones asked for only in the sizes that
# channel_1, channel_2 or num_classes set, the failure names the arguments not used.  The verdict
# is unchanged.
def _sizes_not_asked(student: Student, model: RemoteObject, reference: torch.nn.Module) -> str:
    """Which constructor arguments the model's layer sizes ignore, or "" (Note [Sizes written into
    the model, seen when weights are copied])."""
    try:
        arrays = student.call(COURSE, "layer_arrays", model.ref).value
    except WorkerFailure:  # the copy's own failure is what the check reports
        return ""
    got = [tuple(np.shape(w)) for w, _ in arrays]
    expected = [tuple(w.shape) for w, _ in _nn_arrays(reference)]
    # the same layers (kernel sizes included); each one's output size is what an argument sets
    if len(got) != 3 or len(expected) != 3 or any(len(g) != len(e) or g[2:] != e[2:]
                                                   for g, e in zip(got, expected)):
        return ""
    names = ("channel_1", "channel_2", "num_classes")
    unused = [name for name, g, e in zip(names, got, expected) if g[0] != e[0]]
    if not unused:
        return ""
    sizes = ", ".join(f"{g[0]} outputs where {name}={e[0]}"
                      for name, g, e in zip(names, got, expected) if name in unused)
    return (f"{' and '.join(unused)} {'is' if len(unused) == 1 else 'are'} not used: the layers have {sizes} "
            f"(build each layer from the constructor's arguments; the notebook's own test passes the "
            f"course's sizes, so it cannot show this)")


def judge_layers(arrays: list, signature: str,
                 expected_shapes: list[tuple] | None = None) -> dict[str, kaiming.Judged]:
    """Every Conv2d/Linear weight of a model by the Kaiming rule, layer name -> verdict.

    `arrays` is torch_course.layer_arrays' [[weight, bias], ...]; with
    `expected_shapes` the weights must have those shapes (matched by shape, as
    load_layers does: Note [Layers in order] in course/torch_course.py).
    """
    found = [tuple(np.shape(w)) for w, _ in arrays]
    if expected_shapes is not None:
        if sorted(found) != sorted(expected_shapes):
            raise CheckFailure(f"{signature}: Conv2d/Linear weight shapes {found}, expected "
                               f"{list(expected_shapes)}")
        arrays = [arrays[found.index(shape)] for shape in expected_shapes]
    judged = {}
    for index, (weight, _) in enumerate(arrays):
        shape = tuple(np.shape(weight))
        judged[f"layer{index + 1}"] = judge_layer(f"{signature}: layer {index + 1} weight {shape}",
                                                  weight)
    return judged


def init_checks(function: str, title: str, judge: Callable[[Student], dict[str, kaiming.Judged]]
                ) -> list[Check]:
    """`function/init` (any Kaiming variant) and `function/init_fan_in` (the notebook's);
    Note [Kaiming variants] in grader/checks/kaiming.py."""

    def any_variant(student: Student) -> dict:
        __tracebackhide__ = True
        judged = judge(student)
        notes = [f"{name}: {j.message}" for name, j in judged.items() if not j.variant.full_marks]
        return {**{name: j.details for name, j in judged.items()},
                **({"note": "; ".join(notes)} if notes else {})}

    def fan_in(student: Student) -> dict:
        __tracebackhide__ = True
        return kaiming.require_notebook_variant(judge(student), hint=INIT_HINT)

    return [Check(f"{function}/init", function, f"{title}: Kaiming initialisation (fan_in or fan_out, "
                                                f"gain sqrt(2) or 1)", any_variant, INIT_HINT),
            Check(f"{function}/init_fan_in", function,
                  f"{title}: the notebook's Kaiming initialisation, fan_in with gain sqrt(2)", fan_in,
                  INIT_HINT)]


def _module_init(function: str, build: Callable[[int], tuple]):
    """Build the student's class at the init sizes and judge its weights."""

    def judge(student: Student) -> dict[str, kaiming.Judged]:
        _setup(student, 0)
        args, layer_shapes = build(image_size(student))
        model = _model(student, function, *args)
        signature = f"{function}({', '.join(map(str, args))})"
        arrays = _call(student, COURSE, "layer_arrays", model.ref,
                       what=f"reading {signature}'s weights").value
        try:
            return judge_layers(arrays, signature, [s for s, _ in layer_shapes])
        except CheckFailure as failure:
            raise CheckFailure(failure.message + _channels_written_in(arrays, args[0]), hint=failure.hint,
                               details=failure.details) from None

    return judge


# Note [Input channels written into the model]
# As with the class count (Note [A class count written into the model]), real notebooks
# (cs231n 2024) build ThreeLayerConvNet's first layer as nn.Conv2d(3, channel_1, ...)
# instead of nn.Conv2d(in_channel, ...): the notebook's own test passes in_channel=3, so
# the student never sees it.  The initialisation checks build the model with in_channel=16
# (Note [Initialisation statistics]) and failed with a bare list of weight shapes; they say
# which mistake it is when no Conv2d weight takes in_channel channels and one takes the
# images' 3.  The verdict is unchanged: the constructor's arguments are part of the task.
def _channels_written_in(arrays: list, in_channel: int) -> str:
    inputs = [np.shape(w)[1] for w, _ in arrays if len(np.shape(w)) == 4]
    if in_channel in inputs or 3 not in inputs:
        return ""
    return (f"; looks like: in_channel is not used: a Conv2d takes 3 input channels whatever in_channel "
            f"says (build the first layer with in_channel; the notebook's own test passes 3, so it cannot "
            f"show this)")


def _convnet(size: int):
    return (3, 4, 5, 6), ref_modules.ThreeLayerConvNet(3, 4, 5, 6, image_size=(size, size))


# Sizes for the ThreeLayerConvNet initialisation checks: every judged tensor has
# >= 18432 entries (Note [Initialisation statistics]).
def _convnet_init(size: int):
    return (16, 64, 32, 10), [((64, 16, 5, 5), True), ((32, 64, 3, 3), True),
                              ((10, 32 * size * size), True)]


def check_convnet_shape(student: Student) -> None:
    """The notebook's test_ThreeLayerConvNet: zeros (N, 3, 32, 32) -> scores (N, 6)."""
    __tracebackhide__ = True
    _setup(student, 0)
    size = image_size(student)
    model = _model(student, "ThreeLayerConvNet", 3, 12, 8, 6)
    value = _call(student, COURSE, "forward", model.ref, np.zeros((4, 3, size, size)), "float32",
                  what="ThreeLayerConvNet(3, 12, 8, 6) forward", remember_as="ThreeLayerConvNet").value
    actual = value.value if isinstance(value, Converted) else value
    if not isinstance(actual, np.ndarray) or actual.shape != (4, 6):
        got = actual.shape if isinstance(actual, np.ndarray) else type(actual).__name__
        raise CheckFailure(f"ThreeLayerConvNet(in_channel=3, channel_1=12, channel_2=8, num_classes=6) "
                           f"on zeros of shape (4, 3, {size}, {size}) gave {got}, expected scores "
                           f"of shape (4, 6)" + _classes_written_in(actual))


def _classes_written_in(actual) -> str:
    """The known mistake of a wrong class count (Note [A class count written into the model])."""
    if isinstance(actual, np.ndarray) and actual.ndim == 2 and actual.shape[0] == 4 and actual.shape[1] != 6:
        return (f"; looks like: num_classes is not used: the model gives {actual.shape[1]} scores "
                f"whatever num_classes says (build the last layer with num_classes; the notebook's own "
                f"test passes the course's class count, so it cannot show this)")
    return ""


# Note [A class count written into the model]
# Real notebooks build ThreeLayerConvNet's last layer as nn.Linear(..., 10) (cs231n's
# CIFAR-10) or nn.Linear(..., 6) (ECE's six classes) instead of num_classes.  The notebook's
# test_ThreeLayerConvNet builds the model with the course's own count and only prints the
# shape, so the student never sees it; the shape check builds it with num_classes=6 and
# says which mistake it is when the scores have another number of columns.  The other
# checks fail with it as they must (the output check's weights have num_classes rows).


# ===========================================================================
# Training to an accuracy
# ===========================================================================

# Note [Accuracy check]
# The student's ThreeLayerConvNet(in_channel, 8, 8, num_classes), channels and
# classes taken from the data, is trained inside the worker by the notebook's
# loop (`train_part34` in course/torch_course.py: cross-entropy, SGD with
# Nesterov momentum 0.9, minibatches of 64 in a seeded order, 3 epochs) on the
# accuracy checks' images (grader/checks/training_data.py): by default the
# 1438 training digits of reference.datasets.load_digits_dataset, with
# --data-dir a stratified 5000 of the instructor's CIFAR-10 / Fashion-MNIST /
# CINIC-10 training images (Note [Training budget] there), fitted to the
# convention's image size (Note [Image size]; Note [Fitting image sizes] in
# training_data.py).  The judge then asks for the model's scores on the test
# images and computes the accuracy itself, so the verdict never rests on a
# number the worker reports.  The details name the data set, its sizes, the
# accuracy and the target.
#
# The test digits are perturbed afresh in every run and their labels stay in
# the judge (Note [Held-out test images] in grader/checks/held_out.py):
# re-measured on perturbed test sets (noise seeds 1, 2, 3) the reference
# reaches 0.936, 0.942, 0.947 (0.936 unperturbed), so the target stays.
# Measured again over 30 initial draws (torch seeds 0-29: a correct model that
# registers or draws its layers in another order starts elsewhere) with noise seeds
# 1000-1029, one CPU thread, the grader's own training loop (`nice python
# benchmarks/training_tails.py --seeds 30 --only pytorch_module`): min 0.919, 1st
# percentile 0.919, median 0.944 against the target 0.85; no correct run came within 6
# points, so one training run decides.  The model is built right after every generator
# of the worker is seeded (Note [Every generator seeded] in course/torch_course.py), so
# the same code gets the same run in every grading; only the test noise differs.
#
# The target on digits is absolute and measured: the reference submission
# reaches 0.94 after 3 epochs in about 3.5 s on one CPU thread (8 and 8
# channels, 32 x 32); 0.85 leaves room for correct models whose
# different-but-valid initialisation trains a little slower; a model that does
# not learn stays near 0.1.  On any other data set it is relative (Note
# [Relative targets] in training_data.py): the judge trains the trusted
# reference/torch_nets/modules.py ThreeLayerConvNet with the same course loop
# (the grader's own copy of torch_course.py, imported here), images, seed,
# epochs and device, on one torch thread as the worker does, and the student
# must reach its accuracy less 0.05; that run is cached on disk, so a batch
# trains it once.  There the student's model also starts from the reference's
# seeded initial weights (copied in as the `out` check copies weights, Note
# [Judging a module]; then `.float()`), so a correct model retraces the
# reference's run: the initialisation has its own check, and on images
# harder than digits the initial draw alone moves the accuracy too much for
# any margin that still means something (measured on synthetic CIFAR-10
# batches of noisy, shifted digits, 5000 / 1000 images, seeds 0-9 of model
# and minibatch order: 0.30 to 0.63; from the reference's weights a correct
# implementation written differently got the reference's accuracy exactly).
# A model whose layers cannot take those weights fails here as in the `out`
# check.  The training call's own limit (TRAINING["timeout_s"]) is the time
# budget; the device is the `device` convention and is stated in the details.  The pruning and tensorflow assignments' accuracy checks stay on
# digits whatever --data-dir says (Note [Which checks use --data-dir] in
# training_data.py).
TRAINING = {"channel_1": 8, "channel_2": 8, "epochs": 3, "batch_size": 64, "learning_rate": 1e-2,
            "momentum": 0.9, "seed": 0, "target": 0.85, "timeout_s": 120}
COURSE_FILE = Path(__file__).resolve().parent / "course" / "torch_course.py"
REFERENCE_CODE = (Path(ref_modules.__file__), Path(ref.__file__), COURSE_FILE)


@functools.cache
def _course_module():
    """The grader's copy of course/torch_course.py, imported in the judge for the reference run."""
    spec = importlib.util.spec_from_file_location("grader_pytorch_torch_course", COURSE_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _reference_model(channels: int, classes: int, size: int) -> torch.nn.Module:
    """The trusted ThreeLayerConvNet with the accuracy check's seeded initial weights (float32)."""
    config = TRAINING
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config["seed"])
        return ref_modules.ThreeLayerConvNet(channels, config["channel_1"], config["channel_2"], classes,
                                             image_size=(size, size))


def _reference_accuracy(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
                        y_test: np.ndarray, num_classes: int, where: str) -> float:
    """The trusted ThreeLayerConvNet trained by the course loop in the judge; Note [Accuracy check]."""
    config, course = TRAINING, _course_module()
    model = _reference_model(x_train.shape[1], num_classes, x_train.shape[2])
    threads = torch.get_num_threads()
    with torch.random.fork_rng(devices=[]):
        try:
            torch.set_num_threads(1)
            course.train(model, np.array(x_train), np.array(y_train), epochs=config["epochs"],
                         batch_size=config["batch_size"], learning_rate=config["learning_rate"],
                         momentum=config["momentum"], seed=config["seed"], device=where)
            scores = course.scores(model, np.array(x_test), device=where)
        finally:
            torch.set_num_threads(threads)
    return float(np.mean(np.argmax(scores, axis=1) == y_test))


def accuracy_target(data: training_data.ImageSet, size: int, where: str,
                    x_train: np.ndarray, x_test: np.ndarray) -> training_data.Target:
    """TRAINING['target'] on digits, else relative to the reference run; Note [Accuracy check]."""
    if data.is_digits:
        return training_data.Target(TRAINING["target"], data.name)
    config = dict(TRAINING, image_size=size, device=where, torch=torch.__version__,
                  initial_weights="reference")
    del config["target"], config["timeout_s"]
    return training_data.relative_target(
        data, "ThreeLayerConvNet", config, REFERENCE_CODE,
        lambda: _reference_accuracy(x_train, data.y_train, x_test, data.y_test, data.num_classes, where))


def _start_from_reference_weights(student: Student, model: RemoteObject, signature: str,
                                  channels: int, classes: int, size: int) -> None:
    """Copy the reference's initial weights into the student's model, float32; Note [Accuracy check]."""
    _install(student, model, _nn_arrays(_reference_model(channels, classes, size)), signature)
    try:
        model.call("float")
    except StudentError as error:
        raise _failure(f"{signature}.float()", error) from None


def check_accuracy(student: Student) -> dict:
    __tracebackhide__ = True
    config = TRAINING
    size = image_size(student)
    where = device(student)
    data = training_data.image_set("NCHW")
    x_train = training_data.fit_images(data.x_train, size)
    # digits: the test images as no file in the sandbox holds them (Note [Held-out test images])
    x_test = training_data.fit_images(held_out.perturbed(data.x_test) if data.is_digits else data.x_test,
                                      size)
    y_train, y_test, classes = data.y_train, data.y_test, data.num_classes
    channels = data.image_shape[0]
    signature = f"ThreeLayerConvNet({channels}, {config['channel_1']}, {config['channel_2']}, {classes})"
    _setup(student, config["seed"])
    model = _model(student, "ThreeLayerConvNet", channels, config["channel_1"], config["channel_2"], classes)
    if not data.is_digits:
        _start_from_reference_weights(student, model, signature, channels, classes, size)
    history = _call(student, COURSE, "train", model.ref, x_train, y_train, epochs=config["epochs"],
                    batch_size=config["batch_size"], learning_rate=config["learning_rate"],
                    momentum=config["momentum"], seed=config["seed"], device=where,
                    timeout=config["timeout_s"], remember_as="ThreeLayerConvNet",
                    what="training your ThreeLayerConvNet with the notebook's loop").value
    scores = _call(student, COURSE, "scores", model.ref, x_test, device=where,
                   timeout=config["timeout_s"], remember_as="ThreeLayerConvNet",
                   what=f"ThreeLayerConvNet on the {data.name} test images").value
    scores = scores.value if isinstance(scores, Converted) else scores
    if not isinstance(scores, np.ndarray) or scores.shape != (len(y_test), classes):
        got = scores.shape if isinstance(scores, np.ndarray) else type(scores).__name__
        raise CheckFailure(f"scores on the {len(y_test)} {data.name} test images: got {got}, expected "
                           f"({len(y_test)}, {classes})")
    accuracy = float(np.mean(np.argmax(scores, axis=1) == y_test))
    target = accuracy_target(data, size, where, x_train, x_test)
    losses = np.asarray(history.get("losses", []), dtype=float)
    details = {"accuracy": accuracy, **target.details(), "data_set": data.name,
               "train_images": len(y_train), "test_images": len(y_test), "classes": classes,
               "initial_weights": "own" if data.is_digits else "reference's",
               "epochs": config["epochs"], "train_seconds": round(float(history.get("seconds", 0.0)), 3),
               "device": history.get("device", ""), "image_size": size,
               "first_loss": float(losses[0]) if losses.size else None,
               "last_loss": float(losses[-1]) if losses.size else None,
               "chart": line_chart(f"Training loss of your ThreeLayerConvNet on {data.name}",
                                   "iteration", "loss", {"your model": list(enumerate(losses))})}
    if not accuracy >= target.value:
        raise CheckFailure(
            f"after {config['epochs']} epochs of the notebook's training loop on {len(y_train)} "
            f"{data.name} training images ({signature}, {size} x {size} images, device "
            f"{details['device']}) the accuracy on {len(y_test)} {data.name} test images is "
            f"{accuracy:.3f}, expected at least {target.value:.3f} ({target.explain()}); the loss went "
            f"from {details['first_loss']} to {details['last_loss']}",
            hint="a network that does not learn usually has a wrong forward pass (see the other "
                 "ThreeLayerConvNet checks) or parameters that are not registered in __init__",
            details=details)
    return details


# ===========================================================================
# The notebook's inline nn.Sequential (Part IV), observed
# ===========================================================================

# Note [The observed Sequential model]
# The notebook builds its Sequential three-layer ConvNet inline: `model =
# nn.Sequential(...)` in the cell that calls the course's `train_part34(model,
# optimizer)`; no function of the student's returns it.  So the notebook is
# executed once (Note [Observation]) with the course's `train_part34` replaced by
# observe/torch_observe.py, which records a copy of every model handed to it,
# before any training, with its class and layer shapes as facts.  The graded
# model is the first nn.Sequential that holds a Conv2d (the course's two-layer
# Sequential before it holds none) outside the open-ended part, whose own model
# may be a Sequential ConvNet too: when the Part IV cell fails, that one must
# not be graded in its place (the cell's markdown headings tell; the failing
# cell is named instead).  Its sizes
# are the student's, read from its layers: the first Conv2d (C1, C, 5, 5), the
# second (C2, C1, 3, 3), the Linear (K, C2 * S * S), with K the classes of the
# notebook's year (6 for ECE's CINIC-10 subset, 10 for cs231n's CIFAR-10) and S
# the convention `image_size`.
# - out: a copy gets the reference's seeded weights (by shape, Note [Judging
#   a module]); scores compared in float64 (Note [Float64 for exact checks]).
# - init / init_fan_in: the recorded copy's own weights by the Kaiming rule
#   (Note [Initialisation statistics]); the notebook asks for random_weight
#   and zero_weight, so init_fan_in also wants zero biases.
# - accuracy: a copy, from its own initial weights, trained by the notebook's
#   loop as ThreeLayerConvNet/accuracy is (course/torch_course.train, seeded
#   minibatches, one thread) on the bundled digits fitted to S x S, the image
#   repeated over the C input channels and only the labels below K kept; the
#   judge computes the test accuracy from the model's scores.  Digits only,
#   whatever --data-dir says: the model's sizes are the student's, and there is
#   no reference run at those sizes to be relative to.
SEQUENTIAL = "Sequential"
# Measured with the reference's Sequential (32 and 16 filters, one CPU thread, 3-9 s):
# 0.83 to 0.97 test accuracy over initial-weight seeds 0-2, Kaiming or PyTorch's default
# initialisation, 6 and 10 classes; a model that does not learn stays near 1 / K.
# Re-measured with the perturbed test digits (Note [Held-out test images] in
# grader/checks/held_out.py), the solution notebook graded with noise seeds 1, 2, 3:
# 0.968, 0.759, 0.940; the spread is the notebook's own unseeded initial weights,
# not the noise (two unperturbed gradings: 0.963, 0.949; seed 2 again: 0.949).  The
# target sits well under the worst: the architecture has its own check (out), this one
# asks that the model, as the student initialised it, learns.
# Note [Tries]
# Training from the student's own initial weights is a random experiment: a correct model
# can land under the target by chance (one ordering of the minibatches, one init), and a
# wrong verdict on correct work is the worst bug a grader has.  So a model under the target
# is trained again, from the same weights with the next minibatch order, up to
# SEQUENTIAL_TRIES times, and the best accuracy counts; a model that does not learn (wrong
# architecture, weights far off) stays near 1 / K in every try, so the tries cost a buggy
# submission time, never a correct one points.  The initial weights themselves are
# reproducible (Note [Deterministic observation] in grader/worker/observe.py), and each try
# seeds every generator of the worker first (Note [Every generator seeded] in
# course/torch_course.py).
# Measured over 30 notebook initial draws (seeds 0-29) with noise seeds 1000-1029, one CPU
# thread (`nice python benchmarks/training_tails.py --seeds 30 --only pytorch_sequential`):
# the FIRST try alone has a real lower tail, min 0.602 (1st percentile 0.665, median 0.958;
# 6 classes, the notebook's Kaiming init) and min 0.538 (0.631, 0.919; 10 classes, PyTorch's
# default init, cs231n 2021 and later): one draw in 30 of each lands under 0.7 on its first
# minibatch order, the next highest being 0.819 and 0.858.  With the tries (the verdict),
# min 0.819 / 0.858, 1st percentile 0.848 / 0.866, median 0.958 / 0.919, the second try
# clearing both: the target keeps 12 points under the worst verdict.
SEQUENTIAL_TRIES = 3
SEQUENTIAL_TRAINING = {"epochs": 2, "batch_size": 64, "learning_rate": 1e-2, "momentum": 0.9,
                       "seed": 0, "target": 0.7, "timeout_s": 180}


def recorded_sequential(student: Student):
    """(record, where, (C, C1, C2, K)) of the notebook's Sequential ConvNet; Note [The observed
    Sequential model].  `where` names it in messages (its cell)."""
    observation = student.observation()
    records = observation.require("train_part34", "a model passed to train_part34")
    chosen = next((r for r in records if r.facts.get("is_sequential")
                   and any(len(shape) == 4 for shape in r.facts.get("shapes", []))
                   and not r.in_open_ended_part), None)
    if chosen is None:
        seen = "; ".join(f"cell {r.cell}: {r.facts.get('class')} {r.facts.get('layers')}" for r in records)
        problems = observation.problems()
        raise CheckFailure("none of the models passed to train_part34 is an nn.Sequential with a Conv2d "
                           f"layer (Part IV's three-layer ConvNet); passed: {seen}"
                           + "".join(f"\n{p}" for p in problems),
                           hint="model = nn.Sequential(nn.Conv2d(...), nn.ReLU(), ...); "
                                "train_part34(model, optimizer)")
    shapes = [tuple(shape) for shape in chosen.facts["shapes"]]
    convs = [shape for shape in shapes if len(shape) == 4]
    linears = [shape for shape in shapes if len(shape) == 2]
    where = f"the nn.Sequential passed to train_part34 in cell {chosen.cell}"
    if len(convs) != 2 or len(linears) != 1:
        raise CheckFailure(f"{where} has the layers {chosen.facts.get('layers')}; the notebook's "
                           f"three-layer ConvNet has two Conv2d layers (5x5, then 3x3) and one Linear",
                           hint="Conv2d 5x5 padding 2, ReLU, Conv2d 3x3 padding 1, ReLU, Flatten, Linear")
    (c1, c, _, _), (c2, _, _, _), (k, _) = convs[0], convs[1], linears[0]
    return chosen, where, (c, c1, c2, k)


def _sequential_copy(student: Student, record, where: str) -> RemoteObject:
    ref = _call(student, COURSE, "clone", record.ref("model"), what=f"copying {where}").ref
    return RemoteObject(student, ref, "nn.Sequential")


def check_sequential_out(student: Student) -> None:
    __tracebackhide__ = True
    record, where, sizes = recorded_sequential(student)
    _setup(student, 0)
    size = image_size(student)
    reference = _seeded_module(ref_modules.three_layer_convnet_sequential(*sizes, image_size=(size, size)),
                               51)
    model = _sequential_copy(student, record, where)
    _install(student, model, _nn_arrays(reference), where)
    x = _rng(52).standard_normal((3, sizes[0], size, size))
    with torch.no_grad():
        expected = reference(torch.from_numpy(x)).numpy()
    value = _call(student, COURSE, "forward", model.ref, x, what=f"{where}, forward",
                  remember_as=where).value
    compare_arrays(f"{where}(x)", value, expected, inputs={"x": x},
                   signatures=_model_signatures(reference, x),
                   hint="Conv2d 5x5 padding 2, ReLU, Conv2d 3x3 padding 1, ReLU, Flatten, Linear, in "
                        "this order", batch_size=x.shape[0])


def _sequential_init(student: Student):
    record, where, _ = recorded_sequential(student)
    arrays = _call(student, COURSE, "layer_arrays", record.ref("model"),
                   what=f"reading the weights of {where}").value
    return judge_layers(arrays, where), _nonzero_biases(arrays, where)


def _nonzero_biases(arrays: list, where: str) -> list[str]:
    return [f"{where}: layer {index + 1}'s bias has {np.count_nonzero(bias)} nonzero entries; the "
            f"notebook starts biases at zero (zero_weight, or nn.init.zeros_)"
            for index, (_, bias) in enumerate(arrays) if bias is not None and np.count_nonzero(bias)]


def sequential_digits(channels: int, classes: int, size: int):
    """Digits for the Sequential accuracy check; Note [The observed Sequential model]."""
    from reference.datasets import load_digits_dataset
    data = load_digits_dataset(layout="NCHW")
    out = []
    # the test images as no file in the sandbox holds them (Note [Held-out test images])
    for x, y in ((data.X_train, data.y_train), (held_out.perturbed(data.X_test), data.y_test)):
        keep = y < classes
        x = training_data.fit_images(np.asarray(x[keep], dtype=np.float32), size)
        out += [np.repeat(x, channels, axis=1) if x.shape[1] != channels else x, np.asarray(y[keep])]
    return out


def _train_sequential_copy(student: Student, record, where: str, data, seed: int):
    """(history, scores) of a fresh copy of the observed model trained with minibatch seed `seed`."""
    config = SEQUENTIAL_TRAINING
    x_train, y_train, x_test, y_test = data
    _setup(student, seed)
    model = _sequential_copy(student, record, where)
    history = _call(student, COURSE, "train", model.ref, x_train, y_train, epochs=config["epochs"],
                    batch_size=config["batch_size"], learning_rate=config["learning_rate"],
                    momentum=config["momentum"], seed=seed, device=device(student),
                    timeout=config["timeout_s"], what=f"training {where} with the notebook's loop",
                    remember_as=where).value
    scores = _call(student, COURSE, "scores", model.ref, x_test, device=device(student),
                   timeout=config["timeout_s"], what=f"{where} on the test digits", remember_as=where).value
    return history, (scores.value if isinstance(scores, Converted) else scores)


def check_sequential_accuracy(student: Student) -> dict:
    """Note [The observed Sequential model]; up to SEQUENTIAL_TRIES minibatch orders, the best
    one counts (Note [Tries])."""
    __tracebackhide__ = True
    config = SEQUENTIAL_TRAINING
    record, where, (c, c1, c2, k) = recorded_sequential(student)
    size = image_size(student)
    x_train, y_train, x_test, y_test = data = sequential_digits(c, k, size)
    best = None
    for attempt in range(SEQUENTIAL_TRIES):
        history, scores = _train_sequential_copy(student, record, where, data, config["seed"] + attempt)
        if not isinstance(scores, np.ndarray) or scores.shape != (len(y_test), k):
            got = scores.shape if isinstance(scores, np.ndarray) else type(scores).__name__
            raise CheckFailure(f"scores of {where} on {len(y_test)} test digits: got {got}, expected "
                               f"({len(y_test)}, {k})")
        tried = float(np.mean(np.argmax(scores, axis=1) == y_test))
        if best is None or tried > best[0]:
            best = (tried, history, scores)
        if tried >= config["target"]:
            break
    tries = attempt + 1
    _, history, scores = best
    accuracy = float(np.mean(np.argmax(scores, axis=1) == y_test))
    losses = np.asarray(history.get("losses", []), dtype=float)
    details = {"accuracy": accuracy, "target": config["target"], "tries": tries,
               "train_images": len(y_train),
               "test_images": len(y_test), "classes": k, "sizes": [c, c1, c2, k],
               "epochs": config["epochs"], "device": history.get("device", ""),
               "train_seconds": round(float(history.get("seconds", 0.0)), 3),
               "first_loss": float(losses[0]) if losses.size else None,
               "last_loss": float(losses[-1]) if losses.size else None}
    if not accuracy >= config["target"]:
        raise CheckFailure(
            f"{where}, from its own initial weights, trained by the notebook's loop for "
            f"{config['epochs']} epochs on {len(y_train)} digits ({size} x {size}, labels below {k}), "
            f"reaches at best {accuracy:.3f} test accuracy over {tries} minibatch orders, expected at "
            f"least {config['target']:.2f}; the loss "
            f"went from {details['first_loss']} to {details['last_loss']}",
            hint="a model that does not learn has a wrong architecture (see Sequential/out) or "
                 "weights far too large or small (see Sequential/init)", details=details)
    return details


def _with_biases(judge):
    """init_fan_in for the Sequential: Kaiming fan_in weights and, as the notebook asks, zero biases."""
    def run(student: Student) -> dict:
        __tracebackhide__ = True
        judged, biases = judge(student)
        problems = [f"{name}: {j.message}" for name, j in judged.items() if not j.variant.full_marks]
        if problems or biases:
            raise CheckFailure("\n".join(problems + biases), hint=INIT_HINT + "; nn.init.zeros_(layer.bias)",
                               details={name: j.details for name, j in judged.items()})
        return {name: j.details for name, j in judged.items()}
    return run


# ===========================================================================
# The registry
# ===========================================================================

CHECKS = [
    Check("three_layer_convnet/shape", "three_layer_convnet",
          "three_layer_convnet: the notebook's zeros test gives scores of shape (N, C)", check_conv_shape),
    _function_check("three_layer_convnet", CONV_SAMPLES, _conv_reference, arg_names=("x", "params"),
                    signatures=_conv_signatures),
    _function_check("three_layer_convnet", CONV_HIDDEN_SAMPLES, _conv_reference,
                    arg_names=("x", "params"), signatures=_conv_signatures, behaviour="out_hidden",
                    hidden=True),
    Check("ThreeLayerConvNet/shape", "ThreeLayerConvNet",
          "ThreeLayerConvNet: the notebook's zeros test gives scores of shape (N, C)",
          check_convnet_shape),
    _module_out_check("ThreeLayerConvNet", _convnet, lambda size: (3, 3, size, size), 41,
                      "ThreeLayerConvNet: scores match the reference with the same weights"),
    *init_checks("ThreeLayerConvNet", "ThreeLayerConvNet", _module_init("ThreeLayerConvNet", _convnet_init)),
    Check("ThreeLayerConvNet/accuracy", "ThreeLayerConvNet",
          f"ThreeLayerConvNet: trained by the notebook's loop, at least {TRAINING['target']} test "
          f"accuracy on digits (with --data-dir: the reference's accuracy less "
          f"{training_data.MARGIN})", check_accuracy, timeout_s=TRAINING["timeout_s"]),
    Check(f"{SEQUENTIAL}/out", SEQUENTIAL,
          "Sequential: the nn.Sequential ConvNet passed to train_part34 gives the reference's scores "
          "with the same weights", check_sequential_out),
    Check(f"{SEQUENTIAL}/init", SEQUENTIAL,
          "Sequential: its weights have a Kaiming initialisation (fan_in or fan_out, gain sqrt(2) or 1)",
          lambda student: {name: j.details for name, j in _sequential_init(student)[0].items()},
          INIT_HINT),
    Check(f"{SEQUENTIAL}/init_fan_in", SEQUENTIAL,
          "Sequential: the notebook's initialisation, Kaiming fan_in with gain sqrt(2) and zero biases",
          _with_biases(_sequential_init), INIT_HINT),
    Check(f"{SEQUENTIAL}/accuracy", SEQUENTIAL,
          f"Sequential: trained by the notebook's loop, at least {SEQUENTIAL_TRAINING['target']} test "
          f"accuracy on digits", check_sequential_accuracy, timeout_s=SEQUENTIAL_TRAINING["timeout_s"]),
]
