"""The default registry's catalogue, in order: what capabilities documents must list."""

from __future__ import annotations

from app.algorithms.registry import default_registry

CATALOGUE = [process.identifier for process in default_registry()]
