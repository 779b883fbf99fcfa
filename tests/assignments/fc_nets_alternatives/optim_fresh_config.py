# Update rules that copy config (dict(config), config.copy()) and return the copy with
# the new state, read their state with config.get, and Adam in the folded form of Kingma
# and Ba (section 2: the bias corrections folded into the step size, epsilon outside
# the square root), which the course text admits to 1e-8 relative.

def sgd_momentum(w, dw, config=None):
    config = dict(config) if config is not None else {}
    lr = config.setdefault("learning_rate", 1e-2)
    mu = config.setdefault("momentum", 0.9)
    v = mu * config.get("velocity", np.zeros_like(w)) - lr * dw
    return w + v, {**config, "velocity": v}


def rmsprop(w, dw, config=None):
    config = {} if config is None else config.copy()
    lr = config.setdefault("learning_rate", 1e-2)
    decay = config.setdefault("decay_rate", 0.99)
    eps = config.setdefault("epsilon", 1e-8)
    cache = decay * config.get("cache", np.zeros_like(w)) + (1 - decay) * np.square(dw)
    config["cache"] = cache
    return w - lr * dw / (np.sqrt(cache) + eps), config


def adam(w, dw, config=None):
    config = {} if config is None else config.copy()
    lr = config.setdefault("learning_rate", 1e-3)
    b1 = config.setdefault("beta1", 0.9)
    b2 = config.setdefault("beta2", 0.999)
    eps = config.setdefault("epsilon", 1e-8)
    t = config.setdefault("t", 0) + 1
    m = b1 * config.get("m", np.zeros_like(w)) + (1 - b1) * dw
    v = b2 * config.get("v", np.zeros_like(w)) + (1 - b2) * np.square(dw)
    lr_t = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
    next_w = w - lr_t * m / (np.sqrt(v) + eps)
    config.update(m=m, v=v, t=t)
    return next_w, config
