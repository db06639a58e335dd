"""The design documents of a database of token campaigns: their views and their JavaScript.

Two kinds (the layout is version :data:`LAYOUT_VERSION`, see docs/architecture.md):

- ``_design/<type>``, one per campaign, holds exactly what PiCaS pilots and GRID_LRT scripts read:
  ``todo``, ``locked``, ``done``, ``error`` keyed by document id (GRID_LRT's ``reset_tokens`` and
  ``set_view_to_status`` take each row's key as the id) and ``overview_total`` (state → ``_sum``,
  a name GRID_LRT skips), plus the map-only, id-keyed user views the portal writes. No other view:
  GRID_LRT's ``TokenSet.tokens`` reads every view but ``overview_total`` as a list of tokens.
- ``_design/tokenportal``, one per database, holds the portal's own reads, every key starting with
  the token type: one index serves every campaign of the database, a new campaign adds only its
  own documents to it, and the counts of every campaign of a database are one grouped query.

Every design document the portal writes carries ``"tokenportal": {"version": 4}``; one without
it, or whose views differ from what the portal writes, was made or changed by another tool.
The state of a token is defined once, in :data:`STATE_FUNCTION` (JavaScript, embedded in every
map function) and in its Python twin :func:`state_of`; the tests hold the two against each other.

The JavaScript is ES5 on purpose: CouchDB before 3.4 runs map functions on SpiderMonkey 1.8.5.
"""

from __future__ import annotations

import json
import re
from numbers import Number

from tokens_app.conditions import FIELD_FUNCTION, compile_condition, parse
from tokens_app.couch import design_id
from tokens_app.states import STATE_NAMES
# The views of ``_design/<type>`` the portal writes, all read by pilots or GRID_LRT scripts.
TYPE_VIEWS = STATE_NAMES + ("overview_total",)
# The portal's design document of a database and its views (keys start with the token type).
PORTAL_DESIGN = "tokenportal"
STATES_VIEW = "states"            # [type, state, id] → null, _count: counts (group_level=2), state pages
TOKENS_VIEW = "tokens"            # [type, id] → state: the walk through every token of a type
PORTAL_VIEWS = (STATES_VIEW, TOKENS_VIEW)
# Names a user view may not take: the per-type views, and "tokens" (the page's "every token").
BUILTIN_VIEWS = TYPE_VIEWS + (TOKENS_VIEW,)
# The marker of every design document the portal writes, and the layout it follows.
MARKER_FIELD = "tokenportal"
# Raised whenever the map code changes: a design document of an earlier version is then rewritten
# silently, as a migration, never reported as another tool's change.
LAYOUT_VERSION = 4

MAX_TOKEN_TYPE_LENGTH = 100
_VIEW_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
# The design document's record of the user views the portal wrote: {view name: condition}. A view
# not named here was written by another tool (or by hand): the portal reads it, never changes it.
USER_VIEWS_FIELD = "tokenportal_user_views"

# A string reads as zero when it is a plain decimal zero ("0", "-0", "0.0", ".0", "00", "0.").
# Written so that each character has one way to match: a failing string costs one pass, in
# Python and in every JavaScript engine that runs the views.
_ZERO_TEXT = r"[+-]?(?:0+(?:\.0*)?|\.0+)"
# A string reads as a timestamp when it is a plain unsigned decimal number.
_NUMBER_TEXT = r"[0-9]+(?:\.[0-9]*)?"

STATE_FUNCTION = f"""\
  function failed(value) {{
    if (value === undefined || value === null || value === "" || value === false) return false;
    if (typeof value === "number") return value !== 0;
    if (typeof value === "string") return !/^{_ZERO_TEXT}$/.test(value);
    if (typeof value === "object") return Object.keys(value).length > 0;
    return true;
  }}
  function positive(value) {{
    if (typeof value === "number") return value > 0;
    return typeof value === "string" && /^{_NUMBER_TEXT}$/.test(value) && parseFloat(value) > 0;
  }}
  function state(doc) {{
    if (positive(doc.lock) && (doc.status === "error" || failed(doc.exit_code) || failed(doc.output)
        || (Array.isArray(doc.error) && doc.error.length > 0))) {{
      return "error";
    }}
    if (positive(doc.done)) return "done";
    if (positive(doc.lock)) return "locked";
    return "todo";
  }}
"""

# What each view of ``_design/<type>`` emits once a token of the type is known to be in ``state``:
# every state view is keyed by the document id, as GRID_LRT reads them.
_TYPE_VIEW_EMITS = {
    "todo": 'if (state(doc) === "todo") emit(doc._id, doc._id);',
    "locked": 'if (state(doc) === "locked") '
    'emit(doc._id, {"lock": doc.lock, "hostname": doc.hostname, "status": doc.status});',
    "done": 'if (state(doc) === "done") emit(doc._id, doc.done);',
    "error": 'if (state(doc) === "error") '
    'emit(doc._id, {"exit_code": doc.exit_code, "output": doc.output, "status": doc.status});',
    "overview_total": "emit(state(doc), 1);",
}
# What each view of ``_design/tokenportal`` emits for a token ``doc`` of type ``type``.
_PORTAL_VIEW_EMITS = {
    STATES_VIEW: "emit([type, state(doc), doc._id], null);",
    TOKENS_VIEW: "emit([type, doc._id], state(doc));",
}
def marker() -> dict:
    """The field that marks a design document as the portal's, of this layout."""
    return {"version": LAYOUT_VERSION}


def is_marked(design: dict | None) -> bool:
    """Whether ``design`` says it was written by the portal for this layout."""
    mark = (design or {}).get(MARKER_FIELD)
    return isinstance(mark, dict) and mark.get("version") == LAYOUT_VERSION


# A design document is whatever another tool (or a hand) wrote: every read of one goes through
# these, which take a member of an unexpected shape as absent.

def views_of(design: dict | None) -> dict:
    """The ``views`` of a design document; {} when it has none or they are not an object."""
    views = (design or {}).get("views")
    return views if isinstance(views, dict) else {}


def is_view(view) -> bool:
    """Whether ``view`` is a view CouchDB can build: an object with a map function (text) and
    no reduce or a reduce of text."""
    return (isinstance(view, dict) and isinstance(view.get("map"), str)
            and isinstance(view.get("reduce", ""), str))


def user_views_of(design: dict | None) -> dict[str, str]:
    """The record of the user views the portal wrote (``{view name: condition}``), what of it
    could have been written by :func:`with_user_view`: a valid name that is no built-in view's,
    and a condition of the language."""
    written = (design or {}).get(USER_VIEWS_FIELD)
    return {
        name: condition for name, condition in (written.items() if isinstance(written, dict) else ())
        if name not in BUILTIN_VIEWS and _is_user_view(name, condition)
    }


def _is_user_view(name, condition) -> bool:
    try:
        validate_view_name(name)
        validate_condition(condition)
    except ValueError:
        return False
    return True


# ``doc.type == "x"`` (or ``"x" === doc.type``) in another tool's map function: the type it lists.
_SELECTED_TYPE = re.compile(
    r"""doc\.type\s*===?\s*(["'])(?P<a>[^"'\\]*)\1|(["'])(?P<b>[^"'\\]*)\3\s*===?\s*doc\.type"""
)


def selected_type(design: dict | None) -> str | None:
    """The token type the ``todo`` view of another tool's design document lists, when its map
    function compares ``doc.type`` with a literal (the PiCaS examples' ``_design/Monitor`` lists
    type ``token``); None when it says no type."""
    view = views_of(design).get("todo")
    source = view.get("map") if is_view(view) else None
    match = _SELECTED_TYPE.search(source) if source is not None else None
    return (match.group("a") if match.group("a") is not None else match.group("b")) if match else None


def validate_token_type(name) -> str:
    """Return ``name`` if it can name a token type, else raise ValueError saying why.

    The type is the name of the design document (``_design/<type>``), part of every token id
    and the value of ``doc.type`` in the map functions.
    """
    if not isinstance(name, str) or not name:
        raise ValueError("the token type is missing: give one or set Token.type in the config")
    if len(name) > MAX_TOKEN_TYPE_LENGTH:
        raise ValueError(f"the token type is longer than {MAX_TOKEN_TYPE_LENGTH} characters")
    if name.startswith("_"):
        raise ValueError(f"the token type {name!r} starts with '_' (CouchDB reserves those names)")
    if "/" in name:
        raise ValueError(f"the token type {name!r} contains '/' (it names the design document)")
    if name in (".", ".."):
        raise ValueError(f"the token type {name!r} cannot name a design document (CouchDB paths fold '.' and '..')")
    if any(char.isspace() or not char.isprintable() for char in name):
        raise ValueError(f"the token type {name!r} contains spaces or control characters")
    return name


def validate_view_name(name) -> str:
    """Return ``name`` if it can name a view (a letter, then letters, digits, '_'; ≤ 64)."""
    if not isinstance(name, str) or not _VIEW_NAME.fullmatch(name):
        raise ValueError(
            f"the view name {name!r} is not valid: start with a letter, then letters, digits or '_', "
            "at most 64 characters"
        )
    return name


def validate_condition(condition) -> str:
    """Return ``condition`` if it is a condition of the portal's language, else raise
    :class:`~tokens_app.conditions.ConditionError` (a ValueError) naming the offending character.

    The language (``doc.<field>`` compared with literals, see :mod:`tokens_app.conditions`) is
    compiled to JavaScript by the portal: the user's text never reaches CouchDB.
    """
    parse(condition)
    return condition


def _map_function(token_type: str, body: str, *, helpers: str = STATE_FUNCTION) -> str:
    return (
        "function (doc) {\n"
        f"  if (doc.type !== {json.dumps(token_type)}) return;\n"
        f"{helpers}"
        f"  {body}\n"
        "}"
    )


def type_views(token_type: str) -> dict[str, dict]:
    """The views the portal writes into ``_design/<type>``, in CouchDB's ``views`` format."""
    views = {name: {"map": _map_function(token_type, body)} for name, body in _TYPE_VIEW_EMITS.items()}
    views["overview_total"]["reduce"] = "_sum"
    return views


def portal_views() -> dict[str, dict]:
    """The views of ``_design/tokenportal``: every token of every type, keyed by type first."""
    views = {}
    for name, body in _PORTAL_VIEW_EMITS.items():
        views[name] = {"map": (
            "function (doc) {\n"
            '  if (typeof doc.type !== "string") return;\n'
            "  var type = doc.type;\n"
            f"{STATE_FUNCTION}"
            f"  {body}\n"
            "}"
        )}
        if name != TOKENS_VIEW:
            views[name]["reduce"] = "_count"
    return views


def build_portal_design_doc() -> dict:
    """``_design/tokenportal`` as the portal writes it."""
    return {"_id": design_id(PORTAL_DESIGN), "language": "javascript", MARKER_FIELD: marker(),
            "views": portal_views()}


def merged_portal_design_doc(existing: dict | None) -> dict:
    """The portal's design document to write over ``existing``: exactly as built, only its
    revision kept (nothing another tool added, a ``validate_doc_update`` or ``options``, survives)."""
    return _with_revision(build_portal_design_doc(), existing)


def _with_revision(doc: dict, existing: dict | None) -> dict:
    revision = (existing or {}).get("_rev")
    return {**doc, "_rev": revision} if isinstance(revision, str) else doc


def user_view(token_type: str, condition: str) -> dict:
    """A user view: the ids of the type's tokens for which ``condition`` holds, compiled by the portal."""
    body = f"if ({compile_condition(condition)}) emit(doc._id, doc._id);"
    return {"map": _map_function(token_type, body, helpers=FIELD_FUNCTION)}


def with_user_view(design: dict, token_type: str, name: str, condition: str) -> dict:
    """``design`` with the user view ``name`` for ``condition``, recorded as written by the portal.

    Refused (ValueError): a bad name or condition, a built-in view's name, and the name of a view
    the portal did not write (views of other tools are kept as they are: the portal only reads them).
    """
    validate_view_name(name)
    if name in BUILTIN_VIEWS:
        raise ValueError(f"'{name}' is a built-in view of every campaign; choose another name")
    written = user_views_of(design)
    if name in views_of(design) and name not in written:
        raise ValueError(
            f"the view '{name}' was not written by the portal (another tool made it): the portal reads it "
            "but never changes it; choose another name"
        )
    return {
        **design,
        "views": {**views_of(design), name: user_view(token_type, condition)},
        USER_VIEWS_FIELD: {**written, name: condition},
    }


def build_design_doc(token_type: str) -> dict:
    """``_design/<type>`` with the portal's views and its marker (user views are added by
    :func:`with_user_view`)."""
    validate_token_type(token_type)
    return {"_id": design_id(token_type), "language": "javascript", MARKER_FIELD: marker(),
            "views": type_views(token_type)}


def replaced_views(token_type: str, design: dict | None) -> list[str]:
    """The portal's views of a marked ``_design/<type>`` that another tool changed or removed
    (GRID_LRT's ``add_status_views`` and ``add_overview_view`` rewrite them in place)."""
    if not is_marked(design):
        return []
    views = views_of(design)
    return [name for name, view in type_views(token_type).items() if views.get(name) != view]


def merged_design_doc(token_type: str, existing: dict | None) -> dict:
    """The ``_design/<type>`` to write over ``existing``: what the portal owns, exactly as built.

    The portal owns the whole document but the views of other names that it reads without
    changing: its own views renewed, each user view it recorded built again from its condition,
    its marker (with its record of restored views), ``language`` and the revision. Views the
    design document has under other names (another tool's, such as GRID_LRT's) are kept verbatim
    when CouchDB can build them. Every other member
    (``validate_doc_update``, ``options``, ``filters``, ``updates``, ``shows``, ``lists``,
    ``rewrites``…) is the portal's to leave out: GRID_LRT writes none.
    """
    fresh = build_design_doc(token_type)
    if existing is None:
        return fresh
    views = {name: view for name, view in views_of(existing).items() if is_view(view)}
    recorded = user_views_of(existing)
    views.update({name: user_view(token_type, condition) for name, condition in recorded.items()})
    doc = {**fresh, MARKER_FIELD: kept_marker(existing), "views": {**views, **fresh["views"]}}
    if recorded:
        doc[USER_VIEWS_FIELD] = recorded
    return _with_revision(doc, existing)


def kept_marker(design: dict | None) -> dict:
    """The marker to write over ``design``: with its record of the views last restored
    (``restored_views``, ``restored_at``) when the portal wrote that record."""
    mark = design.get(MARKER_FIELD) if is_marked(design) else {}
    restored, at = mark.get("restored_views"), mark.get("restored_at")
    kept = marker()
    if isinstance(restored, list) and restored and all(name in TYPE_VIEWS for name in restored) and isinstance(at, str):
        kept.update(restored_views=restored, restored_at=at)
    return kept


def is_token_list_view(view) -> bool:
    """Whether a view of ``_design/<type>`` can be read as a list of tokens: a map view
    without reduce (the caller still checks that its rows are keyed by document id)."""
    return is_view(view) and not view.get("reduce")


def state_of(doc: dict) -> str:
    """The state of a token document; the Python twin of :data:`STATE_FUNCTION`."""
    locked = _positive(doc.get("lock"))
    # PiCaS's Task.error() writes lock = done = 99 and appends to the ``error`` list, no exit code.
    reported = isinstance(doc.get("error"), list) and len(doc["error"]) > 0
    if locked and (doc.get("status") == "error" or _failed(doc.get("exit_code")) or _failed(doc.get("output")) or reported):
        return "error"
    if _positive(doc.get("done")):
        return "done"
    if locked:
        return "locked"
    return "todo"


def _failed(value) -> bool:
    if value is None or value == "" or value is False:
        return False
    if isinstance(value, Number) and not isinstance(value, bool):
        return value != 0
    if isinstance(value, str):
        return not _reads_as_zero(value)
    # PiCaS gives every new Task ``output: {}``: an empty object or list reports nothing.
    if isinstance(value, (dict, list)):
        return len(value) > 0
    return True


def _positive(value) -> bool:
    if isinstance(value, Number) and not isinstance(value, bool):
        return value > 0
    return isinstance(value, str) and _plain_number(value) and float(value) > 0


# The two patterns of the JavaScript rule, read without a regular expression: Python's matcher
# steps back through a long run of digits one at a time before it fails.
def _reads_as_zero(text: str) -> bool:
    """Whether ``text`` matches :data:`_ZERO_TEXT`."""
    whole, _, fraction = text[1:].partition(".") if text[:1] in "+-" else text.partition(".")
    return bool(whole or fraction) and not whole.strip("0") and not fraction.strip("0")


def _plain_number(text: str) -> bool:
    """Whether ``text`` matches :data:`_NUMBER_TEXT`."""
    whole, point, fraction = text.partition(".")
    return _digits(whole) and (not fraction or _digits(fraction))


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def listed_views(design: dict | None) -> list[str]:
    """The views of a ``_design/<type>`` beyond the portal's that list tokens (user views,
    another tool's lists; a reduce view is no list), sorted: the campaign page's extra tabs."""
    return sorted(name for name, view in views_of(design).items()
                  if name not in TYPE_VIEWS and name != TOKENS_VIEW and is_token_list_view(view))


def restored_record(design: dict | None) -> dict | None:
    """``{"views", "at"}`` when the portal put back views of this ``_design/<type>`` that
    another tool had replaced (GRID_LRT's ``add_status_views``), else None."""
    mark = kept_marker(design)
    if "restored_views" not in mark:
        return None
    return {"views": mark["restored_views"], "at": mark["restored_at"]}


def counted_type(name: str, design: dict | None) -> str:
    """The token type whose tokens ``_design/<name>`` lists, so the type it is counted (and
    adopted) as: the type another tool's ``todo`` view selects (the PiCaS examples'
    ``_design/Monitor`` lists type ``token``), else ``name`` (the portal's ``_design/<type>``,
    or a foreign one that says no type)."""
    listed = selected_type(design)
    return listed if listed is not None and not is_marked(design) else name


def discovered_type(name: str, design: dict | None) -> str | None:
    """:func:`counted_type` of a token design document (one with a ``todo`` view listing
    tokens: another tool's campaign to watch and adopt), else None."""
    return counted_type(name, design) if is_token_list_view(views_of(design).get("todo")) else None
