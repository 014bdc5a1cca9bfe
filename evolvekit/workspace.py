"""Where the ``schemas/`` and ``rules/`` folders are.

Order (DESIGN.md, "Folders"): an explicit argument; ``$EVOLVEKIT_HOME``; the nearest ancestor
of the working directory that holds ``schemas/`` (so notebooks run from ``notebooks/`` find
the project's folders); the examples packaged into the wheel.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from evolvekit.errors import ConfigError

ENV_HOME = "EVOLVEKIT_HOME"
PACKAGED_EXAMPLES = Path(__file__).resolve().parent / "_examples"


@dataclass(frozen=True)
class Workspace:
    """A home folder holding ``schemas/`` and (optionally) ``rules/``."""

    home: Path
    origin: str  # "argument", "EVOLVEKIT_HOME", "ancestor" or "packaged"

    @property
    def schemas(self) -> Path:
        return self.home / "schemas"

    @property
    def rules(self) -> Path:
        return self.home / "rules"


def find_workspace(start: str | Path | None = None) -> Workspace:
    """The workspace in DESIGN.md's order, starting the ancestor search at ``start`` (cwd)."""
    env = os.environ.get(ENV_HOME)
    if env:
        home = Path(env).expanduser().resolve()
        if not (home / "schemas").is_dir():
            raise ConfigError(f"{ENV_HOME}={env} has no schemas/ folder")
        return Workspace(home, ENV_HOME)
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "schemas").is_dir():
            return Workspace(folder, "ancestor")
    if (PACKAGED_EXAMPLES / "schemas").is_dir():
        return Workspace(PACKAGED_EXAMPLES, "packaged")
    # An editable install has no _examples: the repository's own folders sit beside the package.
    repo = PACKAGED_EXAMPLES.parent.parent
    if (repo / "schemas").is_dir():
        return Workspace(repo, "packaged")
    raise ConfigError("no schemas/ folder found: pass --schemas DIR or set EVOLVEKIT_HOME")


def schemas_dir(explicit: str | Path | None = None) -> Path:
    """The schemas folder: ``explicit`` when given, else the workspace's."""
    if explicit is not None:
        path = Path(explicit).expanduser()
        if not path.is_dir():
            raise ConfigError(f"schemas folder {path} does not exist")
        return path.resolve()
    return find_workspace().schemas


def rules_dir(explicit: str | Path | None = None) -> Path:
    """The rules folder: ``explicit`` when given, else the workspace's (may not exist yet)."""
    if explicit is not None:
        path = Path(explicit).expanduser()
        if not path.is_dir():
            raise ConfigError(f"rules folder {path} does not exist")
        return path.resolve()
    return find_workspace().rules
