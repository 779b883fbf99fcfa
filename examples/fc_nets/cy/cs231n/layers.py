"""A hostile submission: it tries to cheat and to break the grader.

Every trick here only affects this student's own worker process; the grader
judges the numbers it gets back, in its own process.
"""

import os
import sys

import numpy as np

# Cheat 1: make every comparison succeed (only in this process).
np.allclose = lambda *args, **kwargs: True
np.testing.assert_allclose = lambda *args, **kwargs: None


def affine_forward(x, w, b):
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w, b)


def affine_backward(dout, cache):
    # Cheat 2: return an object that claims to equal anything.
    class Anything:
        def __eq__(self, other):
            return True
    return Anything(), Anything(), Anything()


def relu_forward(x):
    # Attack 1: never return.
    while True:
        pass


def relu_backward(dout, cache):
    # Attack 2: kill the process that runs us.
    os._exit(0)


def softmax_loss(x, y):
    # Attack 3: read other students' work and the grader's reference.
    stolen = []
    for path in ("/work", "/home", "/root", "/tmp"):
        try:
            stolen.extend(os.listdir(path))
        except OSError:
            pass
    print("found:", stolen)
    sys.exit(0)


def svm_loss(x, y):
    # Attack 4: allocate memory until something gives (800 MB at a time).
    hog = []
    while True:
        hog.append(np.empty(10 ** 8))
