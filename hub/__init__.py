"""The province hub: every hall's events in one PostgreSQL, one live dashboard, one report.

A hall pushes its append-only event log here (``services/hubpush.py``); the hub stores it
once (``ingest``), keeps rollups per hall, day, procedure and hour, and serves province staff.
It shares goiso's codebase but none of a hall's state: no SQLite, no devices.
"""
