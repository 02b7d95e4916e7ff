"""The one error of the auth package that is not a client's: a configuration the service cannot use."""

from __future__ import annotations


class AuthConfigError(ValueError):
    """A configured source of users cannot be used (unreadable file, no usable algorithm, bad URL).

    Raised while the :class:`~app.auth.Authenticator` is built, so a misconfigured service fails at
    startup rather than refusing every user later.
    """
