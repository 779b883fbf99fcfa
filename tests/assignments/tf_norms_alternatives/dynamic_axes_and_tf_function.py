"""A correct tf_norms solution written differently (appended to the reference, so its
definitions win), in idioms the lab's basic-ops rule allows: every function compiled with
@tf.function; the statistics as tf.reduce_sum / count with the count from tf.shape and
tf.cast, eps cast to x's dtype; the per-channel axes built at run time with tf.range(tf.rank);
layer norm through a reshape to (N, -1) and back; weight norm as
tf.sqrt(tf.reduce_sum(tf.square(v), axes)) over the same run-time axes, written as
g * v / norm."""


@tf.function
def batch_norm(x, gamma, beta, eps=1e-3):
    x = tf.convert_to_tensor(x)
    axes = tf.range(tf.rank(x) - 1)
    count = tf.cast(tf.reduce_prod(tf.shape(x)[:-1]), x.dtype)
    mean = tf.reduce_sum(x, axis=axes, keepdims=True) / count
    centered = x - mean
    var = tf.reduce_sum(tf.square(centered), axis=axes, keepdims=True) / count
    return gamma * centered / tf.sqrt(var + tf.cast(eps, x.dtype)) + beta


@tf.function
def layer_norm(x, gamma, beta, eps=1e-3):
    x = tf.convert_to_tensor(x)
    shape = tf.shape(x)
    flat = tf.reshape(x, [shape[0], -1])
    mean = tf.reduce_mean(flat, axis=1, keepdims=True)
    var = tf.reduce_mean(tf.square(flat - mean), axis=1, keepdims=True)
    normalized = tf.reshape((flat - mean) / tf.sqrt(var + eps), shape)
    return normalized * gamma + beta


@tf.function
def weight_norm(v, g):
    v = tf.convert_to_tensor(v)
    norm = tf.sqrt(tf.reduce_sum(tf.square(v), axis=tf.range(tf.rank(v) - 1)))
    return g * v / norm
