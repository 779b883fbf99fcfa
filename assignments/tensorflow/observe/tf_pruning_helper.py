"""The course package's `pruning_helper` as the worker provides it to the TensorFlow
notebook in execute mode (a stand-in, Note [Observation] in grader/worker/observe.py;
named under `observe.modules` in assignments/tensorflow/manifest.yml).

Why it exists: ECE's Q5-Tensorflow opens with the course's import cell, whose last line is
`from ece662.pruning_helper import invert_ch` (`ece697ls.` by year); see Note [The
TensorFlow notebook's pruning_helper import].  Imports numpy only; shares a process with
student code.
"""

from __future__ import annotations

# Note [The TensorFlow notebook's pruning_helper import]
# The course's pruning_helper.py (handed out with the Pruning notebook) imports torch,
# sklearn and keras and defines test_model, load_model and invert_ch; the TensorFlow
# notebook imports only invert_ch from it.  Without a stand-in that line raised
# ModuleNotFoundError in every real ECE hand-in's import cell, and the report said
# "cell N: error: ModuleNotFoundError ... pruning_helper" to students whose work had
# full marks (every public Q5-Tensorflow notebook graded: Khiem17204, Tarosh-Kuchroo,
# zitianxia); the names the cell imported before that line survived, so the message
# was the only harm.  invert_ch is the course's own
# one-line function (N x C x H x W <-> N x W x H x C), so it is given as the course
# wrote it; the Pruning assignment's stand-in (assignments/pruning/course/) needs torch
# and the judge's trained model, neither of which this notebook has.

import numpy as np


def invert_ch(data):
    """The course's helper: axes 1 and 3 swapped, (N, C, H, W) -> (N, W, H, C), a copy."""
    return np.asarray(data).transpose(0, 3, 2, 1).copy()
