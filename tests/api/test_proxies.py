"""X-Forwarded-For is believed only from the proxies WPS_TRUSTED_PROXIES lists."""

from __future__ import annotations

from fastapi import Request
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings


def client_address(settings: Settings, forwarded_for: str) -> str:
    app = create_app(settings)

    @app.get("/_peer")
    def peer(request: Request) -> dict[str, str]:
        return {"client": request.client.host if request.client else ""}

    with TestClient(app, client=("10.0.0.5", 4321)) as client:
        return str(client.get("/_peer", headers={"X-Forwarded-For": forwarded_for}).json()["client"])


def test_forwarded_for_from_a_trusted_proxy(settings: Settings) -> None:
    trusted = settings.model_copy(update={"trusted_proxies": ["10.0.0.5"]})
    assert client_address(trusted, "203.0.113.7") == "203.0.113.7"


def test_forwarded_for_from_anybody_else_is_ignored(settings: Settings) -> None:
    assert client_address(settings, "203.0.113.7") == "10.0.0.5"
    other = settings.model_copy(update={"trusted_proxies": ["10.0.0.9"]})
    assert client_address(other, "203.0.113.7") == "10.0.0.5"
