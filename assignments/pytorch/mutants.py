"""Fixtures of `pytorch` (Note [Mutants] in grader/mutants.py): the solution
(solution/pytorch_nets.py), and one real mistake each in the graded functions.

Each mutant must cost points on its target and nowhere else but the functions in
its `may_affect`; `grade selftest -a pytorch` and tests/assignments/test_pytorch.py
grade them (the test plants several at once: its Note [Bundled bugs]).  Data only;
never part of what students receive.
"""

from grader.mutants import Bug, Solution

SOLUTION = Solution("solution/pytorch_nets.py")

FILE = "pytorch_nets.py"
# Functions built on flatten: a broken flatten may cost their points too.
USES_FLATTEN = ("two_layer_fc", "three_layer_convnet", "TwoLayerFC", "ThreeLayerConvNet",
                "three_layer_convnet_sequential")

MUTANTS = [
    Bug("flatten: (D, N) instead of (N, D)", FILE, "return x.view(N, -1)", "return x.view(-1, N)",
        "flatten", USES_FLATTEN),
    Bug("two_layer_fc: input never flattened", FILE, "    x = flatten(x)\n    w1, w2 = params\n",
        "    w1, w2 = params\n", "two_layer_fc"),
    Bug("two_layer_fc: ReLU missing", FILE, "x = F.relu(x.mm(w1))", "x = x.mm(w1)", "two_layer_fc"),
    Bug("three_layer_convnet: no padding, fc_w sliced", FILE,
        "    x = F.relu(F.conv2d(x, conv_w1, conv_b1, padding=2))\n"
        "    x = F.relu(F.conv2d(x, conv_w2, conv_b2, padding=1))\n"
        "    x = flatten(x)\n    return x.mm(fc_w) + fc_b",
        "    x = F.relu(F.conv2d(x, conv_w1, conv_b1))\n"
        "    x = F.relu(F.conv2d(x, conv_w2, conv_b2))\n"
        "    x = flatten(x)\n    return x.mm(fc_w[:x.size(1), :]) + fc_b", "three_layer_convnet"),
    Bug("random_weight: fan-out as fan-in", FILE, "        fan_in = shape[0]", "        fan_in = shape[1]",
        "random_weight"),
    Bug("random_weight: conv fan-in is C_in only", FILE, "fan_in = math.prod(shape[1:])",
        "fan_in = shape[1]", "random_weight"),
    Bug("random_weight: requires_grad before scaling (not a leaf)", FILE,
        "w = torch.randn(shape, dtype=dtype) * math.sqrt(2.0 / fan_in)\n    w.requires_grad = True",
        "w = torch.randn(shape, dtype=dtype, requires_grad=True) * math.sqrt(2.0 / fan_in)",
        "random_weight"),
    Bug("zero_weight: no requires_grad", FILE,
        "return torch.zeros(shape, dtype=dtype, requires_grad=True)",
        "return torch.zeros(shape, dtype=dtype)", "zero_weight"),
    Bug("TwoLayerFC: ReLU missing", FILE, "return self.fc2(F.relu(self.fc1(x)))",
        "return self.fc2(self.fc1(x))", "TwoLayerFC"),
    Bug("ThreeLayerConvNet: Kaiming initialisation forgotten", FILE,
        "        nn.init.kaiming_normal_(self.conv1.weight)\n"
        "        nn.init.kaiming_normal_(self.conv2.weight)\n"
        "        nn.init.kaiming_normal_(self.fc.weight)\n", "", "ThreeLayerConvNet"),
    Bug("ThreeLayerConvNet: second ReLU missing", FILE, "x = F.relu(self.conv2(x))", "x = self.conv2(x)",
        "ThreeLayerConvNet"),
    Bug("ThreeLayerConvNet: first conv without padding", FILE,
        "nn.Conv2d(in_channel, channel_1, kernel_size=5, padding=2)",
        "nn.Conv2d(in_channel, channel_1, kernel_size=5)", "ThreeLayerConvNet"),
    Bug("Sequential: flatten layer missing", FILE, "        Flatten(),\n", "",
        "three_layer_convnet_sequential"),
    Bug("Sequential: random_weight on nn.Linear weights", FILE,
        "            nn.init.kaiming_normal_(layer.weight)\n            nn.init.zeros_(layer.bias)",
        "            with torch.no_grad():\n"
        "                layer.weight.copy_(random_weight(tuple(layer.weight.shape)))\n"
        "            nn.init.zeros_(layer.bias)", "three_layer_convnet_sequential"),
    Bug("Sequential: biases not zeroed", FILE, "            nn.init.zeros_(layer.bias)\n", "",
        "three_layer_convnet_sequential"),
    # Added for `grade selftest`: it makes a check lose points that no mutant above does.
    Bug("TwoLayerFC: second layer keeps the default initialisation", FILE,
        "        nn.init.kaiming_normal_(self.fc2.weight)\n", "", "TwoLayerFC"),
]
