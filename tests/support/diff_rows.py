"""The row form of a schema diff used by the rule-by-rule diff tests
(tests/schema/test_diff_walk_rules.py, tests/schema/test_diff_object_rules.py).

Each change is ``(kind, path, old, new, breaks)``: an absent old/new value is ``A``
("MISSING"), ``breaks`` is spelt "b" (backward), "f" (forward), "bf" (both) or "" (neither).
"""

from __future__ import annotations

from typing import Any

from evolvekit.schema.changes import MISSING
from evolvekit.schema.diff import diff_schemas

A = "MISSING"  # an absent old/new value
Row = tuple[str, str, Any, Any, str]


def rows(old: Any, new: Any) -> list[Row]:
    """The changes of ``diff_schemas(old, new)`` as rows, in the diff's order."""
    out = []
    for c in diff_schemas(old, new).changes:
        before = A if c.old is MISSING else c.old
        after = A if c.new is MISSING else c.new
        out.append((c.kind, c.path, before, after, "".join(d[0] for d in sorted(c.breaks))))
    return out
