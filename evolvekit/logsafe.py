"""No secret in any log line, at any level (docs/security.md).

Libraries log what they see: at debug level websockets writes each handshake's request
line (``GET /?token=...``) and headers (``Authorization: Bearer ...``), and uvicorn's
access log writes request lines with their query strings. ``RedactSecrets`` is a logging
filter that rewrites such a record before any handler formats it: ``token=``-style query
values, ``Authorization``/``Cookie`` header values, and every secret registered with
``register_secret`` (the service registers its ingest and broadcast tokens) become ``***``.

``install()`` puts the filter on the loggers of those libraries (a filter on a logger sees
the records created there) and on the root logger's handlers (which see every record that
reaches them); the CLI calls it after configuring logging, the service when it starts.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable

REDACTED = "***"
LIBRARY_LOGGERS = (
    "websockets.server",
    "websockets.client",
    "uvicorn",
    "uvicorn.error",
    "uvicorn.access",
    "httpx",
    "httpcore",
)
_QUERY_SECRET = re.compile(
    r"(?i)(\b(?:token|access_token|id_token|refresh_token|client_secret|password|secret"
    r"|api_key|apikey|key)=)[^&\s\"'#]+"
)
_HEADER_SECRET = re.compile(
    r"(?i)(\b(?:authorization|proxy-authorization|cookie|set-cookie|x-api-key)\s*[:=]\s*)"
    r"[^\r\n]+"
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{4,}")

_secrets: set[str] = set()
_secrets_lock = threading.Lock()


def register_secret(*values: str | None) -> None:
    """Redact these exact values wherever they appear in a log line (at least 4 chars)."""
    with _secrets_lock:
        _secrets.update(v for v in values if v and len(v) >= 4)


def register_secrets(values: Iterable[str] | None) -> None:
    register_secret(*(values or ()))


def redact(text: str) -> str:
    """``text`` with secret-looking values replaced by ``***``."""
    with _secrets_lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, REDACTED)
    text = _QUERY_SECRET.sub(rf"\g<1>{REDACTED}", text)
    text = _HEADER_SECRET.sub(rf"\g<1>{REDACTED}", text)
    return _BEARER.sub(rf"\g<1> {REDACTED}", text)


class RedactSecrets(logging.Filter):
    """Rewrites a record's message (never drops a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to logging's own error handling
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            # Format the traceback now, redacted, so no handler formats the raw one.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


_FILTER = RedactSecrets()


def install() -> None:
    """Attach the filter to the library loggers and to the root logger's handlers
    (idempotent: a filter already attached is not added twice)."""
    for name in LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
    for handler in logging.getLogger().handlers:
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)
