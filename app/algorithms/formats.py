"""The data formats processes declare. Order matters: the first format of a list is the default."""

from __future__ import annotations

from app.model.descriptions import Format

GEOTIFF = Format(mime_type="image/tiff; subtype=geotiff", extension=".tif")
TIFF = Format(mime_type="image/tiff", extension=".tif")
GEOTIFF_BASE64 = Format(mime_type="image/tiff; subtype=geotiff", encoding="base64", extension=".tif")
TIFF_BASE64 = Format(mime_type="image/tiff", encoding="base64", extension=".tif")

GEOTIFF_FORMATS = (GEOTIFF, TIFF, GEOTIFF_BASE64, TIFF_BASE64)

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
    GEOTIFF_BASE64,
    TIFF_BASE64,
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
