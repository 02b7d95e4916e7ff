"""The data formats processes declare. Order matters: the first format of a list is the default.

A GeoTIFF is accepted under every name clients use, each declared as a format of its own so that a
result is delivered under the name it was asked for:

- ``image/tiff; subtype=geotiff``: the WPS convention (PyWPS, OWSLib, birdy); the declared default,
  so WPS 1.0.0 clients that take the default keep getting it;
- ``image/tiff; application=geotiff``: the registered GeoTIFF media type (OGC 19-008, the
  ``application`` parameter of RFC 3302's ``image/tiff``), used by OGC API clients, STAC and
  pygeoapi; the OGC API face shows it first (``app.ogcapi.describe``);
- ``image/tiff; application=geotiff; profile=cloud-optimized``: a Cloud Optimized GeoTIFF;
- ``image/tiff``: any TIFF, read as a GeoTIFF.

Media types match by ``app.model.descriptions.MediaType``: order, spaces, quotes and case of
parameters do not matter, a parameter more or less does.
"""

from __future__ import annotations

from app.model.descriptions import OGC_GEOTIFF_MEDIA_TYPE, Format

GEOTIFF_MEDIA_TYPE = "image/tiff; subtype=geotiff"
COG_MEDIA_TYPE = "image/tiff; application=geotiff; profile=cloud-optimized"
TIFF_MEDIA_TYPE = "image/tiff"

GEOTIFF = Format(mime_type=GEOTIFF_MEDIA_TYPE, extension=".tif")
OGC_GEOTIFF = Format(mime_type=OGC_GEOTIFF_MEDIA_TYPE, extension=".tif")
COG = Format(mime_type=COG_MEDIA_TYPE, extension=".tif")
TIFF = Format(mime_type=TIFF_MEDIA_TYPE, extension=".tif")
GEOTIFF_BASE64 = Format(mime_type=GEOTIFF_MEDIA_TYPE, encoding="base64", extension=".tif")
OGC_GEOTIFF_BASE64 = Format(mime_type=OGC_GEOTIFF_MEDIA_TYPE, encoding="base64", extension=".tif")
COG_BASE64 = Format(mime_type=COG_MEDIA_TYPE, encoding="base64", extension=".tif")
TIFF_BASE64 = Format(mime_type=TIFF_MEDIA_TYPE, encoding="base64", extension=".tif")

GEOTIFF_BASE64_FORMATS = (GEOTIFF_BASE64, OGC_GEOTIFF_BASE64, COG_BASE64, TIFF_BASE64)
GEOTIFF_FORMATS = (GEOTIFF, OGC_GEOTIFF, COG, TIFF, *GEOTIFF_BASE64_FORMATS)

GEOJSON = Format(mime_type="application/geo+json", extension=".geojson")
JSON = Format(mime_type="application/json", extension=".json")
VND_GEOJSON = Format(mime_type="application/vnd.geo+json", extension=".geojson")
GEOJSON_FORMATS = (GEOJSON, JSON, VND_GEOJSON)

ZIP = Format(mime_type="application/zip", extension=".zip")
ZIP_BASE64 = Format(mime_type="application/zip", encoding="base64", extension=".zip")
ZIPPED_SHP = Format(mime_type="application/x-zipped-shp", extension=".zip")
ZIPPED_SHP_BASE64 = Format(mime_type="application/x-zipped-shp", encoding="base64", extension=".zip")
VECTOR_FORMATS = (*GEOJSON_FORMATS, ZIP, ZIP_BASE64, ZIPPED_SHP, ZIPPED_SHP_BASE64)

TEXT = Format(mime_type="text/plain", extension=".txt")
XML = Format(mime_type="text/xml", extension=".xml")
APPLICATION_XML = Format(mime_type="application/xml", extension=".xml")
OCTET_STREAM = Format(mime_type="application/octet-stream", encoding="base64", extension=".bin")
PNG = Format(mime_type="image/png", encoding="base64", extension=".png")

GENERIC_FORMATS = (
    XML,
    APPLICATION_XML,
    JSON,
    GEOJSON,
    TEXT,
    OCTET_STREAM,
    *GEOTIFF_BASE64_FORMATS,
    PNG,
)

EPSG_CRSS = (
    "EPSG:4326",
    "EPSG:3857",
    "urn:ogc:def:crs:EPSG::4326",
    "urn:ogc:def:crs:OGC:1.3:CRS84",
    "EPSG:32631",
    "EPSG:2154",
)
