"""Prometheus metrics: outbox depth, failed sends, decisions, and how fast Slack is answered."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    """One process's metrics, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.outbox_depth = Gauge(
            "meetbot_outbox_depth",
            "Deliveries (DMs and e-mails) still owed.",
            registry=self.registry,
        )
        self.send_failures = Counter(
            "meetbot_send_failures",
            "Deliveries that failed (each attempt), by kind.",
            ["kind"],
            registry=self.registry,
        )
        self.decisions = Counter(
            "meetbot_decisions",
            "Answers recorded, by where they came from.",
            ["source"],
            registry=self.registry,
        )
        self.ack_seconds = Histogram(
            "meetbot_slack_ack_seconds",
            "Time from receiving a Slack request to answering it.",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0),
            registry=self.registry,
        )

    def exposition(self) -> bytes:
        """Return the metrics in Prometheus's text format."""
        return generate_latest(self.registry)
