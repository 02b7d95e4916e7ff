"""The one process registry: frozen, built by ``register`` calls, injected into the app."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from app.algorithms.base import Process, describe
from app.model.descriptions import ProcessDescription
from app.model.errors import NoSuchProcess


@dataclass(frozen=True)
class Registry:
    """An immutable mapping from process identifier to process class."""

    processes: tuple[type[Process], ...] = field(default=())

    def register(self, process: type[Process]) -> Registry:
        """A new registry with one more process; refuses duplicate identifiers."""
        if any(p.identifier == process.identifier for p in self.processes):
            raise ValueError(f"process {process.identifier!r} is already registered")
        describe(process)  # fail early on a malformed declaration
        return Registry((*self.processes, process))

    def get(self, identifier: str) -> type[Process]:
        """The process with this identifier, or NoSuchProcess."""
        for process in self.processes:
            if process.identifier == identifier:
                return process
        raise NoSuchProcess(f"no process named {identifier!r}", locator=identifier)

    def __contains__(self, identifier: object) -> bool:
        return any(process.identifier == identifier for process in self.processes)

    def describe(self, identifier: str) -> ProcessDescription:
        """The public description of one process."""
        return describe(self.get(identifier))

    def descriptions(self) -> list[ProcessDescription]:
        """All descriptions, in registration order."""
        return [describe(p) for p in self.processes]

    def __iter__(self) -> Iterator[type[Process]]:
        return iter(self.processes)

    def __len__(self) -> int:
        return len(self.processes)


def default_registry() -> Registry:
    """The processes this service offers, in the order of the catalogue in DESIGN.md."""
    from app.algorithms.band_math import BandMath
    from app.algorithms.change import ChangeDetection
    from app.algorithms.clip import Clip
    from app.algorithms.echo import Echo
    from app.algorithms.fill_sinks import FillSinks
    from app.algorithms.flow_accumulation import FlowAccumulation
    from app.algorithms.flow_direction import FlowDirection
    from app.algorithms.lst import LandSurfaceTemperature
    from app.algorithms.ndvi import Ndvi
    from app.algorithms.reproject import Reproject
    from app.algorithms.stream_network import StreamNetwork
    from app.algorithms.terrain import Terrain
    from app.algorithms.uhi import UrbanHeatIsland
    from app.algorithms.watershed import Watershed
    from app.algorithms.zonal import ZonalStatistics

    registry = Registry()
    for process in (Echo, Ndvi, Clip, Reproject, ChangeDetection, ZonalStatistics, Terrain, BandMath):
        registry = registry.register(process)
    for hydrology in (FillSinks, FlowDirection, FlowAccumulation, Watershed, StreamNetwork):
        registry = registry.register(hydrology)
    registry = registry.register(LandSurfaceTemperature)
    registry = registry.register(UrbanHeatIsland)
    return registry
