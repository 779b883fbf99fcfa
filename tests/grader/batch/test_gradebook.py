"""The gradebook's schema, its writes, and its reconciliation with the JSON files
(grader/batch/gradebook.py).  Pure SQLite and JSON, no grading: runs in well under a second.
"""

from __future__ import annotations

import sqlite3

import pytest

from grader.batch.gradebook import Gradebook, load_result
from grader.scoring.result import CheckResult, SubmissionResult


def result(name: str, score: float, run: int = 1, sha: str = "abc", status: str = "graded",
           failure: str = "") -> SubmissionResult:
    checks = (CheckResult("relu_forward/out", "relu_forward", "t", "passed" if score else "failed",
                          min(score, 1.0), 1.0, cause=None if score else "wrong"),
              CheckResult("sgd/next_w", "sgd", "t", "passed" if score > 1 else "failed",
                          max(score - 1, 0.0), 1.0, cause=None if score > 1 else "not_implemented"))
    return SubmissionResult("tiny", name, status, score, 2.0, 0.5, {
        "sandbox": "bwrap", "batch": {"run": run, "sha256": sha, "settings": "s1",
                                      "job_failure": failure}}, checks)


@pytest.fixture
def book(tmp_path):
    gradebook = Gradebook(tmp_path / "gradebook.sqlite")
    yield gradebook
    gradebook.close()


def columns(book: Gradebook, table: str) -> list[str]:
    return [row[1] for row in book.db.execute(f"PRAGMA table_info({table})")]


def test_schema_has_the_four_tables_in_wal_mode(book) -> None:
    assert book.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert columns(book, "submissions") == ["id", "source", "content_hash", "name", "email"]
    assert {"id", "started", "finished", "assignment", "options"} <= set(columns(book, "runs"))
    assert {"run_id", "submission_id", "content_hash", "score", "max_score", "status",
            "duration_s", "json_path"} <= set(columns(book, "results"))
    assert {"submission_id", "check_id", "function", "status", "points",
            "max_points", "cause"} <= set(columns(book, "check_results"))


def test_a_gradebook_from_a_newer_grader_is_refused(tmp_path) -> None:
    db = sqlite3.connect(tmp_path / "g.sqlite")
    db.execute("PRAGMA user_version=7")
    db.close()
    with pytest.raises(ValueError, match="schema 7"):
        Gradebook(tmp_path / "g.sqlite")


def test_record_replaces_a_submissions_rows_and_keeps_the_json_values(book, tmp_path) -> None:
    book.record(result("ada", 1.0, run=1, sha="old"), tmp_path / "ada.json", "ada")
    book.record(result("ada", 2.0, run=2, sha="new"), tmp_path / "ada.json", "ada")
    rows = book.rows()
    assert list(rows) == ["ada"]
    assert (rows["ada"].run_id, rows["ada"].content_hash, rows["ada"].score) == (2, "new", 2.0)
    checks = book.db.execute("SELECT check_id, status, points FROM check_results "
                             "WHERE submission_id='ada' ORDER BY check_id").fetchall()
    assert checks == [("relu_forward/out", "passed", 1.0), ("sgd/next_w", "passed", 1.0)]
    book.record(result("ben", 1.0), tmp_path / "ben.json", "ben")
    assert book.db.execute("SELECT check_id, cause FROM check_results WHERE submission_id='ben' "
                           "ORDER BY check_id").fetchall() == [("relu_forward/out", None),
                                                               ("sgd/next_w", "not_implemented")]


def test_a_schema_1_gradebook_gains_causes_and_imports_every_json_again(tmp_path) -> None:
    db = sqlite3.connect(tmp_path / "g.sqlite")
    db.executescript("""
        CREATE TABLE results (submission_id TEXT PRIMARY KEY, run_id INTEGER,
            content_hash TEXT NOT NULL, settings TEXT NOT NULL, score REAL NOT NULL,
            max_score REAL NOT NULL, status TEXT NOT NULL, duration_s REAL NOT NULL,
            json_path TEXT NOT NULL, retry INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE check_results (submission_id TEXT NOT NULL, check_id TEXT NOT NULL,
            function TEXT NOT NULL, status TEXT NOT NULL, points REAL NOT NULL,
            max_points REAL NOT NULL, PRIMARY KEY (submission_id, check_id));
        INSERT INTO results VALUES ('ada', 1, 'abc', 's1', 1.0, 2.0, 'graded', 0.5, 'x', 0);
        INSERT INTO check_results VALUES ('ada', 'sgd/next_w', 'sgd', 'failed', 0, 1);
        PRAGMA user_version=1;""")
    db.close()
    result("ada", 1.0).write(tmp_path / "results" / "ada.json")
    book = Gradebook(tmp_path / "g.sqlite")
    try:
        assert book.db.execute("PRAGMA user_version").fetchone()[0] == 2
        assert book.reconcile(tmp_path / "results").imported == ["ada"]
        assert book.db.execute("SELECT cause FROM check_results WHERE check_id='sgd/next_w'"
                               ).fetchall() == [("not_implemented",)]
    finally:
        book.close()


def test_runs_are_numbered_and_a_killed_run_stays_unfinished(book) -> None:
    first = book.start_run("tiny", {"workers": 2})
    second = book.start_run("tiny", {"workers": 1})
    book.finish_run(second, "finished", graded=3, failed=1, unchanged=0)
    rows = book.db.execute("SELECT id, finished IS NULL, status, graded FROM runs").fetchall()
    assert rows == [(first, 1, "running", 0), (second, 0, "finished", 3)]


def test_submissions_are_upserted(book) -> None:
    book.set_submissions([("ada", "/c/ada", "h1", "Ada", "")])
    book.set_submissions([("ada", "/c/ada", "h2", "Ada L.", "ada@x"), ("ben", "/c/ben", "h3", "ben", "")])
    assert book.names() == {"ada": "Ada L.", "ben": "ben"}


def test_reconcile_makes_the_rows_say_what_the_json_files_say(book, tmp_path) -> None:
    results = tmp_path / "results"
    results.mkdir()
    # ada: JSON and row agree; ben: JSON without a row (killed between the two writes);
    # cy: a row without JSON; dee: a row unlike its JSON; eve: an unreadable JSON;
    # a leftover temporary file from a write that was killed.
    for name, res in (("ada", result("ada", 2.0)), ("ben", result("ben", 1.0, run=3, sha="b")),
                      ("dee", result("dee", 2.0, run=4))):
        (results / f"{name}.json").write_text(res.to_json())
    book.record(result("ada", 2.0), results / "ada.json", "ada")
    book.record(result("cy", 2.0), results / "cy.json", "cy")
    book.record(result("dee", 0.0, run=1), results / "dee.json", "dee")
    (results / "eve.json").write_text('{"schema": "grader.result/1", "assig')
    (results / "fay.json.tmp").write_text("{")
    done = book.reconcile(results)
    assert done.imported == ["ben", "dee"]
    assert done.dropped == ["cy"]
    assert [s.split(" ")[0] for s in done.set_aside] == ["eve.json"]
    assert (results / "eve.json.bad").exists() and not (results / "eve.json").exists()
    assert not (results / "fay.json.tmp").exists()
    rows = book.rows()
    assert sorted(rows) == ["ada", "ben", "dee"]
    assert (rows["ben"].run_id, rows["ben"].content_hash, rows["ben"].score) == (3, "b", 1.0)
    assert (rows["dee"].run_id, rows["dee"].score) == (4, 2.0)
    for name, row in rows.items():  # every row now equals its JSON, check rows included
        assert row.score == load_result(results / f"{name}.json").score
    assert book.db.execute("SELECT COUNT(*) FROM check_results").fetchone()[0] == 6
    assert book.reconcile(results).imported == []  # a second pass has nothing to do


def test_a_crashed_jobs_result_is_marked_for_retry(book, tmp_path) -> None:
    book.record(result("ada", 0.0, status="error", failure="signal SIGKILL"), tmp_path / "a.json", "ada")
    assert book.rows()["ada"].retry is True
