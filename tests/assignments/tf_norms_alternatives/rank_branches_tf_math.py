"""A correct tf_norms solution written differently (appended to the reference, so its definitions
win), branching on the input's rank as the lab's two layouts invite: explicit axes per layout
([0] or [0, 1, 2]; [1] or [1, 2, 3]) read from `x.shape.rank`; tf.math spellings
(tf.math.reduce_mean, tf.math.squared_difference, tf.math.rsqrt, tf.math.multiply /
tf.math.add); statistics reshaped to broadcast by hand instead of keepdims; the arithmetic in
float64 and cast back to the input's dtype; weight norm by tf.norm(axis=0) for a dense kernel
and tf.sqrt(tf.reduce_sum(v * v, (0, 1, 2))) for a conv kernel, computed as v / norm * g; a
`training` flag that the functions accept and ignore."""


def _channel_axes(x):
    return [0] if x.shape.rank == 2 else [0, 1, 2]


def batch_norm(x, gamma, beta, eps=1e-3, training=True):
    dtype = x.dtype
    x64 = tf.cast(x, tf.float64)
    axes = _channel_axes(x)
    mean = tf.math.reduce_mean(x64, axis=axes)
    var = tf.math.reduce_mean(tf.math.squared_difference(x64, mean), axis=axes)
    scale = tf.math.multiply(tf.cast(gamma, tf.float64), tf.math.rsqrt(var + eps))
    out = tf.math.add(tf.math.multiply(x64 - mean, scale), tf.cast(beta, tf.float64))
    return tf.cast(out, dtype)


def layer_norm(x, gamma, beta, eps=1e-3, training=True):
    if x.shape.rank == 2:
        axes, stat_shape = [1], [-1, 1]
    else:
        axes, stat_shape = [1, 2, 3], [-1, 1, 1, 1]
    mean = tf.reshape(tf.math.reduce_mean(x, axis=axes), stat_shape)
    var = tf.reshape(tf.math.reduce_mean(tf.math.squared_difference(x, mean), axis=axes), stat_shape)
    return gamma * (x - mean) * tf.math.rsqrt(var + eps) + beta


def weight_norm(v, g):
    if len(v.shape) == 2:
        norm = tf.norm(v, ord="euclidean", axis=0)
    else:
        norm = tf.sqrt(tf.reduce_sum(v * v, axis=(0, 1, 2)))
    return v / norm * g
