"""The new-campaign form, its preview and confirmation, with valid and broken uploads."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from locks_app import tokens
from locks_app.utility import TokenUtility
from tokens_app.forms import MAX_SLICE_SIZE
from tokens_app.models import Campaign, Operation
from tokens_app.views.creation import DRAFT_SESSION_KEY

from dashboard_data import CONFIG, SMALL_SRMLIST

pytestmark = pytest.mark.django_db


def upload(config=CONFIG, srmlist=SMALL_SRMLIST, **options):
    data = {
        "config": SimpleUploadedFile("pref_cal1.yaml", config),
        "slice_size": 1, "id_prefix": "SB", "key_name": "STARTSB", "srm_attachment": "srm.txt", "link_flavor": "srm",
    }
    if srmlist is not None:
        data["srmlist_file"] = SimpleUploadedFile("L229507.srmlist", srmlist)
    data.update(options)
    return data


def post_new(client, **kwargs):
    return client.post(reverse("tokens:campaign-new"), upload(**kwargs))


def errors_of(response) -> str:
    assert response.status_code == 200, response
    form = response.context["form"]
    return " ".join(str(message) for messages in form.errors.values() for message in messages)


def test_form_page_renders(operator_client):
    page = operator_client.get(reverse("tokens:campaign-new")).content.decode()
    for label in ("Step config", "SRM list file", "paste the SRM list", "Slice size", "Link flavour",
                  "Extra files", "Allow mixed"):
        assert label in page


def test_upload_preview_and_confirm(operator_client, couch_db):
    response = post_new(operator_client, database=couch_db, attachments=[SimpleUploadedFile("run.parset", b"a=1\n")])
    assert response.status_code == 302 and response["Location"] == reverse("tokens:campaign-preview")
    assert not Campaign.objects.exists()  # nothing written before the confirmation
    preview = operator_client.get(reverse("tokens:campaign-preview"))
    page = preview.content.decode()
    assert preview.context["plan"].token_count == 12
    assert "t_pref_cal1_L229507_pref_cal1_SB000" in page
    assert "000–011" in page and "run.parset" in page and "RESULTS_DIR" in page
    confirmed = operator_client.post(reverse("tokens:campaign-preview"))
    campaign = Campaign.objects.get(database=couch_db)
    assert confirmed["Location"] == campaign.get_absolute_url()
    # The tests' task backend runs the queued push at once (tests/operations run real workers).
    push = Operation.objects.get(campaign=campaign)
    assert (push.action, push.source, push.state, push.written) == ("push", "browser", "done", 12)
    campaign.refresh_from_db()
    assert campaign.status == "ready" and campaign.attachment_names == ["run.parset"]
    assert DRAFT_SESSION_KEY not in operator_client.session


def test_pasted_list_and_gaps_in_preview(operator_client, couch_db):
    lines = SMALL_SRMLIST.decode().splitlines()
    text = "\n".join(lines[:3] + lines[6:])  # subbands 003-005 missing
    response = post_new(operator_client, srmlist=None, srmlist_text=text, database=couch_db, slice_size=2)
    assert response.status_code == 302
    page = operator_client.get(reverse("tokens:campaign-preview")).content.decode()
    assert "003–005" in page and "000–002, 006–011" in page


def test_bad_yaml_shows_the_line(operator_client, couch_db):
    response = post_new(operator_client, config=b"Token:\n  type: x\n  bad: [unclosed\n", database=couch_db)
    assert "line " in errors_of(response)
    assert "line " in response.content.decode()


def test_mixed_obsid_names_the_line(operator_client, couch_db):
    other = SMALL_SRMLIST.decode().splitlines()[0].replace("L229507", "L229587").replace("SB000", "SB020")
    srmlist = SMALL_SRMLIST + other.encode() + b"\n"
    assert "line 13" in errors_of(post_new(operator_client, srmlist=srmlist, database=couch_db))
    allowed = post_new(operator_client, srmlist=srmlist, database=couch_db, allow_mixed="on")
    assert allowed.status_code == 302


@pytest.mark.parametrize("slice_size", [0, -4, MAX_SLICE_SIZE + 1, "ten", ""])
def test_bad_slice_sizes(operator_client, couch_db, slice_size):
    response = post_new(operator_client, database=couch_db, slice_size=slice_size)
    assert "slice_size" in response.context["form"].errors


def test_slice_size_larger_than_the_list_makes_one_token_and_says_so(operator_client, couch_db):
    assert post_new(operator_client, database=couch_db, slice_size=500).status_code == 302
    preview = operator_client.get(reverse("tokens:campaign-preview"))
    assert preview.context["plan"].token_ids == ["t_pref_cal1_L229507_pref_cal1_SB000"]
    assert "The slice size 500 is larger than the 12 subbands the list spans (000-011): one token holds them all." \
        in preview.content.decode()


def test_links_stay_as_given_unless_a_flavour_is_chosen(operator_client, couch_db):
    page = operator_client.get(reverse("tokens:campaign-new")).content.decode()
    assert '<option value="" selected>as given</option>' in page
    gsiftp = SMALL_SRMLIST.replace(b"srm://srm.grid.sara.nl:8443", b"gsiftp://gridftp.grid.sara.nl:2811")
    assert post_new(operator_client, srmlist=gsiftp, database=couch_db, link_flavor="").status_code == 302
    preview = operator_client.get(reverse("tokens:campaign-preview"))
    assert preview.context["plan"].slices["000"][0].startswith("gsiftp://gridftp.grid.sara.nl:2811/")
    assert "as given" in preview.content.decode()


def test_links_on_an_unknown_site_are_previewed_with_a_warning(operator_client, couch_db):
    unknown = SMALL_SRMLIST.replace(b"srm.grid.sara.nl", b"srm.example.org")
    assert post_new(operator_client, srmlist=unknown, database=couch_db, link_flavor="").status_code == 302
    page = operator_client.get(reverse("tokens:campaign-preview")).content.decode()
    assert "Links on srm.example.org: no storage site the portal knows, so the links are written as given" in page
    assert "not one the portal knows" in page
    refused = errors_of(post_new(operator_client, srmlist=unknown, database=couch_db, link_flavor="gsiftp"))
    assert "the links cannot be converted to gsiftp: 'srm.example.org' is on no storage site" in refused


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"token_type": "bad type!"}, "type"),
        ({"database": "no_such_db_here"}, "does not exist"),
        ({"database": "Bad Name"}, "not valid"),
        ({"key_name": "lock"}, "bookkeeping"),
        ({"link_flavor": "ftp"}, "Select a valid choice"),
        ({"id_prefix": "a b"}, "id prefix"),
    ],
)
def test_bad_options(operator_client, couch_db, options, expected):
    options.setdefault("database", couch_db)
    assert expected in errors_of(post_new(operator_client, **options))


def test_srm_list_missing_or_given_twice(operator_client, couch_db):
    assert "Upload an SRM list" in errors_of(post_new(operator_client, srmlist=None, database=couch_db))
    both = post_new(operator_client, database=couch_db, srmlist_text="srm://x")
    assert "not both" in errors_of(both)


def test_garbage_files(operator_client, couch_db):
    assert "not UTF-8" in errors_of(post_new(operator_client, config=b"\xff\xfe\x00garbage", database=couch_db))
    assert "line 1" in errors_of(post_new(operator_client, srmlist=b"hello world\n", database=couch_db))
    assert "Token" in errors_of(post_new(operator_client, config=b"- a list\n", database=couch_db))
    assert "empty" in errors_of(post_new(operator_client, config=b"", database=couch_db))


def test_oversized_upload(operator_client, couch_db, settings):
    settings.MAX_UPLOAD_MB = 1
    big = CONFIG + b"#" * (1024 * 1024)
    assert "larger than 1 MB" in errors_of(post_new(operator_client, config=big, database=couch_db))
    attached = [SimpleUploadedFile("big.bin", b"0" * (1024 * 1024 + 1))]
    assert "larger than 1 MB" in errors_of(post_new(operator_client, database=couch_db, attachments=attached))


def test_new_campaign_needs_the_permission(client, victor):
    client.force_login(victor)
    assert client.get(reverse("tokens:campaign-new")).status_code == 403
    assert client.post(reverse("tokens:campaign-new"), upload()).status_code == 403
    assert client.get(reverse("tokens:campaign-preview")).status_code == 403


def test_preview_without_upload_goes_back_to_the_form(operator_client):
    response = operator_client.get(reverse("tokens:campaign-preview"))
    assert response["Location"] == reverse("tokens:campaign-new")


def test_confirming_over_a_campaign_locked_by_someone_else_is_refused(operator_client, campaign):
    TokenUtility().register(tokens.ExclusiveLock(campaign, "bob"))
    post_new(operator_client, database=campaign.database)
    response = operator_client.post(reverse("tokens:campaign-preview"), follow=True)
    assert "locked by bob" in response.content.decode()
    assert not Operation.objects.filter(action="push").exists()
    assert DRAFT_SESSION_KEY in operator_client.session


def test_the_form_lists_every_bad_line_of_the_srm_list(operator_client):
    good = SMALL_SRMLIST.decode().splitlines()
    broken = "\n".join([good[0], *(f"junk {number}" for number in range(25)), *good[1:]]).encode()
    response = post_new(operator_client, srmlist=broken)
    errors = list(response.context["form"].non_field_errors())
    assert errors[0] == "SRM list 'L229507.srmlist': 25 lines cannot be used:"
    assert [error.split(":")[0] for error in errors[1:21]] == [f"line {number}" for number in range(2, 22)]
    assert errors[21:] == ["and 5 more bad lines"]
    page = response.content.decode()
    assert page.count("<li>line ") == 20 and "and 5 more bad lines" in page
    assert not Campaign.objects.exists()
