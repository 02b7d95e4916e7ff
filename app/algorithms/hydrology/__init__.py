"""Hydrology over dask chunks: sink filling, D8 flow directions, flow accumulation, watersheds.

These are global operations (water crosses the whole scene), computed tile by tile with bounded
memory after Barnes's parallel algorithms: each chunk is a tile; a first pass over every tile
keeps only what crosses its edges (labels, links, distances of its outermost cells); one small
task solves the problem between tile edges; a second pass recomputes each tile with that answer.
The result is exactly the whole-array result, whatever the chunking.

- :mod:`.tiles`: tile geometry (rings of edge cells, the pairs of cells across seams) and the
  three-stage pattern on dask (per-tile summaries, one global task, per-tile results);
- :mod:`.queues`: the priority queue the numba kernels share;
- :mod:`.fill`: priority-flood sink filling (Barnes et al. 2014; tiled: Barnes 2016);
- :mod:`.directions`: D8 directions, flats drained towards lower terrain along the flat;
- :mod:`.paths`: where each cell's flow goes inside a tile, and accumulation inside a tile;
- :mod:`.accumulation`: flow accumulation (tiled: Barnes 2017);
- :mod:`.watershed`: outlet snapping and the mask of the cells upstream of an outlet;
- :mod:`.drainage`: the chain of one DEM (filled, directions, accumulation, upstream mask), as
  the processes use it;
- :mod:`.outline`: a watershed mask's outline (GeoJSON in lon/lat) and area, chunk by chunk;
- :mod:`.compile`: compiles and caches the numba kernels (run when the image is built).

The process modules import these inside ``run``: importing numba (which every kernel module
does) costs a process about 56 MB and 0.7 s, which API processes that never run a hydrology job
should not pay.
"""
