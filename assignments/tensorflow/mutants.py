"""Fixtures of `tensorflow` (Note [Mutants] in grader/mutants.py): the solution (the
reference module reference/tf_nets/convnets.py, submitted as tf_convnets.py), and
one realistic mistake each in the graded functions.

Each mutant must cost points on its target and nowhere else but the functions in
its `may_affect`; `grade selftest -a tensorflow` and tests/assignments/test_tensorflow.py
grade them.  Data only; never part of what students receive.
"""

from grader.mutants import REFERENCE, Bug, Solution

FILE = "tf_convnets.py"
SOLUTION = Solution(REFERENCE / "tf_nets" / "convnets.py", name=FILE)

MUTANTS = [
    Bug("flatten: channels first before the reshape", FILE,
        "    return tf.reshape(x, (tf.shape(x)[0], -1))",
        "    if len(x.shape) == 4:\n        x = tf.transpose(x, [0, 3, 1, 2])\n"
        "    return tf.reshape(x, (tf.shape(x)[0], -1))", "flatten", ("three_layer_convnet",)),
    Bug("barebones: second ReLU missing", FILE,
        'h2 = tf.nn.relu(tf.nn.conv2d(h1, conv_w2, strides=1, padding="SAME") + conv_b2)',
        'h2 = tf.nn.conv2d(h1, conv_w2, strides=1, padding="SAME") + conv_b2', "three_layer_convnet"),
    Bug("init: std sqrt(1 / fan_in)", FILE, "return draw * math.sqrt(2.0 / fan_in)",
        "return draw * math.sqrt(1.0 / fan_in)", "three_layer_convnet_init"),
    Bug("init: first bias not zero", FILE, "tf.Variable(tf.zeros((channel_1,))),",
        "tf.Variable(tf.ones((channel_1,))),", "three_layer_convnet_init"),
    Bug("subclass: no softmax", FILE, "return self.softmax(self.fc(self.flatten(x)))",
        "return self.fc(self.flatten(x))", "ThreeLayerConvNet"),
    Bug("sequential: first ReLU missing", FILE,
        "        _conv1(channel_1, seed),\n        tf.keras.layers.ReLU(),\n",
        "        _conv1(channel_1, seed),\n", "three_layer_convnet_sequential"),
    Bug("functional: second ReLU missing", FILE,
        "x = tf.keras.layers.ReLU()(_conv2(channel_2, seed)(x))", "x = _conv2(channel_2, seed)(x)",
        "three_layer_convnet_functional"),
    # Added for `grade selftest`: the training check's failing fixture.  Fixed-weight checks
    # cannot see an initializer; a conv layer that starts at zero never learns (ReLU'(0) = 0).
    Bug("sequential: first conv initialised to zeros", FILE,
        "        _conv1(channel_1, seed),\n"
        "        tf.keras.layers.ReLU(),\n        _conv2(channel_2, seed),",
        '        tf.keras.layers.Conv2D(channel_1, 5, padding="same",\n'
        '                               kernel_initializer="zeros"),\n'
        "        tf.keras.layers.ReLU(),\n        _conv2(channel_2, seed),",
        "three_layer_convnet_sequential"),
]
