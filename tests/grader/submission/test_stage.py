"""Staging submissions (grader/submission/stage.py, Note [Staging]): what must import does, what is bad says why."""

from __future__ import annotations

import os
import stat
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

from grader.submission import stage as locate
from grader.submission.stage import Layout, SubmissionError, stage
from grader.worker.client import Worker

LAYOUT = Layout(files={"layers": "layers.py", "layer_utils": "layer_utils.py",
                       "fc_net": "classifiers/fc_net.py"},
                replace=("fast_layers.py",), provide=("gradient_check.py", "solver.py"))

LAYERS = "import numpy as np\n\ndef affine_forward(x):\n    return x + 1.0\n"
FC_NET_RELATIVE = "from ..layers import *\n\ndef net(x):\n    return 2 * affine_forward(x)\n"


@pytest.fixture
def staged():
    """Factory: stage(...) whose result is cleaned up after the test."""
    made = []

    def make(path: Path, layout: Layout = LAYOUT) -> locate.Staged:
        made.append(stage(path, layout))
        return made[-1]

    yield make
    for s in made:
        s.cleanup()


def staged_files(s: locate.Staged) -> set[str]:
    return {str(p.relative_to(s.root)) for p in s.root.rglob("*") if p.is_file()}


def call_in_worker(s: locate.Staged, module: str, function: str, *args):
    """Import the staged package in a real (sandboxed) worker and call one function."""
    with Worker(s.root) as worker:
        return worker.call(module, function, *args).value


def make_zip(path: Path, members: dict[str, str | bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


# -- what must work --------------------------------------------------------------------------

def test_package_with_relative_imports_imports_in_the_worker(submission, staged) -> None:
    folder = submission({"cs231n/__init__.py": "", "cs231n/layers.py": LAYERS,
                         "cs231n/layer_utils.py": "from .layers import *\n",
                         "cs231n/classifiers/__init__.py": "",
                         "cs231n/classifiers/fc_net.py": FC_NET_RELATIVE})
    s = staged(folder)
    assert s.package == "cs231n"
    assert s.modules == {"layers": "cs231n.layers", "layer_utils": "cs231n.layer_utils",
                         "fc_net": "cs231n.classifiers.fc_net"}
    assert s.missing == []
    assert {"cs231n/layers.py", "cs231n/classifiers/fc_net.py",
            "cs231n/classifiers/__init__.py"} <= staged_files(s)
    np.testing.assert_array_equal(call_in_worker(s, "cs231n.classifiers.fc_net", "net", np.zeros(2)),
                                  [2.0, 2.0])


def test_package_named_by_its_absolute_imports_keeps_its_name(submission, staged) -> None:
    folder = submission({"ece662/layers.py": LAYERS,
                         "ece662/classifiers/fc_net.py":
                             "from ece662.layers import *\n\ndef net(x):\n    return 3 * affine_forward(x)\n"})
    s = staged(folder)
    assert s.package == "ece662"
    assert s.modules["fc_net"] == "ece662.classifiers.fc_net"
    assert s.missing == ["layer_utils"]
    np.testing.assert_array_equal(call_in_worker(s, "ece662.classifiers.fc_net", "net", np.ones(1)),
                                  [6.0])


def test_loose_files_go_where_the_course_keeps_them(submission, staged) -> None:
    folder = submission({"layers.py": LAYERS,
                         "fc_net.py": "from cs231n.layers import affine_forward\n\n"
                                      "def net(x):\n    return affine_forward(x) - 1\n"})
    s = staged(folder)
    assert s.package == "cs231n"
    files = staged_files(s)
    assert "cs231n/classifiers/fc_net.py" in files, files
    assert "cs231n/fc_net.py" not in files
    np.testing.assert_array_equal(call_in_worker(s, "cs231n.classifiers.fc_net", "net", np.ones(2)),
                                  [1.0, 1.0])


def test_sources_are_kept_as_staged_before_any_student_code_runs(submission, staged) -> None:
    folder = submission({"layers.py": LAYERS})
    s = staged(folder / "layers.py")
    assert s.sources == {"layers": LAYERS}
    (s.root / "cs231n" / "layers.py").write_text("# rewritten at run time\n")
    assert s.sources["layers"] == LAYERS  # what a static check reads


def test_loose_files_take_the_package_name_their_imports_use(submission, staged) -> None:
    folder = submission({"layers.py": LAYERS, "fc_net.py": "from ece662.layers import *\n"})
    assert staged(folder).package == "ece662"


def test_single_py_file(submission, staged) -> None:
    folder = submission({"layers.py": LAYERS})
    s = staged(folder / "layers.py")
    assert s.package == "cs231n"
    assert "cs231n/layers.py" in staged_files(s)
    assert sorted(s.missing) == ["fc_net", "layer_utils"]


@pytest.mark.parametrize("prefix", ["alice/", "hw2/alice/"], ids=["one_deep", "two_deep"])
def test_zip_of_a_package_nested_in_folders(tmp_path, staged, prefix) -> None:
    archive = make_zip(tmp_path / "alice.zip", {
        f"{prefix}cs231n/__init__.py": "", f"{prefix}cs231n/layers.py": LAYERS,
        f"{prefix}cs231n/classifiers/fc_net.py": FC_NET_RELATIVE,
        f"{prefix}README.md": "my notes"})
    s = staged(archive)
    assert s.package == "cs231n"
    assert {"cs231n/layers.py", "cs231n/classifiers/fc_net.py"} <= staged_files(s)
    assert not any("README" in f for f in staged_files(s))


def test_zip_junk_folders_are_ignored(tmp_path, staged) -> None:
    # Each junk copy sits higher up than the real package: not skipping it would make it the anchor.
    archive = make_zip(tmp_path / "sub.zip", {
        "__MACOSX/layers.py": "raise SystemExit('resource fork')",
        "__MACOSX/cs231n/._layers.py": b"\x00\x05\x16\x07",
        ".ipynb_checkpoints/layers-checkpoint.py": "old",
        ".ipynb_checkpoints/layers.py": "old",
        "__pycache__/layers.py": "old",
        "work/cs231n/layers.py": LAYERS,
        "work/cs231n/__pycache__/layers.cpython-311.pyc": b"\x00"})
    s = staged(archive)
    assert s.package == "cs231n"
    assert staged_files(s) == {"cs231n/__init__.py", "cs231n/layers.py", "cs231n/fast_layers.py",
                               "cs231n/gradient_check.py", "cs231n/solver.py"}
    assert (s.root / "cs231n/layers.py").read_text() == LAYERS


def test_student_init_importing_a_missing_module_is_replaced(submission, staged) -> None:
    folder = submission({"cs231n/__init__.py": "from .rnn_layers import *\n",
                         "cs231n/layers.py": LAYERS})
    s = staged(folder)
    assert (s.root / "cs231n/__init__.py").read_text() == ""
    assert "replaced cs231n/__init__.py with an empty one" in s.notes
    np.testing.assert_array_equal(call_in_worker(s, "cs231n.layers", "affine_forward", np.zeros(1)),
                                  [1.0])


def test_course_files_replace_cython_ones_and_fill_gaps(submission, staged) -> None:
    folder = submission({"cs231n/layers.py": LAYERS,
                         "cs231n/fast_layers.py": "from cs231n.im2col_cython import col2im_cython\n",
                         "cs231n/solver.py": "# my own solver\n"})
    s = staged(folder)
    course = locate.REFERENCE_COURSE_DIR
    assert (s.root / "cs231n/fast_layers.py").read_text() == (course / "fast_layers.py").read_text()
    assert (s.root / "cs231n/gradient_check.py").read_text() == (course / "gradient_check.py").read_text()
    assert (s.root / "cs231n/solver.py").read_text() == "# my own solver\n"  # provided only when missing
    assert "used the course's fast_layers.py in place of the submitted one" in s.notes
    assert "supplied the course's gradient_check.py" in s.notes
    assert not any("solver.py" in note for note in s.notes)


def test_staged_tree_is_world_readable_and_the_original_untouched(submission, staged) -> None:
    folder = submission({"cs231n/__init__.py": "import nothing_here\n", "cs231n/layers.py": LAYERS,
                         "fc_net.py": FC_NET_RELATIVE})
    for path in folder.rglob("*"):
        os.chmod(path, 0o700 if path.is_dir() else 0o600)
    before = {str(p): (p.read_bytes() if p.is_file() else b"", p.stat().st_mode, p.stat().st_mtime_ns)
              for p in folder.rglob("*")}
    s = staged(folder)
    for path in [s.root.parent, *s.root.parent.rglob("*")]:
        mode = path.stat().st_mode
        assert mode & stat.S_IROTH, f"{path} is not world-readable"
        if path.is_dir():
            assert mode & stat.S_IXOTH, f"{path} cannot be entered"
    after = {str(p): (p.read_bytes() if p.is_file() else b"", p.stat().st_mode, p.stat().st_mtime_ns)
             for p in folder.rglob("*")}
    assert after == before


def test_cleanup_removes_the_whole_stage(submission) -> None:
    s = stage(submission({"layers.py": LAYERS}), LAYOUT)
    work = s.root.parent
    assert work.name.startswith("grader-stage-") and work.exists()
    s.cleanup()
    assert not work.exists()


def test_a_batch_jobs_staged_copy_is_left_to_its_folders_removal(submission, tmp_path,
                                                                  monkeypatch) -> None:
    """Note [Staged copies removed after the answer]: a copy staged in the job's folder is
    left by `cleanup` (the folder goes when the job ends), removed by `cleanup(now=True)`;
    a copy staged anywhere else is removed at once, as before."""
    job_folder = tmp_path / "job"
    job_folder.mkdir()
    monkeypatch.setattr(locate, "removed_later", job_folder)
    monkeypatch.setattr(tempfile, "tempdir", str(job_folder))
    left = stage(submission({"layers.py": LAYERS}), LAYOUT)
    left.cleanup()
    assert left.root.parent.parent == job_folder and (left.root / left.package / "layers.py").exists()
    now = stage(submission({"layers.py": LAYERS}), LAYOUT)
    now.cleanup(now=True)
    assert not now.root.parent.exists()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    elsewhere = stage(submission({"layers.py": LAYERS}), LAYOUT)
    elsewhere.cleanup()
    assert not elsewhere.root.parent.exists()


# -- re-exporting packages (Note [Re-exporting packages]) ------------------------------------

REAL_FC_NET = {"absolute": "from {real}.layers import *\n\ndef net(x):\n    return 3 * affine_forward(x)\n",
               "relative": "from ..layers import *\n\ndef net(x):\n    return 3 * affine_forward(x)\n"}


def two_packages(shim: str, real: str, imports: str, shim_init: bool) -> dict[str, str]:
    """`real` holds the code; `shim` only re-exports it, as some courses ship their package."""
    files = {f"{real}/__init__.py": "", f"{real}/layers.py": LAYERS,
             f"{real}/layer_utils.py": "from .layers import *\n" if imports == "relative"
             else f"from {real}.layers import *\n",
             f"{real}/classifiers/__init__.py": "",
             f"{real}/classifiers/fc_net.py": REAL_FC_NET[imports].format(real=real),
             f"{shim}/layers.py": f'"""Re-exported."""\nfrom {real}.layers import *\n',
             f"{shim}/layer_utils.py": "from .layers import *\n",  # a re-export of a re-export
             f"{shim}/classifiers/fc_net.py": f"from {real}.classifiers.fc_net import *\n"}
    if shim_init:
        files.update({f"{shim}/__init__.py": "", f"{shim}/classifiers/__init__.py": ""})
    return files


@pytest.mark.parametrize("form", ["folder", "zip"])
@pytest.mark.parametrize("imports", ["absolute", "relative"])
@pytest.mark.parametrize("shim_init", [True, False], ids=["shim_init", "no_shim_init"])
@pytest.mark.parametrize("shim, real", [("ece697ls", "ece662"), ("cs231n", "ece662"),
                                        ("aa_course", "zz_code")])
def test_a_package_that_re_exports_another_is_graded_from_the_code(
        submission, staged, tmp_path, form, imports, shim_init, shim, real) -> None:
    files = two_packages(shim, real, imports, shim_init)
    path = (submission(files) if form == "folder" else
            make_zip(tmp_path / "alice.zip", {f"alice/{k}": v for k, v in files.items()}))
    s = staged(path)
    assert s.modules == {"layers": f"{real}.layers", "layer_utils": f"{real}.layer_utils",
                         "fc_net": f"{real}.classifiers.fc_net"}
    assert s.missing == []
    assert s.sources["layers"] == LAYERS  # what a static check would read: the code
    np.testing.assert_array_equal(call_in_worker(s, s.modules["fc_net"], "net", np.ones(2)), [6.0, 6.0])


def test_a_package_re_exporting_a_sibling_through_a_parent_package(submission, staged) -> None:
    files = two_packages("ece697ls", "ece662", "relative", True)
    files = {f"course/{k}": v.replace("from ece662.", "from ..ece662.") for k, v in files.items()}
    files["course/__init__.py"] = ""
    s = staged(submission(files))
    assert s.modules["layers"] == "ece662.layers"
    np.testing.assert_array_equal(call_in_worker(s, s.modules["layers"], "affine_forward", np.zeros(1)),
                                  [1.0])


@pytest.mark.parametrize("shim, real", [("ece697ls", "ece662"), ("aa_course", "zz_code")])
def test_a_package_with_own_code_and_re_exports_stages_both(submission, staged, shim, real) -> None:
    """The graded package re-exports layers.py from the other but has its own fc_net.py, which
    imports the re-export relatively: both packages are staged, each module from its code."""
    s = staged(submission({
        f"{shim}/__init__.py": "", f"{shim}/layers.py": f"from {real}.layers import *\n",
        f"{shim}/classifiers/fc_net.py": "from ..layers import *\n\ndef net(x):\n"
                                         "    return 5 * affine_forward(x)\n",
        f"{real}/layers.py": LAYERS, f"{real}/layer_utils.py": f"from {real}.layers import *\n"}))
    assert s.modules == {"layers": f"{real}.layers", "layer_utils": f"{real}.layer_utils",
                         "fc_net": f"{shim}.classifiers.fc_net"}
    assert s.files == {"layers": f"{real}/layers.py", "layer_utils": f"{real}/layer_utils.py",
                       "fc_net": f"{shim}/classifiers/fc_net.py"}
    # whichever is the anchor, the notes say which file was graded for which course module
    assert (f"graded {real}/layers.py as the course's layers.py: {shim}/layers.py only re-exports it"
            in s.notes or f"graded {shim}/classifiers/fc_net.py as the course's classifiers/fc_net.py "
            f"(the package {real} has none)" in s.notes), s.notes
    np.testing.assert_array_equal(call_in_worker(s, s.modules["fc_net"], "net", np.zeros(1)), [5.0])
    np.testing.assert_array_equal(call_in_worker(s, s.modules["layer_utils"], "affine_forward",
                                                 np.zeros(1)), [1.0])


def test_a_re_export_of_a_package_not_submitted_is_not_renamed_after_it(submission, staged) -> None:
    """Without the other package, the import fails and says so (not "not found")."""
    s = staged(submission({"ece697ls/layers.py": "from ece662.layers import *\n"}))
    assert s.package != "ece662"
    with Worker(s.root) as worker, pytest.raises(Exception, match="No module named 'ece662'"):
        worker.import_module(s.modules["layers"])


def test_star_imports_recognise_re_exports_only() -> None:
    assert locate.star_imports('"""doc"""\nimport numpy as np\nfrom a.layers import *\n'
                               '__all__ = ["f"]\n') == [(0, "a.layers")]
    assert locate.star_imports("from ..a.layers import *\n") == [(2, "a.layers")]
    assert locate.star_imports("from a.layers import *\n\ndef f():\n    pass\n") == []
    assert locate.star_imports("from a.layers import f\n") == []
    assert locate.star_imports("from a.layers import *\nprint(\n") == []


# -- what must fail, and say why ---------------------------------------------------------------

@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """Stage into a folder of our own, to see that a failed stage leaves nothing behind."""
    stage_dir = tmp_path / "stages"
    stage_dir.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(stage_dir))
    yield stage_dir
    assert list(stage_dir.iterdir()) == [], "a failed stage left files behind"


def expect_error(path: Path, *fragments: str) -> str:
    with pytest.raises(SubmissionError) as info:
        stage(path, LAYOUT)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_missing_path(tmp_path) -> None:
    expect_error(tmp_path / "nope", "nope", "does not exist")


def test_empty_folder(tmp_path, private_tmp) -> None:
    (tmp_path / "alice").mkdir()
    expect_error(tmp_path / "alice", "no Python files found in alice")


def test_folder_without_python_files(tmp_path, private_tmp) -> None:
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / "layers.ipynb").write_text("{}")
    (tmp_path / "alice" / "__pycache__").mkdir()
    (tmp_path / "alice" / "__pycache__" / "layers.py").write_text("")
    expect_error(tmp_path / "alice", "no Python files found in alice")


def test_folder_without_any_assignment_file(tmp_path, private_tmp) -> None:
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / "utils.py").write_text("x = 1\n")
    expect_error(tmp_path / "alice", "none of the assignment's files",
                 "fc_net.py, layer_utils.py, layers.py", "were found; its Python files are "
                 "utils.py: name them as the course does")


def test_unsupported_file_type(tmp_path, private_tmp) -> None:
    (tmp_path / "alice.tar").write_bytes(b"not a zip")
    expect_error(tmp_path / "alice.tar", "alice.tar", "expected a folder, a .zip, a .py or an .ipynb file")


def test_corrupt_zip(tmp_path, private_tmp) -> None:
    good = make_zip(tmp_path / "good.zip", {"cs231n/layers.py": LAYERS * 50}).read_bytes()
    (tmp_path / "alice.zip").write_bytes(good[: len(good) // 2])
    expect_error(tmp_path / "alice.zip", "alice.zip is not a valid zip file")


@pytest.mark.parametrize("bad_name", ["../evil.py", "cs231n/../../evil.py", "/etc/evil.py"])
def test_zip_with_unsafe_paths_is_refused(tmp_path, private_tmp, bad_name) -> None:
    archive = make_zip(tmp_path / "alice.zip", {"cs231n/layers.py": LAYERS, bad_name: "import os"})
    expect_error(archive, "alice.zip: refusing unsafe path", repr(bad_name))
    assert not (tmp_path / "evil.py").exists()


def test_zip_bomb_over_the_size_limit(tmp_path, private_tmp, monkeypatch) -> None:
    monkeypatch.setattr(locate, "MAX_ZIP_BYTES", 1 << 20)
    archive = make_zip(tmp_path / "bomb.zip", {"cs231n/layers.py": LAYERS,
                                               "cs231n/data.py": "#" + " " * (2 << 20)})
    assert archive.stat().st_size < 64 << 10  # small on disk, large unpacked
    expect_error(archive, "bomb.zip unpacks to more than 1 MiB")


def test_zip_with_too_many_entries(tmp_path, private_tmp, monkeypatch) -> None:
    monkeypatch.setattr(locate, "MAX_ZIP_MEMBERS", 3)
    archive = make_zip(tmp_path / "many.zip", {f"cs231n/m{i}.py": "" for i in range(4)})
    expect_error(archive, "many.zip has 4 entries (limit 3)")


@pytest.mark.parametrize("members, shown", [
    ({"cs231n": "x", "cs231n/layers.py": LAYERS}, "'cs231n/layers.py' (File exists)"),
    ({"cs231n/layers.py": LAYERS, "/".join(["d" * 200] * 30) + "/x.py": ""}, "...' (File name too long)"),
    ({"cs231n/layers.py": LAYERS, "cs231n/" + "n" * 300 + ".py": ""}, "...' (File name too long)"),
], ids=["file_then_folder", "path_too_long", "name_too_long"])
def test_a_zip_member_the_file_system_refuses_is_a_submission_error(tmp_path, private_tmp, members,
                                                                    shown) -> None:
    """Note [Members that cannot be placed]: not an OSError escaping as a grader bug."""
    message = expect_error(make_zip(tmp_path / "alice.zip", members), "alice.zip: cannot unpack ", shown)
    assert len(message) < 300


def test_a_source_file_over_the_size_limit_is_a_submission_error(tmp_path, private_tmp, monkeypatch) -> None:
    """Note [Source size]: a layers.py of 200 MB of blank lines (200 KB zipped) took 134 s and
    3.4 GB of the judge's memory."""
    monkeypatch.setattr(locate, "MAX_SOURCE_BYTES", 1 << 20)
    archive = make_zip(tmp_path / "alice.zip", {"cs231n/layers.py": LAYERS + "\n" * (2 << 20)})
    expect_error(archive, "cs231n/layers.py is 2 MiB, larger than the 1 MiB a source file may be")


def zip_with_a_name_that_is_not_utf8(path: Path, members: dict[str, str]) -> Path:
    """A zip whose last member's name is marked UTF-8 (flag bit 11) but holds the bytes ff fe."""
    import struct
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)
        archive.writestr("cs231n/XX.py", "x = 1\n")
    data = bytearray(path.read_bytes().replace(b"XX.py", b"\xff\xfe.py"))
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = data.find(signature)
        while start >= 0:
            flags = struct.unpack_from("<H", data, start + offset)[0]
            struct.pack_into("<H", data, start + offset, flags | 0x800)
            start = data.find(signature, start + 1)
    path.write_bytes(bytes(data))
    return path


def test_a_zip_member_name_marked_utf8_that_is_not_is_a_submission_error(tmp_path, private_tmp) -> None:
    """Note [Names that are not UTF-8] in grader/submission/discover.py: not a UnicodeDecodeError."""
    archive = zip_with_a_name_that_is_not_utf8(tmp_path / "alice.zip", {"cs231n/layers.py": LAYERS})
    expect_error(archive, "alice.zip is not a valid zip file (", "can't decode byte 0xff")


@pytest.mark.parametrize("deep", ["y = 1" + " + 1" * 200_000, "y = " + "-" * 500_000 + "1"],
                         ids=["recursion", "parser_memory"])
def test_a_star_import_beside_code_too_deep_to_parse_is_no_re_export(deep) -> None:
    """Note [Code too deep to parse] in grader/batch/similarity.py: RecursionError and
    MemoryError from ast.parse were staging crashes (internal grader errors)."""
    assert locate.star_imports(f"from numpy import *\n{deep}\n") == []


# -- a lone file of any name, read in definitions mode (Note [Any name]) ------------------------

LAB_LAYOUT = Layout(files={"norms": "normalization.py"}, default_package="ist597",
                    any_file_name=True, python_mode="definitions")
LAB_SCRIPT = ("import numpy as np\nEPS = 1e-5\n\ndef norm(x):\n    return (x - x.mean()) / (x.std() + EPS)\n\n"
              "data = np.load('/nonexistent/fashion.npz')\nfor epoch in range(10**9):\n    pass\n")


def test_a_lone_script_of_any_name_runs_only_its_definitions(submission, staged) -> None:
    folder = submission({"CNN_assignment4.py": LAB_SCRIPT})
    s = staged(folder, LAB_LAYOUT)
    assert s.modules["norms"] == "ist597.normalization" and s.missing == []
    assert any("graded CNN_assignment4.py as the assignment's normalization.py" in n for n in s.notes)
    assert any("definitions mode" in n and "not run" in n for n in s.notes)
    assert "norms" in s.import_timeouts
    # the module-level np.load and the endless loop never run: the import returns at once
    np.testing.assert_allclose(call_in_worker(s, "ist597.normalization", "norm", np.array([1.0, 3.0])),
                               [-1 / (1 + 1e-5), 1 / (1 + 1e-5)])


def test_any_name_needs_exactly_one_python_file(submission, staged) -> None:
    folder = submission({"a.py": LAB_SCRIPT, "b.py": LAB_SCRIPT})
    with pytest.raises(SubmissionError, match="normalization.py"):
        staged(folder, LAB_LAYOUT)
    plain = Layout(files={"norms": "normalization.py"}, default_package="ist597")
    with pytest.raises(SubmissionError, match="normalization.py"):
        staged(submission({"lab.py": LAB_SCRIPT}), plain)


def test_a_script_that_does_not_parse_is_staged_as_it_is(submission, staged) -> None:
    folder = submission({"normalization.py": "def broken(:\n"})
    s = staged(folder, LAB_LAYOUT)
    assert s.sources["norms"] == "def broken(:\n" and "norms" not in s.import_timeouts


def test_folders_of_course_files_not_graded_are_named(submission, staged) -> None:
    """Note [Folders of course files not graded]: a copy beside the package, and a class of
    packages, were passed over without a word."""
    backup = staged(submission({"cs231n/layers.py": LAYERS, "cs231n_backup/layers.py": LAYERS}))
    assert backup.notes[0] == "graded the course files in cs231n/, not those in cs231n_backup/"
    class_ = staged(submission({f"{name}/cs231n/layers.py": LAYERS
                                for name in ("ann", "bob", "cat", "dan", "eve")}))
    assert class_.notes[0] == ("graded the course files in ann/cs231n/, not those in "
                               "bob/cs231n/, cat/cs231n/, dan/cs231n/ and 1 more (a folder of "
                               "several submissions is graded with `grade batch`)")
    one = staged(submission({"cs231n/layers.py": LAYERS, "cs231n/classifiers/fc_net.py":
                             FC_NET_RELATIVE}))
    assert not any("graded the course files" in note for note in one.notes)
