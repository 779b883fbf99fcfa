"""First-order update rules used by the Solver.

Every rule has the same signature:

    next_w, config = update(w, dw, config=None)

- w: array of any shape, the current weights;
- dw: array of the same shape, the gradient of the loss with respect to w;
- config: dict of hyperparameters (learning rate, ...) and of the state the rule
  keeps between calls (velocity, running averages, step count).  Fill in any
  missing hyperparameter with its default; None means "all defaults".

Return the new weights and the config, with its state updated, so that the
next call continues where this one stopped.
"""

import numpy as np


def sgd(w, dw, config=None):
    """Vanilla stochastic gradient descent (given).

    config: learning_rate (default 1e-2).
    """
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    w -= config["learning_rate"] * dw
    return w, config


def sgd_momentum(w, dw, config=None):
    """SGD with (classical) momentum.

    config: learning_rate (default 1e-2); momentum (default 0.9); velocity, an
    array like w holding the running velocity (zeros when missing).
    Store the updated velocity back in config['velocity'].
    """
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config.get("velocity", np.zeros_like(w))
    # TODO: update the velocity v and compute next_w.
    raise NotImplementedError("sgd_momentum is not implemented yet")


def rmsprop(w, dw, config=None):
    """RMSProp: divide each step by a running root mean square of past gradients.

    config: learning_rate (default 1e-2); decay_rate (default 0.99); epsilon
    (default 1e-8); cache, a running average of dw**2 (zeros when missing).
    Store the updated cache back in config['cache'].
    """
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("cache", np.zeros_like(w))
    # TODO: update config['cache'] and compute next_w.
    raise NotImplementedError("rmsprop is not implemented yet")


def adam(w, dw, config=None):
    """Adam: running averages of the gradient and of its square, with bias correction.

    config: learning_rate (default 1e-3); beta1 (default 0.9); beta2 (default
    0.999); epsilon (default 1e-8); m and v, the two running averages (zeros
    when missing); t, the number of steps taken so far (0 when missing).
    Increment t before using it; store m, v and t back in config.
    """
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("m", np.zeros_like(w))
    config.setdefault("v", np.zeros_like(w))
    config.setdefault("t", 0)
    # TODO: update m, v and t in config and compute next_w.
    raise NotImplementedError("adam is not implemented yet")
