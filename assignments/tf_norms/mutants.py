"""Fixtures of `tf_norms` (Note [Mutants] in grader/course/mutants.py): the solution, and one
realistic mistake each in the graded functions, and two outside the lab's contract that only
the advisories see (`advisory=True`, Note [Mutants] in grader/course/mutants.py).

The solution is reference/tf_nets norms.py and cnn.py joined into the one file a
student submits (Note [Joined solutions]).  Each mutant must cost points on its
target and nowhere else but the functions in its `may_affect` (an advisory one: fail an
advisory of its target and cost nothing); `grade selftest -a
tf_norms` and tests/assignments/test_tf_norms.py grade them.  Data only; never part
of what students receive.
"""

from grader.course.mutants import REFERENCE, Bug, Solution

FILE = "normalization.py"
SOLUTION = Solution(REFERENCE / "tf_nets" / "norms.py", name=FILE,
                    join=(REFERENCE / "tf_nets" / "cnn.py",))

MODEL = "NormalizedCNN"
BN_BODY = ("    mean, variance = _mean_and_variance(x, _all_axes_but_last(x.shape.rank))\n"
           "    return _scale_and_shift(x, mean, variance, gamma, beta, eps)")

MUTANTS = [
    Bug("batch norm: eps outside the square root", FILE, BN_BODY,
        "    mean, variance = _mean_and_variance(x, _all_axes_but_last(x.shape.rank))\n"
        "    return gamma * (x - mean) / (tf.sqrt(variance) + eps) + beta", "batch_norm"),
    Bug("batch norm: unbiased variance", FILE, BN_BODY,
        "    axes = _all_axes_but_last(x.shape.rank)\n"
        "    mean = tf.reduce_mean(x, axis=axes, keepdims=True)\n"
        "    count = tf.cast(tf.size(x) // tf.shape(x)[-1], x.dtype)\n"
        "    variance = tf.reduce_sum(tf.square(x - mean), axis=axes, keepdims=True) / (count - 1)\n"
        "    return _scale_and_shift(x, mean, variance, gamma, beta, eps)", "batch_norm"),
    Bug("batch norm: conv maps averaged over the batch axis only", FILE, BN_BODY,
        "    mean, variance = _mean_and_variance(x, [0])\n"
        "    return _scale_and_shift(x, mean, variance, gamma, beta, eps)", "batch_norm",
        ("NormalizedCNN",)),  # the batch-normalized CNN calls this batch_norm and may train worse
    Bug("batch norm: the library does the work", FILE, BN_BODY,
        "    mean, variance = tf.nn.moments(x, axes=_all_axes_but_last(x.shape.rank))\n"
        "    return tf.nn.batch_normalization(x, mean, variance, beta, gamma, eps)", "batch_norm"),
    Bug("batch norm: statistics cut off the tape (right output, wrong dx)", FILE, BN_BODY,
        "    mean, variance = _mean_and_variance(tf.stop_gradient(x), _all_axes_but_last(x.shape.rank))\n"
        "    return _scale_and_shift(x, mean, variance, gamma, beta, eps)", "batch_norm",
        ("NormalizedCNN",)),  # wrong gradients reach the batch-normalized CNN's training
    Bug("layer norm over the batch axis", FILE,
        "_mean_and_variance(x, _all_axes_but_first(x.shape.rank))", "_mean_and_variance(x, [0])",
        "layer_norm"),
    Bug("layer norm: conv maps averaged over axis 1 only (the (N, D) formula)", FILE,
        "_mean_and_variance(x, _all_axes_but_first(x.shape.rank))", "_mean_and_variance(x, [1])",
        "layer_norm", ("NormalizedCNN",)),  # the layer-normalized CNN calls it and may train worse
    Bug("weight norm without the square root", FILE,
        "length = tf.sqrt(tf.reduce_sum(tf.square(v), axis=axes, keepdims=True))",
        "length = tf.reduce_sum(tf.square(v), axis=axes, keepdims=True)", "weight_norm"),
    # Outside the lab's contract (it asks for no running statistics and no evaluate): these
    # must fail the 0-point advisories and cost nothing (checks.py Note [Test mode is advice]).
    Bug("evaluate runs the model in training mode", FILE,
        "tf.argmax(model(x[start:start + batch_size], training=False), axis=1)",
        "tf.argmax(model(x[start:start + batch_size], training=True), axis=1)", "evaluate",
        advisory=True),
    Bug("model never switched to running statistics at test time", FILE,
        "        if not training:\n            return batch_norm_inference(x, self.gamma, self.beta, "
        "self.moving_mean, self.moving_variance)\n", "", MODEL, ("evaluate",), advisory=True),
    # Added for `grade selftest`: the training checks' failing fixture (the tests grade it with
    # the training checks, which they otherwise leave out).
    Bug("train computes the gradients but never applies them", FILE,
        "        optimizer.apply_gradients(zip(gradients, variables))\n", "", MODEL),
]
