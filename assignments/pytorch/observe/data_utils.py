"""The course package's `data_utils` as the worker provides it to the PyTorch notebook in
execute mode (a stand-in, OBSERVE_API.md).

Why it exists: ECE's notebook loads its images with `get_CINIC10_data()` from the course
package (`ece662`, `ece697ls`) and wraps them in DataLoaders.  The grader never downloads
data and trains nothing in the notebook itself (observe/torch_observe.py records instead),
so a few seeded images in the course's shapes and keys are enough for the cells to run:
(N, 3, 32, 32) float32 images, int labels of the 6 classes ECE's subset has.
"""

from __future__ import annotations

import numpy as np

SIZES = {"train": 128, "val": 64, "test": 64}
CLASSES = 6


def get_CINIC10_data(*args, **kwargs) -> dict:
    """{'X_train', 'y_train', 'X_val', 'y_val', 'X_test', 'y_test'}: small seeded arrays."""
    rng = np.random.default_rng(0)
    data = {}
    for split, n in SIZES.items():
        data[f"X_{split}"] = rng.standard_normal((n, 3, 32, 32)).astype(np.float32)
        data[f"y_{split}"] = rng.integers(0, CLASSES, n).astype(np.int64)
    return data


get_CIFAR10_data = get_CINIC10_data
