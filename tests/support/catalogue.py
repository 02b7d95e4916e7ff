"""The default registry's catalogue, in order (what capabilities documents must list), and registries
extended with test processes."""

from __future__ import annotations

from app.algorithms.base import Process
from app.algorithms.registry import Registry, default_registry

CATALOGUE = [process.identifier for process in default_registry()]


def with_processes(registry: Registry, *processes: type[Process]) -> Registry:
    """The registry plus these processes (those it offers already are left as they are)."""
    present = {process.identifier for process in registry}
    for process in processes:
        if process.identifier not in present:
            registry = registry.register(process)
    return registry
