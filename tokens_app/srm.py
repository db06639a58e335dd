"""SRM lists: the input files of a token campaign, one grid storage link per line.

Pure parsing and validation, no I/O. The conventions follow GRID_LRT's ``srmlist``: a list holds
the files of one observation (OBSID) at one storage site, links may come as ``srm://``,
``gsiftp://`` or https download links, and the files are grouped into chunks of N subbands, one
chunk per token. A link on a host of no site the portal knows is accepted as GRID_LRT accepts it
(its location is ``""``, as GRID_LRT's is), but it cannot be converted to another flavour.
"""

from __future__ import annotations

import functools
import re
import sys
from dataclasses import dataclass
from typing import NamedTuple

# The link schemes, srm first: it is the form the archive hands out and the one a line's fields
# are searched for first.
LINK_FLAVORS = ("srm", "gsiftp", "https")
# The link flavour that keeps every link in the form the list gives it (GRID_LRT's behaviour).
AS_GIVEN = ""
# The location of a link whose host belongs to no site in LOCATIONS.
UNKNOWN_SITE = ""

_OBSID = re.compile(r"L\d+")
_SUBBAND = re.compile(r"SB(\d+)_")
# The common shape of a link (a scheme of ours, then the authority up to the path, query or
# fragment), matched in one step; anything else goes through the slower path of _split_link
# that names the fault. ASCII: "ſ" must not pass for "s".
_LINK_HEAD = re.compile(r"(srm|gsiftp|https)://([^/?#]*)", re.IGNORECASE | re.ASCII)
# The common shape of a whole line, parsed in one match instead of a dozen steps: a link alone
# on its line (CRLF files leave a "\r"), with a lower-case scheme and host, an optional port and
# a printable ASCII path in which the OBSID is the first capital L and a subband follows it.
# Any other line goes through _parse_line, which names the fault. For a line of this shape the
# match finds what _parse_line would: with no capital L or S ahead of the OBSID there is no
# earlier L<digits> or SB<digits>_, and in ASCII [0-9] is what \d matches. The OBSID's digits,
# the search for the first subband and the rest of the line are possessive or atomic: the match
# never tries another split of them, so a line that fails costs one pass, not one per split.
_COMMON_LINE = re.compile(
    r"[ \t\r]*"
    r"(?P<url>(?:srm|gsiftp|https)://(?P<host>[a-z0-9.-]++)(?::[0-9]*+)?"
    r"(?P<path>/[!-KM-RT-~]*(?P<obsid>L[0-9]++)(?>[!-~]*?SB(?P<subband>[0-9]+)_)[!-~]*+))"
    r"[ \t\r]*+"
)
_UTF8_BOM = b"\xef\xbb\xbf"
# Longest line of a list: archive links run to a few hundred characters; a longer line is no link.
MAX_LINE_CHARS = 4096
# Longest piece of an offending line quoted back in an error message: room for a whole link
# (download links run to ~200 characters), not for a line of garbage.
_EXCERPT_CHARS = 240


@dataclass(frozen=True)
class Site:
    """One LOFAR Long Term Archive site: the domains its hosts live in and its URL prefixes.

    A file keeps its path across flavours; only the part before the path changes. The https
    prefix wraps the file's srm link (``...SRMFifoGet.py?surl=srm://...``).
    """

    domains: tuple[str, ...]
    srm: str
    gsiftp: str
    https: str


LOCATIONS = {
    "sara": Site(
        # The download service moved to the surfsara.nl domain; the storage kept grid.sara.nl.
        domains=("grid.sara.nl", "grid.surfsara.nl"),
        srm="srm://srm.grid.sara.nl:8443",
        gsiftp="gsiftp://gridftp.grid.sara.nl:2811",
        https="https://lofar-download.grid.surfsara.nl/lofigrid/SRMFifoGet.py?surl=",
    ),
    "juelich": Site(
        domains=("fz-juelich.de",),
        srm="srm://lofar-srm.fz-juelich.de:8443",
        gsiftp="gsiftp://lofar-gridftp.fz-juelich.de:2811",
        https="https://lofar-download.fz-juelich.de/webserver-lofar/SRMFifoGet.py?surl=",
    ),
    "poznan": Site(
        domains=("lofar.psnc.pl",),
        srm="srm://lta-head.lofar.psnc.pl:8443",
        gsiftp="gsiftp://gridftp.lofar.psnc.pl:2811",
        https="https://lta-download.lofar.psnc.pl/lofigrid/SRMFifoGet.py?surl=",
    ),
}


class NotUtf8Error(ValueError):
    """Uploaded bytes that are not UTF-8 text; ``line`` and ``message`` locate the bad byte."""

    def __init__(self, message: str, line: int):
        super().__init__(f"line {line}: {message}")
        self.message = message
        self.line = line


def decode_utf8(data: bytes | str) -> str:
    """Return the text of an uploaded file: UTF-8, with a leading byte order mark dropped.

    Uploads come from many editors, so a BOM is accepted; anything else that is not UTF-8 is
    refused with the offset of the first bad byte rather than guessed at.
    """
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    body = data.removeprefix(_UTF8_BOM)
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as err:
        offset = err.start + len(data) - len(body)
        line = data.count(b"\n", 0, offset) + 1
        message = f"not UTF-8 (byte 0x{data[offset]:02x} at offset {offset})"
        raise NotUtf8Error(message, line) from None


class SrmListError(ValueError):
    """An SRM list that cannot be used; ``line`` (1-based, or None) points at the culprit."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message if line is None else f"line {line}: {message}")
        self.message = message
        self.line = line


class Link(NamedTuple):
    """One input file: its link as given (normalised) and what the link says about the file.

    A named tuple rather than a frozen dataclass, whose __init__ sets each field through
    ``object.__setattr__``: a list holds many (docs/benchmarks.md, "Figures behind design choices").
    """

    url: str
    obsid: str
    location: str
    subband: int
    line: int


# The common path builds its links from a tuple: Link(...) goes through a Python-level __new__.
_new_link = functools.partial(tuple.__new__, Link)


@dataclass(frozen=True)
class SrmList:
    """The links of an uploaded list, in upload order, with the OBSID and site they share.

    ``unknown_hosts`` names, sorted, the hosts of the links whose site the portal does not know.
    """

    links: tuple[Link, ...]
    obsid: str | None
    location: str | None
    unknown_hosts: tuple[str, ...] = ()

    def subbands(self) -> dict[int, list[str]]:
        """Map each subband, in ascending order, to the links of its files."""
        by_subband: dict[int, list[str]] = {}
        for link in self.links:
            subband = link.subband
            urls = by_subband.get(subband)
            if urls is None:
                by_subband[subband] = [link.url]
            else:
                urls.append(link.url)
        # Sorting the numbers alone: sorting the items costs a tuple per subband.
        return {subband: by_subband[subband] for subband in sorted(by_subband)}


def gaps_of(subbands: list[int]) -> list[tuple[int, int]]:
    """The missing ranges (first, last inclusive) between sorted ``subbands``."""
    return [
        (below + 1, above - 1)
        for below, above in zip(subbands, subbands[1:])
        if above - below > 1
    ]


def slice_subbands(subbands: dict[int, list[str]], size: int) -> dict[str, list[str]]:
    """Group subbands into chunks of ``size`` consecutive numbers, one token per chunk.

    Chunks are counted from the lowest subband: chunk k covers [lo + k*size, lo + (k+1)*size).
    A missing subband leaves a hole in its chunk instead of shifting later chunks, so a chunk's
    subbands do not depend on which files happen to be missing. Empty chunks are dropped. Each
    chunk is named by the first subband number of its range (``%03d``), as GRID_LRT names them,
    even when that subband itself is missing.
    """
    if size < 1:
        raise ValueError(f"the slice size must be at least 1 subband, not {size}")
    if not subbands:
        return {}
    ordered = sorted(subbands)
    lowest = ordered[0]
    chunks: dict[str, list[str]] = {}
    if size == 1:
        # One subband per chunk (the usual case): its own number names it.
        for subband in ordered:
            chunks[f"{subband:03d}"] = list(subbands[subband])
        return chunks
    end = lowest
    for subband in ordered:
        if subband >= end:
            # The first subband of its chunk: in ascending order, a chunk is never seen again
            # once passed, so each is named and created once.
            start = lowest + (subband - lowest) // size * size
            end = start + size
            chunk = chunks[f"{start:03d}"] = []
        chunk.extend(subbands[subband])
    return chunks


def parse_srmlist(
    data: bytes | str,
    *,
    allow_mixed: bool = False,
    max_lines: int | None = None,
) -> SrmList:
    """Parse an uploaded SRM list: one link per line, blank lines ignored, duplicates dropped.

    Every link must name an OBSID and a subband. All links must
    share one OBSID and one site unless ``allow_mixed`` is set, since a campaign processes one
    observation and stages it from one archive; the links on hosts of no known site count as one
    site, as in GRID_LRT. Raises SrmListError naming the first offending line.
    """
    try:
        text = decode_utf8(data)
    except NotUtf8Error as err:
        raise SrmListError(err.message, err.line) from None
    if "\0" in text:
        # The portal keeps the list with the campaign, and PostgreSQL refuses NUL in text.
        raise SrmListError("a NUL character (U+0000) is no part of a link", text.count("\n", 0, text.index("\0")) + 1)
    links: list[Link] = []
    seen: set[str] = set()
    non_blank = 0
    for number, raw in enumerate(text.split("\n"), start=1):
        if len(raw) > MAX_LINE_CHARS:
            raise SrmListError(f"the line is longer than {MAX_LINE_CHARS} characters (a link is a few hundred)", number)
        common = _COMMON_LINE.fullmatch(raw)
        if common is None and not raw.strip():
            continue
        non_blank += 1
        if max_lines is not None and non_blank > max_lines:
            raise SrmListError(f"the SRM list has more than {max_lines} lines", number)
        link = _common_link(common, number) if common else _parse_line(raw, number)
        if link.url in seen:
            continue
        seen.add(link.url)
        if not links:
            first = link
        elif not allow_mixed and (link.obsid != first.obsid or link.location != first.location):
            raise _origin_error(first, link)
        links.append(link)
    if not links:
        raise SrmListError("the SRM list is empty")
    unknown_hosts = _unknown_hosts(links)
    if not allow_mixed:
        # Every link was checked against the first: no need to collect the values again.
        return SrmList(tuple(links), first.obsid, first.location, unknown_hosts)
    return SrmList(
        links=tuple(links),
        obsid=_single({link.obsid for link in links}),
        location=_single({link.location for link in links}),
        unknown_hosts=unknown_hosts,
    )


def _unknown_hosts(links: list[Link]) -> tuple[str, ...]:
    """The hosts, sorted, of the links on no site the portal knows (none in a usual list)."""
    return tuple(sorted({_split_link(link.url)[1] for link in links if link.location == UNKNOWN_SITE}))


def _common_link(common: re.Match[str], line: int) -> Link:
    """The Link of a line that matched _COMMON_LINE."""
    url, host, path, obsid, subband = common.groups()
    location = _location_of(host) or UNKNOWN_SITE
    if "//" in path:
        # Folding drops a "/" that sits between a "/" and a letter: the OBSID and subband the
        # match found stay the first ones of the link.
        url = url[: len(url) - len(path)] + _fold_slashes(path, location)
    return _new_link((url, sys.intern(obsid), location, int(subband), line))


def _parse_line(raw: str, line: int) -> Link:
    """Parse one non-blank line of an SRM list into a Link, or raise SrmListError for ``line``."""
    field = _pick_field(raw.split(), line)
    try:
        host, rest = _split_link(field)[1:]
    except ValueError as err:
        raise SrmListError(str(err), line) from None
    location = _location_of(host) or UNKNOWN_SITE
    url = field[: len(field) - len(rest)] + _fold_slashes(rest, location)
    obsid = _OBSID.search(url)
    if obsid is None:
        raise SrmListError(f"no OBSID (L<digits>) in the link {_excerpt(url)}", line)
    subband = _SUBBAND.search(url)
    if subband is None:
        raise SrmListError(f"no subband (SB<number>_) in the link {_excerpt(url)}", line)
    return Link(
        url,
        # One string per OBSID, not one per line: a list has one or a few.
        sys.intern(obsid.group(0)),
        location,
        int(subband.group(1)),
        line,
    )


def convert_link(url: str, flavor: str) -> str:
    """Rewrite a link of a known site into the ``flavor`` form (srm, gsiftp or https download).

    The file path is kept and the site's host and port for that flavour put in front of it, so
    staging (srm), transfers (gsiftp) and plain downloads (https) can all reach the same file.
    A link already in the requested flavour is returned unchanged; any other link of a host the
    portal does not know is refused (ValueError), since nothing says what its other forms are.
    """
    if flavor not in LINK_FLAVORS:
        choices = ", ".join(LINK_FLAVORS)
        raise ValueError(f"unknown link flavour {flavor!r}; choose one of {choices}")
    if flavor != "https" and url[: len(flavor) + 3].lower() == f"{flavor}://":
        # Already in the wanted form (the usual case: srm lists staged as srm): nothing to look
        # up, whatever the site.
        return url
    scheme, site, path = _site_and_path(url)
    if scheme == flavor:
        return url
    if flavor == "https":
        return site.https + site.srm + path
    return getattr(site, flavor) + path


def _site_and_path(url: str) -> tuple[str, Site, str]:
    """Return the scheme of a link, its site and the file path the flavours have in common.

    A download link carries the file's srm link in its ``surl`` parameter; the path is that
    link's path.
    """
    scheme, host, rest = _split_link(url)
    location = _location_of(host)
    if location is None:
        raise ValueError(f"{host!r} is on no storage site the portal knows")
    if scheme != "https":
        return scheme, LOCATIONS[location], rest
    wrapped = rest.partition("surl=")[2]
    if not wrapped.startswith("srm://"):
        raise ValueError(f"the download link does not wrap an srm:// link: {_excerpt(url)}")
    return scheme, *_site_and_path(wrapped)[1:]


def _pick_field(fields: list[str], line: int) -> str:
    """Choose the link among a line's whitespace-separated fields: the srm one, else any link.

    Lists exported from the archive sometimes carry extra columns next to the link.
    """
    if len(fields) == 1:
        return fields[0]
    for wanted in LINK_FLAVORS:
        for field in fields:
            if field.partition("://")[0].lower() == wanted:
                return field
    raise SrmListError(
        f"no srm://, gsiftp:// or https:// link among the fields {_excerpt(' '.join(fields))}", line
    )


def _split_link(field: str) -> tuple[str, str, str]:
    """Split a link into its scheme, its host name and the rest (path and query).

    Raises ValueError when the scheme is not one of ours or the link has no host.
    """
    head = _LINK_HEAD.match(field)
    if head is not None:
        host = head.group(2).rpartition("@")[2].partition(":")[0].lower()
        if host:
            return head.group(1).lower(), host, field[head.end():]
    return _split_link_slowly(field)


def _split_link_slowly(field: str) -> tuple[str, str, str]:
    """:func:`_split_link` for any input, naming what is wrong with it."""
    scheme, separator, remainder = field.partition("://")
    scheme = scheme.lower()
    if not separator or scheme not in LINK_FLAVORS:
        raise ValueError(f"not an srm://, gsiftp:// or https:// link: {_excerpt(field)}")
    end = len(remainder)
    for delimiter in "/?#":
        found = remainder.find(delimiter)
        if found != -1:
            end = min(end, found)
    authority = remainder[:end].rpartition("@")[2]
    host = authority.partition(":")[0].lower()
    if not host:
        raise ValueError(f"no host in the link {_excerpt(field)}")
    return scheme, host, remainder[end:]


@functools.lru_cache(maxsize=256)
def _location_of(host: str) -> str | None:
    """Return the site whose domain the host belongs to, or None."""
    for location, site in LOCATIONS.items():
        for domain in site.domains:
            if host == domain or host.endswith("." + domain):
                return location
    return None


def _fold_slashes(rest: str, location: str) -> str:
    """Fold the doubled slashes some archive exports put before the storage root.

    ``//pnfs`` (dCache sites) and, at Poznan, ``//lofar`` become single slashes so that the same
    file is recognised as a duplicate and converts cleanly between flavours.
    """
    rest = rest.replace("//pnfs", "/pnfs")
    if location == "poznan":
        rest = rest.replace("//lofar", "/lofar")
    return rest


def _origin_error(first: Link, link: Link) -> SrmListError:
    """The error for a link whose OBSID or else site differs from the list's first link."""
    if link.obsid != first.obsid:
        return SrmListError(
            f"mixed OBSID {link.obsid} (the list so far is {first.obsid})", link.line
        )
    return SrmListError(
        f"mixed location {_site_name(link.location)} (the list so far is at {_site_name(first.location)})",
        link.line,
    )


def _site_name(location: str) -> str:
    return location or "a site the portal does not know"


def _single(values: set[str]) -> str | None:
    """Return the only value of a set, or None when there are several."""
    return next(iter(values)) if len(values) == 1 else None


def _excerpt(text: str) -> str:
    """Quote a piece of user input for an error message, shortened if it is long."""
    if len(text) > _EXCERPT_CHARS:
        text = text[:_EXCERPT_CHARS] + "…"
    return repr(text)
