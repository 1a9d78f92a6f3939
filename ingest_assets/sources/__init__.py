"""Source plugins: one module per platform, each a description of that platform's catalog."""
