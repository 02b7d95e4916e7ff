"""Media types as formats match them: type/subtype and parameters, whatever the spelling."""

from __future__ import annotations

import pytest

from app.algorithms import formats
from app.algorithms.formats import GEOTIFF_FORMATS
from app.model.descriptions import (
    DataKind,
    Format,
    MediaType,
    ParameterDescription,
    preferring,
    same_media_type,
)
from app.model.errors import NoSuchFormat

OGC_GEOTIFF = "image/tiff; application=geotiff"
COG = "image/tiff; application=geotiff; profile=cloud-optimized"
WPS_GEOTIFF = "image/tiff; subtype=geotiff"


def raster_input() -> ParameterDescription:
    return ParameterDescription(identifier="red", title="Red", kind=DataKind.COMPLEX, formats=GEOTIFF_FORMATS)


@pytest.mark.parametrize(
    "spelling",
    [
        "image/tiff; application=geotiff",
        "image/tiff;application=geotiff",
        "image/tiff ;  application=geotiff ",
        'image/tiff; application="geotiff"',
        "IMAGE/TIFF; Application=GeoTIFF",
        'Image/Tiff;APPLICATION="GEOTIFF";',
        "image/tiff; application=geotiff; charset=utf-8",
    ],
)
def test_spellings_of_the_same_media_type(spelling: str) -> None:
    assert same_media_type(spelling, OGC_GEOTIFF)
    assert MediaType.parse(spelling) == MediaType("image/tiff", frozenset({("application", "geotiff")}))


def test_parameters_are_a_set() -> None:
    assert same_media_type(COG, "image/tiff; profile=cloud-optimized; application=geotiff")
    assert same_media_type(COG, 'image/tiff;profile="cloud-optimized";APPLICATION=geotiff')


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("image/tiff", OGC_GEOTIFF),  # a parameter less is another type
        (OGC_GEOTIFF, COG),  # a parameter more too
        (OGC_GEOTIFF, WPS_GEOTIFF),  # same value, other parameter
        (OGC_GEOTIFF, "image/tiff; application=cog"),
        (OGC_GEOTIFF, "image/geotiff; application=geotiff"),
        ("image/tiff; geotiff", "image/tiff"),  # a parameter without value is still a parameter
        ("text/plain; charset=latin-1", "text/plain"),  # only utf-8 is implicit
    ],
)
def test_different_media_types(first: str, second: str) -> None:
    assert not same_media_type(first, second)
    assert not same_media_type(second, first)


def test_quoted_values_keep_semicolons_and_escapes() -> None:
    parsed = MediaType.parse('multipart/related; type="text/xml; a=b"; start="<a\\"b>"')
    assert parsed.essence == "multipart/related"
    assert parsed.parameters == frozenset({("type", "text/xml; a=b"), ("start", '<a"b>')})


def test_charset_utf8_is_implicit() -> None:
    assert same_media_type("application/json; charset=UTF-8", "application/json")
    assert same_media_type('application/json; charset="utf8"', "application/json; charset=utf-8")


def test_lenient_on_malformed_text() -> None:
    assert MediaType.parse("") == MediaType("", frozenset())
    assert MediaType.parse(";;") == MediaType("", frozenset())
    assert MediaType.parse('image/tiff; application="geotiff').parameters == frozenset(
        {("application", '"geotiff')}
    )


def test_format_matches_any_spelling_and_the_encoding() -> None:
    declared = Format(mime_type=OGC_GEOTIFF, encoding="base64")
    assert declared.matches('image/tiff;application="GeoTIFF"', "BASE64", None)
    assert declared.matches(None, None, None)
    assert not declared.matches(OGC_GEOTIFF, "utf-8", None)
    assert not declared.matches("image/tiff", "base64", None)
    raw = Format(mime_type=OGC_GEOTIFF)
    assert raw.matches(OGC_GEOTIFF, "utf-8", None) and not raw.matches(OGC_GEOTIFF, "base64", None)


@pytest.mark.parametrize(
    ("asked", "encoding", "found"),
    [
        (None, None, formats.GEOTIFF),  # the declared default: the WPS spelling
        ("image/tiff; subtype=geotiff", None, formats.GEOTIFF),
        ("image/tiff;application=geotiff", None, formats.OGC_GEOTIFF),
        ('image/tiff; profile="cloud-optimized"; application=geotiff', None, formats.COG),
        ("image/TIFF", None, formats.TIFF),
        ("image/tiff; application=geotiff", "base64", formats.OGC_GEOTIFF_BASE64),
        (COG, "base64", formats.COG_BASE64),
        ("image/tiff", "base64", formats.TIFF_BASE64),
        (WPS_GEOTIFF, "base64", formats.GEOTIFF_BASE64),
    ],
)
def test_raster_inputs_find_the_format_asked_for(
    asked: str | None, encoding: str | None, found: Format
) -> None:
    assert raster_input().find_format(asked, encoding, None) == found


@pytest.mark.parametrize(
    "asked",
    ["image/png", "image/tiff; subtype=geotiff; profile=cloud-optimized", "image/tiff; application=cog"],
)
def test_other_types_are_no_such_format(asked: str) -> None:
    with pytest.raises(NoSuchFormat):
        raster_input().find_format(asked, None, None)


def test_every_geotiff_spelling_declared_raw_and_base64() -> None:
    spellings = {(fmt.mime_type, fmt.encoding) for fmt in GEOTIFF_FORMATS}
    for mime in (WPS_GEOTIFF, OGC_GEOTIFF, COG, "image/tiff"):
        assert {(mime, None), (mime, "base64")} <= spellings
    assert GEOTIFF_FORMATS[0] == formats.GEOTIFF  # the WPS 1.0.0 default stays first
    assert all(fmt.extension == ".tif" for fmt in GEOTIFF_FORMATS)


def test_echo_takes_every_geotiff_spelling_inline() -> None:
    for mime in (WPS_GEOTIFF, OGC_GEOTIFF, COG, "image/tiff"):
        assert Format(mime_type=mime, encoding="base64", extension=".tif") in formats.GENERIC_FORMATS


def test_preferring_moves_the_preferred_spelling_into_its_family_slot() -> None:
    ordered = preferring(GEOTIFF_FORMATS, OGC_GEOTIFF)
    assert [(f.mime_type, f.encoding) for f in ordered] == [
        (OGC_GEOTIFF, None),
        (WPS_GEOTIFF, None),
        (COG, None),
        ("image/tiff", None),
        (OGC_GEOTIFF, "base64"),
        (WPS_GEOTIFF, "base64"),
        (COG, "base64"),
        ("image/tiff", "base64"),
    ]
    assert sorted(ordered, key=repr) == sorted(GEOTIFF_FORMATS, key=repr)


def test_preferring_leaves_other_families_where_they_are() -> None:
    ordered = preferring(formats.GENERIC_FORMATS, OGC_GEOTIFF)
    assert ordered[:6] == formats.GENERIC_FORMATS[:6]  # XML, JSON, text, octets: as declared
    assert ordered[6] == formats.OGC_GEOTIFF_BASE64
    assert ordered[-1] == formats.PNG
    assert preferring(formats.VECTOR_FORMATS, OGC_GEOTIFF) == formats.VECTOR_FORMATS
