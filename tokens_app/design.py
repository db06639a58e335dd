"""The design document ``_design/<type>`` of a token campaign: its views and their JavaScript.

One campaign (token type) has one design document. Pilots find work in its ``todo`` view; the
portal counts a campaign with one grouped query of ``overview_total``. The state of a token is
defined once, in :data:`STATE_FUNCTION` (JavaScript, embedded in every map function) and in its
Python twin :func:`state_of`; the tests hold the two against each other on a real server.

The JavaScript is ES5 on purpose: CouchDB before 3.4 runs map functions on SpiderMonkey 1.8.5.
"""

from __future__ import annotations

import json
import re
from numbers import Number

from tokens_app.conditions import FIELD_FUNCTION, compile_condition, parse

STATE_NAMES = ("todo", "locked", "done", "error")
# Every token of the type keyed by its id, with its state as value. Keys that are unique make
# key-based paging exact on every server (pouchdb-server ignores ``startkey_docid``, so a walk
# through a view keyed by state or by time would repeat rows); operations walk this view.
TOKENS_VIEW = "tokens"
# Views of the design document with a reduce: their map rows are not tokens to act on.
REDUCE_VIEWS = ("overview_total", "error_summary", "completions")
BUILTIN_VIEWS = STATE_NAMES + (TOKENS_VIEW,) + REDUCE_VIEWS

MAX_TOKEN_TYPE_LENGTH = 100
_VIEW_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
# The design document's record of the user views the portal wrote: {view name: condition}. A view
# not named here was written by another tool (or by hand): the portal reads it, never changes it.
USER_VIEWS_FIELD = "tokenportal_user_views"

# A string reads as zero when it is a plain decimal zero ("0", "-0", "0.0", ".0", "00").
_ZERO_TEXT = r"[+-]?(0+\.?0*|\.0+)"
# A string reads as a timestamp when it is a plain unsigned decimal number.
_NUMBER_TEXT = r"[0-9]+(\.[0-9]*)?"

STATE_FUNCTION = f"""\
  function failed(value) {{
    if (value === undefined || value === null || value === "" || value === false) return false;
    if (typeof value === "number") return value !== 0;
    if (typeof value === "string") return !/^{_ZERO_TEXT}$/.test(value);
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

# What each built-in view emits once a token of the type is known to be in ``state``.
_STATE_VIEW_EMITS = {
    "todo": 'if (state(doc) === "todo") emit(doc._id, doc._id);',
    "locked": 'if (state(doc) === "locked") emit(doc.lock, {"hostname": doc.hostname, "status": doc.status});',
    "done": 'if (state(doc) === "done") emit(doc.done, doc._id);',
    "error": 'if (state(doc) === "error") '
    'emit(doc._id, {"exit_code": doc.exit_code, "output": doc.output, "status": doc.status});',
    TOKENS_VIEW: "emit(doc._id, state(doc));",
    "overview_total": "emit(state(doc), 1);",
    "error_summary": 'if (state(doc) === "error") emit([nullable(doc.exit_code), nullable(doc.output), '
    "nullable(doc.status)], 1);",
    "completions": 'if (state(doc) === "done") {\n'
    "    var finished = new Date(Number(doc.done) * 1000);\n"
    "    emit([finished.getUTCFullYear(), finished.getUTCMonth() + 1, finished.getUTCDate(),"
    " finished.getUTCHours()], 1);\n"
    "  }",
}
_NULLABLE_FUNCTION = "  function nullable(value) { return value === undefined ? null : value; }\n"


def design_doc_id(token_type: str) -> str:
    return f"_design/{token_type}"


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


def builtin_views(token_type: str) -> dict[str, dict]:
    """The views every campaign has, keyed by name, in CouchDB's ``views`` format."""
    views = {}
    for name, body in _STATE_VIEW_EMITS.items():
        helpers = STATE_FUNCTION + (_NULLABLE_FUNCTION if name == "error_summary" else "")
        views[name] = {"map": _map_function(token_type, body, helpers=helpers)}
        if name in REDUCE_VIEWS:
            views[name]["reduce"] = "_sum"
    return views


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
    written = design.get(USER_VIEWS_FIELD)
    written = written if isinstance(written, dict) else {}
    if name in design.get("views", {}) and name not in written:
        raise ValueError(
            f"the view '{name}' was not written by the portal (another tool made it): the portal reads it "
            "but never changes it; choose another name"
        )
    return {
        **design,
        "views": {**design.get("views", {}), name: user_view(token_type, condition)},
        USER_VIEWS_FIELD: {**written, name: condition},
    }


def build_design_doc(token_type: str, extra_views: dict[str, str] | None = None) -> dict:
    """The design document of ``token_type`` with the built-in views and ``extra_views``.

    ``extra_views`` maps view names to conditions (user views, see :func:`with_user_view`).
    """
    validate_token_type(token_type)
    design = {"_id": design_doc_id(token_type), "language": "javascript", "views": builtin_views(token_type)}
    for name, condition in (extra_views or {}).items():
        design = with_user_view(design, token_type, name, condition)
    return design


def merged_design_doc(token_type: str, existing: dict | None) -> dict:
    """The design document to write over ``existing``: built-in views renewed, others kept.

    Views the design document already has under other names (added by users or by other tools
    such as GRID_LRT) are kept verbatim; ``_rev`` and other fields (the record of the portal's user
    views among them) are kept so the write is an update.
    """
    fresh = build_design_doc(token_type)
    if existing is None:
        return fresh
    merged = {**existing, "language": "javascript"}
    merged["views"] = {**existing.get("views", {}), **fresh["views"]}
    return merged


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
        return not re.fullmatch(_ZERO_TEXT, value)
    return True


def _positive(value) -> bool:
    if isinstance(value, Number) and not isinstance(value, bool):
        return value > 0
    return isinstance(value, str) and bool(re.fullmatch(_NUMBER_TEXT, value)) and float(value) > 0
