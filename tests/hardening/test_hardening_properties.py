"""Property tests of the parsers of user input: whatever they are given, they answer or raise
their own error type, never another exception (which a page would show as a 500 and a command
as a traceback). The token id converter gives back every id it encoded."""

import argparse
import json
import re
from urllib.parse import unquote

import pytest
import yaml
from django.urls import resolve, reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from locks_app.durations import parse_duration
from locks_app.management.arguments import duration_type
from tokens_app import configs, design, srm
from tokens_app.read_models import TokenRow
from tokens_app.token_reads import Search
from tokens_app.conditions import ConditionError, compile_condition, parse
from tokens_app.converters import TokenIdConverter
from tokens_app.design import _NUMBER_TEXT, _ZERO_TEXT
from tokens_app.services.operations import typed_value

pytestmark = pytest.mark.unit

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Any code point, lone surrogates and NUL included: a pilot or a badly decoded file writes them.
ANY_TEXT = st.text(alphabet=st.characters(blacklist_categories=()))
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | ANY_TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(ANY_TEXT, children, max_size=4),
    max_leaves=20,
)


def lines_of(alphabet: str, *prefixes: str):
    """Text made of lines that start like ``prefixes`` and go on in ``alphabet``."""
    line = st.tuples(st.sampled_from(prefixes), st.text(alphabet=alphabet, max_size=40)).map("".join)
    return st.lists(line, max_size=6).map("\n".join)


SRM_LIKE = lines_of("srm:/xL01SB9_ \t\r.-:@?#é", "", "srm://", "gsiftp://", "https://", "srm://x/L1", "SRM://Host:8443/")
CONDITION_LIKE = st.lists(st.sampled_from([
    "doc", ".", "a", "[", "]", "'x'", '"y"', "\\", "\\u{110000}", "\\x4", "0", "01", "1e999", ".5", "-", "!",
    "==", "===", "!=", "<", ">=", "&&", "||", "(", ")", " ", "\n", "true", "null", "undefined", "__proto__", "é",
]), max_size=30).map("".join)
YAML_LIKE = lines_of("abc:-[]{},&*!|>'\"#%@`\\ \t0.\u0000\udfff", "", "Token:", "  ", "- ", "? ", "%YAML ", "---")


@SETTINGS
@given(data=st.binary() | ANY_TEXT | SRM_LIKE, allow_mixed=st.booleans(), max_lines=st.none() | st.integers(1, 5))
def test_parse_srmlist_raises_only_srm_list_errors(data, allow_mixed, max_lines):
    try:
        srm.parse_srmlist(data, allow_mixed=allow_mixed, max_lines=max_lines)
    except srm.SrmListError:
        pass


@SETTINGS
@given(data=st.binary() | ANY_TEXT | YAML_LIKE)
def test_parse_config_raises_only_config_errors_on_any_text(data):
    try:
        configs.parse_config(data, max_bytes=2**16, max_token_bytes=2**12)
    except configs.ConfigError:
        pass


@SETTINGS
@given(sections=st.dictionaries(ANY_TEXT, JSON_VALUES, max_size=4), token=st.dictionaries(ANY_TEXT, JSON_VALUES),
       as_yaml=st.booleans())
def test_parse_config_raises_only_config_errors_on_any_json_document(sections, token, as_yaml):
    document = {**sections, "Token": token}
    text = yaml.safe_dump(document, allow_unicode=True) if as_yaml else json.dumps(document)
    try:
        parsed = configs.parse_config(text, max_bytes=2**16, max_token_bytes=2**12)
    except configs.ConfigError:
        return
    # What is accepted can be stored: no NUL, no lone surrogate, anywhere.
    json.dumps([parsed.token_fields, parsed.kept], ensure_ascii=False).encode("utf-8")
    assert "\\u0000" not in json.dumps([parsed.token_fields, parsed.kept])


@SETTINGS
@given(text=ANY_TEXT | CONDITION_LIKE)
def test_conditions_raise_only_condition_errors(text):
    try:
        parse(text)
        compile_condition(text)
    except ConditionError:
        pass


@SETTINGS
@given(text=ANY_TEXT | st.from_regex(r"\s*([0-9]{0,25}[smhdwSMHDW ]){0,4}\s*", fullmatch=True),
       until_ended=st.booleans())
def test_durations_raise_only_value_errors(text, until_ended):
    try:
        parse_duration(text, until_ended=until_ended)
    except ValueError:
        pass
    try:
        duration_type(until_ended=until_ended)(text)
    except argparse.ArgumentTypeError:
        pass


@SETTINGS
@given(query=ANY_TEXT | st.from_regex(r"(host:|sb|SB)?[0-9a-z ]{0,8}", fullmatch=True), token_id=ANY_TEXT,
       doc=st.none() | st.dictionaries(st.just("hostname"), JSON_VALUES))
def test_the_search_parser_never_raises(query, token_id, doc):
    Search.parse(query).filter(TokenRow.objects.none())


@SETTINGS
@given(text=ANY_TEXT | st.from_regex(r"[\[\]{}\"0-9a-z,: ]{0,30}", fullmatch=True))
def test_a_typed_field_value_is_json_or_the_text_itself(text):
    value = typed_value(text)
    assert value == text or json.dumps(value) is not None


@SETTINGS
@given(token_id=st.text(min_size=1) | st.sampled_from([".", "..", "%", "%2F", "/", "a/b", "%25", "..%2F"]))
def test_the_token_id_converter_gives_back_every_id(token_id):
    converter = TokenIdConverter()
    assert converter.to_python(converter.to_url(token_id)) == token_id
    assert re.fullmatch(TokenIdConverter.regex, converter.to_url(token_id))


@SETTINGS
@given(token_id=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1))
def test_a_token_url_resolves_to_its_id(token_id):
    url = reverse("tokens:token-detail", kwargs={"pk": 1, "token_id": token_id})
    # The server decodes the path once before the resolver sees it.
    assert resolve(unquote(url)).kwargs["token_id"] == token_id


VERSION_TWO_ZERO = r"[+-]?(0+\.?0*|\.0+)"


@SETTINGS
@given(text=st.text(alphabet="0.+-1x ", max_size=12))
def test_the_linear_zero_pattern_reads_the_same_strings_as_zero_as_the_old_one(text):
    assert bool(re.fullmatch(_ZERO_TEXT, text)) == bool(re.fullmatch(VERSION_TWO_ZERO, text))


@SETTINGS
@given(text=st.text(alphabet="0.+-19x \n\u0660\uff10", max_size=12))
def test_the_python_twin_reads_a_string_as_the_javascript_patterns_do(text):
    assert design._reads_as_zero(text) == bool(re.fullmatch(_ZERO_TEXT, text))
    assert design._plain_number(text) == bool(re.fullmatch(_NUMBER_TEXT, text))
