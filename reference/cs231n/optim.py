"""First-order update rules with the cs231n contract, the reference students are judged against.

Every rule has the signature

    next_w, config = rule(w, dw, config=None)

- `w`: array of any shape, the current weights.
- `dw`: array of the same shape, the gradient of the loss with respect to `w`.
- `config`: dict of hyperparameters and of the state the rule carries between
  steps (velocity, caches, moments, step count).  Missing keys are filled with
  the course's defaults; `None` means "all defaults".
- `next_w`: a new array of the same shape, the weights after one step.
- The returned `config` is the same dict, updated, to be passed to the next call.

The `Solver` keeps one config per parameter and hands it back on every step.

# Note [Updates never write into w]
The course's starter code updates `w` in place (`w -= lr * dw`).  A judge must
not mutate what a caller gave it (ARCHITECTURE.md: inputs are copied and a
function that writes into its inputs is flagged), so every rule here builds a new
`next_w`.  State arrays in `config` (velocity, cache, m, v) are replaced by new
arrays too, never modified in place, so a test can keep the arrays it passed in.
"""

from __future__ import annotations

import numpy as np

__all__ = ["sgd", "sgd_momentum", "rmsprop", "adam"]


def _with_defaults(config: dict | None, **defaults) -> dict:
    """Return `config` (a new dict if None) with each missing default key set."""
    if config is None:
        config = {}
    for key, value in defaults.items():
        config.setdefault(key, value)
    return config


def sgd(w: np.ndarray, dw: np.ndarray, config: dict | None = None):
    """Vanilla stochastic gradient descent: next_w = w - learning_rate * dw.

    config: learning_rate (default 1e-2).
    Shapes: w, dw, next_w all the same shape.  See Note [Updates never write into w].
    """
    config = _with_defaults(config, learning_rate=1e-2)
    next_w = w - config["learning_rate"] * dw
    return next_w, config


def sgd_momentum(w: np.ndarray, dw: np.ndarray, config: dict | None = None):
    """SGD with (classical, course-form) momentum.

        velocity = momentum * velocity - learning_rate * dw
        next_w   = w + velocity

    config: learning_rate (1e-2), momentum (0.9), velocity (zeros like w).
    Shapes: w, dw, velocity, next_w all the same shape.
    See Note [Momentum: course form vs torch form] in the tests for how this
    maps onto torch.optim.SGD.
    """
    config = _with_defaults(config, learning_rate=1e-2, momentum=0.9)
    velocity = config.get("velocity")
    if velocity is None:
        velocity = np.zeros_like(w)
    velocity = config["momentum"] * velocity - config["learning_rate"] * dw
    config["velocity"] = velocity
    return w + velocity, config


def rmsprop(w: np.ndarray, dw: np.ndarray, config: dict | None = None):
    """RMSProp: scale each step by a running root-mean-square of past gradients.

        cache  = decay_rate * cache + (1 - decay_rate) * dw**2
        next_w = w - learning_rate * dw / (sqrt(cache) + epsilon)

    config: learning_rate (1e-2), decay_rate (0.99), epsilon (1e-8),
    cache (zeros like w).  Epsilon is added outside the square root.
    Shapes: w, dw, cache, next_w all the same shape.
    """
    config = _with_defaults(config, learning_rate=1e-2, decay_rate=0.99, epsilon=1e-8)
    cache = config.get("cache")
    if cache is None:
        cache = np.zeros_like(w)
    decay = config["decay_rate"]
    cache = decay * cache + (1 - decay) * dw * dw
    config["cache"] = cache
    next_w = w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"])
    return next_w, config


# Note [Adam step count]
# `t` counts the updates already taken and starts at 0; it is incremented
# *before* it is used in the bias correction, so the first update divides by
# (1 - beta1**1) and (1 - beta2**1).  The course's published Adam vectors
# (config t=5 on entry) are reproduced only by this convention (bias correction
# with t=6): using t before incrementing misses them by ~9e-5, while this form
# matches every published digit (largest difference 4.5e-9, below the 5e-9
# rounding of the 8 printed decimals).  torch.optim.Adam counts the same way.
def adam(w: np.ndarray, dw: np.ndarray, config: dict | None = None):
    """Adam with bias correction (Kingma & Ba).

        t      = t + 1
        m      = beta1 * m + (1 - beta1) * dw
        v      = beta2 * v + (1 - beta2) * dw**2
        next_w = w - learning_rate * (m / (1 - beta1**t)) / (sqrt(v / (1 - beta2**t)) + epsilon)

    config: learning_rate (1e-3), beta1 (0.9), beta2 (0.999), epsilon (1e-8),
    m and v (zeros like w), t (0).  See Note [Adam step count].
    Shapes: w, dw, m, v, next_w all the same shape.
    """
    config = _with_defaults(config, learning_rate=1e-3, beta1=0.9, beta2=0.999,
                            epsilon=1e-8, t=0)
    m = config.get("m")
    v = config.get("v")
    m = np.zeros_like(w) if m is None else m
    v = np.zeros_like(w) if v is None else v
    beta1, beta2 = config["beta1"], config["beta2"]

    t = config["t"] + 1
    m = beta1 * m + (1 - beta1) * dw
    v = beta2 * v + (1 - beta2) * dw * dw
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    next_w = w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"])

    config["t"], config["m"], config["v"] = t, m, v
    return next_w, config
