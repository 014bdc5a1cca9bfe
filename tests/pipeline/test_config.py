"""Service settings: defaults, TOML, flags over the file, errors that name the key."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from evolvekit.errors import ConfigError
from evolvekit.pipeline.config import ServiceConfig, load_config, parse_duration


def test_defaults_run_on_loopback_with_cxone_and_broadcast() -> None:
    config = load_config(None, environ={})
    assert config == ServiceConfig(source="defaults")
    assert config.ingest.host == "127.0.0.1"
    assert config.ingest.max_event_bytes == 32 * 1024
    assert config.pipeline.sinks == ("cxone", "broadcast")
    assert config.retention.dead_letters == timedelta(days=30)


def test_toml_file_then_flags(tmp_path: Path) -> None:
    file = tmp_path / "evolvekit.toml"
    file.write_text(
        """
data_dir = "state"
[ingest]
port = 9000
dedupe_fields = ["interactionId", "eventType"]
[pipeline]
sinks = ["broadcast", "jsonl"]
jsonl_path = "out.jsonl"
targets = { "interaction.completed" = "2.0.0" }
event_types = { "InteractionCompleted" = "interaction.completed" }
[retention]
ingest_log = "12h"
dead_letters = "forever"
[cxone]
base_url = "https://example.invalid"
""",
        encoding="utf-8",
    )
    config = load_config(file, {"ingest.port": 9100, "broadcast.port": None}, environ={})
    assert config.ingest.port == 9100  # the flag wins
    assert config.broadcast.port == 8765  # None flags are ignored
    assert config.data_dir == Path("state")
    assert config.ingest.dedupe_fields == ("interactionId", "eventType")
    assert config.pipeline.sinks == ("broadcast", "jsonl")
    assert config.pipeline.targets == {"interaction.completed": "2.0.0"}
    assert config.pipeline.event_types["InteractionCompleted"] == "interaction.completed"
    assert config.retention.ingest_log == timedelta(hours=12)
    assert config.retention.dead_letters is None
    assert config.cxone["base_url"] == "https://example.invalid"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[ingest]\nprot = 1\n", "unknown key(s) prot"),
        ("colour = 1\n", "unknown setting(s) colour"),
        ("[ingest]\nport = 'x'\n", "port: expected a whole number"),
        ("[ingest]\nport = 70000\n", "not a port number"),
        ("[pipeline]\nsinks = ['kafka']\n", "unknown sink(s) kafka"),
        ("[pipeline]\nsinks = ['jsonl']\n", "the jsonl sink needs jsonl_path"),
        ("[retention]\ndead_letters = 'soon'\n", "is not a duration"),
        ("[ingest\n", "not valid TOML"),
        ("[sources]\npoll = true\n", "poll needs poll_subject"),
    ],
)
def test_bad_settings_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    file = tmp_path / "bad.toml"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(file, environ={})
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.toml", environ={})


def test_tokens_come_from_the_environment_and_stay_out_of_reprs() -> None:
    env = {"EVOLVEKIT_INGEST_TOKEN": "s3cret-ingest", "EVOLVEKIT_BROADCAST_TOKENS": "a, b"}
    config = load_config(None, environ=env)
    assert config.ingest.token == "s3cret-ingest"
    assert config.broadcast.tokens == ("a", "b")
    assert "s3cret" not in repr(config)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("7d", 604800),
        ("12h", 43200),
        ("30m", 1800),
        ("45s", 45),
        ("2w", 1209600),
        ("90", 90),
        (1.5, 1.5),
    ],
)
def test_durations(text: str | float, seconds: float) -> None:
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "7 days", "-1d", "d", True])
def test_bad_durations(text: str | bool) -> None:
    with pytest.raises(ConfigError):
        parse_duration(text)


def test_a_bad_flag_value_is_blamed_on_the_flags(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^flags: \[ingest\] port: 99999"):
        load_config(None, {"ingest.port": 99999}, environ={})
    file = tmp_path / "evolvekit.toml"
    file.write_text("[ingest]\nport = 8081\n")
    with pytest.raises(ConfigError, match=r"evolvekit.toml or flags: \[ingest\] port"):
        load_config(file, {"ingest.port": 99999}, environ={})


@pytest.mark.parametrize(
    "text",
    [
        '[ingest]\ntoken = ["CANARY-ingest-7f3a"]\n',
        '[ingest]\ntoken = { value = "CANARY-ingest-7f3a" }\n',
        '[broadcast]\ntokens = ["ok-token", ["CANARY-ingest-7f3a"]]\n',
    ],
)
def test_a_malformed_secret_is_named_never_shown(tmp_path: Path, text: str) -> None:
    file = tmp_path / "evolvekit.toml"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(file)
    message = str(info.value)
    assert "CANARY" not in message and "value not shown" in message
    assert "token" in message  # the key is named


def test_hardening_settings_and_their_defaults(tmp_path: Path) -> None:
    config = ServiceConfig()
    assert config.ingest.dedupe_fields == ("interactionId", "eventType")
    assert config.ingest.origins == () and config.broadcast.origins == ()
    assert config.broadcast.replay_bytes == 64 * 1024 * 1024 and not config.insecure
    file = tmp_path / "evolvekit.toml"
    file.write_text(
        'insecure = true\n[ingest]\norigins = ["https://app.example"]\nbody_timeout = 2\n'
        'max_connections = 50\n[broadcast]\nreplay_bytes = 1000\norigins = "*"\n',
        encoding="utf-8",
    )
    loaded = load_config(file)
    assert loaded.insecure and loaded.ingest.origins == ("https://app.example",)
    assert loaded.ingest.body_timeout == 2.0 and loaded.ingest.max_connections == 50
    assert loaded.broadcast.replay_bytes == 1000 and loaded.broadcast.origins == ("*",)
    file.write_text("[ingest]\nbody_timeout = 0\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="body_timeout"):
        load_config(file)


def test_broadcast_settings_become_the_broadcasters_options() -> None:
    from evolvekit.pipeline.config import BroadcastSettings

    settings = BroadcastSettings(
        port=9000, replay_size=7, replay_bytes=1000, queue_size=3,
        tokens=("s3cret",), origins=("https://app.example",),
    )  # fmt: skip
    options = settings.options(replay_size=50)
    assert (options.port, options.replay_size, options.replay_bytes, options.queue_size) == (
        9000, 50, 1000, 3,
    )  # fmt: skip
    assert options.tokens == ("s3cret",) and options.origins == ("https://app.example",)
    assert "s3cret" not in repr(options)  # a token never reaches a log line through repr
