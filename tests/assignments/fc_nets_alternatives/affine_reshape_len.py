# affine with x.reshape(len(x), -1) and .dot, dx reshaped with *x.shape;
# ReLU as x * (x > 0), its backward a copy zeroed in place.


def affine_forward(x, w, b):
    out = x.reshape(len(x), -1).dot(w) + b
    cache = (x, w, b)
    return out, cache


def affine_backward(dout, cache):
    x, w, b = cache
    dx = dout.dot(w.T).reshape(*x.shape)
    dw = x.reshape(len(x), -1).T.dot(dout)
    db = np.sum(dout, axis=0)
    return dx, dw, db


def relu_forward(x):
    out = x * (x > 0)
    cache = x
    return out, cache


def relu_backward(dout, cache):
    x = cache
    dx = dout.copy()
    dx[x <= 0] = 0
    return dx
