"""Fixtures of `cnn` (Note [Mutants] in grader/course/mutants.py): the solution, and one real
mistake each, spread over every graded function.

Each mutant must cost points on its target and nowhere else but the functions in
its `may_affect`; `grade selftest -a cnn` and tests/assignments/test_cnn.py grade
them (the test also names the phrase each failing message must contain).  Data
only; never part of what students receive.
"""

from grader.course.mutants import REFERENCE, Bug, Solution

SOLUTION = Solution(REFERENCE / "cs231n")

MODEL = "ThreeLayerConvNet.loss"

# The docstring of the solution's spatial_groupnorm_backward, which the mutant "dgamma from x,
# not x_hat" keeps between the two lines it edits.
_GN_BACKWARD_HEAD = ('    """Gradients of group normalisation.\n\n    Shapes: dout (N, C, H, W).  '
                     "Returns dx (N, C, H, W), dgamma (1, C, 1, 1), dbeta (1, C, 1, 1).\n"
                     '    """\n')

MUTANTS = [
    Bug("conv: windows ignore the stride", "layers.py",
        "window = x_pad[:, :, i * stride:i * stride + hh, j * stride:j * stride + ww]",
        "window = x_pad[:, :, i:i + hh, j:j + ww]", "conv_forward_naive"),
    Bug("conv: filters flipped (convolution, not correlation)", "layers.py",
        "np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3])) + b",
        "np.tensordot(window, w[:, :, ::-1, ::-1], axes=([1, 2, 3], [1, 2, 3])) + b",
        "conv_forward_naive"),
    Bug("conv: padding forgotten", "layers.py",
        'stride, pad = conv_param["stride"], conv_param["pad"]\n    n, _, h, wd = x.shape',
        'stride, pad = conv_param["stride"], 0\n    n, _, h, wd = x.shape', "conv_forward_naive"),
    Bug("conv backward: dw from the last image only", "layers.py",
        "dw += np.tensordot(g, x_pad[:, :, rows, cols], axes=([0], [0]))",
        "dw += np.tensordot(g[-1:], x_pad[-1:, :, rows, cols], axes=([0], [0]))",
        "conv_backward_naive"),
    # Note [Padding fixed at the notebook's 1] in checks.py: three real hand-ins
    Bug("conv: pads by 1 whatever pad is", "layers.py",
        "x_pad = _pad_spatial(x, pad)\n    out = np.empty",
        "x_pad = _pad_spatial(x, 1)\n    out = np.empty", "conv_forward_naive",
        ("conv_backward_naive",)),  # at pad 2 the forward raises, and backward needs its cache
    Bug("conv backward: crops dx by 1 whatever pad is", "layers.py",
        "dx = dx_pad[:, :, pad:pad + h, pad:pad + wd]", "dx = dx_pad[:, :, 1:-1, 1:-1]",
        "conv_backward_naive"),
    # Note [Filter rows and columns swapped] in checks.py: a real 2017 hand-in
    Bug("conv backward: window rows and columns swapped", "layers.py",
        "rows = slice(i * stride, i * stride + hh)\n            cols = slice(j * stride, j * stride + ww)",
        "rows = slice(i * stride, i * stride + ww)\n            cols = slice(j * stride, j * stride + hh)",
        "conv_backward_naive"),
    Bug("conv backward: dx keeps the padding", "layers.py",
        "dx = dx_pad[:, :, pad:pad + h, pad:pad + wd]", "dx = dx_pad", "conv_backward_naive"),
    Bug("conv backward: crops with pad:-pad, empty when pad is 0", "layers.py",
        "dx = dx_pad[:, :, pad:pad + h, pad:pad + wd]", "dx = dx_pad[:, :, pad:-pad, pad:-pad]",
        "conv_backward_naive"),
    # Note [Known mistakes that raise] in grader/checks/builders.py: the same crop, raising.
    Bug("conv backward: pad:-pad crop copied into dx, raises when pad is 0", "layers.py",
        "dx = dx_pad[:, :, pad:pad + h, pad:pad + wd]",
        "dx = np.zeros_like(x)\n    for n in range(x.shape[0]):\n"
        "        dx[n] = dx_pad[n, :, pad:-pad, pad:-pad]", "conv_backward_naive"),
    # Note [An empty array in the forward's cache] in grader/checks/builders.py: the backward
    # pass is right; the forward's cache is empty at pad 0
    Bug("conv: caches the pad:-pad crop of x_pad, empty when pad is 0", "layers.py",
        "return out, (x, w, b, conv_param)",
        "return out, (x_pad[:, :, pad:-pad, pad:-pad], w, b, conv_param)", "conv_backward_naive"),
    Bug("conv backward: db summed over the batch only", "layers.py",
        "db = dout.sum(axis=(0, 2, 3))", "db = dout.sum(axis=0)", "conv_backward_naive"),
    Bug("max pool: windows step by the pool size", "layers.py",
        "window = x[:, :, i * stride:i * stride + ph, j * stride:j * stride + pw]",
        "window = x[:, :, i * ph:i * ph + ph, j * pw:j * pw + pw]", "max_pool_forward_naive",
        # an empty window makes the forward pass raise, and backward needs its cache
        ("max_pool_backward_naive",)),
    # Note [Windows the size of the stride] in checks.py: a real 2021-or-later package
    Bug("max pool: windows the size of the stride", "layers.py",
        "window = x[:, :, i * stride:i * stride + ph, j * stride:j * stride + pw]",
        "window = x[:, :, i * stride:(i + 1) * stride, j * stride:(j + 1) * stride]",
        "max_pool_forward_naive"),
    # Note [Columns counted by the rows] in checks.py: a real 2021 hand-in
    Bug("max pool: columns counted by the rows", "layers.py",
        "out = np.empty((n, c, h_out, w_out), dtype=x.dtype)\n    for i in range(h_out):\n"
        "        for j in range(w_out):",
        "out = np.zeros((n, c, h_out, w_out), dtype=x.dtype)\n    for i in range(h_out):\n"
        "        for j in range(h_out):", "max_pool_forward_naive",
        # an IndexError where H_out > W_out, and backward needs the forward's cache
        ("max_pool_backward_naive",)),
    # Note [Windows counted to the input's edge] in checks.py: a real 2020 hand-in's count
    Bug("max pool: windows counted to the input's edge", "layers.py",
        "out = np.empty((n, c, h_out, w_out), dtype=x.dtype)\n    for i in range(h_out):\n"
        "        for j in range(w_out):",
        "out = np.zeros((n, c, h_out, w_out), dtype=x.dtype)\n"
        "    for i in range(-(-h // stride)):\n        for j in range(-(-wd // stride)):",
        "max_pool_forward_naive",
        # an IndexError where a window starts past the last that fits; backward needs the cache
        ("max_pool_backward_naive",)),
    Bug("max pool backward: gradient to the whole window", "layers.py",
        "dx[:, :, rows, cols] += routed.reshape(n, c, ph, pw)",
        "dx[:, :, rows, cols] += dout[:, :, i, j][:, :, None, None]", "max_pool_backward_naive"),
    Bug("max pool backward: overlapping windows overwrite", "layers.py",
        "dx[:, :, rows, cols] += routed.reshape(n, c, ph, pw)",
        "dx[:, :, rows, cols] = routed.reshape(n, c, ph, pw)", "max_pool_backward_naive"),
    Bug("max pool backward: a shared maximum's dout replaced, not added", "layers.py",
        "dx[:, :, rows, cols] += routed.reshape(n, c, ph, pw)",
        "np.copyto(dx[:, :, rows, cols], routed.reshape(n, c, ph, pw), "
        "where=np.arange(ph * pw).reshape(1, 1, ph, pw) == first_max.reshape(n, c, 1, 1))",
        "max_pool_backward_naive"),
    # Note [Windows counted without the stride] in checks.py: a real 2020 hand-in's count
    Bug("max pool backward: windows counted as H // pool_height", "layers.py",
        "_, _, h_out, w_out = dout.shape\n    dx = np.zeros_like(x, dtype=np.result_type(x, dout))",
        "h_out, w_out = x.shape[2] // ph, x.shape[3] // pw\n"
        "    dx = np.zeros_like(x, dtype=np.result_type(x, dout))",
        "max_pool_backward_naive"),
    Bug("conv_relu_forward: ReLU missing", "layer_utils.py",
        "a, conv_cache = conv_forward_fast(x, w, b, conv_param)\n    out, relu_cache = relu_forward(a)",
        "a, conv_cache = conv_forward_fast(x, w, b, conv_param)\n"
        "    out, relu_cache = a, relu_forward(a)[1]",
        "conv_relu_forward"),
    Bug("conv_relu_backward: ReLU skipped", "layer_utils.py",
        "da = relu_backward(dout, relu_cache)\n    return conv_backward_fast(da, conv_cache)",
        "return conv_backward_fast(dout, conv_cache)", "conv_relu_backward"),
    Bug("conv_relu_pool_forward: pools the pre-ReLU map", "layer_utils.py",
        "out, pool_cache = max_pool_forward_fast(s, pool_param)",
        "out, pool_cache = max_pool_forward_fast(a, pool_param)", "conv_relu_pool_forward",
        ("conv_relu_pool_backward", MODEL)),
    Bug("conv_relu_pool_backward: ReLU skipped", "layer_utils.py",
        "da = relu_backward(ds, relu_cache)", "da = ds", "conv_relu_pool_backward", (MODEL,)),
    Bug("ThreeLayerConvNet: W2 not scaled by weight_scale", "classifiers/cnn.py",
        '"W2": weight_scale * np.random.randn(pooled, hidden_dim),',
        '"W2": np.random.randn(pooled, hidden_dim),', "ThreeLayerConvNet.__init__"),
    Bug("ThreeLayerConvNet: dtype ignored (parameters stay float32)", "classifiers/cnn.py",
        "self.params = {name: value.astype(dtype) for name, value in params.items()}",
        "self.params = {name: value.astype(np.float32) for name, value in params.items()}",
        "ThreeLayerConvNet.__init__"),
    Bug("ThreeLayerConvNet: penalty reg * sum(W**2)", "classifiers/cnn.py",
        "loss = data_loss + 0.5 * self.reg * sum(", "loss = data_loss + self.reg * sum(", MODEL),
    # Note [A penalty split over lines] in checks.py: a real 2019 hand-in.
    # Note [A weight named twice in the penalty] in checks.py: a real hand-in.
    Bug("ThreeLayerConvNet: penalty names W3 twice, W1 never", "classifiers/cnn.py",
        "loss = data_loss + 0.5 * self.reg * sum(float(np.sum(p[n] ** 2)) for n in weight_names)",
        'loss = data_loss + 0.5 * self.reg * (np.sum(p["W3"] * p["W3"]) + np.sum(p["W2"] * p["W2"])'
        ' + np.sum(p["W3"] * p["W3"]))', MODEL),
    Bug("ThreeLayerConvNet: penalty continued on lines of their own", "classifiers/cnn.py",
        "loss = data_loss + 0.5 * self.reg * sum(float(np.sum(p[n] ** 2)) for n in weight_names)",
        'loss = data_loss + 0.5 * self.reg * np.sum(p["W1"] ** 2)\n'
        '        + 0.5 * self.reg * np.sum(p["W2"] ** 2)\n'
        '        + 0.5 * self.reg * np.sum(p["W3"] ** 2)', MODEL),
    # Note [A weight not squared in the penalty] in checks.py: a real 2021 hand-in.
    Bug("ThreeLayerConvNet: W3 not squared in the penalty", "classifiers/cnn.py",
        "loss = data_loss + 0.5 * self.reg * sum(float(np.sum(p[n] ** 2)) for n in weight_names)",
        'loss = data_loss + 0.5 * self.reg * (np.sum(p["W1"] ** 2) + np.sum(p["W2"] ** 2)'
        ' + np.sum(p["W3"]))', MODEL),
    Bug("ThreeLayerConvNet: regularization gradient missing", "classifiers/cnn.py",
        "grads[name] = grads[name] + self.reg * p[name]", "grads[name] = grads[name]", MODEL),
    Bug("ThreeLayerConvNet: reg * np.sum(W) added to the gradient", "classifiers/cnn.py",
        "grads[name] = grads[name] + self.reg * p[name]",
        "grads[name] = grads[name] + self.reg * np.sum(p[name])", MODEL),
    Bug("spatial batchnorm: reshape without transposing", "layers.py",
        "out_rows, bn_cache = batchnorm_forward(_channels_last_rows(x), gamma, beta, bn_param)\n"
        "    return _rows_to_channels_first(out_rows, x.shape), (bn_cache, x.shape)",
        "out_rows, bn_cache = batchnorm_forward(x.reshape(-1, x.shape[1]), gamma, beta, bn_param)\n"
        "    return out_rows.reshape(x.shape), (bn_cache, x.shape)",
        "spatial_batchnorm_forward", ("spatial_batchnorm_backward",)),
    Bug("spatial batchnorm: unbiased running variance", "layers.py",
        'bn_param["running_var"] = momentum * running_var + (1 - momentum) * batch_var',
        'bn_param["running_var"] = momentum * running_var + (1 - momentum) * x.var(axis=0, ddof=1)',
        "spatial_batchnorm_forward"),
    # a real 2017 package: np.sqrt(x_var + 1e-5) whatever bn_param said
    Bug("spatial batchnorm: bn_param eps ignored", "layers.py",
        'eps = bn_param.get("eps", 1e-5)', "eps = 1e-5",
        "spatial_batchnorm_forward", ("spatial_batchnorm_backward",)),
    # a real 2017 package (its batchnorm_forward's test mode)
    Bug("spatial batchnorm: eps outside the square root at test time", "layers.py",
        "out = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta",
        "out = gamma * (x - running_mean) / (np.sqrt(running_var) + eps) + beta",
        "spatial_batchnorm_forward"),
    # Note [beta subtracted at test time] in assignments/batchnorm/checks.py: a real 2020 package
    Bug("spatial batchnorm: beta subtracted and eps outside the square root at test time",
        "layers.py", "out = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta",
        "out = gamma * (x - running_mean) / (np.sqrt(running_var) + eps) - beta",
        "spatial_batchnorm_forward"),
    # Note [A running variance far from eps] in checks.py: a real hand-in
    Bug("spatial batchnorm: running variance averages var + eps", "layers.py",
        'bn_param["running_var"] = momentum * running_var + (1 - momentum) * batch_var',
        'bn_param["running_var"] = momentum * running_var + (1 - momentum) * (batch_var + eps)',
        "spatial_batchnorm_forward"),
    Bug("spatial batchnorm backward: dx not transposed back", "layers.py",
        "return _rows_to_channels_first(dx_rows, shape), dgamma, dbeta",
        "return dx_rows.reshape(shape), dgamma, dbeta", "spatial_batchnorm_backward"),
    Bug("group norm: statistics per channel", "layers.py",
        "grouped = x.reshape(n, G, (c // G) * h * w)", "grouped = x.reshape(n, c, h * w)",
        "spatial_groupnorm_forward", ("spatial_groupnorm_backward",)),
    # (dgamma returned as (C,) instead of (1, C, 1, 1) is accepted since issue 11: Note
    # [Singleton axes] in grader/checks/compare.py; a (C,) dgamma with wrong values is not.)
    # a real 2020 hand-in (layernorm_forward on (N*H*W, C // G) slices)
    Bug("group norm: statistics per pixel", "layers.py",
        "grouped = x.reshape(n, G, (c // G) * h * w)", "grouped = x.reshape(n, G, c // G, h * w)",
        "spatial_groupnorm_forward", ("spatial_groupnorm_backward",)),
    Bug("group norm backward: dgamma copies dbeta's formula, in (C,)", "layers.py",
        "dgamma = (dout * x_hat).sum(axis=(0, 2, 3), keepdims=True)",
        "dgamma = dout.sum(axis=(0, 2, 3))", "spatial_groupnorm_backward"),
    # Note [dgamma from the input] in checks.py: a real 2025 hand-in (one edit from the
    # forward's return, which caches x too, to the backward's dgamma)
    Bug("group norm backward: dgamma from x, not x_hat", "layers.py",
        "    return out, (gamma, x_hat_grouped, inv_std, G)\n\n\n"
        "def spatial_groupnorm_backward(dout, cache):\n" + _GN_BACKWARD_HEAD
        + "    gamma, x_hat_grouped, inv_std, G = cache\n"
        "    x_hat = x_hat_grouped.reshape(dout.shape)\n"
        "    dbeta = dout.sum(axis=(0, 2, 3), keepdims=True)\n"
        "    dgamma = (dout * x_hat).sum(axis=(0, 2, 3), keepdims=True)\n",
        "    return out, (gamma, x_hat_grouped, inv_std, G, x)\n\n\n"
        "def spatial_groupnorm_backward(dout, cache):\n" + _GN_BACKWARD_HEAD
        + "    gamma, x_hat_grouped, inv_std, G, x = cache\n"
        "    x_hat = x_hat_grouped.reshape(dout.shape)\n"
        "    dbeta = dout.sum(axis=(0, 2, 3), keepdims=True)\n"
        "    dgamma = (dout * x).sum(axis=(0, 2, 3), keepdims=True)\n",
        "spatial_groupnorm_backward"),
    Bug("group norm backward: no gradient through mean and variance", "layers.py",
        "dx = _standardize_backward(dx_hat_grouped, x_hat_grouped, inv_std, axis=2)",
        "dx = dx_hat_grouped * inv_std", "spatial_groupnorm_backward"),
    # Added for `grade selftest`: each makes a check lose points that no mutant above does.
    Bug("ThreeLayerConvNet: loss summed over the batch", "classifiers/cnn.py",
        "data_loss, dscores = softmax_loss(scores, y)\n",
        "data_loss, dscores = softmax_loss(scores, y)\n        data_loss *= X.shape[0]\n", MODEL),
    Bug("ThreeLayerConvNet: backward starts from the scores", "classifiers/cnn.py",
        "affine_backward(dscores, scores_cache)", "affine_backward(scores, scores_cache)", MODEL),
    Bug("spatial batchnorm backward: dgamma and dbeta swapped", "layers.py",
        "return _rows_to_channels_first(dx_rows, shape), dgamma, dbeta",
        "return _rows_to_channels_first(dx_rows, shape), dbeta, dgamma",
        "spatial_batchnorm_backward"),
    Bug("group norm backward: dbeta not summed over the batch", "layers.py",
        "dbeta = dout.sum(axis=(0, 2, 3), keepdims=True)",
        "dbeta = dout.sum(axis=(2, 3), keepdims=True)",
        "spatial_groupnorm_backward"),
]
