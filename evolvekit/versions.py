"""Semantic versions as the registry and the rules folder use them (``2.1.0``, ``v2.1.0``)."""

from __future__ import annotations

import re
from functools import total_ordering

from evolvekit.errors import VersionError

_SEMVER = re.compile(
    r"^v?(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)"
    r"(?:-(?P<pre>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
    r"(?:\+(?P<build>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)


@total_ordering
class Version:
    """A parsed semantic version, ordered by SemVer 2.0 precedence (build metadata ignored)."""

    __slots__ = ("build", "major", "minor", "patch", "pre")

    def __init__(self, text: str) -> None:
        match = _SEMVER.match(text.strip())
        if not match:
            raise VersionError(f"{text!r} is not a semantic version (expected e.g. 2.1.0)")
        self.major = int(match["major"])
        self.minor = int(match["minor"])
        self.patch = int(match["patch"])
        self.pre: tuple[str, ...] = tuple(match["pre"].split(".")) if match["pre"] else ()
        self.build: str | None = match["build"]

    def _key(self) -> tuple[int, int, int, int, tuple[tuple[int, int, str], ...]]:
        # A release sorts after its pre-releases; numeric identifiers sort before alphanumeric.
        pre = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.pre)
        return (self.major, self.minor, self.patch, 0 if self.pre else 1, pre)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Version) and self._key() == other._key()

    def __lt__(self, other: Version) -> bool:
        return self._key() < other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.pre:
            text += "-" + ".".join(self.pre)
        if self.build:
            text += "+" + self.build
        return text

    def __repr__(self) -> str:
        return f"Version({str(self)!r})"


def normalize_version(text: str) -> str:
    """``"v2.1.0"`` -> ``"2.1.0"``; raises VersionError for anything not semantic."""
    return str(Version(text))


def sort_versions(versions: list[str]) -> list[str]:
    """Versions in ascending SemVer order."""
    return sorted(versions, key=Version)
