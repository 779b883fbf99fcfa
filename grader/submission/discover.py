"""Find the submissions in a folder an instructor downloaded, one id per student.

`grade batch` grades whatever this module finds: each entry of the folder (a
folder, `.zip`, `.py` or `.ipynb`) is one submission, except in the layouts
that course platforms export, which are recognised so that ids and names are
the students' and not the platform's:

- Gradescope: one `submission_<n>/` folder per submission and a
  `submission_metadata.yml` naming who submitted it;
- Canvas: a flat folder of `<name>_<userid>_<submissionid>_<original name>`
  files, several of which can belong to one student;
- GitHub Classroom: one `<assignment>-<username>` repository folder per student.

The content hash lets a batch recognise a submission it has already graded.

# Note [Submission ids]
An id names the result's files (`results/<id>.json`), so it is sanitised to
letters, digits, `.`, `_` and `-` (accents folded to ASCII).  Two entries
that sanitise to the same id (compared case-insensitively, for file systems
that fold case) are told apart by a suffix made from each entry's own key
(its original name, or the Canvas user id): `-<6 hex digits of sha256>`.  An
entry whose name needed no sanitising keeps the bare id.  The suffix depends
on nothing but the entry itself, so adding or removing another student never
renames anyone's results.

# Note [Content hash]
sha256 over the submission's files, sorted by the name the grader will see
(relative path, or the Canvas original name): for each, the name, a NUL, the
size and the bytes.  Files that staging skips anyway (Note [Staging] in
stage.py: hidden files, `__MACOSX`, `__pycache__`, checkpoints, `.git`,
`.DS_Store`) and symbolic links are left out, so a Finder's `.DS_Store` or a
re-zip's metadata does not make a submission look changed.  A zip is hashed
as the file it is.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import yaml

SUBMISSION_SUFFIXES = (".zip", ".py", ".ipynb")
IGNORED_NAMES = {"__MACOSX", "__pycache__", ".ipynb_checkpoints", ".git", ".DS_Store",
                 "Thumbs.db", "desktop.ini"}
GRADESCOPE_METADATA = "submission_metadata.yml"

# Canvas bulk download: name (letters first, may hold '_'), an optional LATE marker, user id,
# submission id, then the file's original name (Note [Canvas names]).
CANVAS_NAME = re.compile(r"^(?P<name>[^\W\d_][\w-]*?)(?:_late)?_(?P<user>\d+)_(?P<submission>\d+)_"
                     r"(?P<original>.+)$", re.IGNORECASE)
_CANVAS_COPY = re.compile(r"^(?P<stem>.+?)-\d+(?P<suffix>\.[^.]+)$")


@dataclass(frozen=True)
class Submission:
    """One student's work: a folder, zip, .py or .ipynb, or a group of Canvas files."""
    id: str
    name: str                                     # the student's name when the layout gives it
    path: Path                                    # the entry; a Canvas group's first file
    members: tuple[tuple[str, Path], ...] = ()    # Canvas group: (original name, file)
    email: str = ""

    @property
    def source(self) -> str:
        """Where it came from, for the gradebook."""
        if self.members:
            return shown("; ".join(str(p) for _, p in self.members))
        return shown(str(self.path))

    def files(self) -> list[tuple[str, Path]]:
        """(name the grader sees, file) for every file that counts, sorted; Note [Content hash]."""
        if self.members:
            return sorted(self.members)
        if self.path.is_file():
            return [(self.path.name, self.path)]
        found = []
        for path in self.path.rglob("*"):
            relative = path.relative_to(self.path)
            if ignored(relative.parts) or path.is_symlink() or not path.is_file():
                continue
            found.append((relative.as_posix(), path))
        return sorted(found)


@dataclass
class Discovery:
    layout: str                                   # plain, gradescope, canvas, classroom
    submissions: list[Submission]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (entry, why)


def ignored(parts) -> bool:
    return any(part in IGNORED_NAMES or part.startswith(".") for part in parts)


def content_hash(submission: Submission) -> str:
    """sha256 of the submission's file names and bytes; Note [Content hash]."""
    digest = hashlib.sha256()
    for name, path in submission.files():
        digest.update(name.encode("utf-8", "surrogateescape") + b"\0")
        digest.update(str(path.stat().st_size).encode() + b"\0")
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


# Note [Names that are not UTF-8]
# A folder or file name is bytes; one that is not UTF-8 (an LMS download unpacked by a tool
# that kept another encoding's bytes, or a name made to break the grader) comes to Python
# with surrogates in its str, which no UTF-8 writer accepts: a class holding one such folder
# ended `grade batch` at its start, "grade: 'utf-8' codec can't encode character '\\udcff'",
# nothing graded (the gradebook writes each submission's source).  Ids were already made of
# ASCII (`sanitise`); the name, the source and the skipped entries' names are now shown with
# those bytes replaced (U+FFFD), for every writer; the files are still opened by their paths.
def shown(text: str) -> str:
    """`text`, a file name, as any UTF-8 writer accepts it (Note [Names that are not UTF-8])."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def sanitise(text: str) -> str:
    """A safe file name made from `text`; Note [Submission ids]."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", folded).strip("._-")
    return safe[:80] or "submission"


def assign_ids(wanted: list[tuple[str, str]]) -> list[str]:
    """Unique ids for (wanted id, key) pairs, in order; Note [Submission ids]."""
    wanted = [(sanitise(w), key) for w, key in wanted]
    groups: dict[str, list[int]] = {}
    for index, (want, _) in enumerate(wanted):
        groups.setdefault(want.casefold(), []).append(index)
    ids = [want for want, _ in wanted]
    for members in groups.values():
        if len(members) < 2:
            continue
        keeper = next((i for i in members if wanted[i][1] == wanted[i][0]), None)
        for i in members:
            if i != keeper:
                want, key = wanted[i]
                ids[i] = f"{want}-{hashlib.sha256(key.encode('utf-8', 'surrogateescape')).hexdigest()[:6]}"
    if len({i.casefold() for i in ids}) != len(ids):  # a suffixed id met a real one: never silent
        raise ValueError(f"cannot make unique ids for {sorted(ids)}")
    return ids


def discover(folder: Path, exclude: tuple[Path, ...] = ()) -> Discovery:
    """The submissions in `folder`, in id order, and the entries that are not one."""
    folder = Path(folder)
    excluded = {p.resolve() for p in exclude}
    entries = [p for p in sorted(folder.iterdir()) if p.resolve() not in excluded]
    skipped = [(p.name, "hidden or system file") for p in entries if ignored([p.name])]
    entries = [p for p in entries if not ignored([p.name])]
    # A Gradescope export unzipped into a folder of its own: look inside it.
    if (len(entries) == 1 and entries[0].is_dir()
            and (entries[0] / GRADESCOPE_METADATA).is_file()):
        return discover(entries[0], exclude)
    if (folder / GRADESCOPE_METADATA).is_file():
        return _gradescope(folder, entries, skipped)
    canvas = [p for p in entries if p.is_file() and CANVAS_NAME.match(p.name)]
    if canvas:
        return _canvas(entries, canvas, skipped)
    return _plain(entries, skipped)


def _is_submission(path: Path) -> bool:
    return path.is_dir() or (path.is_file() and path.suffix.lower() in SUBMISSION_SUFFIXES)


def _entry_name(path: Path) -> str:
    return path.name if path.is_dir() else path.stem


def _finish(layout: str, found: list[tuple[str, str, dict]], skipped) -> Discovery:
    """found: (wanted id, key, Submission fields but id) -> a Discovery sorted by id."""
    ids = assign_ids([(want, key) for want, key, _ in found])
    submissions = sorted((Submission(id=i, **{**fields, "name": shown(fields["name"])})
                          for i, (_, _, fields) in zip(ids, found)),
                         key=lambda s: s.id.casefold())
    return Discovery(layout, submissions, [(shown(n), why) for n, why in skipped])  # Note [Names that are not UTF-8]


def _plain(entries: list[Path], skipped: list) -> Discovery:
    layout, rows = _plain_rows(entries, skipped)
    return _finish(layout, rows, skipped)


def _plain_rows(entries: list[Path], skipped: list) -> tuple[str, list]:
    """Rows for _finish: one per folder, .zip, .py or .ipynb; Note [Classroom]."""
    found = []
    for path in entries:
        if _is_submission(path):
            found.append(path)
        else:
            skipped.append((path.name, "not a folder, .zip, .py or .ipynb"))
    folders = [p for p in found if p.is_dir()]
    prefix = _classroom_prefix(folders) if len(folders) == len(found) else ""
    rows = []
    for path in found:
        name = _entry_name(path)[len(prefix):]
        rows.append((name, path.name[len(prefix):], {"name": name, "path": path}))
    return ("classroom" if prefix else "plain"), rows


def _classroom_prefix(folders: list[Path]) -> str:
    """`<assignment>-` when every folder is `<assignment>-<username>` (Note [Classroom])."""
    # Note [Classroom]
    # GitHub Classroom names each student's repository `<assignment>-<username>`; both parts
    # may hold '-', so the assignment is the longest common prefix ending in '-'.  It takes
    # two folders or more, a prefix of two characters or more and a non-empty rest for
    # every one, so that ordinary names (ada, ben) stay as they are.
    if len(folders) < 2:
        return ""
    names = [p.name for p in folders]
    common = names[0]
    for name in names[1:]:
        while not name.startswith(common):
            common = common[:-1]
    prefix = common[: common.rfind("-") + 1]
    if len(prefix) < 3 or any(len(n) == len(prefix) for n in names):
        return ""
    return prefix


def _gradescope(folder: Path, entries: list[Path], skipped: list) -> Discovery:
    # Note [Gradescope metadata]
    # Gradescope writes Ruby symbols as keys (`:submitters:`, `:name:`), which YAML reads as
    # strings starting with ':'; both spellings are accepted.  A group submission lists
    # several submitters: the name joins them with ' & '.
    try:
        metadata = yaml.safe_load((folder / GRADESCOPE_METADATA).read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        skipped.append((GRADESCOPE_METADATA, f"unreadable, names not used ({exc})"))
        metadata = {}
    if not isinstance(metadata, dict):
        metadata = {}
    rows = []
    for path in entries:
        if path.name == GRADESCOPE_METADATA:
            continue
        if not _is_submission(path):
            skipped.append((path.name, "not a folder, .zip, .py or .ipynb"))
            continue
        info = _plain_keys(metadata.get(path.name) or {})
        submitters = [_plain_keys(s) for s in info.get("submitters") or [] if isinstance(s, dict)]
        names = [str(s["name"]) for s in submitters if s.get("name")]
        emails = [str(s["email"]) for s in submitters if s.get("email")]
        name = " & ".join(names) or _entry_name(path)
        rows.append((name, path.name,
                     {"name": name, "path": path, "email": ", ".join(emails)}))
    return _finish("gradescope", rows, skipped)


def _plain_keys(data) -> dict:
    return {str(k).strip(":"): v for k, v in data.items()} if isinstance(data, dict) else {}


def _canvas(entries: list[Path], canvas: list[Path], skipped: list) -> Discovery:
    # Note [Canvas names]
    # Canvas prefixes every file with the student's name, user id and submission id; a
    # student's several files become one submission, grouped by user id.  When files of
    # two submission ids are present, the latest (largest id) wins.  Canvas renames a file
    # submitted again to `name-1.py`: the suffix is removed so that layers-1.py is layers.py.
    by_user: dict[str, list[tuple[int, str, str, Path]]] = {}
    for path in canvas:
        match = CANVAS_NAME.match(path.name)
        by_user.setdefault(match["user"], []).append(
            (int(match["submission"]), match["name"], match["original"], path))
    rows = []
    for user, files in by_user.items():
        latest = max(f[0] for f in files)
        kept = [f for f in files if f[0] == latest]
        for dropped in sorted(set(files) - set(kept)):
            skipped.append((dropped[3].name, f"an older submission of user {user}"))
        originals = [original for _, _, original, _ in kept]
        members = tuple(sorted(
            (_canvas_original(original, originals), path) for _, _, original, path in kept))
        slug = kept[0][1]
        parts = slug.split("_")
        name = f"{parts[1]} {parts[0]}" if len(parts) == 2 else " ".join(parts)
        single = members[0][1] if len(members) == 1 and members[0][0].endswith((".zip", ".ipynb")) else None
        rows.append((slug, f"canvas user {user}",
                     {"name": name, "path": single or members[0][1],
                      "members": () if single else members}))
    rows += _plain_rows([p for p in entries if p not in canvas], skipped)[1]
    return _finish("canvas", rows, skipped)


def _canvas_original(name: str, siblings: list[str]) -> str:
    """`layers-1.py` -> `layers.py`, unless the student's files hold a `layers.py` too."""
    match = _CANVAS_COPY.match(name)
    if match is None or match["stem"] + match["suffix"] in siblings:
        return name
    return match["stem"] + match["suffix"]
