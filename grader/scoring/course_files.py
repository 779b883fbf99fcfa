"""The course's YAML files (manifests, rubrics) read, from their JSON form parsed ahead where it
is current for the very text of the file, else with PyYAML.

Why a module of its own: reading a manifest and a rubric is the only use `grade check` has for
PyYAML, and importing PyYAML costs more than everything it then parses (Note [Course files
parsed ahead]); `assignment.py` reads its files through `read`, and `make bytecode` writes the
parsed forms with `compile_ahead`, as it compiles the grader's byte code and report template.

# Note [Course files parsed ahead]
Importing PyYAML (its reader compiles a regular expression over most of Unicode when it is
imported) took 16 ms of the judge's CPU in every `grade check` on the benchmark VM (min of 9,
the standard library it uses imported already), on the judge's path before the worker is
launched, to parse two files of a few kilobytes in half a millisecond (Note [Fast
YAML]).  `make bytecode` now parses every manifest and rubric ahead
(`compile_ahead`) and stores, for each, its value as JSON together with the very text it was
parsed from, in grader/scoring/compiled/ (not in git, as grader/report/compiled/ is not).  `read`
uses the stored value only when the file's text now is that text, character for character, so
an edited file, a file added since, or a checkout without `make bytecode` (a student's wheel) is
parsed with PyYAML as before; nothing is written at run time.  A value is stored only when JSON
gives it back equal (strings, numbers, booleans, null, lists and maps with string keys: every
manifest and rubric here); one that JSON would change (a number as a key, a date, NaN) is not
stored and always goes through PyYAML, so the value `read` returns is the one PyYAML returns.
The files are the grader's own, as trusted as its .pyc files; only the course's files under the
project's folder (assignments/, rubrics/) are parsed ahead.
"""

from __future__ import annotations

import json
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Where assignments/ and rubrics/ are: through the package's link in a checkout, the package's own
# folders in an installed wheel (Note [Course folder] in assignment.py).  The parsed-ahead forms
# are named by their path under it, the same in both.
_LINK = Path(__file__).resolve().parents[1] / "assignments"
COURSE_ROOT = _LINK.resolve().parent if _LINK.is_dir() else PROJECT_ROOT
COMPILED = Path(__file__).resolve().parent / "compiled"  # Note [Course files parsed ahead]


# Note [Fast YAML]
# Manifests and rubrics are read with libyaml's safe loader where PyYAML was built with it
# (CSafeLoader: the same safe constructor; every manifest and rubric here, and the test
# data's, load to equal values with both), else with the pure-Python one: 0.5 ms instead
# of 4 ms for fc_nets's manifest and rubric, paid by every `grade check` and every batch
# job whose files are not parsed ahead (Note [Course files parsed ahead]).  Only the course's
# own files go through it.
def parse_yaml(text: str):
    """`yaml.safe_load(text)`, with libyaml's loader where PyYAML was built with it (Note [Fast
    YAML]); PyYAML imported only here."""
    import yaml
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def yaml_error() -> type[Exception]:
    """PyYAML's YAMLError, for an `except` clause (which evaluates it only when something was
    raised, so PyYAML is imported only then)."""
    import yaml
    return yaml.YAMLError


def _stored(path: Path) -> Path | None:
    """Where the parsed form of `path` is kept, or None for a file outside the project."""
    try:
        relative = path.resolve().relative_to(COURSE_ROOT)
    except ValueError:
        return None
    return COMPILED / ("--".join(relative.parts) + ".json")


def read(path: Path):
    """The YAML value of the file at `path`: parsed ahead when that is current for its text, else
    parsed now (Note [Course files parsed ahead]).  OSError when the file cannot be read; PyYAML's
    YAMLError when it is not valid YAML."""
    text = Path(path).read_text()
    stored = _stored(Path(path))
    if stored is not None:
        try:
            kept = json.loads(stored.read_text())
        except (OSError, ValueError):
            kept = None
        if isinstance(kept, dict) and kept.get("source") == text and "data" in kept:
            return kept["data"]
    return parse_yaml(text)


def course_files() -> list[Path]:
    """The manifests and rubrics of the project's assignments."""
    return sorted([*COURSE_ROOT.glob("assignments/*/manifest.yml"),
                   *COURSE_ROOT.glob("rubrics/*.yml")])


def compile_ahead(paths: list[Path] | None = None) -> list[Path]:
    """Store the parsed form of each of `paths` (default: every manifest and rubric) that JSON
    keeps equal; the stored forms of files no longer there are removed (`make bytecode`; Note
    [Course files parsed ahead]).  The stored files' paths."""
    COMPILED.mkdir(exist_ok=True)
    written = []
    for path in course_files() if paths is None else paths:
        stored = _stored(path)
        if stored is None:
            continue
        text = path.read_text()
        try:
            data = parse_yaml(text)
            kept = json.dumps({"source": text, "data": data}, allow_nan=False)
        except Exception:  # not valid YAML, or a value JSON cannot hold: read from the YAML
            stored.unlink(missing_ok=True)
            continue
        if json.loads(kept)["data"] != data:  # a number as a key, say: read from the YAML
            stored.unlink(missing_ok=True)
            continue
        stored.write_text(kept)
        written.append(stored)
    if paths is None:
        for old in COMPILED.glob("*.json"):
            if old not in written:
                old.unlink()
    return written
