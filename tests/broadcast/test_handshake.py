"""Handshake decisions: query parameters and bearer tokens."""

from __future__ import annotations

import pytest
from websockets.datastructures import Headers

from evolvekit.broadcast.handshake import Params, TokenCheck, parse_params
from evolvekit.errors import BroadcastError, ConfigError


def offer(subject: str | None, version: str) -> str:
    if version.lstrip("v") not in ("1.0.0", "2.0.0"):
        raise BroadcastError(f"unknown version {version!r}; versions on offer: 1.0.0, 2.0.0")
    return version.lstrip("v")


def test_parse_params() -> None:
    query = {
        "subject": ["s"],
        "version": ["v2.0.0"],
        "since": ["7"],
        "epoch": ["e"],
        "event_type": ["t"],
        "token": ["x"],
    }
    assert parse_params(query, offer) == Params("s", "2.0.0", "t", 7, "e")
    assert parse_params({}, offer) == Params(None, None, None, None, None)
    assert parse_params({"subject": [""], "since": [""]}, offer).since is None


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"sinse": ["1"]}, "unknown parameter"),
        ({"since": ["1", "2"]}, "more than once"),
        ({"since": ["-1"]}, "since must be"),
        ({"since": ["1.5"]}, "since must be"),
        ({"version": ["3.0.0"]}, "versions on offer"),
    ],
)
def test_parse_params_refusals(query: dict[str, list[str]], message: str) -> None:
    with pytest.raises(BroadcastError, match=message):
        parse_params(query, offer)


def test_token_check() -> None:
    check = TokenCheck(["alpha", "beta"])
    assert check.authorized(Headers([("Authorization", "Bearer beta")]), {})
    assert check.authorized(Headers([("Authorization", "bearer  alpha ")]), {})
    assert check.authorized(Headers(), {"token": ["alpha"]})
    assert not check.authorized(Headers(), {})
    assert not check.authorized(Headers([("Authorization", "Basic alpha")]), {})
    assert not check.authorized(Headers([("Authorization", "Bearer alph")]), {})
    assert "alpha" not in repr(check) and "beta" not in repr(check)
    assert TokenCheck(None).authorized(Headers(), {})
    assert TokenCheck("solo").authorized(Headers(), {"token": ["solo"]})
    for bad in ([], [""]):
        with pytest.raises(ConfigError):
            TokenCheck(bad)
