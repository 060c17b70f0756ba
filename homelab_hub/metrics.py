"""Prometheus metrics of the hub, in one registry of its own (served at /metrics)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

TOOL_CALLS = Counter(
    "homelab_hub_tool_calls_total",
    "Tool calls by tool, transport and outcome.",
    ["tool", "transport", "outcome"],
    registry=REGISTRY,
)
TOOL_LATENCY = Histogram(
    "homelab_hub_tool_latency_seconds",
    "Tool call latency by tool and transport.",
    ["tool", "transport"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)
HTTP_REQUESTS = Counter(
    "homelab_hub_http_requests_total",
    "HTTP requests by route class and status.",
    ["route", "status"],
    registry=REGISTRY,
)
WORKER_RESTARTS = Counter(
    "homelab_hub_worker_restarts_total",
    "Worker restarts by worker and reason.",
    ["worker", "reason"],
    registry=REGISTRY,
)
WORKER_UP = Gauge(
    "homelab_hub_worker_up", "1 when the worker is running, else 0.", ["worker"], registry=REGISTRY
)
