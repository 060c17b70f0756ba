"""The MCP surface: the binding (binding.py) and the fast path for tool calls (fast_path.py)."""
