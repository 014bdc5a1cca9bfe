"""The vocabulary of a schema diff: Change, RenameHint, SchemaDiff, and the kind catalogue.

Directions (``tests/schema/oracles/README.md``): *backward* compatible means every instance valid
under the OLD schema is valid under the NEW one; *forward* the reverse; *full* both.
A change is named from the backward direction (old -> new) and records which directions
it breaks; ``severity(mode)`` is derived from that.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Final, Literal

from evolvekit.sentinel import MISSING as MISSING  # re-exported: evolvekit.schema.changes.MISSING

Severity = Literal["breaking", "caution", "info"]

MODES: Final[tuple[str, ...]] = ("backward", "forward", "full")
POLICIES: Final[tuple[str, ...]] = ("strict", "lenient")
MODE_DIRECTIONS: Final[dict[str, frozenset[str]]] = {
    "backward": frozenset({"backward"}),
    "forward": frozenset({"forward"}),
    "full": frozenset({"backward", "forward"}),
}
SEVERITY_ORDER: Final[dict[str, int]] = {"breaking": 0, "caution": 1, "info": 2}
CHANGE_COLUMNS: Final = ("severity", "path", "kind", "old", "new", "breaks", "explanation",
                         "example")


def check_mode(mode: str) -> str:
    base = mode.removesuffix("_transitive")
    if base not in MODES:
        raise ValueError(f"unknown compatibility mode {mode!r}; expected one of {', '.join(MODES)}")
    return base


@dataclass(frozen=True, slots=True)
class Change:
    """One difference between two schemas, at a JSON pointer of the old/new schema."""

    kind: str
    path: str
    old: Any = MISSING
    new: Any = MISSING
    breaks: frozenset[str] = frozenset()
    # A checked counterexample event (examples.py), MISSING when none was built or proven.
    example: Any = MISSING
    # The reason of the subject.yaml ignore entry that matched this change ("" = none).
    ignored: str = ""
    # The two sides' labels the explanation names (e.g. "orders@1.0.0", "orders@2.0.0").
    labels: tuple[str, str] = field(default=("old", "new"), repr=False, compare=False)
    _why: str = field(default="", repr=False, compare=False)  # the explanation, once built

    @property
    def explanation(self) -> str:
        """One sentence naming the location, the old and new constraint and who breaks
        (explain.py); built on first use, so a diff of many changes pays only for those read."""
        if not self._why:
            object.__setattr__(self, "_why", self.explain(*self.labels))
        return self._why

    def severity(self, mode: str = "backward") -> Severity:
        """breaking: breaks ``mode``; caution: breaks only the other direction; info: nothing."""
        if self.breaks & MODE_DIRECTIONS[check_mode(mode)]:
            return "breaking"
        if self.breaks:
            return "caution"
        return "info"

    def to_dict(self, mode: str = "backward") -> dict[str, Any]:
        """JSON form (DESIGN.md): an absent old/new is left out."""
        out: dict[str, Any] = {"kind": self.kind, "path": self.path}
        if self.old is not MISSING:
            out["old"] = self.old
        if self.new is not MISSING:
            out["new"] = self.new
        out["breaks"] = sorted(self.breaks)
        out["severity"] = self.severity(mode)
        out["explanation"] = self.explanation
        if self.example is not MISSING:
            out["example"] = self.example
        if self.ignored:
            out["ignored"] = self.ignored
        return out

    def explain(self, old_label: str = "old", new_label: str = "new") -> str:
        """The explanation worded with these labels (``explanation`` uses ``labels``)."""
        if self._why and (old_label, new_label) == self.labels:
            return self._why
        from evolvekit.schema.explain import explain_change

        return explain_change(self.kind, self.path, self.old, self.new, self.breaks, old_label,
                              new_label)  # fmt: skip

    def __str__(self) -> str:
        return f"{self.kind} {self.path}"


@dataclass(frozen=True, slots=True)
class RenameHint:
    """A removed and an added property that look like one renamed: a hint, never a verdict."""

    removed: str
    added: str
    similarity: float

    def to_dict(self) -> dict[str, Any]:
        return {"removed": self.removed, "added": self.added, "similarity": self.similarity}


@dataclass
class SchemaDiff:
    """Every change between an old and a new schema, and the verdicts derived from them."""

    changes: list[Change]
    hints: list[RenameHint] = field(default_factory=list)
    policy: str = "strict"
    old_label: str = "old"
    new_label: str = "new"
    # Where the report's mode and policy came from: "flag", "subject.yaml" or "default";
    # ``configured_mode`` is the subject's mode as written (e.g. "none"), when one applies.
    mode_source: str = "default"
    policy_source: str = "default"
    configured_mode: str | None = None

    def relabel(self, old_label: str, new_label: str) -> None:
        """Name the two sides (e.g. ``orders@1.0.0``) and reword every explanation with them."""
        self.old_label, self.new_label = old_label, new_label
        labels = (old_label, new_label)
        self.changes = [replace(c, labels=labels, _why="") for c in self.changes]

    def breaking(self, mode: str = "backward") -> list[Change]:
        directions = MODE_DIRECTIONS[check_mode(mode)]
        return [c for c in self.changes if c.breaks & directions and not c.ignored]

    def compatible(self, mode: str = "backward") -> bool:
        return not self.breaking(mode)

    @property
    def backward(self) -> bool:
        return self.compatible("backward")

    @property
    def forward(self) -> bool:
        return self.compatible("forward")

    def __bool__(self) -> bool:
        return bool(self.changes)

    def to_dict(self, mode: str = "backward") -> dict[str, Any]:
        """DESIGN.md's JSON report."""
        configured = self.configured_mode not in (None, check_mode(mode))
        return {
            "compatible": self.compatible(mode),
            "mode": check_mode(mode),
            "policy": self.policy,
            "mode_source": self.mode_source,
            "policy_source": self.policy_source,
            **({"configured_mode": self.configured_mode} if configured else {}),
            "backward": self.backward,
            "forward": self.forward,
            "changes": [c.to_dict(mode) for c in self.changes],
            "hints": [h.to_dict() for h in self.hints],
        }

    def sorted_changes(self, mode: str = "backward") -> list[Change]:
        """The changes breaking first, then caution, then info (document order within)."""
        return sorted(self.changes, key=lambda c: SEVERITY_ORDER[c.severity(mode)])

    def to_dataframe(self, mode: str = "backward") -> Any:
        """A pandas DataFrame, one row per change, sorted breaking, caution, info for ``mode``
        (needs the ``notebook`` extra)."""
        from evolvekit.frames import change_records, dataframe

        return dataframe(change_records(self.sorted_changes(mode), mode), CHANGE_COLUMNS)


# --- the kind catalogue ---------------------------------------------------------------
#
# Each kind's class says whether it is backward compatible on its own: "compatible"
# always, "compatible_lenient_only" only under the lenient content-model policy, or
# "incompatible". The diff walk classifies each change in the direction it is walking
# (old -> new for backward, new -> old for forward), so one table serves both directions.

COMPATIBLE: Final = "compatible"
LENIENT_ONLY: Final = "compatible_lenient_only"
INCOMPATIBLE: Final = "incompatible"

# All 132 of Confluent's identifiers, lower-cased (confluent_difference_types.tsv).
_CONFLUENT_TABLE = """
id_changed c|description_changed c|title_changed c|default_changed c|schema_added i
schema_removed c|type_extended c|type_narrowed i|type_changed i|max_length_added i
max_length_removed c|max_length_increased c|max_length_decreased i|min_length_added i
min_length_removed c|min_length_increased i|min_length_decreased c|pattern_added i
pattern_removed c|pattern_changed i|maximum_added i|maximum_removed c|maximum_increased c
maximum_decreased i|minimum_added i|minimum_removed c|minimum_increased i
minimum_decreased c|exclusive_maximum_added i|exclusive_maximum_removed c
exclusive_maximum_increased c|exclusive_maximum_decreased i|exclusive_minimum_added i
exclusive_minimum_removed c|exclusive_minimum_increased i|exclusive_minimum_decreased c
multiple_of_added i|multiple_of_removed c|multiple_of_expanded i|multiple_of_reduced c
multiple_of_changed i|required_attribute_added i|required_attribute_with_default_added c
required_attribute_removed c|max_properties_added i|max_properties_removed c
max_properties_increased c|max_properties_decreased i|min_properties_added i
min_properties_removed c|min_properties_increased i|min_properties_decreased c
additional_properties_added c|additional_properties_removed l
additional_properties_extended c|additional_properties_narrowed l|dependency_array_added i
dependency_array_removed c|dependency_array_extended i|dependency_array_narrowed c
dependency_array_changed i|dependency_schema_added i|dependency_schema_removed c
property_added_to_open_content_model i|required_property_added_to_open_content_model i
required_property_with_default_added_to_open_content_model l
optional_property_added_to_open_content_model l
property_with_empty_schema_added_to_open_content_model c
required_property_added_to_unopen_content_model i
required_property_with_default_added_to_unopen_content_model c
optional_property_added_to_unopen_content_model c|property_removed_from_open_content_model c
property_with_false_removed_from_closed_content_model c
property_removed_from_closed_content_model l
property_removed_is_covered_by_partially_open_content_model c
property_removed_not_covered_by_partially_open_content_model l
property_added_is_covered_by_partially_open_content_model c
property_added_not_covered_by_partially_open_content_model l|reserved_property_removed i
reserved_property_conflicts_with_property i|unevaluated_properties_added c
unevaluated_properties_removed l|unevaluated_properties_extended c
unevaluated_properties_narrowed l|max_items_added i|max_items_removed c
max_items_increased c|max_items_decreased i|min_items_added i|min_items_removed c
min_items_increased i|min_items_decreased c|max_contains_added i|max_contains_removed c
max_contains_increased c|max_contains_decreased i|min_contains_added i
min_contains_removed c|min_contains_increased i|min_contains_decreased c
unique_items_added i|unique_items_removed c|additional_items_added c
additional_items_removed i|additional_items_extended c|additional_items_narrowed i
unevaluated_items_added c|unevaluated_items_removed i|unevaluated_items_extended c
unevaluated_items_narrowed i|item_added_to_open_content_model i
item_with_empty_schema_added_to_open_content_model c|item_added_to_closed_content_model c
item_removed_from_open_content_model c|item_with_false_removed_from_closed_content_model c
item_removed_from_closed_content_model i
item_removed_is_covered_by_partially_open_content_model c
item_removed_not_covered_by_partially_open_content_model i
item_added_is_covered_by_partially_open_content_model c
item_added_not_covered_by_partially_open_content_model i|enum_array_extended c
enum_array_narrowed i|enum_array_changed i|combined_type_extended c|combined_type_changed i
product_type_extended i|product_type_narrowed c|sum_type_extended c|sum_type_narrowed i
combined_type_subschemas_changed i|not_type_extended i|not_type_narrowed c
"""

# evolvekit's own kinds, for what Confluent does not diff. Annotations never break.
_OWN_TABLE = """
format_added c|format_removed c|format_changed c|deprecated_added c|deprecated_removed c
examples_changed c|comment_changed c|read_only_changed c|write_only_changed c
content_changed c|contains_added i|contains_removed c|property_names_added i
property_names_removed c|pattern_property_added i|pattern_property_removed i
conditional_added i|conditional_removed c|conditional_changed i
"""

_CLASS_CODES: Final[dict[str, str]] = {"c": COMPATIBLE, "l": LENIENT_ONLY, "i": INCOMPATIBLE}


def _parse_table(table: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in table.strip().splitlines():
        for item in line.split("|"):
            name, code = item.split()
            out[name] = _CLASS_CODES[code]
    return out


CONFLUENT_KINDS: Final[dict[str, str]] = _parse_table(_CONFLUENT_TABLE)
OWN_KINDS: Final[dict[str, str]] = _parse_table(_OWN_TABLE)
KINDS: Final[dict[str, str]] = {**CONFLUENT_KINDS, **OWN_KINDS}


# Kinds that describe annotations only: they never break, whatever else the walk decides.
ANNOTATION_KINDS: Final[frozenset[str]] = frozenset({
    "id_changed", "title_changed", "description_changed", "default_changed", "examples_changed",
    "comment_changed", "read_only_changed", "write_only_changed", "content_changed",
    "format_added", "format_removed", "format_changed", "deprecated_added", "deprecated_removed",
})  # fmt: skip


def is_compatible_kind(kind: str, policy: str = "strict") -> bool:
    """Whether a change of ``kind`` keeps the walked direction compatible under ``policy``."""
    cls = KINDS[kind]
    return cls == COMPATIBLE or (cls == LENIENT_ONLY and policy == "lenient")


_MIRROR_WORDS: Final[tuple[tuple[str, str], ...]] = (
    ("added", "removed"),
    ("increased", "decreased"),
    ("extended", "narrowed"),
    ("expanded", "reduced"),
    ("_to_", "_from_"),
)


def mirror_kind(kind: str) -> str | None:
    """The kind the same difference gets when walked the other way (new -> old), if any.

    ``maximum_increased`` <-> ``maximum_decreased``, ``*_changed`` is its own mirror;
    ``None`` when the swapped name is not a catalogued kind.
    """
    if kind.endswith("_changed"):
        return kind
    swapped = kind
    for one, two in _MIRROR_WORDS:
        swapped = swapped.replace(one, "\0").replace(two, one).replace("\0", two)
    return swapped if swapped in KINDS else None
