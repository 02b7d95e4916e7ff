"""The one hardened XML parser for everything a client sends.

No DTD is loaded, no entity is resolved, nothing is fetched from the network; a document that
carries a DOCTYPE at all is refused, which stops XXE and entity-expansion ("billion laughs")
requests before any expansion can happen. Elements nest at most 256 levels deep (libxml2's limit
without ``huge_tree``): deeper is refused as it is read, before any tree is built.
"""

from __future__ import annotations

import re

from lxml import etree

from app.model.errors import InvalidParameterValue

_DOCTYPE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
MAX_DEPTH = 256  # libxml2's own limit on element nesting, kept by huge_tree=False
_TOO_DEEP = "Excessive depth in document"  # libxml2's message when that limit is passed


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
    )


class UnsafeXml(InvalidParameterValue):
    """The request body declares a DTD or entities, which this service never processes."""


class MalformedXml(InvalidParameterValue):
    """The request body is not well-formed XML."""


def parse_xml(data: bytes) -> etree._Element:
    """Parse untrusted bytes into an element tree, refusing DTDs and entities."""
    if _DOCTYPE.search(data[:65536]) or _DOCTYPE.search(data.replace(b"\x00", b"")[:131072]):
        raise UnsafeXml("DOCTYPE and ENTITY declarations are not allowed", locator="request")
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as exc:
        if (exc.msg or "").startswith(
            _TOO_DEEP
        ):  # libxml2 would advise XML_PARSE_HUGE: not the client's to set
            message = f"the request nests XML elements more than {MAX_DEPTH} levels deep"
            raise MalformedXml(message, locator="request") from exc
        raise MalformedXml(f"the request is not well-formed XML: {exc.msg}", locator="request") from exc
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise UnsafeXml("DOCTYPE and ENTITY declarations are not allowed", locator="request")
    return root
