"""The ingest log: the SQLite store plus the multi-step operations the pipeline needs to be
atomic (a batch accepted together, a dead letter written with its record's status).

A subclass of ``evolvekit.store.Store`` so every store method (outbox, dead letters, purge)
stays available on the same connection and lock.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import orjson

from evolvekit.errors import InputError
from evolvekit.store import Store


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _encode(event: Any) -> str:
    try:
        return orjson.dumps(event).decode()
    except TypeError as exc:
        raise InputError(f"event is not JSON-serialisable: {exc}") from None


class IngestLog(Store):
    """The store, plus the few multi-step operations the pipeline needs atomically."""

    def accept_many(
        self, items: Iterable[tuple[Any, str | None, str | None]]
    ) -> list[tuple[int, bool]]:
        """``accept`` for ``(event, subject, dedupe_key)`` items in ONE transaction: a batch
        acknowledged together is durable together. ``[(id, duplicate), ...]``."""
        encoded = [(_encode(event), subject, key) for event, subject, key in items]
        now = _now_iso()
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
                cursor = db.execute(
                    "INSERT INTO ingest_log (received_at, subject, dedupe_key, event, updated_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (now, subject, key, text, now),
                )
                results.append((int(cursor.lastrowid or 0), False))
        return results

    def pending_after(self, after_id: int, limit: int = 500) -> list[dict[str, Any]]:
        """Pending ingest records with ids above ``after_id``, oldest first."""
        rows = self._query(
            "SELECT * FROM ingest_log WHERE status = 'pending' AND id > ? ORDER BY id LIMIT ?",
            (after_id, limit),
        )
        return [_record(r) for r in rows]

    def dead_letter_record(
        self,
        record_id: int | None,
        stage: str,
        reason: str,
        event: Any,
        subject: str | None = None,
        version: str | None = None,
    ) -> dict[str, Any]:
        """Store a dead letter and mark its ingest record ``dead_letter`` in one transaction."""
        text = _encode(event)
        at = _now_iso()
        with self._tx() as db:
            cursor = db.execute(
                "INSERT INTO dead_letters (at, stage, reason, subject, version, event)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (at, stage, reason, subject, version, text),
            )
            new_id = int(cursor.lastrowid or 0)
            if record_id is not None:
                db.execute(
                    "UPDATE ingest_log SET status = 'dead_letter', error = ?,"
                    " attempts = attempts + 1, updated_at = ? WHERE id = ?",
                    (f"{stage}: {reason}"[:2000], at, record_id),
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

    def requeue_dead_letter(self, letter_id: int, event: Any, subject: str | None) -> int | None:
        """Move a dead letter back into the ingest log as a new pending record (atomically);
        the new record's id, or None when the dead letter is gone."""
        text = _encode(event)
        now = _now_iso()
        with self._tx() as db:
            gone = db.execute("DELETE FROM dead_letters WHERE id = ?", (letter_id,)).rowcount == 0
            if gone:
                return None
            cursor = db.execute(
                "INSERT INTO ingest_log (received_at, subject, dedupe_key, event, updated_at)"
                " VALUES (?, ?, NULL, ?, ?)",
                (now, subject, text, now),
            )
            return int(cursor.lastrowid or 0)

    def status_counts(self) -> dict[str, int]:
        return {
            str(r[0]): int(r[1])
            for r in self._query("SELECT status, COUNT(*) FROM ingest_log GROUP BY status")
        }

    def pending_count(self) -> int:
        """Pending records (an index range scan: cheap however long the log grows)."""
        return int(self._query("SELECT COUNT(*) FROM ingest_log WHERE status = 'pending'")[0][0])

    def dead_letter_count(self) -> int:
        return int(self._query("SELECT COUNT(*) FROM dead_letters")[0][0])


def _record(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "received_at": row["received_at"],
        "subject": row["subject"],
        "dedupe_key": row["dedupe_key"],
        "event": orjson.loads(row["event"]),
        "status": row["status"],
        "attempts": row["attempts"],
        "error": row["error"],
    }
