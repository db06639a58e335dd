"""Step configs: the file that says what goes into every token of a campaign.

Pure parsing and validation, no I/O. Two formats exist in the wild:

* YAML step configs (GRID_LRT): a ``Token:`` mapping of fields copied into every token, plus
  sections for the pilot side (``Sandbox:``, ``Shell_variables:``, ``apiVersion``) that the
  portal keeps with the campaign but does not interpret.
* JSON step configs (GRID_LRT's TokenJsonBuilder): ``Token`` fields, whose ``variables`` go under
  the token's ``config.json`` field; ``Job.variables`` merged into the token; ``container`` and
  ``sandbox`` also kept under ``config.json`` for the pilot.

Uploaded configs are untrusted: YAML is read by :mod:`tokens_app.config_yaml`, which checks the
document before anything is constructed, and every refusal is a :class:`ConfigError` with its
line and column.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from tokens_app.config_yaml import TOO_DEEP, ConfigError, KeyPath, MAX_NESTING, Position, load_yaml
from tokens_app.srm import NotUtf8Error, decode_utf8

RESERVED_FIELDS = frozenset({"_id", "_rev", "_attachments", "_deleted"})

# Characters no token or campaign can hold: PostgreSQL refuses NUL in text, and a lone UTF-16
# surrogate (a JSON or YAML escape such as "\udfff") has no UTF-8 form.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

@dataclass(frozen=True)
class StepConfig:
    """What a campaign takes from its config: the token fields and the sections kept aside."""

    token_fields: dict
    kept: dict
    format: str
    token_type: str | None


def parse_config(
    data: bytes | str, *, max_bytes: int | None = None, max_token_bytes: int | None = None
) -> StepConfig:
    """Parse an uploaded step config (YAML or JSON) and check that it can make tokens.

    A document whose first character is ``{`` is a JSON step config, anything else YAML. JSON is
    read by the json module, not as YAML: PyYAML (YAML 1.1) refuses tab indentation and reads
    ``1e5`` as a string, both valid JSON. ``max_token_bytes`` bounds the token fields as JSON:
    every token carries a copy of them.
    """
    if max_bytes is not None and _size_in_bytes(data) > max_bytes:
        raise ConfigError(f"the config is larger than {max_bytes} bytes")
    try:
        text = decode_utf8(data)
    except NotUtf8Error as err:
        raise ConfigError(err.message, err.line) from None
    if text.lstrip().startswith("{"):
        document, positions = _load_json(text), {}
        _check_storable(document, positions)
        token_fields = _json_token_fields(document)
        config_format = "json"
    else:
        document, positions = load_yaml(text)
        _check_storable(document, positions)
        token_fields = dict(_token_section(document, positions))
        config_format = "yaml"
    _check_token_fields(token_fields, positions)
    if max_token_bytes is not None:
        _check_token_size(token_fields, max_token_bytes)
    return StepConfig(
        token_fields=token_fields,
        kept={section: value for section, value in document.items() if section != "Token"},
        format=config_format,
        token_type=token_fields.get("type"),
    )


def _size_in_bytes(data: bytes | str) -> int:
    """Return the size of an upload in bytes, counting text as UTF-8."""
    if isinstance(data, bytes):
        return len(data)
    return len(data.encode("utf-8", "surrogatepass"))


def _token_section(document: Any, positions: dict[KeyPath, Position]) -> dict:
    """Return the config's ``Token`` mapping, refusing a config that cannot make tokens."""
    if not isinstance(document, dict):
        raise ConfigError(
            f"the config must be a mapping of sections (Token: ...), not {_kind(document)}"
        )
    if "Token" not in document:
        raise ConfigError("the config has no Token section (the fields of every token)")
    token = document["Token"]
    if not isinstance(token, dict):
        raise ConfigError.at(
            f"Token must be a mapping of token fields, not {_kind(token)}",
            positions.get(("Token",)),
        )
    if not token:
        raise ConfigError.at("the Token section is empty", positions.get(("Token",)))
    return token


def _json_token_fields(document: Any) -> dict:
    """Build the token fields of a JSON step config as GRID_LRT's TokenJsonBuilder does.

    ``Token`` gives the fields, ``Job.variables`` is merged over them, and ``Token.variables``,
    ``container`` and ``sandbox`` go under ``config.json``, which the pilot reads.
    """
    token = _token_section(document, {})
    if "config.json" in token:
        raise ConfigError(
            "Token must not set config.json: a JSON step config builds it from "
            "Token.variables, container and sandbox"
        )
    job = _optional_mapping(document, "Job")
    fields = {name: value for name, value in token.items() if name != "variables"}
    fields.update(_optional_mapping(job, "variables", "Job.variables"))
    config_json = {}
    if "variables" in token:
        config_json["variables"] = _optional_mapping(token, "variables", "Token.variables")
    for section in ("container", "sandbox"):
        if section in document:
            config_json[section] = document[section]
    fields["config.json"] = config_json
    return fields


def _optional_mapping(parent: dict, key: str, name: str | None = None) -> dict:
    """Return ``parent[key]`` when it is a mapping, {} when it is absent; refuse anything else."""
    value = parent.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{name or key} must be a mapping, not {_kind(value)}")
    return value


def _check_token_fields(fields: dict, positions: dict[KeyPath, Position]) -> None:
    """Refuse token fields CouchDB would reject or misread: names starting with ``_`` and a
    non-text ``type`` (the type names the campaign's design document)."""
    for name in fields:
        if name.startswith("_"):
            reason = (
                "CouchDB sets it itself"
                if name in RESERVED_FIELDS
                else "CouchDB reserves names starting with _"
            )
            raise ConfigError.at(
                f"the token field {name} is not allowed: {reason}", positions.get(("Token", name))
            )
    token_type = fields.get("type")
    if "type" in fields and not (isinstance(token_type, str) and token_type):
        raise ConfigError.at(
            f"the token type must be a non-empty string, not {_kind(token_type)}",
            positions.get(("Token", "type")),
        )


def _check_storable(document: Any, positions: dict[KeyPath, Position]) -> None:
    """Refuse a key or text value holding a character no token or campaign can hold (NUL, a lone
    surrogate), naming where it is."""
    pending: list[tuple[KeyPath, Any]] = [((), document)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, dict):
            for key, child in value.items():
                if isinstance(key, str) and _UNSTORABLE.search(key):
                    raise _unstorable("the key", (*path, key), key, positions)
                pending.append(((*path, key), child))
        elif isinstance(value, list):
            pending.extend(((*path, index), child) for index, child in enumerate(value))
        elif isinstance(value, str) and _UNSTORABLE.search(value):
            raise _unstorable("the value of", path, value, positions)


def _unstorable(what: str, path: KeyPath, text: str, positions: dict[KeyPath, Position]) -> ConfigError:
    char = _UNSTORABLE.search(text).group()
    found = ("a NUL character (U+0000)" if char == "\0"
             else f"a lone surrogate U+{ord(char):04X} (half of a UTF-16 pair, not a character)")
    at = next((positions[path[:end]] for end in range(len(path), 0, -1) if path[:end] in positions), None)
    return ConfigError.at(f"{what} {_path_name(path)} holds {found}, which the portal cannot store: remove it", at)


def _path_name(path: KeyPath) -> str:
    """``Token.files[2]``: where a value sits, with odd keys escaped."""
    name = ""
    for part in path:
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            shown = part if part.isprintable() and not _UNSTORABLE.search(part) else ascii(part)
            name += ("." if name else "") + shown
    return name


def _check_token_size(token_fields: dict, limit: int) -> None:
    """Refuse token fields larger than ``limit`` bytes as JSON, naming the largest field."""
    sizes = {name: _json_bytes(value) for name, value in token_fields.items()}
    total = _json_bytes(token_fields)
    if total > limit:
        largest = max(sizes, key=sizes.get)
        raise ConfigError(
            f"the Token section is {-(-total // 1024)} KB as JSON (its field {_path_name((largest,))} "
            f"{-(-sizes[largest] // 1024)} KB), more than the {limit // 1024} KB every token may carry "
            "(MAX_TOKEN_FIELDS_KB): keep large data in a file the job fetches"
        )


def _json_bytes(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False).encode("utf-8"))


def _load_json(text: str) -> Any:
    """Parse a JSON step config, refusing NaN and Infinity, which JSON documents cannot hold,
    and nesting deeper than MAX_NESTING, as for YAML."""
    try:
        document = json.loads(text, parse_constant=_refuse_json_constant)
    except json.JSONDecodeError as err:
        raise ConfigError(f"not valid JSON: {err.msg}", err.lineno, err.colno) from None
    except RecursionError:
        raise ConfigError(TOO_DEEP) from None
    if _nesting_of(document, MAX_NESTING + 1) > MAX_NESTING:
        raise ConfigError(TOO_DEEP)
    return document


def _nesting_of(value: Any, limit: int) -> int:
    """Return how many levels deep a JSON value nests (a scalar is 1), counting up to ``limit``.

    Level by level rather than recursively, so that depth cannot exhaust the Python stack.
    """
    level, depth = [value], 0
    while level and depth < limit:
        depth += 1
        level = [
            child
            for item in level
            if isinstance(item, (dict, list))
            for child in (item.values() if isinstance(item, dict) else item)
        ]
    return depth


def _refuse_json_constant(name: str) -> Any:
    """Refuse NaN, Infinity and -Infinity, which Python's json accepts but JSON does not."""
    raise ConfigError(f"{name} is not a JSON number")


def _kind(value: Any) -> str:
    """Name the JSON kind of a value for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "a mapping"
