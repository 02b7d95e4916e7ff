"""Every WPS version's Execute decoder, for the Execute requests that chaining references hold.

A chaining ``wps:Reference`` may hold an Execute of any version this service speaks (a 1.0.0
request may nest a 2.0 one, and the reverse); it is read by the decoder of its own version: XML
by namespace, KVP by ``version`` (WPS 1.0.0 alone has a KVP Execute). A new protocol version adds
its decoders here as well as its codec to :mod:`app.wps_xml.codecs`.
"""

from __future__ import annotations

from lxml import etree

from app.model.codec import ProcessLookup
from app.model.requests import ExecuteRequest
from app.settings import Settings
from app.wps_xml.chaining import Chain, ExecuteDecoders
from app.wps_xml.kvp import Kvp
from app.wps_xml.v100 import decode as v100
from app.wps_xml.v200 import decode as v200


def _v100_xml(root: etree._Element, chain: Chain) -> ExecuteRequest:
    return v100.execute_from_xml(root, chain)


def _v100_kvp(kvp: Kvp, chain: Chain) -> ExecuteRequest:
    return v100.execute_from_kvp(kvp, chain.describe, chain)


def _v200_xml(root: etree._Element, chain: Chain) -> ExecuteRequest:
    return v200.execute_from_xml(root, chain.describe, chain)


DECODERS = ExecuteDecoders(xml={v100.WPS: _v100_xml, v200.WPS: _v200_xml}, kvp={"1.0.0": _v100_kvp})


def top_chain(settings: Settings, processes: ProcessLookup) -> Chain:
    """The top of the tree of nested processes an Execute request may hold."""
    return Chain(settings.public_url, settings.max_nesting, processes, DECODERS)
