"""How a raster result is drawn on a map: the value range stretched over the colours, the colours.

A process declares sensible defaults per output (NDVI: -1..1 on red-yellow-green); a map client
may ask for others per request (``rescale``, ``colormap_name``). What is left open is decided
from the data: the 2nd..98th percentiles of the result, grey for one band, RGB for three.
"""

from __future__ import annotations

from app.model.base import Model


class Rendering(Model):
    """Display defaults of one raster output; ``None`` leaves the choice to the data."""

    rescale: tuple[float, float] | None = None  # the values shown as the first and last colour
    colormap_name: str | None = None  # a rio-tiler colormap name; None: grey (one band) or RGB

    def over(self, defaults: Rendering) -> Rendering:
        """This rendering, with what it leaves open taken from ``defaults``."""
        return Rendering(
            rescale=self.rescale or defaults.rescale,
            colormap_name=self.colormap_name or defaults.colormap_name,
        )


FROM_THE_DATA = Rendering()
"""The rendering of an output that declares none: range and colours decided by its data."""


class TileSet(Model):
    """The map tiles of one raster output, as a TileJSON describes them.

    ``rendering`` is resolved (its range always set); ``legend`` lists values from the low to the
    high end of that range with their colour (``#rrggbb``), empty when three bands show as RGB.
    """

    job_id: str
    output: str
    title: str
    bounds: tuple[float, float, float, float]  # west, south, east, north in degrees (WGS 84)
    minzoom: int
    fitzoom: int  # where the whole output shows (a map's first view)
    maxzoom: int  # the output's own resolution; clients zoom deeper by enlarging these tiles
    rendering: Rendering
    bands: tuple[int, ...]
    legend: tuple[tuple[float, str], ...]
