"""Placement of models, works and water schemes on the 2025 boundaries (migration 0011): written at
once by the triggers, moved by an edit or a boundary change, and enforced by the policies on writes."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from spatial.accounts import Principal, apply_scope, create_user

#: a legacy commune split over two 2025 communes, and a point well inside each part
_SPLIT = text("""
WITH split AS (SELECT old_unit_id FROM admin_crosswalk GROUP BY old_unit_id HAVING count(*) >= 2
               ORDER BY old_unit_id LIMIT 1),
parts AS (SELECT x.old_unit_id, x.new_unit_id, ST_PointOnSurface(ST_Intersection(o.geom, n.geom)) AS p
          FROM admin_crosswalk x JOIN split USING (old_unit_id)
          JOIN admin_units o ON o.id = x.old_unit_id JOIN admin_units n ON n.id = x.new_unit_id
          ORDER BY x.new_unit_id LIMIT 2)
SELECT old_unit_id, new_unit_id, (SELECT code FROM admin_units WHERE id = new_unit_id), ST_AsText(p) FROM parts""")

_INSERT = text("""
INSERT INTO livelihood_models (code, name, model_type, geom, commune_id, start_date, funding_project,
                               budget_allocated_vnd, status)
VALUES (:code, 'Mô hình thử', 'free_range_chicken', ST_GeomFromText(:wkt, 4326), :c, '2024-01-01', 'Dự án 2',
        1000000, 'active')
RETURNING id""")


def _placement(db: Any, model_id: int) -> tuple[int, str] | None:
    row = db.execute(
        text("SELECT commune_id, method FROM asset_units WHERE asset_kind = 'model' AND asset_id = :i"),
        {"i": model_id},
    ).first()
    return None if row is None else (row[0], row[1])


@pytest.fixture
def sides(db):  # type: ignore[no-untyped-def]
    rows = db.execute(_SPLIT).all()
    assert len(rows) == 2, "the demo needs a legacy commune split over two 2025 communes"
    return rows


def test_a_thing_is_placed_when_written_and_moved_by_an_edit(db, sides):
    (old, here, _c, p_here), (_o, there, _c2, p_there) = sides
    mid = db.scalar(_INSERT, {"code": "MH-PLACE-1", "wkt": p_here, "c": old})
    assert _placement(db, mid) == (here, "point")
    db.execute(
        text("UPDATE livelihood_models SET geom = ST_GeomFromText(:w, 4326) WHERE id = :i"), {"w": p_there, "i": mid}
    )
    assert _placement(db, mid) == (there, "point")
    # a plot mostly on this side, a little across: the commune with the larger share
    db.execute(
        text("""
        UPDATE livelihood_models
        SET geom = ST_Buffer(ST_LineInterpolatePoint(ST_MakeLine(ST_GeomFromText(:a, 4326),
                                                                 ST_GeomFromText(:b, 4326)), 0.2), 0.01)
        WHERE id = :i"""),
        {"a": p_here, "b": p_there, "i": mid},
    )
    assert _placement(db, mid)[1] == "area"  # type: ignore[index]
    # outside every commune: the heaviest crosswalk counterpart of the recorded legacy commune
    db.execute(text("UPDATE livelihood_models SET geom = ST_MakePoint(104, 19) WHERE id = :i"), {"i": mid})
    heaviest = db.scalar(
        text("SELECT new_unit_id FROM admin_crosswalk WHERE old_unit_id = :o ORDER BY weight_area DESC, new_unit_id"),
        {"o": old},
    )
    assert _placement(db, mid) == (heaviest, "crosswalk")
    db.execute(text("DELETE FROM livelihood_models WHERE id = :i"), {"i": mid})
    assert _placement(db, mid) is None


def test_a_boundary_change_moves_what_lies_in_it(db, sides):
    (old, here, _c, p_here), _other = sides
    mid = db.scalar(_INSERT, {"code": "MH-PLACE-2", "wkt": p_here, "c": old})
    db.execute(
        text(
            "UPDATE admin_units SET geom = ST_Multi(ST_Difference(geom, ST_Buffer(ST_GeomFromText(:p, 4326), 0.01))) "
            "WHERE id = :u"
        ),
        {"p": p_here, "u": here},
    )
    assert _placement(db, mid) != (here, "point")


def test_a_scoped_user_writes_only_inside_their_communes(db, sides):
    (old, here, code_here, p_here), (_o, _there, _c2, p_there) = sides
    worker = create_user(db, "t_place_worker", "extension_worker", areas=[code_here])
    apply_scope(db, Principal(user_id=worker.id, name=worker.name, role=worker.role))
    # INSERT ... RETURNING: the new row is read back before its placement is written
    mid = db.scalar(_INSERT, {"code": "MH-PLACE-3", "wkt": p_here, "c": old})
    assert db.scalar(text("SELECT code FROM livelihood_models WHERE id = :i"), {"i": mid}) == "MH-PLACE-3"
    move = text("UPDATE livelihood_models SET geom = ST_GeomFromText(:w, 4326) WHERE id = :i")
    with pytest.raises(ProgrammingError, match="row-level security"), db.begin_nested():
        db.execute(move, {"w": p_there, "i": mid})
    with pytest.raises(ProgrammingError, match="row-level security"), db.begin_nested():
        db.execute(_INSERT, {"code": "MH-PLACE-4", "wkt": p_there, "c": old})
    # the placements themselves are the triggers' to write
    with pytest.raises(ProgrammingError, match="permission denied"), db.begin_nested():
        db.execute(text("UPDATE asset_units SET commune_id = :c WHERE asset_id = :i"), {"c": here, "i": mid})
    db.execute(text("RESET ROLE"))
