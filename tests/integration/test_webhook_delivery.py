"""One webhook delivery attempt, as the gateway's dispatcher makes it, against real local receivers (plain HTTP, TLS,
a socket that drips its answer) and a real gateway database: where it connects, how long it may take, what the
delivery log then says."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import secrets
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from services.common.config import Settings
from services.common.db import make_engine, reading, transaction
from services.gateway import store
from services.gateway import webhooks as dispatch
from services.gateway.domain.webhooks import new_secret
from services.gateway.webhooks import WebhookDispatcher, delivery_client
from tests.conftest import engine_with

TIMEOUT = 0.5


class Receiver:
    """An HTTP(S) endpoint on `host`, answering `status` to every POST and keeping what it received."""

    def __init__(self, host: str, port: int = 0, status: int = 200, tls: ssl.SSLContext | None = None) -> None:
        self.received: list[dict[str, str]] = []
        self.server_names: list[str | None] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["content-length"]))
                receiver.received.append({k.lower(): v for k, v in self.headers.items()})
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        if tls is not None:
            tls.sni_callback = lambda sock, name, ctx: self.server_names.append(name)  # type: ignore[assignment]
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Dripper:
    """A receiver that answers by hand: each (bytes, pause) of `plan` in turn, whatever the client does meanwhile."""

    def __init__(self, plan: Iterable[tuple[bytes, float]]) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/hook"
        self.requested = threading.Event()
        threading.Thread(target=self._serve, args=(plan,), daemon=True).start()

    def _serve(self, plan: Iterable[tuple[bytes, float]]) -> None:
        with contextlib.suppress(OSError):
            conn, _ = self.listener.accept()
            with conn:
                conn.recv(65536)  # the request
                self.requested.set()
                for data, pause in plan:
                    conn.sendall(data)
                    time.sleep(pause)

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def drippers() -> Iterator[Callable[[Iterable[tuple[bytes, float]]], Dripper]]:
    made: list[Dripper] = []

    def make(plan: Iterable[tuple[bytes, float]]) -> Dripper:
        made.append(Dripper(plan))
        return made[-1]

    yield make
    for dripper in made:
        dripper.close()


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = engine_with(f"sqlite:///{tmp_path / 'gateway.db'}", store.metadata)
    yield engine
    engine.dispose()


@pytest.fixture
def receivers() -> Iterator[Callable[..., Receiver]]:
    made: list[Receiver] = []

    def make(*args: Any, **kwargs: Any) -> Receiver:
        made.append(Receiver(*args, **kwargs))
        return made[-1]

    yield make
    for receiver in made:
        receiver.close()


def settings(allow_private: bool = True, timeout: float = TIMEOUT) -> Settings:
    return Settings(webhooks_allow_private_targets=allow_private, webhook_timeout_seconds=timeout)


def stage(engine: Engine, url: str) -> store.DueDelivery:
    """A webhook for `url` with one pending delivery, due now: the delivery as the dispatcher picks it."""
    webhook_id = "wh_" + secrets.token_hex(12)
    with transaction(engine) as conn:
        store.add_webhook(conn, webhook_id, url, ["*"], new_secret(), "k1")
        store.stage_deliveries(conn, "indicators.zone_recognized", "evt-" + secrets.token_hex(8), b'{"type":"x"}')
        [due] = [d for d in store.due_deliveries(conn, datetime.now(UTC), 100) if d.webhook_id == webhook_id]
    return due


def logged(engine: Engine, delivery: store.DueDelivery) -> dict[str, Any]:
    with reading(engine) as conn:
        [found] = [
            d for d in store.list_deliveries(conn, delivery.webhook_id, 10) if d["delivery_id"] == delivery.delivery_id
        ]
    return found


def deliver(engine: Engine, delivery: store.DueDelivery, verify: ssl.SSLContext | bool = True, **kw: Any) -> None:
    async def run() -> None:
        async with delivery_client(verify) as client:
            await WebhookDispatcher(engine, settings(**kw)).deliver(client, delivery)

    asyncio.run(run())


def answering(addresses: list[str]) -> Callable[[str], Any]:
    """A resolver that answers `addresses` for every name, as a rebinding DNS server's first answer would."""

    async def resolve(host: str) -> list[str]:
        return addresses

    return resolve


def test_delivery_connects_to_the_checked_address_not_to_what_the_name_resolves_to_later(
    engine: Engine, receivers: Callable[..., Receiver], monkeypatch: pytest.MonkeyPatch
) -> None:
    checked = receivers("127.0.0.2")
    elsewhere = receivers("127.0.0.1", checked.port)  # where `localhost` really resolves: the rebound address
    monkeypatch.setattr(dispatch, "resolve", answering(["127.0.0.2"]))
    delivery = stage(engine, f"http://localhost:{checked.port}/hook")

    deliver(engine, delivery)

    found = logged(engine, delivery)
    assert found["status"] == "delivered", found
    assert [h["host"] for h in checked.received] == [f"localhost:{checked.port}"]
    assert [h["webhook-id"] for h in checked.received] == [delivery.message_id]
    assert elsewhere.received == []


def test_delivery_tries_the_next_checked_address_when_one_refuses_the_connection(
    engine: Engine, receivers: Callable[..., Receiver], monkeypatch: pytest.MonkeyPatch
) -> None:
    second = receivers("127.0.0.3")
    monkeypatch.setattr(dispatch, "resolve", answering(["127.0.0.2", "127.0.0.3"]))  # nothing listens on .2
    delivery = stage(engine, f"http://portal.test:{second.port}/hook")

    deliver(engine, delivery)

    assert logged(engine, delivery)["status"] == "delivered"
    assert [h["host"] for h in second.received] == [f"portal.test:{second.port}"]


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """Self-signed certificates (each its own trust anchor) for the names hooks.test and other.test."""
    made = {}
    for name in ("hooks.test", "other.test"):
        folder = tmp_path_factory.mktemp(name)
        cert, key = folder / "cert.pem", folder / "key.pem"
        subprocess.run(
            [
                *("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"),
                *("-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", f"/CN={name}"),
                *("-addext", f"subjectAltName=DNS:{name}"),
            ],
            check=True,
            capture_output=True,
        )
        made[name] = (cert, key)
    return made


def tls_server(certificates: dict[str, tuple[Path, Path]], name: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificates[name])
    return context


def test_tls_delivery_to_the_checked_address_names_the_host_in_sni_and_verifies_its_certificate(
    engine: Engine,
    receivers: Callable[..., Receiver],
    certificates: dict[str, tuple[Path, Path]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    receiver = receivers("127.0.0.1", tls=tls_server(certificates, "hooks.test"))
    monkeypatch.setattr(dispatch, "resolve", answering(["127.0.0.1"]))  # hooks.test resolves nowhere else
    trusted = ssl.create_default_context(cafile=str(certificates["hooks.test"][0]))
    delivery = stage(engine, f"https://hooks.test:{receiver.port}/hook")

    deliver(engine, delivery, verify=trusted)

    assert logged(engine, delivery)["status"] == "delivered"
    assert receiver.server_names == ["hooks.test"]
    assert [h["host"] for h in receiver.received] == [f"hooks.test:{receiver.port}"]


def test_tls_delivery_refuses_a_certificate_for_another_name_at_the_checked_address(
    engine: Engine,
    receivers: Callable[..., Receiver],
    certificates: dict[str, tuple[Path, Path]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    impostor = receivers("127.0.0.1", tls=tls_server(certificates, "other.test"))
    monkeypatch.setattr(dispatch, "resolve", answering(["127.0.0.1"]))
    trusted = ssl.create_default_context(cafile=str(certificates["other.test"][0]))  # trusted, for another name
    delivery = stage(engine, f"https://hooks.test:{impostor.port}/hook")

    deliver(engine, delivery, verify=trusted)

    found = logged(engine, delivery)
    assert found["status"] == "pending"
    [attempt] = found["attempts"]
    assert attempt["status_code"] is None and "certificate verify failed" in attempt["error"], attempt
    assert impostor.received == []


def bytewise(data: bytes, pause: float) -> list[tuple[bytes, float]]:
    return [(data[i : i + 1], pause) for i in range(len(data))]


def test_a_receiver_dripping_its_body_holds_the_attempt_no_longer_than_the_timeout(
    engine: Engine, drippers: Callable[..., Dripper]
) -> None:
    # Its status at once, then 12 bytes of body 0.2 s apart: 2.4 s, each read well within the timeout.
    dripper = drippers([(b"HTTP/1.1 200 OK\r\ncontent-length: 12\r\n\r\n", 0.0), *bytewise(b"hello world!", 0.2)])
    delivery = stage(engine, dripper.url)

    deliver(engine, delivery)

    found = logged(engine, delivery)
    [attempt] = found["attempts"]
    assert found["status"] == "delivered"  # it answered 200: it has the event
    assert attempt["status_code"] == 200
    assert attempt["error"] == "timed out after 0.5 s reading the response body"
    assert TIMEOUT * 1000 <= attempt["duration_ms"] < TIMEOUT * 1000 + 400, attempt


def test_a_receiver_dripping_its_status_line_times_out_and_is_retried(
    engine: Engine, drippers: Callable[..., Dripper]
) -> None:
    dripper = drippers(bytewise(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n", 0.1))  # 3.9 s for the head
    delivery = stage(engine, dripper.url)

    deliver(engine, delivery)

    found = logged(engine, delivery)
    [attempt] = found["attempts"]
    assert (found["status"], attempt["status_code"]) == ("pending", None)
    assert attempt["error"] == "timed out after 0.5 s waiting for the answer"
    assert TIMEOUT * 1000 <= attempt["duration_ms"] < TIMEOUT * 1000 + 400, attempt


def test_an_endless_response_body_is_read_no_further_than_the_cap(
    engine: Engine, drippers: Callable[..., Dripper]
) -> None:
    # A gigabyte announced, 64 KiB every 20 ms for 4 s: reading it all would take the whole time (or the timeout).
    chunk = b"x" * 65536
    dripper = drippers([(b"HTTP/1.1 200 OK\r\ncontent-length: 1000000000\r\n\r\n", 0.0), *[(chunk, 0.02)] * 200])
    delivery = stage(engine, dripper.url)

    deliver(engine, delivery)

    found = logged(engine, delivery)
    [attempt] = found["attempts"]
    assert (found["status"], attempt["status_code"], attempt["error"]) == ("delivered", 200, None)
    assert attempt["duration_ms"] < TIMEOUT * 1000, attempt


def answer(status: int) -> bytes:
    return f"HTTP/1.1 {status} X\r\ncontent-length: 0\r\n\r\n".encode()


@pytest.mark.parametrize(("status", "then"), [(500, "abandoned"), (200, "delivered")])
def test_an_attempt_ending_after_its_webhook_is_deleted_never_makes_the_delivery_pending_again(
    engine: Engine, drippers: Callable[..., Dripper], status: int, then: str
) -> None:
    dripper = drippers([(b"", 0.3), (answer(status), 0.0)])  # answers 0.3 s after the request
    delivery = stage(engine, dripper.url)

    async def scenario() -> None:
        async with delivery_client() as client:
            attempt = asyncio.create_task(WebhookDispatcher(engine, settings()).deliver(client, delivery))
            assert await asyncio.to_thread(dripper.requested.wait, 5)
            with transaction(engine) as conn:  # DELETE /v1/webhooks/{id}, while the attempt is under way
                store.disable_webhook(conn, delivery.webhook_id, "disabled by key k1")
            await attempt

    asyncio.run(scenario())

    found = logged(engine, delivery)
    assert found["status"] == then
    assert [(a["attempt"], a["status_code"]) for a in found["attempts"]] == [(1, status)]
    assert found["next_attempt_at"] is None
    with reading(engine) as conn:
        assert store.due_deliveries(conn, datetime.now(UTC) + timedelta(days=3), 10) == []


def test_an_attempt_interrupted_by_the_gateway_stopping_is_logged_and_its_delivery_stays_due(
    engine: Engine, drippers: Callable[..., Dripper]
) -> None:
    dripper = drippers([(b"", 10.0)])  # never answers
    delivery = stage(engine, dripper.url)

    async def scenario() -> None:
        dispatcher = WebhookDispatcher(engine, settings(timeout=10.0))
        running = asyncio.create_task(dispatcher.run())
        assert await asyncio.to_thread(dripper.requested.wait, 5)
        # What the gateway's lifespan does on shutdown.
        dispatcher.stop()
        running.cancel()
        done, _ = await asyncio.wait([running], timeout=5)
        assert done == {running}

    stopping = datetime.now(UTC)
    asyncio.run(scenario())

    found = logged(engine, delivery)
    [attempt] = found["attempts"]
    assert (attempt["attempt"], attempt["status_code"], attempt["error"]) == (1, None, "interrupted: gateway stopping")
    assert found["status"] == "pending"
    assert found["next_attempt_at"] <= datetime.now(UTC)
    assert attempt["at"] < stopping + timedelta(seconds=1)
    with reading(engine) as conn:  # sent again at once by the next start, as attempt 2
        [again] = store.due_deliveries(conn, datetime.now(UTC), 10)
    assert (again.delivery_id, again.message_id, again.attempts) == (delivery.delivery_id, delivery.message_id, 1)


def test_an_attempt_is_dated_when_it_started(engine: Engine, drippers: Callable[..., Dripper]) -> None:
    dripper = drippers([(b"", 10.0)])  # never answers: the attempt ends at the timeout
    delivery = stage(engine, dripper.url)
    before = datetime.now(UTC)

    deliver(engine, delivery)

    [attempt] = logged(engine, delivery)["attempts"]
    assert attempt["duration_ms"] >= TIMEOUT * 1000
    assert before <= attempt["at"] < before + timedelta(seconds=TIMEOUT / 2), (before, attempt)


def test_two_gateway_replicas_send_each_delivery_once(database_url: str, receivers: Callable[..., Receiver]) -> None:
    """Replicas share the deliveries table: a due delivery is claimed by one before it is sent, never by both."""
    engines = [engine_with(database_url, store.metadata), make_engine(database_url)]
    portals = [receivers("127.0.0.1") for _ in range(3)]
    with transaction(engines[0]) as conn:
        for n, portal in enumerate(portals):
            store.add_webhook(conn, f"wh_{n:024x}", f"http://127.0.0.1:{portal.port}/hook", ["*"], new_secret(), "k1")
        for _ in range(40):
            store.stage_deliveries(conn, "indicators.zone_recognized", "evt-" + secrets.token_hex(8), b'{"type":"x"}')
    replicas = [WebhookDispatcher(engine, settings()) for engine in engines]

    async def run() -> None:
        tasks = [asyncio.create_task(replica.run()) for replica in replicas]
        try:
            async with asyncio.timeout(30):
                while sum(len(p.received) for p in portals) < 120 or any(r._sending for r in replicas):
                    await asyncio.sleep(0.05)
            await asyncio.sleep(0.6)  # two more polls each: anything sent twice would arrive now
        finally:
            for replica in replicas:
                replica.stop()
            await asyncio.gather(*tasks)

    asyncio.run(run())
    with reading(engines[0]) as conn:
        statuses = collections.Counter(
            d["status"] for n in range(3) for d in store.list_deliveries(conn, f"wh_{n:024x}", 100)
        )
    for engine in engines:
        engine.dispose()

    for portal in portals:
        sent = collections.Counter(h["webhook-id"] for h in portal.received)
        assert (len(sent), max(sent.values())) == (40, 1), sent.most_common(3)
    assert statuses == {"delivered": 120}
