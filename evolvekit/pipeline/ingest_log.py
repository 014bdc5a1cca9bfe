"""The ingest log: the SQLite store plus the multi-step operations only the service needs
atomically (a refused outbox entry turned into a dead letter, a dead letter moved back into
the log, the lookups of its workers). Accepting events (one or a batch, with dedupe) is
``Store.accept`` / ``Store.accept_many``, the one store API every source uses; a dead
letter written with its record's status is ``Store.dead_letter(..., ingest_id=...)``.

A subclass of ``evolvekit.store.Store`` so every store method (accept, outbox, dead letters,
purge) stays available on the same connection and lock.
"""

from __future__ import annotations

from typing import Any

from evolvekit.store import (
    Store,
    encode_event,
    ingest_record,
    insert_dead_letter,
    insert_ingest,
    now_iso,
    take_row,
)


class IngestLog(Store):
    """The store, plus the few multi-step operations the pipeline needs atomically."""

    def pending_after(self, after_id: int, limit: int = 500) -> list[dict[str, Any]]:
        """Pending ingest records with ids above ``after_id``, oldest first."""
        rows = self._query(
            "SELECT * FROM ingest_log WHERE status = 'pending' AND id > ? ORDER BY id LIMIT ?",
            (after_id, limit),
        )
        return [ingest_record(r) for r in rows]

    def outbox_refused(
        self, entry_id: int, record_id: int | None, reason: str
    ) -> dict[str, Any] | None:
        """CXone refused an outbox entry for good: in ONE transaction, remove the entry and
        store a dead letter (stage ``publish``) holding the ORIGINAL ingested event, marking
        its ingest record; a crash leaves the entry in exactly one of the two places. The
        dead letter, or None when the entry is gone already."""
        at = now_iso()
        with self._tx() as db:
            row = db.execute(
                "SELECT event, idempotency_key FROM outbox WHERE id = ?", (entry_id,)
            ).fetchone()
            if row is None:
                return None
            original = (
                db.execute(
                    "SELECT subject, event FROM ingest_log WHERE id = ?", (record_id,)
                ).fetchone()
                if record_id is not None
                else None
            )
            # Retention may have purged the ingest record: the outbox copy is all there is.
            subject, text = (original[0], original[1]) if original else (None, row[0])
            db.execute("DELETE FROM outbox WHERE id = ?", (entry_id,))
            letter_id = insert_dead_letter(db, at, "publish", reason, subject, None, text, row[1])
            if original is not None:
                db.execute(
                    "UPDATE ingest_log SET status = 'dead_letter', error = ?,"
                    " attempts = attempts + 1, updated_at = ? WHERE id = ?",
                    (f"publish: {reason}"[:2000], at, record_id),
                )
        return self.get_dead_letter(letter_id)

    def requeue_dead_letter(self, letter_id: int, event: Any, subject: str | None) -> int | None:
        """Move a dead letter back into the ingest log as a new pending record (atomically),
        carrying the dead letter's idempotency key: CXone may hold the event already (a
        connection dropped after it was stored), and the same key makes the re-send a no-op
        there. The new record's id, or None when the dead letter is gone."""
        text = encode_event(event)
        now = now_iso()
        with self._tx() as db:
            row = take_row(db, "dead_letters", "idempotency_key", letter_id)
            if row is None:
                return None
            return insert_ingest(db, now, subject, text, idempotency_key=row[0])

    def record_with_key(self, key: str) -> int | None:
        """The newest ingest record that carries ``key`` explicitly (a replayed one)."""
        rows = self._query(
            "SELECT id FROM ingest_log WHERE idempotency_key = ? ORDER BY id DESC LIMIT 1", (key,)
        )
        return int(rows[0][0]) if rows else None

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
