"""Composing an untrusted YAML document safely into JSON values, with the position of every key.

The document is composed with PyYAML's SafeLoader into nodes, no objects built, and checked
before anything is constructed: tags that would build Python objects, aliases that would expand
into a huge document, nesting past :data:`MAX_NESTING` and values that have no JSON form are
refused with their line and column (:class:`ConfigError`). :mod:`tokens_app.configs` reads step
configs with it.
"""

from __future__ import annotations

import datetime
import math
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

# A step config is a page of settings; anchors and aliases may repeat a block here and there,
# but expanding them must not add more values than this. The "billion laughs" document adds
# 10**9 and is refused before anything is constructed.
MAX_ALIAS_EXPANSION = 10_000

# Real step configs nest a handful of levels. The limit also keeps PyYAML's scanner linear: it
# keeps one pending simple key per open [ or {, and checks all of them for every character.
MAX_NESTING = 20
TOO_DEEP = f"the config is nested more than {MAX_NESTING} levels deep"

# Keys and values a YAML config may hold: PyYAML composes each in Python, so this bounds the
# work a config costs whatever its size; a real step config holds a few dozen.
MAX_CONFIG_VALUES = 2_000

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

    @classmethod
    def at(cls, message: str, position: Position | None) -> ConfigError:
        """The error at a (line, column) position, or without one when it is None."""
        line, column = position or (None, None)
        return cls(message, line, column)


def load_yaml(text: str) -> tuple[Any, dict[KeyPath, Position]]:
    """Parse a YAML step config into JSON values, with the position of every mapping key.

    The document is composed into nodes first (no objects built), checked for alias expansion,
    and only then turned into values node by node.
    """
    try:
        return _compose_and_convert(text)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        message = ", ".join(part for part in (err.context, err.problem) if part)
        raise ConfigError.at(f"not valid YAML: {message}", _position(mark)) from None
    except yaml.reader.ReaderError as err:
        raise ConfigError.at(
            f"not valid YAML: the control character U+{err.character:04X} is not allowed",
            _position_in(text, err.position),
        ) from None


def _compose_and_convert(text: str) -> tuple[Any, dict[KeyPath, Position]]:
    """Compose a YAML text, check its aliases, then convert its nodes (see :func:`load_yaml`)."""
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
            raise ConfigError.at(
                f"the config holds more than {MAX_CONFIG_VALUES} keys and values (a step config holds a few dozen)",
                _position(self.peek_event().start_mark),
            )
        return super().compose_node(parent, index)

    def _check_nesting(self) -> None:
        if self.flow_level + len(self.indents) >= MAX_NESTING:
            raise ConfigError.at(TOO_DEEP, _position(self.get_mark()))


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
            raise ConfigError.at("an alias refers to a node that contains it", _position(node.start_mark))
        in_progress.add(key)
        children = [measure(child) for child in _children(node)]
        values = 1 + sum(count for count, _ in children)
        depth = 1 + max((deepest for _, deepest in children), default=0)
        if depth > MAX_NESTING:
            raise ConfigError.at(TOO_DEEP, _position(node.start_mark))
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
        raise ConfigError.at(
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
        raise ConfigError.at(message, _position(node.start_mark))

    def _scalar(self, node: ScalarNode) -> Any:
        try:
            value = self.loader.construct_object(node)
        except ValueError as err:  # e.g. a timestamp of 2020-02-30
            message = f"invalid value {node.value!r}: {err}"
            raise ConfigError.at(message, _position(node.start_mark)) from None
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError.at(f"{node.value} is not a JSON number", _position(node.start_mark))
        if isinstance(value, (datetime.date, datetime.datetime)):
            return value.isoformat()
        return value


def _refuse_object_tag(node: Node) -> None:
    """Refuse PyYAML's python/ tags: they name Python objects or calls (os.system, ...)."""
    if node.tag.startswith(_PYTHON_TAG):
        raise ConfigError.at(
            f"tags that construct objects are refused: {_short_tag(node.tag)}",
            _position(node.start_mark),
        )


def _short_tag(tag: str) -> str:
    """Write a standard YAML tag the way it appears in documents: ``!!python/object``."""
    return "!!" + tag.removeprefix(_YAML_TAG) if tag.startswith(_YAML_TAG) else tag


def _position(mark: yaml.Mark | None) -> Position | None:
    """Return a YAML mark's 1-based (line, column), or None when there is none."""
    return None if mark is None else (mark.line + 1, mark.column + 1)


def _position_in(text: str, offset: int) -> Position:
    """Return the 1-based (line, column) of a character offset in a text."""
    line_start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - line_start + 1
