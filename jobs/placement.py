"""Place each household in its commune on each boundary version (the ``placement`` job).

The SQL lives in :mod:`spatial.placement`, which importers call too (an imported household is
placed in the import's own transaction)."""

from spatial.placement import place_households, replace_placement

__all__ = ["place_households", "replace_placement"]
