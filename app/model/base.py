"""The base of every model: frozen, strict about unknown members, bytes as base64 in JSON."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    """A frozen value: what decoders produce, the service passes on and encoders render."""

    model_config = ConfigDict(frozen=True, extra="forbid", ser_json_bytes="base64", val_json_bytes="base64")
