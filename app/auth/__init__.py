"""Authentication: who a request is made for (HTTP Basic, API keys, OIDC bearer JWTs).

``Authenticator(settings).identify(headers)`` is the one entry point; see
:mod:`app.auth.authenticator` for what it answers and :meth:`Authenticator.challenges` for the
``WWW-Authenticate`` challenges of a 401.
"""

from app.auth.authenticator import Authenticator
from app.auth.errors import AuthConfigError

__all__ = ["AuthConfigError", "Authenticator"]
