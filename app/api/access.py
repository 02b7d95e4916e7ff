"""Who may do what: the caller a request's credentials name, and which requests need one.

No source of users configured (the embedded default): everybody is anonymous and may do
everything. Any configured: discovery (GetCapabilities, DescribeProcess, the landing page,
conformance, the process list and descriptions, docs, health) stays public unless
``WPS_AUTH_PUBLIC=all`` opens everything; any other request without credentials answers 401 with
the challenges of what is configured, in the format of the face it reached. Invalid credentials
are refused everywhere, public requests included.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from app.model.errors import Unauthenticated
from app.model.users import ANONYMOUS, Principal
from app.settings import Settings

CREDENTIAL_HEADERS = frozenset({"authorization", "x-api-key"})


class Authenticator(Protocol):
    """Checks the credentials a request carries (see app/auth)."""

    def identify(self, headers: Mapping[str, str]) -> Principal | None:
        """The caller; None without credentials; Unauthenticated for invalid ones."""
        ...

    def challenges(self) -> tuple[str, ...]:
        """The WWW-Authenticate challenges of what is configured."""
        ...


class Gate:
    """Identifies callers and admits them to what they may do."""

    def __init__(self, settings: Settings, authenticator: Authenticator | None) -> None:
        self.authenticator = authenticator
        self.open = authenticator is None or settings.auth_public == "all"

    def identify(self, request: Request) -> Principal | None:
        """The caller named by the request's credentials (remembered on the request), or None."""
        if self.authenticator is None:
            return None
        if not hasattr(request.state, "caller"):
            request.state.caller = self.authenticator.identify(request.headers)
        caller: Principal | None = request.state.caller
        return caller

    async def identify_async(self, request: Request) -> Principal | None:
        """``identify`` for coroutines: checking a password (bcrypt) runs in the thread pool."""
        if self.authenticator is None or not CREDENTIAL_HEADERS & {name.lower() for name in request.headers}:
            return None
        return await run_in_threadpool(self.identify, request)

    def admit(self, caller: Principal | None, public: bool) -> Principal:
        """The user a request runs as; Unauthenticated when it needs credentials it lacks."""
        if caller is not None:
            return caller
        if public or self.open:
            return ANONYMOUS
        challenges = self.authenticator.challenges() if self.authenticator is not None else ()
        raise Unauthenticated("authentication required", challenges)

    def user(self, request: Request, public: bool = False) -> Principal:
        """Identify and admit in one step (routes that are one operation)."""
        return self.admit(self.identify(request), public)
