"""Broadcast frames (DESIGN.md, "Broadcasting"): data envelopes and control frames.

Pure: builds dicts and orjson bytes, no I/O. A data frame is an envelope
``{"seq", "epoch", "subject", "event_type", "schema_version", "timestamp", "payload"}``; a
control frame carries a ``"control"`` key instead (``resume``, ``skipped``, ``subscribed``).
The payload is serialised once per event and version and spliced into envelopes with
``orjson.Fragment``, so a migrated payload is never encoded twice.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

import orjson

from evolvekit.errors import InputError

ENVELOPE_KEYS = ("seq", "epoch", "subject", "event_type", "schema_version", "timestamp", "payload")


def new_epoch() -> str:
    """A fresh epoch identifier: unguessable, so a restarted broadcaster never reuses one."""
    return secrets.token_hex(8)


def utc_now_iso() -> str:
    """The current time as ISO 8601 UTC with a ``Z`` suffix, millisecond precision."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def encode_payload(event: Any) -> bytes:
    """An event serialised once; the bytes become a ``Fragment`` inside each envelope."""
    try:
        return orjson.dumps(event)
    except TypeError as exc:
        raise InputError(f"event is not JSON-serialisable: {exc}") from None


def event_type_of(event: Any, given: str | None) -> str | None:
    """``given`` when set, else the event's ``eventType`` (a string), else None."""
    if given is not None:
        return given
    if isinstance(event, dict):
        value = event.get("eventType")
        if isinstance(value, str):
            return value
    return None


def timestamp_of(event: Any, published_at: str) -> Any:
    """The event's own ``timestamp`` when it has one (JSON null counts as absent here,
    since an envelope without a time is useless), else the publish time."""
    if isinstance(event, dict):
        value = event.get("timestamp")
        if value is not None:
            return value
    return published_at


def envelope_bytes(
    *,
    seq: int,
    epoch: str,
    subject: str,
    event_type: str | None,
    schema_version: str,
    timestamp: Any,
    payload: bytes,
) -> bytes:
    """The JSON bytes of one data frame; ``payload`` is already-encoded JSON."""
    return orjson.dumps(
        {
            "seq": seq,
            "epoch": epoch,
            "subject": subject,
            "event_type": event_type,
            "schema_version": schema_version,
            "timestamp": timestamp,
            "payload": orjson.Fragment(payload),
        }
    )


def resume_frame(*, recovered: bool, from_seq: int, epoch: str) -> dict[str, Any]:
    """Sent first to a consumer that gave ``since``: ``from_seq`` is the next seq it gets."""
    return {"control": "resume", "recovered": recovered, "from_seq": from_seq, "epoch": epoch}


def skipped_frame(*, seq: int, reason: str) -> dict[str, Any]:
    """Stands in for event ``seq`` when it cannot be migrated to the consumer's version."""
    return {"control": "skipped", "seq": seq, "reason": reason}


def subscribed_frame(*, subject: str | None, event_type: str | None) -> dict[str, Any]:
    """Acknowledges a live ``{"subscribe": ...}`` filter change."""
    return {"control": "subscribed", "subject": subject, "event_type": event_type}


def encode_frame(frame: dict[str, Any]) -> bytes:
    return orjson.dumps(frame)
