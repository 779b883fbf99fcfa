"""Grading by observation, the judge's side: the manifest's `observe:` block, and what a
check reads of a notebook run (records of what the student's cells handed the course's helpers).

The worker's side (the stand-ins' recorder and installer) is grader/worker/observe.py; its
Note [Observation] says why the course's helpers are the seam.  This module parses the
manifest (`Config.parse`), stages the stand-ins and the generated module that runs the
notebook in execute mode (`Config.stage`, `Config.generate`, called by grader/submission/stage.py),
and gives checks `Observation`: run the notebook once, then hand out `Record`s whose live
objects stay in the worker (Note [Trust boundary] in grader/worker/client.py).

# Note [Executed only when needed]
A notebook is executed only when a check asks for recorded objects
(`student.observation(...)`), once per submission: the first call sends the judge's data
(`provide`), imports the generated observed module (which installs the stand-ins and runs
every code cell under the per-cell and total limits), and keeps the result on the Student.
Function-style checks keep importing the definitions-mode module, which never runs a
training cell.  When the worker was restarted since (a crash or timeout in another check),
the objects are gone with it, and the next `observation()` runs the notebook once more; a
run that could not finish at all is remembered and every later check fails at once.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from .spec import CheckFailure
from ..worker.client import Ref, StudentError, WorkerFailure

# Note [Generic stand-ins]
# What course notebooks import besides the course's own helpers must work in the worker
# too, or the cell that imports it loses every statement beside the import (the PyTorch
# notebook's setup cell imports torchvision with torch and numpy).  Where the worker has the
# real package it is used; where it has not, an honest minimal stand-in is installed
# (grader/worker/stand_ins/): `torchvision` (CIFAR10 with offline data, the transforms the
# notebooks use), `matplotlib` (draws nothing: the grader grades values, not pictures) and
# `IPython` (display prints, the rest does nothing).
# They are on for every observed notebook; a manifest's `fallbacks:` adds others or
# replaces one (`name: null` turns one off).  google.colab: grader/worker/notebook_cells.py.
GENERIC_FALLBACKS = ("matplotlib", "torchvision", "IPython")

# Note [Graded only from the notebook]
# Some parts of a course are only ever handed in as the course's notebook (the Pruning
# part: the student's work is inline in its cells, and no course module holds it).  A
# `.py` or a folder without that notebook cannot be graded, and grading it anyway gives a
# failure per check, all saying "no notebook".  `observe.required:` (the manifest's
# sentence naming the notebook) makes such a submission ungradable instead: locate raises
# SubmissionError("<required>; none found in the submission"), which the pipeline turns
# into a result with status `error` and that one message.

WORKER_SOURCE = Path(__file__).resolve().parents[1] / "worker" / "observe.py"
GENERIC_STAND_INS = Path(__file__).resolve().parents[1] / "worker" / "stand_ins"
OBSERVE_MODULE = "_grader_observe"
STAND_INS_DIR = "_grader_stand_ins"
KEYS = {"notebook", "packages", "modules", "top_level", "fallbacks", "globals", "budget", "limits",
        "required"}


@dataclass(frozen=True)
class Config:
    """The manifest's `observe:` block, with stand-in files resolved (Note [Observation])."""
    notebook: str                                    # course module whose notebook is executed
    packages: tuple[str, ...] = ()
    modules: dict = field(default_factory=dict)      # name -> Path of the stand-in
    top_level: dict = field(default_factory=dict)
    fallbacks: dict = field(default_factory=dict)
    globals: dict = field(default_factory=dict)      # notebook global -> stand-in file defining it
    budget: dict = field(default_factory=dict)
    cell_s: float = 30.0
    total_s: float = 60.0
    # Note [Graded only from the notebook]: when set, a submission without the observed
    # notebook is ungradable (status error) with this text + "; none found in the submission".
    required: str = ""

    @classmethod
    def parse(cls, data: dict, folder: Path, cell_s: float, total_s: float) -> "Config":
        """ValueError naming what is wrong; `folder` is the assignment's."""
        if not isinstance(data, dict) or "notebook" not in data:
            raise ValueError("observe: must be a mapping with a `notebook:` key")
        unknown = set(data) - KEYS
        if unknown:
            raise ValueError(f"observe: unknown keys {sorted(unknown)}")

        def files(key: str) -> dict:
            found = {}
            given = dict(data.get(key) or {})
            if key == "fallbacks":  # Note [Generic stand-ins]
                given = {**{name: "grader" for name in GENERIC_FALLBACKS}, **given}
            for name, path in given.items():
                if path is None:
                    continue
                source = (GENERIC_STAND_INS / f"{name}.py" if path == "grader"
                          else Path(folder) / str(path))
                if not source.is_file():
                    raise ValueError(f"observe.{key}.{name}: {source} does not exist")
                found[str(name)] = source
            return found

        limits = dict(data.get("limits") or {})
        return cls(str(data["notebook"]), tuple(map(str, data.get("packages") or ())),
                   files("modules"), files("top_level"), files("fallbacks"),
                   files("globals"), dict(data.get("budget") or {}), float(limits.get("cell_s", cell_s)),
                   float(limits.get("total_s", total_s)), str(data.get("required") or ""))

    def stage(self, root: Path) -> dict:
        """Copy the recorder and the stand-ins under `root`; the worker's install() config."""
        shutil.copyfile(WORKER_SOURCE, root / f"{OBSERVE_MODULE}.py")
        folder = root / STAND_INS_DIR
        folder.mkdir(exist_ok=True)
        config = {"packages": list(self.packages), "budget": dict(self.budget)}
        for key in ("modules", "top_level", "fallbacks", "globals"):
            config[key] = {}
            for name, source in getattr(self, key).items():
                # globals: one copy per file, so names from the same file share one module
                stem = source.stem if key == "globals" else name.replace('.', '_')
                relative = f"{STAND_INS_DIR}/{key}_{stem}.py"
                shutil.copyfile(source, root / relative)
                config[key][name] = relative
        return config

    def generate(self, cells, notebook: str, root: Path, package: str, setup: str,
                 module_source, worker_config: dict) -> dict:
        """Write `<package>/_observed_<notebook module>.py` (execute mode); the Run facts."""
        from ..submission import notebook as notebooks
        prog = notebooks.program(cells, "execute")
        if setup:
            prog.units.insert(0, (0, setup))
        name = f"_observed_{self.notebook.replace('.', '_')}"
        (root / package / f"{name}.py").write_text(module_source(
            prog, mode="execute", notebook=notebook, cell_s=self.cell_s, total_s=self.total_s,
            observe=worker_config))
        return {"import": f"{package}.{name}", "timeout": self.total_s + 30.0,
                "notebook": notebook, "headings": notebooks.headings(cells),
                "notes": list(prog.notes)}


@dataclass(frozen=True)
class Record:
    """One thing a stand-in recorded: plain facts, and live objects behind handles."""
    kind: str
    index: int
    cell: int
    facts: dict
    headings: tuple       # the markdown headings above the cell, nearest last
    _ref: Ref

    @property
    def heading(self) -> str:
        """The nearest markdown heading above the cell ('' if none)."""
        return self.headings[-1] if self.headings else ""

    @property
    def in_open_ended_part(self) -> bool:
        """Whether the cell is in a course notebook's open-ended part ("Part V. CIFAR-10
        open-ended challenge"), whose model may be anything, a Sequential ConvNet too: the
        nearest heading that names a part says; a notebook without headings has no such part."""
        part = next((h for h in reversed(self.headings) if h.lower().startswith("part ")), "")
        return "open-ended" in part.lower() or "challenge" in part.lower()

    def ref(self, name: str) -> Ref:
        """The recorded object `name` (e.g. "model"), to pass to a worker call."""
        return self._ref.item("objects").item(name)


def cell_line(notebook: str, cell: dict) -> str:
    """A cell of a notebook run (grader/worker/notebook_cells.py's report) as one line of the
    result's notes: its status and message, or the message alone for a `note`.  Every run of a
    notebook is said in these words (Note [Each cell said once] in grader/scoring/pipeline.py)."""
    status = cell.get("status")
    return (f"{notebook} cell {cell.get('cell')}: " + ("" if status == "note" else f"{status}: ")
            + f"{cell.get('message')}")


class Observation:
    """A notebook run in the worker and what it recorded (Note [Executed only when needed])."""

    def __init__(self, student, run: dict, module: str) -> None:
        self.student, self.run, self.module = student, run, module
        self.starts = student.worker.starts
        self.cells: list[dict] = []
        self.install_notes: list = []

    def execute(self, provide) -> None:
        worker = self.student.worker
        try:
            if not worker.alive:
                worker.start()
            self.starts = worker.starts
            worker.call(OBSERVE_MODULE, "provide", provide() if provide else {},
                        timeout=60)
            worker.import_module(self.run["import"], timeout=self.run["timeout"])
            report = worker.call(self.run["import"], "_grader_notebook_report", timeout=30).value
            self.install_notes = worker.call(OBSERVE_MODULE, "install_notes", timeout=30).value
        except StudentError as error:
            raise CheckFailure(f"{self.run['notebook']} could not be run: {error}"
                               + (f"\n{error.traceback}" if error.traceback else "")) from None
        except WorkerFailure as error:
            raise CheckFailure(f"running {self.run['notebook']} did not finish: {error}") from None
        self.starts = worker.starts
        self.cells = [c for c in report if isinstance(c, dict)] if isinstance(report, list) else []

    @property
    def stale(self) -> bool:
        """The worker restarted since the run: its records are gone."""
        worker = self.student.worker
        return not worker.alive or worker.starts != self.starts

    def notes(self) -> list[str]:
        """For the result: that the notebook ran, and the cells that failed."""
        return [f"{self.run['notebook']}: every code cell run in order in the worker against the "
                f"course's stand-in helpers (grading by observation)"] + [
            cell_line(self.run["notebook"], c) for c in self.cells
            if c.get("status") == "note"] + self.problems()

    def problems(self) -> list[str]:
        """The cells that raised or ran out of time, one line each."""
        return [cell_line(self.run["notebook"], c)
                for c in self.cells if c.get("status") != "note"] + [
            f"{self.run['notebook']}: {note}" for note in self.install_notes if isinstance(note, str)]

    def headings(self, cell: int) -> tuple:
        found = self.run["headings"].get(cell, self.run["headings"].get(str(cell), []))
        return tuple(map(str, found))

    def recorded(self, kind: str) -> list[Record]:
        worker = self.student.worker
        try:
            result = worker.call(OBSERVE_MODULE, "summary", timeout=30)
            listing = worker.call(OBSERVE_MODULE, "recorded", kind, timeout=30)
        except WorkerFailure as error:
            raise CheckFailure(f"reading what {self.run['notebook']} recorded failed: {error}") from None
        facts = [r for r in result.value if isinstance(r, dict) and r.get("kind") == kind]
        return [Record(kind, int(r["index"]), int(r["cell"]), dict(r.get("facts") or {}),
                       self.headings(int(r["cell"])), listing.ref.item(position))
                for position, r in enumerate(facts)]

    def require(self, kind: str, what: str) -> list[Record]:
        """The records of `kind`, or a CheckFailure saying none were made and which cells failed."""
        records = self.recorded(kind)
        if records:
            return records
        raise CheckFailure(self.missing(what))

    def missing(self, what: str) -> str:
        problems = self.problems()
        return (f"{self.run['notebook']}: {what} was not found when the notebook ran"
                + ("; these cells failed:\n  " + "\n  ".join(problems) if problems else ""))
