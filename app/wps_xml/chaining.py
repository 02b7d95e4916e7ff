"""WPS chaining: a ``wps:Reference`` to this service's own Execute is a nested process.

The classic way to chain WPS processes is an input by reference whose href is a WPS Execute: a POST
with the Execute request in ``wps:Body`` (both versions), or in WPS 1.0.0 a KVP Execute URL. When
that server is this one (``/wps`` under ``WPS_PUBLIC_URL``, or a relative URL), the input is a
:class:`NestedProcess` and the whole tree runs as one job: nothing is fetched and no HTTP request
goes back to the service, so the nested Execute is read here, by the Execute decoder of its own
version (its namespace, or its ``version`` parameter). A chaining Reference to any other server
is a remote process, refused without contacting it; a Reference to plain data stays data.

The tree is bounded while it is read (``WPS_MAX_NESTING``), before the decoder goes one level
deeper, so a chain of a thousand is refused as quickly as one of seventeen. An error inside the
tree is located by the path of input names from the top (``red/raster``) once, at the level where
it arose; the enclosing levels pass it up untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from urllib.parse import parse_qsl, urlsplit

from lxml import etree

from app.model.codec import ProcessLookup
from app.model.descriptions import ProcessDescription
from app.model.errors import (
    InvalidParameterValue,
    NoSuchProcess,
    WpsError,
    nested_too_deep,
    unknown_nested_process,
)
from app.model.requests import ComplexValue, ExecuteRequest, NestedProcess
from app.model.service_urls import own_path
from app.wps_xml.kvp import Kvp
from app.wps_xml.message import check_service
from app.wps_xml.parser import parse_xml

WPS_PATH = "/wps"  # the endpoint a chaining Reference must name to be this service's Execute
Pairs = list[tuple[str, str]]
XmlExecute = Callable[[etree._Element, "Chain"], ExecuteRequest]
KvpExecute = Callable[[Kvp, "Chain"], ExecuteRequest]


@dataclass(frozen=True)
class ExecuteDecoders:
    """How each WPS version reads an Execute: XML by namespace, KVP by version (1.0.0 only)."""

    xml: Mapping[str, XmlExecute]
    kvp: Mapping[str, KvpExecute]


@dataclass(frozen=True)
class Chain:
    """Where a decoder is in a tree of nested processes, and what reading one level deeper needs.

    ``path`` holds the input names from the top Execute to the one being read (empty at the top);
    ``lookup`` is the service's process lookup.
    """

    public_url: str
    max_nesting: int
    lookup: ProcessLookup
    decoders: ExecuteDecoders
    path: tuple[str, ...] = ()

    def describe(self, identifier: str) -> ProcessDescription:
        """The description of the process read at this level: below the top, an unknown process is
        a NoSuchNestedProcess located by the path (a parameter of the request, not a 404)."""
        try:
            return self.lookup(identifier)
        except NoSuchProcess:
            if not self.path:
                raise
            here = "/".join(self.path)
            raise unknown_nested_process(here, identifier) from None

    def nested(self, name: str, reference: ComplexValue, body: etree._Element | None) -> NestedProcess | None:
        """The nested process the Reference of input ``name`` is, or None when it is plain data.

        ``reference`` is the Reference as decoded (without its body); ``body`` its ``wps:Body``.
        """
        href = reference.href or ""
        execute = self._body_execute(body)
        query = _execute_query(href) if execute is None else None
        here = self._where(name)
        own = own_path(href, self.public_url)
        if own == WPS_PATH and reference.body_href:
            raise InvalidParameterValue(
                f"input {here!r}: a Reference to this service's {WPS_PATH} carries its Execute request "
                "in wps:Body; wps:BodyReference is not fetched"
            ).located_at(here)
        if execute is None and query is None:
            return None
        self._check_own(own, href, here)
        origin = ComplexValue(
            href=href,
            method="POST" if execute is not None else reference.method,
            mime_type=reference.mime_type,
            encoding=reference.encoding,
            schema_url=reference.schema_url,
        )
        return NestedProcess(request=self._read(name, execute, query), origin=origin)

    def _check_own(self, own: str | None, href: str, here: str) -> None:
        """A chaining Reference must name this service's WPS endpoint: never call another server."""
        if own is None:
            raise InvalidParameterValue(
                f"input {here!r} chains the Execute of {href!r}: remote processes are not supported "
                f"(only this service's own {self.public_url.rstrip('/')}{WPS_PATH})"
            ).located_at(here)
        if own != WPS_PATH:
            raise InvalidParameterValue(
                f"input {here!r} chains an Execute at {own!r}, which is not this service's WPS "
                f"endpoint {WPS_PATH}"
            ).located_at(here)

    def _read(self, name: str, execute: etree._Element | None, query: Pairs | None) -> ExecuteRequest:
        """The nested Execute, one level below this one; errors inside it located by its path."""
        below = self._below(name)
        process = _process_name(execute, query)
        try:
            return below._decode(execute, query)
        except WpsError as error:  # placed once, where it arose: within() leaves a placed error alone
            raise error.within("/".join(below.path), process) from None

    def _below(self, name: str) -> Chain:
        """The chain one level deeper, refused beyond ``max_nesting`` before anything is read there."""
        below = replace(self, path=(*self.path, name))
        if len(below.path) > self.max_nesting:
            here = "/".join(below.path)
            raise nested_too_deep(here, self.max_nesting)
        return below

    def _decode(self, execute: etree._Element | None, query: Pairs | None) -> ExecuteRequest:
        """The Execute this level holds, read by the decoder of its own version."""
        if execute is not None:
            check_service(execute.get("service"))
            return self.decoders.xml[etree.QName(execute).namespace or ""](execute, self)
        assert query is not None
        kvp = Kvp.from_pairs(query)
        check_service(kvp.get("service"))
        version = kvp.require("version").strip()
        decoder = self.decoders.kvp.get(version)
        if decoder is None:
            raise InvalidParameterValue(
                f"WPS {version} has no KVP Execute (KVP Execute is WPS {', '.join(self.decoders.kvp)})",
                locator="version",
            )
        return decoder(kvp, self)

    def _body_execute(self, body: etree._Element | None) -> etree._Element | None:
        """The Execute request a ``wps:Body`` holds (as XML, or as escaped text), if it holds one."""
        if body is None:
            return None
        root = next((child for child in body if isinstance(child.tag, str)), None)
        if root is None and (body.text or "").lstrip().startswith("<"):
            try:
                root = parse_xml((body.text or "").strip().encode("utf-8"))
            except WpsError:  # text that is not XML (or unsafe XML): a body to send, not a request
                return None
        if root is None or etree.QName(root).localname != "Execute":
            return None
        return root if etree.QName(root).namespace in self.decoders.xml else None

    def _where(self, name: str) -> str:
        return "/".join((*self.path, name))


def _execute_query(href: str) -> Pairs | None:
    """The query of a KVP Execute URL (``request=Execute``, names case-insensitive), else None."""
    try:
        query = urlsplit(href.strip()).query
    except ValueError:  # not a URL at all: plain data, refused where it is fetched
        return None
    pairs = parse_qsl(query, keep_blank_values=True)
    asks = any(
        key.strip().lower() == "request" and value.strip().lower() == "execute" for key, value in pairs
    )
    return pairs if asks else None


def _process_name(execute: etree._Element | None, query: Pairs | None) -> str:
    """The identifier a nested Execute names, for messages (before it is decoded, so leniently)."""
    if execute is not None:
        found = (
            (child.text or "").strip()
            for child in execute
            if isinstance(child.tag, str) and etree.QName(child).localname == "Identifier"
        )
        return next(found, "") or "?"
    names = (value.strip() for key, value in query or () if key.strip().lower() == "identifier")
    return next(names, "") or "?"
