"""What routes receive: the service, the settings and the codecs the app was created with."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.ogcapi.codec import Codec as OgcApiCodec
from app.service.operations import WpsService
from app.settings import Settings
from app.wps_xml.codecs import WpsCodecs


def get_service(request: Request) -> WpsService:
    """The service the app was created with."""
    service: WpsService = request.app.state.service
    return service


def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


def get_wps(request: Request) -> WpsCodecs:
    """The WPS codecs, one per version."""
    codecs: WpsCodecs = request.app.state.wps_codecs
    return codecs


def get_ogcapi(request: Request) -> OgcApiCodec:
    """The OGC API - Processes codec."""
    codec: OgcApiCodec = request.app.state.ogcapi_codec
    return codec


def addressed_as_resource(request: Request) -> None:
    """Mark the request as addressing a resource by URL: what is not there answers 404."""
    request.state.resource = True


Service = Annotated[WpsService, Depends(get_service)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
WpsDep = Annotated[WpsCodecs, Depends(get_wps)]
OgcApi = Annotated[OgcApiCodec, Depends(get_ogcapi)]
