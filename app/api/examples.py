"""Execute request examples shown on the docs page; each works when pasted into "Try it out"."""

from __future__ import annotations

from typing import Any

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
GEOTIFF = "image/tiff; application=geotiff"  # OGC 19-008, the spelling this face shows first
# A public Sentinel-2 L2A scene (cloud-optimised GeoTIFFs): band 4 is red, band 8 near-infrared.
S2_SCENE = "https://sentinel-cogs.s3.us-west-2.amazonaws.com/sentinel-s2-l2a-cogs/36/Q/WD/2020/7/S2A_36QWD_20200701_0_L2A"

EXECUTE_EXAMPLES: dict[str, dict[str, Any]] = {
    "echo": {
        "summary": "echo: every kind of input, results document",
        "value": {
            "inputs": {
                "literal": "hello",
                "complex": {"value": "<greeting>hello</greeting>", "mediaType": "text/xml"},
                "bbox": {"bbox": [5.0, 45.0, 6.0, 46.0], "crs": CRS84},
            },
            "response": "document",
        },
    },
    "echo-raw": {
        "summary": "echo: one output, raw (the answer is the text itself)",
        "value": {"inputs": {"literal": "hello"}, "outputs": {"literal": {}}, "response": "raw"},
    },
    "ndvi": {
        "summary": "ndvi: two bands by reference, the result by reference",
        "description": "Run it asynchronously (header `Prefer: respond-async`) for a whole scene, then "
        "follow the `Location` header to the job.",
        "value": {
            "inputs": {
                "red": {"href": f"{S2_SCENE}/B04.tif", "type": GEOTIFF},
                "nir": {"href": f"{S2_SCENE}/B08.tif", "type": GEOTIFF},
            },
            "outputs": {"ndvi": {"transmissionMode": "reference", "format": {"mediaType": GEOTIFF}}},
            "response": "document",
        },
    },
}
