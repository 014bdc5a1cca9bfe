"""One sentence per change: where, what changed, and who breaks (``Change.explanation``).

Built from the rule catalogue (``rules.py``) and the change's own path and values, e.g.
"agentId is now required: an event without agentId from a 1.0.0 producer is rejected by a
2.0.0 reader." Pure and cheap (string formatting only): every change of every diff gets one.
"""

from __future__ import annotations

from typing import Any, Final

from evolvekit import jsonio
from evolvekit.errors import InputError
from evolvekit.schema.changes import KINDS, LENIENT_ONLY, MISSING
from evolvekit.schema.rules import RULES

__all__ = ["explain_change", "readable_location"]

_VALUE_WIDTH: Final = 48
_NAMED: Final = frozenset({"properties", "dependentRequired", "dependentSchemas", "dependencies",
                           "required"})  # fmt: skip
_SKIPPED: Final = frozenset({"$defs", "definitions"})
_ITEMS: Final[dict[str, str]] = {"contains": "[contains]", "additionalItems": "[extra]",
                                 "unevaluatedItems": "[extra]",
                                 "additionalProperties": ".(other)",
                                 "unevaluatedProperties": ".(other)", "not": " (not)",
                                 "propertyNames": ".(names)", "if": " (if)", "then": " (then)",
                                 "else": " (else)"}  # fmt: skip
_BRANCHES: Final = frozenset({"anyOf", "oneOf", "allOf", "prefixItems"})


def _value(value: Any) -> str:
    if value is MISSING:
        return "nothing"
    try:
        text = jsonio.dumps_str(value)
    except InputError:
        text = repr(value)
    return text if len(text) <= _VALUE_WIDTH else text[: _VALUE_WIDTH - 3] + "..."


def readable_location(path: str) -> tuple[str, str]:
    """(where, name) for a report path: ``#/properties/a/properties/b/maxLength`` ->
    (``a.b``, ``b``); the event itself at the root. A trailing keyword is left to the rule."""
    raw = path.removeprefix("#").split("/")
    tokens = [t.replace("~1", "/").replace("~0", "~") for t in raw if t != ""]
    parts: list[str] = []
    name = ""
    index = 0
    while index < len(tokens):
        token = tokens[index]
        last = index == len(tokens) - 1
        if token in _NAMED and not last:
            name = tokens[index + 1]
            parts.append(("." if parts else "") + name)
            index += 2
        elif token == "patternProperties" and not last:
            parts.append(f"{'.' if parts else ''}(names matching {tokens[index + 1]})")
            index += 2
        elif token in _SKIPPED and not last:
            index += 2
        elif token == "items":
            step = tokens[index + 1] if not last and tokens[index + 1].isdigit() else ""
            parts.append(f"[{step}]")
            index += 2 if step else 1
        elif token in _BRANCHES and not last:
            parts.append(f" ({token} #{tokens[index + 1]})")
            index += 2
        elif token in _ITEMS and not last:
            parts.append(_ITEMS[token])
            index += 1
        else:
            index += 1  # a keyword: the rule's wording names it
    where = "".join(parts).strip()
    return (where or "the event"), (name or where or "the event")


def _who(label: str, role: str) -> str:
    version = label.rsplit("@", 1)[-1] if "@" in label else label
    article = "an" if version[:1].lower() in "aeiou8" else "a"
    return f"{article} {version} {role}"


def explain_change(
    kind: str, path: str, old: Any, new: Any, breaks: frozenset[str],
    old_label: str = "old", new_label: str = "new",
) -> str:  # fmt: skip
    """The sentence for one change (see the module docstring)."""
    entry = RULES.get(kind)
    where, name = readable_location(path)
    values = {"name": name, "old": _value(old), "new": _value(new)}
    did = entry.did.format(**values) if entry else kind.replace("_", " ")
    subject = f"{where} {did}"
    reasons = []
    if "backward" in breaks:
        bad = entry.narrow.format(**values) if entry and entry.narrow else (
            f"an event valid under {old_label}")  # fmt: skip
        reasons.append(f"{bad}, written by {_who(old_label, 'producer')}, is rejected by "
                       f"{_who(new_label, 'reader')}")  # fmt: skip
    if "forward" in breaks:
        bad = entry.widen.format(**values) if entry and entry.widen else (
            f"an event valid under {new_label}")  # fmt: skip
        reasons.append(f"{bad}, written by {_who(new_label, 'producer')}, is rejected by "
                       f"{_who(old_label, 'reader')}")  # fmt: skip
    if not reasons:
        reasons.append(_why_compatible(kind, name))
    return f"{subject}: {'; and '.join(reasons)}."


def _why_compatible(kind: str, name: str) -> str:
    entry = RULES.get(kind)
    if entry is None or not (entry.narrow or entry.widen):
        return "no event changes validity in either direction"
    if KINDS[kind] == LENIENT_ONLY:
        return f"compatible under the lenient policy, which assumes no old producer sent {name}"
    return "compatible here: the rest of the schema already decides the events it could affect"
