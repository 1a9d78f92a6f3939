"""Transformer plugins: rewrite the MCP stream between building and emitting."""
