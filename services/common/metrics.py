"""Prometheus metrics every service exposes, defined once.

Names follow Prometheus conventions (base units, `_total`, `_seconds`); labels never carry ids or raw paths.
"""

from __future__ import annotations

from importlib import metadata

from prometheus_client import Counter, Gauge, Histogram, Info, start_http_server

GRPC_HANDLED = Counter(
    "grpc_server_handled_total",
    "gRPC calls completed on the server, by status code.",
    ["grpc_service", "grpc_method", "grpc_code"],
)
GRPC_HANDLING = Histogram(
    "grpc_server_handling_seconds",
    "Time to handle a gRPC call on the server.",
    ["grpc_service", "grpc_method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
OUTBOX_BACKLOG = Gauge("gaoxin_outbox_backlog", "Events committed to the outbox and not yet acknowledged by NATS.")
OUTBOX_PUBLISHED = Counter("gaoxin_outbox_published_total", "Events relayed from the outbox to NATS.", ["subject"])
CONSUMER_PENDING = Gauge(
    "gaoxin_consumer_pending",
    "Messages a durable consumer has not yet acknowledged (pending + in flight).",
    ["consumer"],
)
EVENTS_CONSUMED = Counter(
    "gaoxin_events_consumed_total",
    "Events handled by a consumer; outcome applied, duplicate (already in the inbox) or failed.",
    ["consumer", "outcome"],
)
BUILD_INFO = Info("gaoxin_build", "Build and version of the running service.")


def record_build_info(service: str) -> None:
    try:
        version = metadata.version("gaoxin-platform")
    except metadata.PackageNotFoundError:
        version = "unknown"
    BUILD_INFO.info({"service": service, "version": version})


def serve_metrics(port: int, host: str = "127.0.0.1") -> None:
    """Expose /metrics on its own port (the gRPC services have no HTTP server of their own)."""
    start_http_server(port, addr=host)
