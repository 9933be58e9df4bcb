"""``/ogc``: OGC API – Features over the map layers, as JSON, HTML and downloads (``f=``)."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, render_template, request, stream_with_context, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext

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


Translate = Callable[..., str]


def _untranslated(message: str, **values: Any) -> str:
    return message % values if values else message


def _translator() -> Translate:
    """``gettext`` for the HTML pages people read; JSON (QGIS, GDAL, scripts) keeps the English titles."""
    return gettext if _format() == "html" else _untranslated


def _url(endpoint: str, **values: Any) -> str:
    return url_for(endpoint, _external=True, **values)


def _links(endpoint: str, title: str, _: Translate, **values: Any) -> list[dict[str, Any]]:
    fmt = _format()
    other = "html" if fmt == "json" else "json"
    types = {"json": JSON_MIME, "html": "text/html"}
    return [
        {"rel": "self", "type": types[fmt], "title": title, "href": _url(endpoint, **values, f=fmt)},
        {
            "rel": "alternate",
            "type": types[other],
            "title": _("%(title)s (%(format)s)", title=title, format=other),
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
    _ = _translator()
    body: dict[str, Any] = {
        "title": _("sinhke OGC API – Features"),
        "description": _(
            "The programme's map layers: administrative units, villages, households, models, works, "
            "water schemes and households at risk, scoped to the caller."
        ),
        "links": [
            *_links("ogc.landing", _("this document"), _),
            {"rel": "service-desc", "type": OPENAPI_MIME, "title": _("OpenAPI definition"), "href": _url("ogc.api")},
            {
                "rel": "conformance",
                "type": JSON_MIME,
                "title": _("conformance classes"),
                "href": _url("ogc.conformance"),
            },
            {"rel": "data", "type": JSON_MIME, "title": _("collections"), "href": _url("ogc.collections")},
        ],
    }
    return _answer(body, body["title"])


@bp.get("/conformance")
def conformance() -> ResponseReturnValue:
    _ = _translator()
    body = {"conformsTo": CONFORMANCE, "links": _links("ogc.conformance", _("conformance"), _)}
    return _answer(body, _("Conformance"), [{_("conformance class"): c} for c in CONFORMANCE], [_("conformance class")])


@bp.get("/api")
def api() -> ResponseReturnValue:
    session = get_session()
    temporal = {c.id: LAYERS[c.layer].temporal is not None for c in visible_collections(session)}
    doc = openapi_ogc_document(_url("ogc.landing").rstrip("/"), temporal)
    return Response(json.dumps(doc, ensure_ascii=False), mimetype=OPENAPI_MIME)


def _collection_body(c: Collection, extent: dict[str, Any], _: Translate) -> dict[str, Any]:
    layer = LAYERS[c.layer]
    title = _(c.title)
    return {
        "id": c.id,
        "title": title,
        "itemType": "feature",
        "extent": extent,
        "crs": list(CRS),
        "storageCrs": CRS84,
        "links": [
            {
                "rel": "self",
                "type": JSON_MIME,
                "title": title,
                "href": _url("ogc.collection_view", collection_id=c.id),
            },
            {
                "rel": "items",
                "type": GEOJSON_MIME,
                "title": _("%(title)s (%(format)s)", title=title, format="GeoJSON"),
                "href": _url("ogc.items_view", collection_id=c.id),
            },
            {
                "rel": "items",
                "type": "text/html",
                "title": _("%(title)s (%(format)s)", title=title, format="HTML"),
                "href": _url("ogc.items_view", collection_id=c.id, f="html"),
            },
            {
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                "type": "application/schema+json",
                "title": _("queryables"),
                "href": _url("ogc.queryables_view", collection_id=c.id),
            },
            *[
                {
                    "rel": "enclosure",
                    "type": LAYER_MIME[f],
                    "title": _("download (%(format)s)", format=f),
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
    _ = _translator()
    listed = [_collection_body(c, collection_extent(session, c), _) for c in visible_collections(session)]
    body = {"collections": listed, "links": _links("ogc.collections", _("collections"), _)}
    rows = [
        {"id": c["id"], _("title"): c["title"], "_href": _url("ogc.collection_view", collection_id=c["id"], f="html")}
        for c in listed
    ]
    return _answer(body, _("Collections"), rows, ["id", _("title")])


@bp.get("/collections/<collection_id>")
def collection_view(collection_id: str) -> ResponseReturnValue:
    c = collection(collection_id)
    _ = _translator()
    body = _collection_body(c, collection_extent(get_session(), c), _)
    return _answer(body, _(c.title))


@bp.get("/collections/<collection_id>/queryables")
def queryables_view(collection_id: str) -> ResponseReturnValue:
    c = collection(collection_id)
    body = queryables(c, _url("ogc.queryables_view", collection_id=c.id))
    if _format() == "html":
        names = {"name": gettext("name"), "type": gettext("type"), "format": gettext("format")}
        rows = [{names["name"]: k, **{names.get(f, f): x for f, x in v.items()}} for k, v in body["properties"].items()]
        heading = gettext("Queryables of %(title)s", title=gettext(c.title))
        return _answer({"links": []}, heading, rows, list(names.values()))
    return Response(json.dumps(body, ensure_ascii=False), mimetype="application/schema+json")


@bp.get("/collections/<collection_id>/items")
def items_view(collection_id: str) -> ResponseReturnValue:
    c = collection(collection_id)
    fmt = _format(("json", "html", *LAYER_FORMATS))
    q = parse_items_query(c, _ogc_args())
    session = get_session()
    if fmt in LAYER_FORMATS:
        return _download(c, q, fmt)
    page = items(session, c, q)
    _ = _translator()
    # an unsorted page's next link continues after its last row (keyset), as clients follow it
    after = page.last_id if not q.sortby else None
    links = _page_links(c, q.limit, q.offset, page.matched, page.returned, _, after)
    if fmt == "html":
        features = json.loads(page.features_json)
        columns = download_columns(c)
        rows = [
            {**f["properties"], "_href": _url("ogc.item_view", collection_id=c.id, feature_id=f["id"], f="html")}
            for f in features
        ]
        note = _("%(returned)s of %(matched)s features", returned=page.returned, matched=page.matched)
        return render_template("ogc.html", heading=_(c.title), links=links, rows=rows, columns=columns, note=note)
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


def _ogc_args() -> dict[str, str]:
    """The query's OGC parameters: ``lang`` is the page's language (the menu's switch), not a filter."""
    return {k: v for k, v in request.args.to_dict().items() if k != "lang"}


def _page_links(
    c: Collection,
    limit: int,
    offset: int,
    matched: int,
    returned: int,
    _: Translate,
    after: int | None = None,
) -> list[dict[str, Any]]:
    args = {k: v for k, v in _ogc_args().items() if k not in ("offset", "limit", "f", "after")}
    here = _ogc_args().get("after")

    def href(off: int, f: str = "json", start: Any = None) -> str:
        extra = {"after": start} if start not in (None, "") else {}
        return _url("ogc.items_view", collection_id=c.id, **args, limit=limit, offset=off, f=f, **extra)

    links = [
        {"rel": "self", "type": GEOJSON_MIME, "title": _("this page"), "href": href(offset, start=here)},
        {
            "rel": "alternate",
            "type": "text/html",
            "title": _("this page (HTML)"),
            "href": href(offset, "html", start=here),
        },
        {
            "rel": "collection",
            "type": JSON_MIME,
            "title": _(c.title),
            "href": _url("ogc.collection_view", collection_id=c.id),
        },
    ]
    if offset + returned < matched:
        nxt = href(offset + limit, start=after)
        links.append({"rel": "next", "type": GEOJSON_MIME, "title": _("next page"), "href": nxt})
    if offset > 0:
        links.append(
            {"rel": "prev", "type": GEOJSON_MIME, "title": _("previous page"), "href": href(max(0, offset - limit))}
        )
    return links


@bp.get("/collections/<collection_id>/items/<feature_id>")
def item_view(collection_id: str, feature_id: str) -> ResponseReturnValue:
    c = collection(collection_id)
    crs = crs_srid(request.args.get("crs"), "crs")[0]
    text = item(get_session(), c, feature_id, crs)
    if _format() == "html":
        feature = json.loads(text)
        prop, value = gettext("property"), gettext("value")
        rows = [{prop: k, value: v} for k, v in feature["properties"].items()]
        title = gettext(c.title)
        links = [{"rel": "collection", "href": _url("ogc.items_view", collection_id=c.id, f="html"), "title": title}]
        return render_template(
            "ogc.html", heading=f"{title}: {feature_id}", links=links, rows=rows, columns=[prop, value]
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
