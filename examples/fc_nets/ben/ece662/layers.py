"""ben's layers: two classic mistakes (db averaged over the batch, softmax without the max shift)."""

import numpy as np

def affine_forward(x, w, b):
    N = x.shape[0]
    out = np.zeros((N, w.shape[1]))
    for i in range(N):
        out[i] = np.dot(x[i].flatten(), w) + b
    return out, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    N = x.shape[0]
    rows = x.reshape(N, -1)
    dx_rows = np.zeros_like(rows, dtype=np.float64)
    dw = np.zeros_like(w, dtype=np.float64)
    db = np.zeros_like(b, dtype=np.float64)
    for i in range(N):
        dx_rows[i] = w @ dout[i]
        dw += np.outer(rows[i], dout[i])
        db += dout[i] / N
    return dx_rows.reshape(x.shape), dw, db


def relu_forward(x):
    return np.where(x > 0, x, 0.0), x


def relu_backward(dout, cache):
    return np.where(cache > 0, dout, 0.0)


def softmax_loss(x, y):
    N, C = x.shape
    loss, dx = 0.0, np.zeros_like(x, dtype=np.float64)
    for i in range(N):
        top = 0.0
        exps = [np.exp(x[i, j] - top) for j in range(C)]
        total = sum(exps)
        loss += np.log(total) - (x[i, y[i]] - top)
        for j in range(C):
            dx[i, j] = exps[j] / total - (1.0 if j == y[i] else 0.0)
    return loss / N, dx / N


def svm_loss(x, y):
    N, C = x.shape
    loss, dx = 0.0, np.zeros_like(x, dtype=np.float64)
    for i in range(N):
        for j in range(C):
            if j == y[i]:
                continue
            margin = x[i, j] - x[i, y[i]] + 1
            if margin > 0:
                loss += margin
                dx[i, j] += 1
                dx[i, y[i]] -= 1
    return loss / N, dx / N
