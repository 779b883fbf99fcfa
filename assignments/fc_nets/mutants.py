"""Fixtures of `fc_nets` (Note [Mutants] in grader/course/mutants.py): the solution, and one
realistic mistake in each graded function.

Each mutant must cost points on its target and nowhere else but the functions in
its `may_affect`; `grade selftest -a fc_nets` and tests/assignments/test_fc_nets.py
grade them.  Data only; never part of what students receive.
"""

from grader.course.mutants import REFERENCE, Bug, Solution

SOLUTION = Solution(REFERENCE / "cs231n")

FC_NET = "classifiers/fc_net.py"
TWO, FCN = "TwoLayerNet.loss", "FullyConnectedNet.loss"
MODELS = (TWO, FCN)
ADAM_STEP = """    t = config["t"] + 1
    m = beta1 * m + (1 - beta1) * dw
    v = beta2 * v + (1 - beta2) * dw * dw
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    next_w = w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"])

    config["t"], config["m"], config["v"] = t, m, v
"""

MUTANTS = [
    Bug("affine forward forgets the bias", "layers.py",
        "out = x.reshape(x.shape[0], -1) @ w + b", "out = x.reshape(x.shape[0], -1) @ w",
        "affine_forward", ("affine_relu_forward", "affine_relu_backward", *MODELS)),
    Bug("affine backward leaves dx flat", "layers.py",
        "dx = (dout @ w.T).reshape(x.shape)", "dx = dout @ w.T",
        "affine_backward", ("affine_relu_backward",)),
    # Note [Transposed, then reshaped back] in grader/checks/compare.py: a real hand-in
    Bug("affine backward: dx as w @ dout.T", "layers.py",
        "dx = (dout @ w.T).reshape(x.shape)", "dx = (w @ dout.T).reshape(x.shape)",
        "affine_backward", ("affine_relu_backward", *MODELS)),
    Bug("relu forward with np.max instead of np.maximum", "layers.py",
        "return np.maximum(x, 0), x", "return np.max(x, 0), x",
        "relu_forward", ("relu_backward", "affine_relu_forward", "affine_relu_backward", *MODELS)),
    Bug("relu backward forgets dout", "layers.py",
        "return dout * (x > 0)", "return (x > 0).astype(dout.dtype)",
        "relu_backward", ("affine_relu_backward", *MODELS)),
    Bug("softmax without the max shift", "layers.py",
        "shifted = x - x.max(axis=1, keepdims=True)", "shifted = x", "softmax_loss", MODELS),
    Bug("softmax dx not divided by N", "layers.py",
        "    dx /= n\n    return float(loss), dx\n\n\ndef svm_loss",
        "    return float(loss), dx\n\n\ndef svm_loss", "softmax_loss", MODELS),
    Bug("svm counts the correct class's margin", "layers.py",
        "margins[rows, y] = 0", "pass", "svm_loss"),
    Bug("affine_relu forward returns the affine output", "layer_utils.py",
        "return out, (fc_cache, relu_cache)", "return a, (fc_cache, relu_cache)",
        "affine_relu_forward", MODELS),
    Bug("affine_relu backward skips the relu", "layer_utils.py",
        "    return affine_backward(da, fc_cache)", "    return affine_backward(dout, fc_cache)",
        "affine_relu_backward", MODELS),
    Bug("TwoLayerNet forgets weight_scale", FC_NET,
        '"W1": weight_scale * np.random.randn(input_dim, hidden_dim)',
        '"W1": np.random.randn(input_dim, hidden_dim)', "TwoLayerNet.__init__", (TWO,)),
    Bug("TwoLayerNet penalty without the 0.5", FC_NET,
        'loss = data_loss + _l2_penalty(p, ["W1", "W2"], self.reg)',
        'loss = data_loss + self.reg * (np.sum(p["W1"] ** 2) + np.sum(p["W2"] ** 2))', TWO),
    Bug("TwoLayerNet forgets reg * W1 in the gradient", FC_NET,
        'grads["W1"] = grads["W1"] + self.reg * p["W1"]', "pass", TWO),
    Bug("FullyConnectedNet adds reg * np.sum(W) to the gradient", FC_NET,
        "grads[name] = grads[name] + self.reg * p[name]",
        "grads[name] = grads[name] + self.reg * np.sum(p[name])", FCN),
    Bug("FullyConnectedNet biases drawn at random", FC_NET,
        'params[f"b{i}"] = np.zeros(fan_out)',
        'params[f"b{i}"] = weight_scale * np.random.randn(fan_out)',
        "FullyConnectedNet.__init__", (FCN,)),
    Bug("FullyConnectedNet regularises the biases", FC_NET,
        "loss = data_loss + _l2_penalty(p, weight_names, self.reg)",
        "loss = data_loss + _l2_penalty(p, list(p), self.reg)", FCN),
    Bug("FullyConnectedNet backward stops before layer 1", FC_NET,
        "for i in range(L - 1, 0, -1):", "for i in range(L - 1, 1, -1):", FCN),
    # a real Berkeley CS182 hand-in (the penalty and its gradient beside the last layer only)
    Bug("FullyConnectedNet regularizes the last layer only", FC_NET,
        'weight_names = [f"W{i}" for i in range(1, L + 1)]', 'weight_names = [f"W{L}"]', FCN),
    Bug("L2 penalty without the 0.5 in both networks", FC_NET,
        "return 0.5 * reg * sum(", "return reg * sum(", FCN, (TWO,)),
    Bug("adam writes its corrected step size into config", "optim.py",
        '    config["t"], config["m"], config["v"] = t, m, v\n',
        '    config["t"], config["m"], config["v"] = t, m, v\n'
        '    config["learning_rate"] *= np.sqrt(1 - beta2**t) / (1 - beta1**t)\n', "adam"),
    Bug("sgd_momentum does not store the velocity", "optim.py",
        'config["velocity"] = velocity', "pass", "sgd_momentum"),
    Bug("rmsprop weights the decay the wrong way round", "optim.py",
        "cache = decay * cache + (1 - decay) * dw * dw",
        "cache = (1 - decay) * cache + decay * dw * dw", "rmsprop"),
    Bug("adam without bias correction", "optim.py",
        'next_w = w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"])',
        'next_w = w - config["learning_rate"] * m / (np.sqrt(v) + config["epsilon"])', "adam"),
    Bug("adam increments t after using it", "optim.py", ADAM_STEP,
        ADAM_STEP.replace('t = config["t"] + 1', 't = config["t"]').replace("= t, m, v",
                                                                             "= t + 1, m, v"),
        "adam"),
    # Added for `grade selftest`: each makes a check lose points that no mutant above does.
    Bug("affine backward: dw from the unflattened x", "layers.py",
        "dw = x.reshape(x.shape[0], -1).T @ dout", "dw = x.T @ dout",
        "affine_backward", ("affine_relu_backward", *MODELS)),
    Bug("affine backward: db averaged over the batch", "layers.py",
        "db = dout.sum(axis=0)\n    return dx, dw, db",
        "db = dout.mean(axis=0)\n    return dx, dw, db",
        "affine_backward", ("affine_relu_backward", *MODELS)),
    Bug("TwoLayerNet biases drawn at random", FC_NET,
        '"b1": np.zeros(hidden_dim),', '"b1": weight_scale * np.random.randn(hidden_dim),',
        "TwoLayerNet.__init__"),
    # Note [Layers without their ReLU] in checks.py: a real 2017 hand-in's networks
    Bug("TwoLayerNet forward skips the ReLU", FC_NET,
        'hidden, hidden_cache = affine_relu_forward(X, p["W1"], p["b1"])',
        'hidden, hidden_cache = affine_forward(X, p["W1"], p["b1"])\n'
        '        affine_relu_backward = affine_backward  # backward as plain affine layers too',
        TWO),
    Bug("FullyConnectedNet puts a ReLU on the scores", FC_NET,
        'scores, last_cache = affine_forward(out, p[f"W{L}"], p[f"b{L}"])',
        'scores, last_cache = affine_relu_forward(out, p[f"W{L}"], p[f"b{L}"])\n'
        '        affine_backward = affine_relu_backward  # the scores\' ReLU backpropagated too',
        FCN),
    # Note [Statistics judge the weights] in checks.py: a real 2017 hand-in's scalar biases
    Bug("TwoLayerNet biases a scalar zero", FC_NET,
        '"b1": np.zeros(hidden_dim),', '"b1": 0,', "TwoLayerNet.__init__"),
    Bug("FullyConnectedNet forgets weight_scale", FC_NET,
        'params[f"W{i}"] = weight_scale * np.random.randn(fan_in, fan_out)',
        'params[f"W{i}"] = np.random.randn(fan_in, fan_out)', "FullyConnectedNet.__init__", (FCN,)),
    Bug("sgd_momentum steps along dw, not the velocity", "optim.py",
        "return w + velocity, config", 'return w - config["learning_rate"] * dw, config',
        "sgd_momentum"),
    # Notes [Steps taken with the velocity handed in], [Epsilon outside the denominator] in
    # checks.py: two real hand-ins' slips
    Bug("sgd_momentum steps with the velocity handed in", "optim.py",
        'velocity = config["momentum"] * velocity - config["learning_rate"] * dw\n'
        '    config["velocity"] = velocity\n    return w + velocity, config',
        'next_w = w - velocity\n'
        '    velocity = config["momentum"] * velocity - config["learning_rate"] * dw\n'
        '    config["velocity"] = velocity\n    return next_w, config', "sgd_momentum"),
    # Note [Momentum in PyTorch's form] in checks.py: four real Berkeley CS182 hand-ins
    Bug("sgd_momentum in PyTorch's form", "optim.py",
        'velocity = config["momentum"] * velocity - config["learning_rate"] * dw\n'
        '    config["velocity"] = velocity\n    return w + velocity, config',
        'velocity = config["momentum"] * velocity + dw\n'
        '    config["velocity"] = velocity\n    return w - config["learning_rate"] * velocity, config',
        "sgd_momentum"),
    Bug("rmsprop adds epsilon to w", "optim.py",
        'next_w = w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"])',
        'next_w = w - config["learning_rate"] * dw / np.sqrt(cache) + config["epsilon"]', "rmsprop"),
    # Note [A step count never stored] in checks.py: two real COMP4901J packages
    Bug("adam never stores t", "optim.py",
        'config["t"], config["m"], config["v"] = t, m, v',
        'config["m"], config["v"] = m, v', "adam"),
    Bug("adam stores the bias-corrected moments", "optim.py",
        'config["t"], config["m"], config["v"] = t, m, v',
        'config["t"], config["m"], config["v"] = t, m_hat, v_hat', "adam"),
    # Every value the API lets a caller set is read (Note [Every config key non-default] in
    # checks.py): each of these reads a default instead.
    Bug("rmsprop ignores config epsilon", "optim.py",
        'dw / (np.sqrt(cache) + config["epsilon"])', "dw / (np.sqrt(cache) + 1e-8)", "rmsprop"),
    Bug("adam ignores config epsilon", "optim.py",
        '(np.sqrt(v_hat) + config["epsilon"])', "(np.sqrt(v_hat) + 1e-8)", "adam"),
    Bug("TwoLayerNet ignores the weight_scale argument", FC_NET,
        "num_classes: int = 10, weight_scale: float = 1e-3, reg: float = 0.0):\n        self.reg = reg",
        "num_classes: int = 10, weight_scale: float = 1e-3, reg: float = 0.0):\n"
        "        self.reg = reg\n        weight_scale = 1e-3", "TwoLayerNet.__init__"),
]
