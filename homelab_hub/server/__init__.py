"""The process: the Starlette app, MCP and REST bindings, auth, supervisor and CLI."""
