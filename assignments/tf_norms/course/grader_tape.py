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

Staged by the manifest's `replace:` (grader/locate.py Note [Staging]), so a
submitted file of the same name is ignored.
"""

from __future__ import annotations

import importlib

import tensorflow as tf

# float32 at full precision on a GPU: no TF32 in matrix products and convolutions
# (the grader's Note [Same numbers on a GPU]; NVIDIA_TF32_OVERRIDE=0 says the same).
tf.config.experimental.enable_tensor_float_32_execution(False)


def _function(module: str, name: str):
    return getattr(importlib.import_module(module), name)


def call_with_tensors(module: str, name: str, arrays: list, extra: list = (), keywords: dict | None = None):
    """`module.name(*tensors, *extra, **keywords)`, each array of `arrays` as a tf.constant."""
    return _function(module, name)(*[tf.constant(a) for a in arrays], *extra, **(keywords or {}))


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
        out = tf.convert_to_tensor(_function(module, name)(*tensors, *extra, **(keywords or {})))
        objective = tf.reduce_sum(out * tf.cast(tf.constant(dout), out.dtype))
    gradients = tape.gradient(objective, tensors)
    return {"out": out.numpy(),
            "grads": [None if g is None else tf.convert_to_tensor(g).numpy() for g in gradients]}
