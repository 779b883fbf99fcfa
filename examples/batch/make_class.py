"""Build a fake class of fc_nets submissions for `grade batch` (tests, benchmarks, demos).

    python examples/batch/make_class.py FOLDER [--size 40]

Every submission is made from the bundled examples in examples/fc_nets: `ada`
(correct), `ben` (partly done, two bugs), `cy` (hostile), `dee.zip` (Python 2).
The class always holds one of each special case (hostile, Python 2 zip, a
syntax error, an empty folder, a notebook, a Canvas-style group of files, ben),
and fills the rest with correct copies (folders, zips, loose files) and copies
of ada with one classic bug planted by a text edit.  Each copy carries its
number in a comment, so that no two submissions have the same content hash;
zips have fixed dates, so that building the class twice gives the same bytes.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import zipfile
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "fc_nets"
ADA = EXAMPLES / "ada" / "cs231n"

# kind -> (file in ada's package, text to find, replacement, the function that must lose points)
BUGS = {
    "bug_db": ("layers.py", "        db += dout[i]\n", "        db += dout[i] / N\n",
               "affine_backward"),
    # (not softmax_loss: the course gives it away, so it earns nothing to lose; Note
    # [Course-provided parts] in grader/scoring/assignment.py)
    "bug_affine_bias": ("layers.py", "        out[i] = np.dot(x[i].flatten(), w) + b\n",
                        "        out[i] = np.dot(x[i].flatten(), w)\n", "affine_forward"),
    "bug_relu_backward": ("layers.py", "return np.where(cache > 0, dout, 0.0)",
                          "return np.where(cache > 0, 1.0, 0.0)", "relu_backward"),
    "bug_momentum_sign": ("optim.py", "    w += v\n", "    w -= v\n", "sgd_momentum"),
    "bug_adam_no_t": ("optim.py", '    config["t"] += 1\n', "", "adam"),
    "bug_rmsprop_no_sqrt": ("optim.py", 'np.sqrt(config["cache"] + config["epsilon"])',
                            '(config["cache"] + config["epsilon"])', "rmsprop"),
}
CORRECT = ("correct", "correct_zip", "correct_loose")
SPECIAL = ("hostile", "python2_zip", "partial_ben", "syntax_error", "empty", "notebook", "canvas")
# The fill order after the special cases: mostly correct work, one bug in three.
FILL = ("correct", "bug_db", "correct_zip", "correct_loose", "bug_affine_bias", "correct",
        "bug_relu_backward", "correct_zip", "bug_momentum_sign", "correct", "bug_adam_no_t",
        "correct_loose", "bug_rmsprop_no_sqrt")
ZIP_DATE = (2026, 1, 1, 0, 0, 0)


def _ada_files(number: int) -> dict[str, str]:
    """ada's package (relative path -> text) with the student's number in a comment."""
    files = {}
    for path in sorted(ADA.rglob("*.py")):
        text = path.read_text()
        files[path.relative_to(ADA).as_posix()] = f"# student {number}\n{text}"
    return files


def _write_tree(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)


def _write_zip(path: Path, files: dict[str, str]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for relative, text in sorted(files.items()):
            archive.writestr(zipfile.ZipInfo(relative, ZIP_DATE), text)


def _notebook(files: dict[str, str]) -> str:
    """A notebook whose code cells hold the layers and update rules, as students paste them."""
    cells = [{"cell_type": "markdown", "metadata": {}, "source": ["# Fully-connected nets\n"]}]
    for name in ("layers.py", "optim.py"):
        cells.append({"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
                      "source": files[name].splitlines(keepends=True)})
    return json.dumps({"cells": cells, "metadata": {"kernelspec": {"name": "python3",
                       "display_name": "Python 3", "language": "python"}},
                       "nbformat": 4, "nbformat_minor": 5}, indent=1)


def _make(folder: Path, number: int, kind: str) -> str:
    """Write submission `number` of `kind` into `folder`; returns its entry name."""
    stem = f"s{number:02d}_{kind}"
    files = _ada_files(number)
    if kind == "correct":
        _write_tree(folder / stem / "cs231n", files)
    elif kind == "correct_zip":
        _write_zip(folder / f"{stem}.zip", {f"hw2/cs231n/{k}": v for k, v in files.items()})
        return f"{stem}.zip"
    elif kind == "correct_loose":
        _write_tree(folder / stem, {Path(k).name: v for k, v in files.items()
                                    if Path(k).name != "__init__.py"})
    elif kind in BUGS:
        name, find, replace, _ = BUGS[kind]
        if files[name].count(find) != 1:
            raise RuntimeError(f"{kind}: {find!r} is not in ada's {name} exactly once")
        files[name] = files[name].replace(find, replace)
        _write_tree(folder / stem / "cs231n", files)
    elif kind == "hostile":
        shutil.copytree(EXAMPLES / "cy", folder / stem)
    elif kind == "python2_zip":
        shutil.copyfile(EXAMPLES / "dee.zip", folder / f"{stem}.zip")
        return f"{stem}.zip"
    elif kind == "partial_ben":
        shutil.copytree(EXAMPLES / "ben", folder / stem)
    elif kind == "syntax_error":
        files["layers.py"] = files["layers.py"].replace("def relu_forward(x):", "def relu_forward(x)")
        _write_tree(folder / stem / "cs231n", files)
    elif kind == "empty":
        (folder / stem).mkdir()
    elif kind == "notebook":
        (folder / f"{stem}.ipynb").write_text(_notebook(files))
        return f"{stem}.ipynb"
    elif kind == "canvas":
        # Canvas: lastname_firstname_<userid>_<submissionid>_<original name>, one file each
        for relative, text in files.items():
            if Path(relative).name != "__init__.py":
                (folder / f"doe_jane_{1000 + number}_{2000 + number}_{Path(relative).name}").write_text(text)
        return f"doe_jane_{1000 + number}_{2000 + number}_*"
    else:
        raise ValueError(f"unknown kind {kind!r}")
    return stem


def kinds(size: int) -> list[str]:
    """The kind of each submission, in order: every special case, then FILL repeated."""
    if size < len(SPECIAL):
        raise ValueError(f"a class needs at least {len(SPECIAL)} submissions")
    return list(SPECIAL) + [FILL[i % len(FILL)] for i in range(size - len(SPECIAL))]


def build(folder: Path, size: int = 40) -> dict[str, str]:
    """Write the class into `folder` (created, must be empty); entry name -> kind."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if any(folder.iterdir()):
        raise FileExistsError(f"{folder} is not empty")
    return {_make(folder, number, kind): kind for number, kind in enumerate(kinds(size), start=1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--size", type=int, default=40, help="number of submissions (default 40)")
    args = parser.parse_args(argv)
    made = build(args.folder, args.size)
    counts: dict[str, int] = {}
    for kind in made.values():
        counts[kind] = counts.get(kind, 0) + 1
    print(f"{len(made)} submissions in {args.folder}: " +
          ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
