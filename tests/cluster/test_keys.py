"""Pure helpers of cluster mode: key names, idempotency keys, roles, the [cluster] section."""

from __future__ import annotations

import pytest

from evolvekit.cli.main import main
from evolvekit.cluster.connection import redacted
from evolvekit.cluster.keys import Keys, idempotency_key, seq_of
from evolvekit.errors import ConfigError
from evolvekit.pipeline.config import build_config, load_config, parse_roles


def test_every_key_of_a_cluster_shares_one_hash_tag() -> None:
    keys = Keys("team-a")
    names = [keys.ingest, keys.broadcast, keys.seq, keys.outbox, keys.dead, keys.nodes]
    assert all(name.startswith("evolvekit:{team-a}:") for name in names)
    assert len(set(names)) == len(names)
    assert Keys("team-b").ingest != keys.ingest


def test_idempotency_key_depends_on_cluster_and_entry_only() -> None:
    assert idempotency_key("c1", "1700000000000-3") == "evolvekit-c1-1700000000000-3"
    assert idempotency_key("c2", "1700000000000-3") != idempotency_key("c1", "1700000000000-3")


def test_seq_is_the_broadcast_entry_id() -> None:
    assert seq_of("42-0") == 42


@pytest.mark.parametrize(
    ("text", "roles"),
    [
        ("all", {"ingest", "worker", "broadcast"}),
        ("ingest,broadcast", {"ingest", "broadcast"}),
        (" Worker ", {"worker"}),
    ],
)
def test_roles(text: str, roles: set[str]) -> None:
    assert parse_roles(text) == roles


@pytest.mark.parametrize("text", ["", "ingest,cook", "workers"])
def test_bad_roles_name_the_choices(text: str) -> None:
    with pytest.raises(ConfigError, match="ingest, worker, broadcast"):
        parse_roles(text)


def test_cluster_section_and_environment() -> None:
    config = build_config(
        {"cluster": {"claim_idle": 2, "max_deliveries": 3, "role": "worker"}},
        environ={"EVOLVEKIT_REDIS_URL": "redis://:pw@db:6379/1"},
    )
    cluster = config.cluster
    assert (cluster.claim_idle, cluster.max_deliveries, cluster.roles) == (2.0, 3, {"worker"})
    assert cluster.redis_url == "redis://:pw@db:6379/1"
    assert "pw" not in repr(config)
    assert load_config(environ={}).cluster.redis_url is None  # single node by default


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"claim_idle": 0}, "must be > 0"),
        ({"max_deliveries": 0}, "at least 1"),
        ({"role": "chef"}, "role 'chef'"),
        ({"name": "a b"}, "letters, digits"),
        ({"redis": "x"}, "unknown key"),
    ],
)
def test_bad_cluster_settings(section: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_config({"cluster": section}, environ={})


def test_redacted_hides_the_password() -> None:
    assert redacted("redis://user:secret@host:6380/0") == "redis://user:***@host:6380/0"
    assert redacted("redis://host:6379/0") == "redis://host:6379/0"


def test_role_without_redis_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EVOLVEKIT_REDIS_URL", raising=False)
    assert main(["serve", "--role", "worker"]) == 2
    assert "--role needs --redis" in capsys.readouterr().err
