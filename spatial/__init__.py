"""Settings, database, PostGIS models and pure geometry helpers of sinhke.

This package imports none of ``ingest``, ``jobs`` or ``webapp``.
"""


class SinhkeError(Exception):
    """Base of every error sinhke reports to a person (CLI message, HTTP body)."""
