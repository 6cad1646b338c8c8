"""Read a generated identity-mapping CSV export into the canonical contract's exact dtypes.

A thin strict wrapper over the pipeline's own identity mapping, so the generator's tests read
exports exactly the way the pipeline does: any cell the mapping rejects is a generator bug.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from finance_pipeline.mappings import read_identity_csv


def read_export(path: Path, table: str, business_date: date) -> pl.DataFrame:
    """Read ``path`` (a CSV in the identity mapping of ``table``) as a canonical frame.

    Lineage is filled by the mapping: ``business_date``, ``source_file`` (the file name),
    ``source_location`` (``line N``, the header being line 1), ``mapping_name`` "identity"
    and ``mapping_version`` "1". Raises when any row is rejected.
    """
    good, rejects = read_identity_csv(path.read_bytes(), path.name, table, business_date)
    if rejects.height:
        raise ValueError(f"{path.name}: rows rejected: {rejects.to_dicts()[:3]}")
    return good
