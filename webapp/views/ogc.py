"""``/ogc``: OGC API – Features over the map layers, as JSON, HTML and downloads (``f=``)."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, render_template, request, stream_with_context, url_for
from flask.typing import ResponseReturnValue

from spatial import ParameterError
from spatial.exports import LAYER_FORMATS, LAYER_MIME, csv_stream, write_gpkg, write_shapefile_zip, write_xlsx
from spatial.layers import LAYERS
from spatial.ogc import (
    CONFORMANCE,
    CRS,
    CRS84,
    Collection,
    collection,
    collection_extent,
    crs_srid,
    download_columns,
    download_kinds,
    download_rows,
    item,
    items,
    parse_items_query,
    queryables,
    visible_collections,
)
from webapp.db import get_session
from webapp.openapi_ogc import OPENAPI_MIME, openapi_ogc_document

bp = Blueprint("ogc", __name__, url_prefix="/ogc")

JSON_MIME = "application/json"
GEOJSON_MIME = "application/geo+json"


def _format(allowed: tuple[str, ...] = ("json", "html")) -> str:
    f = request.args.get("f")
    if f:
        if f not in allowed:
            raise ParameterError("f", f"unknown format {f!r}", list(allowed))
        return f
    best = request.accept_mimetypes.best_match([JSON_MIME, GEOJSON_MIME, "text/html"], default=JSON_MIME)
    return "html" if best == "text/html" else "json"


def _url(endpoint: str, **values: Any) -> str:
    return url_for(endpoint, _external=True, **values)


def _links(endpoint: str, title: str, **values: Any) -> list[dict[str, Any]]:
    fmt = _format()
    other = "html" if fmt == "json" else "json"
    types = {"json": JSON_MIME, "html": "text/html"}
    return [
        {"rel": "self", "type": types[fmt], "title": title, "href": _url(endpoint, **values, f=fmt)},
        {
            "rel": "alternate",
            "type": types[other],
            "title": f"{title} ({other})",
            "href": _url(endpoint, **values, f=other),
        },
    ]


def _answer(
    body: dict[str, Any], heading: str, rows: list[dict] | None = None, columns: list[str] | None = None
) -> ResponseReturnValue:
    if _format() == "html":
        return render_template(
            "ogc.html",
            heading=heading,
            description=body.get("description"),
            links=body.get("links", []),
            rows=rows or [],
            columns=columns or [],
        )
    return Response(json.dumps(body, ensure_ascii=False), mimetype=JSON_MIME)


@bp.get("/", strict_slashes=False)
def landing() -> ResponseReturnValue:
    body: dict[str, Any] = {
        "title": "sinhke OGC API – Features",
        "description": "The programme's map layers: administrative units, villages, households, models, works, "
        "water schemes and households at risk, scoped to the caller.",
        "links": [
            *_links("ogc.landing", "this document"),
            {"rel": "service-desc", "type": OPENAPI_MIME, "title": "OpenAPI definition", "href": _url("ogc.api")},
            {"rel": "conformance", "type": JSON_MIME, "title": "conformance classes", "href": _url("ogc.conformance")},
            {"rel": "data", "type": JSON_MIME, "title": "collections", "href": _url("ogc.collections")},
        ],
    }
    return _answer(body, body["title"])


@bp.get("/conformance")
def conformance() -> ResponseReturnValue:
    body = {"conformsTo": CONFORMANCE, "links": _links("ogc.conformance", "conformance")}
    return _answer(body, "Conformance", [{"class": c} for c in CONFORMANCE], ["class"])


@bp.get("/api")
def api() -> ResponseReturnValue:
    session = get_session()
    temporal = {c.id: LAYERS[c.layer].temporal is not None for c in visible_collections(session)}
    doc = openapi_ogc_document(_url("ogc.landing").rstrip("/"), temporal)
    return Response(json.dumps(doc, ensure_ascii=False), mimetype=OPENAPI_MIME)


def _collection_body(c: Collection, extent: dict[str, Any]) -> dict[str, Any]:
    layer = LAYERS[c.layer]
    return {
        "id": c.id,
        "title": c.title,
        "itemType": "feature",
        "extent": extent,
        "crs": list(CRS),
        "storageCrs": CRS84,
        "links": [
            {
                "rel": "self",
                "type": JSON_MIME,
                "title": c.title,
                "href": _url("ogc.collection_view", collection_id=c.id),
            },
            {
                "rel": "items",
                "type": GEOJSON_MIME,
                "title": f"{c.title} (GeoJSON)",
                "href": _url("ogc.items_view", collection_id=c.id),
            },
            {
                "rel": "items",
                "type": "text/html",
                "title": f"{c.title} (HTML)",
                "href": _url("ogc.items_view", collection_id=c.id, f="html"),
            },
            {
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                "type": "application/schema+json",
                "title": "queryables",
                "href": _url("ogc.queryables_view", collection_id=c.id),
            },
            *[
                {
                    "rel": "enclosure",
                    "type": LAYER_MIME[f],
                    "title": f"download ({f})",
                    "href": _url("ogc.items_view", collection_id=c.id, f=f),
                }
                for f in LAYER_FORMATS
            ],
        ],
        "geometryType": layer.geometry_type,
    }


@bp.get("/collections")
def collections() -> ResponseReturnValue:
    session = get_session()
    listed = [_collection_body(c, collection_extent(session, c)) for c in visible_collections(session)]
    body = {"collections": listed, "links": _links("ogc.collections", "collections")}
    rows = [
        {"id": c["id"], "title": c["title"], "_href": _url("ogc.collection_view", collection_id=c["id"], f="html")}
        for c in listed
    ]
    return _answer(body, "Collections", rows, ["id", "title"])


@bp.get("/collections/<collection_id>")
def collection_view(collection_id: str) -> ResponseReturnValue:
    c = collection(collection_id)
    body = _collection_body(c, collection_extent(get_session(), c))
    return _answer(body, c.title)


@bp.get("/collections/<collection_id>/queryables")
def queryables_view(collection_id: str) -> ResponseReturnValue:
    c = collection(collection_id)
    body = queryables(c, _url("ogc.queryables_view", collection_id=c.id))
    if _format() == "html":
        rows = [{"name": k, **v} for k, v in body["properties"].items()]
        return _answer({"links": []}, f"Queryables of {c.title}", rows, ["name", "type", "format"])
    return Response(json.dumps(body, ensure_ascii=False), mimetype="application/schema+json")


@bp.get("/collections/<collection_id>/items")
def items_view(collection_id: str) -> ResponseReturnValue:
    c = collection(collection_id)
    fmt = _format(("json", "html", *LAYER_FORMATS))
    q = parse_items_query(c, request.args.to_dict())
    session = get_session()
    if fmt in LAYER_FORMATS:
        return _download(c, q, fmt)
    page = items(session, c, q)
    links = _page_links(c, q.limit, q.offset, page.matched, page.returned)
    if fmt == "html":
        features = json.loads(page.features_json)
        columns = download_columns(c)
        rows = [
            {**f["properties"], "_href": _url("ogc.item_view", collection_id=c.id, feature_id=f["id"], f="html")}
            for f in features
        ]
        note = f"{page.returned} of {page.matched} features"
        return render_template("ogc.html", heading=c.title, links=links, rows=rows, columns=columns, note=note)
    head = {
        "type": "FeatureCollection",
        "numberMatched": page.matched,
        "numberReturned": page.returned,
        "links": links,
    }
    text = json.dumps(head, ensure_ascii=False)[:-1] + ', "features": ' + page.features_json + "}"
    response = Response(text, mimetype=GEOJSON_MIME)
    response.headers["Content-Crs"] = f"<{q.crs}>"
    return response


def _page_links(c: Collection, limit: int, offset: int, matched: int, returned: int) -> list[dict[str, Any]]:
    args = {k: v for k, v in request.args.to_dict().items() if k not in ("offset", "limit", "f")}

    def href(off: int, f: str = "json") -> str:
        return _url("ogc.items_view", collection_id=c.id, **args, limit=limit, offset=off, f=f)

    links = [
        {"rel": "self", "type": GEOJSON_MIME, "title": "this page", "href": href(offset)},
        {"rel": "alternate", "type": "text/html", "title": "this page (HTML)", "href": href(offset, "html")},
        {
            "rel": "collection",
            "type": JSON_MIME,
            "title": c.title,
            "href": _url("ogc.collection_view", collection_id=c.id),
        },
    ]
    if offset + returned < matched:
        links.append({"rel": "next", "type": GEOJSON_MIME, "title": "next page", "href": href(offset + limit)})
    if offset > 0:
        links.append(
            {"rel": "prev", "type": GEOJSON_MIME, "title": "previous page", "href": href(max(0, offset - limit))}
        )
    return links


@bp.get("/collections/<collection_id>/items/<feature_id>")
def item_view(collection_id: str, feature_id: str) -> ResponseReturnValue:
    c = collection(collection_id)
    crs = crs_srid(request.args.get("crs"), "crs")[0]
    text = item(get_session(), c, feature_id, crs)
    if _format() == "html":
        feature = json.loads(text)
        rows = [{"property": k, "value": v} for k, v in feature["properties"].items()]
        links = [{"rel": "collection", "href": _url("ogc.items_view", collection_id=c.id, f="html"), "title": c.title}]
        return render_template(
            "ogc.html", heading=f"{c.title}: {feature_id}", links=links, rows=rows, columns=["property", "value"]
        )
    body = json.loads(text)
    body["links"] = [
        {"rel": "self", "type": GEOJSON_MIME, "href": _url("ogc.item_view", collection_id=c.id, feature_id=feature_id)},
        {"rel": "collection", "type": JSON_MIME, "href": _url("ogc.collection_view", collection_id=c.id)},
    ]
    response = Response(json.dumps(body, ensure_ascii=False), mimetype=GEOJSON_MIME)
    response.headers["Content-Crs"] = f"<{crs}>"
    return response


def _download(c: Collection, q: Any, fmt: str) -> Response:
    """A whole (filtered) collection as a file: CSV streamed row by row from a server-side cursor;
    GeoPackage, Shapefile and XLSX written in chunks to a temporary file, then streamed from it."""
    session = get_session()
    columns = download_columns(c)
    rows = download_rows(session, c, q)
    name = f"sinhke-{c.id}"
    headers = {"Content-Disposition": f'attachment; filename="{name}.{"zip" if fmt == "shp" else fmt}"'}
    if fmt == "csv":
        return Response(stream_with_context(csv_stream(columns, rows)), mimetype=LAYER_MIME["csv"], headers=headers)
    tmp = Path(tempfile.mkdtemp(prefix="sinhke-download-"))
    try:
        path = tmp / f"{c.id}.{'zip' if fmt == 'shp' else fmt}"
        crs = f"EPSG:{crs_srid(q.crs, 'crs')[1]}"
        if fmt == "xlsx":
            write_xlsx(path, columns, rows, c.id)
        elif fmt == "gpkg":
            kind = LAYERS[c.layer].geometry_type
            write_gpkg(path, columns, download_kinds(c), rows, c.id, crs, "Unknown" if kind == "Geometry" else kind)
        else:
            write_shapefile_zip(path, columns, download_kinds(c), rows, c.id, crs)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    headers["Content-Length"] = str(path.stat().st_size)
    return Response(_file_chunks(path, tmp), mimetype=LAYER_MIME[fmt], headers=headers)


def _file_chunks(path: Path, tmp: Path) -> Iterator[bytes]:
    try:
        with path.open("rb") as f:
            while chunk := f.read(1 << 16):
                yield chunk
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
