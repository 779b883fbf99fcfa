"""Tests for reference/datasets.py: every loader on small files written in the real formats."""

from __future__ import annotations

import dataclasses
import gzip
import importlib.util
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest

from reference import datasets as D

HAVE_PIL = importlib.util.find_spec("PIL") is not None
needs_pil = pytest.mark.skipif(not HAVE_PIL, reason="Pillow is not installed; load_cinic10 needs it to read PNG")

CIFAR_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


# ---------------------------------------------------------------------------
# CIFAR-10
# ---------------------------------------------------------------------------

def _write_pickle(path: Path, obj) -> None:
    path.write_bytes(pickle.dumps(obj, protocol=2))


@pytest.fixture
def cifar_dir(tmp_path: Path) -> tuple[Path, dict[str, tuple[np.ndarray, list[int]]]]:
    """A CIFAR-10 python-version folder with 4 images per train batch and 3 test images."""
    rng = np.random.default_rng(0)
    rows = {}
    for name, n in [(f"data_batch_{i}", 4) for i in range(1, 6)] + [("test_batch", 3)]:
        data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, size=n)]
        _write_pickle(tmp_path / name, {b"batch_label": name.encode(), b"labels": labels,
                                        b"data": data, b"filenames": [b"x.png"] * n})
        rows[name] = (data, labels)
    _write_pickle(tmp_path / "batches.meta", {b"label_names": [n.encode() for n in CIFAR_NAMES],
                                              b"num_cases_per_batch": 4, b"num_vis": 3072})
    return tmp_path, rows


def test_cifar10_round_trip_nchw(cifar_dir):
    folder, rows = cifar_dir
    ds = D.load_cifar10(folder)
    train_rows = np.concatenate([rows[f"data_batch_{i}"][0] for i in range(1, 6)])
    train_labels = sum((rows[f"data_batch_{i}"][1] for i in range(1, 6)), [])
    assert ds.X_train.shape == (20, 3, 32, 32) and ds.X_train.dtype == np.uint8
    assert ds.y_train.dtype == np.int64
    np.testing.assert_array_equal(ds.y_train, train_labels)
    np.testing.assert_array_equal(ds.y_test, rows["test_batch"][1])
    # A row is 1024 red, 1024 green, 1024 blue, each plane row-major.
    assert ds.X_train[6, 2, 5, 7] == train_rows[6, 2 * 1024 + 5 * 32 + 7]
    np.testing.assert_array_equal(ds.X_train.reshape(20, -1), train_rows)
    np.testing.assert_array_equal(ds.X_test.reshape(3, -1), rows["test_batch"][0])
    assert ds.class_names == tuple(CIFAR_NAMES)
    assert ds.X_val is None and ds.layout == "NCHW"


def test_cifar10_nhwc_is_transposed_copy(cifar_dir):
    folder, _ = cifar_dir
    nchw, nhwc = D.load_cifar10(folder), D.load_cifar10(folder, layout="NHWC")
    assert nhwc.X_train.shape == (20, 32, 32, 3) and nhwc.layout == "NHWC"
    assert nhwc.X_train.flags.c_contiguous
    np.testing.assert_array_equal(nhwc.X_train, nchw.X_train.transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(nhwc.X_test, nchw.X_test.transpose(0, 2, 3, 1))


def test_cifar10_missing_batch_names_it(cifar_dir):
    folder, _ = cifar_dir
    (folder / "data_batch_3").unlink()
    with pytest.raises(FileNotFoundError, match=r"missing data_batch_3;.*expected data_batch_1"):
        D.load_cifar10(folder)


def test_cifar10_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist.*test_batch"):
        D.load_cifar10(tmp_path / "nowhere")


def test_cifar10_truncated_pickle_names_file(cifar_dir):
    folder, _ = cifar_dir
    path = folder / "data_batch_2"
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(D.DatasetFormatError, match="data_batch_2"):
        D.load_cifar10(folder)


def test_cifar10_wrong_row_size_names_file(cifar_dir):
    folder, _ = cifar_dir
    _write_pickle(folder / "test_batch", {b"labels": [0, 1], b"data": np.zeros((2, 3000), np.uint8)})
    with pytest.raises(D.DatasetFormatError, match=r"test_batch.*uint8\[2,3000\]"):
        D.load_cifar10(folder)


class _OpensAFile:
    """Unpickling this calls open(path, 'w'): code execution a loader must refuse."""

    def __init__(self, path: Path):
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


def test_cifar10_refuses_pickled_code(cifar_dir):
    folder, _ = cifar_dir
    marker = folder / "pwned"
    _write_pickle(folder / "data_batch_1", {b"data": _OpensAFile(marker), b"labels": []})
    with pytest.raises(D.DatasetFormatError, match=r"data_batch_1.*refusing to load global"):
        D.load_cifar10(folder)
    assert not marker.exists()


def test_get_cifar10_data_matches_cs231n_preprocessing(cifar_dir):
    folder, rows = cifar_dir
    data = D.get_cifar10_data(folder, num_training=15, num_validation=5, num_test=2)
    assert list(data) == ["X_train", "y_train", "X_val", "y_val", "X_test", "y_test"]
    raw = D.load_cifar10(folder)
    mean_image = raw.X_train[:15].astype(np.float64).mean(axis=0)
    assert data["X_train"].shape == (15, 3, 32, 32) and data["X_train"].dtype == np.float64
    np.testing.assert_allclose(data["X_val"], raw.X_train[15:20] - mean_image, rtol=0, atol=1e-12)
    np.testing.assert_allclose(data["X_test"], raw.X_test[:2] - mean_image, rtol=0, atol=1e-12)
    np.testing.assert_allclose(data["X_train"].mean(axis=0), 0.0, atol=1e-10)
    np.testing.assert_array_equal(data["y_val"], raw.y_train[15:20])
    np.testing.assert_array_equal(data["y_test"], rows["test_batch"][1][:2])


def test_preprocess_cs231n_same_from_either_layout(cifar_dir):
    folder, _ = cifar_dir
    a = D.preprocess_cs231n(D.load_cifar10(folder), 10, 5, 3, subtract_mean=False)
    b = D.preprocess_cs231n(D.load_cifar10(folder, layout="NHWC"), 10, 5, 3, subtract_mean=False)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    np.testing.assert_array_equal(a["X_train"], D.load_cifar10(folder).X_train[:10])


def test_preprocess_cs231n_rejects_oversized_split(cifar_dir):
    folder, _ = cifar_dir
    with pytest.raises(ValueError, match="exceeds the 20 training images"):
        D.get_cifar10_data(folder)  # defaults ask for 49000 + 1000


# ---------------------------------------------------------------------------
# Fashion-MNIST
# ---------------------------------------------------------------------------

def _idx_images(X: np.ndarray, magic: int = 2051) -> bytes:
    return struct.pack(">iiii", magic, *X.shape) + X.tobytes()


def _idx_labels(y: np.ndarray, magic: int = 2049) -> bytes:
    return struct.pack(">ii", magic, len(y)) + y.astype(np.uint8).tobytes()


@pytest.fixture
def fashion_arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    return {"x_train": rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
            "y_train": rng.integers(0, 10, 5).astype(np.uint8),
            "x_test": rng.integers(0, 256, (3, 28, 28), dtype=np.uint8),
            "y_test": rng.integers(0, 10, 3).astype(np.uint8)}


def _write_idx_folder(folder: Path, a: dict[str, np.ndarray], compress: bool = True) -> Path:
    contents = {"train-images-idx3-ubyte": _idx_images(a["x_train"]),
                "train-labels-idx1-ubyte": _idx_labels(a["y_train"]),
                "t10k-images-idx3-ubyte": _idx_images(a["x_test"]),
                "t10k-labels-idx1-ubyte": _idx_labels(a["y_test"])}
    for stem, raw in contents.items():
        if compress:
            (folder / (stem + ".gz")).write_bytes(gzip.compress(raw))
        else:
            (folder / stem).write_bytes(raw)
    return folder


def _assert_fashion_equal(ds: D.Dataset, a: dict[str, np.ndarray]) -> None:
    assert ds.X_train.shape == (5, 1, 28, 28) and ds.X_train.dtype == np.uint8
    assert ds.y_train.dtype == np.int64 and ds.class_names[9] == "Ankle boot"
    np.testing.assert_array_equal(ds.X_train[:, 0], a["x_train"])
    np.testing.assert_array_equal(ds.X_test[:, 0], a["x_test"])
    np.testing.assert_array_equal(ds.y_train, a["y_train"])
    np.testing.assert_array_equal(ds.y_test, a["y_test"])


@pytest.mark.parametrize("compress", [True, False], ids=["gz", "gunzipped"])
def test_fashion_idx_round_trip(tmp_path, fashion_arrays, compress):
    folder = _write_idx_folder(tmp_path, fashion_arrays, compress)
    _assert_fashion_equal(D.load_fashion_mnist(folder), fashion_arrays)


def test_fashion_idx_nhwc(tmp_path, fashion_arrays):
    ds = D.load_fashion_mnist(_write_idx_folder(tmp_path, fashion_arrays), layout="NHWC")
    assert ds.X_test.shape == (3, 28, 28, 1)
    np.testing.assert_array_equal(ds.X_test[..., 0], fashion_arrays["x_test"])


def test_fashion_idx_wrong_magic_names_file(tmp_path, fashion_arrays):
    folder = _write_idx_folder(tmp_path, fashion_arrays)
    raw = _idx_images(fashion_arrays["x_test"], magic=2049)  # a labels magic on an images file
    (folder / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(raw))
    with pytest.raises(D.DatasetFormatError, match=r"t10k-images-idx3-ubyte\.gz has magic number 2049, expected 2051"):
        D.load_fashion_mnist(folder)


def test_fashion_idx_truncated_payload_names_file(tmp_path, fashion_arrays):
    folder = _write_idx_folder(tmp_path, fashion_arrays)
    raw = _idx_images(fashion_arrays["x_train"])[:-100]
    (folder / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(raw))
    with pytest.raises(D.DatasetFormatError, match=r"train-images-idx3-ubyte\.gz header says 5x28x28 = 3920"):
        D.load_fashion_mnist(folder)


def test_fashion_idx_trailing_bytes_are_an_error(tmp_path, fashion_arrays):
    folder = _write_idx_folder(tmp_path, fashion_arrays)
    raw = _idx_labels(fashion_arrays["y_test"]) + b"\x00"
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(raw))
    with pytest.raises(D.DatasetFormatError, match=r"t10k-labels-idx1-ubyte\.gz header says 3 = 3 bytes of data, file holds 4"):
        D.load_fashion_mnist(folder)


def test_fashion_idx_truncated_gzip_names_file(tmp_path, fashion_arrays):
    folder = _write_idx_folder(tmp_path, fashion_arrays)
    path = folder / "train-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-12])
    with pytest.raises(D.DatasetFormatError, match=r"train-labels-idx1-ubyte\.gz cannot be decompressed"):
        D.load_fashion_mnist(folder)


def test_fashion_idx_count_mismatch(tmp_path, fashion_arrays):
    folder = _write_idx_folder(tmp_path, fashion_arrays)
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(_idx_labels(np.zeros(2))))
    with pytest.raises(D.DatasetFormatError, match="has 3 images but .*t10k-labels-idx1-ubyte.gz has 2 labels"):
        D.load_fashion_mnist(folder)


def test_fashion_idx_missing_file(tmp_path, fashion_arrays):
    folder = _write_idx_folder(tmp_path, fashion_arrays)
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match=r"missing t10k-labels-idx1-ubyte\.gz "):
        D.load_fashion_mnist(folder)


def test_fashion_npz_round_trip(tmp_path, fashion_arrays):
    path = tmp_path / "fashion.npz"
    np.savez(path, **fashion_arrays)
    _assert_fashion_equal(D.load_fashion_mnist_npz(path), fashion_arrays)


def test_fashion_npz_missing_key(tmp_path, fashion_arrays):
    path = tmp_path / "fashion.npz"
    np.savez(path, **{k: v for k, v in fashion_arrays.items() if k != "y_test"})
    with pytest.raises(D.DatasetFormatError, match=r"fashion\.npz lacks y_test"):
        D.load_fashion_mnist_npz(path)


def test_fashion_npz_corrupt(tmp_path, fashion_arrays):
    path = tmp_path / "fashion.npz"
    np.savez(path, **fashion_arrays)
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(D.DatasetFormatError, match=r"fashion\.npz is not a readable \.npz"):
        D.load_fashion_mnist_npz(path)


def test_fashion_npz_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="x_train, y_train, x_test, y_test"):
        D.load_fashion_mnist_npz(tmp_path / "absent.npz")


# ---------------------------------------------------------------------------
# CINIC-10
# ---------------------------------------------------------------------------

def _make_cinic_tree(root: Path, classes: dict[str, list[str]]) -> None:
    for split in ("train", "valid", "test"):
        for name in classes[split]:
            (root / split / name).mkdir(parents=True)


def test_cinic10_missing_split_folder(tmp_path):
    _make_cinic_tree(tmp_path, {"train": ["cat"], "valid": ["cat"], "test": ["cat"]})
    (tmp_path / "valid" / "cat").rmdir()
    (tmp_path / "valid").rmdir()
    with pytest.raises(FileNotFoundError, match=r"missing valid/; expected train/, valid/ and test/"):
        D.load_cinic10(tmp_path)


def test_cinic10_classes_must_agree(tmp_path):
    _make_cinic_tree(tmp_path, {"train": ["cat", "dog"], "valid": ["cat", "dog"], "test": ["cat"]})
    with pytest.raises(D.DatasetFormatError, match=r"test has classes \['cat'\]"):
        D.load_cinic10(tmp_path)


def test_cinic10_folder_walk_order_and_labels(tmp_path, monkeypatch):
    """Runs without Pillow: files hold raw pixels and _read_png is replaced by a raw reader."""
    monkeypatch.setattr(D, "_read_png", lambda p: np.frombuffer(p.read_bytes(), np.uint8).reshape(3, 32, 32))
    _make_cinic_tree(tmp_path, {s: ["dog", "cat"] for s in ("train", "valid", "test")})
    for split, label_dir, name, value in [("train", "dog", "b.png", 1), ("train", "dog", "a.PNG", 2),
                                          ("train", "cat", "z.png", 3), ("valid", "cat", "c.png", 4),
                                          ("test", "dog", "d.png", 5)]:
        (tmp_path / split / label_dir / name).write_bytes(bytes([value]) * 3072)
    (tmp_path / "train" / "cat" / "notes.txt").write_text("not an image")
    ds = D.load_cinic10(tmp_path, layout="NHWC")
    assert ds.class_names == ("cat", "dog")  # sorted folder names
    np.testing.assert_array_equal(ds.X_train[:, 0, 0, 0], [3, 2, 1])  # class order, then file name
    np.testing.assert_array_equal(ds.y_train, [0, 1, 1])
    np.testing.assert_array_equal(ds.y_val, [0])
    np.testing.assert_array_equal(ds.y_test, [1])
    assert ds.X_test.shape == (1, 32, 32, 3)


@pytest.mark.skipif(HAVE_PIL, reason="checks the message given when Pillow is absent")
def test_cinic10_without_pillow_says_so(tmp_path):
    _make_cinic_tree(tmp_path, {s: ["cat"] for s in ("train", "valid", "test")})
    (tmp_path / "train" / "cat" / "a.png").write_bytes(b"\x89PNG")
    with pytest.raises(ImportError, match="needs Pillow"):
        D.load_cinic10(tmp_path)


@needs_pil
def test_cinic10_round_trip(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(2)
    classes = ["airplane", "cat", "truck"]
    _make_cinic_tree(tmp_path, {s: classes for s in ("train", "valid", "test")})
    expected: dict[str, tuple[list[np.ndarray], list[int]]] = {}
    for split, n_per_class in [("train", 2), ("valid", 1), ("test", 1)]:
        images, labels = [], []
        for label, name in enumerate(classes):
            for i in range(n_per_class):
                img = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
                Image.fromarray(img).save(tmp_path / split / name / f"img{i}.png")
                images.append(img.transpose(2, 0, 1))
                labels.append(label)
        expected[split] = (images, labels)
    grey = rng.integers(0, 256, (32, 32), dtype=np.uint8)
    Image.fromarray(grey).save(tmp_path / "test" / "truck" / "zgrey.png")
    expected["test"][0].append(np.stack([grey] * 3))
    expected["test"][1].append(2)

    ds = D.load_cinic10(tmp_path)
    assert ds.class_names == tuple(classes)
    for X, y, split in [(ds.X_train, ds.y_train, "train"), (ds.X_val, ds.y_val, "valid"),
                        (ds.X_test, ds.y_test, "test")]:
        np.testing.assert_array_equal(X, np.stack(expected[split][0]))
        np.testing.assert_array_equal(y, expected[split][1])
        assert X.dtype == np.uint8 and y.dtype == np.int64
    nhwc = D.load_cinic10(tmp_path, layout="NHWC")
    np.testing.assert_array_equal(nhwc.X_val, ds.X_val.transpose(0, 2, 3, 1))


@needs_pil
def test_cinic10_wrong_size_names_file(tmp_path):
    from PIL import Image

    _make_cinic_tree(tmp_path, {s: ["cat"] for s in ("train", "valid", "test")})
    Image.fromarray(np.zeros((16, 32, 3), np.uint8)).save(tmp_path / "train" / "cat" / "small.png")
    with pytest.raises(D.DatasetFormatError, match=r"small\.png is 32x16, expected 32x32"):
        D.load_cinic10(tmp_path)


# ---------------------------------------------------------------------------
# digits, subsample, the Dataset record
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def digits() -> D.Dataset:
    return D.load_digits_dataset()


def test_digits_shapes_and_range(digits):
    assert digits.X_train.shape[1:] == (1, 8, 8) and digits.X_train.dtype == np.float32
    assert len(digits.y_train) + len(digits.y_test) == 1797
    assert digits.y_train.dtype == np.int64
    X = np.concatenate([digits.X_train, digits.X_test])
    assert X.min() == 0.0 and X.max() == 1.0


def test_digits_split_is_a_partition(digits):
    from sklearn.datasets import load_digits

    pixels, y = load_digits(return_X_y=True)
    source = sorted(zip(map(bytes, (pixels / 16).astype(np.float32)), y.tolist()))
    ours = sorted(zip(map(bytes, np.concatenate([digits.X_train, digits.X_test]).reshape(-1, 64)),
                      np.concatenate([digits.y_train, digits.y_test]).tolist()))
    assert ours == source


def test_digits_split_is_stratified(digits):
    train_counts = np.bincount(digits.y_train, minlength=10)
    test_counts = np.bincount(digits.y_test, minlength=10)
    class_sizes = train_counts + test_counts
    assert np.all(np.abs(test_counts - 0.2 * class_sizes) <= 0.5)
    assert len(set(digits.y_train[:20].tolist())) > 1  # shuffled, not grouped by class


def test_digits_split_is_deterministic(digits):
    again = D.load_digits_dataset()
    np.testing.assert_array_equal(again.X_train, digits.X_train)
    np.testing.assert_array_equal(again.y_test, digits.y_test)
    other = D.load_digits_dataset(seed=1)
    assert not np.array_equal(other.y_train, digits.y_train)


def test_digits_nhwc_and_fraction(digits):
    nhwc = D.load_digits_dataset(test_fraction=0.5, layout="NHWC")
    assert nhwc.X_train.shape[1:] == (8, 8, 1)
    assert abs(len(nhwc.y_test) - 1797 / 2) <= 5
    with pytest.raises(ValueError, match="test_fraction"):
        D.load_digits_dataset(test_fraction=1.0)


def test_subsample_sizes_membership_and_seed(digits):
    small = D.subsample(digits, n_train=50, n_test=20, seed=3)
    assert small.X_train.shape == (50, 1, 8, 8) and small.y_test.shape == (20,)
    source = {(bytes(x), int(y)) for x, y in zip(digits.X_train, digits.y_train)}
    assert all((bytes(x), int(y)) in source for x, y in zip(small.X_train, small.y_train))
    everything = D.subsample(digits, len(digits.y_train), len(digits.y_test), seed=3)
    assert sorted(map(bytes, everything.X_train)) == sorted(map(bytes, digits.X_train))  # no repeats
    np.testing.assert_array_equal(D.subsample(digits, 50, 20, seed=3).X_train, small.X_train)
    assert not np.array_equal(D.subsample(digits, 50, 20, seed=4).y_train, small.y_train)
    assert small.X_val is None and small.class_names == digits.class_names


def test_subsample_errors_and_val(digits):
    with pytest.raises(ValueError, match="asked for 5000 train images"):
        D.subsample(digits, 5000, 10)
    with pytest.raises(ValueError, match="no validation split"):
        D.subsample(digits, 10, 10, n_val=5)
    with_val = dataclasses.replace(digits, X_val=digits.X_test, y_val=digits.y_test)
    assert D.subsample(with_val, 10, 10, n_val=7).X_val.shape == (7, 1, 8, 8)


def test_dataset_validates_and_is_frozen(digits):
    with pytest.raises(ValueError, match="y_train must be int64"):
        dataclasses.replace(digits, y_train=digits.y_train.astype(np.int32))
    with pytest.raises(ValueError, match="has 1437 labels"):
        dataclasses.replace(digits, y_train=digits.y_train[1:])
    with pytest.raises(ValueError, match="labels outside"):
        dataclasses.replace(digits, class_names=("0", "1"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        digits.X_train = digits.X_test
    assert list(digits.as_dict()) == ["X_train", "y_train", "X_test", "y_test"]
    assert "X_train=float32[1438,1,8,8]" in repr(digits)
