"""KVP (HTTP GET) request parsing shared by the protocol versions.

Parameter names are case-insensitive, values are not. ``DataInputs`` and ``ResponseDocument`` /
``RawDataOutput`` follow WPS 1.0.0 section 10.2.2: ``id=value@attr=value;id2=...``; each
value and attribute value may itself be URL-encoded (so ``;``, ``@`` and ``=`` can be sent inside
values), and is decoded once more after splitting. The ``[...]`` brackets of the specification's own
examples are accepted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import unquote

from app.model.errors import InvalidParameterValue, MissingParameterValue


@dataclass(frozen=True)
class Kvp:
    """Query parameters with case-insensitive names."""

    params: dict[str, str]

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, str]]) -> Kvp:
        """Build from decoded query pairs; a repeated parameter is an error."""
        params: dict[str, str] = {}
        for name, value in pairs:
            key = name.lower()
            if key in params:
                raise InvalidParameterValue(f"parameter {name!r} is given twice", locator=name)
            params[key] = value
        return cls(params)

    def get(self, name: str) -> str | None:
        """The value of a parameter, or None when absent."""
        return self.params.get(name.lower())

    def require(self, name: str) -> str:
        """The value of a mandatory parameter; MissingParameterValue when absent or empty."""
        value = self.get(name)
        if value is None or not value.strip():
            raise MissingParameterValue(f"parameter {name!r} is required", locator=name)
        return value

    def boolean(self, name: str, default: bool = False) -> bool:
        """A true/false parameter."""
        value = self.get(name)
        return default if value is None else parse_bool(value, name)


def parse_bool(value: str, locator: str) -> bool:
    """Read an xs:boolean."""
    lowered = value.strip().lower()
    if lowered in {"true", "1"}:
        return True
    if lowered in {"false", "0"}:
        return False
    raise InvalidParameterValue(f"{locator} must be true or false, not {value!r}", locator=locator)


def split_list(value: str) -> list[str]:
    """A comma-separated list, blanks dropped."""
    return [item.strip() for item in value.split(",") if item.strip()]


@dataclass(frozen=True)
class KvpItem:
    """One ``id=value@attr=value`` item of DataInputs, or ``id@attr=value`` of an output list."""

    identifier: str
    value: str | None
    attributes: dict[str, str] = field(default_factory=dict)


def parse_items(text: str, locator: str, with_value: bool) -> list[KvpItem]:
    """Split a DataInputs / ResponseDocument / RawDataOutput parameter into items."""
    items = []
    text = text.strip()
    if text.startswith("[") and text.endswith("]"):  # the form used in the WPS 1.0.0 examples
        text = text[1:-1]
    for raw in text.split(";"):
        if not raw.strip():
            continue
        head, *attribute_parts = raw.split("@")
        identifier, value = head, None
        if with_value:
            if "=" not in head:
                raise InvalidParameterValue(f"{locator}: {head!r} has no '=value'", locator=locator)
            identifier, value = head.split("=", 1)
            value = unquote(value)
        attributes = {}
        for part in attribute_parts:
            if "=" not in part:
                raise InvalidParameterValue(f"{locator}: attribute {part!r} has no value", locator=locator)
            key, attribute_value = part.split("=", 1)
            attributes[key.strip().lower()] = unquote(attribute_value)
        identifier = unquote(identifier).strip()
        if not identifier:
            raise InvalidParameterValue(f"{locator}: an item has no identifier", locator=locator)
        items.append(KvpItem(identifier, value, attributes))
    return items
