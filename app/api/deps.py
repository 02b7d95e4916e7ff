"""What routes receive: the service, the settings and the codecs the app was created with.

The dependencies are coroutines: they only read ``app.state``, and a plain function would cost
every request a trip through the thread pool.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.api.dispatch import Exchange
from app.ogcapi.codec import Codec as OgcApiCodec
from app.service.operations import WpsService
from app.settings import Settings
from app.wps_xml.codecs import WpsCodecs


async def get_service(request: Request) -> WpsService:
    """The service the app was created with."""
    service: WpsService = request.app.state.service
    return service


async def get_exchange(request: Request) -> Exchange:
    """Decode, run, encode: the service with the discovery documents already rendered."""
    exchange: Exchange = request.app.state.exchange
    return exchange


async def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


async def get_wps(request: Request) -> WpsCodecs:
    """The WPS codecs, one per version."""
    codecs: WpsCodecs = request.app.state.wps_codecs
    return codecs


async def get_ogcapi(request: Request) -> OgcApiCodec:
    """The OGC API - Processes codec."""
    codec: OgcApiCodec = request.app.state.ogcapi_codec
    return codec


async def addressed_as_resource(request: Request) -> None:
    """Mark the request as addressing a resource by URL: what is not there answers 404."""
    request.state.resource = True


Service = Annotated[WpsService, Depends(get_service)]
Exchanger = Annotated[Exchange, Depends(get_exchange)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
WpsDep = Annotated[WpsCodecs, Depends(get_wps)]
OgcApi = Annotated[OgcApiCodec, Depends(get_ogcapi)]
