"""No regular expression or parser of the portal, nor the JavaScript it writes into design
documents, is super-linear: each gets inputs of about 1 MB built to make a backtracking matcher
try every split, and answers or refuses (with its own error) in well under a second. A quadratic
matcher takes minutes on these inputs (the state rule's zero pattern took 22 s on 40,000 zeros);
the bound separates the two, it does not measure speed.

The state rule and a user view run in Node (pouchdb-server's engine) as the portal writes them,
and the state rule once more on the real server, through the ``states`` view.
"""

import argparse
import json
import shutil
import subprocess
import time
from urllib.parse import unquote

import pytest
from django.urls import resolve, reverse

from locks_app.durations import parse_duration
from locks_app.management.arguments import duration_type
from tokenportal.disclosure import shown_to
from tokens_app import configs, design, srm
from tokens_app.read_models import TokenRow
from tokens_app.token_charts import trailing_number
from tokens_app.token_reads import Search
from tokens_app.conditions import ConditionError, compile_condition, parse
from tokens_app.converters import TokenIdConverter
from tokens_app.design import STATE_FUNCTION, STATES_VIEW, PORTAL_DESIGN, state_of
from tokens_app.management.arguments import positive_int, seconds
from tokens_app.services.common import ServiceError, max_config_bytes, max_token_fields_bytes, validate_database_name
from tokens_app.services.operations import typed_value

MB = 2**20
BOUND = 1.0  # seconds; a quadratic pattern on these inputs takes minutes
ZEROS = "0" * MB

# Inputs that make the state rule's zero and number patterns try every split of a long run.
STATE_DOCS = {
    "zeros then a letter": {"lock": 1, "exit_code": ZEROS + "x"},
    "signed zeros, point, letter": {"lock": 1, "exit_code": "-" + ZEROS + ".x"},
    "point, zeros, letter": {"lock": 1, "output": "." + ZEROS + "x"},
    "zeros, point, zeros, letter": {"lock": 1, "exit_code": "0" * (MB // 2) + "." + "0" * (MB // 2) + "x"},
    "lock of digits then a letter": {"lock": "1" * MB + "x", "done": "1" * MB + ".x"},
    "lock of digits, point, digits": {"lock": "1" * MB + "." + "1" * MB},
}

SRM_LINES = {
    "OBSID digits, no subband": "srm://x/L" + "1" * MB + "_SB",
    "many subbands, a bad tail": "srm://x/L1" + "SB1_" * (MB // 4) + "\u00e9",
    "a long host": "srm://" + "a" * MB,
    "a long port": "srm://a:" + "1" * MB,
    "a path without OBSID": "srm://x/" + "a" * MB,
    "subband digits without _": "srm://x/L1SB" + "1" * MB,
    "spaces then a letter": "srm://x/L1SB1_" + " " * MB + "x",
    "fields of links": "srm://x/L1 " * (MB // 11),
}


def timed(call, *errors):
    """Run ``call``; its own errors count as an answer. Fails past BOUND."""
    started = time.perf_counter()
    try:
        call()
    except errors:
        pass
    elapsed = time.perf_counter() - started
    assert elapsed < BOUND, f"{elapsed:.2f} s"


# -- the state rule in Python and in the JavaScript of the views -------------------------------

@pytest.mark.unit
@pytest.mark.parametrize("doc", STATE_DOCS.values(), ids=STATE_DOCS)
def test_the_state_rule_in_python_is_linear(doc):
    timed(lambda: state_of(doc))


NODE_HARNESS = """
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
const rule = new Function("doc", input.helpers + "\\n" + input.body);
const started = process.hrtime.bigint();
const answer = rule(input.doc);
console.log(JSON.stringify({answer, seconds: Number(process.hrtime.bigint() - started) / 1e9}));
"""


def run_in_node(helpers: str, body: str, doc: dict) -> dict:
    """``body`` run on ``doc`` after ``helpers``, in Node, and how long it took there."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed (pouchdb-server needs it too)")
    payload = json.dumps({"helpers": helpers, "body": body, "doc": doc})
    done = subprocess.run([node, "-e", NODE_HARNESS], input=payload, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.unit
@pytest.mark.parametrize("doc", STATE_DOCS.values(), ids=STATE_DOCS)
def test_the_state_rule_in_javascript_is_linear_and_agrees_with_python(doc):
    ran = run_in_node(STATE_FUNCTION, "return state(doc);", doc)
    assert ran["seconds"] < BOUND and ran["answer"] == state_of(doc)


@pytest.mark.unit
def test_a_user_view_is_linear_on_a_long_field():
    code = compile_condition('doc.exit_code != "0" && doc.status == "error" || !doc.output')
    ran = run_in_node(design.FIELD_FUNCTION, f"return {code};", {"exit_code": ZEROS + "x", "status": "x" * MB})
    assert ran["seconds"] < BOUND and ran["answer"] is True


@pytest.mark.django_db
def test_the_states_view_indexes_a_token_of_a_megabyte_of_zeros_at_once(make_campaign, gateway):
    campaign = make_campaign(count=2)
    token_id = f"{campaign.token_type}_zeros"
    gateway.put_doc(campaign.database, {"_id": token_id, "type": campaign.token_type, "lock": 1, "done": 2,
                                        "exit_code": ZEROS + "x"})
    started = time.perf_counter()
    rows = gateway.view(campaign.database, PORTAL_DESIGN, STATES_VIEW, reduce=False,
                        startkey=[campaign.token_type, "error"], endkey=[campaign.token_type, "error", {}])["rows"]
    elapsed = time.perf_counter() - started
    assert [row["id"] for row in rows] == [token_id]
    assert elapsed < 3 * BOUND, f"{elapsed:.2f} s (indexing two tokens and this one; the server adds its own time)"


# -- SRM lists -----------------------------------------------------------------------------------

@pytest.mark.unit
@pytest.mark.parametrize("line", SRM_LINES.values(), ids=SRM_LINES)
def test_the_srm_line_pattern_and_the_line_parser_are_linear(line):
    timed(lambda: srm._COMMON_LINE.fullmatch(line))
    timed(lambda: srm._parse_line(line, 1), srm.SrmListError)


@pytest.mark.unit
@pytest.mark.parametrize("line", SRM_LINES.values(), ids=SRM_LINES)
def test_an_srm_list_of_a_megabyte_line_is_refused_at_once(line):
    with pytest.raises(srm.SrmListError, match="longer than 4096 characters"):
        timed(lambda: srm.parse_srmlist(line.encode()))


@pytest.mark.unit
def test_an_srm_list_of_many_long_bad_lines_is_refused_at_once():
    line = "srm://x/L" + "1" * (srm.MAX_LINE_CHARS - 20) + "_SB"
    timed(lambda: srm.parse_srmlist("\n".join([line] * (MB // len(line)))), srm.SrmListError)


# -- configs -------------------------------------------------------------------------------------

CONFIGS = {
    "a megabyte Token value": b"Token:\n  type: t\n  a: " + b"x" * MB,
    "a megabyte of keys": b"Token:\n  type: t\n" + b"".join(b"  k%d: v\n" % n for n in range(MB // 10)),
    "a megabyte of flow items": b"Token: {type: t, a: [" + b"1," * (MB // 2) + b"]}",
    "a megabyte of JSON": json.dumps({"Token": {"type": "t", "a": "x" * MB}}).encode(),
    "a megabyte of escapes": b'Token:\n  a: "' + b"\\x41" * (MB // 4) + b'"\n',
}
# Within the limits the portal applies: YAML is parsed in Python, so these stay modest in size.
CONFIGS_WITHIN_LIMITS = {
    "open brackets": b"[" * 100_000,
    "open braces": b"{a: " * 50_000,
    "keys past the value limit": b"Token:\n  type: t\n" + b"".join(b"  k%d: v\n" % n for n in range(3000)),
    "a long plain value with spaces": b"Token:\n  type: t\n  a: " + b"x " * 20_000,
    "a deep JSON document": b'{"Token": ' + b"[" * 100_000,
    "JSON of the Token limit": json.dumps({"Token": {"type": "t", "a": "x" * 60_000}}).encode(),
    "anchors and aliases": b"a: &a [x]\n" + b"".join(b"b%d: *a\n" % n for n in range(4000)),
}


@pytest.mark.parametrize("data", CONFIGS.values(), ids=CONFIGS)
def test_a_megabyte_config_is_refused_at_once(data):
    with pytest.raises(configs.ConfigError, match="larger than"):
        timed(lambda: configs.parse_config(data, max_bytes=max_config_bytes(), max_token_bytes=max_token_fields_bytes()))


@pytest.mark.parametrize("data", CONFIGS_WITHIN_LIMITS.values(), ids=CONFIGS_WITHIN_LIMITS)
def test_configs_within_the_size_limit_parse_or_are_refused_in_linear_time(data):
    timed(lambda: configs.parse_config(data, max_bytes=max_config_bytes(), max_token_bytes=max_token_fields_bytes()),
          configs.ConfigError)


# -- conditions, converters, durations, search and the other patterns ----------------------------

TEXTS = {
    "digits then a letter": "1" * MB + "x",
    "zeros then a point": "0" * MB + ".",
    "spaces then a letter": " " * MB + "x",
    "opening brackets": "[" * MB,
    "percent signs and slashes": "%/" * (MB // 2),
    "sb and digits": "sb" + "1" * MB,
    "host and a long name": "host:" + "x" * MB,
    "duration parts": "1s" * (MB // 2) + "x",
    "addresses": "http://" * (MB // 7),
    "quotes and spaces": "' '" * (MB // 3),
}


@pytest.mark.unit
@pytest.mark.parametrize("text", TEXTS.values(), ids=TEXTS)
def test_every_other_parser_and_pattern_is_linear(text):
    timed(lambda: parse(text), ConditionError)
    timed(lambda: parse("doc.a == " + text), ConditionError)
    converter = TokenIdConverter()
    timed(lambda: converter.to_python(converter.to_url(text)))
    timed(lambda: parse_duration(text, until_ended=True), ValueError)
    timed(lambda: duration_type()(text), argparse.ArgumentTypeError)
    timed(lambda: Search.parse(text).filter(TokenRow.objects.none()))
    timed(lambda: trailing_number(text))
    timed(lambda: shown_to(text))
    timed(lambda: validate_database_name("a" + text), ServiceError)
    timed(lambda: design.validate_token_type(text), ValueError)
    timed(lambda: design.validate_view_name("a" + text), ValueError)
    timed(lambda: design.selected_type({"views": {"todo": {"map": "doc.type ==" + text}}}))
    timed(lambda: typed_value(text))
    timed(lambda: positive_int(text), argparse.ArgumentTypeError)
    timed(lambda: seconds(text), argparse.ArgumentTypeError)


@pytest.mark.parametrize("text", ["a" * MB, "%25" * (MB // 3), ".." + "%2E" * (MB // 3)], ids=["letters", "escapes", "dots"])
def test_a_megabyte_token_id_in_a_url_resolves_at_once(text):
    url = unquote(reverse("tokens:token-detail", kwargs={"pk": 1, "token_id": text}))
    timed(lambda: resolve(url))
