# Update rules that copy w and then update the copy with -=, keep their state
# in locals unpacked from config and update the state arrays in place
# (*=, +=), which the Solver allows: it only keeps the config returned.


def sgd(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    next_w = w.copy()
    next_w -= config["learning_rate"] * dw
    return next_w, config


def sgd_momentum(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    if "velocity" not in config:
        config["velocity"] = np.zeros_like(w)
    v = config["velocity"]
    v *= config["momentum"]
    v -= config["learning_rate"] * dw
    next_w = w.copy()
    next_w += v
    return next_w, config


def rmsprop(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    if "cache" not in config:
        config["cache"] = np.zeros_like(w)
    lr, decay, eps, cache = (config["learning_rate"], config["decay_rate"],
                             config["epsilon"], config["cache"])
    cache *= decay
    cache += (1 - decay) * dw * dw
    next_w = w.copy()
    next_w -= lr * dw / (np.sqrt(cache) + eps)
    return next_w, config


def adam(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("m", np.zeros_like(w))
    config.setdefault("v", np.zeros_like(w))
    config.setdefault("t", 0)
    lr, beta1, beta2, eps = (config["learning_rate"], config["beta1"], config["beta2"],
                             config["epsilon"])
    m, v = config["m"], config["v"]
    t = config["t"] + 1
    m *= beta1
    m += (1 - beta1) * dw
    v *= beta2
    v += (1 - beta2) * dw ** 2
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    next_w = w.copy()
    next_w -= lr * m_hat / (np.sqrt(v_hat) + eps)
    config["t"] = t
    return next_w, config
