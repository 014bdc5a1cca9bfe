from __future__ import annotations

import sqlite3
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from evolvekit.errors import InputError, StoreError
from evolvekit.store import DB_FILENAME, SCHEMA_VERSION, Store, default_data_dir


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "data")
    yield s  # type: ignore[misc]
    s.close()


def test_one_wal_file_per_data_directory_with_a_schema_version(tmp_path: Path) -> None:
    s = Store(tmp_path)
    assert s.path == tmp_path / DB_FILENAME and s.schema_version == SCHEMA_VERSION
    s.close()
    raw = sqlite3.connect(tmp_path / DB_FILENAME)
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    raw.execute("PRAGMA user_version = 99")
    raw.commit()
    raw.close()
    with pytest.raises(StoreError, match="newer than this evolvekit"):
        Store(tmp_path)


def test_reopening_keeps_records(tmp_path: Path) -> None:
    with Store(tmp_path) as s:
        s.accept({"a": 1}, subject="x", dedupe_key="k")
    with Store(tmp_path) as s:
        assert s.accept({"a": 1}, dedupe_key="k")[1] is True
        assert [r["event"] for r in s.pending()] == [{"a": 1}]


def test_default_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("EVOLVEKIT_DATA_DIR", str(tmp_path))
    assert default_data_dir() == tmp_path
    monkeypatch.delenv("EVOLVEKIT_DATA_DIR")
    assert default_data_dir() == Path(".evolvekit")


def test_ingest_log(store: Store) -> None:
    first, dup = store.accept({"n": 1, "v": None}, subject="s", dedupe_key="a")
    assert dup is False
    assert store.accept({"n": 1, "different": True}, dedupe_key="a") == (first, True)
    second, _ = store.accept({"n": 2})
    third, _ = store.accept({"n": 2})  # no key: identical events are both kept
    assert len({first, second, third}) == 3
    pending = store.pending(limit=2)
    assert [r["id"] for r in pending] == [first, second]
    assert pending[0]["event"] == {"n": 1, "v": None} and pending[0]["subject"] == "s"
    store.mark(first, "done")
    store.mark(second, "failed", error="boom")
    record = store.get_ingest(second)
    assert record is not None and record["error"] == "boom" and record["attempts"] == 1
    assert [r["id"] for r in store.pending()] == [third]
    assert store.counts() == {"pending": 1, "done": 1, "failed": 1, "outbox": 0, "dead_letters": 0}
    with pytest.raises(StoreError, match="no ingest record"):
        store.mark(999, "done")
    with pytest.raises(InputError, match="not JSON-serialisable"):
        store.accept({"x": object()})


def test_outbox(store: Store) -> None:
    now = time.time()
    a = store.outbox_put({"n": 1}, "key-1", "HTTP 503")
    b = store.outbox_put({"n": 2}, "key-2", "timeout", next_attempt_at=now + 60)
    assert store.outbox_put({"n": 1}, "key-1", "HTTP 502") == a  # same key: updated
    assert store.outbox_size() == 2
    due = store.outbox_due(now=now + 1)
    assert [d["key"] for d in due] == ["key-1"] and due[0]["reason"] == "HTTP 502"
    assert [d["id"] for d in store.outbox_due(now=now + 61)] == [a, b]
    store.outbox_retry_later(a, "still down", now + 120)
    assert store.outbox_due(now=now + 61)[0]["id"] == b
    later = store.outbox_due(now=now + 121)
    assert later[-1]["attempts"] == 1 and later[-1]["reason"] == "still down"
    store.outbox_done(a)
    assert store.outbox_size() == 1


def test_dead_letters(store: Store) -> None:
    record = store.dead_letter(
        "validate", "missing agentId", {"x": 1}, subject="interaction.completed", version="2.0.0"
    )
    assert set(record) == {"id", "at", "stage", "reason", "subject", "version", "event"}
    store.dead_letter("publish", "HTTP 400", {"y": 2})
    assert store.get_dead_letter(record["id"]) == record
    assert [d["stage"] for d in store.dead_letters()] == ["validate", "publish"]
    assert [d["reason"] for d in store.dead_letters(stage="publish")] == ["HTTP 400"]
    assert len(store.dead_letters(limit=1)) == 1
    assert store.delete_dead_letter(record["id"]) is True
    assert store.delete_dead_letter(record["id"]) is False
    assert store.get_dead_letter(record["id"]) is None


def test_purge(store: Store) -> None:
    done, _ = store.accept({"n": 1})
    store.mark(done, "done")
    store.accept({"n": 2})  # pending: never purged
    store.outbox_put({"n": 3}, "k", "r")
    store.dead_letter("validate", "r", {"n": 4})
    assert store.purge(timedelta(days=1)) == {"ingest_log": 0, "outbox": 0, "dead_letters": 0}
    removed = store.purge(timedelta(seconds=-1))
    assert removed == {"ingest_log": 1, "outbox": 1, "dead_letters": 1}
    assert store.counts()["pending"] == 1
    assert store.purge(timedelta(seconds=-1), kinds=["dead_letters"]) == {"dead_letters": 0}
    with pytest.raises(InputError, match="unknown record kind"):
        store.purge(timedelta(0), kinds=["everything"])


def test_thread_safe_writes(store: Store) -> None:
    def work(worker: int) -> None:
        for i in range(50):
            store.accept({"w": worker, "i": i}, dedupe_key=f"{worker}-{i % 25}")
            store.dead_letter("t", "r", {"w": worker})

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.counts()["pending"] == 100 and store.counts()["dead_letters"] == 200


def test_unopenable_location(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="cannot open the store"):
        Store(blocker / "sub")


def test_outbox_entry_moves_to_the_dead_letters_atomically(store: Store) -> None:
    entry = store.outbox_put({"n": 1}, "key-1", "HTTP 503")
    store.outbox_put({"n": 2}, "key-2", "HTTP 503")
    letter_id = store.outbox_to_dead_letter(entry, "publish", "HTTP 422: bad event")
    assert letter_id is not None
    letter = store.get_dead_letter(letter_id)
    assert letter is not None
    assert (letter["stage"], letter["reason"], letter["event"]) == (
        "publish",
        "HTTP 422: bad event",
        {"n": 1},
    )
    assert [d["key"] for d in store.outbox_due()] == ["key-2"]
    assert store.outbox_to_dead_letter(entry, "publish", "again") is None  # already moved
    assert len(store.dead_letters()) == 1


def test_dead_letter_marks_its_ingest_record_in_the_same_transaction(store: Store) -> None:
    record_id, _ = store.accept({"n": 1}, subject="s")
    letter = store.dead_letter("validate", "missing agentId", {"n": 1}, "s", ingest_id=record_id)
    record = store.get_ingest(record_id)
    assert record is not None and record["status"] == "dead_letter"
    assert record["error"] == "validate: missing agentId" and record["attempts"] == 1
    assert store.pending() == [] and store.get_dead_letter(letter["id"]) == letter


def test_a_version_1_store_is_migrated_in_place(tmp_path: Path) -> None:
    """A data directory written by the previous release: its rows survive, and dead
    letters and ingest records gain the idempotency key column (NULL for old rows)."""
    from evolvekit.store import _MIGRATIONS

    path = tmp_path / DB_FILENAME
    db = sqlite3.connect(path, isolation_level=None)
    for statement in _MIGRATIONS[1].split(";"):
        if statement.strip():
            db.execute(statement)
    db.execute("PRAGMA user_version = 1")
    db.execute(
        "INSERT INTO dead_letters (at, stage, reason, event) VALUES ('t', 'publish', 'r', '{}')"
    )
    db.execute(
        "INSERT INTO ingest_log (received_at, event, updated_at, dedupe_key)"
        " VALUES ('t', '{\"n\": 1}', 't', 'k')"
    )
    db.close()
    with Store(tmp_path) as store:
        assert store.schema_version == SCHEMA_VERSION == 2
        assert store.accept({"n": 1}, dedupe_key="k") == (1, True)
        record = store.get_ingest(1)
        assert record is not None and record["idempotency_key"] is None
        [letter] = store.dead_letters()
        assert letter["stage"] == "publish"
        store.dead_letter("publish", "again", {"n": 2}, idempotency_key="K")
