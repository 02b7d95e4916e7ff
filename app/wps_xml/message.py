"""What a WPS request is before any version reads it: KVP or an XML document, and which version answers.

The answering version is the ``version`` parameter (KVP), the document's namespace (XML), or for a
GetCapabilities the first of the client's ``AcceptVersions`` that is offered. Reading never fails
on a version question: a request whose version cannot be determined goes to the default (first
offered) version, whose codec then reports the problem in its own exception format.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from lxml import etree

from app.model.errors import (
    InvalidParameterValue,
    MissingParameterValue,
    OperationNotSupported,
    VersionNegotiationFailed,
)
from app.wps_xml.kvp import Kvp, split_list
from app.wps_xml.parser import parse_xml


@dataclass(frozen=True)
class WpsMessage:
    """A WPS request as it arrived, with the version whose codec reads it."""

    version: str
    offered: tuple[str, ...]  # every version this service speaks, in its order of preference
    kvp: Kvp | None = None
    root: etree._Element | None = None

    @property
    def operation(self) -> str:
        """The operation's name as the client wrote it ("" when it names none)."""
        if self.root is not None:
            return str(etree.QName(self.root).localname)
        return (self.kvp.get("request") or "").strip() if self.kvp is not None else ""

    @property
    def namespace(self) -> str | None:
        """The namespace of an XML request's root element."""
        return etree.QName(self.root).namespace if self.root is not None else None


def read_kvp(pairs: Iterable[tuple[str, str]], offered: Sequence[str]) -> WpsMessage:
    """A KVP request (query pairs); InvalidParameterValue only for a repeated parameter."""
    kvp = Kvp.from_pairs(pairs)
    given = (kvp.get("version") or "").strip()
    version = _offered_match(given, offered)
    if (kvp.get("request") or "").strip().lower() == "getcapabilities":
        accepted = split_list(kvp.get("AcceptVersions") or "")
        version = next((v for v in accepted if v in offered), version)
    return WpsMessage(version=version, offered=tuple(offered), kvp=kvp)


def read_xml(body: bytes, namespaces: Mapping[str, str]) -> WpsMessage:
    """An XML request (hardened parser); ``namespaces`` maps each WPS namespace to its version."""
    root = parse_xml(body)
    offered = tuple(namespaces.values())
    version = namespaces.get(etree.QName(root).namespace or "", offered[0])
    if etree.QName(root).localname == "GetCapabilities":
        version = next((v for v in accepted_versions(root) if v in offered), version)
    return WpsMessage(version=version, offered=offered, root=root)


def accepted_versions(root: etree._Element) -> tuple[str, ...]:
    """The ``AcceptVersions/Version`` values of a GetCapabilities document, in the client's order.

    WPS 1.0.0 puts ``AcceptVersions`` in its own namespace, WPS 2.0 in OWS 2.0's; both are read.
    """
    versions: list[str] = []
    for child in root:
        if isinstance(child.tag, str) and etree.QName(child).localname == "AcceptVersions":
            versions.extend(
                (v.text or "").strip()
                for v in child
                if isinstance(v.tag, str) and etree.QName(v).localname == "Version" and (v.text or "").strip()
            )
    return tuple(versions)


def version_hint(pairs: Iterable[tuple[str, str]], offered: Sequence[str]) -> str:
    """The version whose format reports a KVP request's errors, even one that cannot be read."""
    for name, value in pairs:
        if name.lower() == "version":
            return _offered_match(value.strip(), offered)
    return offered[0]


def _offered_match(given: str, offered: Sequence[str]) -> str:
    """The offered version ``given`` names (a major version is enough), else the default."""
    if given in offered:
        return given
    return next((v for v in offered if given and v.split(".")[0] == given.split(".")[0]), offered[0])


# ----------------------------------------------------------------------------- shared checks

OPERATIONS = ("GetCapabilities", "DescribeProcess", "Execute", "GetStatus", "GetResult", "Dismiss")


def kvp_operation(message: WpsMessage) -> str:
    """The checked operation of a KVP request: service WPS, a known operation, a version we speak.

    Returns the operation's name as the standard spells it; ``version`` is not required for
    GetCapabilities (which negotiates it instead).
    """
    assert message.kvp is not None
    kvp = message.kvp
    check_service(kvp.get("service"))
    asked = kvp.require("request").strip()
    operation = next((name for name in OPERATIONS if name.lower() == asked.lower()), None)
    if operation is None:
        raise OperationNotSupported(f"operation {asked!r} is not supported", locator=asked)
    if operation != "GetCapabilities":
        require_version(kvp, message.offered)
    return operation


def xml_operation(message: WpsMessage, namespace: str) -> str:
    """The operation of an XML request in ``namespace`` whose ``service`` attribute says WPS."""
    assert message.root is not None
    operation = message.operation
    if message.namespace != namespace:
        raise OperationNotSupported(
            f"{operation} in namespace {message.namespace!r} is not a WPS request", locator=operation
        )
    check_service(message.root.get("service"))
    return operation


def check_service(value: str | None) -> None:
    """The ``service`` parameter or attribute must say WPS."""
    if value is None or not value.strip():
        raise MissingParameterValue("parameter 'service' is required", locator="service")
    if value.strip().upper() != "WPS":
        raise InvalidParameterValue(f"service {value!r} is not WPS", locator="service")


def require_version(kvp: Kvp, offered: Sequence[str]) -> str:
    """The ``version`` of a KVP request other than GetCapabilities: required, and one we speak."""
    requested = kvp.get("version")
    if requested is None or not requested.strip():
        raise MissingParameterValue("parameter 'version' is required", locator="version")
    if requested.strip() not in offered:
        raise InvalidParameterValue(f"version {requested!r} is not supported", locator="version")
    return requested.strip()


def negotiate(accept_versions: Sequence[str], offered: Sequence[str], version: str) -> None:
    """Refuse a GetCapabilities whose AcceptVersions name no offered version (``version`` answers)."""
    if accept_versions and version not in accept_versions:
        raise VersionNegotiationFailed(
            f"none of {', '.join(accept_versions)} is offered; supported: " + ", ".join(offered)
        )
