"""What routes use: the service, the settings and the codecs the app was created with (``app.state``).

Plain accessors rather than FastAPI dependencies: they only read ``app.state``, and FastAPI's
dependency solving costs each request more than the work of a cached discovery answer.
"""

from __future__ import annotations

from fastapi import Request

from app.api.dispatch import Exchange
from app.ogcapi.codec import Codec as OgcApiCodec
from app.service.operations import WpsService
from app.settings import Settings
from app.wps_xml.codecs import WpsCodecs


def exchange_of(request: Request) -> Exchange:
    """Decode, run, encode: the service with the discovery documents already rendered."""
    exchange: Exchange = request.app.state.exchange
    return exchange


def service_of(request: Request) -> WpsService:
    """The service the app was created with."""
    return exchange_of(request).service


def settings_of(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


def wps_codecs_of(request: Request) -> WpsCodecs:
    """The WPS codecs, one per version."""
    codecs: WpsCodecs = request.app.state.wps_codecs
    return codecs


def ogcapi_of(request: Request) -> OgcApiCodec:
    """The OGC API - Processes codec."""
    codec: OgcApiCodec = request.app.state.ogcapi_codec
    return codec
