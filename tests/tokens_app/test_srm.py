"""SRM list parsing, slicing and link conversion (tokens_app.srm): pure functions, no Django."""

import random
from pathlib import Path

import pytest

from tokens_app.srm import (
    _COMMON_LINE,
    LINK_FLAVORS,
    LOCATIONS,
    SrmListError,
    _parse_line,
    convert_link,
    gaps_of,
    parse_srmlist,
    slice_subbands,
)

pytestmark = pytest.mark.unit

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SARA_DIR = "srm://srm.grid.sara.nl:8443/pnfs/grid.sara.nl/data/lofar/ops/projects/lc2_038"
SITE_LINKS = {
    "sara": "srm://srm.grid.sara.nl:8443/pnfs/grid.sara.nl/data/lofar/ops/projects/lc2_038"
    "/229507/L229507_SB000_uv.dppp.MS_8d9fb8b4.tar",
    "juelich": "srm://lofar-srm.fz-juelich.de:8443/pnfs/fz-juelich.de/data/lofar/ops/projects"
    "/lc2_038/229507/L229507_SB000_uv.dppp.MS_8d9fb8b4.tar",
    "poznan": "srm://lta-head.lofar.psnc.pl:8443/lofar/ops/projects/lc2_038/229507"
    "/L229507_SB000_uv.dppp.MS_8d9fb8b4.tar",
}


@pytest.fixture
def sara_link():
    """Build a sara srm link of one subband of an observation."""

    def build(subband: int, obsid: str = "L229507") -> str:
        number = obsid[1:]
        return f"{SARA_DIR}/{number}/{obsid}_SB{subband:03d}_uv.dppp.MS_8d9fb8b4.tar"

    return build


@pytest.fixture
def example_list():
    return parse_srmlist((EXAMPLES / "L229507.srmlist").read_bytes())


def error_of(data, **options) -> SrmListError:
    with pytest.raises(SrmListError) as caught:
        parse_srmlist(data, **options)
    return caught.value


# The example list: L229507 at sara, subbands 000-243 without 120-123.


def test_example_list_has_one_link_per_line_with_its_obsid_and_site(example_list):
    assert len(example_list.links) == 240
    assert example_list.obsid == "L229507"
    assert example_list.location == "sara"
    first = example_list.links[0]
    assert (first.obsid, first.location, first.subband, first.line) == ("L229507", "sara", 0, 1)


def test_example_list_gap_is_reported(example_list):
    assert gaps_of(list(example_list.subbands())) == [(120, 123)]


def test_example_list_slices_keep_the_gap_in_its_chunk(example_list):
    chunks = slice_subbands(example_list.subbands(), 10)
    assert list(chunks) == [f"{start:03d}" for start in range(0, 250, 10)]
    assert [url.split("_SB")[1][:3] for url in chunks["120"]] == [
        "124", "125", "126", "127", "128", "129"
    ]
    assert len(chunks["130"]) == 10
    assert len(chunks["240"]) == 4
    assert sum(len(urls) for urls in chunks.values()) == 240


# Slicing.


def test_a_missing_subband_leaves_a_gap_and_does_not_shift_the_next_chunk():
    subbands = {number: [f"sb{number}"] for number in (0, 1, 2, 4, 5, 6, 7)}
    assert slice_subbands(subbands, 3) == {
        "000": ["sb0", "sb1", "sb2"],
        "003": ["sb4", "sb5"],
        "006": ["sb6", "sb7"],
    }


def test_empty_chunks_are_dropped():
    assert slice_subbands({0: ["a"], 10: ["b"]}, 3) == {"000": ["a"], "009": ["b"]}


def test_chunks_start_at_the_lowest_subband():
    subbands = {number: [f"sb{number}"] for number in (5, 6, 7, 8)}
    assert slice_subbands(subbands, 2) == {"005": ["sb5", "sb6"], "007": ["sb7", "sb8"]}


def test_chunk_is_named_by_the_first_subband_of_its_range_even_when_missing():
    assert slice_subbands({0: ["a"], 4: ["b"], 5: ["c"]}, 3) == {"000": ["a"], "003": ["b", "c"]}


def test_subbands_past_999_keep_all_their_digits():
    assert list(slice_subbands({998: ["a"], 1000: ["b"]}, 2)) == ["998", "1000"]


@pytest.mark.parametrize("size", [0, -3])
def test_slice_size_below_one_is_refused(size):
    with pytest.raises(ValueError, match=f"the slice size must be at least 1 subband, not {size}"):
        slice_subbands({0: ["a"]}, size)


def test_slicing_nothing_gives_no_chunks():
    assert slice_subbands({}, 10) == {}


def test_subbands_are_sorted_and_hold_every_file_of_a_subband(sara_link):
    other_file = sara_link(1).replace("8d9fb8b4", "00000000")
    srmlist = parse_srmlist("\n".join([sara_link(2), sara_link(1), other_file]))
    assert srmlist.subbands() == {1: [sara_link(1), other_file], 2: [sara_link(2)]}


def test_gaps_of_a_list_without_holes_are_empty(sara_link):
    assert gaps_of(list(parse_srmlist("\n".join(sara_link(n) for n in range(5))).subbands())) == []


# Lines.


def test_blank_lines_are_ignored_and_lines_keep_their_numbers(sara_link):
    srmlist = parse_srmlist(f"\n{sara_link(0)}\n   \n\t\n{sara_link(1)}\n\n")
    assert [(link.subband, link.line) for link in srmlist.links] == [(0, 2), (1, 5)]


def test_duplicates_are_dropped_keeping_the_first(sara_link):
    srmlist = parse_srmlist("\n".join([sara_link(0), sara_link(1), sara_link(0)]))
    assert [(link.subband, link.line) for link in srmlist.links] == [(0, 1), (1, 2)]


def test_double_slash_before_pnfs_is_folded(sara_link):
    doubled = sara_link(0).replace("/pnfs", "//pnfs")
    srmlist = parse_srmlist(f"{doubled}\n{sara_link(0)}")
    assert [link.url for link in srmlist.links] == [sara_link(0)]


def test_double_slash_before_lofar_is_folded_at_poznan_only():
    poznan = SITE_LINKS["poznan"].replace("/lofar/ops", "//lofar/ops")
    assert parse_srmlist(poznan).links[0].url == SITE_LINKS["poznan"]
    sara = SITE_LINKS["sara"].replace("/data/lofar", "/data//lofar")
    assert parse_srmlist(sara).links[0].url == sara


def test_of_several_fields_the_srm_link_is_taken(sara_link):
    line = f"L229507_SB000.tar {sara_link(0)} 2048 ONLINE"
    assert parse_srmlist(line).links[0].url == sara_link(0)


def test_of_several_fields_without_srm_another_link_is_taken(sara_link):
    gsiftp = convert_link(sara_link(0), "gsiftp")
    assert parse_srmlist(f"{gsiftp} 2048").links[0].url == gsiftp


def test_a_link_with_spaces_or_tabs_around_it_is_taken_alone(sara_link):
    assert parse_srmlist(f" \t{sara_link(0)}\t ").links[0].url == sara_link(0)


def test_several_fields_without_a_link_are_refused(sara_link):
    error = error_of(f"{sara_link(0)}\nL229507 SB001 ONLINE")
    assert error.line == 2
    assert str(error) == (
        "line 2: no srm://, gsiftp:// or https:// link among the fields 'L229507 SB001 ONLINE'"
    )


# What a link says: OBSID, site, subband.


def test_obsid_is_the_first_l_number_of_the_link():
    link = f"{SARA_DIR}/L229507/L229587_SB000_uv.MS.tar"
    assert parse_srmlist(link).obsid == "L229507"


@pytest.mark.parametrize(
    ("link", "location"),
    [
        (SITE_LINKS["sara"], "sara"),
        (SITE_LINKS["juelich"], "juelich"),
        (SITE_LINKS["poznan"], "poznan"),
        (convert_link(SITE_LINKS["sara"], "gsiftp"), "sara"),
        (convert_link(SITE_LINKS["sara"], "https"), "sara"),
        (convert_link(SITE_LINKS["juelich"], "https"), "juelich"),
        (convert_link(SITE_LINKS["poznan"], "gsiftp"), "poznan"),
    ],
)
def test_location_comes_from_the_host(link, location):
    assert parse_srmlist(link).location == location


def test_subband_is_the_number_in_sb_underscore(sara_link):
    assert parse_srmlist(sara_link(243)).links[0].subband == 243


def test_subband_is_the_first_sb_number_of_the_link_even_before_the_obsid():
    link = f"{SARA_DIR}/SB012_x/L229507_SB000_uv.MS.tar"
    assert parse_srmlist(link).links[0].subband == 12


def test_a_capital_l_without_digits_is_no_obsid():
    link = f"{SARA_DIR}/LOFAR/L229507_SB000_uv.MS.tar"
    assert parse_srmlist(link).obsid == "L229507"


@pytest.mark.parametrize(
    "link",
    [
        SITE_LINKS["sara"].replace("srm://", "SRM://"),
        SITE_LINKS["sara"].replace("srm.grid.sara.nl", "SRM.Grid.Sara.NL"),
        SITE_LINKS["sara"].replace("srm://", "srm://lofar@"),
    ],
)
def test_links_in_a_rarer_form_are_kept_as_given(link):
    srmlist = parse_srmlist(link)
    assert srmlist.links[0].url == link
    assert (srmlist.obsid, srmlist.location, srmlist.links[0].subband) == ("L229507", "sara", 0)


@pytest.mark.parametrize(
    "line",
    [
        SITE_LINKS["sara"],
        SITE_LINKS["juelich"] + "\r",
        SITE_LINKS["poznan"].replace("/lofar/ops", "//lofar/ops"),
        SITE_LINKS["sara"].replace("/pnfs", "//pnfs"),
        SITE_LINKS["sara"].replace("/data/lofar", "/data//lofar"),
        convert_link(SITE_LINKS["juelich"], "gsiftp"),
        SITE_LINKS["sara"].replace(":8443", ""),
        SITE_LINKS["sara"].replace("_uv", "_SB999_uv"),
        SITE_LINKS["sara"] + "?lifetime=L5_SB6_",
        SITE_LINKS["sara"].replace("srm.grid.sara.nl", "srm.example.org").replace("/pnfs", "//pnfs"),
    ],
)
def test_the_common_line_shape_is_read_as_the_careful_path_reads_it(line):
    assert _COMMON_LINE.fullmatch(line)
    assert parse_srmlist(line).links[0] == _parse_line(line, 1)


def test_links_cannot_be_changed(sara_link):
    link = parse_srmlist(sara_link(0)).links[0]
    with pytest.raises(AttributeError):
        link.url = sara_link(1)


def test_a_list_on_an_unknown_site_is_accepted_as_given():
    links = [f"gsiftp://gridftp.example.org:2811/data/L229507_SB{sb:03d}_uv.MS.tar" for sb in range(3)]
    srmlist = parse_srmlist("\n".join(links) + "\n")
    assert [link.url for link in srmlist.links] == links
    assert (srmlist.obsid, srmlist.location, srmlist.unknown_hosts) == ("L229507", "", ("gridftp.example.org",))
    assert [link.location for link in srmlist.links] == ["", "", ""]


def test_unknown_hosts_are_named_once_each_and_known_ones_not(sara_link):
    text = "\n".join([
        "srm://b.example.org/L229507_SB000_x", "srm://a.example.org/L229507_SB001_x",
        "srm://b.example.org/L229507_SB002_x",
    ])
    assert parse_srmlist(text).unknown_hosts == ("a.example.org", "b.example.org")
    assert parse_srmlist(sara_link(0)).unknown_hosts == ()


def test_an_unknown_site_does_not_mix_with_a_known_one(sara_link):
    error = error_of(f"{sara_link(0)}\nsrm://srm.example.org:8443/pnfs/L229507_SB001_uv.MS.tar")
    assert str(error) == (
        "line 2: mixed location a site the portal does not know (the list so far is at sara)"
    )
    mixed = parse_srmlist(f"{sara_link(0)}\nsrm://srm.example.org:8443/pnfs/L229507_SB001_uv.MS.tar", allow_mixed=True)
    assert (mixed.location, mixed.unknown_hosts) == (None, ("srm.example.org",))


def test_a_known_domain_must_end_the_host(sara_link):
    link = sara_link(0).replace("srm.grid.sara.nl:", "srm.grid.sara.nl.example.org:")
    srmlist = parse_srmlist(f"{link}\r\n")
    assert (srmlist.location, srmlist.unknown_hosts) == ("", ("srm.grid.sara.nl.example.org",))


def test_unknown_site_links_still_need_an_obsid_and_a_subband():
    assert error_of("srm://srm.example.org/data/file.tar").message == (
        "no OBSID (L<digits>) in the link 'srm://srm.example.org/data/file.tar'"
    )
    assert error_of("srm://srm.example.org/data/L1_file.tar").message.startswith("no subband")


def test_unknown_scheme_is_refused_with_its_line(sara_link):
    error = error_of(f"{sara_link(0)}\n\nftp://srm.grid.sara.nl/pnfs/L229507_SB001_uv.MS.tar")
    assert error.line == 3
    assert str(error) == (
        "line 3: not an srm://, gsiftp:// or https:// link: "
        "'ftp://srm.grid.sara.nl/pnfs/L229507_SB001_uv.MS.tar'"
    )


def test_link_without_host_is_refused():
    assert str(error_of("srm:///pnfs/L229507_SB001_uv.MS.tar")) == (
        "line 1: no host in the link 'srm:///pnfs/L229507_SB001_uv.MS.tar'"
    )


def test_link_without_subband_is_refused_with_its_line(sara_link):
    error = error_of(f"{sara_link(0)}\n{SARA_DIR}/229507/L229507_uv.MS.tar")
    assert error.line == 2
    assert error.message == (
        f"no subband (SB<number>_) in the link '{SARA_DIR}/229507/L229507_uv.MS.tar'"
    )


def test_link_without_obsid_is_refused():
    error = error_of(f"{SARA_DIR}/no_obsid_SB001_uv.MS.tar")
    assert error.line == 1
    assert error.message.startswith("no OBSID (L<digits>) in the link ")


def test_long_offending_lines_are_shortened_in_messages():
    error = error_of("x" * 500)
    assert len(str(error)) < 300
    assert str(error).endswith("…'")


# One observation at one site.


def test_mixed_obsid_is_refused_naming_both_and_the_line(sara_link):
    lines = [sara_link(n) for n in range(36)] + [sara_link(36, obsid="L229587")]
    error = error_of("\n".join(lines))
    assert error.line == 37
    assert str(error) == "line 37: mixed OBSID L229587 (the list so far is L229507)"


def test_mixed_location_is_refused_naming_both_and_the_line():
    error = error_of(f"{SITE_LINKS['sara']}\n{SITE_LINKS['juelich']}")
    assert error.line == 2
    assert str(error) == "line 2: mixed location juelich (the list so far is at sara)"


def test_mixing_is_allowed_on_request(sara_link):
    srmlist = parse_srmlist(
        "\n".join([sara_link(0), sara_link(1, obsid="L229587"), SITE_LINKS["poznan"]]),
        allow_mixed=True,
    )
    assert len(srmlist.links) == 3
    assert (srmlist.obsid, srmlist.location) == (None, None)


# Encoding, emptiness, size.


def test_bytes_that_are_not_utf8_are_refused_with_offset_and_line(sara_link):
    data = f"{sara_link(0)}\n".encode() + b"srm://\xff\n"
    error = error_of(data)
    offset = len(sara_link(0)) + 1 + len("srm://")
    assert error.line == 2
    assert str(error) == f"line 2: not UTF-8 (byte 0xff at offset {offset})"


def test_bom_and_crlf_line_endings_are_accepted(sara_link):
    data = b"\xef\xbb\xbf" + f"{sara_link(0)}\r\n\r\n{sara_link(1)}\r\n".encode()
    srmlist = parse_srmlist(data)
    assert [link.url for link in srmlist.links] == [sara_link(0), sara_link(1)]
    assert [link.line for link in srmlist.links] == [1, 3]


def test_text_input_is_accepted(sara_link):
    assert parse_srmlist("\ufeff" + sara_link(0)).links[0].url == sara_link(0)


@pytest.mark.parametrize("data", [b"", "", "\n \n\t\n", b"\xef\xbb\xbf\r\n"])
def test_an_empty_list_is_refused(data):
    error = error_of(data)
    assert (str(error), error.line) == ("the SRM list is empty", None)


def test_more_lines_than_allowed_are_refused_at_the_first_extra_line(sara_link):
    data = "\n".join([sara_link(0), "", sara_link(1), sara_link(2)])
    assert len(parse_srmlist(data, max_lines=3).links) == 3
    error = error_of(data, max_lines=2)
    assert error.line == 4
    assert str(error) == "line 4: the SRM list has more than 2 lines"


def test_random_bytes_only_ever_raise_srm_list_errors():
    generator = random.Random(20240229)
    for _ in range(300):
        data = generator.randbytes(generator.randrange(1, 400))
        with pytest.raises(SrmListError):
            parse_srmlist(data)


def test_random_text_only_ever_raises_srm_list_errors():
    generator = random.Random(7)
    alphabet = "srm:/gsiftp.https?=L0123456789_SB \t\r\n\x00é"
    for _ in range(300):
        text = "".join(generator.choices(alphabet, k=generator.randrange(1, 200)))
        try:
            parse_srmlist(text)
        except SrmListError:
            pass


def test_a_list_of_100000_lines_is_parsed(sara_link):
    data = "\n".join(sara_link(number) for number in range(100_000)).encode()
    srmlist = parse_srmlist(data, max_lines=100_000)
    assert len(srmlist.links) == 100_000
    assert srmlist.links[-1].line == 100_000
    assert len(slice_subbands(srmlist.subbands(), 10)) == 10_000


# Converting links between flavours.


def test_known_site_hosts_and_ports():
    assert LOCATIONS["sara"].srm == "srm://srm.grid.sara.nl:8443"
    assert LOCATIONS["sara"].gsiftp == "gsiftp://gridftp.grid.sara.nl:2811"
    assert LOCATIONS["sara"].https.startswith("https://lofar-download.grid.surfsara.nl/")
    assert LOCATIONS["juelich"].srm == "srm://lofar-srm.fz-juelich.de:8443"
    assert LOCATIONS["juelich"].gsiftp == "gsiftp://lofar-gridftp.fz-juelich.de:2811"
    assert LOCATIONS["juelich"].https.startswith("https://lofar-download.fz-juelich.de/")
    assert LOCATIONS["poznan"].srm == "srm://lta-head.lofar.psnc.pl:8443"
    assert LOCATIONS["poznan"].gsiftp == "gsiftp://gridftp.lofar.psnc.pl:2811"
    assert LOCATIONS["poznan"].https.startswith("https://lta-download.lofar.psnc.pl/")


def test_srm_link_converts_to_gsiftp_and_https():
    link = SITE_LINKS["sara"]
    path = link.removeprefix("srm://srm.grid.sara.nl:8443")
    assert convert_link(link, "gsiftp") == "gsiftp://gridftp.grid.sara.nl:2811" + path
    assert convert_link(link, "https") == (
        "https://lofar-download.grid.surfsara.nl/lofigrid/SRMFifoGet.py?surl=" + link
    )


@pytest.mark.parametrize("location", sorted(SITE_LINKS))
@pytest.mark.parametrize("flavor", LINK_FLAVORS)
def test_every_flavour_converts_back_to_the_srm_link(location, flavor):
    link = SITE_LINKS[location]
    converted = convert_link(link, flavor)
    assert converted.startswith(getattr(LOCATIONS[location], flavor))
    assert convert_link(converted, "srm") == link


def test_a_link_already_in_the_flavour_is_unchanged():
    link = "srm://srm.grid.sara.nl/pnfs/grid.sara.nl/data/L229507_SB000_uv.MS.tar"
    assert convert_link(link, "srm") == link


def test_a_link_of_an_unknown_site_already_in_the_flavour_is_unchanged():
    link = "gsiftp://gridftp.example.org:2811/data/L1_SB000_.tar"
    assert convert_link(link, "gsiftp") == link


def test_unknown_flavour_is_refused():
    message = "unknown link flavour 'ftp'; choose one of srm, gsiftp, https"
    with pytest.raises(ValueError, match=message):
        convert_link(SITE_LINKS["sara"], "ftp")


@pytest.mark.parametrize(
    ("link", "message"),
    [
        (
            "srm://srm.example.org:8443/pnfs/L1_SB000_.tar",
            "'srm.example.org' is on no storage site the portal knows",
        ),
        ("ftp://srm.grid.sara.nl/pnfs/L1_SB000_.tar", "not an srm://, gsiftp:// or https:// link"),
        (
            "https://lofar-download.grid.surfsara.nl/pnfs/L1_SB000_.tar",
            "the download link does not wrap an srm:// link",
        ),
    ],
)
def test_links_that_cannot_be_converted_are_refused(link, message):
    with pytest.raises(ValueError, match=message):
        convert_link(link, "gsiftp")


# Every bad line of a list is named (up to MAX_BAD_LINES_NAMED, the rest counted), not only the first.

def test_every_bad_line_is_named_in_one_error(sara_link):
    lines = [sara_link(0), "not a link", sara_link(1), f"{SARA_DIR}/x/no_subband.tar", "x" * 5000,
             sara_link(2, obsid="L123456"), sara_link(3)]
    error = error_of("\n".join(lines))
    assert error.line == 2 and error.more == 0
    assert [problem.split(":")[0] for problem in error.problems] == ["line 2", "line 4", "line 5", "line 6"]
    assert "no OBSID" in error.problems[1] and "longer than 4096" in error.problems[2]
    assert "mixed OBSID L123456" in error.problems[3]
    assert str(error) == "; ".join(error.problems)


def test_past_the_limit_bad_lines_are_counted_not_named(sara_link):
    from tokens_app.srm import MAX_BAD_LINES_NAMED

    error = error_of("\n".join([sara_link(0)] + [f"bad {number}" for number in range(MAX_BAD_LINES_NAMED + 7)]))
    assert len(error.problems) == MAX_BAD_LINES_NAMED and error.more == 7
    assert error.problems[-1].startswith(f"line {MAX_BAD_LINES_NAMED + 1}:")
    assert str(error).endswith("; and 7 more bad lines")


def test_one_bad_line_reads_as_before(sara_link):
    error = error_of("\n".join([sara_link(0), "garbage", sara_link(1)]))
    assert (error.problems, error.more, str(error)) == ([str(error)], 0, f"line 2: {error.message}")
