"""No secret in a log line: the redacting filter and what it catches."""

from __future__ import annotations

import logging

import pytest

from evolvekit import logsafe
from evolvekit.logsafe import RedactSecrets, redact


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        ("< GET /?subject=s&token=tok-123456&since=0 HTTP/1.1", "tok-123456"),
        ("< GET /?access_token=abcdef HTTP/1.1", "abcdef"),
        ("< Authorization: Bearer abc.def-ghi", "abc.def-ghi"),
        ("> authorization: Basic dXNlcjpwYXNz", "dXNlcjpwYXNz"),
        ("< Cookie: session=xyz123", "xyz123"),
        ("sent with bearer zzzz9999 to the API", "zzzz9999"),
        ("client_secret=s3cr3t&grant_type=client_credentials", "s3cr3t"),
    ],
)
def test_secret_looking_values_are_redacted(line: str, secret: str) -> None:
    cleaned = redact(line)
    assert secret not in cleaned and logsafe.REDACTED in cleaned


def test_registered_secrets_are_redacted_anywhere() -> None:
    logsafe.register_secret("canary-Registered-42", None, "")
    assert redact("odd place: canary-Registered-42!") == "odd place: ***!"
    assert redact("nothing secret here, subject=a&since=3") == (
        "nothing secret here, subject=a&since=3"
    )


def test_the_filter_rewrites_records_and_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("websockets.server")
    logsafe.install()
    assert any(isinstance(f, RedactSecrets) for f in logger.filters)
    with caplog.at_level(logging.DEBUG, logger="websockets.server"):
        logger.debug("< %s %s %s", "GET", "/?token=leaky-token-1", "HTTP/1.1")
        try:
            raise ValueError("failed with Authorization: Bearer leaky-token-2")
        except ValueError:
            logger.exception("handshake failed")
    text = caplog.text
    assert "leaky-token-1" not in text and "leaky-token-2" not in text
    assert "token=***" in text
