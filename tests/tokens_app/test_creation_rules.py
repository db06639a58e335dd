"""Token creation follows GRID_LRT 0.5.1's TokenSet where an operator would expect it.

The config's ``status`` is kept, ids are built as GRID_LRT builds them (an empty PIPELINE_STEP
included), a slice larger than the list makes one token, links keep the flavour the list gives
them, and links on a site the portal does not know are accepted with a note. The side-by-side
comparison with GRID_LRT itself is in tests/interop/.
"""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tokens_app import services
from tokens_app.couch import get_gateway
from tokens_app.models import Campaign

SARA = "srm://srm.grid.sara.nl:8443/pnfs/grid.sara.nl/data/lofar/ops/projects/lc2_038/229507/"
GSIFTP_SARA = "gsiftp://gridftp.grid.sara.nl:2811/pnfs/grid.sara.nl/data/lofar/ops/projects/lc2_038/229507/"
ELSEWHERE = "gsiftp://gridftp.example.org:2811/data/229507/"

pytestmark = pytest.mark.django_db


def srmlist(subbands=range(4), prefix=SARA) -> bytes:
    return "".join(f"{prefix}L229507_SB{subband:03d}_uv.MS.tar\n" for subband in subbands).encode()


def plan(config=b"Token:\n  type: x\n", srm=None, **options):
    return services.plan_tokenset(config_data=config, srmlist_data=srm or srmlist(), **options)


def test_the_configs_status_is_kept():
    assert plan(b"Token:\n  type: x\n  status: queued\n").fields["status"] == "queued"
    assert plan(b"Token:\n  type: x\n  status: ''\n").fields["status"] == ""


def test_status_is_todo_when_the_config_sets_none():
    assert plan().fields["status"] == "todo"


def test_the_other_bookkeeping_fields_still_win_over_the_config():
    fields = plan(b"Token:\n  type: x\n  lock: 5\n  done: 7\n  output: bad\n  scrub_count: 3\n").fields
    assert (fields["lock"], fields["done"], fields["output"], fields["scrub_count"]) == (0, 0, "", 0)


@pytest.mark.parametrize(
    ("step", "first_id"),
    [
        ("  PIPELINE_STEP: pref_cal1\n", "t_x_L229507_pref_cal1_SB000"),
        ("  PIPELINE_STEP: ''\n", "t_x_L229507__SB000"),
        ("", "t_x_L229507_SB000"),
        # GRID_LRT cannot add a number or a null to the id (TypeError): the portal writes the
        # number as text and leaves a null out.
        ("  PIPELINE_STEP: 3\n", "t_x_L229507_3_SB000"),
        ("  PIPELINE_STEP:\n", "t_x_L229507_SB000"),
    ],
)
def test_ids_are_built_as_grid_lrt_builds_them(step, first_id):
    assert plan(b"Token:\n  type: x\n" + step.encode()).token_ids[0] == first_id


def test_a_pipeline_step_with_a_slash_is_refused_saying_why():
    with pytest.raises(services.ServiceError, match=r"^PIPELINE_STEP 'a/b' cannot be part of a token id: a '/' makes"):
        plan(b"Token:\n  type: x\n  PIPELINE_STEP: a/b\n")


def test_a_slice_larger_than_the_span_makes_one_token_and_says_so():
    made = plan(srm=srmlist([5, 6, 9]), slice_size=10)
    assert made.token_ids == ["t_x_L229507_SB005"]
    assert made.slices["005"] == [f"{SARA}L229507_SB{subband:03d}_uv.MS.tar" for subband in (5, 6, 9)]
    assert made.notes == [
        "the slice size 10 is larger than the 5 subbands the list spans (005-009): one token holds them all"
    ]


def test_a_slice_the_size_of_the_span_needs_no_note():
    assert plan(srm=srmlist(range(4)), slice_size=4).notes == []


def test_links_stay_in_the_flavour_given_by_default():
    mixed_flavours = srmlist([0], prefix=GSIFTP_SARA) + srmlist([1])
    made = plan(srm=mixed_flavours)
    assert made.link_flavor == "" and made.notes == []
    assert made.slices["000"] == [f"{GSIFTP_SARA}L229507_SB000_uv.MS.tar"]
    assert made.slices["001"] == [f"{SARA}L229507_SB001_uv.MS.tar"]


def test_a_flavour_asked_for_converts_every_link():
    made = plan(srm=srmlist([0], prefix=GSIFTP_SARA) + srmlist([1]), link_flavor="srm")
    assert [links[0] for links in made.slices.values()] == [
        f"{SARA}L229507_SB000_uv.MS.tar", f"{SARA}L229507_SB001_uv.MS.tar",
    ]


def test_links_on_an_unknown_site_are_kept_with_a_note():
    made = plan(srm=srmlist(range(2), prefix=ELSEWHERE))
    assert made.location == "" and made.obsid == "L229507"
    assert made.slices["001"] == [f"{ELSEWHERE}L229507_SB001_uv.MS.tar"]
    assert made.notes == [
        "links on gridftp.example.org: no storage site the portal knows, so the links are written as given "
        "and cannot be converted to another flavour"
    ]


def test_many_unknown_hosts_are_named_three_at_a_time():
    hosts = [f"srm://h{n}.example.org/data/" for n in range(5)]
    made = plan(srm=b"".join(srmlist([n], prefix=host) for n, host in enumerate(hosts)))
    assert made.notes[0].startswith("links on h0.example.org, h1.example.org, h2.example.org and 2 more: ")


def test_a_flavour_the_unknown_links_already_have_is_no_conversion():
    assert plan(srm=srmlist(range(2), prefix=ELSEWHERE), link_flavor="gsiftp").slices["000"][0].startswith(ELSEWHERE)


def test_a_flavour_that_needs_converting_unknown_links_is_refused():
    with pytest.raises(services.ServiceError, match=r"^the links cannot be converted to srm: 'gridftp.example.org'"):
        plan(srm=srmlist(range(2), prefix=ELSEWHERE), link_flavor="srm")


def test_a_push_writes_links_as_given_and_a_replan_gives_the_same(couch_db, django_user_model):
    user = django_user_model.objects.create_user("op", password="pw-op-12345")
    campaign, report = services.create_tokenset(
        user=user, config_data=b"Token:\n  type: x\n  status: queued\n", srmlist_data=srmlist(prefix=ELSEWHERE),
        database=couch_db,
    )
    assert report.written == 4 and campaign.link_flavor == "" and campaign.location == ""
    data = get_gateway().get_attachment(couch_db, "t_x_L229507_SB002", "srm.txt")[0]
    assert data.decode() == f"{ELSEWHERE}L229507_SB002_uv.MS.tar\n"
    assert get_gateway().get_doc(couch_db, "t_x_L229507_SB002")["status"] == "queued"
    assert services.plan_of(campaign).slices == plan(srm=srmlist(prefix=ELSEWHERE)).slices


def run_create(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("create_tokenset", *args, stdout=out, stderr=err)
    return out.getvalue()


@pytest.fixture
def files(tmp_path):
    config = tmp_path / "step.yaml"
    config.write_bytes(b"Token:\n  type: x\n")
    unknown = tmp_path / "elsewhere.srmlist"
    unknown.write_bytes(srmlist(range(3), prefix=ELSEWHERE))
    return config, unknown


def test_the_command_prints_the_notes_before_its_summary(couch_db, files, superuser):
    config, unknown = files
    out = run_create("--config", config, "--srmlist", unknown, "--database", couch_db, "--slice-size", "8")
    lines = out.splitlines()
    assert lines[0] == (
        "Note: links on gridftp.example.org: no storage site the portal knows, so the links are written as given "
        "and cannot be converted to another flavour."
    )
    assert lines[1] == (
        "Note: the slice size 8 is larger than the 3 subbands the list spans (000-002): one token holds them all."
    )
    assert lines[2].startswith("Campaign 'x' in") and "1 written" in lines[2]


def test_the_command_refuses_a_flavour_it_cannot_convert_to_and_writes_nothing(couch_db, files, superuser):
    config, unknown = files
    with pytest.raises(CommandError, match="the links cannot be converted to https: 'gridftp.example.org'"):
        run_create("--config", config, "--srmlist", unknown, "--database", couch_db, "--link-flavor", "https")
    assert not Campaign.objects.exists()
    assert get_gateway().get_doc(couch_db, "t_x_L229507_SB000", default=None) is None


def test_the_command_keeps_links_as_given_by_default(couch_db, files, superuser):
    config, unknown = files
    gsiftp = unknown.with_name("gsiftp.srmlist")
    gsiftp.write_bytes(srmlist(range(2), prefix=GSIFTP_SARA))
    run_create("--config", config, "--srmlist", gsiftp, "--database", couch_db)
    assert Campaign.objects.get().link_flavor == ""
    data = get_gateway().get_attachment(couch_db, "t_x_L229507_SB001", "srm.txt")[0]
    assert data.decode() == f"{GSIFTP_SARA}L229507_SB001_uv.MS.tar\n"
