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
    if isinstance(schema, list):
        return [_compact(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    options = schema.get("anyOf")
    if (
        isinstance(options, list)
        and options
        and all(isinstance(o, dict) and set(o) == {"type"} for o in options)
    ):
        # anyOf [{type: string}, {type: null}] says the same as type: [string, null], shorter.
        schema = {k: v for k, v in schema.items() if k != "anyOf"}
        schema["type"] = [o["type"] for o in options]
    elif isinstance(options, list) and _nullable(options):
        # anyOf [{type: integer, minimum: 1}, {type: null}] is type: [integer, null] with the
        # same bounds: JSON Schema applies minimum, items, enum… to their own type only.
        value = next(o for o in options if o != {"type": "null"})
        schema = {
            **{k: v for k, v in schema.items() if k != "anyOf"},
            **value,
            "type": [value["type"], "null"],
        }
        if "enum" in value:
            schema["enum"] = [*value["enum"], None]
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
