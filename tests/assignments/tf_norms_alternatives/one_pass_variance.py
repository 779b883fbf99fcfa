"""A correct tf_norms solution written differently from the reference (appended to it, so its
definitions win): one-pass variance E[x^2] - E[x]^2, tf.math.reduce_variance, rsqrt, tf.norm,
a helper whose name says "normalize", and a comparison with the Keras layers in the same file
(which the assignment asks for and the static check must not hold against batch_norm).  The
signatures differ from the starter's too: eps under another name plus a keyword-only flag, and
a layer_norm with no eps parameter at all (its explicit-eps samples are skipped, not failed)."""

from tensorflow.keras import layers as keras_layers


def _normalize_with(x, mean, variance, gamma, beta, eps):
    return gamma * (x - mean) * tf.math.rsqrt(variance + eps) + beta


def batch_norm(x, gamma, beta, variance_epsilon=1e-3, *, training=True):
    axes = list(range(len(x.shape) - 1))
    mean = tf.reduce_mean(x, axis=axes, keepdims=True)
    variance = tf.reduce_mean(x * x, axis=axes, keepdims=True) - mean * mean
    return _normalize_with(x, mean, variance, gamma, beta, variance_epsilon)


def layer_norm(x, gamma, beta, training=None):
    axes = list(range(1, len(x.shape)))
    mean = tf.reduce_mean(x, axis=axes, keepdims=True)
    variance = tf.math.reduce_variance(x, axis=axes, keepdims=True)
    normalized = (x - mean) / tf.sqrt(variance + 1e-3)
    return gamma * normalized + beta


def weight_norm(v, g):
    columns = tf.reshape(v, [-1, v.shape[-1]])  # one column per output unit
    return v * (g / tf.norm(columns, axis=0))


def compare_with_keras(x, gamma, beta):
    """The assignment's "compare your normalization function with tensorflow Norm functions"."""
    layer = keras_layers.BatchNormalization(epsilon=1e-3)
    other = tf.keras.layers.LayerNormalization(epsilon=1e-3)
    return (tf.reduce_max(tf.abs(layer(x, training=True) - batch_norm(x, gamma, beta))),
            tf.reduce_max(tf.abs(other(x) - layer_norm(x, gamma, beta))))
