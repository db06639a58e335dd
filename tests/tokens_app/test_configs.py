"""Step-config parsing (tokens_app.configs): pure functions, no Django."""

import json
import random
from pathlib import Path

import pytest

from tokens_app.config_yaml import MAX_ALIAS_EXPANSION, MAX_NESTING
from tokens_app.configs import RESERVED_FIELDS, ConfigError, parse_config

pytestmark = pytest.mark.unit

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

BILLION_LAUGHS = """\
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
Token:
  type: laughs
  payload: *i
"""


@pytest.fixture
def yaml_example():
    return parse_config((EXAMPLES / "pref_cal1.yaml").read_bytes())


@pytest.fixture
def json_example():
    return parse_config((EXAMPLES / "pref_cal1.json").read_bytes())


def json_config(**sections) -> str:
    """Write a JSON step config with the given top-level sections."""
    return json.dumps(sections, indent=4)


def error_of(data, **options) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_config(data, **options)
    return caught.value


# YAML step configs.


def test_yaml_token_section_gives_the_token_fields(yaml_example):
    assert yaml_example.format == "yaml"
    assert yaml_example.token_type == "pref_cal1"
    fields = yaml_example.token_fields
    assert fields["type"] == "pref_cal1"
    assert fields["PIPELINE_STEP"] == "pref_cal1"
    assert (fields["status"], fields["lock"], fields["done"], fields["scrub_count"]) == (
        "queued", 0, 0, 0
    )


def test_yaml_other_sections_are_kept_as_they_are(yaml_example):
    assert set(yaml_example.kept) == {"apiVersion", "Sandbox", "Shell_variables"}
    assert yaml_example.kept["Shell_variables"]["_id"] == "$TOKEN"
    assert yaml_example.kept["Sandbox"]["remove_when_done"] is True


def test_a_config_without_a_type_has_no_token_type():
    config = parse_config("Token:\n  status: queued\n")
    assert (config.token_type, config.kept) == (None, {})


def test_the_result_is_json_serialisable(yaml_example, json_example):
    for config in (yaml_example, json_example):
        json.dumps(config.token_fields)
        json.dumps(config.kept)


def test_yaml_dates_become_iso_strings():
    config = parse_config("Token:\n  day: 2024-02-29\n  at: 2024-02-29 10:30:00\n")
    assert config.token_fields == {"day": "2024-02-29", "at": "2024-02-29T10:30:00"}


def test_yaml_anchors_and_merge_keys_are_resolved():
    config = parse_config(
        "defaults: &defaults\n  lock: 0\n  done: 0\nToken:\n  <<: *defaults\n  done: 1\n"
        "  again: *defaults\n"
    )
    assert config.token_fields == {"lock": 0, "done": 1, "again": {"lock": 0, "done": 0}}


def test_bom_and_crlf_line_endings_are_accepted():
    config = parse_config(b"\xef\xbb\xbfToken:\r\n  type: pref_cal1\r\n")
    assert config.token_type == "pref_cal1"


def test_text_and_bytes_give_the_same_config():
    text = (EXAMPLES / "pref_cal1.yaml").read_text()
    assert parse_config(text) == parse_config(text.encode())


# JSON step configs.


def test_json_config_is_recognised(json_example):
    assert json_example.format == "json"
    assert json_example.token_type == "pref_cal1"


def test_json_job_variables_are_merged_into_the_token(json_example):
    fields = json_example.token_fields
    assert fields["PIPELINE_STEP"] == "pref_cal1"
    assert fields["STARTSB"] == "000"
    assert fields["status"] == "queued"


def test_json_token_variables_container_and_sandbox_go_under_config_json(json_example):
    fields = json_example.token_fields
    assert "variables" not in fields
    config_json = fields["config.json"]
    assert set(config_json) == {"variables", "container", "sandbox"}
    assert config_json["variables"]["_attachments"]["$SRMFILE"] == "srm.txt"
    assert config_json["container"]["singularity"]["SIMG"].startswith("shub://")
    assert config_json["sandbox"]["git"]["branch"] == "prefactor"


def test_json_sections_other_than_token_are_kept(json_example):
    assert set(json_example.kept) == {"Job", "container", "sandbox"}


def test_yaml_and_json_examples_describe_the_same_tokens(yaml_example, json_example):
    for field in ("type", "PIPELINE_STEP", "STARTSB", "RESULTS_DIR", "status", "lock", "done"):
        assert yaml_example.token_fields[field] == json_example.token_fields[field]


def test_json_job_variables_win_over_token_fields():
    config = parse_config(
        json_config(Token={"status": "queued"}, Job={"variables": {"status": "x"}})
    )
    assert config.token_fields == {"status": "x", "config.json": {}}


def test_json_is_read_as_json_not_yaml():
    # PyYAML refuses tab indentation and reads 1e5 as a string; both are valid JSON.
    config = parse_config('{\n\t"Token": {\n\t\t"type": "t",\n\t\t"size": 1e5\n\t}\n}')
    assert config.token_fields["size"] == 100000.0


def test_json_syntax_error_has_line_and_column():
    error = error_of('{\n  "Token": {\n    "type": "t",\n  }\n}')
    assert (error.line, error.column) == (4, 3)
    assert str(error) == (
        "line 4, column 3: not valid JSON: Expecting property name enclosed in double quotes"
    )


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_json_nan_and_infinity_are_refused(constant):
    error = error_of('{"Token": {"x": %s}}' % constant)
    assert str(error) == f"{constant} is not a JSON number"


def test_json_token_must_not_set_config_json():
    error = error_of(json_config(Token={"type": "t", "config.json": {}}))
    assert str(error) == (
        "Token must not set config.json: a JSON step config builds it from "
        "Token.variables, container and sandbox"
    )


@pytest.mark.parametrize(
    ("sections", "message"),
    [
        ({"Token": {"a": 1}, "Job": []}, "Job must be a mapping, not a list"),
        (
            {"Token": {"a": 1}, "Job": {"variables": "x"}},
            "Job.variables must be a mapping, not a string",
        ),
        ({"Token": {"a": 1, "variables": 3}}, "Token.variables must be a mapping, not a number"),
    ],
)
def test_json_sections_must_be_mappings(sections, message):
    assert str(error_of(json_config(**sections))) == message


# Shape errors.


def test_malformed_yaml_has_line_and_column():
    error = error_of("Token:\n  type: pref_cal1\n  status: [queued\n")
    assert (error.line, error.column) == (4, 1)
    assert error.message.startswith("not valid YAML: while parsing a flow sequence")
    assert str(error).startswith("line 4, column 1: not valid YAML: ")


@pytest.mark.parametrize(
    ("data", "kind"),
    [("- Token\n- type\n", "a list"), ("just text\n", "a string"), ("3\n", "a number")],
)
def test_the_top_level_must_be_a_mapping(data, kind):
    expected = f"the config must be a mapping of sections (Token: ...), not {kind}"
    assert str(error_of(data)) == expected


def test_a_config_without_token_is_refused():
    assert str(error_of("Sandbox:\n  name: x\n")) == (
        "the config has no Token section (the fields of every token)"
    )


def test_token_must_be_a_mapping():
    assert str(error_of("apiVersion: 0\nToken: [type, status]\n")) == (
        "line 2, column 1: Token must be a mapping of token fields, not a list"
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("Token: {}\n", "line 1, column 1: the Token section is empty"),
        ('{"Token": {}}', "the Token section is empty"),
        ("Token:\n", "line 1, column 1: Token must be a mapping of token fields, not null"),
    ],
)
def test_an_empty_token_section_is_refused(data, message):
    assert str(error_of(data)) == message


@pytest.mark.parametrize("data", ["", "   \n", "# only a comment\n", b""])
def test_an_empty_config_is_refused(data):
    assert str(error_of(data)) == "the config is empty"


def test_several_yaml_documents_are_refused():
    error = error_of("Token:\n  a: 1\n---\nToken:\n  b: 2\n")
    assert (error.line, error.column) == (3, 1)
    assert "expected a single document" in error.message


# The root mapping and Token take two levels; the lists take the rest.
NESTED_TO_THE_LIMIT = (
    "Token:\n  deep: " + "[" * (MAX_NESTING - 2) + "]" * (MAX_NESTING - 2) + "\n"
)


def test_nesting_up_to_the_limit_is_fine():
    value = parse_config(NESTED_TO_THE_LIMIT).token_fields["deep"]
    assert json.dumps(value) == "[" * (MAX_NESTING - 2) + "]" * (MAX_NESTING - 2)


@pytest.mark.parametrize(
    "data",
    [
        NESTED_TO_THE_LIMIT.replace("[", "[[", 1).replace("]", "]]", 1),
        "[" * 100_000,
        "Token:\n" + "".join(" " * level + f"k{level}:\n" for level in range(1, MAX_NESTING + 5)),
        '{"Token": {"deep": ' + "[" * (MAX_NESTING - 1) + "]" * (MAX_NESTING - 1) + "}}",
        '{"Token": ' * 100_000,
    ],
    ids=["flow", "flow-huge", "block", "json", "json-huge"],
)
def test_deeper_nesting_is_refused(data):
    assert error_of(data).message == f"the config is nested more than {MAX_NESTING} levels deep"


def test_aliases_cannot_nest_deeper_than_the_limit():
    anchors = ["a0: &a0 " + "[" * (MAX_NESTING - 5) + "]" * (MAX_NESTING - 5)]
    anchors += [f"a{n}: &a{n} " + "[" * 5 + f"*a{n - 1}" + "]" * 5 for n in range(1, 4)]
    error = error_of("\n".join(anchors) + "\nToken: {type: t}\n")
    assert error.message == f"the config is nested more than {MAX_NESTING} levels deep"
    assert error.line == 3  # a2: five lists around a1, which reaches the limit by itself


# Token fields.


@pytest.mark.parametrize("field", sorted(RESERVED_FIELDS))
def test_reserved_couchdb_fields_are_refused_by_name(field):
    error = error_of(f"Token:\n  type: t\n  {field}: x\n")
    assert (error.line, error.column) == (3, 3)
    assert str(error) == (
        f"line 3, column 3: the token field {field} is not allowed: CouchDB sets it itself"
    )


def test_any_field_starting_with_underscore_is_refused():
    error = error_of("Token:\n  _private: x\n")
    assert str(error) == (
        "line 2, column 3: the token field _private is not allowed: "
        "CouchDB reserves names starting with _"
    )


def test_json_reserved_fields_are_refused_also_from_job_variables():
    error = error_of(json_config(Token={"a": 1}, Job={"variables": {"_rev": "1-x"}}))
    assert str(error) == "the token field _rev is not allowed: CouchDB sets it itself"


def test_underscores_below_the_top_of_a_field_are_allowed():
    config = parse_config("Token:\n  variables:\n    _attachments: {srm.txt: $SRMFILE}\n")
    assert config.token_fields == {"variables": {"_attachments": {"srm.txt": "$SRMFILE"}}}


@pytest.mark.parametrize(
    ("value", "kind"), [("3", "a number"), ('""', "a string"), ("[]", "a list")]
)
def test_the_token_type_must_be_a_non_empty_string(value, kind):
    error = error_of(f"Token:\n  type: {value}\n")
    assert str(error) == f"line 2, column 3: the token type must be a non-empty string, not {kind}"


@pytest.mark.parametrize(("key", "column"), [("1", 3), ("yes", 3), ("null", 3), ("2024-01-01", 3)])
def test_keys_that_are_not_strings_are_refused(key, column):
    error = error_of(f"Token:\n  type: t\n  {key}: x\n")
    assert (error.line, error.column) == (3, column)
    assert error.message == f"the key '{key}' is not a string (JSON keys are strings; quote it)"


def test_quoted_keys_are_strings():
    assert parse_config("Token:\n  '1': x\n  'yes': y\n").token_fields == {"1": "x", "yes": "y"}


def test_collection_keys_are_refused():
    error = error_of("Token:\n  ? [a, b]\n  : x\n")
    assert str(error) == "line 2, column 5: a sequence cannot be a key (JSON keys are strings)"


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
def test_yaml_nan_and_infinity_are_refused(value):
    error = error_of(f"Token:\n  x: {value}\n")
    assert str(error) == f"line 2, column 6: {value} is not a JSON number"


def test_an_impossible_date_is_refused():
    error = error_of("Token:\n  day: 2023-02-30\n")
    assert str(error) == (
        "line 2, column 8: invalid value '2023-02-30': day is out of range for month"
    )


# Hostile input.


@pytest.mark.parametrize(
    "tagged",
    [
        '!!python/object/apply:os.system ["touch {marker}"]',
        "!!python/object/new:os.system [touch {marker}]",
        "!!python/name:os.system",
        "!!python/object:collections.OrderedDict {{}}",
        "!!python/module:os",
    ],
)
def test_tags_that_construct_objects_are_refused_and_nothing_runs(tagged, tmp_path):
    marker = tmp_path / "ran"
    error = error_of("Token:\n  type: t\n  run: " + tagged.format(marker=marker) + "\n")
    assert (error.line, error.column) == (3, 8)
    assert error.message.startswith("tags that construct objects are refused: !!python/")
    assert not marker.exists()


def test_object_tags_on_keys_are_refused():
    error = error_of("Token:\n  !!python/name:os.system : x\n")
    assert str(error) == (
        "line 2, column 3: tags that construct objects are refused: !!python/name:os.system"
    )


@pytest.mark.parametrize(
    ("tagged", "tag"),
    [("!!binary aGVsbG8=", "!!binary"), ("!!set {a}", "!!set"), ("!local 1", "!local")],
)
def test_other_tags_are_refused(tagged, tag):
    error = error_of(f"Token:\n  x: {tagged}\n")
    assert (error.line, error.column) == (2, 6)
    assert error.message.startswith(
        f"the tag {tag} is not supported: values must be plain JSON values"
    )


def test_an_alias_bomb_is_refused_before_it_expands():
    error = error_of(BILLION_LAUGHS)
    assert error.message.startswith("too many aliases: expanding them would add ")
    assert error.message.endswith(f"(at most {MAX_ALIAS_EXPANSION} are allowed)")


def test_a_few_aliases_are_fine():
    block = "{" + ", ".join(f"k{n}: {n}" for n in range(50)) + "}"
    uses = "\n".join(f"  use{n}: *block" for n in range(20))
    config = parse_config(f"shared: &block {block}\nToken:\n  type: t\n{uses}\n")
    assert config.token_fields["use19"]["k49"] == 49


def test_a_recursive_alias_is_refused():
    error = error_of("Token:\n  loop: &loop [1, *loop]\n")
    assert str(error) == "line 2, column 9: an alias refers to a node that contains it"


def test_bytes_that_are_not_utf8_are_refused_with_offset_and_line():
    error = error_of(b"Token:\n  type: \xff\xfe\n")
    assert (error.line, error.column) == (2, None)
    assert str(error) == "line 2: not UTF-8 (byte 0xff at offset 15)"


def test_control_characters_are_refused_with_their_position():
    error = error_of("Token:\n  type: t\x00\n")
    assert str(error) == (
        "line 2, column 10: not valid YAML: the control character U+0000 is not allowed"
    )


def test_a_config_larger_than_allowed_is_refused():
    data = (EXAMPLES / "pref_cal1.yaml").read_bytes()
    assert parse_config(data, max_bytes=len(data)).token_type == "pref_cal1"
    error = error_of(data, max_bytes=len(data) - 1)
    assert str(error) == f"the config is larger than {len(data) - 1} bytes"


def test_text_size_is_counted_in_utf8_bytes():
    text = "Token:\n  type: é\n"
    error = error_of(text, max_bytes=len(text))
    assert str(error) == f"the config is larger than {len(text)} bytes"


def test_random_bytes_only_ever_raise_config_errors():
    generator = random.Random(20240229)
    for _ in range(300):
        data = generator.randbytes(generator.randrange(1, 400))
        with pytest.raises(ConfigError):
            parse_config(data)


def test_random_yaml_like_text_only_ever_raises_config_errors():
    generator = random.Random(11)
    alphabet = "Token:type _id&*!![]{}-,'\"\n\t #<>|2024-01-01.nan"
    for _ in range(500):
        text = "".join(generator.choices(alphabet, k=generator.randrange(1, 120)))
        try:
            config = parse_config(text)
        except ConfigError:
            continue
        json.dumps(config.token_fields)
        json.dumps(config.kept)
