"""ingest_assets: metadata ingestion for data catalogs, run by Dagster, DataHub-compatible on the wire."""

__version__ = "0.1.0"
