"""Fixtures of `pytorch` (Note [Mutants] in grader/course/mutants.py): the solution, the course's
notebook with its TODO cells filled in (solution/Q5-Pytorch.ipynb, made by
tests/assignments/course_notebooks.py), and one real mistake each in the graded work.

Each mutant must cost points on its target and nowhere else but the functions in its
`may_affect`; `grade selftest -a pytorch` and tests/assignments/test_pytorch.py grade
them.  A bug edits the one code cell holding its text.  Data only; never part of what
students receive.
"""

from grader.course.mutants import Bug, Solution

FILE = "Q5-Pytorch.ipynb"
SOLUTION = Solution(f"solution/{FILE}")

SEQUENTIAL_INIT = ("        nn.init.kaiming_normal_(layer.weight)\n"
                   "        nn.init.zeros_(layer.bias)\n")

MUTANTS = [
    Bug("three_layer_convnet: no padding, fc_w sliced", FILE,
        "    hidden = F.relu(F.conv2d(x, conv_w1, conv_b1, padding=2))\n"
        "    hidden = F.relu(F.conv2d(hidden, conv_w2, conv_b2, padding=1))\n"
        "    scores = flatten(hidden).mm(fc_w) + fc_b\n",
        "    hidden = F.relu(F.conv2d(x, conv_w1, conv_b1))\n"
        "    hidden = F.relu(F.conv2d(hidden, conv_w2, conv_b2))\n"
        "    hidden = flatten(hidden)\n"
        "    scores = hidden.mm(fc_w[:hidden.shape[1]]) + fc_b\n", "three_layer_convnet"),
    # Note [Float32 made inside the student's code] in checks.py (a real cs231n notebook)
    Bug("three_layer_convnet: its own conv layer (params ignored)", FILE,
        "    hidden = F.relu(F.conv2d(x, conv_w1, conv_b1, padding=2))\n",
        "    hidden = F.relu(nn.Conv2d(x.shape[1], conv_w1.shape[0], 5, padding=2)(x))\n",
        "three_layer_convnet"),
    # Note [fc_w used transposed] in checks.py (a real cs231n notebook)
    Bug("three_layer_convnet: F.linear with the (D, C) fc_w", FILE,
        "    scores = flatten(hidden).mm(fc_w) + fc_b\n",
        "    scores = F.linear(flatten(hidden), fc_w, fc_b)\n", "three_layer_convnet"),
    Bug("three_layer_convnet: first conv without padding", FILE,
        "    hidden = F.relu(F.conv2d(x, conv_w1, conv_b1, padding=2))\n",
        "    hidden = F.relu(F.conv2d(x, conv_w1, conv_b1))\n", "three_layer_convnet"),
    Bug("three_layer_convnet: second ReLU missing", FILE,
        "    hidden = F.relu(F.conv2d(hidden, conv_w2, conv_b2, padding=1))\n",
        "    hidden = F.conv2d(hidden, conv_w2, conv_b2, padding=1)\n", "three_layer_convnet"),
    # Note [Feature maps made smaller] in checks.py: pooling the architecture has not (a real notebook)
    Bug("three_layer_convnet: max pooling added", FILE,
        "    hidden = F.relu(F.conv2d(x, conv_w1, conv_b1, padding=2))\n",
        "    hidden = F.max_pool2d(F.relu(F.conv2d(x, conv_w1, conv_b1, padding=2)), 2)\n",
        "three_layer_convnet"),
    Bug("ThreeLayerConvNet: max pooling, fc sized for it", FILE,
        "        self.fc = nn.Linear(channel_2 * 32 * 32, num_classes)\n",
        "        self.fc = nn.Linear(channel_2 * 8 * 8, num_classes)\n", "ThreeLayerConvNet"),
    Bug("ThreeLayerConvNet: Kaiming initialisation forgotten", FILE,
        "        for layer in (self.conv1, self.conv2, self.fc):\n"
        "            nn.init.kaiming_normal_(layer.weight)\n", "", "ThreeLayerConvNet"),
    Bug("ThreeLayerConvNet: Kaiming with mode='fan_out'", FILE,
        "            nn.init.kaiming_normal_(layer.weight)\n",
        "            nn.init.kaiming_normal_(layer.weight, mode='fan_out')\n", "ThreeLayerConvNet"),
    Bug("ThreeLayerConvNet: second ReLU missing", FILE, "        hidden = F.relu(self.conv2(hidden))\n",
        "        hidden = self.conv2(hidden)\n", "ThreeLayerConvNet"),
    Bug("ThreeLayerConvNet: first conv without padding", FILE,
        "nn.Conv2d(in_channel, channel_1, kernel_size=5, padding=2)",
        "nn.Conv2d(in_channel, channel_1, kernel_size=5)", "ThreeLayerConvNet"),
    Bug("ThreeLayerConvNet: ten classes written in (num_classes unused)", FILE,
        "        self.fc = nn.Linear(channel_2 * 32 * 32, num_classes)\n",
        "        self.fc = nn.Linear(channel_2 * 32 * 32, 10)\n", "ThreeLayerConvNet"),
    # Note [Input channels written into the model] in checks.py (a real notebook)
    Bug("ThreeLayerConvNet: three input channels written in (in_channel unused)", FILE,
        "nn.Conv2d(in_channel, channel_1, kernel_size=5, padding=2)",
        "nn.Conv2d(3, channel_1, kernel_size=5, padding=2)", "ThreeLayerConvNet"),
    Bug("Sequential: first ReLU missing", FILE,
        "    nn.Conv2d(3, channel_1, kernel_size=5, padding=2),\n    nn.ReLU(),\n",
        "    nn.Conv2d(3, channel_1, kernel_size=5, padding=2),\n", "Sequential"),
    Bug("Sequential: layer order (both ReLUs after the second conv)", FILE,
        "    nn.Conv2d(3, channel_1, kernel_size=5, padding=2),\n    nn.ReLU(),\n"
        "    nn.Conv2d(channel_1, channel_2, kernel_size=3, padding=1),\n    nn.ReLU(),\n",
        "    nn.Conv2d(3, channel_1, kernel_size=5, padding=2),\n"
        "    nn.Conv2d(channel_1, channel_2, kernel_size=3, padding=1),\n    nn.ReLU(),\n    nn.ReLU(),\n",
        "Sequential"),
    Bug("Sequential: flattens the batch axis too", FILE, "    Flatten(),\n    nn.Linear(channel_2 * 32 * 32",
        "    nn.Flatten(0),\n    nn.Linear(channel_2 * 32 * 32", "Sequential"),
    Bug("Sequential: random_weight on nn.Linear weights", FILE, SEQUENTIAL_INIT,
        "        layer.weight.data = random_weight(tuple(layer.weight.shape))\n"
        "        nn.init.zeros_(layer.bias)\n", "Sequential"),
    Bug("Sequential: biases not zeroed", FILE, "        nn.init.zeros_(layer.bias)\n", "", "Sequential"),
    Bug("Sequential: PyTorch's default initialisation", FILE, SEQUENTIAL_INIT, "        pass\n",
        "Sequential"),
]
