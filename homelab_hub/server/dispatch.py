"""Calls a tool the same way for every transport: validate, authorise, run, measure.

Both the MCP binding and the REST mirror go through `invoke`, which is why they give the
same answer for the same input.
"""

from __future__ import annotations

import inspect
import logging
import time
import uuid
from typing import Any

import anyio.to_thread
from pydantic import BaseModel, ValidationError

from homelab_hub.errors import HubError, InvalidInput
from homelab_hub.server.metrics import TOOL_CALLS, TOOL_LATENCY
from homelab_hub.tools.registry import ToolContext, ToolSpec

log = logging.getLogger(__name__)


def validation_message(exc: ValidationError, what: str = "argument") -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err["loc"]) or "(body)"
        value = err.get("input")
        shown = repr(value)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        if err["type"] == "extra_forbidden":
            parts.append(f"unknown {what} {loc!r}")
        elif err["type"] == "missing":
            parts.append(f"missing required {what} {loc!r}")
        else:
            parts.append(f"{what} {loc!r}: {err['msg']} (got {shown})")
    more = len(exc.errors()) - 5
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)


def parse_args(spec: ToolSpec, raw: Any) -> BaseModel:
    """Raises InvalidInput with every bad field named."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise InvalidInput(f"tool {spec.name!r} takes a JSON object of arguments, got {type(raw).__name__}")
    try:
        return spec.input_model.model_validate(raw)
    except ValidationError as exc:
        raise InvalidInput(f"{spec.name}: {validation_message(exc)}") from exc


async def invoke(spec: ToolSpec, ctx: ToolContext, raw_args: Any) -> BaseModel:
    """Run one tool call. Raises HubError (and only HubError) for the caller to see."""
    start = time.perf_counter()
    outcome = "error"
    try:
        args = parse_args(spec, raw_args)
        spec.check_permission(ctx.identity)
        if inspect.iscoroutinefunction(spec.handler):
            result = await spec.handler(ctx, args)
        else:
            result = await anyio.to_thread.run_sync(spec.handler, ctx, args)
        if not isinstance(result, spec.output_model):
            raise TypeError(
                f"tool {spec.name} returned {type(result).__name__}, not {spec.output_model.__name__}"
            )
        outcome = "ok"
        return result
    except HubError:
        outcome = "refused"
        raise
    except Exception as exc:
        incident = uuid.uuid4().hex[:8]
        log.exception("tool %s failed unexpectedly (error id %s)", spec.name, incident)
        raise HubError(
            f"tool {spec.name!r} failed unexpectedly (error id {incident}, details in the hub log)"
        ) from exc
    finally:
        TOOL_CALLS.labels(spec.name, ctx.transport, outcome).inc()
        TOOL_LATENCY.labels(spec.name, ctx.transport).observe(time.perf_counter() - start)
