"""Finding submissions in the folders instructors download (grader/submission/discover.py).

Each layout is a small fake export built here: plain folders and files,
Gradescope, Canvas, GitHub Classroom.  Runs in well under a second.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from grader.submission.discover import assign_ids, content_hash, discover, sanitise

LAYERS = "def relu_forward(x):\n    return x * (x > 0), x\n"


def write(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def by_id(found):
    return {s.id: s for s in found.submissions}


def test_plain_folder_each_entry_is_one_submission_and_junk_is_skipped(tmp_path) -> None:
    write(tmp_path, {"ada/cs231n/layers.py": LAYERS, "cy.py": LAYERS, "eve.ipynb": "{}",
                     "notes.txt": "hi", ".hidden/layers.py": LAYERS, ".DS_Store": "x",
                     "__MACOSX/._ada": "x"})
    with zipfile.ZipFile(tmp_path / "ben.zip", "w") as archive:
        archive.writestr("hw2/cs231n/layers.py", LAYERS)
    found = discover(tmp_path)
    assert found.layout == "plain"
    assert sorted(by_id(found)) == ["ada", "ben", "cy", "eve"]
    assert by_id(found)["ben"].path == tmp_path / "ben.zip"
    assert by_id(found)["ada"].name == "ada"
    skipped = dict(found.skipped)
    assert set(skipped) == {"notes.txt", ".hidden", ".DS_Store", "__MACOSX"}
    assert "not a folder" in skipped["notes.txt"]


def test_ids_are_safe_file_names_and_collisions_get_stable_suffixes(tmp_path) -> None:
    write(tmp_path, {"ben/layers.py": LAYERS, "José García/layers.py": LAYERS,
                     "a b/layers.py": LAYERS, "a_b.py": LAYERS, "Ben.py": LAYERS})
    ids = sorted(by_id(discover(tmp_path)))
    assert "ben" in ids and "Jose_Garcia" in ids
    assert len(ids) == 5 and all(sanitise(i) == i for i in ids)
    # 'a b' and 'a_b.py' both want a_b: neither is exactly that name, so both get a suffix;
    # Ben.py collides with ben case-insensitively: the folder named exactly 'ben' keeps it.
    assert len([i for i in ids if i.startswith("a_b-")]) == 2
    assert len([i for i in ids if i.casefold().startswith("ben-")]) == 1
    before = ids
    write(tmp_path, {"a-b/layers.py": LAYERS, "zed/layers.py": LAYERS})  # more students arrive
    after = sorted(by_id(discover(tmp_path)))
    assert set(before) <= set(after)  # nobody was renamed


def test_assign_ids_refuses_to_return_duplicates() -> None:
    assert assign_ids([("x", "x"), ("x", "y")]) == ["x", "x-a1fce4"]
    with pytest.raises(ValueError):
        assign_ids([("x", "k"), ("x", "k")])


def test_output_folder_inside_the_class_is_not_a_submission(tmp_path) -> None:
    write(tmp_path, {"ada/layers.py": LAYERS, "out/results/ada.json": "{}"})
    assert sorted(by_id(discover(tmp_path, exclude=(tmp_path / "out",)))) == ["ada"]


GRADESCOPE_METADATA = """\
submission_1001:
  :submitters:
  - :name: Jane Doe
    :sid: '17'
    :email: jane@example.edu
  :created_at: 2026-02-01 10:00:00.0 -0800
submission_1002:
  :submitters:
  - :name: Al Pha
    :email: al@example.edu
  - :name: Bet A
    :email: bet@example.edu
submission_1004:
  :submitters:
  - :name: Jane Doe
    :email: other.jane@example.edu
"""


def test_gradescope_export_uses_the_students_names(tmp_path) -> None:
    export = tmp_path / "assignment_42_export"
    write(export, {"submission_metadata.yml": GRADESCOPE_METADATA,
                   "submission_1001/layers.py": LAYERS, "submission_1002/cs231n/layers.py": LAYERS,
                   "submission_1003/layers.py": LAYERS, "submission_1004/layers.py": LAYERS})
    found = discover(tmp_path)  # the export's own folder is looked into
    assert found.layout == "gradescope"
    subs = {s.path.name: s for s in found.submissions}
    assert subs["submission_1002"].name == "Al Pha & Bet A"
    assert subs["submission_1002"].email == "al@example.edu, bet@example.edu"
    assert subs["submission_1002"].id == "Al_Pha_Bet_A"
    assert subs["submission_1003"].id == subs["submission_1003"].name == "submission_1003"
    # two students called Jane Doe: same name, different ids, both traceable to their folder
    janes = [subs["submission_1001"], subs["submission_1004"]]
    assert [j.name for j in janes] == ["Jane Doe", "Jane Doe"]
    assert janes[0].id != janes[1].id and all(j.id.startswith("Jane_Doe-") for j in janes)
    assert janes[0].email == "jane@example.edu"
    assert "submission_metadata.yml" not in [s.path.name for s in found.submissions]


def test_canvas_files_of_one_student_become_one_submission(tmp_path) -> None:
    write(tmp_path, {
        "doe_jane_101_9001_layers.py": LAYERS, "doe_jane_101_9001_optim-1.py": "x = 1\n",
        "doe_jane_101_8000_layers.py": "old\n",                 # an older attempt
        "roe_rick_late_102_9002_hw2.zip": "",                    # LATE marker, one zip
        "smith_john_103_9003_layers.py": LAYERS, "smith_john_104_9004_layers.py": LAYERS,
        "ta_extra/layers.py": LAYERS})                          # not Canvas: graded as usual
    found = discover(tmp_path)
    assert found.layout == "canvas"
    subs = by_id(found)
    jane = subs["doe_jane"]
    assert jane.name == "jane doe"
    assert [name for name, _ in jane.members] == ["layers.py", "optim.py"]  # '-1' removed
    assert {p.name for _, p in jane.members} == {"doe_jane_101_9001_layers.py",
                                                 "doe_jane_101_9001_optim-1.py"}
    assert ("doe_jane_101_8000_layers.py", "an older submission of user 101") in found.skipped
    rick = subs["roe_rick"]
    assert rick.members == () and rick.path.name == "roe_rick_late_102_9002_hw2.zip"
    smiths = [s for s in found.submissions if s.name == "john smith"]
    assert len(smiths) == 2 and smiths[0].id != smiths[1].id  # grouped by user id, not name
    assert "ta_extra" in subs


def test_canvas_group_hashes_like_the_same_files_under_their_own_names(tmp_path) -> None:
    write(tmp_path / "canvas", {"doe_jane_101_9001_layers.py": LAYERS,
                                "doe_jane_101_9001_optim.py": "x = 1\n"})
    write(tmp_path / "plain" / "doe_jane", {"layers.py": LAYERS, "optim.py": "x = 1\n"})
    canvas = discover(tmp_path / "canvas").submissions[0]
    plain = discover(tmp_path / "plain").submissions[0]
    assert content_hash(canvas) == content_hash(plain)


def test_github_classroom_repos_are_named_by_username(tmp_path) -> None:
    write(tmp_path, {"hw2-fc-nets-alice/layers.py": LAYERS, "hw2-fc-nets-bob-smith/layers.py": LAYERS,
                     "hw2-fc-nets-carol/.git/HEAD": "ref", "hw2-fc-nets-carol/layers.py": LAYERS})
    found = discover(tmp_path)
    assert found.layout == "classroom"
    assert sorted(by_id(found)) == ["alice", "bob-smith", "carol"]
    assert by_id(found)["carol"].path.name == "hw2-fc-nets-carol"


def test_ordinary_names_are_not_mistaken_for_classroom_repos(tmp_path) -> None:
    write(tmp_path, {"ada/layers.py": LAYERS, "ben/layers.py": LAYERS, "a-1/layers.py": LAYERS,
                     "a-2/layers.py": LAYERS})
    found = discover(tmp_path)
    assert found.layout == "plain" and sorted(by_id(found)) == ["a-1", "a-2", "ada", "ben"]


def test_content_hash_sees_bytes_and_names_but_not_junk(tmp_path) -> None:
    sub = write(tmp_path / "c" / "ada", {"cs231n/layers.py": LAYERS})
    def digest() -> str:
        return content_hash(discover(tmp_path / "c").submissions[0])
    first = digest()
    write(sub, {".DS_Store": "finder", "cs231n/__pycache__/layers.cpython-311.pyc": "x",
                "__MACOSX/._layers.py": "x"})
    assert digest() == first
    (sub / "cs231n" / "layers.py").write_text(LAYERS + "\n")
    changed = digest()
    assert changed != first
    (sub / "cs231n" / "layers.py").rename(sub / "cs231n" / "layers2.py")
    assert digest() not in (first, changed)


def test_names_that_are_not_utf8_are_shown_as_any_writer_accepts(tmp_path) -> None:
    """Note [Names that are not UTF-8]: the folder's bytes ff stay in its path, and its name and
    source (which the gradebook writes) say U+FFFD instead."""
    import os
    folder = Path(os.fsdecode(bytes(tmp_path / "class") + b"/bad\xffname"))
    (folder / "cs231n").mkdir(parents=True)
    (folder / "cs231n" / "layers.py").write_text("x = 1\n")
    (Path(os.fsdecode(bytes(tmp_path / "class") + b"/notes\xfe.txt"))).write_text("not a submission")
    found = discover(tmp_path / "class")
    [submission] = found.submissions
    assert submission.path == folder and submission.id.isascii()
    assert submission.name == "bad\ufffdname"
    assert submission.source.endswith("/bad\ufffdname")
    assert found.skipped == [("notes\ufffd.txt", "not a folder, .zip, .py or .ipynb")]
    for text in (submission.name, submission.source, *found.skipped[0]):
        text.encode("utf-8")

