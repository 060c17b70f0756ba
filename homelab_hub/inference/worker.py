"""A light background probe: is every inference host answering? Backs /api/health."""

from __future__ import annotations

from homelab_hub.inference.engine import InferenceEngine
from homelab_hub.workers import WorkerContext


class InferenceProbeWorker:
    """Probes every configured host each ``probe_interval_s``; hosts are asked concurrently,
    so one probe round takes at most one request timeout."""

    name = "inference-probe"

    def __init__(self, engine: InferenceEngine) -> None:
        self.engine = engine
        config = engine.config
        # One round is bounded by the request timeout; leave room for two missed rounds.
        self.heartbeat_timeout: float | None = 2 * (config.probe_interval_s + config.timeout_s) + 30

    def run(self, ctx: WorkerContext) -> None:
        while not ctx.stop.is_set():
            results = self.engine.probe()
            down = sorted(name for name, (ok, _) in results.items() if not ok)
            ctx.beat(hosts=len(results), hosts_down=down)
            if ctx.wait(self.engine.config.probe_interval_s):
                return
