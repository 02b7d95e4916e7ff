"""Who calls: the principal a request is made for, as authentication established it."""

from __future__ import annotations

from app.model.base import Model


class Principal(Model):
    """A user (``name``, e.g. the htpasswd user, the API key's owner or the JWT ``sub``), or anonymous.

    ``admin`` users see and dismiss every job. Without any authentication configured every request
    is anonymous and may do everything, as the embedded default promises.
    """

    name: str = ""
    admin: bool = False
    method: str = ""  # how the user was recognised: basic, api-key, bearer ("" when anonymous)

    @property
    def anonymous(self) -> bool:
        """Whether no user is known."""
        return not self.name


ANONYMOUS = Principal()
