"""The rule catalogue: one entry per change kind, the single source of truth for explanations.

A rule's id is its kind name (never renamed once shipped). ``narrow`` names an instance the
old schema accepts and the new one rejects (what breaks a *new reader of old data*, i.e.
backward); ``widen`` one the new schema accepts and the old one rejects (what breaks an *old
reader of new data*, forward); an empty string means the change cannot do that. Placeholders:
``{name}`` (the property or keyword at the change's path), ``{old}``, ``{new}`` (the values).
``docs/rules.md`` is generated from this table (``evolvekit explain --markdown``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from evolvekit.schema.changes import KINDS, LENIENT_ONLY, mirror_kind

__all__ = ["RULES", "Rule", "default_severity", "rule", "rules_markdown"]


@dataclass(frozen=True, slots=True)
class Rule:
    """One catalogue entry (see the module docstring for the fields)."""

    id: str
    title: str
    narrow: str
    widen: str
    fix: str
    did: str  # the change, after its location: "maxLength lowered from {old} to {new}"

    @property
    def backward(self) -> str:
        """What happens to a new reader of old data."""
        if not self.narrow:
            return "A new reader accepts every event an old writer could send."
        lenient = " (under the strict policy; the lenient policy allows it)" if (
            KINDS[self.id] == LENIENT_ONLY) else ""  # fmt: skip
        return (f"A new reader of old data may reject {_generic(self.narrow)}: valid under the "
                f"old schema, invalid under the new one{lenient}.")  # fmt: skip

    @property
    def forward(self) -> str:
        """What happens to an old reader of new data."""
        if not self.widen:
            return "An old reader accepts every event a new writer can send."
        return (f"An old reader of new data may reject {_generic(self.widen)}: valid under the "
                "new schema, invalid under the old one.")  # fmt: skip


def _generic(text: str) -> str:
    return text.format(name="<property>", old="<old value>", new="<new value>")


def default_severity(kind: str) -> str:
    """Severity under the default mode (backward) and policy (strict)."""
    if KINDS[kind] != "compatible":
        return "breaking"
    mirror = mirror_kind(kind)
    if mirror is not None and KINDS[mirror] != "compatible":
        return "caution"
    return "info"


# --- bounds: twelve keywords, four kinds each -------------------------------------------

_BOUNDS: Final = (
    # (stem, keyword, what it bounds, upper?)
    ("max_length", "maxLength", "a string longer than {new} characters", True),
    ("min_length", "minLength", "a string shorter than {new} characters", False),
    ("maximum", "maximum", "a number above {new}", True),
    ("minimum", "minimum", "a number below {new}", False),
    ("exclusive_maximum", "exclusiveMaximum", "a number at or above {new}", True),
    ("exclusive_minimum", "exclusiveMinimum", "a number at or below {new}", False),
    ("max_properties", "maxProperties", "an object with more than {new} properties", True),
    ("min_properties", "minProperties", "an object with fewer than {new} properties", False),
    ("max_items", "maxItems", "an array longer than {new} items", True),
    ("min_items", "minItems", "an array shorter than {new} items", False),
    ("max_contains", "maxContains", "an array with more than {new} matching items", True),
    ("min_contains", "minContains", "an array with fewer than {new} matching items", False),
)


def _bound_rules() -> dict[str, tuple[str, str, str, str, str]]:
    out: dict[str, tuple[str, str, str, str, str]] = {}
    for stem, key, beyond, upper in _BOUNDS:
        tighter, looser = ("decreased", "increased") if upper else ("increased", "decreased")
        old_beyond = beyond.replace("{new}", "{old}")
        fix = f"Keep the old {key}, or accept both: version the subject or ask writers first."
        out[f"{stem}_added"] = (f"{key} added", beyond, "", fix, f"gained {key} {{new}}")
        out[f"{stem}_removed"] = (f"{key} removed", "", old_beyond,
                                  "Compatible for new readers; old readers keep the limit: "
                                  "keep it if old readers must read new data.",
                                  f"lost {key} {{old}}")  # fmt: skip
        out[f"{stem}_{tighter}"] = (f"{key} tightened", beyond, "", fix,
                                    f"{key} {tighter} from {{old}} to {{new}}")  # fmt: skip
        out[f"{stem}_{looser}"] = (f"{key} relaxed", "", old_beyond,
                                   "Compatible for new readers; keep the old limit if old "
                                   "readers must read new data.",
                                   f"{key} {looser} from {{old}} to {{new}}")  # fmt: skip
    return out


_ANNOTATION_FIX: Final = "Nothing to do: annotations do not change which events are valid."
_VERSION_FIX: Final = ("Add a new optional property instead, or publish a new subject version "
                       "and migrate readers and writers together.")  # fmt: skip

# kind: (title, narrow, widen, fix, did)
_TABLE: Final[dict[str, tuple[str, str, str, str, str]]] = {
    "id_changed": ("$id changed", "", "", _ANNOTATION_FIX, "changed $id from {old} to {new}"),
    "description_changed": ("description changed", "", "", _ANNOTATION_FIX,
                            "changed its description"),
    "title_changed": ("title changed", "", "", _ANNOTATION_FIX, "changed its title"),
    "default_changed": ("default changed", "", "",
                        "Nothing for validation; readers that fill in defaults see another "
                        "value, so tell them.", "changed its default from {old} to {new}"),
    "format_added": ("format added", "", "", _ANNOTATION_FIX, "gained format {new}"),
    "format_removed": ("format removed", "", "", _ANNOTATION_FIX, "lost format {old}"),
    "format_changed": ("format changed", "", "", _ANNOTATION_FIX,
                       "format changed from {old} to {new}"),
    "deprecated_added": ("marked deprecated", "", "", _ANNOTATION_FIX, "is now deprecated"),
    "deprecated_removed": ("no longer deprecated", "", "", _ANNOTATION_FIX,
                           "is no longer deprecated"),
    "examples_changed": ("examples changed", "", "", _ANNOTATION_FIX, "changed its examples"),
    "comment_changed": ("$comment changed", "", "", _ANNOTATION_FIX, "changed its $comment"),
    "read_only_changed": ("readOnly changed", "", "", _ANNOTATION_FIX,
                          "readOnly changed from {old} to {new}"),
    "write_only_changed": ("writeOnly changed", "", "", _ANNOTATION_FIX,
                           "writeOnly changed from {old} to {new}"),
    "content_changed": ("content media type or encoding changed", "", "", _ANNOTATION_FIX,
                        "content annotation changed from {old} to {new}"),
    "schema_added": ("schema added where anything was allowed", "a value the new schema {new} "
                     "does not describe", "", "Add the schema in a new optional property, or "
                     "publish a new version.", "gained the schema {new}"),
    "schema_removed": ("schema removed: anything allowed", "", "a value the old schema {old} did "
                       "not allow", "Compatible for new readers; keep it if old readers must "
                       "read new data.", "lost its schema {old}"),
    "type_extended": ("type widened", "", "a value of a type in {new} but not in {old}",
                      "Compatible for new readers; old readers must be updated first if they "
                      "read new data.", "type widened from {old} to {new}"),
    "type_narrowed": ("type narrowed", "a value of a type in {old} but not in {new}", "",
                      "Keep the old types, or publish a new version.",
                      "type narrowed from {old} to {new}"),
    "type_changed": ("type changed", "a value of type {old}", "a value of type {new}",
                     _VERSION_FIX, "type changed from {old} to {new}"),
    "pattern_added": ("pattern added", "a string that does not match {new}", "",
                      "Validate the pattern in the reader only, or version the subject.",
                      "gained pattern {new}"),
    "pattern_removed": ("pattern removed", "", "a string that does not match {old}",
                        "Compatible for new readers; keep it if old readers must read new data.",
                        "lost pattern {old}"),
    "pattern_changed": ("pattern changed", "a string matching {old} but not {new}",
                        "a string matching {new} but not {old}",
                        "Only widen a pattern (old|new), or version the subject.",
                        "pattern changed from {old} to {new}"),
    "multiple_of_added": ("multipleOf added", "a number that is not a multiple of {new}", "",
                          "Round in the writer without constraining the schema, or version it.",
                          "gained multipleOf {new}"),
    "multiple_of_removed": ("multipleOf removed", "", "a number that is not a multiple of {old}",
                            "Compatible for new readers.", "lost multipleOf {old}"),
    "multiple_of_expanded": ("multipleOf made coarser", "a multiple of {old} that is not a "
                             "multiple of {new}", "", "Use a divisor of the old multipleOf.",
                             "multipleOf changed from {old} to its multiple {new}"),
    "multiple_of_reduced": ("multipleOf made finer", "", "a multiple of {new} that is not a "
                            "multiple of {old}", "Compatible for new readers.",
                            "multipleOf changed from {old} to its divisor {new}"),
    "multiple_of_changed": ("multipleOf changed", "a multiple of {old} that is not a multiple of "
                            "{new}", "a multiple of {new} that is not a multiple of {old}",
                            "Use a divisor of the old multipleOf.",
                            "multipleOf changed from {old} to {new}"),
    "required_attribute_added": ("property made required", "an event without {name}", "",
                                 "Keep it optional with a default, or version the subject.",
                                 "is now required"),
    "required_attribute_with_default_added": (
        "property with a default made required", "", "",
        "Compatible when readers fill the default in; tell them.",
        "is now required (it has a default)"),
    "required_attribute_removed": ("property no longer required", "", "an event without {name}",
                                   "Compatible for new readers; old readers still require it.",
                                   "is no longer required"),
    "additional_properties_added": ("additional properties allowed", "",
                                    "an event with a property the old schema did not declare",
                                    "Compatible for new readers.",
                                    "now allows additional properties"),
    "additional_properties_removed": ("additional properties forbidden",
                                      "an event with an undeclared property", "",
                                      "Declare the properties writers send before closing the "
                                      "model.", "no longer allows additional properties"),
    "additional_properties_extended": ("additional properties widened", "", "an event with an "
                                       "undeclared property the old schema {old} rejected",
                                       "Compatible for new readers.",
                                       "additionalProperties widened from {old} to {new}"),
    "additional_properties_narrowed": ("additional properties narrowed", "an event with an "
                                       "undeclared property not matching {new}", "",
                                       "Declare known properties explicitly instead.",
                                       "additionalProperties narrowed from {old} to {new}"),
    "unevaluated_properties_added": ("unevaluated properties allowed", "",
                                     "an event with a property no subschema evaluates",
                                     "Compatible for new readers.",
                                     "now allows unevaluated properties"),
    "unevaluated_properties_removed": ("unevaluated properties forbidden",
                                       "an event with a property no subschema evaluates", "",
                                       "Declare the properties writers send first.",
                                       "no longer allows unevaluated properties"),
    "unevaluated_properties_extended": ("unevaluated properties widened", "",
                                        "an event with an unevaluated property {old} rejected",
                                        "Compatible for new readers.",
                                        "unevaluatedProperties widened from {old} to {new}"),
    "unevaluated_properties_narrowed": ("unevaluated properties narrowed",
                                        "an event with an unevaluated property not matching "
                                        "{new}", "", "Declare known properties explicitly.",
                                        "unevaluatedProperties narrowed from {old} to {new}"),
    "dependency_array_added": ("dependentRequired added", "an event with {name} but without "
                               "{new}", "", "Make the dependency a documented convention, or "
                               "version the subject.", "now requires {new} whenever it is present"),
    "dependency_array_removed": ("dependentRequired removed", "", "an event with {name} but "
                                 "without {old}", "Compatible for new readers.",
                                 "no longer requires {old} when present"),
    "dependency_array_extended": ("dependentRequired extended", "an event with {name} but without "
                                  "one of {new}", "", "Do not add names to a dependency.",
                                  "dependency grew from {old} to {new}"),
    "dependency_array_narrowed": ("dependentRequired narrowed", "", "an event with {name} but "
                                  "without one of {old}", "Compatible for new readers.",
                                  "dependency shrank from {old} to {new}"),
    "dependency_array_changed": ("dependentRequired changed", "an event with {name} but without "
                                 "one of {new}", "an event with {name} but without one of {old}",
                                 _VERSION_FIX, "dependency changed from {old} to {new}"),
    "dependency_schema_added": ("dependentSchemas added", "an event with {name} that does not "
                                "match {new}", "", "Version the subject.",
                                "gained a dependent schema"),
    "dependency_schema_removed": ("dependentSchemas removed", "", "an event with {name} that does "
                                  "not match {old}", "Compatible for new readers.",
                                  "lost its dependent schema"),
    "property_added_to_open_content_model": (
        "property added to an open object", "an event whose {name} fails {new}", "",
        "Use a new, unused name, or the lenient policy.",
        "was added to an object that allowed any property"),
    "required_property_added_to_open_content_model": (
        "required property added to an open object", "an event without {name}", "",
        "Add it as optional (with a default), or version the subject.",
        "was added as required"),
    "required_property_with_default_added_to_open_content_model": (
        "required property with a default added to an open object",
        "an event whose {name} fails {new}", "",
        "Use a new, unused name, or the lenient policy.",
        "was added as required with a default to an object that allowed any property"),
    "optional_property_added_to_open_content_model": (
        "optional property added to an open object",
        "an event whose {name} fails {new}", "",
        "Nothing if no old writer ever sent {name}: declare that with the lenient policy "
        "(subject.yaml policy: lenient) or an ignore entry.",
        "was added to an object that allowed any property"),
    "property_with_empty_schema_added_to_open_content_model": (
        "property accepting anything added to an open object", "", "",
        "Nothing to do.", "was added with an empty schema"),
    "required_property_added_to_unopen_content_model": (
        "required property added to a closed object", "an event without {name}", "",
        "Add it as optional (with a default), or version the subject.", "was added as required"),
    "required_property_with_default_added_to_unopen_content_model": (
        "required property with a default added to a closed object", "", "",
        "Compatible when readers fill the default in.", "was added as required with a default"),
    "optional_property_added_to_unopen_content_model": (
        "optional property added to a closed object", "", "an event carrying {name}",
        "Compatible for new readers; old readers of new data need it allowed first.",
        "was added as an optional property"),
    "property_removed_from_open_content_model": (
        "property removed from an open object", "", "an event whose {name} fails {old}",
        "Compatible for new readers; keep it if old readers read new data.",
        "was removed; the object still allows any property"),
    "property_with_false_removed_from_closed_content_model": (
        "forbidden property removed from a closed object", "", "", "Nothing to do.",
        "(declared false) was removed"),
    "property_removed_from_closed_content_model": (
        "property removed from a closed object", "an event carrying {name}", "",
        "Keep the property (deprecated), or open the object first.",
        "was removed from an object that allows no other property"),
    "property_removed_is_covered_by_partially_open_content_model": (
        "property removed, still allowed by the content model", "",
        "an event whose {name} the content model allows but the old schema of {name} rejects",
        "Compatible for new readers.", "was removed; the content model still accepts it"),
    "property_removed_not_covered_by_partially_open_content_model": (
        "property removed, not allowed by the content model", "an event carrying {name} with a "
        "value the content model rejects",
        "an event whose {name} the content model accepts but the old schema of {name} rejects",
        "Widen the content model, or keep the property.",
        "was removed and the content model rejects its old values"),
    "property_added_is_covered_by_partially_open_content_model": (
        "property added, already allowed by the content model", "", "",
        "Nothing to do.", "was added within what the content model already allowed"),
    "property_added_not_covered_by_partially_open_content_model": (
        "property added, beyond the content model", "an event whose {name} matched the old "
        "content model but not the new schema of {name}", "an event whose {name} the new schema "
        "accepts but the old content model rejected",
        "Make its schema accept what the content model allowed.",
        "was added with a schema narrower than the content model"),
    "reserved_property_removed": ("reserved property removed", "an event carrying the reserved "
                                  "name {name}", "", "Keep reserved names reserved.",
                                  "is no longer reserved"),
    "reserved_property_conflicts_with_property": (
        "reserved property used", "an event carrying {name}", "an event carrying {name}",
        "Pick another name.", "is declared although reserved"),
    "unique_items_added": ("uniqueItems added", "an array with a repeated item", "",
                           "Deduplicate in readers instead.", "now requires unique items"),
    "unique_items_removed": ("uniqueItems removed", "", "an array with a repeated item",
                             "Compatible for new readers.", "no longer requires unique items"),
    "additional_items_added": ("extra items allowed", "", "an array longer than the old tuple",
                               "Compatible for new readers.", "now allows items beyond the tuple"),
    "additional_items_removed": ("extra items forbidden", "an array longer than the tuple", "",
                                 "Keep extra items allowed.",
                                 "no longer allows items beyond the tuple"),
    "additional_items_extended": ("extra items widened", "", "an array with an extra item {old} "
                                  "rejected", "Compatible for new readers.",
                                  "extra items widened from {old} to {new}"),
    "additional_items_narrowed": ("extra items narrowed", "an array with an extra item not "
                                  "matching {new}", "", "Keep the old schema for extra items.",
                                  "extra items narrowed from {old} to {new}"),
    "unevaluated_items_added": ("unevaluated items allowed", "", "an array with an item no "
                                "subschema evaluates", "Compatible for new readers.",
                                "now allows unevaluated items"),
    "unevaluated_items_removed": ("unevaluated items forbidden", "an array with an item no "
                                  "subschema evaluates", "", "Keep them allowed.",
                                  "no longer allows unevaluated items"),
    "unevaluated_items_extended": ("unevaluated items widened", "", "an array with an "
                                   "unevaluated item {old} rejected",
                                   "Compatible for new readers.",
                                   "unevaluatedItems widened from {old} to {new}"),
    "unevaluated_items_narrowed": ("unevaluated items narrowed", "an array with an unevaluated "
                                   "item not matching {new}", "", "Keep the old schema.",
                                   "unevaluatedItems narrowed from {old} to {new}"),
    "item_added_to_open_content_model": (
        "tuple item added where any item was allowed", "an array whose item here an old "
        "writer filled with a value the new schema rejects", "",
        "Give the new item an empty schema, or version the subject.",
        "was added to a tuple that allowed any further item"),
    "item_with_empty_schema_added_to_open_content_model": (
        "tuple item accepting anything added", "", "", "Nothing to do.",
        "was added with an empty schema"),
    "item_added_to_closed_content_model": (
        "tuple item added where none was allowed", "", "an array with this extra item",
        "Compatible for new readers.", "was added to a tuple that allowed no further item"),
    "item_removed_from_open_content_model": (
        "tuple item removed, any item allowed", "", "an array whose item here violates the "
        "old item schema", "Compatible for new readers.", "was removed; any item is allowed"),
    "item_with_false_removed_from_closed_content_model": (
        "forbidden tuple item removed", "", "", "Nothing to do.", "(declared false) was removed"),
    "item_removed_from_closed_content_model": (
        "tuple item removed, no further item allowed", "an array that has this item", "",
        "Keep the item, or allow extra items first.", "was removed from a closed tuple"),
    "item_removed_is_covered_by_partially_open_content_model": (
        "tuple item removed, still allowed", "", "", "Nothing to do.",
        "was removed; extra items still accept it"),
    "item_removed_not_covered_by_partially_open_content_model": (
        "tuple item removed, not allowed by extra items", "an array whose item here the "
        "extra-item schema rejects", "an array whose item here the extra-item schema accepts "
        "but the old item schema rejects", "Widen the extra-item schema.",
        "was removed and the extra-item schema rejects its old values"),
    "item_added_is_covered_by_partially_open_content_model": (
        "tuple item added within extra items", "", "", "Nothing to do.",
        "was added within what extra items allowed"),
    "item_added_not_covered_by_partially_open_content_model": (
        "tuple item added beyond extra items", "an array whose item here matched the old "
        "extra-item schema but not the new item schema", "an array whose item here the new "
        "item schema accepts but the old extra-item schema rejected",
        "Widen the new item's schema.",
        "was added with a schema narrower than the old extra items"),
    "enum_array_extended": ("enum values added", "", "an event using a value in {new} but not in "
                            "{old}", "Compatible for new readers; update old readers first "
                            "if they read new data.", "enum widened from {old} to {new}"),
    "enum_array_narrowed": ("enum values removed", "an event using a value in {old} but not in "
                            "{new}", "", "Keep the values (deprecate them in the description).",
                            "enum narrowed from {old} to {new}"),
    "enum_array_changed": ("enum values replaced", "an event using a value in {old} but not in "
                           "{new}", "an event using a value in {new} but not in {old}",
                           "Add the new values without removing the old ones.",
                           "enum changed from {old} to {new}"),
    "combined_type_extended": ("combinator branches widened", "", "a value only the new branches "
                               "accept", "Compatible for new readers.",
                               "now combines more branches"),
    "combined_type_changed": ("combinator changed", "a value the old combinator accepts and the "
                              "new one does not", "a value the new combinator accepts and the "
                              "old one does not", _VERSION_FIX, "changed its combinator"),
    "product_type_extended": ("allOf gained a branch", "a value that fails the new branch", "",
                              "Do not add constraints to allOf, or version the subject.",
                              "allOf gained a branch"),
    "product_type_narrowed": ("allOf lost a branch", "", "a value the removed branch rejected",
                              "Compatible for new readers.", "allOf lost a branch"),
    "sum_type_extended": ("anyOf/oneOf gained a branch", "", "a value only the new branch "
                          "accepts", "Compatible for new readers.", "gained a branch"),
    "sum_type_narrowed": ("anyOf/oneOf lost a branch", "a value only the removed branch accepted",
                          "", "Keep the branch.", "lost a branch"),
    "combined_type_subschemas_changed": (
        "combinator branches changed", "a value an old branch accepts and no new branch does",
        "a value a new branch accepts and no old branch does", _VERSION_FIX,
        "changed its branches"),
    "not_type_extended": ("not widened: more values excluded", "a value the new not-schema "
                          "excludes", "", "Keep the old exclusion.", "now excludes more values"),
    "not_type_narrowed": ("not narrowed: fewer values excluded", "", "a value the old not-schema "
                          "excluded", "Compatible for new readers.", "now excludes fewer values"),
    "contains_added": ("contains added", "an array without a matching item", "",
                       "Version the subject.", "now requires a matching item"),
    "contains_removed": ("contains removed", "", "an array without a matching item",
                         "Compatible for new readers.", "no longer requires a matching item"),
    "property_names_added": ("propertyNames added", "an object with a name that fails {new}",
                             "", "Version the subject.", "gained propertyNames {new}"),
    "property_names_removed": ("propertyNames removed", "", "an object with a name that fails "
                               "{old}", "Compatible for new readers.",
                               "lost propertyNames {old}"),
    "pattern_property_added": ("patternProperties entry added", "an event with a property "
                               "matching the pattern whose value fails {new}",
                               "an event with a property matching the pattern that the old "
                               "content model rejected",
                               "Give the pattern a schema that accepts what was allowed.",
                               "gained a pattern property"),
    "pattern_property_removed": ("patternProperties entry removed", "an event with a property "
                                 "matching the pattern that the content model now rejects",
                                 "an event with a property matching the pattern whose value "
                                 "fails {old}", "Keep the pattern, or let additionalProperties "
                                 "accept its values.", "lost a pattern property"),
    "conditional_added": ("if/then/else added", "an event that meets the condition but fails "
                          "its branch", "", "Version the subject.", "gained a condition"),
    "conditional_removed": ("if/then/else removed", "", "an event the old condition rejected",
                            "Compatible for new readers.", "lost its condition"),
    "conditional_changed": ("if/then/else changed", "an event the new condition rejects",
                            "an event the old condition rejected", _VERSION_FIX,
                            "changed its condition"),
}


def _build() -> dict[str, Rule]:
    rows = {**_bound_rules(), **_TABLE}
    return {kind: Rule(kind, *rows[kind]) for kind in KINDS if kind in rows}


RULES: Final[dict[str, Rule]] = _build()


def rule(kind: str) -> Rule:
    """The catalogue entry of ``kind`` (KeyError for an unknown kind)."""
    return RULES[kind]


def rules_markdown() -> str:
    """docs/rules.md, generated from the catalogue."""
    lines = [
        "# Rule catalogue",
        "",
        "<!-- Generated by `evolvekit explain --markdown > docs/rules.md`; do not edit. -->",
        "",
        f"{len(RULES)} rules, one per change kind. The id is the kind name printed in reports. "
        "Severity is the default (mode backward, policy strict): breaking fails a check, "
        "caution breaks only the other direction, info breaks nothing.",
        "",
        "| Rule | Severity | Title |",
        "| --- | --- | --- |",
    ]
    lines += [f"| [`{r.id}`](#{r.id}) | {default_severity(r.id)} | {r.title} |"
              for r in RULES.values()]  # fmt: skip
    for r in RULES.values():
        lines += ["", f"## {r.id}", "", f"**{r.title}** (default severity: "
                  f"{default_severity(r.id)})", "",
                  f"- New reader of old data (backward): {r.backward}",
                  f"- Old reader of new data (forward): {r.forward}",
                  f"- How to make it compatible: {_generic(r.fix)}"]  # fmt: skip
    return "\n".join(lines) + "\n"
