"""Configs that no token or campaign can hold, through the upload form: a NUL or a lone UTF-16
surrogate anywhere in the config, a ``Token:`` section larger than every token may carry, and a
config of more keys and values than any step config holds. Each is one clear message naming the
field, before anything is recorded; nothing is written to CouchDB or the portal's database (these
run on SQLite and, in CI's PostgreSQL stage, on PostgreSQL, which refuses NUL and surrogates)."""

import json
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from hardening_support import documents, srm_list
from tokens_app.config_yaml import MAX_CONFIG_VALUES
from tokens_app.models import Campaign

pytestmark = pytest.mark.django_db

GOOD_LIST = srm_list(4)


def yaml_with(token: str, kept: str = "Sandbox:\n    name: test\n") -> bytes:
    return f"Token:\n    type: limits\n{token}{kept}".encode("utf-8", "surrogatepass")


def json_with(**sections) -> bytes:
    return json.dumps({"Token": {"type": "limits"}, **sections}).encode()


# (what, config, words of the message: the field's place and why)
UNSTORABLE = [
    ("NUL in a Token value (YAML escape)", yaml_with('    payload: "a\\0b"\n'), "Token.payload holds a NUL"),
    ("lone surrogate in a Token value (YAML escape)", yaml_with('    host: "\\udfff"\n'),
     "Token.host holds a lone surrogate U+DFFF"),
    ("NUL in a Token key", yaml_with('    "bad\\0key": 1\n'), "the key Token.'bad\\x00key' holds a NUL"),
    ("lone surrogate in a kept section", yaml_with("", 'Sandbox:\n    files: ["ok", "\\ud800"]\n'),
     "Sandbox.files[1] holds a lone surrogate U+D800"),
    ("a NUL byte in a YAML config", yaml_with("    payload: a\0b\n"), "the control character U+0000"),
    ("a NUL byte in a JSON config", b'{"Token": {"type": "limits", "p": "\0"}}', "Invalid control character"),
    ("NUL in a JSON Token value", b'{"Token": {"type": "limits", "payload": "\\u0000"}}', "Token.payload holds a NUL"),
    ("lone surrogate in a JSON Job variable", b'{"Token": {"type": "limits"}, "Job": {"variables": {"v": "\\udc80"}}}',
     "Job.variables.v holds a lone surrogate U+DC80"),
    ("lone surrogate in a JSON kept section", json_with(sandbox={"x": "\udfff"}), "sandbox.x holds a lone surrogate"),
]


def post_new(client, config: bytes, database: str):
    return client.post(reverse("tokens:campaign-new"), {
        "config": SimpleUploadedFile("config.yaml", config),
        "srmlist_file": SimpleUploadedFile("list.txt", GOOD_LIST),
        "slice_size": 1, "key_name": "STARTSB", "link_flavor": "srm", "database": database, "token_type": "",
    })


def refusal(response) -> str:
    assert response.status_code == 200
    return " ".join(str(error) for errors in response.context["form"].errors.values() for error in errors)


@pytest.mark.parametrize("what, config, words", UNSTORABLE, ids=[case[0] for case in UNSTORABLE])
def test_a_config_with_a_character_no_token_can_hold_is_refused_naming_the_field(
    what, config, words, client, operator, couch_db, gateway
):
    client.force_login(operator)
    message = refusal(post_new(client, config, couch_db))
    assert words in message, message
    # Refused before the preview: nothing to confirm, nothing recorded or written.
    assert client.post(reverse("tokens:campaign-preview")).status_code in (302, 200)
    assert not Campaign.objects.exists() and documents(gateway, couch_db) == []


def test_an_srm_list_with_a_nul_is_refused_naming_its_line(client, operator, couch_db, gateway):
    client.force_login(operator)
    response = client.post(reverse("tokens:campaign-new"), {
        "config": SimpleUploadedFile("config.yaml", yaml_with("")),
        "srmlist_file": SimpleUploadedFile("list.txt", GOOD_LIST + GOOD_LIST.splitlines()[0].replace(b"_SB000_", b"_SB009_\0")),
        "slice_size": 1, "key_name": "STARTSB", "link_flavor": "srm", "database": couch_db, "token_type": "",
    })
    assert "line 5: a NUL character (U+0000) is no part of a link" in refusal(response)
    assert not Campaign.objects.exists() and documents(gateway, couch_db) == []


def test_a_5_mb_token_value_is_refused_at_once_with_the_setting_named(client, operator, couch_db, gateway):
    client.force_login(operator)
    config = yaml_with("    payload: " + "a" * (5 * 2**20) + "\n")
    started = time.perf_counter()
    message = refusal(post_new(client, config, couch_db))
    assert time.perf_counter() - started < 1, "read and parsed before the size was checked"
    assert "larger than 256 KB" in message and "MAX_TOKEN_FIELDS_KB" in message, message
    assert not Campaign.objects.exists() and documents(gateway, couch_db) == []


def test_a_token_section_over_max_token_fields_kb_is_refused_naming_its_largest_field(
    client, operator, couch_db, gateway, settings
):
    settings.MAX_TOKEN_FIELDS_KB = 16
    client.force_login(operator)
    message = refusal(post_new(client, yaml_with("    small: x\n    script: " + "a" * 20_000 + "\n"), couch_db))
    assert "its field script 20 KB" in message and "more than the 16 KB every token may carry" in message, message
    assert not Campaign.objects.exists()
    # Just under the limit it goes to the preview.
    response = post_new(client, yaml_with("    script: " + "a" * 15_000 + "\n"), couch_db)
    assert response.status_code == 302 and response.url == reverse("tokens:campaign-preview")


def test_a_config_of_more_keys_and_values_than_any_step_config_is_refused(client, operator, couch_db, gateway):
    client.force_login(operator)
    keys = "".join(f"    k{n}: v\n" for n in range(MAX_CONFIG_VALUES // 2 + 1))
    message = refusal(post_new(client, yaml_with(keys), couch_db))
    assert f"more than {MAX_CONFIG_VALUES} keys and values" in message, message
    assert not Campaign.objects.exists()
