"""The halls a hub knows, and their tokens: issued once, shown once, stored as SHA-256."""

from __future__ import annotations

import secrets

import psycopg

from hall.accounts import token_digest

TOKEN_BYTES = 32


token_hash = token_digest  # a hall's token is stored as a hall stores its API tokens


def add_hall(conn: psycopg.Connection, name: str, timezone: str = "Asia/Ho_Chi_Minh",
             province: int | None = None) -> tuple[int, str]:
    """A new hall: its id and its token (shown once; only the hash is kept)."""
    name = name.strip()
    if not name or len(name) > 200:
        raise ValueError("a hall's name is 1 to 200 characters")
    token = "goiso-hall-" + secrets.token_urlsafe(TOKEN_BYTES)
    with conn.transaction():
        row = conn.execute("INSERT INTO halls (name, timezone, province_id, token_hash)"
                           " VALUES (%s, %s, %s, %s) RETURNING id",
                           (name, timezone, province, token_hash(token))).fetchone()
        conn.execute("INSERT INTO hall_positions (hall_id) VALUES (%s)", (row[0],))
    return row[0], token


def hall_of_token(conn: psycopg.Connection, token: str) -> int | None:
    """The hall a token belongs to, or None."""
    if not token or len(token) > 200:
        return None
    row = conn.execute("SELECT id FROM halls WHERE token_hash = %s",
                       (token_hash(token),)).fetchone()
    return None if row is None else row[0]


def halls(conn: psycopg.Connection) -> list[dict]:
    """Every hall with where its push stands."""
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        return cur.execute("SELECT id, name, timezone, province_id, acked_seq, last_contact,"
                           " last_event_at, created_at FROM halls h"
                           " JOIN hall_positions p ON p.hall_id = h.id ORDER BY id").fetchall()
