"""Sink plugins: where MCPs go. Each acknowledges what it holds, so state never runs ahead of it."""
