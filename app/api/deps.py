"""Dependencies routes receive: the settings and the service, injected through app.state."""

from __future__ import annotations

from fastapi import Request

from app.service.operations import WpsService
from app.settings import Settings


def get_service(request: Request) -> WpsService:
    """The service the app was created with."""
    service: WpsService = request.app.state.service
    return service


def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings
