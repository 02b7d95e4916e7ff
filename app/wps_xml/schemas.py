"""Offline XSD validation against the bundled official OGC schemas.

The schemas under ``schemas/`` are laid out like ``schemas.opengis.net``; ``schemas/catalog.xml``
(an OASIS XML catalog) maps the remote locations the XSDs import to the local files. An lxml
resolver applies that mapping and refuses every other remote location, so compiling a schema
never touches the network; instance documents are parsed without DTDs, entities or network.

Each schema is compiled once from a small in-memory wrapper that ``xs:import``s every namespace it
needs exactly once (libxml2 ignores a second import of a namespace from another location).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from lxml import etree
from lxml.builder import ElementMaker

from app.wps_xml import namespaces as ns

SCHEMA_DIR: Path = Path(__file__).resolve().parents[2] / "schemas"
CATALOG_FILE: Path = SCHEMA_DIR / "catalog.xml"

_CATALOG_NS = "urn:oasis:names:tc:entity:xmlns:xml:catalog"
_REMOTE_SCHEMES = ("http:", "https:", "ftp:")

VERSIONS = ("1.0.0", "2.0.0")
KINDS = ("wps", "ows")

# (version, kind) -> the namespaces and official locations the wrapper imports, in order.
_ENTRY_POINTS: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {
    ("1.0.0", "wps"): ((ns.WPS100, ns.WPS100_ALL_XSD), (ns.OWS110, ns.OWS110_ALL_XSD)),
    ("1.0.0", "ows"): ((ns.OWS110, ns.OWS110_EXCEPTION_XSD),),
    ("2.0.0", "wps"): ((ns.WPS200, ns.WPS200_XSD), (ns.OWS200, ns.OWS200_ALL_XSD)),
    ("2.0.0", "ows"): ((ns.OWS200, ns.OWS200_EXCEPTION_XSD),),
}

# Root element namespace -> (version, kind) of the schema that validates it.
_ROOT_NAMESPACES: dict[str, tuple[str, str]] = {
    ns.WPS100: ("1.0.0", "wps"),
    ns.OWS110: ("1.0.0", "ows"),
    ns.WPS200: ("2.0.0", "wps"),
    ns.OWS200: ("2.0.0", "ows"),
}

# lxml validators share one error log per schema object: validate under a lock.
_VALIDATION_LOCK = threading.Lock()


class SchemaValidationError(ValueError):
    """A document is not valid against its XSD; ``errors`` lists ``line N: message`` entries."""

    def __init__(self, message: str, errors: Sequence[str] = ()) -> None:
        self.errors = tuple(errors)
        detail = "".join(f"\n  {error}" for error in self.errors)
        super().__init__(f"{message}{detail}")


class RemoteSchemaRefused(LookupError):
    """A schema imports a remote location that the bundled catalog does not map."""


@dataclass(frozen=True)
class Catalog:
    """The rewrite rules of an OASIS XML catalog: URI prefixes and exact URIs to local paths."""

    prefixes: tuple[tuple[str, Path], ...]
    exact: tuple[tuple[str, Path], ...]

    def lookup(self, url: str) -> Path | None:
        """The local file for a URL (``https`` treated as ``http``), or None when unmapped."""
        for candidate in dict.fromkeys((url, canonical_url(url))):
            for name, path in self.exact:
                if candidate == name:
                    return path
            for prefix, base in self.prefixes:
                if candidate.startswith(prefix):
                    return _inside(base, candidate.removeprefix(prefix))
        return None


def canonical_url(url: str) -> str:
    """The ``http`` form of an ``https`` schema location (the catalog lists ``http`` only)."""
    return "http://" + url.removeprefix("https://") if url.startswith("https://") else url


def _inside(base: Path, relative: str) -> Path | None:
    path = (base / relative.split("#")[0].split("?")[0]).resolve()
    return path if path.is_relative_to(SCHEMA_DIR) else None


@cache
def catalog() -> Catalog:
    """The bundled catalog (``schemas/catalog.xml``), read once."""
    root = etree.parse(str(CATALOG_FILE), _instance_parser()).getroot()
    base = CATALOG_FILE.parent
    prefixes: dict[str, Path] = {}
    exact: dict[str, Path] = {}
    for entry in root:
        if not isinstance(entry.tag, str):
            continue
        tag, attrib = etree.QName(entry).localname, entry.attrib
        if tag in {"rewriteURI", "rewriteSystem"}:
            start = attrib.get("uriStartString") or attrib.get("systemIdStartString") or ""
            prefixes[start] = (base / attrib["rewritePrefix"]).resolve()
        elif tag in {"uri", "system"}:
            exact[attrib.get("name") or attrib.get("systemId") or ""] = (base / attrib["uri"]).resolve()
    return Catalog(tuple(prefixes.items()), tuple(exact.items()))


def local_path(url: str) -> Path | None:
    """The bundled copy of a remote schema location, or None if the catalog does not map it."""
    return catalog().lookup(url)


class OfflineResolver(etree.Resolver):  # type: ignore[misc]  # lxml is untyped
    """Resolves schema imports to the bundled files; refuses any other remote location."""

    def resolve(self, system_url: str | None, public_id: str | None, context: object) -> object:
        """Map a remote schema location to its local copy; local paths load as usual."""
        if not system_url:
            return None
        path = local_path(system_url)
        if path is not None:
            return self.resolve_filename(str(path), context)
        if system_url.lower().startswith(_REMOTE_SCHEMES):
            raise RemoteSchemaRefused(f"schema location not in the bundled catalog: {system_url}")
        return None


def _schema_parser(resolver: etree.Resolver) -> etree.XMLParser:
    parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)
    parser.resolvers.add(resolver)
    return parser


def _instance_parser() -> etree.XMLParser:
    # A fresh parser per call: no DTD, no entity expansion, no network. huge_tree lifts libxml2's
    # 10 MB cap on one text node, which a large base64 output of our own responses can exceed.
    return etree.XMLParser(
        no_network=True, resolve_entities=False, load_dtd=False, dtd_validation=False, huge_tree=True
    )


def compile_schema(
    imports: Sequence[tuple[str, str]], resolver: etree.Resolver | None = None
) -> etree.XMLSchema:
    """Compile a wrapper schema importing each ``(namespace, location)`` once, offline.

    Locations the catalog maps are imported by their local path: a schema document reached once
    through its remote URL and again through a relative include from a local file would count as
    two documents, and its declarations as duplicates.
    """
    xs = ElementMaker(namespace=ns.XS, nsmap={"xs": ns.XS})
    wrapper = xs.schema(
        *(
            xs("import", namespace=namespace, schemaLocation=_local_location(location))
            for namespace, location in imports
        )
    )
    parser = _schema_parser(resolver or OfflineResolver())
    base_url = str(SCHEMA_DIR / "wrapper.xsd")
    return etree.XMLSchema(etree.fromstring(etree.tostring(wrapper), parser, base_url=base_url))


def _local_location(location: str) -> str:
    path = local_path(location)
    return str(path) if path is not None else location


def _normalize_version(version: str) -> str:
    if version.startswith("1"):
        return "1.0.0"
    if version.startswith("2"):
        return "2.0.0"
    raise ValueError(f"no bundled schemas for WPS version {version!r}")


def schema_for(version: str, kind: str) -> etree.XMLSchema:
    """The compiled schema for a WPS version (``1.0.0``/``2.0.0``) and kind (``wps``/``ows``).

    ``wps`` validates every WPS document of that version (requests and responses) and the OWS
    exception report; ``ows`` validates the OWS exception report of that version. Compiled once.
    """
    return _compiled(_normalize_version(version), kind)


@cache
def _compiled(version: str, kind: str) -> etree.XMLSchema:
    if (version, kind) not in _ENTRY_POINTS:
        raise ValueError(f"unknown schema kind {kind!r}; expected one of {KINDS}")
    return compile_schema(_ENTRY_POINTS[version, kind])


def _root(document: bytes | etree._Element) -> etree._Element:
    if not isinstance(document, bytes | bytearray):
        return document
    try:
        root = etree.fromstring(bytes(document), _instance_parser())
    except etree.XMLSyntaxError as exc:
        errors = [f"line {e.line}: {e.message}" for e in exc.error_log] or [str(exc)]
        raise SchemaValidationError("document is not well-formed XML", errors) from exc
    if root.getroottree().docinfo.internalDTD is not None:
        # Entities stay unexpanded (never resolved), which libxml2's validator cannot handle.
        raise SchemaValidationError("documents with a DOCTYPE are not validated")
    return root


def validate(document: bytes | etree._Element, version: str | None = None) -> None:
    """Validate a document (bytes or element) against the bundled XSDs for its root namespace.

    The schema is chosen from the root element's namespace (WPS 1.0.0, WPS 2.0, OWS 1.1, OWS 2.0);
    when ``version`` is given the document must belong to that WPS version. Raises
    :class:`SchemaValidationError` listing every error with its line number.
    """
    root = _root(document)
    namespace = etree.QName(root).namespace or ""
    if namespace not in _ROOT_NAMESPACES:
        raise SchemaValidationError(f"no bundled schema for root element {root.tag!r}")
    doc_version, kind = _ROOT_NAMESPACES[namespace]
    if version is not None and _normalize_version(version) != doc_version:
        raise SchemaValidationError(f"root element {root.tag!r} is not a WPS {version} document")
    schema = schema_for(doc_version, kind)
    with _VALIDATION_LOCK:
        try:
            valid = schema.validate(root)
        except etree.XMLSchemaValidateError as exc:  # libxml2 internal error, e.g. entity nodes
            raise SchemaValidationError(f"{root.tag} could not be validated: {exc}") from exc
        errors = [f"line {e.line}: {e.message}" for e in schema.error_log]
    if not valid:
        raise SchemaValidationError(f"{root.tag} is not valid against the WPS {doc_version} schemas", errors)
