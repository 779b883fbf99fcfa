"""A small CNN with a choice of normalization, trained with GradientTape: the IST597 reference network.

The IST597 assignment asks students to plug their own batch, layer and weight
normalization (written from basic ops) into a CNN, train it with
`tf.GradientTape` and compare runs with and without normalization.  This module
is that network with `reference.tf_nets.norms`, small enough to train on CPU in
seconds on 8x8 digits and general enough for 28x28x1 and 32x32x3 images.

Architecture (inputs NHWC, all padding 'SAME'):

    [conv3x3 - norm - relu - maxpool2x2] x len(channels)
    - flatten - dense(hidden) - norm - relu - dense(num_classes) -> scores

Spatial sizes after each pool are ceil(size / 2): 8 -> 4 -> 2, 28 -> 14 -> 7,
32 -> 16 -> 8.

Public API:

- `NORMALIZATIONS`: the accepted `normalization` values.
- `NormalizedCNN(input_shape, num_classes, normalization, ...)`: a `tf.Module`
  whose parameters are `tf.Variable`s; `model(x, training)` -> scores (N, K).
- `train(model, x, y, ...)` -> `TrainHistory` (per-step loss and minibatch accuracy).
- `evaluate(model, x, y)` -> accuracy in [0, 1].
- `predict(model, x)` -> labels (N,).

Device: no op here names a device.  TensorFlow places ops on the GPU
automatically when one is visible, so `train` uses a GPU with no change; the
course notebooks' `with tf.device(...)` is only needed to force a placement.

# Note [Which layers get normalized]
'batch' and 'layer' normalize the pre-activations of every conv layer and of the
hidden dense layer, never the output scores.  'weight' reparameterizes every
kernel, the output layer's included, as w = g * v / ||v|| (Salimans & Kingma
apply it to all layers); the optimizer then updates v and g, not w.  Biases stay
in every layer; with batch/layer norm they are redundant with beta but harmless,
and keeping them makes the four variants differ only in the normalization.

# Note [Weight-norm initialization]
v starts from the same He-normal draw as the plain kernel and g starts at
||v|| per unit, so at step 0 the weight-normalized network computes exactly the
function of the unnormalized one with the same seed.  Differences in training
are then due to the reparameterization alone.

# Note [Running statistics for batch norm]
Batch norm needs statistics at test time that do not depend on the rest of the
test batch, so each batch-norm site keeps a running mean and variance (non-
trainable `tf.Variable`s) updated at every training step as an exponential
moving average of the biased batch statistics, as Keras does:
    running = momentum * running + (1 - momentum) * batch.
Keras' default momentum is 0.99, tuned for long training; our runs are a few
hundred steps, after which 0.99 would still carry (0.99**300 = 5%) of the
initial (0, 1) guess.  We use 0.9 (0.9**300 ~ 2e-14).  `model(x, training=False)`
uses the running statistics; `training=True` uses the batch's own and updates
the running ones.  Layer norm and weight norm behave the same in both modes.

# Note [Seeded and graph-compiled training]
Initial weights come from a `tf.random.Generator` seeded by the model's `seed`,
and minibatches from a numpy generator seeded by `train`'s `seed`, so a run is
reproducible without touching TensorFlow's global seed.  The training step is
wrapped in `tf.function` (traced once per `train` call: every minibatch has
exactly `batch_size` examples; the remainder of an epoch is dropped), which
makes a step on 8x8 digits several times cheaper than eager execution, whose
Keras optimizer update alone costs tens of milliseconds.  The optimizer's slot
variables are built eagerly before tracing, which roughly halves the ~1.5 s
trace on CPU.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from reference.tf_nets import norms

__all__ = [
    "NORMALIZATIONS",
    "NormalizedCNN",
    "TrainHistory",
    "train",
    "evaluate",
    "predict",
]

NORMALIZATIONS = ("batch", "layer", "weight", None)

# See Note [Running statistics for batch norm].
BATCH_NORM_MOMENTUM = 0.9


def _he_normal(generator: tf.random.Generator, shape: list[int], dtype) -> tf.Tensor:
    """Kaiming/He normal draw: N(0, 2 / fan_in), fan_in = product of all axes but the last."""
    fan_in = math.prod(shape[:-1])
    return generator.normal(shape, dtype=dtype) * math.sqrt(2.0 / fan_in)


class _Linear(tf.Module):
    """A conv (HWIO kernel) or dense ((in, out) kernel) layer, optionally weight-normalized.

    Holds `b` (out,) and either `w` or the pair `v`, `g`; see Note [Which layers
    get normalized] and Note [Weight-norm initialization].
    """

    def __init__(self, kernel_shape: list[int], weight_normalized: bool, generator, dtype, name: str):
        super().__init__(name=name)
        initial = _he_normal(generator, kernel_shape, dtype)
        self.weight_normalized = weight_normalized
        if weight_normalized:
            self.v = tf.Variable(initial, name="v")
            fan_in_axes = list(range(len(kernel_shape) - 1))
            self.g = tf.Variable(tf.sqrt(tf.reduce_sum(tf.square(initial), axis=fan_in_axes)), name="g")
        else:
            self.w = tf.Variable(initial, name="w")
        self.b = tf.Variable(tf.zeros([kernel_shape[-1]], dtype=dtype), name="b")

    def kernel(self) -> tf.Tensor:
        """The effective kernel w, shaped like the kernel_shape given at construction."""
        if self.weight_normalized:
            return norms.weight_norm(self.v, self.g)
        return self.w


class _Conv(_Linear):
    """3x3 'SAME' convolution, stride 1.  x: (N, H, W, C_in) -> (N, H, W, C_out)."""

    def __call__(self, x: tf.Tensor) -> tf.Tensor:
        return tf.nn.conv2d(x, self.kernel(), strides=1, padding="SAME") + self.b


class _Dense(_Linear):
    """Affine layer.  x: (N, D_in) -> (N, D_out)."""

    def __call__(self, x: tf.Tensor) -> tf.Tensor:
        return tf.matmul(x, self.kernel()) + self.b


class _ActivationNorm(tf.Module):
    """Batch or layer norm over a layer's pre-activations, with per-channel gamma/beta (C,).

    Batch norm also holds running statistics; see Note [Running statistics for batch norm].
    """

    def __init__(self, kind: str, channels: int, dtype, name: str):
        super().__init__(name=name)
        self.kind = kind
        self.gamma = tf.Variable(tf.ones([channels], dtype=dtype), name="gamma")
        self.beta = tf.Variable(tf.zeros([channels], dtype=dtype), name="beta")
        if kind == "batch":
            zeros, ones = tf.zeros([channels], dtype=dtype), tf.ones([channels], dtype=dtype)
            self.moving_mean = tf.Variable(zeros, trainable=False, name="moving_mean")
            self.moving_variance = tf.Variable(ones, trainable=False, name="moving_variance")

    def __call__(self, x: tf.Tensor, training: bool) -> tf.Tensor:
        """x: (N, C) or (N, H, W, C) -> same shape."""
        if self.kind == "layer":
            return norms.layer_norm(x, self.gamma, self.beta)
        if not training:
            return norms.batch_norm_inference(x, self.gamma, self.beta, self.moving_mean, self.moving_variance)
        self._update_running_statistics(x)
        return norms.batch_norm(x, self.gamma, self.beta)

    def _update_running_statistics(self, x: tf.Tensor) -> None:
        mean, variance = norms.batch_moments(tf.stop_gradient(x))
        keep = BATCH_NORM_MOMENTUM
        self.moving_mean.assign(keep * self.moving_mean + (1.0 - keep) * mean)
        self.moving_variance.assign(keep * self.moving_variance + (1.0 - keep) * variance)


class NormalizedCNN(tf.Module):
    """Conv blocks, a hidden dense layer and a score layer; normalization chosen at construction.

    input_shape: (H, W, C) of one example, e.g. (8, 8, 1), (28, 28, 1), (32, 32, 3).
    num_classes: K, the number of scores.
    normalization: one of NORMALIZATIONS ('batch', 'layer', 'weight' or None).
    channels: output channels of each conv block (one block per entry).
    hidden: width of the hidden dense layer.
    seed: seeds the initial weights; see Note [Seeded and graph-compiled training].
    dtype: tf.float32 (default) or tf.float64.

    `model(x, training=False)`: x (N, H, W, C) -> scores (N, K), unnormalized logits.
    """

    def __init__(
        self,
        input_shape: tuple[int, int, int] = (8, 8, 1),
        num_classes: int = 10,
        normalization: str | None = None,
        channels: tuple[int, ...] = (16, 32),
        hidden: int = 64,
        seed: int = 0,
        dtype=tf.float32,
    ):
        super().__init__(name="normalized_cnn")
        if normalization not in NORMALIZATIONS:
            raise ValueError(f"normalization must be one of {NORMALIZATIONS}, got {normalization!r}")
        self.input_shape = tuple(input_shape)
        self.normalization = normalization
        self.dtype = tf.as_dtype(dtype)
        generator = tf.random.Generator.from_seed(seed)
        weight_normalized = normalization == "weight"

        height, width, in_channels = self.input_shape
        self.convs, self.conv_norms = [], []
        for index, out_channels in enumerate(channels):
            kernel_shape = [3, 3, in_channels, out_channels]
            self.convs.append(_Conv(kernel_shape, weight_normalized, generator, self.dtype, f"conv{index}"))
            self.conv_norms.append(self._activation_norm(out_channels, f"conv{index}_norm"))
            in_channels = out_channels
            height, width = math.ceil(height / 2), math.ceil(width / 2)

        flat = height * width * in_channels
        self.hidden = _Dense([flat, hidden], weight_normalized, generator, self.dtype, "hidden")
        self.hidden_norm = self._activation_norm(hidden, "hidden_norm")
        self.scores = _Dense([hidden, num_classes], weight_normalized, generator, self.dtype, "scores")

    def _activation_norm(self, channels: int, name: str) -> _ActivationNorm | None:
        """A batch/layer-norm site, or None; see Note [Which layers get normalized]."""
        if self.normalization in ("batch", "layer"):
            return _ActivationNorm(self.normalization, channels, self.dtype, name)
        return None

    def __call__(self, x, training: bool = False) -> tf.Tensor:
        """x: (N, H, W, C) -> scores (N, K).  `training` selects batch norm's statistics."""
        x = tf.convert_to_tensor(x, dtype=self.dtype)
        for conv, norm in zip(self.convs, self.conv_norms):
            x = conv(x)
            if norm is not None:
                x = norm(x, training)
            x = tf.nn.relu(x)
            x = tf.nn.max_pool2d(x, ksize=2, strides=2, padding="SAME")
        x = tf.reshape(x, [tf.shape(x)[0], -1])
        x = self.hidden(x)
        if self.hidden_norm is not None:
            x = self.hidden_norm(x, training)
        x = tf.nn.relu(x)
        return self.scores(x)


@dataclass(frozen=True)
class TrainHistory:
    """What `train` observed: one entry per step, on that step's minibatch (before its update)."""
    loss: tuple[float, ...]
    accuracy: tuple[float, ...]
    seconds: float


def _minibatch_indices(num_examples: int, batch_size: int, steps: int, rng: np.random.Generator):
    """Yield `steps` index arrays of exactly `batch_size`, reshuffling each epoch (remainder dropped)."""
    per_epoch = num_examples // batch_size
    if per_epoch == 0:
        raise ValueError(f"batch_size {batch_size} exceeds the {num_examples} training examples")
    produced = 0
    while produced < steps:
        order = rng.permutation(num_examples)
        for start in range(0, per_epoch * batch_size, batch_size):
            if produced == steps:
                return
            yield order[start:start + batch_size]
            produced += 1


def _make_train_step(model: NormalizedCNN, optimizer):
    """One compiled step: forward (training=True), mean cross-entropy, backward, update."""
    variables = model.trainable_variables
    if not optimizer.built:
        optimizer.build(variables)  # eagerly: building inside the trace costs ~1 s more

    @tf.function
    def step(x, y):
        with tf.GradientTape() as tape:
            scores = model(x, training=True)
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=scores))
        gradients = tape.gradient(loss, variables)
        optimizer.apply_gradients(zip(gradients, variables))
        correct = tf.cast(tf.equal(tf.argmax(scores, axis=1, output_type=y.dtype), y), tf.float32)
        return loss, tf.reduce_mean(correct)

    return step


def train(
    model: NormalizedCNN,
    x,
    y,
    *,
    steps: int = 300,
    batch_size: int = 64,
    learning_rate: float = 1e-2,
    optimizer=None,
    seed: int = 0,
) -> TrainHistory:
    """Train `model` in place with minibatch gradient descent and GradientTape.

    x: (N, H, W, C) float array; y: (N,) integer labels in [0, K).
    steps: number of updates; batch_size: examples per update (remainder dropped).
    optimizer: any Keras optimizer; default Adam(learning_rate).
    seed: seeds the minibatch order; see Note [Seeded and graph-compiled training].
    Returns a TrainHistory with `steps` losses and minibatch accuracies.
    """
    x = np.asarray(x, dtype=model.dtype.as_numpy_dtype)
    y = np.asarray(y, dtype=np.int64)
    if optimizer is None:
        optimizer = tf.keras.optimizers.Adam(learning_rate=learning_rate)
    step = _make_train_step(model, optimizer)
    rng = np.random.default_rng(seed)
    losses, accuracies = [], []
    start = time.perf_counter()
    for indices in _minibatch_indices(len(x), batch_size, steps, rng):
        loss, accuracy = step(tf.constant(x[indices]), tf.constant(y[indices]))
        losses.append(float(loss))
        accuracies.append(float(accuracy))
    return TrainHistory(loss=tuple(losses), accuracy=tuple(accuracies), seconds=time.perf_counter() - start)


def predict(model: NormalizedCNN, x, batch_size: int = 512) -> np.ndarray:
    """Predicted labels (N,) int64 for x (N, H, W, C), test-mode (running statistics)."""
    x = np.asarray(x, dtype=model.dtype.as_numpy_dtype)
    labels = [
        tf.argmax(model(x[start:start + batch_size], training=False), axis=1).numpy()
        for start in range(0, len(x), batch_size)
    ]
    return np.concatenate(labels) if labels else np.zeros([0], dtype=np.int64)


def evaluate(model: NormalizedCNN, x, y, batch_size: int = 512) -> float:
    """Fraction of x (N, H, W, C) whose predicted label equals y (N,), in test mode."""
    return float(np.mean(predict(model, x, batch_size) == np.asarray(y)))
