"""The province's procedure catalogue: published on the hub in versions, fetched by each hall,
which previews what it would change and applies it when its admin confirms (or by itself,
``[hub] catalogue_auto_apply``). A version is the file as a hall imports it (CSV or XLSX with
the columns of ``hall.importing``), checked the same way before it is published."""

from __future__ import annotations

import tempfile
from pathlib import Path

import psycopg

from hall import errors, importing
from hall.words import N_

SUFFIXES = (".csv", ".xlsx")
MAX_FILE = 5 * 1024 * 1024


def publish(conn: psycopg.Connection, content: bytes, filename: str, note: str = "") -> dict:
    """A new version of the catalogue from a file (refused, ``hall.errors.InvalidInput``, when
    a hall could not read it); the version's number and size."""
    suffix = Path(filename or "").suffix.lower()
    if suffix not in SUFFIXES:
        raise errors.InvalidInput(N_("Chỉ nhận tệp .csv hoặc .xlsx."),
                                            field="file")
    if not content or len(content) > MAX_FILE:
        raise errors.InvalidInput(field="file")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"catalogue{suffix}"
        path.write_bytes(content)
        rows = importing.read_table(path)
    codes = [row.get("code", "") for _, row in rows]
    if not codes or any(not code for code in codes) or len(set(codes)) != len(codes):
        raise errors.InvalidInput(N_("Mỗi dòng cần một mã thủ tục (code) riêng."),
                                  field="file")
    with conn.transaction():
        version = conn.execute(
            "INSERT INTO catalogue_versions (filename, content, procedures, note)"
            " VALUES (%s, %s, %s, %s) RETURNING version",
            (Path(filename).name[:200], content, len(rows), note[:500])).fetchone()[0]
    return {"version": version, "procedures": len(rows)}


def latest(conn: psycopg.Connection) -> dict | None:
    """The newest version's number, date and size (None: nothing published yet)."""
    row = conn.execute("SELECT version, published_at, filename, procedures, note"
                       " FROM catalogue_versions ORDER BY version DESC LIMIT 1").fetchone()
    if row is None:
        return None
    return {"version": row[0], "published_at": row[1].isoformat(), "filename": row[2],
            "procedures": row[3], "note": row[4]}


def version_file(conn: psycopg.Connection, version: int) -> tuple[str, bytes] | None:
    """A version's file: (name, content)."""
    row = conn.execute("SELECT filename, content FROM catalogue_versions WHERE version = %s",
                       (version,)).fetchone()
    return None if row is None else (row[0], bytes(row[1]))
