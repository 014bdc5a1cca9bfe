from evolvekit.errors import EvolveKitError, MappingError, RuleSetError, SchemaError


def test_location_renders_file_line_column_and_pointer() -> None:
    err = SchemaError(
        "dangling $ref", file="schemas/a/1.0.0.json", line=3, column=7, pointer="#/properties/x"
    )
    assert str(err) == "schemas/a/1.0.0.json:3:7 #/properties/x: dangling $ref"
    assert isinstance(err, EvolveKitError)


def test_message_alone_when_nothing_is_known() -> None:
    assert str(EvolveKitError("boom")) == "boom"


def test_rule_index_is_named_when_no_line() -> None:
    assert str(RuleSetError("unknown transform 'foo'", rule=2)) == "rule 2: unknown transform 'foo'"


def test_mapping_error_names_rule_path_and_transform() -> None:
    err = MappingError(
        "cannot convert 'abc' to an integer",
        rule=1,
        path="callDuration",
        value="abc",
        transform="int",
        file="rules/x.yaml",
        line=12,
    )
    text = str(err)
    assert (
        "rule 1" in text and "rules/x.yaml:12" in text and "callDuration" in text and "int" in text
    )
    assert err.value == "abc"
