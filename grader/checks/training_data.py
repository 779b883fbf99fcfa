"""Which images the accuracy checks train on, and what accuracy they must reach there.

Why it exists: the framework assignments' accuracy checks (`pytorch`'s
ThreeLayerConvNet, `tf_norms`' NormalizedCNN) train the student's model on
scikit-learn's bundled digits by default, so grading works offline; with
`grade check/batch --data-dir DIR` they train on the CIFAR-10, Fashion-MNIST or
CINIC-10 files the instructor has instead.  This module is everything about
that data that is not one assignment's business:

- `detect(folder)` says which data set a folder holds (Note [Detecting the data set]);
  `describe(folder)` loads it once and says what the checks will use, and is
  what the CLI calls before grading, so a bad --data-dir is the command's error;
- `image_set(layout)`: the images of the current run (the `data_dir` context
  variable, set by the pipeline with `using`), float32 in [0, 1], int64
  labels, cut to a seeded stratified budget (Note [Training budget]), cached
  per process (Note [One copy per process]);
- `fit_images(x, size)`: images resized to the square a network hard-codes
  (Note [Fitting image sizes]);
- `relative_target(...)`: the target on a data set other than digits, the
  trusted reference's accuracy trained the same way less a margin (Note
  [Relative targets]), with the reference's run cached on disk (Note
  [Reference runs are cached on disk]).

The loaders themselves live in reference/datasets.py; nothing is downloaded.

# Note [Which checks use --data-dir]
Two checks train on the --data-dir data set: `pytorch`'s
ThreeLayerConvNet/accuracy and `tf_norms`' NormalizedCNN/trains_* (the course
runs those notebooks on CIFAR-10, Fashion-MNIST and CINIC-10).  The other
training checks stay on digits whatever --data-dir says: `pruning` judges how
accuracy falls as weights are removed from a model it trains itself,
against a curve measured on digits, and `tensorflow`'s Keras checks judge the
three APIs with thresholds measured on digits; neither needs the
instructor's images to tell a right implementation from a wrong one, and both
would multiply grading time by the size of the data.  The same helpers
(`image_set`, `fit_images`, `relative_target`) would move them when a course
wants it.
"""

from __future__ import annotations

import contextlib
import contextvars
import fcntl
import functools
import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from reference import datasets as D

# The folder `--data-dir` named for the current submission's checks; None: digits.
data_dir: contextvars.ContextVar[Path | None] = contextvars.ContextVar("data_dir", default=None)


@contextlib.contextmanager
def using(folder: Path | None) -> Iterator[None]:
    """Train the accuracy checks inside the block on `folder`'s data set (None: digits)."""
    token = data_dir.set(Path(folder) if folder else None)
    try:
        yield
    finally:
        data_dir.reset(token)


class DataDirError(ValueError):
    """--data-dir names no usable data set; the message is one line and says why."""


class UnjudgeableData(RuntimeError):
    """Even the trusted reference barely beats chance here, so no target can be set
    (Note [Relative targets]); the course staff's problem, not the student's."""


# ===========================================================================
# Which data set a folder holds
# ===========================================================================

# Note [Detecting the data set]
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
# A folder is recognised by the file names each data set is distributed with,
# never by its own name:
#   CIFAR-10       data_batch_1..5, test_batch, batches.meta (the "python
#                  version"), in the folder or in its cifar-10-batches-py/;
#   Fashion-MNIST  train-images-idx3-ubyte, train-labels-idx1-ubyte,
#                  t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each `.gz`
#                  or not; or one Keras-style .npz (x_train, y_train, x_test,
#                  y_test), the folder's only .npz or named directly;
#   CINIC-10       train/ valid/ test/, one subfolder of 32x32 PNGs per class.
# One file of a set is enough to decide which set it is; the loader then names
# every missing or malformed file.  A folder matching none, or more than one,
# is an error that lists what was looked for (and mentions an archive that
# was not extracted).  `describe` goes on to load the images the checks will
# use, so a corrupt file is found before any submission is graded.

CIFAR10_SUBFOLDER = "cifar-10-batches-py"
FASHION_STEMS = tuple(stem for pair in D.FASHION_MNIST_FILES.values() for stem in pair)
CINIC10_FOLDERS = tuple(D.CINIC10_SPLITS.values())

LOOKED_FOR = ("CIFAR-10 python batches (data_batch_1..5, test_batch, batches.meta, here or in "
              f"{CIFAR10_SUBFOLDER}/), Fashion-MNIST idx files ({', '.join(FASHION_STEMS)}, .gz or "
              "not) or one Keras-style .npz (x_train, y_train, x_test, y_test), CINIC-10 folders "
              "train/ valid/ test/ with one subfolder of PNGs per class")


@dataclass(frozen=True)
class Source:
    """A data set found on disk: its kind and the file or folder to load."""
    kind: str    # "cifar10", "fashion_mnist", "fashion_mnist_npz", "cinic10"
    path: Path

    @property
    def name(self) -> str:
        return {"cifar10": "CIFAR-10", "fashion_mnist": "Fashion-MNIST",
                "fashion_mnist_npz": "Fashion-MNIST", "cinic10": "CINIC-10"}[self.kind]

    @property
    def form(self) -> str:
        return {"cifar10": "python batches", "fashion_mnist": "idx files",
                "fashion_mnist_npz": "Keras-style npz", "cinic10": "PNG class folders"}[self.kind]


def detect(folder: str | Path) -> Source:
    """The data set in `folder` (Note [Detecting the data set]); DataDirError when none or several."""
    path = Path(folder).expanduser()
    if not path.exists():
        raise DataDirError(f"--data-dir {folder}: no such file or folder")
    if path.is_file():
        if path.suffix == ".npz":
            return Source("fashion_mnist_npz", path)
        raise DataDirError(f"--data-dir {folder}: a file, not a folder; expected a folder with "
                           f"{LOOKED_FOR}, or a Fashion-MNIST .npz")
    found: list[Source] = []
    if any((path / name).is_file() for name in D.CIFAR10_FILES):
        found.append(Source("cifar10", path))
    elif (path / CIFAR10_SUBFOLDER).is_dir():
        found.append(Source("cifar10", path / CIFAR10_SUBFOLDER))
    if any(D._find_idx_file(path, stem) for stem in FASHION_STEMS):
        found.append(Source("fashion_mnist", path))
    npz = sorted(p for p in path.glob("*.npz") if p.is_file())
    if len(npz) == 1:
        found.append(Source("fashion_mnist_npz", npz[0]))
    if any((path / name).is_dir() for name in CINIC10_FOLDERS):
        found.append(Source("cinic10", path))
    if len(found) > 1:
        raise DataDirError(f"--data-dir {folder}: holds more than one data set "
                           f"({', '.join(f'{s.name} {s.form}' for s in found)}); "
                           f"point --data-dir at a folder with one")
    if found:
        return found[0]
    if len(npz) > 1:
        raise DataDirError(f"--data-dir {folder}: {len(npz)} .npz files "
                           f"({', '.join(p.name for p in npz)}); name the Fashion-MNIST one")
    archives = sorted(p.name for p in path.iterdir() if p.name.endswith((".tar.gz", ".tgz", ".zip")))
    extract = f" (found {', '.join(archives)}: extract it first)" if archives else ""
    raise DataDirError(f"--data-dir {folder}: no data set found{extract}; looked for {LOOKED_FOR}")


# ===========================================================================
# The images the checks use
# ===========================================================================

# Note [Training budget]
# ~~~~~~~~~~~~~~~~~~~~~~
# Training on all of CIFAR-10 (50000 images) per submission would make a
# class of 300 take days on a CPU, so a data set bigger than the budget is
# cut to TRAIN_BUDGET training and TEST_BUDGET test images: a stratified
# subsample (each class keeps its share, rounded by largest remainder; within
# a class a seeded permutation picks), kept in file order, the same for every
# submission and every process.  Measured on this project's 2-core machine
# while other work kept its load average at 1-11 (so upper bounds): the
# pytorch check's reference ThreeLayerConvNet(3, 8, 8, 10) trains 3 epochs
# on 5000 32x32x3 images in 5-12 s on one thread (up to 25 s at the highest
# load); the tf_norms reference NormalizedCNN does its 200 steps on 32x32x3
# in 6-35 s (no normalization fastest, batch norm slowest).  The student's
# run costs the same again, inside the checks' time limits (120 s and 180 s
# a call).  Loading CIFAR-10's 50000 images and cutting them took 1.5 s of
# CPU (7 s wall on the loaded machine).  CINIC-10's valid/
# split is not used.  Digits (1438 / 359) are used whole, as they always were.

TRAIN_BUDGET = 5000
TEST_BUDGET = 1000
BUDGET = (TRAIN_BUDGET, TEST_BUDGET)
SUBSAMPLE_SEED = 0
DIGITS = "digits"


def stratified_subsample(y: np.ndarray, n: int, seed: int = SUBSAMPLE_SEED) -> np.ndarray:
    """Sorted indices of n of the labels y, each class keeping its share; Note [Training budget].

    All indices when n >= len(y).
    """
    if n >= len(y):
        return np.arange(len(y))
    if n < 1:
        raise ValueError(f"a subsample needs at least one image, asked for {n}")
    classes, counts = np.unique(y, return_counts=True)
    exact = n * counts / len(y)
    quota = np.floor(exact).astype(int)
    by_remainder = np.argsort(-(exact - quota), kind="stable")
    quota[by_remainder[:n - quota.sum()]] += 1
    rng = np.random.default_rng(seed)
    picked = [rng.permutation(np.flatnonzero(y == label))[:k] for label, k in zip(classes, quota)]
    return np.sort(np.concatenate(picked))


@dataclass(frozen=True, eq=False)
class ImageSet:
    """Train and test images of one run: x float32 in [0, 1] in `layout`, y int64 in [0, K).

    Arrays are read-only and shared by every check of the process (Note [One copy
    per process]); copy before handing them to code that writes.
    """
    name: str                 # "digits", "CIFAR-10", "Fashion-MNIST", "CINIC-10"
    source: str               # where it came from, for messages
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    layout: str               # "NCHW" or "NHWC"
    total_train: int          # images in the files, before the budget
    total_test: int

    @property
    def is_digits(self) -> bool:
        return self.name == DIGITS

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def chance(self) -> float:
        return 1.0 / self.num_classes

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one image, whatever the layout."""
        shape = self.x_train.shape[1:]
        return shape if self.layout == "NCHW" else (shape[2], shape[0], shape[1])

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """(H, W, C) of one image, as Keras-style models take it."""
        c, h, w = self.image_shape
        return h, w, c

    @functools.cached_property
    def fingerprint(self) -> str:
        """sha256 of the name, shapes and contents (NCHW order, whatever the layout)."""
        digest = hashlib.sha256(f"{self.name}|{self.class_names}|{self.image_shape}".encode())
        for array in (self._nchw(self.x_train), self.y_train, self._nchw(self.x_test), self.y_test):
            digest.update(f"{array.dtype}{array.shape}".encode())
            digest.update(np.ascontiguousarray(array).tobytes())
        return digest.hexdigest()

    def _nchw(self, x: np.ndarray) -> np.ndarray:
        return x if self.layout == "NCHW" else x.transpose(0, 3, 1, 2)

    def sizes(self) -> str:
        """'5000 of 50000 training and 1000 of 10000 test images' (or all of them)."""
        def part(n: int, total: int, what: str) -> str:
            return f"{n} {what}" if n == total else f"{n} of {total} {what}"
        return (f"{part(len(self.y_train), self.total_train, 'training')} and "
                f"{part(len(self.y_test), self.total_test, 'test')} images")

    def summary(self) -> str:
        """One line for the terminal: what the accuracy checks train and test on."""
        c, h, w = self.image_shape
        cut = (f" (a stratified subsample, seed {SUBSAMPLE_SEED})"
               if (len(self.y_train), len(self.y_test)) != (self.total_train, self.total_test) else "")
        return (f"{self.name} ({self.source}): {self.sizes()}{cut}, {c} x {h} x {w}, "
                f"{self.num_classes} classes")


def image_set(layout: str = "NCHW", folder: str | Path | None = None,
              budget: tuple[int, int] = BUDGET) -> ImageSet:
    """The accuracy checks' images: `folder`'s data set, by default the `data_dir` of the
    run, or digits when there is none.  Cached per process (Note [One copy per process]).

    Raises DataDirError when the folder holds no readable data set.
    """
    if layout not in D.LAYOUTS:
        raise ValueError(f"layout must be one of {D.LAYOUTS}, got {layout!r}")
    folder = data_dir.get() if folder is None else folder
    key = None if folder is None else str(Path(folder).expanduser().resolve())
    return _cached(key, layout, tuple(budget))


def describe(folder: str | Path) -> str:
    """What `--data-dir folder` makes the accuracy checks use, in one line; DataDirError if
    nothing usable is there.  Loads the images (and keeps them for this process)."""
    return image_set(folder=folder).summary()


# Note [One copy per process]
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~
# Every accuracy check of a submission (tf_norms has four) and, in `grade
# check`, the CLI's up-front `describe` use the same images, so they are
# loaded once per process and layout.  The arrays are made read-only so that
# no caller can change what the next one sees; code that needs writable
# arrays (torch.from_numpy) copies.  `grade batch` grades each submission in a
# fresh job process (Note [Job processes] in grader/batch/run.py), which loads
# them again: about 1.5 s of CPU for CIFAR-10's pickles, less for the others.

@functools.lru_cache(maxsize=8)
def _cached(key: str | None, layout: str, budget: tuple[int, int]) -> ImageSet:
    if layout != "NCHW":
        base = _cached(key, "NCHW", budget)
        return _frozen(ImageSet(base.name, base.source, base.x_train.transpose(0, 2, 3, 1),
                                base.y_train, base.x_test.transpose(0, 2, 3, 1), base.y_test,
                                base.class_names, layout, base.total_train, base.total_test))
    if key is None:
        digits = D.load_digits_dataset(test_fraction=0.2, seed=0, layout="NCHW")
        return _frozen(ImageSet(DIGITS, "scikit-learn's bundled 8x8 digits", digits.X_train,
                                digits.y_train, digits.X_test, digits.y_test, digits.class_names,
                                "NCHW", len(digits.y_train), len(digits.y_test)))
    source = detect(key)
    try:
        return _frozen(_load(source, budget))
    except (FileNotFoundError, D.DatasetFormatError, ImportError, ValueError, OSError) as exc:
        raise DataDirError(f"--data-dir {key}: {' '.join(str(exc).split())}") from None


def _frozen(data: ImageSet) -> ImageSet:
    arrays = [np.ascontiguousarray(a) for a in (data.x_train, data.y_train, data.x_test, data.y_test)]
    for array in arrays:
        array.setflags(write=False)
    return ImageSet(data.name, data.source, *arrays[:2], *arrays[2:], data.class_names,
                    data.layout, data.total_train, data.total_test)


def _load(source: Source, budget: tuple[int, int]) -> ImageSet:
    """uint8 images of `source`, cut to the budget, as float32 / 255."""
    if source.kind == "cinic10":
        (x_train, y_train, n_train), (x_test, y_test, n_test), classes = _cinic_subsample(source.path, budget)
    else:
        loader = {"cifar10": D.load_cifar10, "fashion_mnist": D.load_fashion_mnist,
                  "fashion_mnist_npz": D.load_fashion_mnist_npz}[source.kind]
        full = loader(source.path)
        classes, n_train, n_test = full.class_names, len(full.y_train), len(full.y_test)
        keep_train = stratified_subsample(full.y_train, budget[0]) if n_train else np.arange(0)
        keep_test = stratified_subsample(full.y_test, budget[1]) if n_test else np.arange(0)
        x_train, y_train = full.X_train[keep_train], full.y_train[keep_train]
        x_test, y_test = full.X_test[keep_test], full.y_test[keep_test]
    for split, y in (("training", y_train), ("test", y_test)):
        if len(np.unique(y)) < 2:
            raise D.DatasetFormatError(f"{source.name}: {source.path} has {len(y)} {split} images "
                                       f"of {len(np.unique(y))} class(es); at least two classes are needed")
    scale = lambda x: (x.astype(np.float32) / np.float32(255.0))  # noqa: E731
    return ImageSet(source.name, f"{source.form} in {source.path}", scale(x_train), y_train,
                    scale(x_test), y_test, tuple(classes), "NCHW", n_train, n_test)


def _cinic_subsample(root: Path, budget: tuple[int, int]):
    """CINIC-10's train and test splits, reading only the budgeted PNGs: the full set is
    270000 files.  Same layout rules as reference.datasets.load_cinic10."""
    folders = D._cinic_class_folders(root)
    classes = tuple(folders["train"])
    if not classes:
        raise FileNotFoundError(f"CINIC-10: {root / 'train'} has no class subfolders")
    if tuple(folders["test"]) != classes:
        raise D.DatasetFormatError(f"CINIC-10: {root / 'test'} has classes {folders['test']}, "
                                   f"train/ has {list(classes)}")
    splits = []
    for name, n in (("train", budget[0]), ("test", budget[1])):
        files, labels = [], []
        for label, cls in enumerate(classes):
            found = sorted(p for p in (root / name / cls).iterdir() if p.suffix.lower() == ".png")
            files += found
            labels += [label] * len(found)
        y = np.asarray(labels, dtype=np.int64)
        keep = stratified_subsample(y, n) if len(y) else np.arange(0)
        x = (np.stack([D._read_png(files[i]) for i in keep]) if len(keep)
             else np.zeros((0, 3, 32, 32), np.uint8))
        splits.append((x, y[keep], len(y)))
    return splits[0], splits[1], classes


# ===========================================================================
# Fitting images to a network's input size
# ===========================================================================

# Note [Fitting image sizes]
# ~~~~~~~~~~~~~~~~~~~~~~~~~~
# The course's ThreeLayerConvNet hard-codes a 32 x 32 input (its fc layer has
# channel_2 * 32 * 32 inputs), so images of another size are fitted, each
# spatial axis on its own: when the target is a whole multiple of the size,
# every pixel is repeated (8 x 8 digits -> 32 x 32, exactly what the pytorch
# check always did); otherwise the image is zero-padded to the target,
# centred (Fashion-MNIST's 28 -> 32: two zero rows and columns each side), or
# centre-cropped when larger.  Repeating keeps the content's share of the
# image; padding with the background value keeps the pixels themselves.

def fit_images(x: np.ndarray, size: int, layout: str = "NCHW") -> np.ndarray:
    """Images (N, C, H, W) or (N, H, W, C) resized to size x size; Note [Fitting image sizes]."""
    if size < 1:
        raise ValueError(f"image size must be positive, got {size}")
    if layout not in D.LAYOUTS or x.ndim != 4:
        raise ValueError(f"expected 4-d images in {D.LAYOUTS}, got {x.shape} in {layout!r}")
    for axis in ((2, 3) if layout == "NCHW" else (1, 2)):
        n = x.shape[axis]
        if n == size:
            continue
        if size % n == 0:
            x = np.repeat(x, size // n, axis=axis)
        elif n < size:
            widths = [(0, 0)] * 4
            widths[axis] = ((size - n) // 2, size - n - (size - n) // 2)
            x = np.pad(x, widths)
        else:
            start = (n - size) // 2
            x = np.take(x, np.arange(start, start + size), axis=axis)
    return np.ascontiguousarray(x)


# ===========================================================================
# Targets
# ===========================================================================

# Note [Relative targets]
# ~~~~~~~~~~~~~~~~~~~~~~~
# On digits the checks keep their absolute targets, measured on the real data
# (each assignment's own Note).  On an instructor's CIFAR-10 / Fashion-MNIST /
# CINIC-10 no such number can be measured in advance (we have none of those
# files here), so the target is relative: the judge trains the trusted
# reference model itself, with the same loop, images, seed and steps as the
# student's model, and the student's accuracy must be at least the
# reference's less MARGIN, and at least chance plus MARGIN.
#
# The margin must cover how far a correct model can land from the
# reference's run.  Measured on synthetic CIFAR-10 batches of digits
# upsampled to 32x32x3 with a random tint per image (5000 training / 1000
# test images; "medium": pixel noise of std 0.3 and shifts of up to 2 pixels,
# "hard": 0.6 and 4), with the pytorch check's ThreeLayerConvNet and loop on
# one thread, seeds 0-9 (initial weights and minibatch order):
#     clean   0.960-0.990, worst seed 0.016 under seed 0
#     medium  0.840-0.885, worst 0.037 under
#     hard    0.302-0.632, worst 0.330 under (one seed stalled; the rest 0.53-0.63)
# so on hard images the initial draw alone can cost more than any margin
# that still means something.  The pytorch check therefore starts the
# student's model from the reference's initial weights (Note [Accuracy
# check] in assignments/pytorch/checks.py): then a correct implementation
# written differently (tests/assignments/torch_solutions/pytorch_nets_alt.py)
# reached exactly the reference's accuracy on medium and hard, and initial
# weights perturbed by a relative 1e-6 (float rounding amplified by training)
# landed at most 0.001 under it over 5 perturbations.  The tf_norms CNN is
# the student's own architecture, so there the margin covers seeds: over
# seeds 0-4 on medium images the worst run sat at most 0.023 under seed 0's
# for each normalization (its Note [Training on digits]).  MARGIN = 0.05 is
# twice the larger of these.  A model that does not learn stays at chance,
# 0.1 with 10 classes, far below such a target.  When even the reference
# ends under chance + 2 * MARGIN, the data cannot tell a working model from
# a broken one, and the check raises UnjudgeableData (an internal error for
# the course staff, no points lost by the student) instead of setting a
# target no one can trust.

MARGIN = 0.05


@dataclass(frozen=True)
class Target:
    """The accuracy a trained model must reach, and where that number comes from."""
    value: float
    data: str                                  # the data set's name
    reference_accuracy: float | None = None    # None: an absolute target (digits)
    margin: float | None = None
    chance: float | None = None
    reference_cached: bool | None = None

    @property
    def relative(self) -> bool:
        return self.reference_accuracy is not None

    def explain(self) -> str:
        """Where the target comes from, for failure messages."""
        if not self.relative:
            return f"the target measured for {self.data}"
        return (f"the reference model, trained the same way on the same images, reaches "
                f"{self.reference_accuracy:.3f}; target = max(reference - {self.margin}, chance "
                f"{self.chance:.3f} + {self.margin})")

    def details(self) -> dict:
        out = {"target": self.value,
               "target_rule": f"reference - {self.margin}" if self.relative else f"absolute ({self.data})"}
        if self.relative:
            out.update(reference_accuracy=self.reference_accuracy, margin=self.margin,
                       chance=round(self.chance, 6), reference_cached=self.reference_cached)
        return out


def relative_target(data: ImageSet, model: str, config: dict, code: Sequence[Path],
                    train_reference: Callable[[], float]) -> Target:
    """max(reference accuracy - MARGIN, chance + MARGIN); Note [Relative targets].

    `train_reference()` trains the trusted `model` as `config` says on `data`
    and returns its test accuracy; it runs only when no earlier run of the same
    data, model, config and `code` (the files that define the reference and the
    loop) is cached (Note [Reference runs are cached on disk]).
    """
    accuracy, cached = reference_accuracy(data, model, config, code, train_reference)
    value = max(accuracy - MARGIN, data.chance + MARGIN)
    if accuracy < value:
        raise UnjudgeableData(
            f"on {data.name} ({data.sizes()}) the reference {model} reaches only {accuracy:.3f}, "
            f"within {2 * MARGIN:.2f} of chance ({data.chance:.3f}): these images and this "
            f"training budget cannot tell a working model from a broken one; grade this check "
            f"on digits (no --data-dir) or with a data set the reference learns")
    return Target(value, data.name, accuracy, MARGIN, data.chance, cached)


# Note [Reference runs are cached on disk]
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
# A batch grades each submission in its own process, so without a cache a
# class of 300 would train the reference 300 times.  Its accuracy is kept in
# $XDG_CACHE_HOME/grader/reference-runs/<key>.json (~/.cache when unset), the
# key a sha256 of the images' fingerprint, the model's name, the training
# configuration (seed, steps, device, framework version...) and the bytes of
# the files that define the reference and its loop: change any of them and
# the reference trains again.  An exclusive lock on <key>.lock while looking
# and training makes job processes started together wait for the first one's
# run instead of each training; the file is written whole (a temporary file
# renamed), so a killed run leaves no half-written entry; the empty .lock
# files stay.  A cache that cannot
# be written (read-only home) only costs time: the reference is trained every
# time.  Within a process the accuracy is also kept in memory.

_IN_MEMORY: dict[str, float] = {}


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "grader" / "reference-runs"


def run_key(data: ImageSet, model: str, config: dict, code: Sequence[Path]) -> str:
    """The cache key of one reference run; Note [Reference runs are cached on disk]."""
    facts = {"data": data.fingerprint, "model": model, "config": config,
             "code": {Path(p).name: hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in code}}
    return hashlib.sha256(json.dumps(facts, sort_keys=True, default=str).encode()).hexdigest()


def reference_accuracy(data: ImageSet, model: str, config: dict, code: Sequence[Path],
                       train_reference: Callable[[], float]) -> tuple[float, bool]:
    """(accuracy, whether it came from the cache); Note [Reference runs are cached on disk]."""
    key = run_key(data, model, config, code)
    if key in _IN_MEMORY:
        return _IN_MEMORY[key], True
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock = open(folder / f"{key}.lock", "a")
    except OSError:
        _IN_MEMORY[key] = float(train_reference())
        return _IN_MEMORY[key], False
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        path = folder / f"{key}.json"
        cached = _read_entry(path)
        if cached is not None:
            _IN_MEMORY[key] = cached
            return cached, True
        start = time.perf_counter()
        accuracy = float(train_reference())
        entry = {"accuracy": accuracy, "model": model, "data": data.summary(), "config": config,
                 "train_seconds": round(time.perf_counter() - start, 3),
                 "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        _write_entry(path, entry)
        _IN_MEMORY[key] = accuracy
        return accuracy, False


def _write_entry(path: Path, entry: dict) -> None:
    """Write the entry whole or not at all (a temporary file renamed); errors only cost time."""
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem[:16]}-", suffix=".tmp")
    except OSError:
        return
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(entry, f, indent=1, sort_keys=True, default=str)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def _read_entry(path: Path) -> float | None:
    """The cached accuracy, or None when absent or unreadable (then it is trained again)."""
    try:
        accuracy = json.loads(path.read_text())["accuracy"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return float(accuracy) if isinstance(accuracy, (int, float)) and 0.0 <= accuracy <= 1.0 else None
