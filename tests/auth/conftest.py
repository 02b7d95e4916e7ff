"""Fixtures of the auth tests: a clock the test moves, settings and authenticators, a local issuer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.auth import Authenticator
from app.settings import Settings
from tests.support.credentials import FakeClock
from tests.support.oidc import OidcIssuer


@pytest.fixture
def clock() -> FakeClock:
    """A clock the test moves."""
    return FakeClock()


@pytest.fixture
def make_settings(tmp_path: Path) -> Any:
    """Settings on a temporary data dir, with the auth fields given."""

    def make(**fields: Any) -> Settings:
        return Settings(data_dir=tmp_path / "data", **fields)

    return make


@pytest.fixture
def make_auth(make_settings: Any, clock: FakeClock) -> Any:
    """An Authenticator on those settings, driven by the fake clock."""

    def make(**fields: Any) -> Authenticator:
        return Authenticator(make_settings(**fields), clock=clock)

    return make


@pytest.fixture
def issuer() -> Iterator[OidcIssuer]:
    """A local OIDC issuer serving its JWKS."""
    with OidcIssuer() as running:
        yield running
