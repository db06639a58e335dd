"""Bad input through the command and the upload form: a clear message, nothing written to
CouchDB (the database stays empty) and no campaign recorded.
"""

import codecs

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import CommandError
from django.urls import reverse

from hardening_support import JUELICH, documents, run_command, srm_line, srm_list, yaml_config
from tokens_app.models import Campaign

pytestmark = pytest.mark.django_db

GOOD_CONFIG = yaml_config("bad_input")
GOOD_LIST = srm_list(4)
ALIAS_BOMB = b"a: &a [x,x,x,x,x,x,x,x,x]\n" + b"".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]\n".encode()
    for i in range(9)
) + b"Token: {type: bomb, payload: *j}\n"

# (what, config bytes, SRM list bytes, extra options, words the message must contain)
CASES = [
    ("malformed YAML", b"Token:\n  type: [unclosed\n", GOOD_LIST, {}, "config"),
    ("malformed JSON", b'{"Token": {"type": "x",}', GOOD_LIST, {}, "config"),
    ("alias bomb", ALIAS_BOMB, GOOD_LIST, {}, "config"),
    ("object tag", b"Token: !!python/object/apply:os.system ['true']\n", GOOD_LIST, {}, "config"),
    ("non-mapping config", b"- just\n- a list\n", GOOD_LIST, {}, "config"),
    ("binary config", bytes(range(256)) * 4, GOOD_LIST, {}, "config"),
    ("mixed OBSIDs", GOOD_CONFIG, GOOD_LIST + srm_line(9, obsid="L111111").encode() + b"\n", {}, "L111111"),
    ("mixed locations", GOOD_CONFIG, GOOD_LIST + srm_line(9, base=JUELICH).encode() + b"\n", {}, "juelich"),
    ("no subband", GOOD_CONFIG, GOOD_LIST + b"srm://srm.grid.sara.nl:8443/pnfs/grid.sara.nl/L229507_x.tar\n", {},
     "subband"),
    ("non-UTF-8 list", GOOD_CONFIG, "é".encode("latin-1") + GOOD_LIST, {}, "UTF-8"),
    ("100,001 lines", GOOD_CONFIG, b"\n".join([srm_line(1).encode()] * 100_001), {}, "100"),
    ("type with slash", GOOD_CONFIG, GOOD_LIST, {"token_type": "a/b"}, "type"),
    ("type with spaces", GOOD_CONFIG, GOOD_LIST, {"token_type": "a b"}, "type"),
    ("type with leading _", GOOD_CONFIG, GOOD_LIST, {"token_type": "_x"}, "type"),
    ("type _design", GOOD_CONFIG, GOOD_LIST, {"token_type": "_design"}, "type"),
    ("type of 300 characters", GOOD_CONFIG, GOOD_LIST, {"token_type": "t" * 300}, "type"),
    ("field starting with _", GOOD_CONFIG + b"    _secret: 1\n", GOOD_LIST, {}, "_secret"),
    ("unknown database", GOOD_CONFIG, GOOD_LIST, {"database": "no_such_db_anywhere"}, "does not exist"),
]


@pytest.mark.parametrize("what, config, srmlist, options, words", CASES, ids=[c[0] for c in CASES])
def test_the_create_command_refuses_bad_input_and_writes_nothing(
    what, config, srmlist, options, words, couch_db, gateway, operator, tmp_path
):
    (tmp_path / "config").write_bytes(_fix(config))
    (tmp_path / "list").write_bytes(srmlist)
    arguments = ["create_tokenset", "--config", str(tmp_path / "config"), "--srmlist", str(tmp_path / "list"),
                 "--database", options.get("database", couch_db), "--user", "operator"]
    if "token_type" in options:
        arguments += ["--type", options["token_type"]]
    if "slice_size" in options:
        arguments += ["--slice-size", options["slice_size"]]
    with pytest.raises(CommandError) as caught:
        run_command(*arguments)
    message = str(caught.value)
    assert "\n" not in message.strip() and words.lower() in message.lower(), message
    assert documents(gateway, couch_db) == []
    assert not Campaign.objects.exists()


def _fix(config: bytes) -> bytes:
    """A ``Token:`` field appended after the ``Sandbox:`` section belongs under ``Token:``."""
    if b"    _secret: 1\n" in config:
        return config.replace(b"    _secret: 1\n", b"").replace(b"Sandbox:", b"    _secret: 1\nSandbox:")
    return config


@pytest.mark.parametrize("size", ["0", "-3"])
def test_the_create_command_refuses_a_slice_size_below_one(size, couch_db, gateway, tmp_path):
    (tmp_path / "c").write_bytes(GOOD_CONFIG)
    (tmp_path / "l").write_bytes(GOOD_LIST)
    with pytest.raises(CommandError, match="at least 1"):
        run_command("create_tokenset", "--config", str(tmp_path / "c"), "--srmlist", str(tmp_path / "l"),
                    "--database", couch_db, f"--slice-size={size}")
    assert documents(gateway, couch_db) == []


@pytest.mark.parametrize("variant", ["CRLF", "BOM", "CRLF and BOM"])
def test_crlf_and_bom_lists_are_read_as_plain_lists(variant, couch_db, operator, gateway, tmp_path):
    data = GOOD_LIST.replace(b"\n", b"\r\n") if "CRLF" in variant else GOOD_LIST
    data = codecs.BOM_UTF8 + data if "BOM" in variant else data
    (tmp_path / "c").write_bytes(GOOD_CONFIG)
    (tmp_path / "l").write_bytes(data)
    run_command("create_tokenset", "--config", str(tmp_path / "c"), "--srmlist", str(tmp_path / "l"),
                "--database", couch_db, "--user", "operator")
    docs = [doc for doc in documents(gateway, couch_db) if not doc["_id"].startswith("_design/")]
    assert len(docs) == 4 and all("\r" not in doc["_id"] and "\ufeff" not in doc["_id"] for doc in docs)


# -- the upload form ---------------------------------------------------------------------------

def post_new(client, config: bytes, srmlist: bytes, **fields):
    return client.post(reverse("tokens:campaign-new"), {
        "config": SimpleUploadedFile("config.yaml", config),
        "srmlist_file": SimpleUploadedFile("list.txt", srmlist),
        "slice_size": 1, "key_name": "STARTSB", "link_flavor": "srm", **fields,
    })


@pytest.mark.parametrize("what, config, srmlist, options, words", CASES, ids=[c[0] for c in CASES])
def test_the_upload_form_refuses_bad_input_inline_and_writes_nothing(
    what, config, srmlist, options, words, client, operator, couch_db, gateway
):
    client.force_login(operator)
    fields = {"database": options.get("database", couch_db), "token_type": options.get("token_type", ""),
              "slice_size": options.get("slice_size", 1)}
    response = post_new(client, _fix(config), srmlist, **fields)
    assert response.status_code == 200
    errors = " ".join(str(error) for error in response.context["form"].errors.values())
    assert errors and words.lower() in errors.lower(), errors
    assert documents(gateway, couch_db) == []
    assert not Campaign.objects.exists()


def test_an_upload_over_max_upload_mb_is_refused(client, operator, couch_db, gateway, settings):
    settings.MAX_UPLOAD_MB = 1
    client.force_login(operator)
    response = post_new(client, GOOD_CONFIG + b"#" * (2 * 2**20), GOOD_LIST, database=couch_db)
    # The form is shown again with the refusal next to the field.
    assert response.status_code == 200
    assert response.context["form"].errors == {"config": ["The config 'config.yaml' is larger than 1 MB."]}
    assert documents(gateway, couch_db) == []
    assert not Campaign.objects.exists()


def test_a_10_mb_srm_list_is_refused_with_a_message(client, operator, couch_db, gateway, settings):
    settings.MAX_UPLOAD_MB = 5
    client.force_login(operator)
    big = (srm_line(1) + "\n").encode() * (10 * 2**20 // len(srm_line(1)))
    response = post_new(client, GOOD_CONFIG, big, database=couch_db)
    assert response.status_code == 200
    assert response.context["form"].errors == {"__all__": ["The SRM list 'list.txt' is larger than 5 MB."]}
    assert documents(gateway, couch_db) == []


def test_an_invalid_view_condition_names_its_place_and_saves_nothing(campaign, operator, gateway):
    design_before = gateway.get_doc(campaign.database, f"_design/{campaign.token_type}")
    with pytest.raises(CommandError) as caught:
        run_command("add_token_view", "--type", campaign.token_type, "--database", campaign.database,
                    "broken", "doc.status ==== (", "--user", "operator")
    first, shown, caret = str(caught.value).splitlines()
    assert "the view condition is not valid at column 15: assignment is not allowed" in first
    assert shown.strip() == "doc.status ==== (" and caret.index("^") == shown.index("= (")
    assert gateway.get_doc(campaign.database, f"_design/{campaign.token_type}") == design_before
