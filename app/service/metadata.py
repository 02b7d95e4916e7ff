"""The service metadata's updateSequence (OWS 1.1.0 7.3.4): a value that increases when it changes.

The capabilities documents depend on the process set and on the service metadata (title,
provider, public URL). Their digest is kept in the data directory with the update sequence it was
given; a start with another digest gets a new, greater sequence (a UTC timestamp, so that several
instances sharing the data directory order their values alike), a start with the same digest keeps
the stored one. Clients treat the value as opaque and send it back as they got it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from app.model.descriptions import ProcessDescription
from app.model.errors import CurrentUpdateSequence, InvalidUpdateSequence
from app.settings import Settings

FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
FILENAME = "service-metadata.json"


def metadata_digest(settings: Settings, processes: list[ProcessDescription]) -> str:
    """A digest of everything the capabilities documents say."""
    content = {
        "title": settings.service_title,
        "provider": settings.provider_name,
        "public_url": settings.public_url,
        "processes": [process.model_dump(mode="json") for process in processes],
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def current_update_sequence(settings: Settings, processes: list[ProcessDescription]) -> str:
    """The update sequence of this metadata: the stored one if unchanged, else a new, greater one."""
    digest = metadata_digest(settings, processes)
    path = settings.data_dir / FILENAME
    stored = _read(path)
    if stored.get("digest") == digest and _parse(stored.get("updateSequence")) is not None:
        return str(stored["updateSequence"])
    sequence = datetime.now(UTC)
    previous = _parse(stored.get("updateSequence"))
    if previous is not None and sequence <= previous:  # a clock set back must not lower the value
        sequence = previous + timedelta(microseconds=1)
    value = sequence.strftime(FORMAT)
    _write(path, {"digest": digest, "updateSequence": value})
    return value


def check_update_sequence(asked: str | None, current: str) -> None:
    """OWS 1.1.0 table 6: equal -> CurrentUpdateSequence, greater -> InvalidUpdateSequence.

    Lower, absent, or not a value this service gives out: the client gets the document.
    """
    if asked is None or not asked.strip():
        return
    if asked.strip() == current:
        raise CurrentUpdateSequence(f"the capabilities are unchanged since updateSequence {current}")
    client, ours = _parse(asked.strip()), _parse(current)
    if client is not None and ours is not None and client > ours:
        raise InvalidUpdateSequence(
            f"updateSequence {asked.strip()} is later than the service's current one, {current}"
        )


def _parse(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value, FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def _read(path: Path) -> dict[str, object]:
    try:
        content = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return content if isinstance(content, dict) else {}


def _write(path: Path, content: dict[str, str]) -> None:
    """Replace the file atomically (another instance may read it at the same moment)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".service-metadata-")
    try:
        with os.fdopen(handle, "w") as stream:
            json.dump(content, stream)
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
