from pathlib import Path

import pytest

from evolvekit.errors import ConfigError
from evolvekit.workspace import ENV_HOME, find_workspace, rules_dir, schemas_dir


def test_env_home_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "schemas").mkdir()
    monkeypatch.setenv(ENV_HOME, str(tmp_path))
    ws = find_workspace()
    assert ws.home == tmp_path.resolve() and ws.origin == ENV_HOME


def test_env_home_without_schemas_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_HOME, str(tmp_path))
    with pytest.raises(ConfigError, match="no schemas/ folder"):
        find_workspace()


def test_nearest_ancestor_holding_schemas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_HOME, raising=False)
    (tmp_path / "schemas").mkdir()
    nested = tmp_path / "notebooks" / "deep"
    nested.mkdir(parents=True)
    ws = find_workspace(nested)
    assert ws.home == tmp_path.resolve() and ws.origin == "ancestor"
    assert ws.rules == tmp_path.resolve() / "rules"


def test_falls_back_to_packaged_examples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_HOME, raising=False)
    ws = find_workspace(tmp_path)
    assert ws.origin == "packaged"
    assert (ws.schemas / "interaction.completed").is_dir()


def test_explicit_folders(tmp_path: Path) -> None:
    assert schemas_dir(tmp_path) == tmp_path.resolve()
    with pytest.raises(ConfigError, match="does not exist"):
        rules_dir(tmp_path / "missing")
