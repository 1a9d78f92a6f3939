"""The `ingest` resource: run options a person can change per run in the launchpad."""

import os

import dagster as dg


class IngestSettings(dg.ConfigurableResource):
    """Where stage files go, preview, full refresh, and the override for an emptied source.

    `artifacts_dir` (else INGEST_ARTIFACTS_DIR) may be a local path or an fsspec URL such as
    `s3://bucket/ingest`; with a URL each stage works on a local scratch copy and uploads what it wrote.
    """

    artifacts_dir: str = ""
    preview: int = 0
    full_refresh: bool = False
    allow_empty: bool = False
    allow_mass_removal: bool = False
    """Soft-delete stale entities even above the recipe's stateful_ingestion.fail_safe_threshold."""
    state_url: str = ""
    """SQLAlchemy URL of the state store shared by every machine (else the recipe's state.url or INGEST_STATE_URL)."""

    @property
    def artifacts_base(self) -> str:
        return self.artifacts_dir or os.environ.get("INGEST_ARTIFACTS_DIR", "")
