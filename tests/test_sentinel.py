from __future__ import annotations

import copy
import pickle

import evolvekit as ek
import evolvekit.schema.changes as changes
from evolvekit.sentinel import MISSING, Missing


def test_one_sentinel_everywhere() -> None:
    assert ek.MISSING is MISSING
    assert changes.MISSING is MISSING
    assert Missing() is MISSING


def test_sentinel_is_falsy_named_and_survives_copies() -> None:
    assert not MISSING
    assert repr(MISSING) == "MISSING"
    assert copy.deepcopy(MISSING) is MISSING
    assert pickle.loads(pickle.dumps(MISSING)) is MISSING
    assert MISSING is not None


def test_the_wildcard_is_a_singleton_too() -> None:
    from evolvekit.mapping.paths import WILDCARD, WildcardType

    assert WildcardType() is WILDCARD and repr(WILDCARD) == "WILDCARD"
    assert pickle.loads(pickle.dumps(WILDCARD)) is WILDCARD
    assert copy.deepcopy(WILDCARD) is WILDCARD
    assert bool(WILDCARD) is True and WILDCARD is not MISSING
