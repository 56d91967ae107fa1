"""The streams' replica count follows GAOXIN_NATS_STREAM_REPLICAS (3 on the production NATS cluster)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.common.bus import STREAMS, stream_config
from services.common.config import Settings


def test_declare_streams_with_configured_replicas() -> None:
    configs = [stream_config(stream, Settings(nats_stream_replicas=3).nats_stream_replicas) for stream in STREAMS]
    assert [c.num_replicas for c in configs] == [3, 3, 3]


def test_declare_streams_single_replica_by_default() -> None:
    assert Settings().nats_stream_replicas == 1
    assert stream_config(STREAMS[0]).num_replicas == 1


def test_refuse_stream_replicas_out_of_range() -> None:
    with pytest.raises(ValidationError):
        Settings(nats_stream_replicas=0)
