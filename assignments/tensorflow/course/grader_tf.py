"""Course helpers the grader ships into every `tensorflow` submission (grader/submission/stage.py Note [Staging]).

Why it exists: the worker only calls named functions on plain data, while the
notebook's functions take tf.Tensor inputs and lists of tf.Variables, and its
models are trained by the notebook's own loop (`train_part34`, course code, not
student work).  These run inside the worker, next to the student's code; they
compute no verdict (the judge compares what comes back with the reference).
"""

from __future__ import annotations

import importlib

import numpy as np
import tensorflow as tf

# float32 at full precision on a GPU: no TF32 in matrix products and convolutions
# (the grader's Note [Same numbers on a GPU]; NVIDIA_TF32_OVERRIDE=0 says the same).
tf.config.experimental.enable_tensor_float_32_execution(False)


def _tensors(value):
    if isinstance(value, np.ndarray):
        return tf.constant(value)
    if isinstance(value, (list, tuple)):
        return [_tensors(v) for v in value]
    return value


def call_with_tensors(module: str, name: str, args: list):
    """`module.name(*args)` with every array in `args` (lists included) as a tf.constant."""
    return getattr(importlib.import_module(module), name)(*_tensors(args))


def build(model_init_fn, seed: int | None = None):
    """`model_init_fn()`: a fresh model from the notebook's recorded function (its own weights),
    every generator seeded first when `seed` is given (Note [Seeded model_init_fn] in checks.py)."""
    if seed is not None:
        # Python's `random` (Keras 3 draws each initializer's default seed from it), numpy's
        # global generator, TensorFlow's global seed and Keras' own SeedGenerator
        import random
        random.seed(seed)
        np.random.seed(seed)
        tf.random.set_seed(seed)
        try:
            tf.keras.utils.set_random_seed(seed)
        except Exception:  # a Keras without it: the three above are what it sets
            pass
    return model_init_fn()


def set_weights_by_shape(model, weights: list) -> list:
    """Give `model` the arrays of `weights`, each to the model weight of its shape.

    The notebook does not fix the order in which a model creates its layers, so
    weights are matched by shape (the three-layer ConvNet's six shapes are
    distinct when channel_1, channel_2 and num_classes are).  Returns the
    model's weight shapes in its own order.
    """
    current = model.get_weights()
    by_shape = {tuple(np.shape(w)): w for w in weights}
    model.set_weights([by_shape.get(tuple(w.shape), w) for w in current])
    return [list(w.shape) for w in current]


def train(model, x, y, steps: int = 200, batch_size: int = 64, learning_rate: float = 1e-3,
          seed: int = 0) -> list:
    """The notebook's Keras training loop, shortened: Adam, sparse cross-entropy on softmax outputs.

    Returns the per-step losses.
    """
    optimizer = tf.keras.optimizers.Adam(learning_rate)
    loss_fn = tf.keras.losses.SparseCategoricalCrossentropy()
    rng = np.random.default_rng(seed)
    x, y = np.asarray(x, np.float32), np.asarray(y, np.int64)

    @tf.function  # one trace; eager Keras steps cost several times more on CPU
    def step(images, labels):
        with tf.GradientTape() as tape:
            loss = loss_fn(labels, model(images, training=True))
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        return loss

    losses = []
    for _ in range(steps):
        batch = rng.choice(len(x), batch_size, replace=False)
        losses.append(float(step(tf.constant(x[batch]), tf.constant(y[batch]))))
    return losses
