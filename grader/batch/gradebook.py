"""The batch's gradebook: an SQLite mirror of the result JSON files, for queries and resumes.

`grade batch` writes each result's JSON first and then its gradebook rows
(Note [Nothing lost] in grader/batch/run.py); this module owns the schema, writes one
result per transaction, and reconciles the database with the JSON files,
which are the source of truth.

# Note [Gradebook schema]
- `submissions`: what discovery last found (id, source, content hash, name, email).
- `runs`: one row per `grade batch` invocation; `finished` stays NULL for a run
  that was killed, `status` says finished or interrupted.
- `results`: the current result of each submission, one row per id (as there
  is one `results/<id>.json`): the run that produced it, the content hash and
  settings it was graded with, score, status, duration and the JSON's path.
  `retry` is 1 when the row is not a verdict on the submission (its grading
  process crashed), so the next run grades it again.
- `check_results`: one row per check of each current result, with its `cause`
  (NULL when it passed; Note [Causes] in grader/scoring/result.py).  Schema 2 added the
  column: a schema-1 gradebook gets it and forgets its result rows, so that the
  reconciliation that starts every batch imports each JSON again, causes included.
A regrade replaces a submission's rows; `runs` keeps the history of when.
Rows are written with the JSON's own values, never computed anew.

# Note [Batch facts in the result]
The batch adds `environment.batch = {run, sha256, settings, job_failure}` to
each result before writing it, so that the JSON alone says what was graded
and how: a JSON whose gradebook row was lost (the run was killed between the
two writes) is imported exactly, with its run and content hash.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ..scoring.result import SubmissionResult, read_result

SCHEMA_VERSION = 2
_SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    id TEXT PRIMARY KEY, source TEXT NOT NULL, content_hash TEXT NOT NULL,
    name TEXT NOT NULL, email TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, started TEXT NOT NULL, finished TEXT,
    assignment TEXT NOT NULL, options TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'running',
    graded INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0,
    unchanged INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS results (
    submission_id TEXT PRIMARY KEY, run_id INTEGER, content_hash TEXT NOT NULL,
    settings TEXT NOT NULL, score REAL NOT NULL, max_score REAL NOT NULL, status TEXT NOT NULL,
    duration_s REAL NOT NULL, json_path TEXT NOT NULL, retry INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS check_results (
    submission_id TEXT NOT NULL, check_id TEXT NOT NULL, function TEXT NOT NULL,
    status TEXT NOT NULL, points REAL NOT NULL, max_points REAL NOT NULL, cause TEXT,
    PRIMARY KEY (submission_id, check_id));
"""


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def batch_facts(result: SubmissionResult) -> dict:
    """environment.batch of a result (Note [Batch facts in the result]); {} when absent."""
    facts = result.environment.get("batch")
    return facts if isinstance(facts, dict) else {}


@dataclass(frozen=True)
class Row:
    """A `results` row, as compared with its JSON."""
    run_id: int | None
    content_hash: str
    settings: str
    score: float
    max_score: float
    status: str
    retry: bool


def row_of(result: SubmissionResult) -> Row:
    facts = batch_facts(result)
    return Row(facts.get("run"), str(facts.get("sha256", "")), str(facts.get("settings", "")),
               float(result.score), float(result.max_score), result.status,
               bool(facts.get("job_failure")))


@dataclass
class Reconciled:
    imported: list[str] = field(default_factory=list)   # JSON without (or unlike) its row
    dropped: list[str] = field(default_factory=list)    # row without JSON: to be regraded
    set_aside: list[str] = field(default_factory=list)  # unreadable JSON, renamed *.bad


class Gradebook:
    """The SQLite file; every write is one transaction (Note [Gradebook schema])."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")  # WAL: durable across a killed process
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version not in (0, 1, SCHEMA_VERSION):
            raise ValueError(f"{self.path}: gradebook schema {version}, this grader knows "
                             f"{SCHEMA_VERSION}")
        with self._transaction():
            if version == 1:  # Note [Gradebook schema]: the cause column, then import again
                self.db.execute("ALTER TABLE check_results ADD COLUMN cause TEXT")
                self.db.execute("DELETE FROM check_results")
                self.db.execute("DELETE FROM results")
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self.db.execute(statement)
            self.db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def _transaction(self):
        return _Transaction(self.db)

    def close(self) -> None:
        self.db.close()

    # -- runs -----------------------------------------------------------------------------------
    def start_run(self, assignment: str, options: dict) -> int:
        with self._transaction():
            cursor = self.db.execute(
                "INSERT INTO runs (started, assignment, options) VALUES (?, ?, ?)",
                (now(), assignment, json.dumps(options, sort_keys=True)))
        return int(cursor.lastrowid)

    def finish_run(self, run_id: int, status: str, graded: int, failed: int, unchanged: int) -> None:
        with self._transaction():
            self.db.execute("UPDATE runs SET finished=?, status=?, graded=?, failed=?, unchanged=? "
                            "WHERE id=?", (now(), status, graded, failed, unchanged, run_id))

    # -- submissions ----------------------------------------------------------------------------
    def set_submissions(self, rows: list[tuple[str, str, str, str, str]]) -> None:
        """(id, source, content hash, name, email) of what discovery found now."""
        with self._transaction():
            self.db.executemany(
                "INSERT INTO submissions (id, source, content_hash, name, email) VALUES (?,?,?,?,?) "
                "ON CONFLICT(id) DO UPDATE SET source=excluded.source, "
                "content_hash=excluded.content_hash, name=excluded.name, email=excluded.email", rows)

    def names(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT id, name FROM submissions"))

    # -- results --------------------------------------------------------------------------------
    def record(self, result: SubmissionResult, json_path: Path, submission_id: str) -> None:
        """Replace `submission_id`'s rows with `result`'s, in one transaction."""
        row = row_of(result)
        with self._transaction():
            self.db.execute(
                "INSERT OR REPLACE INTO results (submission_id, run_id, content_hash, settings, "
                "score, max_score, status, duration_s, json_path, retry) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (submission_id, row.run_id, row.content_hash, row.settings, row.score,
                 row.max_score, row.status, float(result.duration_s), str(json_path), int(row.retry)))
            self.db.execute("DELETE FROM check_results WHERE submission_id=?", (submission_id,))
            self.db.executemany(
                "INSERT INTO check_results (submission_id, check_id, function, status, points, "
                "max_points, cause) VALUES (?,?,?,?,?,?,?)",
                [(submission_id, c.id, c.function, c.status, float(c.points), float(c.max_points),
                  c.cause) for c in result.checks])

    def forget(self, submission_id: str) -> None:
        with self._transaction():
            self.db.execute("DELETE FROM check_results WHERE submission_id=?", (submission_id,))
            self.db.execute("DELETE FROM results WHERE submission_id=?", (submission_id,))

    def rows(self) -> dict[str, Row]:
        return {r[0]: Row(r[1], r[2], r[3], r[4], r[5], r[6], bool(r[7])) for r in self.db.execute(
            "SELECT submission_id, run_id, content_hash, settings, score, max_score, status, retry "
            "FROM results")}

    # -- reconcile ------------------------------------------------------------------------------
    def reconcile(self, results_dir: Path) -> Reconciled:
        """Make the rows say what the JSON files in `results_dir` say (they are the truth)."""
        done = Reconciled()
        results_dir.mkdir(parents=True, exist_ok=True)
        for leftover in results_dir.glob("*.tmp"):   # a write the kill interrupted: never renamed
            leftover.unlink(missing_ok=True)
        rows = self.rows()
        seen = set()
        for path in sorted(results_dir.glob("*.json")):
            try:
                result = load_result(path)
            except (OSError, ValueError) as exc:  # Note [A damaged result file] in grader/scoring/result.py
                path.replace(path.with_name(path.name + ".bad"))
                done.set_aside.append(f"{path.name} ({exc})")
                continue
            seen.add(path.stem)
            if rows.get(path.stem) != row_of(result):
                self.record(result, path, path.stem)
                done.imported.append(path.stem)
        for submission_id in sorted(set(rows) - seen):
            self.forget(submission_id)
            done.dropped.append(submission_id)
        return done


def load_result(path: Path) -> SubmissionResult:
    """The result a JSON file holds; OSError or ValueError when it cannot be read (Note [A
    damaged result file] in grader/scoring/result.py)."""
    return read_result(path)


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any exception."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, kind, value, traceback) -> None:
        self.db.execute("ROLLBACK" if kind else "COMMIT")
