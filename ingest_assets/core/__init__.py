"""The core model: recipes, snapshot records, URNs, MCPs and aspect builders. Never imports Dagster."""
