"""Step configs: the file that says what goes into every token of a campaign.

Pure parsing and validation, no I/O. Two formats exist in the wild:

* YAML step configs (GRID_LRT): a ``Token:`` mapping of fields copied into every token, plus
  sections for the pilot side (``Sandbox:``, ``Shell_variables:``, ``apiVersion``) that the
  portal keeps with the campaign but does not interpret.
* JSON step configs (GRID_LRT's TokenJsonBuilder): ``Token`` fields, whose ``variables`` go under
  the token's ``config.json`` field; ``Job.variables`` merged into the token; ``container`` and
  ``sandbox`` also kept under ``config.json`` for the pilot.

Uploaded configs are untrusted, so YAML is composed with PyYAML's SafeLoader and checked before
anything is constructed: tags that would build Python objects, aliases that would expand into a
huge document and values that have no JSON form are refused with their line and column.
"""

from __future__ import annotations

import datetime
import json
import math
import re
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from tokens_app.srm import NotUtf8Error, decode_utf8

RESERVED_FIELDS = frozenset({"_id", "_rev", "_attachments", "_deleted"})

# A step config is a page of settings; anchors and aliases may repeat a block here and there,
# but expanding them must not add more values than this. The "billion laughs" document adds
# 10**9 and is refused before anything is constructed.
MAX_ALIAS_EXPANSION = 10_000

# Real step configs nest a handful of levels. The limit also keeps PyYAML's scanner linear: it
# keeps one pending simple key per open [ or {, and checks all of them for every character.
MAX_NESTING = 20
_TOO_DEEP = f"the config is nested more than {MAX_NESTING} levels deep"

# Keys and values a YAML config may hold: PyYAML composes each in Python, so this bounds the
# work a config costs whatever its size; a real step config holds a few dozen.
MAX_CONFIG_VALUES = 2_000

# Characters no token or campaign can hold: PostgreSQL refuses NUL in text, and a lone UTF-16
# surrogate (a JSON or YAML escape such as "\udfff") has no UTF-8 form.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

_YAML_TAG = "tag:yaml.org,2002:"
# Scalars with a JSON form; timestamps get one as ISO strings.
_SCALAR_TAGS = frozenset(
    _YAML_TAG + name for name in ("str", "int", "float", "bool", "null", "timestamp")
)
_PYTHON_TAG = _YAML_TAG + "python/"

Position = tuple[int, int]
KeyPath = tuple[Any, ...]


class ConfigError(ValueError):
    """A step config that cannot be used; ``line`` and ``column`` (1-based, or None) locate it."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        if line is None:
            where = ""
        elif column is None:
            where = f"line {line}: "
        else:
            where = f"line {line}, column {column}: "
        super().__init__(where + message)
        self.message = message
        self.line = line
        self.column = column


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
        document, positions = _load_yaml(text)
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
        raise _error(
            f"Token must be a mapping of token fields, not {_kind(token)}",
            positions.get(("Token",)),
        )
    if not token:
        raise _error("the Token section is empty", positions.get(("Token",)))
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
            raise _error(
                f"the token field {name} is not allowed: {reason}", positions.get(("Token", name))
            )
    token_type = fields.get("type")
    if "type" in fields and not (isinstance(token_type, str) and token_type):
        raise _error(
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
    return _error(f"{what} {_path_name(path)} holds {found}, which the portal cannot store: remove it", at)


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
        raise ConfigError(_TOO_DEEP) from None
    if _nesting_of(document, MAX_NESTING + 1) > MAX_NESTING:
        raise ConfigError(_TOO_DEEP)
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


def _load_yaml(text: str) -> tuple[Any, dict[KeyPath, Position]]:
    """Parse a YAML step config into JSON values, with the position of every mapping key.

    The document is composed into nodes first (no objects built), checked for alias expansion,
    and only then turned into values node by node.
    """
    try:
        return _compose_and_convert(text)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        message = ", ".join(part for part in (err.context, err.problem) if part)
        raise _error(f"not valid YAML: {message}", _position(mark)) from None
    except yaml.reader.ReaderError as err:
        raise _error(
            f"not valid YAML: the control character U+{err.character:04X} is not allowed",
            _position_in(text, err.position),
        ) from None


def _compose_and_convert(text: str) -> tuple[Any, dict[KeyPath, Position]]:
    """Compose a YAML text, check its aliases, then convert its nodes (see :func:`_load_yaml`)."""
    loader = _NestingLimitedLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise ConfigError("the config is empty")
        _check_expansion(root)
        converter = _NodeConverter(loader)
        return converter.convert(root, ()), converter.positions
    finally:
        loader.dispose()


class _NestingLimitedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing collections nested deeper than MAX_NESTING while scanning.

    Checked in the scanner, before the composer recurses into the nesting or the scanner slows
    down with it.
    """

    def fetch_flow_collection_start(self, TokenClass: type) -> None:
        self._check_nesting()
        super().fetch_flow_collection_start(TokenClass)

    def add_indent(self, column: int) -> bool:
        if self.indent < column:
            self._check_nesting()
        return super().add_indent(column)

    def __init__(self, stream: str):
        super().__init__(stream)
        self.composed = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        self.composed += 1
        if self.composed > MAX_CONFIG_VALUES:
            raise _error(
                f"the config holds more than {MAX_CONFIG_VALUES} keys and values (a step config holds a few dozen)",
                _position(self.peek_event().start_mark),
            )
        return super().compose_node(parent, index)

    def _check_nesting(self) -> None:
        if self.flow_level + len(self.indents) >= MAX_NESTING:
            raise _error(_TOO_DEEP, _position(self.get_mark()))


def _check_expansion(root: Node) -> None:
    """Refuse documents whose aliases would expand too far: into too many values, deeper than
    MAX_NESTING, or into a cycle.

    The composed node graph shares aliased nodes, so it stays as small as the text; measuring
    what each node expands to, once per node, costs no more than the text either. Anchors come
    before their aliases, so the walk reaches an anchored node at its definition first and the
    recursion stays as deep as the text's own nesting.
    """
    measured: dict[int, tuple[int, int]] = {}
    in_progress: set[int] = set()

    def measure(node: Node) -> tuple[int, int]:
        """Return how many values the node expands to, and how deep."""
        key = id(node)
        if key in measured:
            return measured[key]
        if key in in_progress:
            raise _error("an alias refers to a node that contains it", _position(node.start_mark))
        in_progress.add(key)
        children = [measure(child) for child in _children(node)]
        values = 1 + sum(count for count, _ in children)
        depth = 1 + max((deepest for _, deepest in children), default=0)
        if depth > MAX_NESTING:
            raise _error(_TOO_DEEP, _position(node.start_mark))
        in_progress.discard(key)
        measured[key] = values, depth
        return values, depth

    extra = measure(root)[0] - len(measured)
    if extra > MAX_ALIAS_EXPANSION:
        raise ConfigError(
            f"too many aliases: expanding them would add {extra} values "
            f"(at most {MAX_ALIAS_EXPANSION} are allowed)"
        )


def _children(node: Node) -> list[Node]:
    """Return the nodes directly inside a node: items, or keys and values."""
    if isinstance(node, SequenceNode):
        return node.value
    if isinstance(node, MappingNode):
        return [child for pair in node.value for child in pair]
    return []


class _NodeConverter:
    """Turns composed YAML nodes into JSON values, refusing what JSON cannot hold.

    Only the standard scalar tags are constructed (by PyYAML's safe constructor); dates become
    ISO strings, mapping keys must be strings, and every refusal names the node's position.
    """

    def __init__(self, loader: yaml.SafeLoader):
        self.loader = loader
        self.positions: dict[KeyPath, Position] = {}

    def convert(self, node: Node, path: KeyPath) -> Any:
        _refuse_object_tag(node)
        if isinstance(node, MappingNode) and node.tag == _YAML_TAG + "map":
            return self._mapping(node, path)
        if isinstance(node, SequenceNode) and node.tag == _YAML_TAG + "seq":
            return [self.convert(child, (*path, index)) for index, child in enumerate(node.value)]
        if isinstance(node, ScalarNode) and node.tag in _SCALAR_TAGS:
            return self._scalar(node)
        raise _error(
            f"the tag {_short_tag(node.tag)} is not supported: values must be plain JSON values "
            "(strings, numbers, booleans, null, lists, mappings) or dates",
            _position(node.start_mark),
        )

    def _mapping(self, node: MappingNode, path: KeyPath) -> dict:
        # Resolves merge keys (<<: *anchor) the way yaml.safe_load does.
        self.loader.flatten_mapping(node)
        result = {}
        for key_node, value_node in node.value:
            key = self._key(key_node)
            self.positions[(*path, key)] = _position(key_node.start_mark)
            result[key] = self.convert(value_node, (*path, key))
        return result

    def _key(self, node: Node) -> str:
        _refuse_object_tag(node)
        if isinstance(node, ScalarNode) and node.tag == _YAML_TAG + "str":
            return node.value
        if isinstance(node, ScalarNode):
            message = f"the key {node.value!r} is not a string (JSON keys are strings; quote it)"
        else:
            message = f"a {node.id} cannot be a key (JSON keys are strings)"
        raise _error(message, _position(node.start_mark))

    def _scalar(self, node: ScalarNode) -> Any:
        try:
            value = self.loader.construct_object(node)
        except ValueError as err:  # e.g. a timestamp of 2020-02-30
            message = f"invalid value {node.value!r}: {err}"
            raise _error(message, _position(node.start_mark)) from None
        if isinstance(value, float) and not math.isfinite(value):
            raise _error(f"{node.value} is not a JSON number", _position(node.start_mark))
        if isinstance(value, (datetime.date, datetime.datetime)):
            return value.isoformat()
        return value


def _refuse_object_tag(node: Node) -> None:
    """Refuse PyYAML's python/ tags: they name Python objects or calls (os.system, ...)."""
    if node.tag.startswith(_PYTHON_TAG):
        raise _error(
            f"tags that construct objects are refused: {_short_tag(node.tag)}",
            _position(node.start_mark),
        )


def _short_tag(tag: str) -> str:
    """Write a standard YAML tag the way it appears in documents: ``!!python/object``."""
    return "!!" + tag.removeprefix(_YAML_TAG) if tag.startswith(_YAML_TAG) else tag


def _error(message: str, position: Position | None) -> ConfigError:
    """Return a ConfigError at a (line, column) position, or without one when it is None."""
    line, column = position or (None, None)
    return ConfigError(message, line, column)


def _position(mark: yaml.Mark | None) -> Position | None:
    """Return a YAML mark's 1-based (line, column), or None when there is none."""
    return None if mark is None else (mark.line + 1, mark.column + 1)


def _position_in(text: str, offset: int) -> Position:
    """Return the 1-based (line, column) of a character offset in a text."""
    line_start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - line_start + 1


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
