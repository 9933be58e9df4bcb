"""fallback_risk flags exactly the households the rule names, in their latest round."""

from sqlalchemy import text


def test_flags_follow_the_rule(db):
    expected = set(db.execute(text("""
        WITH r AS (
            SELECT r.household_id, r.year, r.income_per_person_month AS inc, pc.status
            FROM survey_rounds r JOIN poverty_classifications pc ON pc.survey_round_id = r.id),
        latest AS (SELECT household_id, max(year) AS y FROM r GROUP BY household_id)
        SELECT now_.household_id FROM latest l
        JOIN r now_ ON now_.household_id = l.household_id AND now_.year = l.y
        JOIN r prev ON prev.household_id = l.household_id AND prev.year = l.y - 1
        WHERE now_.inc < prev.inc AND now_.status <> 'poor'
          AND (now_.status = 'near_poor' OR EXISTS (
                SELECT 1 FROM r e WHERE e.household_id = l.household_id AND e.status = 'poor'
                  AND e.year BETWEEN l.y - 2 AND l.y - 1))
    """)).scalars())
    flagged = set(db.execute(text("SELECT household_id FROM fallback_risk")).scalars())
    assert flagged == expected and flagged  # the demo has some
    reasons = dict(db.execute(text("SELECT reason, count(*) FROM fallback_risk GROUP BY reason")).all())
    assert set(reasons) <= {"recently_escaped", "near_poor"}
    assert db.scalar(text("SELECT max(income_change) FROM fallback_risk")) < 0
