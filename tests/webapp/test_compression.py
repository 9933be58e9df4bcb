"""Compressed responses: JSON, vector tiles and scripts come brotli- or gzip-encoded when the
client accepts it, decode to the very bytes of the plain response, and tiles keep their 304s."""

from __future__ import annotations

import gzip
import zlib

import brotli
import morecantile
import pytest

TMS = morecantile.tms.get("WebMercatorQuad")
DECODE = {"br": brotli.decompress, "gzip": gzip.decompress, "deflate": zlib.decompress}
#: files are streamed, and a stream is compressed with brotli or deflate (gzip cannot stream)
STREAMED = ("/static/", "/vendor/")


def _paths() -> list[str]:
    t = TMS.tile(106.76, 21.85, 9)
    return [
        "/api/indicators?indicator=poverty_rate&level=commune&boundaries=current",
        "/api/layers/water_schemes?limit=200",
        f"/tiles/communes/9/{t.x}/{t.y}.pbf",
        "/static/map/layers.js",
        "/vendor/maplibre-gl/maplibre-gl.js",
    ]


@pytest.mark.parametrize("encoding", ["br", "gzip"])
@pytest.mark.parametrize("path", _paths())
def test_accept_encoding_gives_a_compressed_body_that_decodes_to_the_same_bytes(client, path, encoding):
    plain = client.get(path)
    assert plain.status_code == 200
    assert "Content-Encoding" not in plain.headers
    accept = f"{encoding}, deflate;q=0.5" if path.startswith(STREAMED) else encoding
    packed = client.get(path, headers={"Accept-Encoding": accept})
    assert packed.status_code == 200
    if encoding == "gzip" and path.startswith(STREAMED):
        encoding = "deflate"
    assert packed.headers["Content-Encoding"] == encoding
    assert "Accept-Encoding" in packed.headers["Vary"]
    body, identity = packed.get_data(), plain.get_data()
    packed.close()  # a streamed file closes with its response
    plain.close()
    assert len(body) < len(identity)
    assert DECODE[encoding](body) == identity


def test_a_compressed_tile_keeps_its_etag_and_304(client):
    t = TMS.tile(106.76, 21.85, 10)
    path = f"/tiles/infrastructure_works/10/{t.x}/{t.y}.pbf"
    first = client.get(path, headers={"Accept-Encoding": "br"})
    assert first.headers["Content-Encoding"] == "br"
    held = first.headers["ETag"]
    assert held.endswith(':br"')
    again = client.get(path, headers={"Accept-Encoding": "br", "If-None-Match": held})
    assert again.status_code == 304
    assert again.headers["ETag"] == held
    assert again.get_data() == b""
    # a client without compression holds the plain tag; it gets its 304 too
    plain = client.get(path)
    assert "Content-Encoding" not in plain.headers
    assert client.get(path, headers={"If-None-Match": plain.headers["ETag"]}).status_code == 304


def test_a_compressed_script_keeps_its_etag_and_304(client):
    first = client.get("/static/map/main.js", headers={"Accept-Encoding": "br"})
    first.close()
    assert first.headers["Content-Encoding"] == "br"
    again = client.get("/static/map/main.js", headers={"Accept-Encoding": "br", "If-None-Match": first.headers["ETag"]})
    again.close()
    assert again.status_code == 304


def test_small_bodies_are_sent_as_they_are(client):
    assert "Content-Encoding" not in client.get("/api/me", headers={"Accept-Encoding": "br"}).headers
