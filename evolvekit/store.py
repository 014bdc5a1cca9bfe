"""Durable records shared by the pipeline stages, in one SQLite file per data directory.

Three kinds of record (DESIGN.md, "Records shared by every stage"):

- the **ingest log**: every accepted event, with a unique ``dedupe_key`` so a re-delivered
  event is recognised, and a processing ``status`` (``pending`` until a stage marks it);
- the **publish outbox**: events that could not be published yet, keyed by their
  idempotency key (putting the same key twice updates the entry, it never duplicates it),
  with the time of their next attempt;
- the **dead letters**: ``{"id", "at", "stage", "reason", "subject", "version", "event"}``.

The file runs in WAL mode so readers do not block the writer. One connection is shared by
all threads behind a lock: SQLite serialises writes anyway, and this keeps every method
atomic. The schema is versioned with ``PRAGMA user_version`` and migrated on open.
Events are stored as JSON text (orjson); times as ISO 8601 UTC strings, except the
outbox's ``next_attempt_at`` which is a POSIX timestamp for cheap comparisons.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from evolvekit.errors import InputError, StoreError

DB_FILENAME = "evolvekit.sqlite3"
ENV_DATA_DIR = "EVOLVEKIT_DATA_DIR"
SCHEMA_VERSION = 2
RECORD_KINDS = ("ingest_log", "outbox", "dead_letters")

_MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE ingest_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        received_at TEXT NOT NULL,
        subject TEXT,
        dedupe_key TEXT UNIQUE,
        event TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX ingest_log_status ON ingest_log (status, id);
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        created_at TEXT NOT NULL,
        idempotency_key TEXT NOT NULL UNIQUE,
        event TEXT NOT NULL,
        reason TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL NOT NULL
    );
    CREATE INDEX outbox_due ON outbox (next_attempt_at, id);
    CREATE TABLE dead_letters (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        stage TEXT NOT NULL,
        reason TEXT NOT NULL,
        subject TEXT,
        version TEXT,
        event TEXT NOT NULL
    );
    CREATE INDEX dead_letters_stage ON dead_letters (stage, id);
    """,
    # The CXone idempotency key travels with a dead letter and back into the log on replay,
    # so an event CXone may already hold is re-sent under the key it was first sent with.
    2: """
    ALTER TABLE ingest_log ADD COLUMN idempotency_key TEXT;
    CREATE INDEX ingest_log_key ON ingest_log (idempotency_key)
        WHERE idempotency_key IS NOT NULL;
    ALTER TABLE dead_letters ADD COLUMN idempotency_key TEXT;
    """,
}
IngestItem = tuple[Any, str | None, str | None]  # (event, subject, dedupe_key)


def default_data_dir() -> Path:
    """``$EVOLVEKIT_DATA_DIR`` if set, else ``./.evolvekit``."""
    return Path(os.environ.get(ENV_DATA_DIR) or ".evolvekit")


def now_iso() -> str:
    """The current UTC time as the store writes it (ISO 8601, milliseconds, ``Z``)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def encode_event(event: Any) -> str:
    """An event as the JSON text stored in a row (InputError when it is not JSON)."""
    try:
        return orjson.dumps(event).decode()
    except TypeError as exc:
        raise InputError(f"event is not JSON-serialisable: {exc}") from None


class Store:
    """The SQLite store of one data directory (or an explicit ``.sqlite3`` file path)."""

    def __init__(self, location: str | Path) -> None:
        path = Path(location)
        if path.suffix not in {".sqlite3", ".sqlite", ".db"}:
            path = path / DB_FILENAME
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                path, check_same_thread=False, isolation_level=None, timeout=30
            )
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=30000")
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the store: {exc}", file=str(path)) from None
        self._lock = threading.RLock()
        self._migrate()

    # --- plumbing -------------------------------------------------------------------------
    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                raise StoreError(f"store operation failed: {exc}", file=str(self.path)) from None

    def _query(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            try:
                return self._db.execute(sql, tuple(params)).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"store query failed: {exc}", file=str(self.path)) from None

    def _migrate(self) -> None:
        with self._tx() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"store schema version {version} is newer than this evolvekit "
                    f"({SCHEMA_VERSION}); upgrade evolvekit",
                    file=str(self.path),
                )
            for target in range(version + 1, SCHEMA_VERSION + 1):
                # Statement by statement: executescript() would COMMIT mid-transaction.
                for statement in _MIGRATIONS[target].split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {target}")

    @property
    def schema_version(self) -> int:
        return int(self._query("PRAGMA user_version")[0][0])

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- ingest log -----------------------------------------------------------------------
    def accept(
        self, event: Any, subject: str | None = None, dedupe_key: str | None = None
    ) -> tuple[int, bool]:
        """Record an incoming event; ``(id, duplicate)``, where a known ``dedupe_key``
        returns the existing record's id and ``True`` without storing anything."""
        return self.accept_many([(event, subject, dedupe_key)])[0]

    def accept_many(self, items: Iterable[IngestItem]) -> list[tuple[int, bool]]:
        """``accept`` for ``(event, subject, dedupe_key)`` items in ONE transaction: a batch
        acknowledged together is durable together. ``[(id, duplicate), ...]``; a key seen
        earlier in the same batch is a duplicate too."""
        encoded = [(encode_event(event), subject, key) for event, subject, key in items]
        now = now_iso()
        results: list[tuple[int, bool]] = []
        with self._tx() as db:
            for text, subject, key in encoded:
                if key is not None:
                    row = db.execute(
                        "SELECT id FROM ingest_log WHERE dedupe_key = ?", (key,)
                    ).fetchone()
                    if row is not None:
                        results.append((int(row[0]), True))
                        continue
                results.append((insert_ingest(db, now, subject, text, dedupe_key=key), False))
        return results

    def pending(self, limit: int = 100) -> list[dict[str, Any]]:
        """The oldest ``pending`` ingest records, as dicts with the event decoded."""
        rows = self._query(
            "SELECT * FROM ingest_log WHERE status = 'pending' ORDER BY id LIMIT ?", (limit,)
        )
        return [ingest_record(r) for r in rows]

    def get_ingest(self, record_id: int) -> dict[str, Any] | None:
        rows = self._query("SELECT * FROM ingest_log WHERE id = ?", (record_id,))
        return ingest_record(rows[0]) if rows else None

    def mark(self, record_id: int, status: str, error: str | None = None) -> None:
        """Set an ingest record's status (counting the attempt); StoreError if unknown."""
        with self._tx() as db:
            cursor = db.execute(
                "UPDATE ingest_log SET status = ?, error = ?, attempts = attempts + 1,"
                " updated_at = ? WHERE id = ?",
                (status, error, now_iso(), record_id),
            )
            if cursor.rowcount == 0:
                raise StoreError(f"no ingest record {record_id}")

    def counts(self) -> dict[str, int]:
        """Ingest records per status, plus ``outbox`` and ``dead_letters`` totals."""
        result = {
            str(r[0]): int(r[1])
            for r in self._query("SELECT status, COUNT(*) FROM ingest_log GROUP BY status")
        }
        result["outbox"] = self.outbox_size()
        result["dead_letters"] = int(self._query("SELECT COUNT(*) FROM dead_letters")[0][0])
        return result

    # --- publish outbox -------------------------------------------------------------------
    def outbox_put(
        self, event: Any, key: str, reason: str, next_attempt_at: float | None = None
    ) -> int:
        """Park an event for a later publish (due at once unless ``next_attempt_at``)."""
        text = encode_event(event)
        due = time.time() if next_attempt_at is None else next_attempt_at
        with self._tx() as db:
            db.execute(
                "INSERT INTO outbox (created_at, idempotency_key, event, reason, next_attempt_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (idempotency_key) DO UPDATE SET"
                " reason = excluded.reason, next_attempt_at = excluded.next_attempt_at",
                (now_iso(), key, text, reason, due),
            )
            row = db.execute("SELECT id FROM outbox WHERE idempotency_key = ?", (key,)).fetchone()
            return int(row[0])

    def outbox_due(self, limit: int = 100, now: float | None = None) -> list[dict[str, Any]]:
        """Entries whose next attempt is due: ``{"id", "key", "event", "reason", "attempts",
        "created_at", "next_attempt_at"}``, oldest first."""
        when = time.time() if now is None else now
        rows = self._query(
            "SELECT * FROM outbox WHERE next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?",
            (when, limit),
        )
        return [
            {
                "id": r["id"],
                "key": r["idempotency_key"],
                "event": orjson.loads(r["event"]),
                "reason": r["reason"],
                "attempts": r["attempts"],
                "created_at": r["created_at"],
                "next_attempt_at": r["next_attempt_at"],
            }
            for r in rows
        ]

    def outbox_done(self, entry_id: int) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM outbox WHERE id = ?", (entry_id,))

    def outbox_retry_later(self, entry_id: int, reason: str, next_attempt_at: float) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE outbox SET reason = ?, next_attempt_at = ?,"
                " attempts = attempts + 1 WHERE id = ?",
                (reason, next_attempt_at, entry_id),
            )

    def outbox_to_dead_letter(self, entry_id: int, stage: str, reason: str) -> int | None:
        """Move an outbox entry to the dead letters in one transaction (so a crash leaves
        it in exactly one of the two), keeping its idempotency key; the dead letter's id,
        or None if the entry is gone."""
        with self._tx() as db:
            row = take_row(db, "outbox", "event, idempotency_key", entry_id)
            if row is None:
                return None
            return insert_dead_letter(db, now_iso(), stage, reason, None, None, row[0], row[1])

    def outbox_size(self) -> int:
        return int(self._query("SELECT COUNT(*) FROM outbox")[0][0])

    # --- dead letters ---------------------------------------------------------------------
    def dead_letter(
        self,
        stage: str,
        reason: str,
        event: Any,
        subject: str | None = None,
        version: str | None = None,
        *,
        ingest_id: int | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Store a dead letter and return it as a record dict. With ``ingest_id``, that
        ingest record is marked ``dead_letter`` in the same transaction, so a crash cannot
        leave an event both pending and dead-lettered. ``idempotency_key``: the key the
        event was (or would have been) published under; a replay reuses it."""
        text = encode_event(event)
        at = now_iso()
        with self._tx() as db:
            new_id = insert_dead_letter(
                db, at, stage, reason, subject, version, text, idempotency_key
            )
            if ingest_id is not None:
                db.execute(
                    "UPDATE ingest_log SET status = 'dead_letter', error = ?,"
                    " attempts = attempts + 1, updated_at = ? WHERE id = ?",
                    (f"{stage}: {reason}"[:2000], at, ingest_id),
                )
        return {
            "id": new_id,
            "at": at,
            "stage": stage,
            "reason": reason,
            "subject": subject,
            "version": version,
            "event": orjson.loads(text),
        }

    def dead_letters(
        self, limit: int | None = None, stage: str | None = None
    ) -> list[dict[str, Any]]:
        """Dead letters, oldest first, optionally of one ``stage`` only."""
        sql = "SELECT * FROM dead_letters"
        params: list[Any] = []
        if stage is not None:
            sql += " WHERE stage = ?"
            params.append(stage)
        sql += " ORDER BY id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [_dead_record(r) for r in self._query(sql, params)]

    def get_dead_letter(self, record_id: int) -> dict[str, Any] | None:
        rows = self._query("SELECT * FROM dead_letters WHERE id = ?", (record_id,))
        return _dead_record(rows[0]) if rows else None

    def delete_dead_letter(self, record_id: int) -> bool:
        with self._tx() as db:
            return db.execute("DELETE FROM dead_letters WHERE id = ?", (record_id,)).rowcount > 0

    # --- housekeeping ---------------------------------------------------------------------
    def purge(self, older_than: timedelta, kinds: Iterable[str] = RECORD_KINDS) -> dict[str, int]:
        """Delete records older than ``older_than``; ingest records only once finished
        (not ``pending``). Returns how many of each kind went."""
        wanted = list(kinds)
        unknown = [k for k in wanted if k not in RECORD_KINDS]
        if unknown:
            raise InputError(
                f"unknown record kind(s) {', '.join(unknown)}; "
                f"choose from {', '.join(RECORD_KINDS)}"
            )
        cutoff_dt = datetime.now(UTC) - older_than
        cutoff = cutoff_dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        removed: dict[str, int] = {}
        with self._tx() as db:
            if "ingest_log" in wanted:
                removed["ingest_log"] = db.execute(
                    "DELETE FROM ingest_log WHERE status != 'pending' AND updated_at < ?", (cutoff,)
                ).rowcount
            if "outbox" in wanted:
                removed["outbox"] = db.execute(
                    "DELETE FROM outbox WHERE created_at < ?", (cutoff,)
                ).rowcount
            if "dead_letters" in wanted:
                removed["dead_letters"] = db.execute(
                    "DELETE FROM dead_letters WHERE at < ?", (cutoff,)
                ).rowcount
        return removed


def take_row(
    db: sqlite3.Connection, table: str, columns: str, row_id: int
) -> sqlite3.Row | None:
    """Delete row ``row_id`` of ``table`` inside the caller's transaction and return its
    ``columns`` (None when it is gone): one half of a move from one table to another, the
    other half the caller's insert in the same transaction (a crash leaves the row in
    exactly one of the two). ``table`` and ``columns`` are this module's names, never input."""
    row: sqlite3.Row | None = db.execute(
        f"SELECT {columns} FROM {table} WHERE id = ?", (row_id,)
    ).fetchone()
    if row is not None:
        db.execute(f"DELETE FROM {table} WHERE id = ?", (row_id,))
    return row


def insert_dead_letter(
    db: sqlite3.Connection,
    at: str,
    stage: str,
    reason: str,
    subject: str | None,
    version: str | None,
    event_text: str,
    idempotency_key: str | None = None,
) -> int:
    """Insert one dead letter inside the caller's transaction; its id."""
    cursor = db.execute(
        "INSERT INTO dead_letters (at, stage, reason, subject, version, event, idempotency_key)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (at, stage, reason, subject, version, event_text, idempotency_key),
    )
    return int(cursor.lastrowid or 0)


def insert_ingest(
    db: sqlite3.Connection,
    now: str,
    subject: str | None,
    event_text: str,
    *,
    dedupe_key: str | None = None,
    idempotency_key: str | None = None,
) -> int:
    """Insert one pending ingest record inside the caller's transaction; its id. Every
    writer of the log (accept, replay) goes through here."""
    cursor = db.execute(
        "INSERT INTO ingest_log (received_at, subject, dedupe_key, event, updated_at,"
        " idempotency_key) VALUES (?, ?, ?, ?, ?, ?)",
        (now, subject, dedupe_key, event_text, now, idempotency_key),
    )
    return int(cursor.lastrowid or 0)


def ingest_record(row: sqlite3.Row) -> dict[str, Any]:
    """An ingest-log row as the record dict every reader of the log gets."""
    return {
        "id": row["id"],
        "received_at": row["received_at"],
        "subject": row["subject"],
        "dedupe_key": row["dedupe_key"],
        "event": orjson.loads(row["event"]),
        "status": row["status"],
        "attempts": row["attempts"],
        "error": row["error"],
        "idempotency_key": row["idempotency_key"],
    }


def _dead_record(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "at": row["at"],
        "stage": row["stage"],
        "reason": row["reason"],
        "subject": row["subject"],
        "version": row["version"],
        "event": orjson.loads(row["event"]),
    }
