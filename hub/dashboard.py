"""The province dashboard's figures: every hall with its last contact, how far its events
lag, who waits now and for how long against the target, and how many were served today;
sorted by trouble. One query over ``halls`` and their push positions, the facts of each
hall's business day (a partial index of the tickets still waiting) and its ``all`` rollup:
no raw events read."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg

from .reports import TARGET_WAIT_MINUTES

SILENT_AFTER_S = 600  # no contact for 10 minutes: a hall in trouble, whatever it did before
SORTS = ("trouble", "name", "waiting", "longest", "contact", "served")
HALLS = """
SELECT h.id, h.name, p.last_contact, p.last_event_at, d.day,
       coalesce(r.served, 0), coalesce(w.waiting, 0), w.oldest
FROM halls h
JOIN hall_positions p ON p.hall_id = h.id
LEFT JOIN LATERAL (SELECT max(day) AS day FROM hub_facts f WHERE f.hall_id = h.id) d ON true
LEFT JOIN hub_rollups r ON r.hall_id = h.id AND r.day = d.day AND r.dimension = 'all'
     AND r.key = ''
LEFT JOIN LATERAL (SELECT count(*) AS waiting, min(waiting_since) AS oldest FROM hub_facts f
                   WHERE f.hall_id = h.id AND f.day = d.day AND f.waiting_since IS NOT NULL) w
     ON true
"""


def _age(now: datetime, then: datetime | None) -> float | None:
    return None if then is None else max(0.0, (now - then).total_seconds())


def trouble(row: dict) -> float:
    """How bad a hall looks, 1 at the edge: silence against ten minutes, its longest wait
    against the target (never heard from: the worst)."""
    if row["contact_age_s"] is None:
        return float("inf")
    return max(row["contact_age_s"] / SILENT_AFTER_S,
               (row["longest_wait_s"] or 0) / (TARGET_WAIT_MINUTES * 60))


def halls(conn: psycopg.Connection, now: datetime | None = None, sort: str = "trouble") -> list:
    """Every hall's line of the dashboard, sorted (``SORTS``; trouble first by default)."""
    now = now or datetime.now(UTC)
    out = []
    for hall_id, name, contact, last_event, day, served, waiting, oldest in conn.execute(HALLS):
        row = {"id": hall_id, "name": name,
               "last_contact": contact.isoformat() if contact else None,
               "contact_age_s": _age(now, contact), "lag_s": _age(now, last_event),
               "day": day.isoformat() if day else None, "served": served, "waiting": waiting,
               "longest_wait_s": _age(now, oldest) if waiting else None}
        row["over_target"] = (row["longest_wait_s"] or 0) > TARGET_WAIT_MINUTES * 60
        row["silent"] = row["contact_age_s"] is None or row["contact_age_s"] > SILENT_AFTER_S
        row["trouble"] = trouble(row)
        out.append(row)
    keys = {"trouble": lambda r: -r["trouble"], "name": lambda r: r["name"],
            "waiting": lambda r: -r["waiting"], "longest": lambda r: -(r["longest_wait_s"] or 0),
            "contact": lambda r: -(r["contact_age_s"] if r["contact_age_s"] is not None
                                   else float("inf")),
            "served": lambda r: -r["served"]}
    out.sort(key=lambda r: (keys[sort](r), r["name"], r["id"]))
    return out


def totals(rows: list[dict]) -> dict:
    """The province line: halls, silent halls, waiting, over the target, served today."""
    return {"halls": len(rows), "silent": sum(r["silent"] for r in rows),
            "waiting": sum(r["waiting"] for r in rows),
            "over_target": sum(r["over_target"] for r in rows),
            "served": sum(r["served"] for r in rows)}
