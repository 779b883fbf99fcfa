"""Checks for `pytorch` (the course's PyTorch notebook): barebones functions on raw
tensors, weight initialisation, the nn.Module and nn.Sequential networks, and
training the student's ThreeLayerConvNet to a stated accuracy on digits (or on
the instructor's data set, Note [Accuracy check]).

Why it exists: every verdict on `pytorch_nets.py` comes from here.  Outputs are
compared with the trusted PyTorch reference (reference/torch_nets) holding the
same seeded weights; initialisers are judged by the statistics of what they
draw; the trained model is judged by the accuracy the judge computes from its
scores on held-out images.  Student code runs in the worker; tensors come back
as arrays (Note [Trust boundary] in grader/worker/client.py), and the few steps
that must happen next to the model (copying weights into its layers, the
notebook's training loop) are course code shipped into the package
(assignments/pytorch/course/torch_course.py).
"""

from __future__ import annotations

import functools
import importlib.util
import math
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from grader.charts import line_chart
from grader.checks import training_data
from grader.checks.compare import Signature, compare_arrays
from grader.checks.spec import Check, CheckFailure, Sample
from grader.checks.student import RemoteObject, Student
from grader.worker.client import Converted, Opaque, Ref, StudentError
from reference.torch_nets import barebones as ref
from reference.torch_nets import modules as ref_modules

MODULE = "pytorch_nets"
COURSE = "torch_course"


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


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
    return CheckFailure(f"{what} raised {error}" + (f"\n{error.traceback}" if error.traceback else ""))


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

def _relu_missing(sample_fn: Callable[[], np.ndarray]) -> Signature:
    return Signature(lambda a, e: a.shape == e.shape and np.allclose(a, sample_fn(), rtol=1e-6, atol=1e-9),
                     "the ReLU is missing: scores are what the network gives without it")


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


FLATTEN_SAMPLES = [
    Sample("images", (_rng(1).standard_normal((2, 3, 4, 5)),)),
    Sample("N=1", (_rng(2).standard_normal((1, 3, 2, 2)),)),
    Sample("already flat", (_rng(3).standard_normal((4, 6)),)),
]


def _flatten_reference(x: np.ndarray) -> np.ndarray:
    return ref.flatten(torch.from_numpy(x)).numpy()


def _two_layer_sample(name: str, seed: int, x_shape: tuple, hidden: int, classes: int) -> Sample:
    r = _rng(seed)
    d = math.prod(x_shape[1:])
    return Sample(name, (r.standard_normal(x_shape),
                         [r.standard_normal((d, hidden)) / math.sqrt(d),
                          r.standard_normal((hidden, classes)) / math.sqrt(hidden)]))


TWO_LAYER_SAMPLES = [_two_layer_sample("images", 11, (5, 3, 4, 4), 10, 4),
                     _two_layer_sample("N=1, odd size", 12, (1, 2, 3, 3), 5, 3)]


def _two_layer_reference(x, params, relu: bool = True) -> np.ndarray:
    if relu:
        return ref.two_layer_fc(torch.from_numpy(x), _torch(params)).numpy()
    w1, w2 = _torch(params)
    return (ref.flatten(torch.from_numpy(x)).mm(w1)).mm(w2).numpy()


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
                    relu: bool = True) -> np.ndarray:
    conv_w1, conv_b1, conv_w2, conv_b2, fc_w, fc_b = _torch(params)
    act = F.relu if relu else (lambda t: t)
    h = act(F.conv2d(torch.from_numpy(x), conv_w1, conv_b1, padding=pad1))
    h = act(F.conv2d(h, conv_w2, conv_b2, padding=pad2))
    flat = ref.flatten(h)
    return (flat.mm(fc_w[:flat.shape[1]]) + fc_b).numpy()


def _conv_signatures(sample: Sample) -> list[Signature]:
    x, params = sample.args
    no_pad = functools.cache(lambda: _conv_reference(x, params, pad1=0, pad2=0))
    return [
        Signature(lambda a, e: a.shape == no_pad().shape and np.allclose(a, no_pad(), rtol=1e-6, atol=1e-9),
                  "the convolutions have no zero-padding (the first needs padding 2, the second 1; "
                  "with 'same' padding fc_w has exactly C2 * H * W rows)"),
        _relu_missing(functools.cache(lambda: _conv_reference(x, params, relu=False))),
    ]


def _two_layer_signatures(sample: Sample) -> list[Signature]:
    x, params = sample.args
    return [_relu_missing(functools.cache(lambda: _two_layer_reference(x, params, relu=False)))]


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
# Kaiming normal draws N(0, 2 / fan_in).  With n draws the sample standard
# deviation has a relative standard error of about 1 / sqrt(2n), so with
# n >= 18432 (the smallest tensor judged here) it is within 0.52% of the true
# value at one standard error; the check accepts 3% (5.7 standard errors, a
# chance below 1e-8 of failing a correct initialiser), and every tensor is
# drawn after seeding the worker's torch generator, so a submission always gets
# the same verdict.  The mean must be within 5 standard errors of 0.  The
# fan-in mistakes the course sees are all 15% or more away: fan-out (shape[1])
# instead of fan-in for (512, 256), C_in alone or all entries for a conv
# weight, PyTorch's default nn initialisation (std sqrt(1 / (3 fan_in)), 59%
# lower), and an unscaled randn.
STD_RTOL = 0.03
MEAN_STANDARD_ERRORS = 5.0


def _fan_in_mistakes(shape: tuple[int, ...], layout: str) -> dict[str, float]:
    """Standard deviations that known mistakes give, by description."""
    size = math.prod(shape)
    if len(shape) == 2:
        fan_in, fan_out = (shape[0], shape[1]) if layout == "barebones" else (shape[1], shape[0])
        wrong = {("the fan-out of this weight was used as its fan-in: a barebones (D_in, D_out) "
                  "weight's fan-in is shape[0]" if layout == "barebones" else
                  "the fan-out of this weight was used as its fan-in: nn.Linear stores (D_out, D_in), "
                  "so random_weight(layer.weight.shape), which reads shape[0], gets D_out; use "
                  "nn.init.kaiming_normal_(layer.weight)"): math.sqrt(2 / fan_out)}
    else:
        fan_in = math.prod(shape[1:])
        wrong = {"fan_in = C_in only; a conv weight's fan-in is C_in * KH * KW":
                     math.sqrt(2 / shape[1]),
                 "fan_in = C_out; a conv weight's fan-in is C_in * KH * KW (shape[1:])":
                     math.sqrt(2 / shape[0]),
                 "fan_in = all entries of the weight; it is C_in * KH * KW": math.sqrt(2 / size)}
    wrong["the weights are not scaled: std 1 instead of sqrt(2 / fan_in)"] = 1.0
    wrong["this is PyTorch's default initialisation: nn.init.kaiming_normal_ was not applied"] = \
        math.sqrt(1 / (3 * fan_in))
    wrong["std 2 / fan_in: the variance was used as the standard deviation"] = 2 / fan_in
    wrong["std sqrt(1 / fan_in): the factor 2 of Kaiming (ReLU) initialisation is missing"] = \
        math.sqrt(1 / fan_in)
    return wrong


def judge_init(name: str, weights: np.ndarray, shape: tuple[int, ...], fan_in: int,
               layout: str, hint: str) -> dict:
    """Kaiming-normal statistics of `weights`; Note [Initialisation statistics]."""
    weights = np.asarray(weights, dtype=np.float64)
    if weights.shape != tuple(shape):
        raise CheckFailure(f"{name}: shape {weights.shape}, expected {tuple(shape)}", hint=hint)
    expected = math.sqrt(2.0 / fan_in)
    std, mean = float(weights.std()), float(weights.mean())
    details = {"std": std, "expected_std": expected, "mean": mean, "entries": int(weights.size)}
    if abs(std / expected - 1) > STD_RTOL:
        found = [text for text, wrong in _fan_in_mistakes(shape, layout).items()
                 if abs(std / wrong - 1) <= STD_RTOL]
        raise CheckFailure(
            f"{name}: standard deviation {std:.4g}, expected sqrt(2 / fan_in) = sqrt(2 / {fan_in}) = "
            f"{expected:.4g} (off by {100 * (std / expected - 1):+.1f}%, accepted {100 * STD_RTOL:g}%; "
            f"{weights.size} entries, shape {tuple(shape)})"
            + "".join(f"\nlooks like: {text}" for text in found), hint=hint, details=details)
    limit = MEAN_STANDARD_ERRORS * expected / math.sqrt(weights.size)
    if abs(mean) > limit:
        raise CheckFailure(f"{name}: mean {mean:.3g}, expected 0 (within {limit:.2g} for "
                           f"{weights.size} draws): the weights should be centred at zero",
                           hint=hint, details=details)
    return details


INIT_HINT = "Kaiming normal: torch.randn(shape) * sqrt(2 / fan_in)"


def _random_weight_check(shape: tuple[int, ...], behaviour: str, seed: int) -> Check:
    fan_in = shape[0] if len(shape) == 2 else math.prod(shape[1:])

    def run(student: Student) -> dict:
        __tracebackhide__ = True
        _setup(student, seed)
        value = _call(student, MODULE, "random_weight", shape, what=f"`random_weight({shape})`").value
        if isinstance(value, Converted):
            value = value.value
        if not isinstance(value, np.ndarray):
            raise CheckFailure(f"random_weight{shape} returned "
                               f"{value.type_name if isinstance(value, Opaque) else type(value).__name__}, "
                               f"expected a tensor")
        return judge_init(f"random_weight({shape})", value, shape, fan_in, "barebones", INIT_HINT)

    kind = "fully-connected (D_in, D_out)" if len(shape) == 2 else "conv (C_out, C_in, KH, KW)"
    return Check(f"random_weight/{behaviour}", "random_weight",
                 f"random_weight: Kaiming-normal statistics of a {kind} weight", run, INIT_HINT)


def _leaf_facts(student: Student, function: str, shape: tuple[int, ...]) -> tuple[dict, object]:
    result = _call(student, MODULE, function, shape, what=f"`{function}({shape})`")
    facts = _call(student, COURSE, "tensor_facts", result.ref, what="inspecting the tensor").value
    if facts.get("type") != "Tensor":
        raise CheckFailure(f"{function}{shape} returned {facts.get('type')}, expected a torch tensor")
    value = result.value.value if isinstance(result.value, Converted) else result.value
    problems = []
    if facts["shape"] != list(shape):
        problems.append(f"shape {tuple(facts['shape'])}, expected {shape}")
    if facts["dtype"] != "float32":
        problems.append(f"dtype {facts['dtype']}, expected float32 (the notebook's dtype)")
    if not facts["requires_grad"]:
        problems.append("requires_grad is False: autograd will not compute its gradient")
    if not facts["is_leaf"]:
        problems.append("it is not a leaf tensor (was requires_grad set before scaling? "
                        "`torch.randn(..., requires_grad=True) * std` is the result of an "
                        "operation, so `.grad` stays None): set requires_grad after scaling")
    if problems:
        raise CheckFailure(f"{function}{shape}: " + "; ".join(problems), details=facts)
    return facts, value


def check_random_weight_leaf(student: Student) -> dict:
    __tracebackhide__ = True
    _setup(student, 0)
    facts, _ = _leaf_facts(student, "random_weight", (3, 5))
    return facts


def check_zero_weight(student: Student) -> dict:
    __tracebackhide__ = True
    _setup(student)
    for shape in ((7,), (2, 3)):
        facts, value = _leaf_facts(student, "zero_weight", shape)
        if np.count_nonzero(np.asarray(value)):
            raise CheckFailure(f"zero_weight{shape}: {np.count_nonzero(value)} of {np.size(value)} "
                               f"entries are not zero", details=facts)
    return facts


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


def _module_out_check(function: str, build: Callable[[int], tuple[tuple, torch.nn.Module]],
                      x_shape: Callable[[int], tuple], seed: int, title: str,
                      sequential: bool = False) -> Check:
    def run(student: Student) -> None:
        __tracebackhide__ = True
        _setup(student, 0)
        size = image_size(student)
        args, reference = build(size)
        reference = _seeded_module(reference, seed)
        model = _model(student, function, *args)
        if sequential:
            facts = _call(student, COURSE, "describe", model.ref, what="inspecting the model").value
            if not facts.get("is_sequential"):
                raise CheckFailure(f"{function}{args} returned {facts.get('class')}, expected an "
                                   f"nn.Sequential")
        signature = f"{function}({', '.join(map(str, args))})"
        _install(student, model, _nn_arrays(reference), signature)
        x = _rng(seed + 1).standard_normal(x_shape(size))
        with torch.no_grad():
            expected = reference(torch.from_numpy(x)).numpy()
        value = _call(student, COURSE, "forward", model.ref, x, what=f"{signature} forward").value
        compare_arrays(f"{signature}(x)", value, expected, inputs={"x": x},
                       hint="compare the layers, their order, padding and the ReLUs with the "
                            "notebook's architecture", batch_size=x.shape[0])

    return Check(f"{function}/out", function, title, run)


def _module_init_check(function: str, build: Callable[[int], tuple], title: str,
                       zero_bias: bool = False) -> Check:
    """Kaiming-normal weights of every Conv2d/Linear layer (nn layout: fan-in is shape[1:])."""

    def run(student: Student) -> dict:
        __tracebackhide__ = True
        _setup(student, 0)
        args, layer_shapes = build(image_size(student))
        model = _model(student, function, *args)
        signature = f"{function}({', '.join(map(str, args))})"
        arrays = _call(student, COURSE, "layer_arrays", model.ref,
                       what=f"reading {signature}'s weights").value
        found = [tuple(np.shape(w)) for w, _ in arrays]
        if sorted(found) != sorted(s for s, _ in layer_shapes):
            raise CheckFailure(f"{signature}: Conv2d/Linear weight shapes {found}, expected "
                               f"{[s for s, _ in layer_shapes]}")
        # Matched by shape, as load_layers does (Note [Layers in order] in course/torch_course.py).
        by_shape = {shape: arrays[found.index(shape)] for shape, _ in layer_shapes}
        details = {}
        for index, (shape, judged) in enumerate(layer_shapes):
            weight, bias = by_shape[shape]
            name = f"{signature}: layer {index + 1} weight {shape}"
            if judged:
                details[f"layer{index + 1}"] = judge_init(name, weight, shape, math.prod(shape[1:]),
                                                          "nn", "nn.init.kaiming_normal_(layer.weight)")
            if zero_bias and bias is not None and np.count_nonzero(bias):
                raise CheckFailure(f"{signature}: layer {index + 1}'s bias has "
                                   f"{np.count_nonzero(bias)} nonzero entries; biases start at zero "
                                   f"(as zero_weight makes them)",
                                   hint="nn.init.zeros_(layer.bias)")
        return details

    return Check(f"{function}/init", function, title, run)


def _two_layer_fc(size: int):
    return (48, 10, 4), ref_modules.TwoLayerFC(48, 10, 4)


def _convnet(size: int):
    return (3, 4, 5, 6), ref_modules.ThreeLayerConvNet(3, 4, 5, 6, image_size=(size, size))


def _convnet_sequential(size: int):
    return (3, 4, 5, 6), ref_modules.three_layer_convnet_sequential(3, 4, 5, 6, image_size=(size, size))


# Sizes for the initialisation checks: every judged tensor has >= 18432 entries
# (Note [Initialisation statistics]).
def _two_layer_init(size: int):
    return (1024, 512, 64), [((512, 1024), True), ((64, 512), True)]


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
                  what="ThreeLayerConvNet(3, 12, 8, 6) forward").value
    actual = value.value if isinstance(value, Converted) else value
    if not isinstance(actual, np.ndarray) or actual.shape != (4, 6):
        got = actual.shape if isinstance(actual, np.ndarray) else type(actual).__name__
        raise CheckFailure(f"ThreeLayerConvNet(in_channel=3, channel_1=12, channel_2=8, num_classes=6) "
                           f"on zeros of shape (4, 3, {size}, {size}) gave {got}, expected scores "
                           f"of shape (4, 6)")


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
    x_test = training_data.fit_images(data.x_test, size)
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
                    timeout=config["timeout_s"],
                    what="training your ThreeLayerConvNet with the notebook's loop").value
    scores = _call(student, COURSE, "scores", model.ref, x_test, device=where,
                   timeout=config["timeout_s"],
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
# The registry
# ===========================================================================

CHECKS = [
    _function_check("flatten", FLATTEN_SAMPLES, _flatten_reference, arg_names=("x",),
                    output="flattened x", hint="x.view(N, -1) or x.reshape(N, -1), N = x.shape[0]"),
    _function_check("two_layer_fc", TWO_LAYER_SAMPLES, _two_layer_reference, arg_names=("x", "params"),
                    signatures=_two_layer_signatures),
    Check("three_layer_convnet/shape", "three_layer_convnet",
          "three_layer_convnet: the notebook's zeros test gives scores of shape (N, C)", check_conv_shape),
    _function_check("three_layer_convnet", CONV_SAMPLES, _conv_reference, arg_names=("x", "params"),
                    signatures=_conv_signatures),
    _function_check("three_layer_convnet", CONV_HIDDEN_SAMPLES, _conv_reference,
                    arg_names=("x", "params"), signatures=_conv_signatures, behaviour="out_hidden",
                    hidden=True),
    _random_weight_check((512, 256), "fc_std", seed=1),
    _random_weight_check((64, 32, 3, 3), "conv_std", seed=2),
    Check("random_weight/leaf", "random_weight",
          "random_weight: a float32 leaf tensor that requires grad", check_random_weight_leaf),
    Check("zero_weight/zeros", "zero_weight",
          "zero_weight: a float32 leaf tensor of zeros that requires grad", check_zero_weight),
    _module_out_check("TwoLayerFC", _two_layer_fc, lambda size: (5, 3, 4, 4), 31,
                      "TwoLayerFC: scores match the reference with the same weights"),
    _module_init_check("TwoLayerFC", _two_layer_init, "TwoLayerFC: Kaiming-normal weights"),
    Check("ThreeLayerConvNet/shape", "ThreeLayerConvNet",
          "ThreeLayerConvNet: the notebook's zeros test gives scores of shape (N, C)",
          check_convnet_shape),
    _module_out_check("ThreeLayerConvNet", _convnet, lambda size: (3, 3, size, size), 41,
                      "ThreeLayerConvNet: scores match the reference with the same weights"),
    _module_init_check("ThreeLayerConvNet", _convnet_init, "ThreeLayerConvNet: Kaiming-normal weights"),
    Check("ThreeLayerConvNet/accuracy", "ThreeLayerConvNet",
          f"ThreeLayerConvNet: trained by the notebook's loop, at least {TRAINING['target']} test "
          f"accuracy on digits (with --data-dir: the reference's accuracy less "
          f"{training_data.MARGIN})", check_accuracy, timeout_s=TRAINING["timeout_s"]),
    _module_out_check("three_layer_convnet_sequential", _convnet_sequential,
                      lambda size: (3, 3, size, size), 51,
                      "three_layer_convnet_sequential: an nn.Sequential whose scores match the "
                      "reference with the same weights", sequential=True),
    _module_init_check("three_layer_convnet_sequential", _convnet_init,
                       "three_layer_convnet_sequential: Kaiming-normal weights and zero biases",
                       zero_bias=True),
]
