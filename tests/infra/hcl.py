"""terraform/*.tf as data, through python-hcl2 (8.x).

python-hcl2 keeps the quotes of string literals and block labels (``'"vault"'``),
writes expressions as ``"${...}"``, and marks each block with ``__is_block__``;
comments are under ``__comments__``. The helpers here hide those details.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.infra.support import INSTALL_HINT, unavailable

BLOCK_MARKER = "__is_block__"


@dataclass(frozen=True)
class Block:
    """A labelled top-level block: resource, data or provider."""

    kind: str
    type: str
    name: str
    body: dict[str, Any]
    file: str

    @property
    def address(self) -> str:
        prefix = "data." if self.kind == "data" else ""
        return f"{prefix}{self.type}.{self.name}" if self.name else f"provider.{self.type}"


@dataclass(frozen=True)
class TerraformConfig:
    files: dict[str, dict[str, Any]]

    def blocks(self, kind: str) -> list[Block]:
        found = []
        for file_name, parsed in sorted(self.files.items()):
            for entry in parsed.get(kind, []):
                for type_label, inner in labelled(entry):
                    if kind == "provider":
                        found.append(Block(kind, type_label, "", inner, file_name))
                        continue
                    for name_label, body in labelled(inner):
                        found.append(Block(kind, type_label, name_label, body, file_name))
        return found

    def resources(self, type_name: str | None = None) -> list[Block]:
        return [b for b in self.blocks("resource") if type_name in (None, b.type)]

    def resource(self, type_name: str, name: str) -> Block:
        matches = [b for b in self.resources(type_name) if b.name == name]
        assert len(matches) == 1, f"expected one {type_name}.{name}, found {len(matches)}"
        return matches[0]

    def unlabelled(self, kind: str) -> list[dict[str, Any]]:
        """Bodies of ``terraform``/``locals`` blocks, in file order."""
        return [entry for _, parsed in sorted(self.files.items()) for entry in parsed.get(kind, [])]

    def settings(self) -> dict[str, Any]:
        """The ``terraform`` block that pins versions (a CI-written backend_override.tf
        may add another one holding only the backend)."""
        (found,) = [b for b in self.unlabelled("terraform") if "required_providers" in b]
        return found

    def variables(self) -> dict[str, dict[str, Any]]:
        return self._named("variable")

    def outputs(self) -> dict[str, dict[str, Any]]:
        return self._named("output")

    def _named(self, kind: str) -> dict[str, dict[str, Any]]:
        return {
            name: body
            for _, parsed in sorted(self.files.items())
            for entry in parsed.get(kind, [])
            for name, body in labelled(entry)
        }

    def strings(self) -> Iterator[str]:
        for parsed in self.files.values():
            yield from walk_strings(parsed)


def _hcl2() -> Any:
    try:
        import hcl2
    except ImportError:
        unavailable("python-hcl2 is not installed", INSTALL_HINT)
    return hcl2


def load_directory(directory: Path) -> TerraformConfig:
    hcl2 = _hcl2()
    files = {}
    for path in sorted(directory.glob("*.tf")):
        with path.open() as handle:
            files[path.name] = hcl2.load(handle)
    return TerraformConfig(files)


def load_text(text: str, file_name: str = "main.tf") -> TerraformConfig:
    return TerraformConfig({file_name: _hcl2().loads(text)})


def labelled(entry: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for label, inner in entry.items():
        if not label.startswith("__"):
            yield unquote(label), inner


def is_block(value: Any) -> bool:
    return isinstance(value, dict) and value.get(BLOCK_MARKER) is True


def as_blocks(value: Any) -> list[dict[str, Any]]:
    items = value if isinstance(value, list) else [value]
    return [item for item in items if is_block(item)]


def unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def literal(value: Any) -> Any:
    """The value of a literal (``'"gcp"'`` -> ``"gcp"``); expressions stay as written."""
    if isinstance(value, str) and value.startswith('"') and "${" not in value:
        return unquote(value)
    return value


def expression(value: Any) -> str:
    """The text of a whole-value expression: ``"${var.x}"`` -> ``"var.x"``."""
    assert isinstance(value, str), value
    if value.startswith("${") and value.endswith("}"):
        return value[2:-1]
    return value


def walk_strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, inner in value.items():
            if key != "__comments__":
                yield from walk_strings(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from walk_strings(inner)
