"""``to_dataframe`` support: records to a pandas DataFrame, with a clear error without pandas.

pandas comes with the ``notebook`` extra (``pip install 'evolvekit[notebook]'``); nothing in
evolvekit imports it until a ``to_dataframe()`` is called.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from evolvekit.errors import ConfigError

DEFAULT_KEY_FIELD = "interactionId"


def dataframe(records: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> Any:
    """A ``pandas.DataFrame`` of ``records`` with exactly ``columns`` in that order."""
    try:
        import pandas
    except ImportError:
        raise ConfigError(
            "to_dataframe() needs pandas: pip install 'evolvekit[notebook]' (the notebook extra)"
        ) from None
    rows = [[record.get(column) for column in columns] for record in records]
    return pandas.DataFrame(rows, columns=list(columns))


def business_key(event: Any, key_field: str = DEFAULT_KEY_FIELD) -> str | None:
    """The event's business key: ``key_field`` (a dotted path) when present, else None."""
    value: Any = event
    for part in key_field.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return None if value is None else str(value)


def change_records(changes: Iterable[Any], mode: str) -> list[dict[str, Any]]:
    """Diff changes as records; absent values are None, explanation/example when known."""
    from evolvekit.schema.changes import MISSING

    def value(v: Any) -> Any:
        return None if v is MISSING else v

    return [
        {
            "severity": c.severity(mode),
            "path": c.path,
            "kind": c.kind,
            "old": value(c.old),
            "new": value(c.new),
            "breaks": ", ".join(sorted(c.breaks)),
            "explanation": getattr(c, "explanation", None),
            "example": value(getattr(c, "example", None)),
        }
        for c in changes
    ]
