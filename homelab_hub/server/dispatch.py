"""Calls a tool or reads a resource the same way for every transport: check the input,
authorise, run, measure, and turn anything unexpected into an error with an id.

Both the MCP binding and the REST mirror go through here, which is why they give the same
answer for the same input.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from pydantic import BaseModel, ValidationError

from homelab_hub.errors import HubError, InvalidInput, problems
from homelab_hub.metrics import TOOL_CALLS, TOOL_LATENCY
from homelab_hub.resources.registry import ResourceSpec
from homelab_hub.tools.registry import ToolContext, ToolSpec

log = logging.getLogger(__name__)

# Limits on what any argument may contain, checked before a model sees it: no tool needs more,
# and beyond them Python or the database fails in ways that are not the caller's to read
# (RecursionError on deep nesting, overflow on ids past 64 bits, encode errors on lone
# surrogates deep inside the embedder or the database driver).
MAX_DEPTH = 32
MAX_INT = 2**63 - 1


def validation_message(exc: ValidationError, what: str = "argument") -> str:
    parts = []
    found = list(problems(exc))
    for p in found[:5]:
        loc = p.path or "(body)"
        if p.kind == "extra_forbidden":
            parts.append(f"unknown {what} {loc!r}")
        elif p.kind == "missing":
            parts.append(f"missing required {what} {loc!r}")
        else:
            parts.append(f"{what} {loc!r}: {p.message} (got {p.shown})")
    if len(found) > 5:
        parts.append(f"and {len(found) - 5} more")
    return "; ".join(parts)


def check_value(value: Any, where: str = "body", depth: int = 0) -> None:
    """Raises InvalidInput for JSON no tool can take: nesting deeper than MAX_DEPTH, integers
    beyond 64 bits, strings that are not valid Unicode (lone surrogates, which JSON's \\u
    escapes can carry)."""
    if depth > MAX_DEPTH:
        raise InvalidInput(f"{where}: nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        _check_text(value, where)
    elif isinstance(value, bool | float) or value is None:
        return
    elif isinstance(value, int):
        if not -MAX_INT - 1 <= value <= MAX_INT:
            raise InvalidInput(f"{where}: integer {str(value)[:30]}… is outside the 64-bit range")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(str(key), where)
            check_value(item, f"{where}.{key}"[:200], depth + 1)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            check_value(item, f"{where}[{i}]"[:200], depth + 1)


def _check_text(text: str, where: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInput(
            f"{where}: not valid Unicode at character {exc.start} (a lone surrogate such as \\ud800); "
            "send UTF-8 text"
        ) from None


def parse_args(spec: ToolSpec, raw: Any) -> BaseModel:
    """Raises InvalidInput with every bad field named."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise InvalidInput(f"tool {spec.name!r} takes a JSON object of arguments, got {type(raw).__name__}")
    check_value(raw, spec.name)
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
        result = await spec.call(ctx, args)
        if not isinstance(result, spec.output_model):
            raise TypeError(
                f"tool {spec.name} returned {type(result).__name__}, not {spec.output_model.__name__}"
            )
        outcome = "ok"
        return result
    except HubError as exc:
        outcome = "refused"
        log.info("tool %s refused: %s: %s", spec.name, exc.code, exc.to_dict()["message"][:300])
        raise
    except Exception as exc:
        raise _unexpected(f"tool {spec.name!r}", exc) from exc
    finally:
        TOOL_CALLS.labels(spec.name, ctx.transport, outcome).inc()
        TOOL_LATENCY.labels(spec.name, ctx.transport).observe(time.perf_counter() - start)


async def read(spec: ResourceSpec, ctx: ToolContext, uri: str, params: dict[str, str]) -> str | bytes:
    """Read one resource. Raises HubError (and only HubError)."""
    name = f"resource:{spec.name}"
    start = time.perf_counter()
    outcome = "error"
    try:
        if spec.permission == "admin":
            ctx.identity.require_admin(f"resource {uri!r}")
        body = await spec.call(ctx, params)
        outcome = "ok"
        return body
    except HubError as exc:
        outcome = "refused"
        log.info("%s refused: %s: %s", name, exc.code, exc.to_dict()["message"][:300])
        raise
    except Exception as exc:
        raise _unexpected(f"resource {uri[:100]!r}", exc) from exc
    finally:
        TOOL_CALLS.labels(name, ctx.transport, outcome).inc()
        TOOL_LATENCY.labels(name, ctx.transport).observe(time.perf_counter() - start)


def _unexpected(what: str, exc: Exception) -> HubError:
    incident = uuid.uuid4().hex[:8]
    log.error("%s failed unexpectedly (error id %s)", what, incident, exc_info=exc)
    return HubError(f"{what} failed unexpectedly (error id {incident}, details in the hub log)")
