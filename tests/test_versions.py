import pytest

from evolvekit.errors import VersionError
from evolvekit.versions import Version, normalize_version, sort_versions


def test_orders_semantically_not_lexically() -> None:
    assert sort_versions(["10.0.0", "2.1.0", "2.0.0", "v1.0.0"]) == [
        "v1.0.0",
        "2.0.0",
        "2.1.0",
        "10.0.0",
    ]


def test_prerelease_sorts_before_release() -> None:
    assert Version("2.0.0-rc.1") < Version("2.0.0")
    assert Version("2.0.0-alpha") < Version("2.0.0-alpha.1") < Version("2.0.0-beta")
    assert Version("1.0.0-2") < Version("1.0.0-10")


def test_leading_v_is_dropped_and_build_ignored_in_order() -> None:
    assert normalize_version("v2.1.0") == "2.1.0"
    assert Version("1.0.0+build.5") == Version("1.0.0")


@pytest.mark.parametrize("bad", ["2.1", "01.0.0", "1.0.0.0", "latest", "", "1.0.0-"])
def test_rejects_non_semver(bad: str) -> None:
    with pytest.raises(VersionError, match="not a semantic version"):
        Version(bad)
