"""Fixtures of `tensorflow` (Note [Mutants] in grader/course/mutants.py): the solution, the course's
notebook with its TODO cells filled in (solution/Q5-Tensorflow.ipynb, made by
tests/assignments/course_notebooks.py), and one realistic mistake each in the graded work.

Each mutant must cost points on its target and nowhere else but the functions in its
`may_affect`; `grade selftest -a tensorflow` and tests/assignments/test_tensorflow.py
grade them.  A bug edits the one code cell holding its text.  Data only; never part of
what students receive.
"""

from grader.course.mutants import Bug, Solution

FILE = "Q5-Tensorflow.ipynb"
SOLUTION = Solution(f"solution/{FILE}")

MUTANTS = [
    Bug("barebones: second ReLU missing", FILE,
        "    hidden = tf.nn.relu(hidden)\n    scores = tf.matmul(flatten(hidden), fc_w) + fc_b\n",
        "    scores = tf.matmul(flatten(hidden), fc_w) + fc_b\n", "three_layer_convnet"),
    Bug("barebones: flattened channels first", FILE,
        "    scores = tf.matmul(flatten(hidden), fc_w) + fc_b\n",
        "    scores = tf.matmul(flatten(tf.transpose(hidden, [0, 3, 1, 2])), fc_w) + fc_b\n",
        "three_layer_convnet"),
    # Note [A ReLU on the scores] in checks.py (a real notebook)
    Bug("barebones: ReLU on the scores", FILE,
        "    scores = tf.matmul(flatten(hidden), fc_w) + fc_b\n",
        "    scores = tf.nn.relu(tf.matmul(flatten(hidden), fc_w) + fc_b)\n", "three_layer_convnet"),
    Bug("init: conv_w1 with std sqrt(1 / fan_in) (gain 1)", FILE,
        "    conv_w1 = tf.Variable(create_matrix_with_kaiming_normal((5, 5, 3, 32)))\n",
        "    conv_w1 = tf.Variable(tf.random.normal((5, 5, 3, 32)) * np.sqrt(1.0 / (5 * 5 * 3)))\n",
        "three_layer_convnet_init"),
    Bug("init: fc_w not scaled", FILE,
        "    fc_w = tf.Variable(create_matrix_with_kaiming_normal((32 * 32 * 16,",
        "    fc_w = tf.Variable(tf.random.normal((32 * 32 * 16,", "three_layer_convnet_init"),
    Bug("init: first bias not zero", FILE, "    conv_b1 = tf.Variable(tf.zeros((32,)))\n",
        "    conv_b1 = tf.Variable(tf.ones((32,)))\n", "three_layer_convnet_init"),
    # Note [A bias drawn like a weight] in checks.py (a real notebook)
    Bug("init: first bias drawn like a weight, as (1, 32)", FILE, "    conv_b1 = tf.Variable(tf.zeros((32,)))\n",
        "    conv_b1 = tf.Variable(create_matrix_with_kaiming_normal((1, 32)))\n", "three_layer_convnet_init"),
    Bug("subclass: no softmax", FILE,
        "        self.fc = tf.keras.layers.Dense(num_classes, activation='softmax',",
        "        self.fc = tf.keras.layers.Dense(num_classes,", "ThreeLayerConvNet"),
    Bug("subclass: ten classes written in (num_classes unused)", FILE,
        "        self.fc = tf.keras.layers.Dense(num_classes, activation='softmax',",
        "        self.fc = tf.keras.layers.Dense(10, activation='softmax',", "ThreeLayerConvNet"),
    Bug("subclass: 3x3 convolution first", FILE,
        "        self.conv1 = tf.keras.layers.Conv2D(channel_1, 5, padding='same',",
        "        self.conv1 = tf.keras.layers.Conv2D(channel_1, 3, padding='same',", "ThreeLayerConvNet"),
    # Note [A convolution not padded] in checks.py (a real notebook)
    Bug("subclass: second conv not padded", FILE,
        "        self.conv2 = tf.keras.layers.Conv2D(channel_2, 3, padding='same',",
        "        self.conv2 = tf.keras.layers.Conv2D(channel_2, 3,", "ThreeLayerConvNet"),
    Bug("sequential: first ReLU missing", FILE,
        "        tf.keras.layers.Conv2D(32, 5, padding='same', activation='relu',\n",
        "        tf.keras.layers.Conv2D(32, 5, padding='same',\n", "Sequential"),
    Bug("sequential: no softmax", FILE,
        "activation='softmax',\n                              kernel_initializer=initializer),\n    ])",
        "\n                              kernel_initializer=initializer),\n    ])", "Sequential"),
    # A conv layer that starts at zero never learns (ReLU'(0) = 0): the fixed-weight check
    # cannot see an initializer, the training check does.
    Bug("sequential: first conv initialised to zeros", FILE,
        "        tf.keras.layers.Conv2D(32, 5, padding='same', activation='relu',\n"
        "                               kernel_initializer=initializer,\n",
        "        tf.keras.layers.Conv2D(32, 5, padding='same', activation='relu',\n"
        "                               kernel_initializer='zeros',\n", "Sequential"),
]
