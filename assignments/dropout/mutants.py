"""Fixtures of `dropout` (Note [Mutants] in grader/course/mutants.py): the solution, and
realistic mistakes in each graded function.

Each mutant must cost points on its target and nowhere else but the functions in
its `may_affect`; `grade selftest -a dropout` and tests/assignments/test_dropout.py
grade them.  Data only; never part of what students receive.
"""

from grader.course.mutants import REFERENCE, Bug, Solution

SOLUTION = Solution(REFERENCE / "cs231n")

NET = "FullyConnectedNet.loss"
FC_NET = "classifiers/fc_net.py"

MUTANTS = [
    Bug("p used as the drop probability", "layers.py",
        "mask = (np.random.rand(*x.shape) < p) / p",
        "mask = (np.random.rand(*x.shape) >= p) / (1 - p)", "dropout_forward", (NET,)),
    # Note [A mask drawn from the normal distribution] in checks.py: a real hand-in
    Bug("mask drawn with randn", "layers.py",
        "mask = (np.random.rand(*x.shape) < p) / p",
        "mask = (np.random.randn(*x.shape) < p) / p", "dropout_forward", (NET,)),
    Bug("forgot to divide by p (not inverted dropout)", "layers.py",
        "mask = (np.random.rand(*x.shape) < p) / p",
        "mask = (np.random.rand(*x.shape) < p) * 1.0", "dropout_forward", (NET,)),
    # Note [Dropout written for 2-D x] in checks.py: four real hand-ins
    Bug("dropout for 2-D x only", "layers.py",
        "mask = (np.random.rand(*x.shape) < p) / p",
        "N, D = x.shape\n        mask = (np.random.rand(N, D) < p) / p", "dropout_forward",
        ("dropout_backward",)),  # backward's 4-D sample needs the forward's cache
    Bug("dropout applied at test time", "layers.py",
        "out = x.copy()  # See Note [Inputs are read-only]",
        "out = x * (np.random.rand(*x.shape) < p) / p", "dropout_forward", (NET,)),
    Bug("seed ignored", "layers.py",
        'np.random.seed(dropout_param["seed"])', "pass", "dropout_forward", (NET,)),
    Bug("backward ignores the mask", "layers.py",
        "return dout * mask", "return dout.copy()", "dropout_backward", (NET,)),
    Bug("backward draws a new mask", "layers.py",
        "return dout * mask",
        'return dout * (np.random.rand(*dout.shape) < dropout_param["p"]) / dropout_param["p"]',
        "dropout_backward", (NET,)),
    Bug("backward forgets the 1/p scale", "layers.py",
        "return dout * mask", "return dout * (mask != 0)", "dropout_backward", (NET,)),
    Bug("net never switches dropout to test mode", FC_NET,
        'self._set_mode("test" if y is None else "train")', 'self._set_mode("train")', NET),
    Bug("net never switches back to train mode", FC_NET,
        'self._set_mode("test" if y is None else "train")',
        'if y is None:\n            self._set_mode("test")', NET),
    Bug("net does not pass the seed on", FC_NET,
        'self.dropout_param["seed"] = seed', "pass", NET),
    Bug("net drops only after the first hidden layer", FC_NET,
        "self.normalization, norm_param, dropout_param)",
        "self.normalization, norm_param, dropout_param if i == 1 else None)", NET),
    Bug("net backward skips dropout_backward", FC_NET,
        "dout = dropout_backward(dout, dropout_cache)", "pass", NET),
    # Added for `grade selftest`: each makes a check lose points that no mutant above does.
    Bug("backward scales by p at test time", "layers.py",
        "    return dout.copy()", '    return dout * dropout_param["p"]', "dropout_backward"),
    Bug("net calls dropout even when it is off", FC_NET,
        "dropout_param = self.dropout_param if self.use_dropout else None",
        "dropout_param = self.dropout_param", NET),
    # Note [Which penalty the loss holds] in checks.py: a real 2020 hand-in.
    Bug("net regularizes the hidden layers' weights only", FC_NET,
        'weight_names = [f"W{i}" for i in range(1, L + 1)]',
        'weight_names = [f"W{i}" for i in range(1, L)]', NET),
    # Note [A ReLU where none belongs] in grader/checks/compare.py: real hand-ins
    Bug("net ends with a ReLU on the scores", "classifiers/fc_net.py",
        'scores, last_cache = affine_forward(out, p[f"W{L}"], p[f"b{L}"])',
        'scores, last_cache = affine_forward(out, p[f"W{L}"], p[f"b{L}"])\n'
        '        scores = np.maximum(scores, 0)', NET),
    # Dropout together with normalization, as the course's best-model cell builds it.
    Bug("net skips dropout when normalization is on", FC_NET,
        "    if dropout_param is not None:\n        out, dropout_cache",
        "    if dropout_param is not None and normalization is None:\n        out, dropout_cache",
        NET),
    Bug("net backward skips dropout_backward when normalization is on", FC_NET,
        "    if dropout_cache is not None:\n        dout = dropout_backward",
        "    if dropout_cache is not None and normalization is None:\n        dout = dropout_backward",
        NET),
    Bug("net leaves dropout in train mode at test time with batchnorm", FC_NET,
        '        if self.use_dropout:\n            self.dropout_param["mode"] = mode',
        '        if self.use_dropout and self.normalization != "batchnorm":\n'
        '            self.dropout_param["mode"] = mode', NET),
]
