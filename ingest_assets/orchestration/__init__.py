"""Dagster built from recipes.

assets.py (one recipe -> assets, job, checks, schedule, sensors), resources.py (the `ingest`
resource), checks.py, metadata.py (what the UI shows per materialization), schedules.py,
sensors.py, partitions.py (split by database), artifacts.py (hand-over files, local or object storage).
"""
