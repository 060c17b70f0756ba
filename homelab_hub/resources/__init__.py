"""Read-only MCP resources, one definition each (see registry.py)."""
