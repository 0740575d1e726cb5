"""Read a YAML file into plain Python while remembering the line of every key and item."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

Loc = tuple[int | str, ...]


@dataclass
class YamlDoc:
    """A parsed file: its data and the line (1-based) where each location starts."""

    path: Path
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)

    def line(self, loc: Loc) -> int:
        """Return the line of ``loc``, or of its nearest enclosing location."""
        for end in range(len(loc), -1, -1):
            if loc[:end] in self.lines:
                return self.lines[loc[:end]]
        return 1


class YamlError(Exception):
    """A file that is not valid YAML; carries the line of the problem."""

    def __init__(self, path: Path, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path, self.line, self.message = path, line, message


def read(path: Path) -> YamlDoc:
    """Parse ``path``; raise :class:`YamlError` with a line on bad YAML or a duplicate key."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise YamlError(path, 1, f"cannot read file: {exc}") from exc
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise YamlError(path, line, f"YAML syntax: {exc.problem or exc}") from exc
    except yaml.YAMLError as exc:
        raise YamlError(path, 1, f"YAML syntax: {exc}") from exc
    doc = YamlDoc(path, None)
    if node is not None:
        doc.data = _build(node, (), doc)
    return doc


def _build(node: yaml.Node, loc: Loc, doc: YamlDoc) -> Any:
    doc.lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise YamlError(doc.path, key_node.start_mark.line + 1, "keys must be plain words")
            key = key_node.value
            if key in out:
                raise YamlError(doc.path, key_node.start_mark.line + 1, f"duplicate key '{key}'")
            doc.lines[(*loc, key)] = key_node.start_mark.line + 1
            out[key] = _build(value_node, (*loc, key), doc)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*loc, i), doc) for i, item in enumerate(node.value)]
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()
