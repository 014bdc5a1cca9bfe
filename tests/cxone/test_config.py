from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from evolvekit.cxone.config import CXoneConfig, Secret
from evolvekit.errors import ConfigError


def test_tutorial_defaults() -> None:
    cfg = CXoneConfig()
    assert cfg.api_base_url == "https://api-us-1.cxone.com"
    assert cfg.resolved_token_url == "https://api-us-1.cxone.com/oauth/token"
    assert cfg.events_url == "https://api-us-1.cxone.com/api/v2/events"
    assert cfg.scope == "events:ingest events:read"
    assert cfg.auth_mode == "client_credentials"
    assert not cfg.is_simulator and not cfg.has_credentials


def test_from_env_reads_cxone_variables_and_overrides_win() -> None:
    env = {
        "CXONE_REGION": "api-eu-2",
        "CXONE_CLIENT_ID": "app",
        "CXONE_CLIENT_SECRET": "s3cr3t-value",
    }
    cfg = CXoneConfig.from_env(env, timeout=5)
    assert cfg.api_base_url == "https://api-eu-2.cxone.com"
    assert cfg.client_id == "app" and isinstance(cfg.client_secret, Secret)
    assert cfg.client_secret.reveal() == "s3cr3t-value"
    assert cfg.timeout == 5 and cfg.has_credentials
    assert CXoneConfig.from_env(env, base_url="http://x.test:9").events_url == (
        "http://x.test:9/api/v2/events"
    )


def test_from_env_infers_auth_mode() -> None:
    keys = {
        "CXONE_ACCESS_KEY_ID": "AK",
        "CXONE_ACCESS_KEY_SECRET": "AS",
        "CXONE_CLIENT_ID": "c",
        "CXONE_CLIENT_SECRET": "s",
    }
    cfg = CXoneConfig.from_env(keys)
    assert cfg.auth_mode == "cxone_password" and cfg.has_credentials
    assert cfg.needs_api_discovery
    assert CXoneConfig.from_env({"CXONE_TOKEN": "t"}).auth_mode == "bearer"
    with pytest.raises(ConfigError, match="auth_mode"):
        CXoneConfig.from_env({"CXONE_AUTH_MODE": "magic"})


def test_missing_credentials_name_the_environment_variables() -> None:
    with pytest.raises(ConfigError) as err:
        CXoneConfig.from_env({}).require_credentials()
    assert "CXONE_CLIENT_ID" in str(err.value) and "CXONE_CLIENT_SECRET" in str(err.value)
    cfg = CXoneConfig(auth_mode="cxone_password", client_id="c", client_secret="s")
    assert cfg.missing_credentials() == ["CXONE_ACCESS_KEY_ID", "CXONE_ACCESS_KEY_SECRET"]
    assert CXoneConfig(auth_mode="bearer").missing_credentials() == ["CXONE_TOKEN"]


def test_from_mapping_converts_and_rejects() -> None:
    cfg = CXoneConfig.from_mapping(
        {
            "base_url": "https://api-na1.niceincontact.com",
            "max_attempts": "4",
            "retry_after_cap": 10,
            "discover_api_endpoint": "false",
        }
    )
    assert cfg.max_attempts == 4 and cfg.retry_after_cap == 10.0
    assert cfg.discover_api_endpoint is False
    with pytest.raises(ConfigError, match="unknown CXone setting"):
        CXoneConfig.from_mapping({"base_ur": "x"})
    with pytest.raises(ConfigError, match="max_attempts must be a number"):
        CXoneConfig.from_mapping({"max_attempts": "lots"})
    with pytest.raises(ConfigError, match="whole number"):
        CXoneConfig.from_mapping({"max_attempts": 2.5})
    with pytest.raises(ConfigError, match="not an http"):
        CXoneConfig.from_mapping({"base_url": "ftp://x"})
    with pytest.raises(ConfigError, match="at least 1"):
        CXoneConfig(max_attempts=0)


def test_for_simulator_profiles() -> None:
    tutorial = CXoneConfig.for_simulator("http://127.0.0.1:8088/")
    assert tutorial.is_simulator and tutorial.has_credentials
    assert tutorial.resolved_token_url == "http://127.0.0.1:8088/oauth/token"
    cxone = CXoneConfig.for_simulator("http://127.0.0.1:8088", profile="cxone")
    assert cxone.auth_mode == "cxone_password" and cxone.issuer == "http://127.0.0.1:8088"
    with pytest.raises(ConfigError):
        CXoneConfig.for_simulator("http://x", profile="other")


def test_secrets_never_show() -> None:
    secret = Secret("hunter2-very-secret")
    for shown in (
        repr(secret),
        str(secret),
        f"{secret}",
        f"{secret!r}",
        secret._repr_html_(),
        "%s" % secret,  # noqa: UP031 - the old formatting path must be masked too
    ):
        assert "hunter2" not in shown

    class Printer:
        text_out = ""

        def text(self, value: str) -> None:
            self.text_out += value

    printer = Printer()
    secret._repr_pretty_(printer, False)
    assert printer.text_out == "Secret('****')"
    with pytest.raises(TypeError):
        pickle.dumps(secret)
    cfg = CXoneConfig(
        client_id="app",
        client_secret="hunter2-very-secret",
        access_key_secret="ak-hunter2",
        token="tok-hunter2",
    )
    assert "hunter2" not in repr(cfg) and "hunter2" not in str(cfg)
    assert "client_id='app'" in repr(cfg)
    assert not isinstance(cfg.client_secret, str)


def test_from_file_reads_a_toml_section_and_the_environment_fills_in(tmp_path: Path) -> None:
    path = tmp_path / "evolvekit.toml"
    path.write_text(
        '[cxone]\nregion = "api-eu-1"\nmax_attempts = 3\n\n[other]\nx = 1\n', encoding="utf-8"
    )
    env = {"CXONE_CLIENT_ID": "app", "CXONE_CLIENT_SECRET": "s3cret", "CXONE_REGION": "api-x"}
    config = CXoneConfig.from_file(path, environ=env)
    assert config.region == "api-eu-1"  # the file wins over the environment
    assert config.max_attempts == 3 and config.client_id == "app"
    assert config.client_secret is not None and config.client_secret.reveal() == "s3cret"
    assert config.events_url == "https://api-eu-1.cxone.com/api/v2/events"

    with pytest.raises(ConfigError, match=r"evolvekit.toml: no \[cxone2\] table"):
        CXoneConfig.from_file(path, section="cxone2", environ={})
    path.write_text("[cxone]\nmax_attempts = 'many'\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="max_attempts must be a number"):
        CXoneConfig.from_file(path, environ={})
    path.write_text("[cxone\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        CXoneConfig.from_file(path, environ={})
    with pytest.raises(ConfigError, match="cannot read"):
        CXoneConfig.from_file(tmp_path / "missing.toml", environ={})
