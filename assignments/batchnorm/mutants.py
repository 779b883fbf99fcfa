"""Fixtures of `batchnorm` (Note [Mutants] in grader/course/mutants.py): the solution, and
realistic mistakes in each graded function.

Each mutant must cost points on its target and nowhere else but the functions in
its `may_affect`; `grade selftest -a batchnorm` and tests/assignments/test_batchnorm.py
grade them.  Data only; never part of what students receive.
"""

from grader.course.mutants import REFERENCE, Bug, Solution

SOLUTION = Solution(REFERENCE / "cs231n")

NET = "FullyConnectedNet.loss"
BN_CALLERS = ("batchnorm_backward", "batchnorm_backward_alt", NET)

MUTANTS = [
    Bug("unbiased batch variance", "layers.py",
        "x_hat, inv_std = _standardize(x, axis=0, eps=eps)",
        "inv_std = 1.0 / np.sqrt(x.var(axis=0, ddof=1) + eps)\n"
        "        x_hat = (x - x.mean(axis=0)) * inv_std",
        "batchnorm_forward", BN_CALLERS),
    Bug("eps outside the square root", "layers.py",
        "x_hat, inv_std = _standardize(x, axis=0, eps=eps)",
        "inv_std = 1.0 / (x.std(axis=0) + eps)\n"
        "        x_hat = (x - x.mean(axis=0)) * inv_std",
        "batchnorm_forward", BN_CALLERS),
    # a real Berkeley CS182 hand-in
    Bug("sqrt(eps) added to the standard deviation", "layers.py",
        "x_hat, inv_std = _standardize(x, axis=0, eps=eps)",
        "inv_std = 1.0 / (x.std(axis=0) + np.sqrt(eps))\n"
        "        x_hat = (x - x.mean(axis=0)) * inv_std",
        "batchnorm_forward", BN_CALLERS),
    Bug("batch statistics at test time", "layers.py",
        "out = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta",
        "out = gamma * (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps) + beta",
        "batchnorm_forward", (NET,)),
    # Note [eps missing at test time, seen from the network] in checks.py: two real hand-ins
    Bug("eps missing at test time", "layers.py",
        "out = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta",
        "out = gamma * (x - running_mean) / np.sqrt(running_var) + beta",
        "batchnorm_forward", (NET,)),
    # Note [eps outside the root at test time, seen from the network] in checks.py: a real hand-in
    Bug("eps outside the square root at test time", "layers.py",
        "out = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta",
        "out = gamma * (x - running_mean) / (np.sqrt(running_var) + eps) + beta",
        "batchnorm_forward", (NET,)),
    # Note [beta subtracted at test time] in checks.py: a real 2020 hand-in, two slips in a line
    Bug("beta subtracted and eps outside the square root at test time", "layers.py",
        "out = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta",
        "out = gamma * (x - running_mean) / (np.sqrt(running_var) + eps) - beta",
        "batchnorm_forward", (NET,)),
    # Note [Running averages updated at test time] in checks.py: a real 2019 hand-in
    Bug("running averages updated at test time", "layers.py",
        "out = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta",
        "running_mean = momentum * running_mean + (1 - momentum) * x.mean(axis=0)\n"
        "        running_var = momentum * running_var + (1 - momentum) * x.var(axis=0)\n"
        "        out = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta",
        "batchnorm_forward", (NET,)),
    Bug("momentum weighs the batch statistic", "layers.py",
        'bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * batch_mean',
        'bn_param["running_mean"] = (1 - momentum) * running_mean + momentum * batch_mean',
        "batchnorm_forward", (NET,)),
    # Note [eps in the running variance] in checks.py: two real hand-ins
    Bug("running variance averages var + eps", "layers.py",
        'bn_param["running_var"] = momentum * running_var + (1 - momentum) * batch_var',
        'bn_param["running_var"] = momentum * running_var + (1 - momentum) * (batch_var + eps)',
        "batchnorm_forward", (NET,)),
    Bug("running variance never stored", "layers.py",
        'bn_param["running_var"] = momentum * running_var + (1 - momentum) * batch_var',
        "running_var = momentum * running_var + (1 - momentum) * batch_var",
        "batchnorm_forward", (NET,)),
    Bug("dgamma not summed over the batch", "layers.py",
        "dgamma = (dout * x_hat).sum(axis=0)\n    dx_hat = dout * gamma",
        "dgamma = dout * x_hat\n    dx_hat = dout * gamma",
        "batchnorm_backward"),
    Bug("gradient through the mean not divided by N", "layers.py",
        "dx = dxc + dmu / n", "dx = dxc + dmu", "batchnorm_backward"),
    Bug("variance branch of the graph forgotten", "layers.py",
        "dxc = dxc_direct + dxc_from_var", "dxc = dxc_direct", "batchnorm_backward"),
    Bug("alt: dout not multiplied by gamma", "layers.py",
        "dx = _standardize_backward(dout * gamma, x_hat, inv_std, axis=0)",
        "dx = _standardize_backward(dout, x_hat, inv_std, axis=0)",
        "batchnorm_backward_alt", (NET,)),
    Bug("alt: dbeta averaged instead of summed", "layers.py",
        "dbeta = dout.sum(axis=0)\n    dgamma = (dout * x_hat).sum(axis=0)\n"
        "    dx = _standardize_backward(dout * gamma, x_hat, inv_std, axis=0)",
        "dbeta = dout.mean(axis=0)\n    dgamma = (dout * x_hat).sum(axis=0)\n"
        "    dx = _standardize_backward(dout * gamma, x_hat, inv_std, axis=0)",
        "batchnorm_backward_alt", (NET,)),
    Bug("layernorm over the batch axis", "layers.py",
        "x_hat, inv_std = _standardize(x, axis=1, eps=eps)",
        "x_hat, inv_std = _standardize(x, axis=0, eps=eps)",
        "layernorm_forward", ("layernorm_backward", NET)),
    Bug("layernorm ignores ln_param eps", "layers.py",
        'eps = ln_param.get("eps", 1e-5)', "eps = 1e-5",
        "layernorm_forward", ("layernorm_backward",)),
    Bug("layernorm backward sums over the batch axis", "layers.py",
        "dx = _standardize_backward(dout * gamma, x_hat, inv_std, axis=1)",
        "dx = _standardize_backward(dout * gamma, x_hat, inv_std, axis=0)",
        "layernorm_backward", (NET,)),
    # Note [A ReLU where none belongs] in grader/checks/compare.py: real hand-ins
    Bug("net ends with a ReLU on the scores", "classifiers/fc_net.py",
        'scores, last_cache = affine_forward(out, p[f"W{L}"], p[f"b{L}"])',
        'scores, last_cache = affine_forward(out, p[f"W{L}"], p[f"b{L}"])\n'
        '        scores = np.maximum(scores, 0)', NET),
    # Note [The last layer left out of the penalty] in checks.py: a real 2021 hand-in
    Bug("net regularizes the hidden layers' weights only", "classifiers/fc_net.py",
        'weight_names = [f"W{i}" for i in range(1, L + 1)]',
        'weight_names = [f"W{i}" for i in range(1, L)]', NET),
    Bug("net never switches batchnorm to test mode", "classifiers/fc_net.py",
        'self._set_mode("test" if y is None else "train")', 'self._set_mode("train")', NET),
    Bug("net swaps the gamma and beta gradients", "classifiers/fc_net.py",
        'grads[f"gamma{i}"], grads[f"beta{i}"] = dgamma, dbeta',
        'grads[f"gamma{i}"], grads[f"beta{i}"] = dbeta, dgamma', NET),
    Bug("net regularizes gamma too", "classifiers/fc_net.py",
        'weight_names = [f"W{i}" for i in range(1, L + 1)]',
        'weight_names = [f"W{i}" for i in range(1, L + 1)] + [f"gamma{i}" for i in range(1, L)]', NET),
    Bug("net normalizes with batch norm whatever normalization says", "classifiers/fc_net.py",
        "self.normalization, norm_param, dropout_param)",
        'self.normalization and "batchnorm",\n'
        '                                         norm_param if norm_param is None else'
        ' (norm_param.setdefault("mode", "train"), norm_param)[1], dropout_param)', NET),
    # a real cs231n package (2021 or later): Note [The network's own eps] in checks.py
    Bug("net gives layer norm its own eps", "classifiers/fc_net.py",
        'p[f"beta{i}"], self.bn_params[i - 1]',
        'p[f"beta{i}"], (self.bn_params[i - 1]\n'
        '                                                   if self.normalization == "batchnorm"'
        ' else {"eps": 1e-9})', NET),
    Bug("net initialises gamma to zeros", "classifiers/fc_net.py",
        'params[f"gamma{i}"] = np.ones(fan_out)', 'params[f"gamma{i}"] = np.zeros(fan_out)',
        "FullyConnectedNet"),
    # Added for `grade selftest`: each makes a check lose points that no mutant above does.
    Bug("dbeta summed over every axis", "layers.py",
        "dbeta = dout.sum(axis=0)\n    dgamma = (dout * x_hat).sum(axis=0)\n"
        "    dx_hat = dout * gamma",
        "dbeta = np.sum(dout)\n    dgamma = (dout * x_hat).sum(axis=0)\n    dx_hat = dout * gamma",
        "batchnorm_backward"),
    Bug("layernorm backward: dbeta summed over the features", "layers.py",
        "    dbeta = dout.sum(axis=0)\n    dgamma = (dout * x_hat).sum(axis=0)\n"
        "    dx = _standardize_backward(dout * gamma, x_hat, inv_std, axis=1)",
        "    dbeta = dout.sum(axis=1)\n    dgamma = (dout * x_hat).sum(axis=0)\n"
        "    dx = _standardize_backward(dout * gamma, x_hat, inv_std, axis=1)",
        "layernorm_backward", (NET,)),
    # Every key of bn_param is read: a momentum passed in the dict must be used.
    Bug("batchnorm ignores bn_param momentum", "layers.py",
        'momentum = bn_param.get("momentum", 0.9)', "momentum = 0.9", "batchnorm_forward", (NET,)),
]
