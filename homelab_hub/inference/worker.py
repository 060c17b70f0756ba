"""The background probe: reads every inference host each ``probe_interval_s``. Its last results
back /api/health and the ``homelab_hub_inference_*`` gauges, so neither talks to a host itself."""

from __future__ import annotations

from homelab_hub.inference.engine import InferenceEngine
from homelab_hub.workers import WorkerContext


class InferenceProbeWorker:
    """Reads every configured host each ``probe_interval_s``; hosts are asked concurrently,
    so one round takes about one request timeout per step (a few steps per host)."""

    name = "inference-probe"

    def __init__(self, engine: InferenceEngine) -> None:
        self.engine = engine
        config = engine.config
        # One round is a handful of requests per host, each bounded by the request timeout (and a
        # log read by the same); leave room for two slow rounds.
        self.heartbeat_timeout: float | None = 2 * (config.probe_interval_s + 8 * config.timeout_s) + 30

    def run(self, ctx: WorkerContext) -> None:
        while not ctx.stop.is_set():
            results = self.engine.probe()
            down = sorted(name for name, (ok, _) in results.items() if not ok)
            ctx.beat(hosts=len(results), hosts_down=down)
            if ctx.wait(self.engine.config.probe_interval_s):
                return
