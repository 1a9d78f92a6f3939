"""Dagster: assets, resources, jobs, schedules and sensors built from recipes."""
