"""The WPS versions this service speaks: one codec per version, in one table.

Adding a protocol version is one codec folder (``vNNN/`` with decode, encode and a ``Codec``) and
one entry here; the first entry is the default version (what a request without a usable version
is answered in).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

from app.model.codec import Codec
from app.settings import Settings
from app.wps_xml.message import WpsMessage, read_kvp, read_xml, version_hint
from app.wps_xml.v100.codec import Codec as V100Codec
from app.wps_xml.v200.codec import Codec as V200Codec


class WpsCodec(Codec[WpsMessage], Protocol):
    """A WPS version's codec: the Codec interface, and the namespace of its XML requests."""

    namespace: str


CODECS: Mapping[str, Callable[[Settings], WpsCodec]] = {
    V100Codec.version: V100Codec,
    V200Codec.version: V200Codec,
}


class WpsCodecs:
    """The codec of each WPS version for one service, and which one reads a request."""

    def __init__(self, settings: Settings) -> None:
        self.by_version = {version: codec(settings) for version, codec in CODECS.items()}
        self.offered = tuple(self.by_version)
        self.namespaces = {codec.namespace: version for version, codec in self.by_version.items()}

    @property
    def default(self) -> WpsCodec:
        """The codec answering when nothing tells the version (the first of the table)."""
        return self.by_version[self.offered[0]]

    def __getitem__(self, version: str) -> WpsCodec:
        return self.by_version[version]

    def hint(self, pairs: Iterable[tuple[str, str]]) -> WpsCodec:
        """The codec whose format reports the errors of a KVP request, before it is read."""
        return self.by_version[version_hint(pairs, self.offered)]

    def read_kvp(self, pairs: Iterable[tuple[str, str]]) -> WpsMessage:
        """A KVP request, with the version that answers it."""
        return read_kvp(pairs, self.offered)

    def read_xml(self, body: bytes) -> WpsMessage:
        """An XML request (hardened parsing), with the version that answers it."""
        return read_xml(body, self.namespaces)
