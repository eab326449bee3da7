"""Prometheus metrics, in a registry of the server's own (so two servers in one process, as in
the tests, never collide). Segment and model counts come from the kernel's events."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from polyvox.events import ModelLoaded, ModelUnloaded, SegmentFinished


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        # Wyoming's requests count here too: the route is the event type, the status the HTTP
        # status the same outcome gets (200 answered, 400 a bad event, 429 a full queue, ...)
        self.requests = Counter("polyvox_requests", "requests by protocol (http, wyoming), route and status",
                                ["protocol", "route", "status"], registry=self.registry)
        self.queue = Gauge("polyvox_queue_depth", "speech requests rendering or waiting (HTTP and Wyoming)",
                           registry=self.registry)
        self.segments = Counter("polyvox_segments", "speech segments delivered, by source",
                                ["source"], registry=self.registry)
        self.model_loads = Counter("polyvox_model_loads", "models loaded", ["engine"], registry=self.registry)
        self.model_unloads = Counter("polyvox_model_unloads", "models unloaded, by why (idle: past their "
                                     "keep-alive; memory, count: past a budget; asked; replaced)",
                                     ["engine", "reason"], registry=self.registry)
        self.rtf = Histogram("polyvox_real_time_factor", "render wall time / audio duration per request",
                             buckets=(0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0), registry=self.registry)

    def on_event(self, event: Any) -> None:
        """A kernel listener: counts segments (synthesized or cached), model loads and unloads."""
        if isinstance(event, SegmentFinished):
            self.segments.labels("cache" if event.cached else "synthesized").inc()
        elif isinstance(event, ModelLoaded):
            self.model_loads.labels(event.engine).inc()
        elif isinstance(event, ModelUnloaded):
            self.model_unloads.labels(event.engine, event.reason).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
