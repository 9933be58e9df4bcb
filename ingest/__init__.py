"""Importers, survey rounds, sensor readings, visit sync and the demo generator."""

from spatial import SinhkeError


class IngestError(SinhkeError):
    """Input that cannot be taken; the message names the file, row, field and reason."""
