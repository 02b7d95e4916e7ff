"""Raster I/O: guarded reference fetching, lazy GeoTIFF opening, chunked GeoTIFF writing.

Import the modules directly (``app.raster.fetch``, ``.open``, ``.write``, ``.gdal_env``); this
package re-exports nothing, so importing one does not pull in the others.
"""
