"""Computations over PostGIS (plain functions over a Session) and the scheduler that runs them."""

from spatial import SinhkeError


class JobError(SinhkeError):
    """A job cannot run or failed; the message says which and why."""
