"""Tests for grader/checks/training_data.py: which data set a folder holds (each format
written small, in its real on-disk form), the images the accuracy checks get, fitting
sizes, relative targets and their disk cache, and a bad --data-dir through the CLI.

The assignment-level runs on a learnable data set (the pytorch and tf_norms accuracy
checks with --data-dir) are slow tests in tests/assignments/test_pytorch.py and
test_tf_norms.py.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import pickle
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from grader.checks import training_data as T
from reference import datasets as D

ROOT = Path(__file__).resolve().parents[3]
GRADE = ROOT / ".venv" / "bin" / "grade"
HAVE_PIL = importlib.util.find_spec("PIL") is not None
needs_pil = pytest.mark.skipif(not HAVE_PIL, reason="Pillow is not installed; CINIC-10 PNGs need it")


# ---------------------------------------------------------------------------
# Writers of the real formats (small)
# ---------------------------------------------------------------------------

def _images(n: int, channels: int, size: int, seed: int, classes: int = 10):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes  # every class present
    return rng.integers(0, 256, size=(n, channels, size, size), dtype=np.uint8), rng.permutation(y)


def write_cifar(folder: Path, n_train: int = 50, n_test: int = 20, seed: int = 0) -> Path:
    """CIFAR-10 python batches: the training images spread over data_batch_1..5."""
    folder.mkdir(parents=True, exist_ok=True)
    x, y = _images(n_train, 3, 32, seed)
    for i, part in enumerate(np.array_split(np.arange(n_train), 5), start=1):
        (folder / f"data_batch_{i}").write_bytes(pickle.dumps(
            {b"data": x[part].reshape(len(part), -1), b"labels": [int(v) for v in y[part]]}, protocol=2))
    x, y = _images(n_test, 3, 32, seed + 1)
    (folder / "test_batch").write_bytes(pickle.dumps(
        {b"data": x.reshape(n_test, -1), b"labels": [int(v) for v in y]}, protocol=2))
    (folder / "batches.meta").write_bytes(pickle.dumps(
        {b"label_names": [f"class{i}".encode() for i in range(10)]}, protocol=2))
    return folder


def _idx(x: np.ndarray | None, y: np.ndarray | None) -> bytes:
    if x is not None:
        return struct.pack(">iiii", 2051, *x.shape) + x.tobytes()
    return struct.pack(">ii", 2049, len(y)) + y.astype(np.uint8).tobytes()


def write_fashion(folder: Path, n_train: int = 40, n_test: int = 20, compress: bool = True) -> Path:
    """Fashion-MNIST's four idx files, gzipped as distributed or not."""
    folder.mkdir(parents=True, exist_ok=True)
    for (images, labels), n, seed in zip(D.FASHION_MNIST_FILES.values(), (n_train, n_test), (0, 1)):
        x, y = _images(n, 1, 28, seed)
        for stem, payload in ((images, _idx(x[:, 0], None)), (labels, _idx(None, y))):
            if compress:
                (folder / f"{stem}.gz").write_bytes(gzip.compress(payload))
            else:
                (folder / stem).write_bytes(payload)
    return folder


def write_fashion_npz(path: Path, n_train: int = 40, n_test: int = 20) -> Path:
    (x_train, y_train), (x_test, y_test) = _images(n_train, 1, 28, 0), _images(n_test, 1, 28, 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, x_train=x_train[:, 0], y_train=y_train, x_test=x_test[:, 0], y_test=y_test)
    return path


def write_cinic(root: Path, per_class: int = 3, classes: int = 4) -> Path:
    """CINIC-10 folders train/ valid/ test/, one subfolder of 32x32 PNGs per class."""
    from PIL import Image
    rng = np.random.default_rng(0)
    for split in ("train", "valid", "test"):
        for c in range(classes):
            folder = root / split / f"class{c}"
            folder.mkdir(parents=True)
            for i in range(per_class):
                pixels = rng.integers(0, 256, size=(32, 32, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(folder / f"img{i}.png")
    return root


@pytest.fixture(autouse=True)
def _fresh(monkeypatch, tmp_path):
    """Each test gets its own reference-run cache and a cleared per-process cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    T._cached.cache_clear()
    T._IN_MEMORY.clear()
    yield
    T._cached.cache_clear()
    T._IN_MEMORY.clear()


# ---------------------------------------------------------------------------
# Detection
# ---------------------------------------------------------------------------

def test_detects_cifar10_in_the_folder_or_its_batches_subfolder(tmp_path):
    here = write_cifar(tmp_path / "a")
    assert T.detect(here) == T.Source("cifar10", here)
    nested = write_cifar(tmp_path / "b" / "cifar-10-batches-py")
    assert T.detect(tmp_path / "b") == T.Source("cifar10", nested)


@pytest.mark.parametrize("compress", [True, False], ids=["gz", "raw"])
def test_detects_fashion_mnist_idx_files(tmp_path, compress):
    folder = write_fashion(tmp_path / "f", compress=compress)
    assert T.detect(folder) == T.Source("fashion_mnist", folder)


def test_detects_a_keras_npz_in_the_folder_or_named_directly(tmp_path):
    path = write_fashion_npz(tmp_path / "k" / "fashion-mnist.npz")
    assert T.detect(path.parent) == T.Source("fashion_mnist_npz", path)
    assert T.detect(path) == T.Source("fashion_mnist_npz", path)


@needs_pil
def test_detects_cinic10_folders(tmp_path):
    root = write_cinic(tmp_path / "cinic")
    assert T.detect(root).kind == "cinic10"


def test_an_empty_folder_lists_what_was_looked_for(tmp_path):
    with pytest.raises(T.DataDirError) as error:
        T.detect(tmp_path)
    message = str(error.value)
    assert "no data set found" in message and "\n" not in message
    for expected in ("data_batch_1", "cifar-10-batches-py", "train-images-idx3-ubyte", ".npz",
                     "train/ valid/ test/"):
        assert expected in message, message


def test_an_unextracted_archive_is_mentioned(tmp_path):
    (tmp_path / "cifar-10-python.tar.gz").write_bytes(b"not really")
    with pytest.raises(T.DataDirError, match=r"found cifar-10-python\.tar\.gz: extract it first"):
        T.detect(tmp_path)


def test_a_missing_folder_and_a_plain_file_are_errors(tmp_path):
    with pytest.raises(T.DataDirError, match="no such file or folder"):
        T.detect(tmp_path / "nowhere")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(T.DataDirError, match="a file, not a folder"):
        T.detect(tmp_path / "notes.txt")


def test_two_data_sets_in_one_folder_are_ambiguous(tmp_path):
    write_cifar(tmp_path)
    write_fashion(tmp_path)
    with pytest.raises(T.DataDirError, match=r"more than one data set \(CIFAR-10 python batches, "
                                             r"Fashion-MNIST idx files\)"):
        T.detect(tmp_path)


def test_several_npz_files_must_be_named(tmp_path):
    write_fashion_npz(tmp_path / "a.npz")
    write_fashion_npz(tmp_path / "b.npz")
    with pytest.raises(T.DataDirError, match=r"2 \.npz files \(a\.npz, b\.npz\)"):
        T.detect(tmp_path)


def test_an_incomplete_set_names_the_missing_file_in_one_line(tmp_path):
    folder = write_cifar(tmp_path)
    (folder / "data_batch_3").unlink()
    with pytest.raises(T.DataDirError) as error:
        T.describe(folder)
    assert "missing data_batch_3" in str(error.value) and "\n" not in str(error.value)


def test_a_corrupt_file_names_it(tmp_path):
    folder = write_fashion(tmp_path)
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"\x00\x00\x08\x03garbage"))
    with pytest.raises(T.DataDirError, match="t10k-labels-idx1-ubyte.gz has magic number"):
        T.describe(folder)


def test_a_split_with_one_class_is_refused(tmp_path):
    (x_train, y_train), (x_test, _) = _images(20, 1, 28, 0), _images(10, 1, 28, 1)
    np.savez(tmp_path / "one.npz", x_train=x_train[:, 0], y_train=y_train, x_test=x_test[:, 0],
             y_test=np.zeros(10, np.int64))
    with pytest.raises(T.DataDirError, match="10 test images of 1 class"):
        T.describe(tmp_path)


# ---------------------------------------------------------------------------
# The images
# ---------------------------------------------------------------------------

def _assert_images(data: T.ImageSet, layout: str, shape: tuple, n_train: int, n_test: int) -> None:
    c, h, w = shape
    expected = (c, h, w) if layout == "NCHW" else (h, w, c)
    assert data.layout == layout and data.image_shape == shape
    assert data.x_train.shape == (n_train, *expected) and data.x_test.shape == (n_test, *expected)
    assert data.x_train.dtype == np.float32 and data.x_test.dtype == np.float32
    assert data.y_train.dtype == np.int64 and data.y_test.dtype == np.int64
    for x in (data.x_train, data.x_test):
        assert 0.0 <= x.min() and x.max() <= 1.0
        assert not x.flags.writeable  # Note [One copy per process]
    assert not data.is_digits


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
def test_cifar10_images(tmp_path, layout):
    folder = write_cifar(tmp_path)
    data = T.image_set(layout, folder)
    _assert_images(data, layout, (3, 32, 32), 50, 20)
    assert data.name == "CIFAR-10" and data.num_classes == 10
    raw = D.load_cifar10(folder, layout=layout)
    np.testing.assert_array_equal(data.x_train, raw.X_train / np.float32(255))
    np.testing.assert_array_equal(data.y_test, raw.y_test)


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
def test_fashion_mnist_images(tmp_path, layout):
    data = T.image_set(layout, write_fashion(tmp_path))
    _assert_images(data, layout, (1, 28, 28), 40, 20)
    assert data.input_shape == (28, 28, 1)


def test_fashion_mnist_npz_images(tmp_path):
    data = T.image_set("NHWC", write_fashion_npz(tmp_path / "f.npz"))
    _assert_images(data, "NHWC", (1, 28, 28), 40, 20)


@needs_pil
def test_cinic10_images_leave_valid_out(tmp_path):
    data = T.image_set("NCHW", write_cinic(tmp_path / "c", per_class=3, classes=4))
    _assert_images(data, "NCHW", (3, 32, 32), 12, 12)
    assert data.class_names == ("class0", "class1", "class2", "class3") and data.chance == 0.25


@needs_pil
def test_cinic10_reads_only_the_budgeted_images(tmp_path, monkeypatch):
    root = write_cinic(tmp_path / "c", per_class=5, classes=4)
    read = []
    original = D._read_png
    monkeypatch.setattr(D, "_read_png", lambda path: read.append(path) or original(path))
    data = T.image_set("NCHW", root, budget=(8, 4))
    assert len(read) == 12 and len(data.y_train) == 8 and len(data.y_test) == 4
    assert np.bincount(data.y_train).tolist() == [2, 2, 2, 2]


def test_digits_are_the_default_exactly_as_the_checks_used_them():
    assert T.data_dir.get() is None
    data = T.image_set("NCHW")
    digits = D.load_digits_dataset(test_fraction=0.2, seed=0, layout="NCHW")
    assert data.is_digits and data.name == "digits"
    for ours, theirs in ((data.x_train, digits.X_train), (data.y_train, digits.y_train),
                         (data.x_test, digits.X_test), (data.y_test, digits.y_test)):
        np.testing.assert_array_equal(ours, theirs)
        assert ours.dtype == theirs.dtype
    nhwc = T.image_set("NHWC")
    np.testing.assert_array_equal(nhwc.x_test, D.load_digits_dataset(layout="NHWC").X_test)
    assert "1438 training and 359 test images" in data.summary()


def test_using_sets_the_folder_for_the_block(tmp_path):
    folder = write_cifar(tmp_path)
    with T.using(folder):
        assert T.image_set().name == "CIFAR-10"
    assert T.image_set().is_digits


def test_loaded_once_per_process(tmp_path, monkeypatch):
    folder = write_cifar(tmp_path)
    calls = []
    original = D.load_cifar10
    monkeypatch.setattr(D, "load_cifar10", lambda *a, **k: calls.append(a) or original(*a, **k))
    first = T.describe(folder)
    assert T.image_set("NCHW", folder) is T.image_set("NCHW", str(folder) + "/")
    T.image_set("NHWC", folder)
    assert len(calls) == 1 and "CIFAR-10" in first


def test_the_budget_is_a_seeded_stratified_subsample(tmp_path):
    folder = write_cifar(tmp_path, n_train=100, n_test=40)
    data = T.image_set("NCHW", folder, budget=(30, 10))
    assert len(data.y_train) == 30 and len(data.y_test) == 10
    assert np.bincount(data.y_train, minlength=10).tolist() == [3] * 10
    assert "30 of 100 training and 10 of 40 test images (a stratified subsample, seed 0)" in data.summary()
    T._cached.cache_clear()
    again = T.image_set("NCHW", folder, budget=(30, 10))
    np.testing.assert_array_equal(again.x_train, data.x_train)
    assert again.fingerprint == data.fingerprint


def test_stratified_subsample_keeps_each_class_share():
    y = np.array([0] * 50 + [1] * 30 + [2] * 20)
    picked = T.stratified_subsample(y, 10, seed=3)
    assert np.bincount(y[picked]).tolist() == [5, 3, 2]
    assert np.all(np.diff(picked) > 0)
    np.testing.assert_array_equal(picked, T.stratified_subsample(y, 10, seed=3))
    assert not np.array_equal(picked, T.stratified_subsample(y, 10, seed=4))
    # Remainders: 7 of (5, 3, 2) -> exact 3.5, 2.1, 1.4 -> 3 + 2 + 1 plus the largest remainder.
    assert np.bincount(y[T.stratified_subsample(y, 7)]).tolist() == [4, 2, 1]
    np.testing.assert_array_equal(T.stratified_subsample(y, 500), np.arange(100))
    with pytest.raises(ValueError, match="at least one image"):
        T.stratified_subsample(y, 0)


def test_fingerprint_follows_the_contents(tmp_path):
    a = T.image_set("NCHW", write_cifar(tmp_path / "a", seed=0))
    b = T.image_set("NCHW", write_cifar(tmp_path / "b", seed=5))
    assert a.fingerprint != b.fingerprint
    assert T.image_set("NHWC", tmp_path / "a").fingerprint == a.fingerprint


def test_a_bad_layout_is_refused():
    with pytest.raises(ValueError, match="layout must be one of"):
        T.image_set("CHWN")


# ---------------------------------------------------------------------------
# Fitting sizes
# ---------------------------------------------------------------------------

def test_fit_repeats_pixels_when_the_size_is_a_multiple():
    x = np.arange(2 * 1 * 8 * 8, dtype=np.float32).reshape(2, 1, 8, 8)
    fitted = T.fit_images(x, 32)
    assert fitted.shape == (2, 1, 32, 32)
    np.testing.assert_array_equal(fitted, np.repeat(np.repeat(x, 4, axis=2), 4, axis=3))


def test_fit_zero_pads_to_the_centre_otherwise():
    x = np.ones((3, 28, 28, 2), np.float32)
    fitted = T.fit_images(x, 32, layout="NHWC")
    assert fitted.shape == (3, 32, 32, 2)
    np.testing.assert_array_equal(fitted[:, 2:30, 2:30], x)
    assert fitted.sum() == x.sum()  # everything outside is zero


def test_fit_crops_the_centre_of_larger_images():
    x = np.arange(36 * 36, dtype=np.float32).reshape(1, 1, 36, 36)
    np.testing.assert_array_equal(T.fit_images(x, 32), x[:, :, 2:34, 2:34])


def test_fit_leaves_the_right_size_alone_and_refuses_nonsense():
    x = np.zeros((1, 3, 32, 32), np.float32)
    np.testing.assert_array_equal(T.fit_images(x, 32), x)
    with pytest.raises(ValueError, match="must be positive"):
        T.fit_images(x, 0)
    with pytest.raises(ValueError, match="4-d images"):
        T.fit_images(x[0], 32)


# ---------------------------------------------------------------------------
# Targets and the reference-run cache
# ---------------------------------------------------------------------------

class _Trainer:
    """Stands in for a reference training run; counts how often it ran."""

    def __init__(self, accuracy: float) -> None:
        self.accuracy, self.runs = accuracy, 0

    def __call__(self) -> float:
        self.runs += 1
        return self.accuracy


@pytest.fixture
def cifar(tmp_path) -> T.ImageSet:
    return T.image_set("NCHW", write_cifar(tmp_path / "cifar"))


@pytest.fixture
def code(tmp_path) -> list[Path]:
    path = tmp_path / "reference_model.py"
    path.write_text("# the reference\n")
    return [path]


def test_relative_target_is_the_reference_less_the_margin(cifar, code):
    target = T.relative_target(cifar, "Net", {"seed": 0}, code, _Trainer(0.62))
    assert target.relative and target.value == pytest.approx(0.62 - T.MARGIN)
    details = target.details()
    assert details["reference_accuracy"] == 0.62 and details["target"] == target.value
    assert details["target_rule"] == f"reference - {T.MARGIN}" and details["reference_cached"] is False
    assert "reaches 0.620" in target.explain()


def test_absolute_targets_say_so():
    target = T.Target(0.85, "digits")
    assert not target.relative
    assert target.details() == {"target": 0.85, "target_rule": "absolute (digits)"}


def test_the_disk_cache_is_used_the_second_time(cifar, code, tmp_path):
    trainer = _Trainer(0.7)
    first = T.relative_target(cifar, "Net", {"seed": 0}, code, trainer)
    T._IN_MEMORY.clear()  # as a fresh job process of a batch would be
    second = T.relative_target(cifar, "Net", {"seed": 0}, code, trainer)
    assert trainer.runs == 1
    assert (first.reference_cached, second.reference_cached) == (False, True)
    assert second.value == first.value
    entries = list((tmp_path / "xdg-cache" / "grader" / "reference-runs").glob("*.json"))
    assert len(entries) == 1
    assert entries[0].stem == T.run_key(cifar, "Net", {"seed": 0}, code)
    assert json.loads(entries[0].read_text())["accuracy"] == 0.7


def test_the_reference_trains_again_when_anything_it_depends_on_changes(cifar, code, tmp_path):
    trainer = _Trainer(0.7)
    T.relative_target(cifar, "Net", {"seed": 0}, code, trainer)
    T.relative_target(cifar, "Net", {"seed": 1}, code, trainer)           # configuration
    T.relative_target(cifar, "OtherNet", {"seed": 1}, code, trainer)      # model
    code[0].write_text("# the reference, changed\n")
    T.relative_target(cifar, "OtherNet", {"seed": 1}, code, trainer)      # code
    other = T.image_set("NCHW", write_cifar(tmp_path / "other", seed=9))
    T.relative_target(other, "OtherNet", {"seed": 1}, code, trainer)      # data
    assert trainer.runs == 5


def test_a_corrupt_cache_entry_is_trained_again(cifar, code):
    trainer = _Trainer(0.7)
    T.relative_target(cifar, "Net", {}, code, trainer)
    key = T.run_key(cifar, "Net", {}, code)
    (T.cache_dir() / f"{key}.json").write_text("{not json")
    T._IN_MEMORY.clear()
    assert T.relative_target(cifar, "Net", {}, code, trainer).reference_cached is False
    assert trainer.runs == 2


def test_an_unwritable_cache_only_costs_time(cifar, code, tmp_path, monkeypatch):
    blocker = tmp_path / "blocked"
    blocker.write_text("a file where the cache folder would go")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    trainer = _Trainer(0.7)
    assert T.relative_target(cifar, "Net", {}, code, trainer).value == pytest.approx(0.65)
    assert trainer.runs == 1


def test_a_reference_near_chance_cannot_set_a_target(cifar, code):
    with pytest.raises(T.UnjudgeableData, match=r"reaches only 0\.140, within 0\.10 of chance \(0\.100\)"):
        T.relative_target(cifar, "Net", {}, code, _Trainer(0.14))
    # Just above: the chance floor, not the reference, decides.
    assert T.relative_target(cifar, "Net", {"x": 1}, code, _Trainer(0.2)).value == pytest.approx(0.15)


# ---------------------------------------------------------------------------
# The CLI: a bad --data-dir is the command's error
# ---------------------------------------------------------------------------

def _grade(*args: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run([str(GRADE), *args], capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.skipif(not GRADE.exists(), reason="the grade command is not installed in .venv")
def test_cli_check_with_an_empty_data_dir_exits_2_in_one_line(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    solution = ROOT / "assignments" / "pytorch" / "solution" / "Q5-Pytorch.ipynb"
    run = _grade("check", str(solution), "-a", "pytorch", "--data-dir", str(empty), "--no-html")
    assert run.returncode == 2, run.stdout + run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in run.stderr, run.stderr
    assert lines[0].startswith(f"grade: --data-dir {empty}: no data set found; looked for CIFAR-10")
    assert run.stdout == ""  # nothing was graded


@pytest.mark.skipif(not GRADE.exists(), reason="the grade command is not installed in .venv")
def test_cli_batch_with_a_wrong_folder_exits_2_and_grades_nothing(tmp_path):
    wrong = tmp_path / "photos"
    wrong.mkdir()
    (wrong / "holiday.jpg").write_bytes(b"\xff\xd8")
    submissions = tmp_path / "subs"
    submissions.mkdir()
    run = _grade("batch", str(submissions), "-a", "fc_nets", "--out", str(tmp_path / "out"),
                 "--data-dir", str(wrong))
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stderr.strip().splitlines() == [
        f"grade: --data-dir {wrong}: no data set found; looked for {T.LOOKED_FOR}"]
    assert not (tmp_path / "out" / "results").exists()


@pytest.mark.skipif(not GRADE.exists(), reason="the grade command is not installed in .venv")
def test_cli_says_what_a_good_data_dir_holds(tmp_path):
    folder = write_cifar(tmp_path / "cifar", n_train=50, n_test=20)
    empty_submission = tmp_path / "nothing"
    empty_submission.mkdir()
    run = _grade("check", str(empty_submission), "-a", "fc_nets", "--data-dir", str(folder), "--no-html")
    assert (f"data: CIFAR-10 (python batches in {folder}): 50 training and 20 test images, "
            f"3 x 32 x 32, 10 classes") in run.stderr.splitlines(), run.stderr
