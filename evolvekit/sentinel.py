"""``MISSING``: the one marker for "no value here", as opposed to JSON ``null``.

A neutral module (no imports from the rest of evolvekit) so the schema diff, the mapping
engine and the report all share it without one package depending on another for it.
``Missing`` is its type, for annotations and ``isinstance`` checks.
"""

from __future__ import annotations

from typing import Final


class Missing:
    """Marks a value that is absent (as opposed to JSON null); there is one instance."""

    _instance: Missing | None = None

    def __new__(cls) -> Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "MISSING"


MISSING: Final = Missing()
