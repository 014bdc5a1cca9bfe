"""``MISSING``: the one marker for "no value here", as opposed to JSON ``null``.

A neutral module (no imports from the rest of evolvekit) so the schema diff, the mapping
engine and the report all share it without one package depending on another for it.
``Missing`` is its type, for annotations and ``isinstance`` checks.
"""

from __future__ import annotations

from typing import Any, ClassVar, Final, Self


class Singleton:
    """A class of one instance, shown and pickled as ``name``: the module-level global that
    holds it (so ``copy``/``pickle`` give the same object back)."""

    name: ClassVar[str]

    def __new__(cls) -> Self:
        instance: Any = cls.__dict__.get("_instance")
        if instance is None:
            instance = super().__new__(cls)
            cls._instance = instance
        return instance  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return self.name

    def __reduce__(self) -> str:
        return self.name


class Missing(Singleton):
    """Marks a value that is absent (as opposed to JSON null); there is one instance."""

    name = "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Final = Missing()
