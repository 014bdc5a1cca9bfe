"""BroadcasterOptions: one declaration of the settings, shared by both broadcasters."""

from __future__ import annotations

from typing import Any

import pytest

import evolvekit as ek
from evolvekit.broadcast.background import BackgroundBroadcaster
from evolvekit.broadcast.broadcaster import Broadcaster
from evolvekit.broadcast.options import BroadcasterOptions
from evolvekit.errors import ConfigError


def test_defaults_and_checks() -> None:
    options = BroadcasterOptions()
    assert (options.host, options.port, options.queue_size) == ("127.0.0.1", 0, 256)
    assert (options.replay_size, options.write_limit, options.max_message_size) == (
        1000, 2**16, 4096)  # fmt: skip
    assert (options.ping_interval, options.close_timeout) == (20, 5.0)
    assert options.tokens is None and options.origins is None
    with pytest.raises(ConfigError, match=r"port must be 0\.\.65535"):
        BroadcasterOptions(port=-1)
    assert BroadcasterOptions(port=65535, queue_size=1, write_limit=1).port == 65535


def test_iterables_are_kept_not_used_up() -> None:
    options = BroadcasterOptions(tokens=iter(["a", "b"]), origins=(o for o in ["https://x"]))
    assert options.tokens == ("a", "b") and options.tokens == ("a", "b")
    assert options.origins == ("https://x",)


def test_keywords_override_the_options_object(fake_migrator: Any) -> None:
    base = BroadcasterOptions(queue_size=10, write_limit=2048)
    b = Broadcaster(rules=fake_migrator, options=base, queue_size=20)
    assert b.options == BroadcasterOptions(queue_size=20, write_limit=2048)
    assert (b.queue_size, b.write_limit) == (20, 2048)
    assert base.queue_size == 10  # the given object is not changed
    with pytest.raises(TypeError, match=r"unknown broadcaster setting.*queue_length"):
        Broadcaster(rules=fake_migrator, queue_length=3)


def test_background_broadcaster_wraps_one_built_from_the_same_options(fake_migrator: Any) -> None:
    options = ek.BroadcasterOptions(tokens=["t"], replay_size=5)
    background = BackgroundBroadcaster(rules=fake_migrator, options=options, queue_size=7)
    assert background.broadcaster.options == BroadcasterOptions(
        tokens=["t"], replay_size=5, queue_size=7)  # fmt: skip
    with pytest.raises(ConfigError, match="queue_size"):
        BackgroundBroadcaster(rules=fake_migrator, options=options, queue_size=0)
