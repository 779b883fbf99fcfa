"""Update rules (starter code): next_w, config = rule(w, dw, config=None).

`config` holds the rule's hyperparameters and the state it carries from one
step to the next; the Solver keeps one per parameter.  sgd is given; the
others come from the FullyConnectedNets notebook.
"""

from __future__ import annotations

import numpy as np

# The Solver accepts these names as update_rule.
__all__ = ["sgd", "sgd_momentum", "rmsprop", "adam"]


def sgd(w, dw, config=None):
    """Vanilla stochastic gradient descent; config: learning_rate (1e-2)."""
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    return w - config["learning_rate"] * dw, config


def sgd_momentum(w, dw, config=None):
    """SGD with momentum; config: learning_rate (1e-2), momentum (0.9), velocity."""
    # TODO: copy your implementation from the FullyConnectedNets notebook.
    raise NotImplementedError("sgd_momentum is not implemented yet")


def rmsprop(w, dw, config=None):
    """RMSProp; config: learning_rate (1e-2), decay_rate (0.99), epsilon (1e-8), cache."""
    # TODO: copy your implementation from the FullyConnectedNets notebook.
    raise NotImplementedError("rmsprop is not implemented yet")


def adam(w, dw, config=None):
    """Adam; config: learning_rate (1e-3), beta1 (0.9), beta2 (0.999), epsilon (1e-8), m, v, t."""
    # TODO: copy your implementation from the FullyConnectedNets notebook.
    raise NotImplementedError("adam is not implemented yet")
