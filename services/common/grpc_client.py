"""The one way a process of the platform opens a gRPC channel to another."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import grpc

# gRPC's defaults back reconnection off up to 120 s (connection-backoff.md): a service that was down for a minute
# and came back would stay unreachable for another one or two, with /readyz at 503 and every call failing fast.
# Between the platform's own services a retry every 2 s at most costs nothing and recovery follows a restart
# (`gaoxin up` restarts a dead service within 0.5 to 10 s) at once.
# Not `grpc.min_reconnect_backoff_ms`: despite its name it is also how long one connection attempt may take
# (MIN_CONNECT_TIMEOUT, 20 s), and at 250 ms a peer slow to complete its handshake would fail every call.
RECONNECT_OPTIONS: tuple[tuple[str, Any], ...] = (
    ("grpc.initial_reconnect_backoff_ms", 250),
    ("grpc.max_reconnect_backoff_ms", 2000),
)


def insecure_channel(address: str, options: Sequence[tuple[str, Any]] = ()) -> grpc.aio.Channel:
    """A grpc.aio channel with the platform's reconnect back-off (and `options`). Create it inside the running
    event loop: a channel made outside it breaks (grpc#32480)."""
    return grpc.aio.insecure_channel(address, options=[*RECONNECT_OPTIONS, *options])
