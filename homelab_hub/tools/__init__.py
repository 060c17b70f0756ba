"""The agent-facing tools, one ToolSpec each (see registry.py)."""
