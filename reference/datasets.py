"""Loaders for the data sets the course uses, from local files only.

Training checks need real images, and the course notebooks each fetch theirs
in their own way (a download script, `keras.datasets`, a Drive folder).  The
judge must not depend on the network or on any of those scripts, so this
module reads the standard on-disk forms an instructor already has and returns
plain numpy arrays in one small `Dataset` record:

- CIFAR-10, "python version" folder          -> `load_cifar10`, `get_cifar10_data`
- Fashion-MNIST, idx `.gz` files or Keras npz -> `load_fashion_mnist`,
                                                `load_fashion_mnist_npz`
- CINIC-10, `train/ valid/ test/` PNG folders -> `load_cinic10` (needs Pillow)
- scikit-learn's bundled 8x8 digits           -> `load_digits_dataset`, the
                                                default for every training check
- `subsample` cuts any of them down for tiny training runs.

A path that is missing or incomplete raises `FileNotFoundError` naming the
files expected there; a file that is present but not in the expected format
raises `DatasetFormatError` naming that file.

# Note [Nothing is downloaded]
The grader runs in sandboxes without a network, and a grade must not depend on
a mirror being up.  So no loader here fetches anything: the instructor points
at local copies, and the only data set that works out of the box is digits,
which ships inside scikit-learn.  That is why digits is the default for
training checks.

# Note [Layouts]
Every image loader builds NCHW (N, C, H, W) arrays, the cs231n convention, and
converts to NHWC (N, H, W, C), the TensorFlow/Keras convention, only when asked
by `layout=`.  Grey-scale sets get a channel axis of 1 so that all loaders
return 4-d images.  An NHWC result is a contiguous copy, not a strided view.

# Note [Dtypes]
Loaders of real image files keep the stored pixels: uint8 in [0, 255], so a
round trip is exact and the caller chooses the scaling.  `load_digits_dataset`
returns float32 in [0, 1] (the raw 0..16 counts divided by 16) because it feeds
training checks directly.  `get_cifar10_data` returns float64, as the cs231n
`get_CIFAR10_data` does, so that numbers students see in the notebooks are
reproduced.  Labels are always int64.

# Note [Frozen record, writable arrays]
`Dataset` is a frozen dataclass: its fields cannot be rebound.  The arrays
themselves are left writable, because `torch.from_numpy` warns on read-only
arrays and training code in `reference/` uses it.  Loaders keep no cache and
return fresh arrays on every call, so one caller's in-place edit cannot leak
into another check.
"""

from __future__ import annotations

import gzip
import pickle
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

Layout = Literal["NCHW", "NHWC"]
LAYOUTS: tuple[str, ...] = ("NCHW", "NHWC")

FASHION_MNIST_CLASSES: tuple[str, ...] = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
DIGITS_CLASSES: tuple[str, ...] = tuple(str(d) for d in range(10))


class DatasetFormatError(ValueError):
    """A data file exists but is not in the expected format; the message names the file."""


# ---------------------------------------------------------------------------
# The record every loader returns
# ---------------------------------------------------------------------------

@dataclass(frozen=True, repr=False)
class Dataset:
    """Images and labels of one data set, split into train / (val) / test.

    X_*: (N, C, H, W) or (N, H, W, C) as `layout` says; dtype per Note [Dtypes].
    y_*: (N,) int64 in [0, len(class_names)).
    X_val / y_val are None when the source has no validation split.
    Frozen, arrays writable: see Note [Frozen record, writable arrays].
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    X_val: np.ndarray | None = None
    y_val: np.ndarray | None = None
    layout: Layout = "NCHW"

    def __post_init__(self) -> None:
        _check_layout(self.layout)
        if (self.X_val is None) != (self.y_val is None):
            raise ValueError("Dataset: X_val and y_val must both be given or both be None")
        for split, X, y in self.splits():
            _check_split(split, X, y, len(self.class_names))

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def splits(self) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """[(name, X, y)] for train, val (when present) and test, in that order."""
        out = [("train", self.X_train, self.y_train)]
        if self.X_val is not None:
            out.append(("val", self.X_val, self.y_val))
        out.append(("test", self.X_test, self.y_test))
        return out

    def as_dict(self) -> dict[str, np.ndarray]:
        """The cs231n `data` dict: X_train, y_train, [X_val, y_val,] X_test, y_test."""
        data: dict[str, np.ndarray] = {}
        for split, X, y in self.splits():
            data[f"X_{split}"] = X
            data[f"y_{split}"] = y
        return data

    def __repr__(self) -> str:
        parts = [f"{name}={_describe(arr)}" for name, arr in self.as_dict().items()]
        return f"Dataset({', '.join(parts)}, classes={self.num_classes}, layout={self.layout})"


def _describe(arr: np.ndarray) -> str:
    """`uint8[10,3,32,32]`, the input summary style the grader's messages use."""
    return f"{arr.dtype}[{','.join(str(n) for n in arr.shape)}]"


def _check_layout(layout: str) -> None:
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")


def _check_split(split: str, X: np.ndarray, y: np.ndarray, num_classes: int) -> None:
    if X.ndim != 4:
        raise ValueError(f"Dataset: X_{split} must be 4-d images, got {_describe(X)}")
    if y.dtype != np.int64 or y.ndim != 1:
        raise ValueError(f"Dataset: y_{split} must be int64[N], got {_describe(y)}")
    if len(X) != len(y):
        raise ValueError(f"Dataset: X_{split} has {len(X)} images but y_{split} has {len(y)} labels")
    if len(y) and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"Dataset: y_{split} has labels outside [0, {num_classes})")


def _to_layout(X_nchw: np.ndarray, layout: Layout) -> np.ndarray:
    """(N, C, H, W) -> the requested layout.  See Note [Layouts]."""
    _check_layout(layout)
    if layout == "NCHW":
        return X_nchw
    return np.ascontiguousarray(X_nchw.transpose(0, 2, 3, 1))


def _require_files(folder: Path, names: list[str], what: str) -> None:
    """FileNotFoundError listing every missing file and every expected one."""
    if not folder.is_dir():
        raise FileNotFoundError(
            f"{what}: folder {folder} does not exist; expected it to hold {', '.join(names)}. "
            "Nothing is downloaded: point to a local copy.")
    missing = [n for n in names if not (folder / n).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{what}: {folder} is missing {', '.join(missing)}; "
            f"expected {', '.join(names)}. Nothing is downloaded: point to a complete local copy.")


# ---------------------------------------------------------------------------
# CIFAR-10, python version
# ---------------------------------------------------------------------------

# Note [Pickle]
# The CIFAR-10 "python version" is a set of pickles (written by Python 2, so
# they are read with encoding='bytes' and their keys are bytes: b'data',
# b'labels', b'label_names').  Unpickling runs whatever the file says, so we
# only open files the instructor points to, and on top of that the unpickler
# resolves only the handful of globals a pickled numpy array needs
# (`_CIFAR_PICKLE_GLOBALS`); anything else raises instead of executing.  Both
# the numpy 1 (`numpy.core`) and numpy 2 (`numpy._core`) module names are
# allowed, so old and re-pickled copies both load.

CIFAR10_TRAIN_BATCHES: tuple[str, ...] = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR10_FILES: tuple[str, ...] = CIFAR10_TRAIN_BATCHES + ("test_batch", "batches.meta")
_CIFAR_PIXELS = 3 * 32 * 32

_CIFAR_PICKLE_GLOBALS = frozenset({
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),  # how protocol-2 pickles written by Python 3 store bytes
})


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Resolves only the globals numpy arrays need.  See Note [Pickle]."""

    def find_class(self, module: str, name: str):
        if (module, name) not in _CIFAR_PICKLE_GLOBALS:
            raise pickle.UnpicklingError(f"refusing to load global {module}.{name}")
        return super().find_class(module, name)


def _load_cifar_pickle(path: Path) -> dict:
    """One CIFAR-10 pickle as a dict with bytes keys.  See Note [Pickle]."""
    try:
        with open(path, "rb") as f:
            obj = _NumpyOnlyUnpickler(f, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            IndexError, KeyError) as e:
        raise DatasetFormatError(f"CIFAR-10: {path} is not a readable CIFAR-10 pickle ({e})") from e
    if not isinstance(obj, dict):
        raise DatasetFormatError(f"CIFAR-10: {path} holds a {type(obj).__name__}, expected a dict")
    return obj


def _pickle_field(d: dict, key: str, path: Path):
    """d[b'key'], or d['key'] for copies re-pickled with str keys."""
    for k in (key.encode(), key):
        if k in d:
            return d[k]
    raise DatasetFormatError(f"CIFAR-10: {path} has no {key!r} entry (keys: {sorted(map(str, d))})")


def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One batch file -> X uint8 (N, 3, 32, 32), y int64 (N,).

    Each row of b'data' is 1024 red, then 1024 green, then 1024 blue values,
    each a row-major 32x32 plane, so a plain reshape gives NCHW.
    """
    d = _load_cifar_pickle(path)
    data = np.asarray(_pickle_field(d, "data", path))
    labels = np.asarray(_pickle_field(d, "labels", path))
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != _CIFAR_PIXELS:
        raise DatasetFormatError(
            f"CIFAR-10: {path} b'data' is {_describe(data)}, expected uint8[N,{_CIFAR_PIXELS}]")
    if labels.ndim != 1 or len(labels) != len(data) or not np.issubdtype(labels.dtype, np.integer):
        raise DatasetFormatError(
            f"CIFAR-10: {path} has {len(data)} images but b'labels' is {_describe(labels)}")
    _check_label_range(labels, 10, path)
    return data.reshape(-1, 3, 32, 32), labels.astype(np.int64)


def _check_label_range(labels: np.ndarray, num_classes: int, path: Path) -> None:
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise DatasetFormatError(
            f"{path}: labels span [{labels.min()}, {labels.max()}], expected [0, {num_classes})")


def _read_cifar_label_names(path: Path) -> tuple[str, ...]:
    names = _pickle_field(_load_cifar_pickle(path), "label_names", path)
    if not isinstance(names, list) or len(names) != 10:
        raise DatasetFormatError(f"CIFAR-10: {path} b'label_names' should be a list of 10 names")
    return tuple(n.decode("ascii") if isinstance(n, bytes) else str(n) for n in names)


def load_cifar10(folder: str | Path, layout: Layout = "NCHW") -> Dataset:
    """CIFAR-10 from the extracted "python version" folder (cifar-10-batches-py).

    The folder must hold data_batch_1..data_batch_5, test_batch and batches.meta.
    Returns X uint8 (N, 3, 32, 32) or (N, 32, 32, 3) per `layout`, y int64;
    50000 / 10000 images for the real set, no validation split.
    """
    folder = Path(folder)
    _require_files(folder, list(CIFAR10_FILES), "CIFAR-10")
    train = [_read_cifar_batch(folder / name) for name in CIFAR10_TRAIN_BATCHES]
    X_test, y_test = _read_cifar_batch(folder / "test_batch")
    return Dataset(
        X_train=_to_layout(np.concatenate([X for X, _ in train]), layout),
        y_train=np.concatenate([y for _, y in train]),
        X_test=_to_layout(X_test, layout),
        y_test=y_test,
        class_names=_read_cifar_label_names(folder / "batches.meta"),
        layout=layout,
    )


def preprocess_cs231n(
    ds: Dataset,
    num_training: int = 49000,
    num_validation: int = 1000,
    num_test: int = 1000,
    subtract_mean: bool = True,
) -> dict[str, np.ndarray]:
    """The cs231n `get_CIFAR10_data` preprocessing, applied to a loaded Dataset.

    Validation images are train[num_training : num_training + num_validation],
    training images train[:num_training], test images test[:num_test].  Pixels
    become float64; the mean image of the kept training images is subtracted
    from all three splits; images come out channels first.
    Returns {X_train, y_train, X_val, y_val, X_test, y_test}, X float64
    (N, C, H, W), y int64 (N,).  See Note [Dtypes].
    """
    n_train, n_test = len(ds.y_train), len(ds.y_test)
    if min(num_training, num_validation, num_test) < 0:
        raise ValueError("num_training, num_validation and num_test must be >= 0")
    if num_training + num_validation > n_train:
        raise ValueError(f"num_training + num_validation = {num_training + num_validation} "
                         f"exceeds the {n_train} training images")
    if num_test > n_test:
        raise ValueError(f"num_test = {num_test} exceeds the {n_test} test images")

    def nchw_float(X: np.ndarray) -> np.ndarray:
        X = X if ds.layout == "NCHW" else X.transpose(0, 3, 1, 2)
        return np.ascontiguousarray(X, dtype=np.float64)

    val = slice(num_training, num_training + num_validation)
    X_train = nchw_float(ds.X_train[:num_training])
    X_val = nchw_float(ds.X_train[val])
    X_test = nchw_float(ds.X_test[:num_test])
    if subtract_mean:
        mean_image = X_train.mean(axis=0)
        X_train -= mean_image
        X_val -= mean_image
        X_test -= mean_image
    return {
        "X_train": X_train, "y_train": ds.y_train[:num_training].copy(),
        "X_val": X_val, "y_val": ds.y_train[val].copy(),
        "X_test": X_test, "y_test": ds.y_test[:num_test].copy(),
    }


def get_cifar10_data(
    folder: str | Path,
    num_training: int = 49000,
    num_validation: int = 1000,
    num_test: int = 1000,
    subtract_mean: bool = True,
) -> dict[str, np.ndarray]:
    """`load_cifar10` then `preprocess_cs231n`: what the notebooks' get_CIFAR10_data returns."""
    return preprocess_cs231n(load_cifar10(folder), num_training, num_validation,
                             num_test, subtract_mean)


# ---------------------------------------------------------------------------
# Fashion-MNIST
# ---------------------------------------------------------------------------

# Note [idx format]
# An idx file is a big-endian header, then the payload as raw uint8.  Images:
# magic 2051, count, rows, cols (four int32).  Labels: magic 2049, count (two
# int32).  We check the magic, that the payload is exactly count*rows*cols
# bytes (a truncated or padded file is an error, not a silent short read), and
# that images and labels agree in count.  Files may be gzipped (`.gz`, as
# distributed) or already gunzipped; the `.gz` name is looked for first.

FASHION_MNIST_FILES: dict[str, tuple[str, str]] = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_IDX_IMAGES_MAGIC = 2051
_IDX_LABELS_MAGIC = 2049


def _find_idx_file(folder: Path, stem: str) -> Path | None:
    for name in (stem + ".gz", stem):
        if (folder / name).is_file():
            return folder / name
    return None


def _read_idx_bytes(path: Path) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (OSError, EOFError, zlib.error) as e:
        raise DatasetFormatError(f"Fashion-MNIST: {path} cannot be decompressed ({e})") from e


def _parse_idx(path: Path, magic: int, header_ints: int) -> tuple[tuple[int, ...], np.ndarray]:
    """Header dims and payload of one idx file.  See Note [idx format].

    Returns ((count, [rows, cols]), uint8 payload of length prod(dims)).
    """
    raw = _read_idx_bytes(path)
    header_bytes = 4 * header_ints
    if len(raw) < header_bytes:
        raise DatasetFormatError(
            f"Fashion-MNIST: {path} is {len(raw)} bytes, shorter than its {header_bytes}-byte header")
    header = np.frombuffer(raw, dtype=">i4", count=header_ints)
    if header[0] != magic:
        raise DatasetFormatError(f"Fashion-MNIST: {path} has magic number {header[0]}, expected {magic}")
    dims = tuple(int(n) for n in header[1:])
    expected = int(np.prod(dims))
    payload = np.frombuffer(raw, dtype=np.uint8, offset=header_bytes)
    if payload.size != expected:
        raise DatasetFormatError(
            f"Fashion-MNIST: {path} header says {'x'.join(map(str, dims))} = {expected} bytes "
            f"of data, file holds {payload.size} (truncated or corrupt)")
    return dims, payload


def _read_idx_pair(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """X uint8 (N, 1, rows, cols), y int64 (N,) from one images/labels pair."""
    (n, rows, cols), pixels = _parse_idx(images_path, _IDX_IMAGES_MAGIC, 4)
    (n_labels,), labels = _parse_idx(labels_path, _IDX_LABELS_MAGIC, 2)
    if n_labels != n:
        raise DatasetFormatError(
            f"Fashion-MNIST: {images_path} has {n} images but {labels_path} has {n_labels} labels")
    _check_label_range(labels, len(FASHION_MNIST_CLASSES), labels_path)
    return pixels.reshape(n, 1, rows, cols).copy(), labels.astype(np.int64)


def load_fashion_mnist(folder: str | Path, layout: Layout = "NCHW") -> Dataset:
    """Fashion-MNIST from the four idx files (as distributed, `.gz` or gunzipped).

    Returns X uint8 (N, 1, 28, 28) or (N, 28, 28, 1) per `layout`, y int64;
    60000 / 10000 images for the real set, no validation split.
    """
    folder = Path(folder)
    stems = [stem for pair in FASHION_MNIST_FILES.values() for stem in pair]
    paths = {stem: _find_idx_file(folder, stem) for stem in stems}
    missing = [stem + ".gz" for stem, path in paths.items() if path is None]
    if missing:
        raise FileNotFoundError(
            f"Fashion-MNIST: {folder} is missing {', '.join(missing)} (gzipped or not); "
            f"expected {', '.join(s + '.gz' for s in stems)}. "
            "Nothing is downloaded: point to a complete local copy.")
    splits = {split: _read_idx_pair(paths[images], paths[labels])
              for split, (images, labels) in FASHION_MNIST_FILES.items()}
    return _grey_dataset(splits, FASHION_MNIST_CLASSES, layout)


FASHION_MNIST_NPZ_KEYS: tuple[str, ...] = ("x_train", "y_train", "x_test", "y_test")


def load_fashion_mnist_npz(path: str | Path, layout: Layout = "NCHW") -> Dataset:
    """Fashion-MNIST from one Keras-style .npz holding x_train, y_train, x_test, y_test.

    x_*: uint8 (N, 28, 28); y_*: integer (N,).  Read with allow_pickle=False.
    Returns X uint8 (N, 1, 28, 28) or (N, 28, 28, 1) per `layout`, y int64.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"Fashion-MNIST: {path} does not exist; expected an .npz holding "
            f"{', '.join(FASHION_MNIST_NPZ_KEYS)}. Nothing is downloaded: point to a local copy.")
    arrays = _read_npz(path)
    missing = [k for k in FASHION_MNIST_NPZ_KEYS if k not in arrays]
    if missing:
        raise DatasetFormatError(
            f"Fashion-MNIST: {path} lacks {', '.join(missing)} (has {', '.join(arrays) or 'nothing'})")
    splits = {split: _npz_split(path, arrays[f"x_{split}"], arrays[f"y_{split}"], split)
              for split in ("train", "test")}
    return _grey_dataset(splits, FASHION_MNIST_CLASSES, layout)


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array in an .npz, read without pickle; DatasetFormatError if unreadable."""
    unreadable = (zipfile.BadZipFile, OSError, EOFError, ValueError, KeyError, zlib.error)
    try:
        npz = np.load(path, allow_pickle=False)
    except unreadable as e:
        raise DatasetFormatError(f"Fashion-MNIST: {path} is not a readable .npz ({e})") from e
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise DatasetFormatError(f"Fashion-MNIST: {path} is a single .npy array, not an .npz")
    with npz:
        try:
            return {k: npz[k] for k in npz.files}
        except unreadable as e:
            raise DatasetFormatError(f"Fashion-MNIST: {path} is not a readable .npz ({e})") from e


def _npz_split(path: Path, X: np.ndarray, y: np.ndarray, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Validate one npz split; X uint8 (N, H, W) -> (N, 1, H, W), y -> int64."""
    if X.dtype != np.uint8 or X.ndim != 3:
        raise DatasetFormatError(f"Fashion-MNIST: {path} x_{split} is {_describe(X)}, expected uint8[N,28,28]")
    if y.ndim != 1 or len(y) != len(X) or not np.issubdtype(y.dtype, np.integer):
        raise DatasetFormatError(
            f"Fashion-MNIST: {path} x_{split} has {len(X)} images but y_{split} is {_describe(y)}")
    _check_label_range(y, len(FASHION_MNIST_CLASSES), path)
    return X[:, None, :, :], y.astype(np.int64)


def _grey_dataset(splits: dict[str, tuple[np.ndarray, np.ndarray]],
                  class_names: tuple[str, ...], layout: Layout) -> Dataset:
    (X_train, y_train), (X_test, y_test) = splits["train"], splits["test"]
    return Dataset(X_train=_to_layout(X_train, layout), y_train=y_train,
                   X_test=_to_layout(X_test, layout), y_test=y_test,
                   class_names=class_names, layout=layout)


# ---------------------------------------------------------------------------
# CINIC-10
# ---------------------------------------------------------------------------

# Note [Optional Pillow]
# Reading PNG needs Pillow, which is not a core dependency of the grader.  It
# is imported inside `_read_png` only, after the folder layout has been
# checked, so a missing folder is reported as such even without Pillow and
# importing this module never needs it.  Without Pillow, `load_cinic10` raises
# ImportError saying so.
#
# Note [CINIC-10 classes]
# Class names are the sorted subfolder names of train/, and valid/ and test/
# must have the same ones.  The course uses a reduced CINIC-10 with 6 classes,
# so the number of classes is not fixed at 10.  Images are read in sorted
# file-name order within each class, so two loads give identical arrays.

CINIC10_SPLITS: dict[str, str] = {"train": "train", "val": "valid", "test": "test"}


def _cinic_class_folders(root: Path) -> dict[str, list[str]]:
    """{split folder name: sorted class subfolder names}; FileNotFoundError if any is absent."""
    missing = [name for name in CINIC10_SPLITS.values() if not (root / name).is_dir()]
    if missing:
        raise FileNotFoundError(
            f"CINIC-10: {root} is missing {', '.join(m + '/' for m in missing)}; expected "
            "train/, valid/ and test/, each with one subfolder of 32x32 PNGs per class. "
            "Nothing is downloaded: point to a complete local copy.")
    return {name: sorted(p.name for p in (root / name).iterdir() if p.is_dir())
            for name in CINIC10_SPLITS.values()}


def _read_png(path: Path) -> np.ndarray:
    """One 32x32 image as uint8 (3, 32, 32); grey images are expanded to RGB."""
    try:
        from PIL import Image, UnidentifiedImageError  # See Note [Optional Pillow]
    except ImportError as e:
        raise ImportError("CINIC-10: reading PNG images needs Pillow (pip install pillow)") from e
    try:
        with Image.open(path) as img:
            rgb = np.asarray(img.convert("RGB"), dtype=np.uint8)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise DatasetFormatError(f"CINIC-10: {path} is not a readable image ({e})") from e
    if rgb.shape != (32, 32, 3):
        raise DatasetFormatError(f"CINIC-10: {path} is {rgb.shape[1]}x{rgb.shape[0]}, expected 32x32")
    return rgb.transpose(2, 0, 1)


def _read_cinic_split(folder: Path, class_names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """X uint8 (N, 3, 32, 32), y int64 (N,) from folder/<class>/*.png."""
    images, labels = [], []
    for label, name in enumerate(class_names):
        files = sorted(p for p in (folder / name).iterdir() if p.suffix.lower() == ".png")
        images.extend(_read_png(p) for p in files)
        labels.extend([label] * len(files))
    X = np.stack(images) if images else np.zeros((0, 3, 32, 32), np.uint8)
    return X, np.asarray(labels, dtype=np.int64)


def load_cinic10(folder: str | Path, layout: Layout = "NCHW") -> Dataset:
    """CINIC-10 from its image folders: train/, valid/, test/, one subfolder per class.

    Returns X uint8 (N, 3, 32, 32) or (N, 32, 32, 3) per `layout`, y int64,
    with the valid/ images as the validation split.  Needs Pillow; see
    Note [Optional Pillow] and Note [CINIC-10 classes].
    """
    root = Path(folder)
    classes = _cinic_class_folders(root)
    class_names = tuple(classes["train"])
    if not class_names:
        raise FileNotFoundError(f"CINIC-10: {root / 'train'} has no class subfolders")
    for name in ("valid", "test"):
        if tuple(classes[name]) != class_names:
            raise DatasetFormatError(
                f"CINIC-10: {root / name} has classes {classes[name]}, train/ has {list(class_names)}")
    arrays = {split: _read_cinic_split(root / name, class_names) for split, name in CINIC10_SPLITS.items()}
    return Dataset(
        X_train=_to_layout(arrays["train"][0], layout), y_train=arrays["train"][1],
        X_val=_to_layout(arrays["val"][0], layout), y_val=arrays["val"][1],
        X_test=_to_layout(arrays["test"][0], layout), y_test=arrays["test"][1],
        class_names=class_names, layout=layout,
    )


# ---------------------------------------------------------------------------
# digits (bundled with scikit-learn) and subsampling
# ---------------------------------------------------------------------------

# Note [Stratified split]
# The digits split is ours, not sklearn's train_test_split, so that its rule
# is stated here and stays fixed whatever the library version: within each
# class, a seeded permutation puts round(test_fraction * class_size) images in
# test (at least one, and at least one left for training) and the rest in
# train; each split is then shuffled with the same generator so classes are
# interleaved and taking its first k images is a fair sample.  Same seed, same
# split, bit for bit.


def stratified_split(y: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train_idx, test_idx) of a seeded stratified split of labels y (N,).

    See Note [Stratified split].
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    rng = np.random.default_rng(seed)
    train_parts, test_parts = [], []
    for label in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == label))
        if len(members) < 2:
            raise ValueError(f"class {label} has {len(members)} example(s); a stratified split needs 2")
        n_test = min(max(round(test_fraction * len(members)), 1), len(members) - 1)
        test_parts.append(members[:n_test])
        train_parts.append(members[n_test:])
    return rng.permutation(np.concatenate(train_parts)), rng.permutation(np.concatenate(test_parts))


def load_digits_dataset(test_fraction: float = 0.2, seed: int = 0, layout: Layout = "NCHW") -> Dataset:
    """scikit-learn's bundled 8x8 digits (1797 images, 10 classes), split stratified.

    Returns X float32 in [0, 1], (N, 1, 8, 8) or (N, 8, 8, 1) per `layout`,
    y int64; no validation split.  Deterministic in `seed`.  Nothing is
    downloaded: the data ship inside scikit-learn.  See Note [Stratified split].
    """
    from sklearn.datasets import load_digits  # imported here: sklearn.datasets is slow to import

    pixels, y = load_digits(return_X_y=True)
    X = (pixels.reshape(-1, 1, 8, 8) / 16.0).astype(np.float32)
    y = y.astype(np.int64)
    train_idx, test_idx = stratified_split(y, test_fraction, seed)
    return Dataset(X_train=_to_layout(X[train_idx], layout), y_train=y[train_idx],
                   X_test=_to_layout(X[test_idx], layout), y_test=y[test_idx],
                   class_names=DIGITS_CLASSES, layout=layout)


def subsample(ds: Dataset, n_train: int, n_test: int, seed: int = 0, n_val: int | None = None) -> Dataset:
    """A seeded random subset of each split, for tiny training runs.

    Draws n_train / n_test (and n_val) images without replacement.  With
    n_val=None the result has no validation split; n_val needs a source that
    has one.  Arrays are copies; layout and class names are kept.
    """
    rng = np.random.default_rng(seed)

    def pick(X: np.ndarray, y: np.ndarray, n: int, split: str) -> tuple[np.ndarray, np.ndarray]:
        if not 0 <= n <= len(y):
            raise ValueError(f"subsample: asked for {n} {split} images, the data set has {len(y)}")
        idx = rng.choice(len(y), size=n, replace=False)
        return X[idx], y[idx]

    X_train, y_train = pick(ds.X_train, ds.y_train, n_train, "train")
    X_test, y_test = pick(ds.X_test, ds.y_test, n_test, "test")
    X_val = y_val = None
    if n_val is not None:
        if ds.X_val is None:
            raise ValueError("subsample: n_val given but the data set has no validation split")
        X_val, y_val = pick(ds.X_val, ds.y_val, n_val, "val")
    return Dataset(X_train=X_train, y_train=y_train, X_test=X_test, y_test=y_test,
                   X_val=X_val, y_val=y_val, class_names=ds.class_names, layout=ds.layout)
