"""The input schema a tool publishes, compacted: one definition for MCP's tools/list and the
REST listing (so REST needs nothing of MCP to publish it)."""

from __future__ import annotations

from typing import Any

from homelab_hub.tools.registry import ToolSpec


def tool_schema(spec: ToolSpec) -> dict[str, Any]:
    """The input schema both surfaces publish (MCP tools/list and the REST tool listing).

    Pydantic's generated titles ("Query" for ``query``) are dropped: they repeat the field
    names and every agent session pays for them in context.
    """
    return _compact(spec.input_model.model_json_schema())


def _compact(schema: Any) -> Any:
    """Titles and null defaults dropped, and nullable fields written so that every MCP client
    reads them: the MCP Inspector's --strict flags ``type: [X, "null"]`` (clients mapping tool
    schemas onto a one-type dialect, Gemini's, reject the tool or drop the bound)."""
    if isinstance(schema, list):
        return [_compact(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    options = schema.get("anyOf")
    if isinstance(options, list) and _nullable(options) and "default" in schema and schema["default"] is None:
        # ``X | None = None``: absent and null mean the same, so the field is published as X,
        # optional (null is still accepted). Shorter than the anyOf, too. A nullable field
        # without that default keeps pydantic's anyOf of one-type branches, which every client reads.
        value = next(o for o in options if o != {"type": "null"})
        schema = {**{k: v for k, v in schema.items() if k != "anyOf"}, **value}
    for key, value in schema.items():
        if key == "title" and isinstance(value, str):
            continue
        if key == "default" and value is None:
            continue
        if key in ("properties", "$defs", "definitions") and isinstance(value, dict):
            out[key] = {name: _compact(sub) for name, sub in value.items()}
        else:
            out[key] = _compact(value)
    return out


def _nullable(options: Any) -> bool:
    """An anyOf of one typed schema and null (what pydantic makes of ``X | None``)."""
    if not isinstance(options, list) or len(options) != 2 or {"type": "null"} not in options:
        return False
    value = next(o for o in options if o != {"type": "null"})
    return isinstance(value, dict) and isinstance(value.get("type"), str) and "$ref" not in value
